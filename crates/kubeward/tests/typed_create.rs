//! `kubectl create <kind> ...`: the typed clientset path, which sends JSON up to 1.31 and
//! protobuf (`k8s\0` envelope) from 1.32. Each object is read back to check the server
//! decoded what kubectl meant.

mod support;

use serde_json::json;
use support::{get_json, Server};

fn typed_creates(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    let ns = "typed";
    k.ok(&["create", "namespace", ns]).assert_stdout_contains("namespace/typed created");
    assert_eq!(get_json(&k, &["namespace", ns])["status"]["phase"], "Active");

    k.ok(&["create", "serviceaccount", "builder", "-n", ns]);
    assert_eq!(get_json(&k, &["serviceaccount", "builder", "-n", ns])["metadata"]["name"], "builder");

    // Secret data travels base64 in JSON and as raw bytes in protobuf.
    k.ok(&["create", "secret", "generic", "db", "-n", ns, "--from-literal=password=s3cr\u{e9}t=="]);
    let secret = get_json(&k, &["secret", "db", "-n", ns]);
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"]["password"], "czNjcsOpdD09", "base64 of the UTF-8 bytes: {secret}");

    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        ns,
        "--from-literal=mode=fast",
        "--from-literal=level=3",
    ]);
    assert_eq!(
        get_json(&k, &["configmap", "settings", "-n", ns])["data"],
        json!({"level": "3", "mode": "fast"})
    );

    k.ok(&["create", "clusterrole", "typed-reader", "--verb=get,list", "--resource=pods,configmaps"]);
    let cr = get_json(&k, &["clusterrole", "typed-reader"]);
    assert_eq!(cr["rules"][0]["verbs"], json!(["get", "list"]), "{cr}");
    let resources = cr["rules"].as_array().map(|r| r.len()).unwrap_or(0);
    assert!(resources >= 1, "{cr}");

    k.ok(&[
        "create",
        "clusterrolebinding",
        "typed-reader",
        "--clusterrole=typed-reader",
        "--serviceaccount=typed:builder",
    ]);
    let crb = get_json(&k, &["clusterrolebinding", "typed-reader"]);
    assert_eq!(crb["subjects"], json!([{"kind": "ServiceAccount", "name": "builder", "namespace": "typed"}]));
    assert_eq!(
        crb["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "typed-reader"})
    );

    k.ok(&[
        "create",
        "role",
        "cm-editor",
        "-n",
        ns,
        "--verb=update",
        "--resource=configmaps",
        "--resource-name=settings",
    ]);
    assert_eq!(
        get_json(&k, &["role", "cm-editor", "-n", ns])["rules"][0]["resourceNames"],
        json!(["settings"])
    );
    k.ok(&["create", "rolebinding", "cm-editor", "-n", ns, "--role=cm-editor", "--group=devs"]);
    assert_eq!(
        get_json(&k, &["rolebinding", "cm-editor", "-n", ns])["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}])
    );

    // The builder ServiceAccount now reads pods everywhere through the binding.
    let out = k.ok(&["auth", "can-i", "list", "pods", "--as=system:serviceaccount:typed:builder"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");
}

fn typed_service(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    k.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    let svc = get_json(&k, &["service", "web"]);
    assert_eq!(svc["spec"]["type"], "ClusterIP", "{svc}");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80, "{svc}");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080, "{svc}");
    assert_eq!(svc["spec"]["selector"], json!({"app": "web"}), "{svc}");
}

fn typed_deployment(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    k.ok(&["create", "deployment", "web", "--image=nginx:1.27", "--replicas=2"]);
    let deploy = get_json(&k, &["deployment", "web"]);
    assert_eq!(deploy["spec"]["replicas"], 2, "{deploy}");
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27", "{deploy}");
    assert_eq!(deploy["spec"]["selector"]["matchLabels"], json!({"app": "web"}), "{deploy}");
    let out = k.ok(&["get", "deployments"]);
    assert!(out.stdout.lines().skip(1).any(|l| l.starts_with("web ")), "{out}");
}

/// kubectl 1.31: typed writes are JSON.
#[test]
fn typed_creates_json() {
    typed_creates("1.31");
}

/// kubectl 1.33: typed writes are protobuf.
#[test]
fn typed_creates_protobuf() {
    typed_creates("1.33");
}

#[test]
fn typed_service_json() {
    typed_service("1.31");
}

/// kubectl 1.33 sends the Service as protobuf.
#[test]
fn typed_service_protobuf() {
    typed_service("1.33");
}

#[test]
fn typed_deployment_json() {
    typed_deployment("1.31");
}

/// kubectl 1.33 sends the Deployment as protobuf.
#[test]
fn typed_deployment_protobuf() {
    typed_deployment("1.33");
}

/// kubectl 1.32: typed writes are protobuf too.
#[test]
fn typed_creates_protobuf_1_32() {
    typed_creates("1.32");
}

#[test]
fn typed_deployment_protobuf_1_32() {
    typed_deployment("1.32");
}

/// The PodSpec fields the former hand-written messages dropped (os, hostUsers,
/// schedulingGates, resourceClaims, pod-level resources, container resource claims): a Pod
/// POSTed as protobuf, the way a typed Go client sends it, reads back exactly like the same
/// Pod POSTed as JSON.
#[test]
fn protobuf_pod_keeps_every_field() {
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use prost::Message;

    let server = Server::start();
    let Some(k) = server.kubectl("1.33") else {
        support::missing("kubectl 1.33");
        return;
    };
    let s = |v: &str| Some(v.to_string());
    let q = |v: &str| Quantity { string: s(v) };
    let pod = core::Pod {
        metadata: Some(k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: s("rich-pb"),
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: s("app"),
                image: s("nginx"),
                resources: Some(core::ResourceRequirements {
                    limits: [("cpu".to_string(), q("1"))].into(),
                    claims: vec![core::ResourceClaim { name: s("gpu"), request: None }],
                    ..Default::default()
                }),
                ..Default::default()
            }],
            automount_service_account_token: Some(false),
            os: Some(core::PodOs { name: s("linux") }),
            host_users: Some(false),
            scheduling_gates: vec![core::PodSchedulingGate { name: s("example.com/quota") }],
            resource_claims: vec![core::PodResourceClaim {
                name: s("gpu"),
                resource_claim_name: s("gpu-claim"),
                resource_claim_template_name: None,
            }],
            resources: Some(core::ResourceRequirements {
                limits: [("cpu".to_string(), q("2")), ("memory".to_string(), q("1Gi"))].into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pod.pb");
    std::fs::write(&pb, kube_protobuf::envelope("v1", "Pod", pod.encode_to_vec())).unwrap();
    let h = support::more::Cluster::admin_curl(
        &server,
        "/api/v1/namespaces/default/pods",
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/vnd.kubernetes.protobuf",
            "--data-binary",
            &format!("@{}", pb.display()),
        ],
    );
    assert_eq!(h.status, 201, "{h}");

    let as_json = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rich-json"}, "spec": {
        "containers": [{"name": "app", "image": "nginx", "resources": {"limits": {"cpu": "1"}, "claims": [{"name": "gpu"}]}}],
        "automountServiceAccountToken": false,
        "os": {"name": "linux"}, "hostUsers": false, "schedulingGates": [{"name": "example.com/quota"}],
        "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu-claim"}],
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}});
    let path = dir.path().join("pod.json");
    std::fs::write(&path, as_json.to_string()).unwrap();
    k.ok(&["create", "-f", path.to_str().unwrap()]);

    let from_pb = get_json(&k, &["pod", "rich-pb"]);
    let from_json = get_json(&k, &["pod", "rich-json"]);
    assert_eq!(from_pb["spec"], from_json["spec"]);
    for field in ["os", "hostUsers", "schedulingGates", "resourceClaims", "resources"] {
        assert!(!from_pb["spec"][field].is_null(), "{field} lost: {from_pb}");
    }
    assert_eq!(from_pb["spec"]["containers"][0]["resources"]["claims"], json!([{"name": "gpu"}]));
}

/// What client-go v0.34 sends for a CustomResourceDefinition, a FlowSchema and a
/// PriorityLevelConfiguration (Kubernetes' e2e tests create them this way; kubeward refused
/// them with 415 until the protobuf decoder knew apiextensions.k8s.io/v1 and
/// flowcontrol.apiserver.k8s.io/v1): each is created, and reads back as sent.
#[test]
fn protobuf_crd_and_flow_control_objects_from_client_go() {
    let server = Server::start();
    let Some(k) = server.kubectl("1.33") else {
        support::missing("kubectl 1.33");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bodies: [(&str, &[u8]); 3] = [
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            include_bytes!("../../protobuf/testdata/client-go/crd.pb"),
        ),
        (
            "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
            include_bytes!("../../protobuf/testdata/client-go/plc.pb"),
        ),
        (
            "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
            include_bytes!("../../protobuf/testdata/client-go/flowschema.pb"),
        ),
    ];
    for (i, (path, body)) in bodies.iter().enumerate() {
        let file = dir.path().join(format!("{i}.pb"));
        std::fs::write(&file, body).unwrap();
        let h = support::more::Cluster::admin_curl(
            &server,
            path,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/vnd.kubernetes.protobuf",
                "--data-binary",
                &format!("@{}", file.display()),
            ],
        );
        assert_eq!(h.status, 201, "{path}: {h}");
    }

    let crd = get_json(&k, &["crd", "widgets.e2e.example.com"]);
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["properties"]["size"]["default"], 3, "{crd}");
    assert_eq!(spec["properties"]["size"]["minimum"], json!(1), "{crd}");
    assert_eq!(spec["properties"]["color"]["enum"], json!(["red", "blue"]), "{crd}");
    assert_eq!(spec["properties"]["extra"]["additionalProperties"], json!({"type": "string"}), "{crd}");
    assert_eq!(spec["x-kubernetes-validations"][0]["rule"], "self.size < 100", "{crd}");
    assert_eq!(crd["spec"]["versions"][0]["subresources"]["status"], json!({}), "{crd}");

    let plc = get_json(&k, &["prioritylevelconfiguration", "e2e-pl"]);
    assert_eq!(plc["spec"]["limited"]["nominalConcurrencyShares"], 2, "{plc}");
    let fs = get_json(&k, &["flowschema", "e2e-fs"]);
    assert_eq!(fs["spec"]["rules"][0]["subjects"][0]["user"]["name"], "alice", "{fs}");
    assert_eq!(fs["spec"]["matchingPrecedence"], 1000, "{fs}");
}

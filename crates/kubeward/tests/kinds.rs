//! The built-in kinds beyond the core ones, through kubectl 1.32: one object of each
//! (tests/manifests/kinds.yaml) created and read back with kube's printer columns; kube's
//! 422s for an unparsable CronJob schedule, a Job with an invalid template and a StatefulSet
//! whose selector does not match its template; what every cluster starts with (the system
//! PriorityClasses, the local APIServices, ComponentStatus, kube's mandatory FlowSchemas and
//! PriorityLevelConfigurations); a Service's status; events.k8s.io
//! and core Events as one object; `kubectl explain` of the new kinds; and a
//! SubjectAccessReview created with client-side validation on (kubectl 1.32 and 1.27, which
//! validate it against /openapi/v2).

mod support;

use serde_json::Value;
use support::{get_json, words, Server};

const VERSION: &str = "1.32";
const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/manifests/kinds.yaml");

#[test]
fn new_kinds_print_kubes_columns() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    let out = k.ok(&["create", "-f", MANIFEST]);
    assert_eq!(out.stdout.lines().count(), 25, "{out}");

    // (resource, name, header, start of the row after the name's column)
    let expected: &[(&str, &str, &str, &str)] = &[
        ("daemonsets", "ds1", "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE", "ds1 0 0 0 0 0 disk=ssd"),
        ("statefulsets", "sts1", "NAME READY AGE", "sts1 0/2"),
        ("replicasets", "rs1", "NAME DESIRED CURRENT READY AGE", "rs1 3 0 0"),
        ("controllerrevisions", "cr1", "NAME CONTROLLER REVISION AGE", "cr1 <none> 3"),
        ("jobs", "pi", "NAME STATUS COMPLETIONS DURATION AGE", "pi Running 0/1"),
        (
            "cronjobs",
            "cj1",
            "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
            "cj1 */5 * * * * <none> False 0 <none>",
        ),
        ("replicationcontrollers", "rc1", "NAME DESIRED CURRENT READY AGE", "rc1 2 0 0"),
        (
            "persistentvolumes",
            "pv1",
            "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE",
            "pv1 1Gi RWO Retain Pending manual <unset>",
        ),
        (
            "persistentvolumeclaims",
            "pvc1",
            "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE",
            "pvc1 Pending manual <unset>",
        ),
        ("podtemplates", "pt1", "NAME CONTAINERS IMAGES POD LABELS", "pt1 c nginx app=pt"),
        ("endpointslices", "es1", "NAME ADDRESSTYPE PORTS ENDPOINTS AGE", "es1 IPv4 80 10.0.0.1"),
        ("poddisruptionbudgets", "pdb1", "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE", "pdb1 1 N/A 0"),
        ("networkpolicies", "np1", "NAME POD-SELECTOR AGE", "np1 app=x"),
        ("ingressclasses", "nginx", "NAME CONTROLLER PARAMETERS AGE", "nginx k8s.io/ingress-nginx <none>"),
        ("ingresses", "ing1", "NAME CLASS HOSTS ADDRESS PORTS AGE", "ing1 nginx a.example.com 80"),
        (
            "storageclasses",
            "fast",
            "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE",
            "fast (default) example.com/fast Delete Immediate false",
        ),
        (
            "csidrivers",
            "csi.example.com",
            "NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE",
            "csi.example.com true false false <unset> false Persistent",
        ),
        ("csinodes", "node1", "NAME DRIVERS AGE", "node1 1"),
        ("volumeattachments", "va1", "NAME ATTACHER PV NODE ATTACHED AGE", "va1 csi.example.com pv1 node1 false"),
        ("priorityclasses", "high", "NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY", "high 1000 false"),
        ("runtimeclasses", "gvisor", "NAME HANDLER AGE", "gvisor runsc"),
        (
            "apiservices",
            "v1beta1.metrics.k8s.io",
            "NAME SERVICE AVAILABLE AGE",
            "v1beta1.metrics.k8s.io kube-system/metrics-server False (NotProxied)",
        ),
        (
            "prioritylevelconfigurations",
            "pl1",
            "NAME TYPE NOMINALCONCURRENCYSHARES QUEUES HANDSIZE QUEUELENGTHLIMIT AGE",
            "pl1 Limited 10 16 4 50",
        ),
        (
            "flowschemas",
            "fs1",
            "NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL",
            "fs1 pl1 500 ByNamespace",
        ),
    ];
    for (resource, name, header, row) in expected {
        let out = k.ok(&["get", resource, name]);
        let lines = words(&out.stdout);
        assert_eq!(lines[0], *header, "{resource}: {out}");
        assert!(lines[1].starts_with(row), "{resource}: {:?} does not start with {row:?}", lines[1]);
    }
    // events.k8s.io Events print as kube prints every Event.
    let out = k.ok(&["get", "events.events.k8s.io", "ev1"]);
    let lines = words(&out.stdout);
    assert_eq!(lines[0], "LAST SEEN TYPE REASON OBJECT MESSAGE", "{out}");
    assert!(lines[1].ends_with("Normal Tested pod/p1 hello from events.k8s.io"), "{out}");

    // Defaults and initial status, as kube writes them.
    let ds = get_json(&k, &["daemonset", "ds1"]);
    assert_eq!(ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"], 1, "{ds}");
    assert_eq!(ds["metadata"]["generation"], 1, "{ds}");
    assert_eq!(ds["status"]["desiredNumberScheduled"], 0, "{ds}");
    let job = get_json(&k, &["job", "pi"]);
    let uid = job["metadata"]["uid"].clone();
    assert_eq!(job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"], uid, "{job}");
    assert_eq!(job["spec"]["template"]["metadata"]["labels"]["job-name"], "pi", "{job}");
    let pdb = get_json(&k, &["pdb", "pdb1"]);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0, "{pdb}");
    let pv = get_json(&k, &["pv", "pv1"]);
    assert_eq!(
        (pv["status"]["phase"].as_str(), pv["spec"]["volumeMode"].as_str()),
        (Some("Pending"), Some("Filesystem"))
    );

    // Field selectors kube supports for the kinds.
    let out = k.ok(&["get", "rc", "--field-selector", "status.replicas=0", "-o", "name"]);
    assert_eq!(out.stdout.trim(), "replicationcontroller/rc1", "{out}");
    let out = k.ok(&["get", "jobs", "--field-selector", "status.successful=1", "-o", "name"]);
    assert_eq!(out.stdout.trim(), "", "{out}");
    // apps/v1 registers no field label conversion: apimachinery's default text.
    let out = k.run(&["get", "daemonsets", "--field-selector", "status.numberReady=0"]);
    out.assert_code(1).assert_stderr_contains(
        r#""status.numberReady" is not a known field selector: only "metadata.name", "metadata.namespace""#,
    );
}

#[test]
fn invalid_workloads_get_kubes_422() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    let out = k.run(&["create", "cronjob", "bad", "--image=busybox", "--schedule=every day"]);
    out.assert_code(1).assert_stderr_contains(
        r#"CronJob.batch "bad" is invalid: spec.schedule: Invalid value: "every day": expected exactly 5 fields, found 2: [every day]"#,
    );
    let out = k.run(&["create", "cronjob", "bad", "--image=busybox", "--schedule=61 * * * *"]);
    out.assert_code(1).assert_stderr_contains(
        r#"spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61"#,
    );
    let job = server.scratch("manifests").join("job.yaml");
    std::fs::write(
        &job,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: badjob}\nspec:\n  template:\n    spec:\n      containers: [{name: c}]\n",
    )
    .expect("write job");
    let out = k.run(&["create", "-f", job.to_str().unwrap_or_default()]);
    out.assert_code(1)
        .assert_stderr_contains(r#"The Job "badjob" is invalid:"#)
        .assert_stderr_contains("spec.template.spec.containers[0].image: Required value")
        .assert_stderr_contains(
            r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#,
        );
    let sts = server.scratch("manifests").join("sts.yaml");
    std::fs::write(
        &sts,
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: badsts}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
    )
    .expect("write statefulset");
    let out = k.run(&["create", "-f", sts.to_str().unwrap_or_default()]);
    out.assert_code(1).assert_stderr_contains(
        r#"The StatefulSet "badsts" is invalid: spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`"#,
    );
    // Nothing half-stored.
    for (resource, name) in [("cronjob", "bad"), ("job", "badjob"), ("statefulset", "badsts")] {
        k.run(&["get", resource, name]).assert_code(1).assert_stderr_contains("NotFound");
    }
}

/// What an update may change in a Pod (kube's ValidatePodUpdate): its image, not its
/// resources (Kubernetes' e2e ResourceQuota test "capture the life of a pod" relies on it).
#[test]
fn pod_updates_change_only_what_kube_allows() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    k.ok(&["run", "p", "--image=nginx", "--restart=Never"]);
    k.ok(&["set", "image", "pod/p", "p=nginx:2"]);
    assert_eq!(get_json(&k, &["pod", "p"])["spec"]["containers"][0]["image"], "nginx:2");
    let out = k.run(&[
        "patch",
        "pod",
        "p",
        "-p",
        r#"{"spec":{"containers":[{"name":"p","resources":{"limits":{"cpu":"1"}}}]}}"#,
    ]);
    out.assert_code(1).assert_stderr_contains(
        r#"The Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"#,
    );
    k.ok(&["label", "pod", "p", "tier=web"]);
}

#[test]
fn every_cluster_starts_with_system_objects() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    let lines = words(&k.ok(&["get", "priorityclasses"]).stdout);
    assert_eq!(lines[0], "NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY");
    assert!(lines[1].starts_with("system-cluster-critical 2000000000 false"), "{lines:?}");
    assert!(lines[2].starts_with("system-node-critical 2000001000 false"), "{lines:?}");
    k.run(&["delete", "priorityclass", "system-node-critical"]).assert_code(1).assert_stderr_contains(
        r#"priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted"#,
    );

    let lines = words(&k.ok(&["get", "apiservices"]).stdout);
    assert_eq!(lines[0], "NAME SERVICE AVAILABLE AGE");
    for name in [
        "v1.",
        "v1.apps",
        "v1.batch",
        "v1.events.k8s.io",
        "v1beta1.authentication.k8s.io",
        "v1.storage.k8s.io",
    ] {
        let prefix = format!("{name} Local True ");
        assert!(lines.iter().any(|l| l.starts_with(&prefix)), "{name} missing: {lines:?}");
    }
    let apps = get_json(&k, &["apiservice", "v1.apps"]);
    assert_eq!(apps["spec"]["groupPriorityMinimum"], 17800, "{apps}");
    assert_eq!(apps["spec"]["versionPriority"], 15, "{apps}");
    assert_eq!(apps["spec"]["service"], Value::Null, "{apps}");

    // kube's mandatory and suggested API Priority and Fairness objects, FlowSchemas by
    // precedence.
    let lines = words(&k.ok(&["get", "flowschemas"]).stdout);
    assert_eq!(
        lines[0], "NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL",
        "{lines:?}"
    );
    // MISSINGPL is the Dangling condition, written by the APF configuration controller as
    // kube's is (False: the priority level exists).
    assert!(lines[1].starts_with("exempt exempt 1 <none> ") && lines[1].ends_with(" False"), "{lines:?}");
    let names: Vec<&str> = lines[1..].iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        names,
        [
            "exempt",
            "probes",
            "system-leader-election",
            "system-node-high",
            "system-nodes",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-system-service-accounts",
            "service-accounts",
            "global-default",
            "catch-all"
        ]
    );
    assert!(lines[11].starts_with("catch-all catch-all 10000 ByUser "), "{lines:?}");
    assert!(lines[10].starts_with("global-default global-default 9900 ByUser "), "{lines:?}");
    let lines = words(&k.ok(&["get", "prioritylevelconfigurations"]).stdout);
    assert_eq!(lines[0], "NAME TYPE NOMINALCONCURRENCYSHARES QUEUES HANDSIZE QUEUELENGTHLIMIT AGE");
    assert!(lines[1].starts_with("catch-all Limited 5 <none> <none> <none> "), "{lines:?}");
    assert!(lines[2].starts_with("exempt Exempt <none> <none> <none> <none> "), "{lines:?}");
    assert!(lines[3].starts_with("global-default Limited 20 128 6 50 "), "{lines:?}");
    let fs = get_json(&k, &["flowschema", "exempt"]);
    assert_eq!(fs["metadata"]["annotations"]["apf.kubernetes.io/autoupdate-spec"], "true", "{fs}");
    assert_eq!(fs["spec"]["rules"][0]["subjects"][0]["group"]["name"], "system:masters", "{fs}");

    // kube's three: the store, and the controller manager and scheduler probed on their
    // loopback ports (Unhealthy here unless something answers there).
    let out = k.ok(&["get", "componentstatuses"]);
    let lines = words(&out.stdout);
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "NAME STATUS MESSAGE ERROR", "{out}");
    assert!(lines[1].starts_with("controller-manager "), "{out}");
    assert_eq!(lines[2], "etcd-0 Healthy ok", "{out}");
    assert!(lines[3].starts_with("scheduler "), "{out}");
    if std::net::TcpStream::connect(("127.0.0.1", 10259)).is_err() {
        let refused = r#"scheduler Unhealthy Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect: connection refused"#;
        assert_eq!(lines[3], refused, "{out}");
    }
    out.assert_stderr_contains("Warning: v1 ComponentStatus is deprecated in v1.19+");

    let out = k.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080", "-o", "jsonpath={.status}"]);
    assert_eq!(out.stdout, r#"{"loadBalancer":{}}"#, "{out}");
    let svc = get_json(&k, &["service", "web"]);
    assert_eq!(svc["status"], serde_json::json!({"loadBalancer": {}}), "{svc}");
}

#[test]
fn events_k8s_io_and_core_events_are_one_object() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    k.ok(&["create", "-f", MANIFEST]);
    let core = get_json(&k, &["events.v1.", "ev1"]);
    assert_eq!(core["message"], "hello from events.k8s.io", "{core}");
    assert_eq!(core["involvedObject"]["name"], "p1", "{core}");
    assert_eq!(core["reportingComponent"], "kubeward.io/test", "{core}");
    let out = k.ok(&[
        "get",
        "--raw",
        "/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dp1",
    ]);
    let list: Value = serde_json::from_str(&out.stdout).expect("list");
    assert_eq!(list["items"][0]["note"], "hello from events.k8s.io", "{list}");
    // A typed list names its version once; its items carry none (as kube's).
    assert_eq!(list["apiVersion"], "events.k8s.io/v1", "{list}");
    assert!(list["items"][0].get("apiVersion").is_none(), "{list}");
    k.ok(&["delete", "events.v1.", "ev1"]);
    k.run(&["get", "events.events.k8s.io", "ev1"]).assert_code(1).assert_stderr_contains("NotFound");
}

#[test]
fn explain_and_client_side_validation_use_the_servers_documents() {
    let server = Server::start();
    let sar = server.scratch("manifests").join("sar.yaml");
    std::fs::write(
        &sar,
        "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: jane\n  resourceAttributes: {verb: get, resource: pods, namespace: default}\n",
    )
    .expect("write sar");
    let bad = server.scratch("manifests").join("bad-sar.yaml");
    std::fs::write(
        &bad,
        "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: jane\n  bogus: 1\n",
    )
    .expect("write sar");
    for version in ["1.32", "1.27"] {
        let Some(k) = support::kubectl_or_missing(&server, version) else { return };
        let out = k.ok(&["explain", "daemonset.spec"]);
        out.assert_stdout_contains("KIND:       DaemonSet")
            .assert_stdout_contains("FIELD: spec <DaemonSetSpec>");
        k.ok(&["explain", "cronjob.spec.schedule"]).assert_stdout_contains("FIELD: schedule <string>");
        // Validation on (the default): kubectl finds the kind in /openapi/v2, not a CRD check.
        let out =
            k.ok(&["create", "-f", sar.to_str().unwrap_or_default(), "-o", "jsonpath={.status.allowed}"]);
        assert_eq!(out.stdout, "false", "{version}: {out}");
        let out = k.run(&["create", "-f", bad.to_str().unwrap_or_default()]);
        out.assert_code(1).assert_stderr_contains(
            r#"unknown field "bogus" in io.k8s.api.authorization.v1.SubjectAccessReviewSpec"#,
        );
    }
}

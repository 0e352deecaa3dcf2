//! What kube-rs's own cluster tests (the `#[ignore]`d tests of the `kube`, `kube-client` and
//! `kube-runtime` crates, and the `crd_api` example its CI runs) rely on, reproduced through
//! kube-rs against the real server: each test here stands for an answer kubeward gave
//! differently from kube-apiserver when those tests first ran against it. The record of that
//! run is in `tests/README.md`.

mod support;

use base64::Engine as _;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::{ComponentStatus, ConfigMap, Pod, Service};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::events::{Event as RecordedEvent, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use std::time::{Duration, Instant};
use support::{block_on, kube_client as client, kube_client_from as client_from, Server};

/// The body of a raw request through kube-rs's client.
async fn raw(c: &Client, method: &str, path: &str, body: Option<serde_json::Value>) -> String {
    let mut req = http::Request::builder().method(method).uri(path);
    if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    c.request_text(req.body(body).expect("request")).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// kube writes objects as Go writes its API structs: `kind`, `apiVersion`, `metadata`
/// first. kube-client's `fetch_fails` test reads a Service as a Pod and expects serde's
/// error at column 17, just past `{"kind":"Service"`.
#[test]
fn objects_are_written_kind_and_api_version_first() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        // What kube-client's `Client::fetch` (behind `unstable-client`) does with the Service's
        // reference: GET it and decode it as the kind asked for.
        let svc: Service = Api::namespaced(c.clone(), "default").get("kubernetes").await.expect("get");
        let reference = svc.object_ref(&());
        assert_eq!(reference.kind.as_deref(), Some("Service"));
        let path = format!("/api/v1/namespaces/default/services/{}", svc.name_any());
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        let err = c.request::<Pod>(req).await.expect_err("a Service is no Pod");
        assert!(matches!(err, kube::Error::SerdeError(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            r#"Error deserializing response: invalid value: string "Service", expected Pod at line 1 column 17"#
        );

        // Every way an object comes back: create, get, list items, watch events.
        let head = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"#;
        let cm = json!({"metadata": {"name": "ordered"}, "data": {"a": "b"}, "apiVersion": "v1", "kind": "ConfigMap"});
        let created = raw(&c, "POST", "/api/v1/namespaces/default/configmaps", Some(cm)).await;
        assert!(created.starts_with(head), "create: {created}");
        let got = raw(&c, "GET", "/api/v1/namespaces/default/configmaps/ordered", None).await;
        assert!(got.starts_with(head), "get: {got}");
        let list = raw(
            &c,
            "GET",
            "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dordered",
            None,
        )
        .await;
        // A typed list's items carry no kind and apiVersion (kube's, checked by the differential
        // run against kube-apiserver): metadata comes first.
        assert!(list.contains(r#""items":[{"metadata":{"#), "list: {list}");
        let watch = raw(
            &c,
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dordered&timeoutSeconds=1",
            None,
        )
        .await;
        assert!(watch.starts_with(&format!(r#"{{"type":"ADDED","object":{head}"#)), "watch: {watch}");
        let dry = raw(
            &c,
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            Some(json!({"data": {}, "metadata": {"name": "dry"}, "kind": "ConfigMap", "apiVersion": "v1"})),
        )
        .await;
        assert!(dry.starts_with(head), "dry-run create: {dry}");
        let cms = Api::<ConfigMap>::namespaced(c.clone(), "default");
        assert_eq!(
            cms.get("ordered").await.expect("typed get").data.map(|d| d["a"].clone()),
            Some("b".into())
        );
    });
}

/// kube-rs's `crd_api` example creates a CRD, waits one second, uses it, and deletes it,
/// reading the conditions of the CRD the delete answers with: kube establishes a CRD at once
/// (its naming controller), so the conditions are there by then.
#[test]
fn a_new_crd_is_established_at_once() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let crds = Api::<CustomResourceDefinition>::all(c.clone());
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "metadata": {"name": "gadgets.example.dev"},
            "spec": {"group": "example.dev", "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .expect("crd");
        let started = Instant::now();
        crds.create(&PostParams::default(), &crd).await.expect("create the CRD");
        let established = kube::runtime::wait::await_condition(
            crds.clone(),
            "gadgets.example.dev",
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(1), established)
            .await
            .unwrap_or_else(|_| panic!("not established within 1s of its creation"))
            .expect("watch the CRD");
        assert!(started.elapsed() < Duration::from_secs(1));

        let deleted = crds.delete("gadgets.example.dev", &Default::default()).await.expect("delete the CRD");
        let crd = deleted.left().expect("a CRD being deleted comes back as the object");
        let name = crd.name_any();
        let types: Vec<String> =
            crd.status.and_then(|s| s.conditions).unwrap_or_default().into_iter().map(|c| c.type_).collect();
        // kube's CRD delete adds the Terminating condition (InstanceDeletionPending) at once.
        assert_eq!(types, ["NamesAccepted", "Established", "Terminating"], "{name}");
    });
}

/// kube-runtime's `event_recorder_attaches_events_without_namespace` records Events about
/// the `scheduler` ComponentStatus: kube always answers `controller-manager` and `scheduler`
/// (probed by an HTTPS GET of `/healthz` on their loopback ports) beside its etcd members.
#[test]
fn component_statuses_are_kubes_and_take_events() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let statuses = Api::<ComponentStatus>::all(c.clone());
        let mut names: Vec<String> = statuses
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .iter()
            .map(|s| s.name_any())
            .collect();
        names.sort();
        assert_eq!(names, ["controller-manager", "etcd-0", "scheduler"]);

        let scheduler = statuses.get("scheduler").await.expect("get the scheduler");
        let condition = &scheduler.conditions.as_deref().unwrap_or_default()[0];
        assert_eq!(condition.type_, "Healthy");
        // kubeward runs no kube-scheduler: unless something answers on its port, kube's
        // probe reports the refused connection in Go's words.
        if std::net::TcpStream::connect(("127.0.0.1", 10259)).is_err() {
            assert_eq!(condition.status, "False");
            assert_eq!(
                condition.message.as_deref(),
                Some(
                    r#"Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect: connection refused"#
                )
            );
        }
        let etcd = statuses.get("etcd-0").await.expect("get etcd-0");
        assert_eq!(etcd.conditions.as_deref().unwrap_or_default()[0].status, "True");
        let missing = statuses.get("kube-proxy").await.expect_err("not a component");
        assert!(matches!(missing, kube::Error::Api(ref s) if s.code == 404), "{missing:?}");

        // An Event about the cluster-scoped component lands in `default`, and a second one
        // becomes a series.
        let recorder = Recorder::new(c.clone(), "kube".into());
        let event = |note: &str| RecordedEvent {
            type_: EventType::Normal,
            reason: "SchedulerLooked".into(),
            note: Some(note.into()),
            action: "Look".into(),
            secondary: None,
        };
        let reference = scheduler.object_ref(&());
        recorder.publish(&event("once"), &reference).await.expect("publish");
        let events = Api::<K8sEvent>::namespaced(c.clone(), "default");
        let found = |list: Vec<K8sEvent>| {
            list.into_iter().find(|e| e.reason.as_deref() == Some("SchedulerLooked")).expect("the event")
        };
        let first = found(events.list(&Default::default()).await.expect("list events").items);
        assert_eq!(first.note.as_deref(), Some("once"));
        assert_eq!(first.regarding.and_then(|r| r.kind).as_deref(), Some("ComponentStatus"));
        recorder.publish(&event("twice"), &reference).await.expect("publish again");
        let second = found(events.list(&Default::default()).await.expect("list events").items);
        assert!(second.series.is_some(), "{second:?}");
    });
}

/// kube-client's `can_operate_on_ephemeral_containers`: `pods/ephemeralcontainers` is read,
/// replaced and strategically patched through kube-rs on a pod that never runs (nothing here
/// needs a kubelet); only `spec.ephemeralContainers` changes there, and kube refuses to
/// change or remove one.
#[test]
fn ephemeral_containers_are_added_through_their_subresource() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let pods = Api::<Pod>::namespaced(c.clone(), "default");
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "eph", "labels": {"app": "eph"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:stable"}]}
        }))
        .expect("pod");
        pods.create(&PostParams::default(), &pod).await.expect("create the pod");
        let read = pods.get_ephemeral_containers("eph").await.expect("get ephemeralcontainers");
        assert_eq!(read.spec.and_then(|s| s.ephemeral_containers), None);

        // Replace: everything but spec.ephemeralContainers is ignored.
        let replacement: Pod = serde_json::from_value(json!({
            "metadata": {"name": "eph", "labels": {"app": "changed"}},
            "spec": {"containers": [{"name": "main", "image": "nginx"}],
                "ephemeralContainers": [{"name": "debug1", "image": "busybox:stable", "command": ["sh", "-c", "sleep 2"]}]}
        }))
        .expect("replacement");
        let replaced = pods
            .replace_ephemeral_containers("eph", &PostParams::default(), &replacement)
            .await
            .expect("replace");
        assert_eq!(
            replaced.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str),
            Some("eph")
        );
        let spec = replaced.spec.expect("spec");
        assert_eq!(spec.containers[0].image.as_deref(), Some("busybox:stable"));
        let eph = spec.ephemeral_containers.expect("ephemeral containers");
        assert_eq!(eph.len(), 1);
        assert_eq!(eph[0].image.as_deref(), Some("busybox:stable"));
        assert_eq!(eph[0].termination_message_path.as_deref(), Some("/dev/termination-log"));
        assert_eq!(eph[0].image_pull_policy.as_deref(), Some("IfNotPresent"));

        // A strategic merge patch adds one by name.
        let patch: Pod = serde_json::from_value(json!({
            "spec": {"ephemeralContainers": [{"name": "debug2", "image": "busybox:stable", "command": ["sh", "-c", "sleep 1"]}]}
        }))
        .expect("patch");
        let patched = pods
            .patch_ephemeral_containers("eph", &Default::default(), &kube::api::Patch::Strategic(patch))
            .await
            .expect("strategic patch");
        let names: Vec<String> = patched
            .spec
            .and_then(|s| s.ephemeral_containers)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.name)
            .collect();
        // kube's strategic merge puts the patch's new items before those only the server had.
        assert_eq!(names, ["debug2", "debug1"]);
        let again = pods.get_ephemeral_containers("eph").await.expect("get again");
        assert_eq!(again.spec.and_then(|s| s.ephemeral_containers).map(|e| e.len()), Some(2));

        // Changing or removing one is kube's 422.
        let mut changed = replacement.clone();
        if let Some(e) = changed.spec.as_mut().and_then(|s| s.ephemeral_containers.as_mut()) {
            e[0].image = Some("alpine".into());
        }
        let err = pods.replace_ephemeral_containers("eph", &PostParams::default(), &changed).await;
        let status = match err {
            Err(kube::Error::Api(s)) => s,
            other => panic!("expected kube's 422, got {other:?}"),
        };
        assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"), "{status:?}");
        assert!(status.message.starts_with(r#"Pod "eph" is invalid: "#), "{}", status.message);
        assert!(
            status.message.contains(r#"spec.ephemeralContainers: Forbidden: existing ephemeral containers "debug2" may not be removed"#),
            "{}",
            status.message
        );
        assert!(
            status.message.contains(r#"spec.ephemeralContainers[debug1]: Forbidden: existing ephemeral containers "debug1" may not be changed"#),
            "{}",
            status.message
        );
        // A pod is never created with one.
        let mut with: Pod = pod.clone();
        with.metadata.name = Some("eph2".into());
        with.spec.as_mut().expect("spec").ephemeral_containers =
            replacement.spec.and_then(|s| s.ephemeral_containers);
        let err = pods.create(&PostParams::default(), &with).await;
        assert!(
            matches!(&err, Err(kube::Error::Api(s)) if s.code == 422 && s.message.contains("spec.ephemeralContainers: Forbidden: cannot be set on create")),
            "{err:?}"
        );
    });
}

/// A PEM certificate request for `cn` in the organizations `orgs`, signed by a fresh key.
fn certificate_request(cn: &str, orgs: &[&str]) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    for o in orgs {
        params.distinguished_name.push(rcgen::DnType::OrganizationName, *o);
    }
    params.serialize_request(&key).expect("csr").pem().expect("pem")
}

fn csr(name: &str, pem: &str, signer: &str) -> CertificateSigningRequest {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"request": base64::engine::general_purpose::STANDARD.encode(pem), "signerName": signer,
            "expirationSeconds": 86400, "usages": ["client auth"], "username": "someone-else"}
    }))
    .expect("csr")
}

fn api_status<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> Box<kube::core::Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected a Status, got {other:?}"),
    }
}

/// kube-client's `csr_can_be_approved`: certificates.k8s.io/v1 CertificateSigningRequests,
/// created with the requester filled in by the server, approved through `approval` (any
/// condition type there, timestamps set), with kube's certificate admission: `approve` on
/// the signer, no `system:masters` for the kube-apiserver-client signer.
#[test]
fn certificate_signing_requests_are_created_and_approved() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let csrs = Api::<CertificateSigningRequest>::all(c.clone());
        let signer = "kubernetes.io/kube-apiserver-client";
        let created = csrs
            .create(&PostParams::default(), &csr("fake", &certificate_request("angela", &[]), signer))
            .await
            .expect("create the CSR");
        let spec = created.spec.clone();
        assert_eq!(spec.username.as_deref(), Some("kubeward-admin"), "the requester is the request's user");
        assert!(spec.groups.unwrap_or_default().contains(&"system:authenticated".to_string()));
        assert_eq!(created.status.as_ref().and_then(|s| s.conditions.clone()), None);

        let approval = json!({"status": {"conditions": [{"type": "ApprovedFake", "status": "True",
            "reason": "kube-rsClient", "message": "ApprovedFake by kube-rs client"}]}});
        csrs.patch_approval("fake", &Default::default(), &kube::api::Patch::Merge(&approval))
            .await
            .expect("patch the approval");
        let after = csrs.get_approval("fake").await.expect("get the approval");
        let conditions = after.status.and_then(|s| s.conditions).unwrap_or_default();
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].type_, "ApprovedFake");
        assert!(conditions[0].last_update_time.is_some() && conditions[0].last_transition_time.is_some());

        // kubectl's own approval path (an update of `approval`, protobuf from 1.32 on).
        if let Some(k) = server.kubectl("1.33") {
            k.ok(&["certificate", "approve", "fake"]);
            // The signer then issues the certificate (kube-controller-manager's csrsigning).
            let issued = support::eventually(Duration::from_secs(10), || {
                let out = k.ok(&["get", "csr", "fake"]);
                let lines: Vec<String> =
                    out.stdout.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
                assert_eq!(lines[0], "NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION", "{out}");
                assert!(lines[1].starts_with("fake "), "{out}");
                lines[1]
                    .ends_with(" kubernetes.io/kube-apiserver-client kubeward-admin 24h Approved,Issued")
                    .then_some(())
            });
            assert!(issued.is_some(), "{}", k.ok(&["get", "csr", "fake"]));
        }

        // The spec never changes, and the approval cannot be taken back through status.
        let withdrawn = json!({"status": {"conditions": []}});
        let err = api_status(
            csrs.patch_status("fake", &Default::default(), &kube::api::Patch::Merge(&withdrawn)).await,
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"), "{err:?}");
        assert!(
            err.message.contains(
                r#"status.conditions: Forbidden: updates may not remove a condition of type "Approved""#
            ),
            "{}",
            err.message
        );

        // No system:masters through the kube-apiserver-client signer.
        let masters = csr("masters", &certificate_request("eve", &["system:masters"]), signer);
        let err = api_status(csrs.create(&PostParams::default(), &masters).await);
        assert_eq!(err.code, 403, "{err:?}");
        assert_eq!(
            err.message,
            r#"certificatesigningrequests.certificates.k8s.io "masters" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"#
        );
        // A request that is no PEM certificate request: kube's 422.
        let bad = csr("bad", "not a request", "example.com/signer");
        let err = api_status(csrs.create(&PostParams::default(), &bad).await);
        assert_eq!(err.code, 422, "{err:?}");
        assert!(err.message.contains("spec.request: Invalid value: "), "{}", err.message);
        assert!(err.message.contains(": PEM block type must be CERTIFICATE REQUEST"), "{}", err.message);

        // jane may write approvals but not approve for the signer until she has `approve` on it.
        let rbac = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "csr-approver"},
            "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests", "certificatesigningrequests/approval"],
                "verbs": ["get", "list", "create", "update", "patch"]}]});
        let roles = Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(c.clone());
        roles
            .create(&PostParams::default(), &serde_json::from_value(rbac).expect("role"))
            .await
            .expect("role");
        let binding = json!({"metadata": {"name": "jane-csr"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "csr-approver"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
        let bindings = Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(c.clone());
        bindings
            .create(&PostParams::default(), &serde_json::from_value(binding).expect("binding"))
            .await
            .expect("bind");
        let jane = client_from(&server.user_kubeconfig("jane", &["devs"])).await;
        let jane_csrs = Api::<CertificateSigningRequest>::all(jane);
        // RBAC sees a new binding when its informer does (as kube's): 403 until then.
        let janes = csr("janes", &certificate_request("jane", &[]), "example.com/signer");
        let mine = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match jane_csrs.create(&PostParams::default(), &janes).await {
                    Err(kube::Error::Api(s)) if s.code == 403 => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    other => return other,
                }
            }
        })
        .await
        .expect("jane may create CSRs once her binding is seen")
        .expect("jane creates her CSR");
        assert_eq!(mine.spec.username.as_deref(), Some("jane"));
        let approve = kube::api::Patch::Merge(
            json!({"status": {"conditions": [{"type": "Approved", "status": "True"}]}}),
        );
        let err = api_status(jane_csrs.patch_approval("janes", &Default::default(), &approve).await);
        assert_eq!(err.code, 403, "{err:?}");
        assert_eq!(
            err.message,
            r#"certificatesigningrequests.certificates.k8s.io "janes" is forbidden: user not permitted to approve requests with signerName "example.com/signer""#
        );
        let signers = json!({"metadata": {"name": "signer-approver"},
            "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["example.com/*"], "verbs": ["approve"]}]});
        roles
            .create(&PostParams::default(), &serde_json::from_value(signers).expect("role"))
            .await
            .expect("role");
        let binding = json!({"metadata": {"name": "jane-signers"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "signer-approver"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
        bindings
            .create(&PostParams::default(), &serde_json::from_value(binding).expect("binding"))
            .await
            .expect("bind");
        let approved = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match jane_csrs.patch_approval("janes", &Default::default(), &approve).await {
                    Ok(o) => return o,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        })
        .await
        .expect("approved once jane may approve for example.com/*");
        let types: Vec<String> = approved
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.type_)
            .collect();
        assert_eq!(types, ["Approved"]);

        let deleted = csrs.delete("fake", &Default::default()).await.expect("delete");
        assert!(deleted.is_right() || deleted.is_left());
        assert!(csrs.get_opt("fake").await.expect("get_opt").is_none());
    });
}

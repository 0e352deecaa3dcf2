//! kube-rs against the real server: the `kube` crate's typed `Api<K>` (k8s-openapi types)
//! and kube-runtime's watchers, with the admin kubeconfig, for the kinds served beyond the
//! core ones. Every kind goes through [`exercise`]: create, get, a paginated list
//! (`ListParams::limit`), merge and strategic patches, replace (and kube's 409 for a stale
//! one), delete until gone, a `watcher` that sees the changes, and the metadata-only calls
//! (`get_metadata`, `list_metadata`, `watch_metadata`, `metadata_watcher`). Besides: a
//! strategic patch merging a Deployment's containers by name, kube-rs discovery over the
//! whole server, errors decoded as `kube::Error::Api`, and a server-side apply smoke test.

mod support;

use futures::{Stream, StreamExt};
use k8s_openapi::api::{apps, batch, coordination, core, discovery, events, flowcontrol, networking};
use k8s_openapi::api::{node, policy, scheduling, storage};
use k8s_openapi::serde::{de::DeserializeOwned, Serialize};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, PartialObjectMeta, Patch, PatchParams, PostParams,
    ResourceExt, WatchEvent, WatchParams,
};
use kube::runtime::watcher::{self, watcher, Event};
use kube::Resource;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::pin::Pin;
use std::time::Duration;
use support::{block_on, kube_client as client, Server};

/// Every object a test creates carries this label; lists and watches select on it, so the
/// objects every cluster starts with (system PriorityClasses, FlowSchemas) stay out.
const SELECTOR: &str = "kubeward-test=kube-rs";
/// How long a watch may take to show a change.
const WATCH_WAIT: Duration = Duration::from_secs(20);

type Events<T> = Pin<Box<dyn Stream<Item = Result<Event<T>, watcher::Error>> + Send>>;

/// The `kube::Error::Api` Status of a failed call.
#[track_caller]
fn api_error<T: Debug>(result: Result<T, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected a kube::Error::Api, got {other:?}"),
    }
}

/// The next event the predicate accepts, skipping others; panics after [`WATCH_WAIT`].
async fn next_matching<T: Debug>(events: &mut Events<T>, what: &str, pred: impl Fn(&Event<T>) -> bool) {
    let found = tokio::time::timeout(WATCH_WAIT, async {
        while let Some(ev) = events.next().await {
            let ev = ev.unwrap_or_else(|e| panic!("{what}: watcher error {e}"));
            if pred(&ev) {
                return;
            }
        }
        panic!("{what}: the watch ended");
    })
    .await;
    assert!(found.is_ok(), "{what}: not seen within {WATCH_WAIT:?}");
}

fn applied<T: ResourceExt>(ev: &Event<T>, name: &str, check: impl Fn(&T) -> bool) -> bool {
    matches!(ev, Event::Apply(o) if o.name_any() == name && check(o))
}

fn deleted<T: ResourceExt>(ev: &Event<T>, name: &str) -> bool {
    matches!(ev, Event::Delete(o) if o.name_any() == name)
}

fn label<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.labels.as_ref()?.get(key).map(String::as_str)
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// Waits until `name` is gone (finalizers, such as the PV and PVC protection ones, are
/// removed by the server's controllers).
async fn until_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    for _ in 0..100 {
        if api.get_opt(name).await.expect("get_opt").is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} was not deleted within 20s");
}

/// The full life of two objects of one kind through kube-rs; `template` is the object
/// without its name and labels (set here).
async fn exercise<K>(api: Api<K>, template: Value)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + Sync + 'static,
{
    let kind = K::kind(&()).to_string();
    let object = |name: &str| -> K {
        let mut v = template.clone();
        v["apiVersion"] = json!(K::api_version(&()));
        v["kind"] = json!(kind);
        v["metadata"]["name"] = json!(name);
        v["metadata"]["labels"] = json!({"kubeward-test": "kube-rs"});
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{kind} template: {e}"))
    };
    let (a, b) = ("kr-a", "kr-b");

    // Watchers first: they list (nothing yet), then watch from the list's revision.
    let config = watcher::Config::default().labels(SELECTOR);
    let mut objects: Events<K> = watcher(api.clone(), config.clone()).boxed();
    next_matching(&mut objects, &format!("{kind} watcher init"), |e| matches!(e, Event::InitDone)).await;
    // kube-runtime's metadata_watcher (deprecated in kube 3.1 for the form below, still used).
    #[allow(deprecated)]
    let mut metas: Events<_> = kube::runtime::metadata_watcher(api.clone(), config.clone()).boxed();
    next_matching(&mut metas, &format!("{kind} metadata_watcher init"), |e| matches!(e, Event::InitDone))
        .await;
    // The current form: a watcher over `Api<PartialObjectMeta<K>>`, which asks for metadata only.
    let partial = Api::<PartialObjectMeta<K>>::all(api.clone().into_client());
    let mut partials: Events<_> = watcher(partial, config).boxed();
    next_matching(&mut partials, &format!("{kind} partial watcher init"), |e| matches!(e, Event::InitDone))
        .await;

    // create and get
    let pp = PostParams::default();
    let created = api.create(&pp, &object(a)).await.unwrap_or_else(|e| panic!("create {kind}: {e}"));
    assert_eq!(created.name_any(), a);
    assert!(created.meta().uid.is_some() && created.meta().resource_version.is_some(), "{created:?}");
    api.create(&pp, &object(b)).await.unwrap_or_else(|e| panic!("create {kind} {b}: {e}"));
    let again = api_error(api.create(&pp, &object(a)).await);
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"), "{kind}: {again:?}");
    let got = api.get(a).await.unwrap_or_else(|e| panic!("get {kind}: {e}"));
    assert_eq!(got.meta().uid, created.meta().uid, "{kind}");
    next_matching(&mut objects, &format!("{kind} created"), |e| applied(e, b, |_| true)).await;

    // list, one item a page
    let lp = ListParams::default().labels(SELECTOR).limit(1);
    let first = api.list(&lp).await.unwrap_or_else(|e| panic!("list {kind}: {e}"));
    assert_eq!(first.items.len(), 1, "{kind}: {:?}", first.metadata);
    let mut names: BTreeSet<String> = first.items.iter().map(|o| o.name_any()).collect();
    let mut token = first.metadata.continue_.clone().filter(|t| !t.is_empty());
    assert!(token.is_some(), "{kind}: no continue token");
    // A selector may leave later pages empty (kube reads on past objects that do not match).
    for _ in 0..10 {
        let Some(t) = token.take() else { break };
        let page = api.list(&lp.clone().continue_token(&t)).await.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(page.items.len() <= 1, "{kind}: {} items in a page of 1", page.items.len());
        names.extend(page.items.iter().map(|o| o.name_any()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(names, BTreeSet::from([a.to_string(), b.to_string()]), "{kind}");

    // metadata only: get and paginated list
    let meta = api.get_metadata(a).await.unwrap_or_else(|e| panic!("get_metadata {kind}: {e}"));
    assert_eq!(meta.types.as_ref().map(|t| t.kind.as_str()), Some("PartialObjectMetadata"), "{kind}");
    assert_eq!(meta.types.as_ref().map(|t| t.api_version.as_str()), Some("meta.k8s.io/v1"), "{kind}");
    assert_eq!(
        (meta.metadata.uid.as_ref(), label(&meta.metadata, "kubeward-test")),
        (created.meta().uid.as_ref(), Some("kube-rs"))
    );
    let metas_page = api.list_metadata(&lp).await.unwrap_or_else(|e| panic!("list_metadata {kind}: {e}"));
    assert_eq!(metas_page.items.len(), 1, "{kind}");
    assert_eq!(metas_page.types.kind, "PartialObjectMetadataList", "{kind}");
    let mut meta_names: BTreeSet<String> = metas_page.items.iter().map(|m| m.name_any()).collect();
    let mut token = metas_page.metadata.continue_.clone().filter(|t| !t.is_empty());
    assert!(token.is_some(), "{kind}: no metadata continue token");
    for _ in 0..10 {
        let Some(t) = token.take() else { break };
        let page = api.list_metadata(&lp.clone().continue_token(&t)).await.expect("list_metadata page");
        assert!(page.items.len() <= 1, "{kind}");
        meta_names.extend(page.items.iter().map(|m| m.name_any()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(meta_names, names, "{kind}");
    let rv = metas_page.metadata.resource_version.clone().unwrap_or_default();
    let wp = WatchParams::default().labels(SELECTOR).timeout(30);
    let mut raw_metas =
        api.watch_metadata(&wp, &rv).await.unwrap_or_else(|e| panic!("watch_metadata {kind}: {e}")).boxed();

    // patches and replace
    let patched = PatchParams::default();
    let merge = Patch::Merge(json!({"metadata": {"labels": {"merged": "yes"}}}));
    let after = api.patch(a, &patched, &merge).await.unwrap_or_else(|e| panic!("merge patch {kind}: {e}"));
    assert_eq!(label(after.meta(), "merged"), Some("yes"), "{kind}");
    let strategic = Patch::Strategic(json!({"metadata": {"annotations": {"strategic": "yes"}}}));
    let after =
        api.patch(a, &patched, &strategic).await.unwrap_or_else(|e| panic!("strategic patch {kind}: {e}"));
    assert_eq!(
        (label(after.meta(), "merged"), annotation(after.meta(), "strategic")),
        (Some("yes"), Some("yes"))
    );
    let mut current = api.get(a).await.expect("get");
    let stale = current.clone();
    current.annotations_mut().insert("replaced".into(), "yes".into());
    let replaced = api.replace(a, &pp, &current).await.unwrap_or_else(|e| panic!("replace {kind}: {e}"));
    assert_ne!(replaced.meta().resource_version, stale.meta().resource_version, "{kind}");
    assert_eq!(annotation(replaced.meta(), "replaced"), Some("yes"), "{kind}");
    let conflict = api_error(api.replace(a, &pp, &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"), "{kind}: {conflict:?}");
    next_matching(&mut objects, &format!("{kind} replaced"), |e| {
        applied(e, a, |o| annotation(o.meta(), "replaced") == Some("yes"))
    })
    .await;

    // a change of b, seen by both metadata watches
    let touch = Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}}));
    api.patch(b, &patched, &touch).await.unwrap_or_else(|e| panic!("patch {kind} {b}: {e}"));
    next_matching(&mut metas, &format!("{kind} metadata_watcher"), |e| {
        applied(e, b, |m| label(&m.metadata, "touched") == Some("yes"))
    })
    .await;
    next_matching(&mut partials, &format!("{kind} partial watcher"), |e| {
        let partial =
            |m: &PartialObjectMeta<K>| m.types.as_ref().is_some_and(|t| t.kind == "PartialObjectMetadata");
        applied(e, b, |m| label(&m.metadata, "touched") == Some("yes") && partial(m))
    })
    .await;
    let seen = tokio::time::timeout(WATCH_WAIT, async {
        while let Some(ev) = raw_metas.next().await {
            match ev.unwrap_or_else(|e| panic!("watch_metadata {kind}: {e}")) {
                WatchEvent::Modified(m) if m.metadata.name.as_deref() == Some(b) => {
                    assert_eq!(m.types.as_ref().map(|t| t.kind.as_str()), Some("PartialObjectMetadata"));
                    if label(&m.metadata, "touched") == Some("yes") {
                        return;
                    }
                }
                WatchEvent::Error(e) => panic!("watch_metadata {kind}: {e:?}"),
                _ => {}
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "{kind}: watch_metadata did not show the change of {b}");

    // delete
    let dp = DeleteParams::default();
    api.delete(a, &dp).await.unwrap_or_else(|e| panic!("delete {kind}: {e}"));
    until_gone(&api, a).await;
    next_matching(&mut objects, &format!("{kind} deleted"), |e| deleted(e, a)).await;
    next_matching(&mut metas, &format!("{kind} metadata deleted"), |e| deleted(e, a)).await;
    next_matching(&mut partials, &format!("{kind} partial deleted"), |e| deleted(e, a)).await;
    let gone = api_error(api.get(a).await);
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"), "{kind}: {gone:?}");
    api.delete(b, &dp).await.unwrap_or_else(|e| panic!("delete {kind} {b}: {e}"));
    until_gone(&api, b).await;
}

fn pod_template(app: &str) -> Value {
    json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
}

fn selector(app: &str) -> Value {
    json!({"matchLabels": {"app": app}})
}

#[test]
fn apps_and_batch_kinds() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let ns = "default";
        exercise(
            Api::<apps::v1::Deployment>::namespaced(c.clone(), ns),
            json!({"spec": {"selector": selector("d"), "template": pod_template("d")}}),
        )
        .await;
        exercise(
            Api::<apps::v1::DaemonSet>::namespaced(c.clone(), ns),
            json!({"spec": {"selector": selector("ds"), "template": pod_template("ds")}}),
        )
        .await;
        exercise(
            Api::<apps::v1::StatefulSet>::namespaced(c.clone(), ns),
            json!({"spec": {"serviceName": "sts", "selector": selector("sts"), "template": pod_template("sts")}}),
        )
        .await;
        exercise(
            Api::<apps::v1::ReplicaSet>::namespaced(c.clone(), ns),
            json!({"spec": {"selector": selector("rs"), "template": pod_template("rs")}}),
        )
        .await;
        exercise(
            Api::<apps::v1::ControllerRevision>::namespaced(c.clone(), ns),
            json!({"revision": 1, "data": {"a": 1}}),
        )
        .await;
        let job = json!({"spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}});
        exercise(Api::<batch::v1::Job>::namespaced(c.clone(), ns), job.clone()).await;
        exercise(
            Api::<batch::v1::CronJob>::namespaced(c.clone(), ns),
            json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": job}}),
        )
        .await;
    });
}

#[test]
fn core_kinds() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let ns = "default";
        exercise(
            Api::<core::v1::ReplicationController>::namespaced(c.clone(), ns),
            json!({"spec": {"replicas": 1, "template": pod_template("rc")}}),
        )
        .await;
        exercise(
            Api::<core::v1::PersistentVolume>::all(c.clone()),
            json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/pv"}, "storageClassName": "manual"}}),
        )
        .await;
        exercise(
            Api::<core::v1::PersistentVolumeClaim>::namespaced(c.clone(), ns),
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "manual"}}),
        )
        .await;
        exercise(
            Api::<core::v1::PodTemplate>::namespaced(c.clone(), ns),
            json!({"template": pod_template("pt")}),
        )
        .await;
        exercise(
            Api::<core::v1::Event>::namespaced(c.clone(), ns),
            json!({"involvedObject": {"kind": "Pod", "name": "p1", "namespace": ns},
                "reason": "Tested", "message": "hello", "type": "Normal"}),
        )
        .await;
        exercise(
            Api::<core::v1::Endpoints>::namespaced(c.clone(), ns),
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
        )
        .await;
    });
}

#[test]
fn discovery_events_policy_and_networking_kinds() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let ns = "default";
        exercise(
            Api::<discovery::v1::EndpointSlice>::namespaced(c.clone(), ns),
            json!({"addressType": "IPv4", "ports": [{"port": 80, "name": "http"}],
                "endpoints": [{"addresses": ["10.0.0.1"]}]}),
        )
        .await;
        exercise(
            Api::<events::v1::Event>::namespaced(c.clone(), ns),
            json!({"eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kubeward.io/test",
                "reportingInstance": "test-1", "action": "Testing", "reason": "Tested", "type": "Normal",
                "note": "hello", "regarding": {"kind": "Pod", "name": "p1", "namespace": ns}}),
        )
        .await;
        exercise(
            Api::<policy::v1::PodDisruptionBudget>::namespaced(c.clone(), ns),
            json!({"spec": {"minAvailable": 1, "selector": selector("x")}}),
        )
        .await;
        exercise(
            Api::<networking::v1::NetworkPolicy>::namespaced(c.clone(), ns),
            json!({"spec": {"podSelector": selector("x")}}),
        )
        .await;
        exercise(
            Api::<networking::v1::IngressClass>::all(c.clone()),
            json!({"spec": {"controller": "k8s.io/ingress-nginx"}}),
        )
        .await;
        exercise(
            Api::<networking::v1::Ingress>::namespaced(c.clone(), ns),
            json!({"spec": {"rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/",
                "pathType": "Prefix", "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}}]}}),
        )
        .await;
    });
}

#[test]
fn cluster_configuration_kinds() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        exercise(
            Api::<storage::v1::StorageClass>::all(c.clone()),
            json!({"provisioner": "example.com/fast"}),
        )
        .await;
        exercise(Api::<storage::v1::CSIDriver>::all(c.clone()), json!({"spec": {}})).await;
        exercise(
            Api::<storage::v1::CSINode>::all(c.clone()),
            json!({"spec": {"drivers": [{"name": "csi.example.com", "nodeID": "n1"}]}}),
        )
        .await;
        exercise(
            Api::<storage::v1::VolumeAttachment>::all(c.clone()),
            json!({"spec": {"attacher": "csi.example.com", "nodeName": "node1",
                "source": {"persistentVolumeName": "pv1"}}}),
        )
        .await;
        exercise(Api::<scheduling::v1::PriorityClass>::all(c.clone()), json!({"value": 1000})).await;
        exercise(Api::<node::v1::RuntimeClass>::all(c.clone()), json!({"handler": "runsc"})).await;
        exercise(
            Api::<coordination::v1::Lease>::namespaced(c.clone(), "default"),
            json!({"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
        )
        .await;
        exercise(
            Api::<flowcontrol::v1::PriorityLevelConfiguration>::all(c.clone()),
            json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
                "limitResponse": {"type": "Reject"}}}}),
        )
        .await;
        exercise(
            Api::<flowcontrol::v1::FlowSchema>::all(c.clone()),
            json!({"spec": {"priorityLevelConfiguration": {"name": "global-default"}, "matchingPrecedence": 5000,
                "rules": [{"subjects": [{"kind": "Group", "group": {"name": "system:authenticated"}}],
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                        "clusterScope": true, "namespaces": ["*"]}]}]}}),
        )
        .await;
    });
}

/// kube-rs discovery over the whole server, kube's errors as `kube::Error::Api`, a strategic
/// patch that merges a list by its merge key, and server-side apply in its smoke form.
#[test]
fn discovery_errors_and_patch_semantics() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;

        let found = kube::discovery::Discovery::new(c.clone()).run().await.expect("kube-rs discovery");
        for group in ["", "apps", "batch", "events.k8s.io", "flowcontrol.apiserver.k8s.io", "storage.k8s.io"]
        {
            assert!(found.has_group(group), "discovery lacks {group:?}");
        }
        let gvk = kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment");
        let (resource, caps) = found.resolve_gvk(&gvk).expect("Deployment resolved");
        assert_eq!(
            (resource.plural.as_str(), caps.scope),
            ("deployments", kube::discovery::Scope::Namespaced)
        );
        let aggregated =
            kube::discovery::Discovery::new(c.clone()).run_aggregated().await.expect("aggregated discovery");
        assert!(aggregated.has_group("flowcontrol.apiserver.k8s.io"));
        assert_eq!(
            aggregated.groups().count(),
            found.groups().count(),
            "aggregated and legacy discovery list the same groups"
        );

        let deployments = Api::<apps::v1::Deployment>::namespaced(c.clone(), "default");
        let missing = api_error(deployments.get("nope").await);
        assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
        assert_eq!(missing.message, r#"deployments.apps "nope" not found"#);
        let missing = api_error(deployments.get_metadata("nope").await);
        assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
        let bad: apps::v1::Deployment = serde_json::from_value(json!({"metadata": {"name": "bad"},
            "spec": {"selector": selector("a"), "template": pod_template("b")}}))
        .expect("deployment");
        let invalid = api_error(deployments.create(&PostParams::default(), &bad).await);
        assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"), "{invalid:?}");
        assert!(invalid.message.starts_with(r#"Deployment.apps "bad" is invalid: "#), "{}", invalid.message);

        // A strategic merge patch merges containers by name; a merge patch replaces the list.
        let two: apps::v1::Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
            "spec": {"selector": selector("web"), "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}, {"name": "d", "image": "busybox"}]}}}}))
        .expect("deployment");
        deployments.create(&PostParams::default(), &two).await.expect("create web");
        let smp = Patch::Strategic(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}),
        );
        let after = deployments.patch("web", &PatchParams::default(), &smp).await.expect("strategic patch");
        let images: Vec<(String, Option<String>)> = after
            .spec
            .and_then(|s| s.template.spec)
            .map(|s| s.containers.into_iter().map(|c| (c.name, c.image)).collect())
            .unwrap_or_default();
        assert_eq!(
            images,
            vec![("c".into(), Some("nginx:1.27".into())), ("d".into(), Some("busybox".into()))],
            "strategic merge by name"
        );
        let mp = Patch::Merge(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.28"}]}}}}),
        );
        let after = deployments.patch("web", &PatchParams::default(), &mp).await.expect("merge patch");
        let containers = after.spec.and_then(|s| s.template.spec).map(|s| s.containers.len());
        assert_eq!(containers, Some(1), "a merge patch replaces the list");
        // Metadata-only patch answer (kube-rs's patch_metadata asks for PartialObjectMetadata).
        let meta = deployments
            .patch_metadata(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"m": "1"}}})),
            )
            .await
            .expect("patch_metadata");
        assert_eq!(meta.types.map(|t| t.kind), Some("PartialObjectMetadata".into()));
        assert_eq!(label(&meta.metadata, "m"), Some("1"));

        // Server-side apply, smoke form: a ConfigMap created by apply.
        let cms = Api::<core::v1::ConfigMap>::namespaced(c.clone(), "default");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"k": "v"}});
        let applied = cms
            .patch("applied", &PatchParams::apply("kube-rs-test"), &Patch::Apply(&cm))
            .await
            .expect("apply");
        assert_eq!(applied.data.and_then(|d| d.get("k").cloned()), Some("v".into()));
        assert!(cms.get("applied").await.is_ok());
    });
}

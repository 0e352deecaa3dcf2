//! Pagination at the first page's revision over a real embedded store: a write between pages
//! does not show, a deletion does not hide, and once the revision is compacted the continue
//! token gets kube's 410 with a token that goes on at the latest revision.

use super::*;
use serde_json::json;
use std::sync::Arc;

fn configmaps() -> &'static ResourceType {
    registry::Catalog::global().lookup("", "v1", "configmaps").expect("configmaps are served")
}

fn names(page: &Page) -> Vec<String> {
    page.items.iter().filter_map(|kv| namespace_and_name(configmaps(), kv)).map(|(_, n)| n).collect()
}

async fn fixture() -> (tempfile::TempDir, Objects) {
    let dir = tempfile::tempdir().unwrap();
    let store = storage::EmbeddedStore::open(dir.path()).unwrap();
    let objects = Objects::new(Arc::new(store));
    for name in ["a", "b", "c", "d"] {
        let cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}});
        objects.create(configmaps(), "ns", name, &cm).await.unwrap();
    }
    (dir, objects)
}

#[tokio::test]
async fn continue_pages_read_at_the_first_pages_revision() {
    let (_dir, objects) = fixture().await;
    let rt = configmaps();
    let first = objects.list(rt, "ns", None, 2).await.unwrap();
    assert_eq!(names(&first), ["a", "b"]);
    let token = first.continue_token.clone().unwrap();

    // Between the pages: a new object, a deleted one, an updated one.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bb", "namespace": "ns"}});
    objects.create(rt, "ns", "bb", &cm).await.unwrap();
    objects.delete(rt, "ns", "c", None).await.unwrap();
    let d = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "ns"}, "data": {"x": "1"}});
    objects.update(rt, "ns", "d", &d, None).await.unwrap();

    let second = objects.list(rt, "ns", Some(&token), 2).await.unwrap();
    assert_eq!(names(&second), ["c", "d"], "the first page's snapshot");
    assert_eq!(second.revision, first.revision);
    assert!(second.items.iter().all(|kv| kv.mod_revision <= first.revision));
    assert!(second.continue_token.is_none());
    // A new list sees the present.
    assert_eq!(names(&objects.list(rt, "ns", None, 0).await.unwrap()), ["a", "b", "bb", "d"]);
    // Exact at the first revision: the same snapshot.
    let exact = objects.list_from(rt, "ns", ListFrom::Exact(first.revision), 0).await.unwrap();
    assert_eq!(names(&exact), ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn a_compacted_continue_token_is_410_with_a_fresh_token() {
    let (_dir, objects) = fixture().await;
    let rt = configmaps();
    let first = objects.list(rt, "ns", None, 2).await.unwrap();
    let token = first.continue_token.clone().unwrap();
    objects.delete(rt, "ns", "c", None).await.unwrap();
    let now = objects.current_revision().await.unwrap();
    objects.store().compact(now).await.unwrap();

    let e = objects.list(rt, "ns", Some(&token), 2).await.err().unwrap();
    assert_eq!((e.code, e.reason), (410, apimachinery::StatusReason::Expired));
    assert!(e
        .message
        .starts_with("The provided continue parameter is too old to display a consistent list result."));
    let fresh = e.continue_token.clone().unwrap();
    assert_eq!(e.to_value()["metadata"], json!({"continue": fresh}));
    // The fresh token continues after the same key, at the latest revision: `c` is gone.
    let rest = objects.list(rt, "ns", Some(&fresh), 2).await.unwrap();
    assert_eq!(names(&rest), ["d"]);
    assert_eq!(rest.revision, now);

    // An exact list at a compacted revision, and one in the future.
    let e = objects.list_from(rt, "ns", ListFrom::Exact(first.revision), 0).await.err().unwrap();
    assert_eq!((e.code, e.message.as_str()), (410, "The resourceVersion for the provided list is too old."));
    let e = objects.list_from(rt, "ns", ListFrom::Exact(now + 10), 0).await.err().unwrap();
    assert_eq!(e.code, 504);
    assert_eq!(e.message, format!("Timeout: Too large resource version: {}, current: {now}", now + 10));
    let e = objects.list_from(rt, "ns", ListFrom::NotOlderThan(now + 10), 0).await.err().unwrap();
    assert_eq!(e.code, 504);
    assert!(objects.list_from(rt, "ns", ListFrom::NotOlderThan(now), 0).await.is_ok());
}

#[tokio::test]
async fn a_create_from_the_value_answers_what_a_read_back_would() {
    let (_dir, objects) = fixture().await;
    let rt = configmaps();
    // Out of kube's order, with a resourceVersion sent and characters Go escapes.
    let sent = json!({"data": {"x": "<a&b>", "n": "1"}, "metadata": {"resourceVersion": "77", "name": "e", "namespace": "ns"},
        "kind": "ConfigMap", "apiVersion": "v1"});
    let mut obj = sent.clone();
    let created = objects.create_from(rt, "ns", "e", &mut obj).await.unwrap();
    let read = objects.get(rt, "ns", "e").await.unwrap();
    assert_eq!(apimachinery::status::go_json(&created), apimachinery::status::go_json(&read));
    // A name taken leaves the object with the caller (generateName tries again with it).
    let mut again = sent.clone();
    let e = objects.create_from(rt, "ns", "e", &mut again).await.unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(again, sent);
}

#[tokio::test]
async fn a_custom_resource_created_from_its_defaulted_value_answers_what_a_read_back_would() {
    // The bench's Widget under names of its own (the catalog is shared by parallel tests).
    const CRD_NAME: &str = "dwidgets.bench.kubeward.io";
    let mut crd: Value = serde_json::from_str(include_str!("../../../bench/data/widget-crd.json")).unwrap();
    crd["metadata"]["name"] = json!(CRD_NAME);
    crd["spec"]["names"] =
        json!({"plural": "dwidgets", "singular": "dwidget", "kind": "DWidget", "listKind": "DWidgetList"});
    let custom = registry::Catalog::global().custom();
    custom.set(CRD_NAME, registry::custom::versions_from_crd(&crd).unwrap());
    let rt = registry::Catalog::global().lookup("bench.kubeward.io", "v1", "dwidgets").unwrap();
    let (_dir, objects) = fixture().await;
    let mut obj = json!({"apiVersion": "bench.kubeward.io/v1", "kind": "DWidget",
        "metadata": {"name": "d", "namespace": "ns", "uid": "u1"},
        "spec": {"image": "x", "owner": "o", "minReplicas": 1, "maxReplicas": 2,
            "ports": [{"name": "http", "port": 8080}], "schedule": {}}});
    // As a write's decoding leaves it.
    assert!(registry::strategy::prune_and_default(rt, &mut obj).is_empty());
    let created = objects.create_from(rt, "ns", "d", &mut obj).await.unwrap();
    let read = objects.get(rt, "ns", "d").await.unwrap();
    custom.remove(CRD_NAME);
    assert_eq!(created["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(created["spec"]["schedule"]["windowMinutes"], 60);
    assert_eq!(apimachinery::status::go_json(&created), apimachinery::status::go_json(&read));
}

#[tokio::test]
async fn a_metadata_watch_of_a_custom_resource_reads_what_the_whole_conversion_would() {
    const CRD_NAME: &str = "widgets.bench.kubeward.io";
    let crd: Value = serde_json::from_str(include_str!("../../../bench/data/widget-crd.json")).unwrap();
    let custom = registry::Catalog::global().custom();
    custom.set(CRD_NAME, registry::custom::versions_from_crd(&crd).unwrap());
    let rt = registry::Catalog::global().lookup("bench.kubeward.io", "v1", "widgets").unwrap();
    let (_dir, objects) = fixture().await;
    let rev = objects.current_revision().await.unwrap();
    let mut whole = objects.watch(rt, "ns", rev).await.unwrap();
    let mut metadata = objects.watch_metadata(rt, "ns", rev).await.unwrap();
    let widget = json!({"apiVersion": "bench.kubeward.io/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "uid": "u1", "finalizers": ["f"], "labels": {"a": "b"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "u0"}]},
        "spec": {"image": "x", "owner": "o", "minReplicas": 1, "maxReplicas": 2}});
    objects.create(rt, "ns", "w", &widget).await.unwrap();
    let (a, b) = (whole.next().await.unwrap().unwrap(), metadata.next().await.unwrap().unwrap());
    custom.remove(CRD_NAME);
    let read = decode_kv_metadata(&b.kv).unwrap();
    assert_eq!(decode_kv_metadata(&a.kv).unwrap(), read);
    assert_eq!(read["metadata"]["ownerReferences"][0]["uid"], "u0");
    assert_eq!(read["apiVersion"], "bench.kubeward.io/v1");
    // Written in the version served: the stored bytes travel as they are (nothing parsed or
    // encoded per event), the spec as stored (the whole conversion defaults it).
    assert_eq!(decode_kv(&b.kv).unwrap()["spec"], widget["spec"]);
    assert_ne!(decode_kv(&a.kv).unwrap()["spec"], widget["spec"]);
    assert_eq!(a.kv.key, b.kv.key);
}

#[tokio::test]
async fn a_metadata_watch_of_another_version_carries_the_metadata_alone() {
    const CRD_NAME: &str = "gadgets.bench.kubeward.io";
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {"group": "bench.kubeward.io", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                {"name": "v2", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    let custom = registry::Catalog::global().custom();
    custom.set(CRD_NAME, registry::custom::versions_from_crd(&crd).unwrap());
    let v1 = registry::Catalog::global().lookup("bench.kubeward.io", "v1", "gadgets").unwrap();
    let v2 = registry::Catalog::global().lookup("bench.kubeward.io", "v2", "gadgets").unwrap();
    let (_dir, objects) = fixture().await;
    let rev = objects.current_revision().await.unwrap();
    let mut metadata = objects.watch_metadata(v2, "ns", rev).await.unwrap();
    let gadget = json!({"apiVersion": "bench.kubeward.io/v1", "kind": "Gadget",
        "metadata": {"name": "g", "namespace": "ns", "uid": "u1"}, "spec": {"size": 3}});
    objects.create(v1, "ns", "g", &gadget).await.unwrap();
    let b = metadata.next().await.unwrap().unwrap();
    custom.remove(CRD_NAME);
    let read = decode_kv_metadata(&b.kv).unwrap();
    assert_eq!(read["apiVersion"], "bench.kubeward.io/v2");
    assert_eq!(read["metadata"]["uid"], "u1");
    // Only the metadata travelled.
    assert!(decode_kv(&b.kv).unwrap().get("spec").is_none());
}

/// Admission's Namespace lookups are decoded once per revision: an update, a deletion and a
/// re-creation under the same name are each seen at once.
#[tokio::test]
async fn cached_namespace_lookups_follow_every_revision() {
    let (_dir, objects) = fixture().await;
    let rt = registry::Catalog::global().lookup("", "v1", "namespaces").expect("namespaces are served");
    let ns = |phase: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}, "status": {"phase": phase}});
    let phase = |v: Option<Value>| v.and_then(|v| v.pointer("/status/phase").cloned());
    assert_eq!(objects.find_cached(rt, "", "team").await.unwrap(), None);
    objects.create(rt, "", "team", &ns("Active")).await.unwrap();
    for _ in 0..2 {
        assert_eq!(phase(objects.find_cached(rt, "", "team").await.unwrap()), Some(json!("Active")));
    }
    objects.update(rt, "", "team", &ns("Terminating"), None).await.unwrap();
    assert_eq!(phase(objects.find_cached(rt, "", "team").await.unwrap()), Some(json!("Terminating")));
    objects.delete(rt, "", "team", None).await.unwrap();
    assert_eq!(objects.find_cached(rt, "", "team").await.unwrap(), None);
    objects.create(rt, "", "team", &ns("Active")).await.unwrap();
    assert_eq!(phase(objects.find_cached(rt, "", "team").await.unwrap()), Some(json!("Active")));
}

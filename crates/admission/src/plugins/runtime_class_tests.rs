//! RuntimeClass against kube's messages (plugin/pkg/admission/runtimeclass/admission.go).

use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;

fn ctx_with(class: Value) -> MemoryContext {
    let ctx = MemoryContext::new();
    let mut rc = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                        "metadata": {"name": "kata"}, "handler": "kata"});
    if let (Some(rc), Some(extra)) = (rc.as_object_mut(), class.as_object()) {
        rc.extend(extra.clone());
    }
    ctx.put(GROUP, RESOURCE, rc);
    ctx
}

fn pod(spec: Value) -> AdmissionRequest {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "c", "image": "nginx"}]);
    AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", UserInfo::default())
        .with_object(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}))
}

async fn admit_and_validate(req: &mut AdmissionRequest, ctx: &MemoryContext) -> Result<(), StatusError> {
    MutatingPlugin::admit(&RuntimeClass, req, ctx).await?;
    ValidatingPlugin::validate(&RuntimeClass, req, ctx).await
}

#[tokio::test]
async fn missing_class_is_forbidden_in_both_phases() {
    let ctx = MemoryContext::new();
    let mut req = pod(json!({"runtimeClassName": "gvisor"}));
    let e = MutatingPlugin::admit(&RuntimeClass, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(e.message, "pods \"p\" is forbidden: pod rejected: RuntimeClass \"gvisor\" not found");
    let e = ValidatingPlugin::validate(&RuntimeClass, &req, &ctx).await.unwrap_err();
    assert_eq!(e.message, "pods \"p\" is forbidden: pod rejected: RuntimeClass \"gvisor\" not found");
}

#[tokio::test]
async fn class_overhead_becomes_the_pod_overhead() {
    let ctx = ctx_with(json!({"overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}}}));
    let mut req = pod(json!({"runtimeClassName": "kata"}));
    admit_and_validate(&mut req, &ctx).await.unwrap();
    assert_eq!(req.object.as_ref().unwrap()["spec"]["overhead"], json!({"cpu": "250m", "memory": "120Mi"}));
    // the same overhead written differently is the same overhead
    let mut req = pod(json!({"runtimeClassName": "kata", "overhead": {"cpu": "0.25", "memory": "120Mi"}}));
    admit_and_validate(&mut req, &ctx).await.unwrap();
}

#[tokio::test]
async fn a_different_pod_overhead_is_refused() {
    let ctx = ctx_with(json!({"overhead": {"podFixed": {"cpu": "250m"}}}));
    let mut req = pod(json!({"runtimeClassName": "kata", "overhead": {"cpu": "1"}}));
    let e = MutatingPlugin::admit(&RuntimeClass, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    );
    let e = ValidatingPlugin::validate(&RuntimeClass, &req, &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    );
}

#[tokio::test]
async fn overhead_needs_a_class_that_defines_one() {
    let ctx = ctx_with(json!({}));
    for spec in
        [json!({"overhead": {"cpu": "1"}}), json!({"runtimeClassName": "kata", "overhead": {"cpu": "1"}})]
    {
        let mut req = pod(spec);
        let e = admit_and_validate(&mut req, &ctx).await.unwrap_err();
        assert_eq!(
            e.message,
            "pods \"p\" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
        );
    }
}

#[tokio::test]
async fn scheduling_merges_node_selector_and_tolerations() {
    let ctx = ctx_with(json!({"scheduling": {
        "nodeSelector": {"runtime": "kata", "zone": "a"},
        "tolerations": [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]
    }}));
    let mut req = pod(json!({"runtimeClassName": "kata", "nodeSelector": {"disk": "ssd", "zone": "a"},
        "tolerations": [{"key": "sandbox", "operator": "Equal", "value": "x", "effect": "NoSchedule"},
                        {"key": "gpu", "operator": "Exists"}]}));
    admit_and_validate(&mut req, &ctx).await.unwrap();
    let spec = &req.object.as_ref().unwrap()["spec"];
    assert_eq!(spec["nodeSelector"], json!({"disk": "ssd", "zone": "a", "runtime": "kata"}));
    assert_eq!(
        spec["tolerations"],
        json!([{"key": "gpu", "operator": "Exists"}, {"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}])
    );
    // a pod without a selector takes the class's
    let mut req = pod(json!({"runtimeClassName": "kata"}));
    admit_and_validate(&mut req, &ctx).await.unwrap();
    assert_eq!(req.object.as_ref().unwrap()["spec"]["nodeSelector"], json!({"runtime": "kata", "zone": "a"}));
}

#[tokio::test]
async fn conflicting_node_selector_is_refused() {
    let ctx = ctx_with(json!({"scheduling": {"nodeSelector": {"runtime": "kata"}}}));
    let mut req = pod(json!({"runtimeClassName": "kata", "nodeSelector": {"runtime": "runc"}}));
    let e = MutatingPlugin::admit(&RuntimeClass, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[runtime] = kata; pod.spec.nodeSelector[runtime] = runc"
    );
}

#[tokio::test]
async fn pods_without_a_class_never_look_and_lookup_errors_pass_through() {
    let ctx = MemoryContext::new();
    ctx.unserve(GROUP, RESOURCE);
    let mut req = pod(json!({"nodeSelector": {"a": "b"}}));
    let before = req.object.clone();
    admit_and_validate(&mut req, &ctx).await.unwrap();
    assert_eq!(req.object, before);
    let mut req = pod(json!({"runtimeClassName": "kata"}));
    let e = MutatingPlugin::admit(&RuntimeClass, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(
        e.message,
        "Internal error occurred: admission asked for unknown resource runtimeclasses.node.k8s.io"
    );
}

//! Priority against kube's messages (plugin/pkg/admission/priority/admission.go).

use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;

fn class(ctx: &MemoryContext, name: &str, value: i64, global_default: bool, policy: &str) {
    ctx.put(
        GROUP,
        RESOURCE,
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
               "value": value, "globalDefault": global_default, "preemptionPolicy": policy}),
    );
}

fn pod_in(ns: &str, spec: Value) -> AdmissionRequest {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "c", "image": "nginx"}]);
    AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", ns, "", UserInfo::default())
        .with_object(json!({"metadata": {"name": "p", "namespace": ns}, "spec": spec}))
}

fn pod(spec: Value) -> AdmissionRequest {
    pod_in("ns", spec)
}

fn class_req(op: Operation, name: &str, global_default: bool) -> AdmissionRequest {
    AdmissionRequest::new(op, (GROUP, "v1", "PriorityClass"), RESOURCE, "", name, UserInfo::default())
        .with_object(json!({"metadata": {"name": name}, "value": 10, "globalDefault": global_default}))
}

#[tokio::test]
async fn named_class_sets_priority_and_policy() {
    let ctx = MemoryContext::new();
    class(&ctx, "batch", 100, false, "Never");
    let mut req = pod(json!({"priorityClassName": "batch"}));
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    let spec = &req.object.as_ref().unwrap()["spec"];
    assert_eq!(spec["priorityClassName"], "batch");
    assert_eq!(spec["priority"], 100);
    assert_eq!(spec["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn global_default_is_taken_lowest_value_first() {
    let ctx = MemoryContext::new();
    class(&ctx, "high-default", 1000, true, "PreemptLowerPriority");
    class(&ctx, "low-default", 5, true, "Never");
    class(&ctx, "other", 1, false, "PreemptLowerPriority");
    let mut req = pod(json!({}));
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    let spec = &req.object.as_ref().unwrap()["spec"];
    assert_eq!(spec["priorityClassName"], "low-default");
    assert_eq!(spec["priority"], 5);
    assert_eq!(spec["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn no_class_and_no_default_is_priority_zero() {
    let ctx = MemoryContext::new();
    class(&ctx, "other", 1, false, "Never");
    let mut req = pod(json!({"priorityClassName": ""}));
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    let spec = &req.object.as_ref().unwrap()["spec"];
    assert_eq!(spec["priorityClassName"], "");
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], PREEMPT_LOWER_PRIORITY);
}

#[tokio::test]
async fn missing_class_is_forbidden() {
    let ctx = MemoryContext::new();
    let mut req = pod(json!({"priorityClassName": "gold"}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(e.reason, apimachinery::StatusReason::Forbidden);
    assert_eq!(e.message, "pods \"p\" is forbidden: no PriorityClass with name gold was found");
}

#[tokio::test]
async fn a_priority_that_disagrees_with_the_class_is_refused() {
    let ctx = MemoryContext::new();
    class(&ctx, "batch", 100, false, "PreemptLowerPriority");
    let mut req = pod(json!({"priorityClassName": "batch", "priority": 7}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 100 from the given PriorityClass name"
    );
    // the computed value itself is accepted (a client re-posting a read pod)
    let mut req = pod(json!({"priorityClassName": "batch", "priority": 100}));
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    // with no class and no default, anything but 0 is refused
    let mut req = pod(json!({"priority": 3}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: the integer value of priority (3) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name"
    );
}

#[tokio::test]
async fn a_policy_that_disagrees_with_the_class_is_refused() {
    let ctx = MemoryContext::new();
    class(&ctx, "batch", 100, false, "PreemptLowerPriority");
    let mut req = pod(json!({"priorityClassName": "batch", "preemptionPolicy": "Never"}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name"
    );
}

#[tokio::test]
async fn system_classes_resolve_in_any_namespace_as_since_kube_1_17() {
    let ctx = MemoryContext::new();
    class(&ctx, "system-node-critical", 2_000_001_000, false, "PreemptLowerPriority");
    class(&ctx, "system-cluster-critical", 2_000_000_000, false, "PreemptLowerPriority");
    for (ns, name, value) in [
        ("kube-system", "system-node-critical", 2_000_001_000),
        ("default", "system-cluster-critical", 2_000_000_000),
    ] {
        let mut req = pod_in(ns, json!({"priorityClassName": name}));
        MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
        assert_eq!(req.object.as_ref().unwrap()["spec"]["priority"], value);
    }
}

#[tokio::test]
async fn update_keeps_the_stored_priority() {
    let ctx = MemoryContext::new();
    ctx.unserve(GROUP, RESOURCE); // updates never look classes up
    let old = json!({"metadata": {"name": "p"}, "spec": {"priority": 100, "preemptionPolicy": "Never"}});
    let mut req = pod(json!({"priorityClassName": "batch"})).with_old_object(old);
    req.operation = Operation::Update;
    req.name = "p".into();
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    let spec = &req.object.as_ref().unwrap()["spec"];
    assert_eq!(spec["priority"], 100);
    assert_eq!(spec["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn lookup_failures_are_kube_plain_errors() {
    let ctx = MemoryContext::new();
    ctx.unserve(GROUP, RESOURCE);
    let mut req = pod(json!({}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(e.message, "failed to get default priority class: Internal error occurred: admission asked for unknown resource priorityclasses.scheduling.k8s.io");
    let mut req = pod(json!({"priorityClassName": "batch"}));
    let e = MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap_err();
    assert_eq!(e.message, "failed to get PriorityClass with name batch: Internal error occurred: admission asked for unknown resource priorityclasses.scheduling.k8s.io");
}

#[tokio::test]
async fn only_one_global_default() {
    let ctx = MemoryContext::new();
    // no default yet: any class may become one
    ValidatingPlugin::validate(&Priority, &class_req(Operation::Create, "a", true), &ctx).await.unwrap();
    class(&ctx, "a", 10, true, "PreemptLowerPriority");
    let e = ValidatingPlugin::validate(&Priority, &class_req(Operation::Create, "b", true), &ctx)
        .await
        .unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "priorityclasses.scheduling.k8s.io \"b\" is forbidden: PriorityClass a is already marked as default. Only one default can exist"
    );
    // marking another existing class as default is refused; updating the default itself is not
    let e = ValidatingPlugin::validate(&Priority, &class_req(Operation::Update, "b", true), &ctx)
        .await
        .unwrap_err();
    assert!(e.message.ends_with("PriorityClass a is already marked as default. Only one default can exist"));
    ValidatingPlugin::validate(&Priority, &class_req(Operation::Update, "a", true), &ctx).await.unwrap();
    // classes that are not defaults never look
    ValidatingPlugin::validate(&Priority, &class_req(Operation::Create, "c", false), &ctx).await.unwrap();
}

#[tokio::test]
async fn other_resources_and_subresources_are_ignored() {
    let ctx = MemoryContext::new();
    ctx.unserve(GROUP, RESOURCE);
    let mut req = pod(json!({})).with_subresource("status");
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    let mut req = AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "ConfigMap"),
        "configmaps",
        "ns",
        "c",
        UserInfo::default(),
    )
    .with_object(json!({"metadata": {"name": "c"}}));
    MutatingPlugin::admit(&Priority, &mut req, &ctx).await.unwrap();
    ValidatingPlugin::validate(&Priority, &req, &ctx).await.unwrap();
}

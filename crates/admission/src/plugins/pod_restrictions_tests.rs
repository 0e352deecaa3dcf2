use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;
use serde_json::json;

fn pod(spec: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
}

fn req(op: Operation, new: Value, old: Option<Value>) -> AdmissionRequest {
    let r =
        AdmissionRequest::new(op, ("", "v1", "Pod"), "pods", "ns", "p", UserInfo::default()).with_object(new);
    match old {
        Some(o) => r.with_old_object(o),
        None => r,
    }
}

fn namespace_with(ctx: &MemoryContext, annotations: Value) {
    ctx.put("", "namespaces", json!({"metadata": {"name": "ns", "annotations": annotations}}));
}

#[tokio::test]
async fn always_pull_images_sets_and_checks_every_container() {
    let p = AlwaysPullImages;
    let ctx = MemoryContext::new();
    let spec = json!({
        "initContainers": [{"name": "i", "image": "a", "imagePullPolicy": "IfNotPresent"}],
        "containers": [{"name": "c", "image": "b", "imagePullPolicy": "Never"}],
        "ephemeralContainers": [{"name": "e", "image": "c"}]});
    let mut r = req(Operation::Create, pod(spec.clone()), None);
    // Before the mutating half, the validating half refuses each policy, as kube aggregates them.
    let e = ValidatingPlugin::validate(&p, &r, &ctx).await.unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(
        e.message,
        "[pods \"p\" is forbidden: spec.initContainers[0].imagePullPolicy: Unsupported value: \"IfNotPresent\": supported values: \"Always\", \
         pods \"p\" is forbidden: spec.containers[0].imagePullPolicy: Unsupported value: \"Never\": supported values: \"Always\", \
         pods \"p\" is forbidden: spec.ephemeralContainers[0].imagePullPolicy: Unsupported value: \"\": supported values: \"Always\"]"
    );
    p.admit(&mut r, &ctx).await.unwrap();
    let obj = r.object.clone().unwrap();
    for list in CONTAINER_LISTS {
        assert_eq!(obj["spec"][list][0]["imagePullPolicy"], "Always", "{list}");
    }
    ValidatingPlugin::validate(&p, &r, &ctx).await.unwrap();
    // An update that brings no new image is left alone; one that does is not.
    let same = req(Operation::Update, pod(spec.clone()), Some(pod(spec.clone())));
    ValidatingPlugin::validate(&p, &same, &ctx).await.unwrap();
    let mut newer = spec.clone();
    newer["containers"][0]["image"] = json!("b:2");
    let changed = req(Operation::Update, pod(newer), Some(pod(spec)));
    assert!(ValidatingPlugin::validate(&p, &changed, &ctx).await.is_err());
}

#[tokio::test]
async fn pod_node_selector_merges_the_namespace_selector_and_refuses_conflicts() {
    let p = PodNodeSelector;
    let ctx = MemoryContext::new();
    namespace_with(&ctx, json!({"scheduler.alpha.kubernetes.io/node-selector": "tier=web, zone=a"}));
    let mut r = req(Operation::Create, pod(json!({"nodeSelector": {"disk": "ssd"}})), None);
    MutatingPlugin::admit(&p, &mut r, &ctx).await.unwrap();
    assert_eq!(
        r.object.as_ref().unwrap()["spec"]["nodeSelector"],
        json!({"disk": "ssd", "tier": "web", "zone": "a"})
    );
    ValidatingPlugin::validate(&p, &r, &ctx).await.unwrap();
    let mut clash = req(Operation::Create, pod(json!({"nodeSelector": {"zone": "b"}})), None);
    let e = MutatingPlugin::admit(&p, &mut clash, &ctx).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (403, "pods \"p\" is forbidden: pod node label selector conflicts with its namespace node label selector")
    );
    namespace_with(&ctx, json!({"scheduler.alpha.kubernetes.io/node-selector": "a=b=c"}));
    let e =
        MutatingPlugin::admit(&p, &mut req(Operation::Create, pod(json!({})), None), &ctx).await.unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (500, "invalid selector: [a b c]"));
    let e =
        MutatingPlugin::admit(&p, &mut req(Operation::Create, pod(json!({})), None), &MemoryContext::new())
            .await
            .unwrap_err();
    assert_eq!(e.code, 404, "{}", e.message);
}

#[tokio::test]
async fn pod_toleration_restriction_merges_defaults_and_checks_the_whitelist() {
    let p = PodTolerationRestriction;
    let ctx = MemoryContext::new();
    namespace_with(
        &ctx,
        json!({
            "scheduler.alpha.kubernetes.io/defaultTolerations": r#"[{"key": "dedicated", "operator": "Equal", "value": "team-a", "effect": "NoSchedule"}]"#,
            "scheduler.alpha.kubernetes.io/tolerationsWhitelist": r#"[{"key": "dedicated", "operator": "Exists"}, {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists"}]"#,
        }),
    );
    // A Burstable Pod gets the namespace's default and the memory-pressure toleration.
    let burstable =
        json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"memory": "64Mi"}}}]});
    let mut r = req(Operation::Create, pod(burstable), None);
    MutatingPlugin::admit(&p, &mut r, &ctx).await.unwrap();
    let keys: Vec<&str> = r.object.as_ref().unwrap()["spec"]["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert_eq!(keys, ["dedicated", "node.kubernetes.io/memory-pressure"]);
    ValidatingPlugin::validate(&p, &r, &ctx).await.unwrap();
    // A BestEffort Pod gets the default only.
    let mut r = req(Operation::Create, pod(json!({"containers": [{"name": "c", "image": "i"}]})), None);
    MutatingPlugin::admit(&p, &mut r, &ctx).await.unwrap();
    assert_eq!(r.object.as_ref().unwrap()["spec"]["tolerations"].as_array().map(Vec::len), Some(1));
    // A toleration the whitelist does not cover is refused, as kube's plain error.
    let outside = pod(json!({"tolerations": [{"key": "gpu", "operator": "Exists"}]}));
    let e = ValidatingPlugin::validate(&p, &req(Operation::Create, outside, None), &ctx).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (500, "pod tolerations (possibly merged with namespace default tolerations) conflict with its namespace whitelist")
    );
    namespace_with(&ctx, json!({"scheduler.alpha.kubernetes.io/tolerationsWhitelist": r#"[{"key": 3}]"#}));
    let some = pod(json!({"tolerations": [{"key": "gpu", "operator": "Exists"}]}));
    let e = ValidatingPlugin::validate(&p, &req(Operation::Create, some, None), &ctx).await.unwrap_err();
    assert_eq!(e.message, "json: cannot unmarshal number into Go struct field Toleration.key of type string");
}

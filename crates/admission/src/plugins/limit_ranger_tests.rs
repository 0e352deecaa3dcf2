use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;

fn ctx(limits: Value) -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put(
        "",
        "limitranges",
        json!({"metadata": {"name": "lr", "namespace": "ns"}, "spec": {"limits": limits}}),
    );
    ctx
}

fn pod(containers: Value) -> AdmissionRequest {
    AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", UserInfo::default())
        .with_object(
            json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": containers}}),
        )
}

#[tokio::test]
async fn defaults_requests_and_limits_with_annotation() {
    let ctx = ctx(json!([{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
        "defaultRequest": {"cpu": "100m"}}]));
    let mut req = pod(json!([{"name": "a"}, {"name": "b", "resources": {"requests": {"cpu": "200m"}}}]));
    MutatingPlugin::admit(&LimitRanger, &mut req, &ctx).await.unwrap();
    let p = req.object.as_ref().unwrap();
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}})
    );
    assert_eq!(p["spec"]["containers"][1]["resources"]["requests"]["cpu"], "200m");
    assert_eq!(
        p["metadata"]["annotations"][ANNOTATION],
        "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; memory request for container b; cpu, memory limit for container b"
    );
    ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap();
}

#[tokio::test]
async fn min_and_max_use_kube_messages() {
    let ctx = ctx(json!([{"type": "Container", "min": {"cpu": "200m"}, "max": {"cpu": "1"}}]));
    let req =
        pod(json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "800m"}}}]));
    let e = ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: minimum cpu usage per Container is 200m, but request is 100m"
    );
    let req = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "300m"}, "limits": {"cpu": "2"}}},
                         {"name": "b", "resources": {"requests": {"cpu": "300m"}}}]));
    let e = ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum cpu usage per Container is 1.  No limit is specified]"
    );
}

#[tokio::test]
async fn max_defaults_the_limit_like_an_api_defaulted_limitrange() {
    let ctx = ctx(json!([{"type": "Container", "max": {"memory": "1Gi"}}]));
    let mut req = pod(json!([{"name": "a"}]));
    MutatingPlugin::admit(&LimitRanger, &mut req, &ctx).await.unwrap();
    let p = req.object.as_ref().unwrap();
    assert_eq!(p["spec"]["containers"][0]["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(p["spec"]["containers"][0]["resources"]["requests"]["memory"], "1Gi");
    ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap();
}

#[tokio::test]
async fn ratio_and_pod_totals() {
    let ctx = ctx(json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
                         {"type": "Pod", "max": {"memory": "1Gi"}}]));
    let req = pod(json!([
        {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}, "limits": {"cpu": "300m", "memory": "600Mi"}}},
        {"name": "b", "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}, "limits": {"cpu": "200m", "memory": "600Mi"}}}
    ]));
    let e = ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: [cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000, maximum memory usage per Pod is 1Gi, but limit is 1200Mi]"
    );
}

#[tokio::test]
async fn pvc_storage_bounds() {
    let ctx = ctx(
        json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]),
    );
    let mk = |size: &str| {
        AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "PersistentVolumeClaim"),
            "persistentvolumeclaims",
            "ns",
            "",
            UserInfo::default(),
        )
        .with_object(
            json!({"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": size}}}}),
        )
    };
    let e = ValidatingPlugin::validate(&LimitRanger, &mk("20Gi"), &ctx).await.unwrap_err();
    assert_eq!(e.message, "persistentvolumeclaims \"data\" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi");
    ValidatingPlugin::validate(&LimitRanger, &mk("5Gi"), &ctx).await.unwrap();
}

#[tokio::test]
async fn pod_updates_and_other_namespaces_are_ignored() {
    let ctx = ctx(json!([{"type": "Container", "min": {"cpu": "1"}}]));
    let mut req = pod(json!([{"name": "a"}]));
    req.operation = Operation::Update;
    ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap();
    let mut req = pod(json!([{"name": "a"}]));
    req.namespace = "other".into();
    ValidatingPlugin::validate(&LimitRanger, &req, &ctx).await.unwrap();
}

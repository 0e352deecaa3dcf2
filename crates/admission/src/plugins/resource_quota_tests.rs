use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;

fn create(resource: &str, kind: &str, obj: Value) -> AdmissionRequest {
    AdmissionRequest::new(Operation::Create, ("", "v1", kind), resource, "ns", "", UserInfo::default())
        .with_object(obj)
}

fn quota(ctx: &MemoryContext, name: &str, hard: Value) {
    ctx.put(
        "",
        "resourcequotas",
        json!({"metadata": {"name": name, "namespace": "ns"}, "spec": {"hard": hard}}),
    );
}

#[tokio::test]
async fn count_quota_charges_status_and_rejects_over_the_limit() {
    let ctx = MemoryContext::new();
    quota(&ctx, "q", json!({"pods": "2", "count/configmaps": "5"}));
    let rq = ResourceQuota::default();
    let pod = |n: &str| {
        create(
            "pods",
            "Pod",
            json!({"metadata": {"name": n, "namespace": "ns"}, "spec": {"containers": [{"name": "c"}]}}),
        )
    };
    for n in ["a", "b"] {
        rq.validate(&pod(n), &ctx).await.unwrap();
    }
    let q = ctx.object("", "resourcequotas", "ns", "q").unwrap();
    assert_eq!(
        q["status"],
        json!({"hard": {"count/configmaps": "5", "pods": "2"}, "used": {"count/configmaps": "0", "pods": "2"}})
    );
    let e = rq.validate(&pod("c"), &ctx).await.unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
    );
    // configmaps are counted independently
    rq.validate(&create("configmaps", "ConfigMap", json!({"metadata": {"name": "cm"}})), &ctx).await.unwrap();
    let q = ctx.object("", "resourcequotas", "ns", "q").unwrap();
    assert_eq!(q["status"]["used"]["count/configmaps"], "1");
}

#[tokio::test]
async fn compute_quota_requires_requests_and_sums_them() {
    let ctx = MemoryContext::new();
    quota(&ctx, "compute", json!({"requests.cpu": "1", "limits.memory": "1Gi"}));
    let rq = ResourceQuota::default();
    let containers = json!([{"name": "c"}, {"name": "d", "resources": {"requests": {"cpu": "1m"}}}]);
    let bare = create("pods", "Pod", json!({"metadata": {"name": "p"}, "spec": {"containers": containers}}));
    let e = rq.validate(&bare, &ctx).await.unwrap_err();
    assert_eq!(e.message, "pods \"p\" is forbidden: failed quota: compute: must specify limits.memory for: c, d; requests.cpu for: c");
    let sized = |cpu: &str| {
        create(
            "pods",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
        "resources": {"requests": {"cpu": cpu}, "limits": {"memory": "256Mi"}}}]}}),
        )
    };
    rq.validate(&sized("600m"), &ctx).await.unwrap();
    let e = rq.validate(&sized("500m"), &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"p\" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1"
    );
    rq.validate(&sized("400m"), &ctx).await.unwrap();
    let q = ctx.object("", "resourcequotas", "ns", "compute").unwrap();
    assert_eq!(q["status"]["used"], json!({"limits.memory": "512Mi", "requests.cpu": "1"}));
}

#[tokio::test]
async fn new_quota_is_recounted_and_recalculate_releases_usage() {
    let ctx = MemoryContext::new();
    ctx.put("", "secrets", json!({"metadata": {"name": "s1", "namespace": "ns"}}));
    quota(&ctx, "q", json!({"secrets": "1"}));
    let rq = ResourceQuota::default();
    let secret = create("secrets", "Secret", json!({"metadata": {"name": "s2"}}));
    let e = rq.validate(&secret, &ctx).await.unwrap_err();
    assert_eq!(e.message, "secrets \"s2\" is forbidden: exceeded quota: q, requested: secrets=1, used: secrets=1, limited: secrets=1");
    ctx.remove("", "secrets", "ns", "s1");
    recalculate(&ctx, "ns").await.unwrap();
    assert_eq!(ctx.object("", "resourcequotas", "ns", "q").unwrap()["status"]["used"]["secrets"], "0");
    rq.validate(&secret, &ctx).await.unwrap();
}

#[tokio::test]
async fn dry_run_and_updates_without_growth_do_not_charge() {
    let ctx = MemoryContext::new();
    quota(&ctx, "q", json!({"pods": "1"}));
    let rq = ResourceQuota::default();
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}});
    rq.validate(&create("pods", "Pod", pod.clone()).with_dry_run(true), &ctx).await.unwrap();
    assert!(ctx.object("", "resourcequotas", "ns", "q").unwrap().get("status").is_none());
    let mut upd = create("pods", "Pod", pod.clone()).with_old_object(pod);
    upd.operation = Operation::Update;
    rq.validate(&upd, &ctx).await.unwrap();
    assert!(ctx.object("", "resourcequotas", "ns", "q").unwrap().get("status").is_none());
}

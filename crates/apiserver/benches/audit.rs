//! What auditing adds to one request: the policy evaluation (bench/audit-policy.yaml, a
//! realistic policy of 17 rules whose fourteenth matches a ConfigMap GET) and the event of a
//! GET at level Metadata serialized as kube writes it (about 700 bytes). `record_start` is
//! what an audited request pays for its record (none is built when auditing is off).

use apimachinery::{RequestInfo, UserInfo};
use apiserver::audit::{Level, Policy, Record, RequestAuditConfig, ResponseStatus, Stage};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const POLICY: &str = include_str!("../../../bench/audit-policy.yaml");
const ID: &str = "8d2a3b8e-0000-4000-8000-000000000001";
const URI: &str = "/api/v1/namespaces/bench-list/configmaps/cm-0";

fn request() -> http::Request<()> {
    http::Request::builder()
        .uri(URI)
        .header("user-agent", "kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0")
        .body(())
        .expect("a request")
}

fn audit(c: &mut Criterion) {
    let (policy, _) = Policy::parse(POLICY).expect("the bench policy");
    let info = std::sync::Arc::new(RequestInfo::new("GET", URI, None));
    let user = UserInfo::new("kubeward-admin", vec!["kubeward:admins".into(), "system:authenticated".into()]);
    assert_eq!(policy.evaluate(Some(&user), &info).level, Level::Metadata);
    c.bench_function("audit/policy_evaluate", |b| {
        b.iter(|| black_box(policy.evaluate(Some(&user), black_box(&info))))
    });

    let req = request();
    c.bench_function("audit/record_start", |b| {
        b.iter(|| black_box(Record::start(black_box(&info), ID, &req, [127, 0, 0, 1].into())))
    });

    let mut rec = Record::start(&info, ID, &req, [127, 0, 0, 1].into());
    rec.set_user(&user);
    rec.config = Some(RequestAuditConfig { level: Level::Metadata, ..RequestAuditConfig::NONE });
    rec.annotations.insert(apiserver::audit::event::DECISION_ANNOTATION, "allow".into());
    rec.annotations.insert(
        apiserver::audit::event::REASON_ANNOTATION,
        r#"RBAC: allowed by ClusterRoleBinding "kubeward-admin" of ClusterRole "cluster-admin" to User "kubeward-admin""#.into(),
    );
    rec.response_status = Some(ResponseStatus { code: 200, ..Default::default() });
    let mut buf = Vec::with_capacity(4096);
    let now = chrono::Utc::now();
    c.bench_function("audit/event_json", |b| {
        b.iter(|| {
            buf.clear();
            rec.write_json(Stage::ResponseComplete, now, &mut buf);
            black_box(buf.len())
        })
    });
}

criterion_group!(benches, audit);
criterion_main!(benches);

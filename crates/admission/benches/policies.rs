//! The ValidatingAdmissionPolicy plugin on a ConfigMap create, as the `writes` section's
//! admission rows load it (issue 18): ten policies of one validation each, all passing,
//! against none; the same rules as crates/bench's `POLICY_RULES`.

use admission::policy::ValidatingAdmissionPolicy;
use admission::testing::MemoryContext;
use admission::{AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::UserInfo;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

const RULES: [&str; 10] = [
    "object.metadata.name.size() <= 63",
    "has(object.metadata.labels) && 'app' in object.metadata.labels",
    "!has(object.data) || object.data.all(k, k.size() < 64)",
    "object.metadata.labels.app.matches('^[a-z-]+$')",
    "request.userInfo.username != 'nobody'",
    "!has(object.binaryData)",
    "!has(object.data) || size(object.data) <= 16",
    "object.metadata.?annotations.orValue({}).size() < 10",
    "!object.metadata.name.startsWith('forbidden')",
    "object.metadata.name != 'vap-probe'",
];

fn objects(n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, rule) in RULES.iter().take(n).enumerate() {
        let name = format!("bench-policy-{i}");
        out.push(
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name, "uid": format!("uid-{i}"), "generation": 1},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]}]},
                "validations": [{"expression": rule}]}}),
        );
        out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}}));
    }
    out
}

fn create() -> AdmissionRequest {
    AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "ConfigMap"),
        "configmaps",
        "bench",
        "w1-0",
        UserInfo::new("admin", vec!["system:masters".into(), "system:authenticated".into()]),
    )
    .with_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "w1-0", "namespace": "bench", "labels": {"app": "kubeward-bench"}},
        "data": {"v": "x".repeat(700)}}))
}

fn policies(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let ctx = MemoryContext::new();
    ctx.put_namespace("bench", json!({}), "Active");
    let mut group = c.benchmark_group("validating_admission_policy");
    for n in [0, 1, 10] {
        let plugin = ValidatingAdmissionPolicy::default();
        plugin.policies().replace_all(&objects(n));
        group.bench_function(format!("configmap_create_{n}_policies"), |b| {
            b.iter(|| {
                let req = create();
                rt.block_on(plugin.validate(&req, &ctx)).expect("admitted");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, policies);
criterion_main!(benches);

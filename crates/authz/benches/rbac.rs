//! RBAC decision cost against the number of bindings, indexed vs a naive scan.
//!
//! Policy: kube's bootstrap roles and bindings plus N generated bindings of the ClusterRole
//! `reader` (get/list/watch pods), either N RoleBindings (one per namespace, one user each)
//! or N ClusterRoleBindings (one user each). The request comes from a user in the middle,
//! with the group `system:authenticated` (so group lookups happen, as in a real server):
//! allow = get pods, deny = delete pods.
//!
//! Compared: `indexed` (RbacAuthorizer::authorize, reason included), `indexed-bool`
//! (RbacAuthorizer::is_allowed), `scan` (a lean linear scan over all bindings: the naive
//! baseline for the ratio) and `model` (the reference model in `authz::naive`, which
//! allocates and collects every allowing binding; up to 10k only).

use std::hint::black_box;
use std::time::Duration;

use apimachinery::{Attributes, UserInfo};
use authz::aggregation::aggregated;
use authz::naive::NaiveRbac;
use authz::policy::CompiledRule;
use authz::rbac::objects::{applies_to_user, BindingKind, BindingObject, RbacObject};
use authz::{bootstrap, Authorizer, RbacAuthorizer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};

fn policy(n: usize, cluster: bool) -> Vec<Value> {
    let mut objs = aggregated(&bootstrap::cluster_roles());
    objs.extend(bootstrap::cluster_role_bindings());
    objs.push(json!({"kind": "ClusterRole", "metadata": {"name": "reader"},
        "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}]}));
    for i in 0..n {
        let subjects = json!([{"kind": "User", "name": format!("user-{i}")}]);
        let role_ref =
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"});
        objs.push(if cluster {
            json!({"kind": "ClusterRoleBinding", "metadata": {"name": format!("b-{i}")},
                "roleRef": role_ref, "subjects": subjects})
        } else {
            json!({"kind": "RoleBinding", "metadata": {"name": format!("b-{i}"), "namespace": format!("ns-{i}")},
                "roleRef": role_ref, "subjects": subjects})
        });
    }
    objs
}

/// The plain linear baseline (kube's walk without its allocations): every binding in a
/// list with its role's rules resolved and compiled; a decision scans them all.
struct LinearScan {
    bindings: Vec<(BindingObject, Vec<CompiledRule>)>,
}

impl LinearScan {
    fn new(objs: &[Value]) -> Self {
        let parsed: Vec<RbacObject> = objs.iter().map(|o| RbacObject::parse(o).expect("parses")).collect();
        let rules_of = |b: &BindingObject| -> Vec<CompiledRule> {
            parsed
                .iter()
                .find_map(|o| match o {
                    RbacObject::Role(r)
                        if r.name == b.role_ref.name
                            && r.kind.as_str() == b.role_ref.kind
                            && (r.namespace.is_empty() || r.namespace == b.namespace) =>
                    {
                        Some(r.rules.iter().map(CompiledRule::new).collect())
                    }
                    _ => None,
                })
                .unwrap_or_default()
        };
        let mut bindings: Vec<(BindingObject, Vec<CompiledRule>)> = parsed
            .iter()
            .filter_map(|o| match o {
                RbacObject::Binding(b) => Some((b.clone(), rules_of(b))),
                RbacObject::Role(_) => None,
            })
            .collect();
        // ClusterRoleBindings first, as kube walks them.
        bindings.sort_by_key(|(b, _)| b.kind);
        Self { bindings }
    }

    fn is_allowed(&self, attrs: &Attributes) -> bool {
        self.bindings.iter().any(|(b, rules)| {
            let in_scope = b.kind == BindingKind::ClusterRoleBinding
                || (!attrs.namespace.is_empty() && b.namespace == attrs.namespace);
            in_scope
                && b.subjects.iter().any(|s| applies_to_user(&attrs.user, s, &b.namespace))
                && rules.iter().any(|r| r.allows(attrs))
        })
    }
}

fn request(n: usize, verb: &str) -> Attributes {
    let i = n / 2;
    Attributes {
        user: UserInfo::new(format!("user-{i}"), vec!["system:authenticated".into()]),
        verb: verb.into(),
        resource_request: true,
        api_group: String::new(),
        api_version: "v1".into(),
        resource: "pods".into(),
        namespace: format!("ns-{i}"),
        name: "web-0".into(),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    for (label, cluster) in [("rolebindings", false), ("clusterrolebindings", true)] {
        let mut group = c.benchmark_group(format!("rbac/{label}"));
        group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for n in [10usize, 1_000, 10_000, 100_000] {
            let objs = policy(n, cluster);
            let indexed = RbacAuthorizer::from_objects(&objs).expect("policy loads");
            let scan = LinearScan::new(&objs);
            let mut naive = NaiveRbac::new();
            for o in &objs {
                naive.upsert(o).expect("policy loads");
            }
            let (allow, deny) = (request(n, "get"), request(n, "delete"));
            assert!(indexed.authorize(&allow).is_allowed() && naive.authorize(&allow).is_allowed());
            assert!(!indexed.authorize(&deny).is_allowed() && !naive.authorize(&deny).is_allowed());
            assert!(scan.is_allowed(&allow) && !scan.is_allowed(&deny));
            for (what, attrs) in [("allow", &allow), ("deny", &deny)] {
                group.bench_with_input(BenchmarkId::new(format!("indexed/{what}"), n), attrs, |b, a| {
                    b.iter(|| indexed.authorize(black_box(a)))
                });
                group.bench_with_input(BenchmarkId::new(format!("indexed-bool/{what}"), n), attrs, |b, a| {
                    b.iter(|| indexed.is_allowed(black_box(a)))
                });
                group.bench_with_input(BenchmarkId::new(format!("scan/{what}"), n), attrs, |b, a| {
                    b.iter(|| scan.is_allowed(black_box(a)))
                });
                if n <= 10_000 {
                    group.bench_with_input(BenchmarkId::new(format!("model/{what}"), n), attrs, |b, a| {
                        b.iter(|| naive.authorize(black_box(a)))
                    });
                }
            }
        }
        group.finish();
    }
}

/// Write path: one RoleBinding upsert into a policy of N bindings (copy-on-write of one
/// shard), and a whole-policy load.
fn bench_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("rbac/write");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 100_000] {
        let objs = policy(n, false);
        let authz = RbacAuthorizer::from_objects(&objs).expect("policy loads");
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("upsert", n), |b| {
            b.iter(|| {
                i += 1;
                let obj = json!({"kind": "RoleBinding", "metadata": {"name": "new", "namespace": format!("ns-{}", i % 64)},
                    "roleRef": {"kind": "ClusterRole", "name": "reader"},
                    "subjects": [{"kind": "User", "name": format!("new-{}", i % 64)}]});
                authz.upsert(&obj).expect("upsert");
            })
        });
        if n == 100_000 {
            group.sample_size(10);
            group.bench_function(BenchmarkId::new("replace_all", n), |b| {
                b.iter(|| authz.replace_all(black_box(&objs)).expect("load"))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench, bench_writes
}
criterion_main!(benches);

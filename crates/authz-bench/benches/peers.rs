//! The same RBAC decisions through kubeward's indexed RBAC, cedar-policy and casbin.
//!
//! Policy (see the crate docs): N RoleBindings of the ClusterRole `reader` (get/list/watch
//! pods), one user per namespace, plus cluster-admin for `system:masters`. Expressed as:
//! - kubeward: the RBAC objects themselves (`RbacAuthorizer::authorize`, reason included);
//! - cedar (entity data): two policies; each user is a member of a `Grant` entity standing
//!   for its binding, and the pod names its namespace's grant in the attribute `readers`;
//! - cedar (templates): one template, one link per binding (`?principal` the user,
//!   `?resource` the namespace the pod belongs to);
//! - casbin: the "RBAC with domains" model, one `p` line per namespace and verb and one `g`
//!   line per binding, in-memory adapter.
//!
//! Before criterion runs, a summary line per N gives medians and ratios:
//! `N=...: kubeward allow X ns, cedar Y us (Zx), cedar-templates ..., casbin W us (Vx)`.
//! `PEERS_SUMMARY_ONLY=1` skips the criterion groups.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use apimachinery::Attributes;
use authz::{Authorizer, RbacAuthorizer};
use authz_bench::{namespace, rbac_objects, request, user, READER_VERBS};
use casbin::prelude::*;
use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision as CedarDecision, Entities, Entity, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, SlotId, Template,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_str(&format!("{ty}::{id:?}")).expect("valid entity uid")
}

fn pod_id(i: usize) -> String {
    format!("{}/web-0", namespace(i))
}

/// Cedar with RBAC as entity data.
struct CedarData {
    authorizer: CedarAuthorizer,
    policies: PolicySet,
    entities: Entities,
}

const CEDAR_POLICIES: &str = r#"
permit(principal, action in [Action::"get", Action::"list", Action::"watch"], resource is Pod)
when { principal in resource.readers };
permit(principal in Group::"system:masters", action, resource);
"#;

impl CedarData {
    fn new(n: usize) -> Self {
        let mut entities = Vec::with_capacity(2 * n + 2);
        for i in 0..n {
            let grant = uid("Grant", &format!("reader/{}", namespace(i)));
            entities.push(Entity::new_no_attrs(grant.clone(), HashSet::new()));
            let parents = HashSet::from([grant.clone(), uid("Group", "system:authenticated")]);
            entities.push(Entity::new_no_attrs(uid("User", &user(i)), parents));
        }
        let mid = n / 2;
        let readers =
            RestrictedExpression::new_entity_uid(uid("Grant", &format!("reader/{}", namespace(mid))));
        let pod = Entity::new(
            uid("Pod", &pod_id(mid)),
            HashMap::from([("readers".to_string(), readers)]),
            HashSet::new(),
        )
        .expect("pod entity");
        entities.push(pod);
        Self {
            authorizer: CedarAuthorizer::new(),
            policies: PolicySet::from_str(CEDAR_POLICIES).expect("policies parse"),
            entities: Entities::from_entities(entities, None).expect("entities"),
        }
    }

    fn allowed(&self, request: &Request) -> bool {
        self.authorizer.is_authorized(request, &self.policies, &self.entities).decision()
            == CedarDecision::Allow
    }
}

/// Cedar with one template link per RoleBinding.
struct CedarTemplates {
    authorizer: CedarAuthorizer,
    policies: PolicySet,
    entities: Entities,
}

impl CedarTemplates {
    fn new(n: usize) -> Self {
        let mut policies =
            PolicySet::from_str(r#"permit(principal in Group::"system:masters", action, resource);"#)
                .expect("policy parses");
        let template = Template::parse(
            Some(PolicyId::new("reader")),
            r#"permit(principal == ?principal, action in [Action::"get", Action::"list", Action::"watch"], resource in ?resource);"#,
        )
        .expect("template parses");
        policies.add_template(template).expect("template added");
        for i in 0..n {
            let vals = HashMap::from([
                (SlotId::principal(), uid("User", &user(i))),
                (SlotId::resource(), uid("Namespace", &namespace(i))),
            ]);
            policies.link(PolicyId::new("reader"), PolicyId::new(format!("b-{i}")), vals).expect("link");
        }
        let mid = n / 2;
        let pod = Entity::new_no_attrs(
            uid("Pod", &pod_id(mid)),
            HashSet::from([uid("Namespace", &namespace(mid))]),
        );
        let user_entity = Entity::new_no_attrs(
            uid("User", &user(mid)),
            HashSet::from([uid("Group", "system:authenticated")]),
        );
        Self {
            authorizer: CedarAuthorizer::new(),
            policies,
            entities: Entities::from_entities([pod, user_entity], None).expect("entities"),
        }
    }

    fn allowed(&self, request: &Request) -> bool {
        self.authorizer.is_authorized(request, &self.policies, &self.entities).decision()
            == CedarDecision::Allow
    }
}

fn cedar_request(attrs: &Attributes, n: usize) -> Request {
    Request::new(
        uid("User", &attrs.user.name),
        uid("Action", &attrs.verb),
        uid("Pod", &pod_id(n / 2)),
        Context::empty(),
        None,
    )
    .expect("request")
}

const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
"#;

async fn casbin(n: usize) -> Enforcer {
    let model = DefaultModel::from_str(CASBIN_MODEL).await.expect("model");
    let mut e = Enforcer::new(model, MemoryAdapter::default()).await.expect("enforcer");
    let mut p = Vec::with_capacity(3 * n + 1);
    let mut g = Vec::with_capacity(n + 1);
    for i in 0..n {
        for verb in READER_VERBS {
            p.push(vec!["reader".to_string(), namespace(i), "pods".to_string(), verb.to_string()]);
        }
        g.push(vec![user(i), "reader".to_string(), namespace(i)]);
    }
    e.add_policies(p).await.expect("p lines");
    e.add_grouping_policies(g).await.expect("g lines");
    e
}

fn casbin_allowed(e: &Enforcer, attrs: &Attributes) -> bool {
    e.enforce((
        attrs.user.name.as_str(),
        attrs.namespace.as_str(),
        attrs.resource.as_str(),
        attrs.verb.as_str(),
    ))
    .expect("enforce")
}

/// Median time of one call, from 7 batches of about 20 ms each.
fn median_per_call(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut warm = 0u32;
    while start.elapsed() < Duration::from_millis(20) || warm < 2 {
        f();
        warm += 1;
    }
    let per = start.elapsed() / warm;
    let iters = (Duration::from_millis(20).as_nanos() / per.as_nanos().max(1)).clamp(1, 10_000_000) as u32;
    let mut samples: Vec<Duration> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters
        })
        .collect();
    samples.sort();
    samples[3]
}

struct Engines {
    n: usize,
    rbac: RbacAuthorizer,
    cedar: CedarData,
    templates: CedarTemplates,
    casbin: Enforcer,
}

fn engines(rt: &tokio::runtime::Runtime, n: usize) -> Engines {
    let e = Engines {
        n,
        rbac: RbacAuthorizer::from_objects(&rbac_objects(n)).expect("policy loads"),
        cedar: CedarData::new(n),
        templates: CedarTemplates::new(n),
        casbin: rt.block_on(casbin(n)),
    };
    // All four agree before anything is timed.
    for (verb, expected) in [("get", true), ("watch", true), ("delete", false)] {
        let attrs = request(n, verb);
        let req = cedar_request(&attrs, n);
        assert_eq!(e.rbac.authorize(&attrs).is_allowed(), expected, "kubeward {verb}");
        assert_eq!(e.cedar.allowed(&req), expected, "cedar {verb}");
        assert_eq!(e.templates.allowed(&req), expected, "cedar templates {verb}");
        assert_eq!(casbin_allowed(&e.casbin, &attrs), expected, "casbin {verb}");
    }
    e
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} us", ns as f64 / 1e3)
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

fn summary(e: &Engines) {
    for (what, verb) in [("allow", "get"), ("deny", "delete")] {
        let attrs = request(e.n, verb);
        let req = cedar_request(&attrs, e.n);
        let k = median_per_call(|| {
            black_box(e.rbac.authorize(black_box(&attrs)));
        });
        let c = median_per_call(|| {
            black_box(e.cedar.allowed(black_box(&req)));
        });
        let t = median_per_call(|| {
            black_box(e.templates.allowed(black_box(&req)));
        });
        let b = median_per_call(|| {
            black_box(casbin_allowed(&e.casbin, black_box(&attrs)));
        });
        let ratio = |d: Duration| d.as_secs_f64() / k.as_secs_f64().max(1e-12);
        println!(
            "N={}: kubeward {what} {}, cedar {} ({:.0}x), cedar-templates {} ({:.0}x), casbin {} ({:.0}x)",
            e.n,
            fmt(k),
            fmt(c),
            ratio(c),
            fmt(t),
            ratio(t),
            fmt(b),
            ratio(b)
        );
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let all: Vec<Engines> = SIZES.iter().map(|&n| engines(&rt, n)).collect();
    for e in &all {
        summary(e);
    }
    if std::env::var_os("PEERS_SUMMARY_ONLY").is_some() {
        return;
    }
    let mut group = c.benchmark_group("peers");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(10);
    for e in &all {
        for (what, verb) in [("allow", "get"), ("deny", "delete")] {
            let attrs = request(e.n, verb);
            let req = cedar_request(&attrs, e.n);
            group.bench_with_input(BenchmarkId::new(format!("kubeward/{what}"), e.n), &attrs, |b, a| {
                b.iter(|| e.rbac.authorize(black_box(a)))
            });
            group.bench_with_input(BenchmarkId::new(format!("cedar/{what}"), e.n), &req, |b, r| {
                b.iter(|| e.cedar.allowed(black_box(r)))
            });
            group.bench_with_input(BenchmarkId::new(format!("cedar-templates/{what}"), e.n), &req, |b, r| {
                b.iter(|| e.templates.allowed(black_box(r)))
            });
            group.bench_with_input(BenchmarkId::new(format!("casbin/{what}"), e.n), &attrs, |b, a| {
                b.iter(|| casbin_allowed(&e.casbin, black_box(a)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

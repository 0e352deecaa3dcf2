//! Quick decision timing without criterion: `cargo run --release --example decide -- [N] [iters] [which]`.
//! `which` is one of allow, deny, allow-bool, deny-bool (all by default). Run under
//! `perf stat -e instructions:u` for a figure that a busy machine does not blur.

use std::hint::black_box;
use std::time::Instant;

use apimachinery::{Attributes, UserInfo};
use authz::aggregation::aggregated;
use authz::{bootstrap, Authorizer, RbacAuthorizer};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let iters: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let which = args.get(3).cloned().unwrap_or_default();
    let mut objs = aggregated(&bootstrap::cluster_roles());
    objs.extend(bootstrap::cluster_role_bindings());
    objs.push(json!({"kind": "ClusterRole", "metadata": {"name": "reader"},
        "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}]}));
    for i in 0..n {
        objs.push(json!({"kind": "RoleBinding", "metadata": {"name": format!("b-{i}"), "namespace": format!("ns-{i}")},
            "roleRef": {"kind": "ClusterRole", "name": "reader"},
            "subjects": [{"kind": "User", "name": format!("user-{i}")}]}));
    }
    let authz = match RbacAuthorizer::from_objects(&objs) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("policy does not load: {e}");
            std::process::exit(1);
        }
    };
    let request = |verb: &str| Attributes {
        user: UserInfo::new(format!("user-{}", n / 2), vec!["system:authenticated".into()]),
        verb: verb.into(),
        resource_request: true,
        resource: "pods".into(),
        namespace: format!("ns-{}", n / 2),
        name: "web-0".into(),
        ..Default::default()
    };
    let (allow, deny) = (request("get"), request("delete"));
    for (name, attrs, with_reason) in [
        ("allow", &allow, true),
        ("deny", &deny, true),
        ("allow-bool", &allow, false),
        ("deny-bool", &deny, false),
    ] {
        if !which.is_empty() && which != name {
            continue;
        }
        let start = Instant::now();
        for _ in 0..iters {
            if with_reason {
                black_box(authz.authorize(black_box(attrs)));
            } else {
                black_box(authz.is_allowed(black_box(attrs)));
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / iters as f64;
        println!("{name}: {ns:.1} ns/decision (N = {n})");
    }
}

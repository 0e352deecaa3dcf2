//! Server-side apply with field ownership against a strategic merge patch of the same
//! change, on a Deployment (two containers with ports, env and resources; managed by
//! `kubectl` through apply and by `kube-controller-manager` through `/status`).
//!
//! The change: replicas 3 -> 4 and the first container's image. Compared:
//! `apply` (FieldManager::apply of the whole configuration: merge, ownership, conflicts,
//! pruning, managedFields written back), `smp` (the strategic merge patch of the two
//! fields, what kubeward ran for an apply before field ownership) and `update` (the
//! managed fields an update of the same change records, kube's path for PUT and patches).
//! The `parts` group times the walks an apply is made of, to see where the time goes.

use std::hint::black_box;

use apimachinery::patch::{apply_patch, builtin_patch_meta, PatchType};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fieldmanager::FieldManager;
use serde_json::{json, Value};

const NOW: &str = "2024-01-01T00:00:00Z";

fn config(replicas: u32, image: &str) -> Value {
    let container = |name: &str, image: &str, port: u32| {
        json!({
            "name": name, "image": image,
            "ports": [{"containerPort": port, "name": "http"}, {"containerPort": port + 1, "protocol": "UDP"}],
            "env": [{"name": "MODE", "value": "fast"}, {"name": "LEVEL", "value": "3"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
            "args": ["--verbose", "--port", port.to_string()],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]
        })
    };
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"},
                     "annotations": {"team": "core"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {
                    "containers": [container("nginx", image, 80), container("log", "busybox:1.36", 9000)],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]
                }
            }
        }
    })
}

fn live() -> Value {
    let fm = FieldManager::for_kind("apps", "v1", "Deployment", "").with_reset_fields(&[&["status"]]);
    let mut obj = fm.apply(None, &config(3, "nginx:1.25"), "kubectl", false, NOW).expect("apply");
    obj["metadata"]["uid"] = json!("0d2f");
    obj["metadata"]["resourceVersion"] = json!("42");
    let status = FieldManager::for_kind("apps", "v1", "Deployment", "status").with_reset_fields(&[&["spec"]]);
    let mut with_status = obj.clone();
    with_status["status"] = json!({"replicas": 3, "readyReplicas": 3, "observedGeneration": 1,
        "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]});
    status.update(Some(&obj), &mut with_status, "kube-controller-manager", NOW);
    with_status
}

fn bench(c: &mut Criterion) {
    let live = live();
    let applied = config(4, "nginx:1.26");
    let fm = FieldManager::for_kind("apps", "v1", "Deployment", "").with_reset_fields(&[&["status"]]);
    let patch = serde_json::to_vec(&json!({"spec": {"replicas": 4, "template": {"spec": {
        "containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}))
    .expect("patch");
    let meta = builtin_patch_meta("apps", "Deployment");
    let mut updated = apply_patch(PatchType::StrategicMerge, &live, &patch, meta).expect("smp");

    let mut g = c.benchmark_group("deployment-change");
    // The server decodes the stored object for each request: the apply owns its copy (the
    // patch clones inside), so the clone is set up outside the measurement.
    g.bench_function("apply", |b| {
        b.iter_batched(
            || live.clone(),
            |l| fm.apply(Some(l), black_box(&applied), "kubectl", false, NOW).expect("apply"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("smp", |b| {
        b.iter(|| {
            apply_patch(PatchType::StrategicMerge, black_box(&live), black_box(&patch), meta).expect("smp")
        })
    });
    g.bench_function("update", |b| {
        b.iter(|| {
            let mut new = updated.clone();
            fm.update(Some(black_box(&live)), &mut new, "kubectl-edit", NOW);
            new
        })
    });
    g.finish();
    // Sanity: the apply reaches what the patch does.
    let out = fm.apply(Some(live.clone()), &applied, "kubectl", false, NOW).expect("apply");
    assert_eq!(out["spec"]["replicas"], updated["spec"]["replicas"]);
    updated["metadata"]["managedFields"] = Value::Null;
}

criterion_group!(benches, bench);
criterion_main!(benches, parts_group);

fn parts(c: &mut Criterion) {
    use fieldmanager::schema::builtin::Builtin;
    use fieldmanager::typed::{compare::compare, merge::merge, to_set::to_field_set, validate::validate};
    let live = live();
    let applied = config(4, "nginx:1.26");
    let s = Builtin;
    let root = Builtin::root("apps", "v1", "Deployment").expect("Deployment");
    let mut g = c.benchmark_group("parts");
    g.bench_function("to_set_live", |b| b.iter(|| to_field_set(&s, root, black_box(&live))));
    g.bench_function("compare", |b| b.iter(|| compare(&s, root, black_box(&live), black_box(&applied))));
    g.bench_function("merge", |b| b.iter(|| merge(&s, root, black_box(&live), black_box(&applied))));
    g.bench_function("validate", |b| b.iter(|| validate(&s, root, black_box(&applied))));
    g.bench_function("clone", |b| b.iter(|| black_box(&live).clone()));
    let mf = live["metadata"]["managedFields"].as_array().expect("managedFields").clone();
    g.bench_function("decode", |b| b.iter(|| fieldmanager::managed::Managed::decode(black_box(&mf))));
    let m = fieldmanager::managed::Managed::decode(&mf).expect("decode");
    g.bench_function("encode", |b| b.iter(|| black_box(&m).encode()));
    g.finish();
}
criterion_group!(parts_group, parts);

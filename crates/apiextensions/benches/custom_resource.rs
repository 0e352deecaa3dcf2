//! The steps a custom-resource write takes in this crate, on the CRD `bench/run`'s custom
//! section creates (`crates/bench/data/widget-crd.json`: 23 fields, 3 CEL rules) and one of
//! its Widgets: pruning and defaulting, validation on create and on update, and validation
//! of the same schema without its rules (what the rules cost).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use apiextensions::Structural;
use criterion::{BatchSize, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Duration;

const CRD: &str = include_str!("../../bench/data/widget-crd.json");

fn widget() -> Value {
    json!({
        "apiVersion": "bench.kubeward.io/v1", "kind": "Widget",
        "metadata": {
            "name": "w-1", "namespace": "bench-custom", "labels": {"app": "kubeward-bench"},
            "uid": "0b5e7e5c-6a4e-4f7e-9a43-0f8a3d9d1c11", "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "image": "registry.example/team/widget:1.4.2",
            "owner": "team-a",
            "description": "a widget created by kubeward-bench",
            "mode": "Passive",
            "replicas": 3, "minReplicas": 1, "maxReplicas": 5,
            "ratio": 0.25,
            "tags": ["alpha", "beta", "gamma"],
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090, "protocol": "TCP"}],
            "resources": {"cpu": "250m", "memory": "512Mi"},
            "schedule": {"start": "2026-01-01T00:00:00Z"},
            "env": {"LOG_LEVEL": "info", "REGION": "eu-west-1"},
        },
    })
}

fn without_rules(mut crd: Value) -> Value {
    let spec = crd.pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec").unwrap();
    spec.as_object_mut().unwrap().remove("x-kubernetes-validations");
    crd
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let crd: Value = serde_json::from_str(CRD).unwrap();
    let st = Structural::from_crd(&crd, "v1").unwrap();
    let plain = Structural::from_crd(&without_rules(crd.clone()), "v1").unwrap();
    let raw = widget();
    let mut obj = raw.clone();
    assert!(st.prune(&mut obj).is_empty());
    st.default(&mut obj);
    assert_eq!(obj["spec"]["schedule"]["windowMinutes"], 60);
    assert!(st.validate(&obj, None).is_empty());
    let mut updated = obj.clone();
    updated["spec"]["replicas"] = json!(4);
    assert!(st.validate(&updated, Some(&obj)).is_empty());
    let mut broken = obj.clone();
    broken["spec"]["minReplicas"] = json!(6);
    assert!(!st.validate(&broken, None).is_empty(), "the rules run");

    let mut g = c.benchmark_group("custom_resource");
    g.bench_function("prune_and_default", |b| {
        b.iter_batched(
            || raw.clone(),
            |mut o| {
                st.prune(&mut o);
                st.default(&mut o);
                o
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("validate_create", |b| b.iter(|| st.validate(black_box(&obj), None)));
    g.bench_function("validate_update", |b| b.iter(|| st.validate(black_box(&updated), Some(&obj))));
    g.bench_function("validate_create_without_rules", |b| b.iter(|| plain.validate(black_box(&obj), None)));
    g.finish();
}

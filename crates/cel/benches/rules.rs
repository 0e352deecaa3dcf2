//! A CRD node with three rules on a ~20-field object: compiled once, evaluated per
//! object. `rules/3-rules` binds the variables once per object for the three rules
//! (`RuleVars`, as the validator does per schema node); `rules/3-rules-separately`
//! converts the object for each rule; `program/one-rule` is a single rule with the
//! variables already bound (the interpreter alone).

use criterion::{criterion_group, criterion_main, Criterion};
use kcel::limits::{PER_CALL_LIMIT, RUNTIME_CEL_COST_BUDGET};
use kcel::{Activation, CompiledRule, Program, RuleOptions, RuleOutcome, RuleVars, Shape};
use serde_json::{json, Value};
use std::hint::black_box;

fn schema() -> Value {
    let mut props = serde_json::Map::new();
    for i in 0..14 {
        props.insert(format!("field{i}"), json!({"type": "string", "maxLength": 64}));
    }
    props.insert("minReplicas".into(), json!({"type": "integer"}));
    props.insert("replicas".into(), json!({"type": "integer"}));
    props.insert("maxReplicas".into(), json!({"type": "integer"}));
    props.insert("name".into(), json!({"type": "string", "maxLength": 63}));
    props.insert("image".into(), json!({"type": "string", "maxLength": 256}));
    props.insert(
        "tags".into(),
        json!({"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 32}}),
    );
    json!({"type": "object", "properties": props})
}

fn object() -> Value {
    let mut o = serde_json::Map::new();
    for i in 0..14 {
        o.insert(format!("field{i}"), json!(format!("value-{i}")));
    }
    o.insert("minReplicas".into(), json!(1));
    o.insert("replicas".into(), json!(3));
    o.insert("maxReplicas".into(), json!(10));
    o.insert("name".into(), json!("web-frontend"));
    o.insert("image".into(), json!("registry.example.com/web:1.2.3"));
    o.insert("tags".into(), json!(["prod", "eu-west", "team-a", "tier-1"]));
    Value::Object(o)
}

const RULES: [&str; 3] = [
    "self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas",
    "self.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
    "self.tags.all(t, t.size() <= 32 && !t.startsWith('kubernetes.io/'))",
];

fn bench(c: &mut Criterion) {
    let options = RuleOptions::new(Shape::from_openapi_schema(&schema()));
    let rules: Vec<CompiledRule> = RULES
        .iter()
        .map(|r| CompiledRule::compile(r, None, None, &options).expect("rule compiles"))
        .collect();
    let obj = object();

    c.bench_function("rules/3-rules", |b| {
        b.iter(|| {
            let vars = RuleVars::new(black_box(&obj), None, &options.shape, false).expect("binds");
            let mut budget = RUNTIME_CEL_COST_BUDGET;
            for r in &rules {
                let outcome = r.evaluate_in(&vars, &mut budget).expect("evaluates");
                assert_eq!(outcome, RuleOutcome::Pass);
            }
        })
    });
    c.bench_function("rules/3-rules-separately", |b| {
        b.iter(|| {
            let mut budget = RUNTIME_CEL_COST_BUDGET;
            for r in &rules {
                let outcome = r.evaluate_with_budget(black_box(&obj), None, &mut budget).expect("evaluates");
                assert_eq!(outcome, RuleOutcome::Pass);
            }
        })
    });
    let program = Program::compile(RULES[0], &[("self", &options.shape)]).expect("compiles");
    let mut vars = Activation::new();
    vars.bind("self", &obj, &options.shape).expect("binds");
    c.bench_function("program/one-rule", |b| {
        b.iter(|| program.evaluate(black_box(&vars), PER_CALL_LIMIT).expect("evaluates").as_bool())
    });
    c.bench_function("compile/3-rules", |b| {
        b.iter(|| {
            for r in RULES {
                black_box(CompiledRule::compile(r, None, None, &options).expect("compiles"));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

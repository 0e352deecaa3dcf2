//! Cost: the runtime meter stops runaway expressions with kube's message, the static
//! estimate follows the schema's bounds, and deep expressions neither crash the
//! compiler nor the evaluation.
#![allow(clippy::unwrap_used)] // test helpers: a failure is a failed test

use kcel::limits::{PER_CALL_LIMIT, STATIC_ESTIMATED_COST_LIMIT};

/// A tenth of kube's limit, for the tests where its value does not matter (unoptimized
/// builds interpret slowly).
const LIMIT: u64 = PER_CALL_LIMIT / 10;
use kcel::{Activation, EvalError, Program, Shape};
use serde_json::{json, Value};

fn run(src: &str, v: Value, limit: u64) -> Result<(Value, u64), EvalError> {
    let p = Program::compile(src, &[("self", &Shape::Any)]).unwrap();
    let mut vars = Activation::new();
    vars.bind("self", &v, &Shape::Any).unwrap();
    let out = p.evaluate(&vars, limit)?;
    Ok((out.to_json()?, out.cost))
}

fn numbers(n: i64) -> Value {
    json!((0..n).collect::<Vec<_>>())
}

#[test]
fn nested_loops_are_cancelled() {
    let e = run("self.all(x, self.all(y, x != y || x == y))", numbers(3000), PER_CALL_LIMIT).unwrap_err();
    assert_eq!(e, EvalError::CostLimitExceeded);
    assert_eq!(e.to_string(), "operation cancelled: actual cost limit exceeded");
    // Same expression, small input: fine, and the cost grows with the input.
    let (v, small) = run("self.all(x, self.all(y, x != y || x == y))", numbers(10), PER_CALL_LIMIT).unwrap();
    assert_eq!(v, json!(true));
    let (_, larger) = run("self.all(x, self.all(y, x != y || x == y))", numbers(40), PER_CALL_LIMIT).unwrap();
    assert!(small > 100 && larger > 10 * small, "{small} {larger}");
}

#[test]
fn allocation_blowup_is_cancelled() {
    // Each replace multiplies the length; a handful of them would need terabytes.
    let src = "self.replace('', self).replace('', self).replace('', self).replace('', self).size()";
    let e = run(src, json!("x".repeat(200)), LIMIT).unwrap_err();
    assert_eq!(e, EvalError::CostLimitExceeded);
    // Building lists of lists in a comprehension.
    let src = "self.map(a, self.map(b, self.map(c, [a, b, c])))";
    assert_eq!(run(src, numbers(500), LIMIT).unwrap_err(), EvalError::CostLimitExceeded);
    // String concatenation in a loop over a long string.
    let src = "self.l.all(x, (self.s + self.s + self.s).size() > 0)";
    let v = json!({"l": numbers(2000), "s": "y".repeat(100_000)});
    assert_eq!(run(src, v, LIMIT).unwrap_err(), EvalError::CostLimitExceeded);
}

#[test]
fn error_absorption_does_not_hide_the_limit() {
    let e = run("self.all(x, self.all(y, x != y || x == y)) || true", numbers(3000), LIMIT).unwrap_err();
    assert_eq!(e, EvalError::CostLimitExceeded);
}

#[test]
fn scanning_large_values_is_charged() {
    // `contains` on a large string, repeated: cheap result, expensive reads.
    let v = json!({"l": numbers(1000), "s": "z".repeat(50_000)});
    let e = run("self.l.all(x, !self.s.contains('q'))", v, LIMIT).unwrap_err();
    assert_eq!(e, EvalError::CostLimitExceeded);
    // Indexing and size do not read the whole value.
    let v = json!({"l": numbers(1000), "s": "z".repeat(50_000)});
    let (_, cost) = run("self.l.all(x, self.s.size() > 0 && self.l[0] == 0)", v, PER_CALL_LIMIT).unwrap();
    assert!(cost < 10_000, "{cost}");
}

#[test]
fn a_smaller_limit_cancels_earlier() {
    let (_, cost) = run("self.map(x, x + 1)", numbers(100), PER_CALL_LIMIT).unwrap();
    assert!(run("self.map(x, x + 1)", numbers(100), cost).is_ok());
    assert_eq!(run("self.map(x, x + 1)", numbers(100), cost - 1).unwrap_err(), EvalError::CostLimitExceeded);
}

#[test]
fn static_estimate_follows_schema_bounds() {
    let estimate = |schema: Value, src: &str| {
        let shape = Shape::from_openapi_schema(&schema);
        Program::compile(src, &[("self", &shape)]).unwrap().estimated_cost()
    };
    let bounded = json!({"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 20}});
    let unbounded = json!({"type": "array", "items": {"type": "string"}});
    let rule = "self.all(x, self.exists(y, x.startsWith(y)))";
    let small = estimate(bounded, rule);
    assert!(small < 2_000, "{small}");
    let large = estimate(unbounded, rule);
    assert!(large > STATIC_ESTIMATED_COST_LIMIT, "{large}");
    // The estimate is an upper bound of what an evaluation is charged.
    let schema = json!({"type": "array", "maxItems": 50, "items": {"type": "integer"}});
    let shape = Shape::from_openapi_schema(&schema);
    for src in [
        "self.all(x, self.exists(y, x == y))",
        "self.map(x, x * 2).filter(y, y > 3).size() > 1",
        "self.exists_one(x, x == 3)",
        "[1, 2, 3].all(i, i in self)",
    ] {
        let p = Program::compile(src, &[("self", &shape)]).unwrap();
        let value = numbers(50);
        let mut vars = Activation::new();
        vars.bind("self", &value, &shape).unwrap();
        let cost = p.evaluate(&vars, PER_CALL_LIMIT).unwrap().cost;
        assert!(cost <= p.estimated_cost(), "{src}: ran {cost}, estimated {}", p.estimated_cost());
    }
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 40},
        "tags": {"type": "array", "maxItems": 8, "items": {"type": "string", "maxLength": 20}},
        "labels": {"type": "object", "maxProperties": 8, "additionalProperties": {"type": "string", "maxLength": 30}}}});
    let shape = Shape::from_openapi_schema(&schema);
    let value = json!({"name": "n".repeat(40), "tags": vec!["t".repeat(20); 8],
                       "labels": (0..8).map(|i| (format!("k{i}"), json!("v".repeat(30)))).collect::<serde_json::Map<_, _>>()});
    for src in [
        "self.?name.orValue('x').size() > 0",
        "self.tags[0].startsWith('a')",
        "self.tags.map(t, t + self.name).size() > 0",
        "self.labels.all(k, self.labels[k].contains(k))",
        "self.tags.join(',').split(',').size() == 8",
        "self.name.replace('n', 'mm').size() > 0",
    ] {
        let p = Program::compile(src, &[("self", &shape)]).unwrap();
        let mut vars = Activation::new();
        vars.bind("self", &value, &shape).unwrap();
        let cost = p.evaluate(&vars, PER_CALL_LIMIT).unwrap().cost;
        assert!(cost <= p.estimated_cost(), "{src}: ran {cost}, estimated {}", p.estimated_cost());
    }
}

#[test]
fn deep_expressions_are_refused_or_evaluated_without_crashing() {
    // Nesting beyond the parser's limit: an error, not a stack overflow.
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let e = Program::compile(&deep, &[]).unwrap_err().to_string();
    assert!(e.contains("max recursion depth exceeded"), "{e}");
    let chain = format!("self{}", ".a".repeat(1000));
    let e = Program::compile(&chain, &[("self", &Shape::Any)]).unwrap_err().to_string();
    assert!(e.contains("expression nesting exceeds limit"), "{e}");
    // Near the limit, evaluation runs even from a thread with a small stack.
    let sum = format!("0{}", " + self".repeat(240));
    let p = Program::compile(&sum, &[("self", &Shape::Int)]).unwrap();
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let one = json!(1);
            let mut vars = Activation::new();
            vars.bind("self", &one, &Shape::Int).unwrap();
            p.evaluate(&vars, PER_CALL_LIMIT).unwrap().to_json().unwrap()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), json!(240));
}

/// A comparison reads no further than its shorter operand (cel-go's price): comparing a
/// long string with a short literal costs little, two long strings cost their length.
#[test]
fn comparisons_cost_their_shorter_operand() {
    let long = "z".repeat(100_000);
    let (v, cost) = run("self.s != 'foo'", json!({"s": long}), PER_CALL_LIMIT).unwrap();
    assert_eq!(v, json!(true));
    assert!(cost <= 2, "{cost}");
    let (v, cost) = run("self.s == self.t", json!({"s": long, "t": long}), PER_CALL_LIMIT).unwrap();
    assert_eq!(v, json!(true));
    assert!(cost >= 10_000, "{cost}");
    // A comparison inside the right operand whose own right operand fails (the failure
    // absorbed by `||`) leaves the outer one charged by its own operands.
    let src = "self.s == ((self.s == self.missing) || true ? self.t : '')";
    let (v, cost) = run(src, json!({"s": long, "t": long}), PER_CALL_LIMIT).unwrap();
    assert_eq!(v, json!(true));
    assert!(cost >= 10_000, "{cost}");
}

/// What kube accepts in a CRD: `self != "foo"` on every item of an unbounded list of
/// unbounded strings (Kubernetes' e2e CRDValidationRatcheting tests) is cheap per item.
#[test]
fn comparing_with_a_literal_is_estimated_by_the_literal() {
    let unbounded = Shape::from_openapi_schema(&json!({"type": "string"}));
    let p = Program::compile("self != 'foo'", &[("self", &unbounded)]).unwrap();
    assert!(p.estimated_cost() <= 2, "{}", p.estimated_cost());
    // Kube's cardinality of an unbounded list's string items (3 MiB / 3 bytes each).
    assert!(p.estimated_cost().saturating_mul(1_048_576) <= STATIC_ESTIMATED_COST_LIMIT * 100);
    let p = Program::compile("self == self", &[("self", &unbounded)]).unwrap();
    assert!(p.estimated_cost() > 100_000, "{}", p.estimated_cost());
}

/// Exact costs of comparisons, failing ones and ones inside loops and absorbed errors
/// included: the charges of a comparison with a small literal or a scalar (one unit)
/// are the same whichever way the compiler places them.
#[test]
fn comparison_costs_are_exact() {
    let v = json!({"s": "x".repeat(95), "t": "y".repeat(42), "n": 3, "l": [1, 2, 3], "m": {"a": "bbbbbbbbbbbbbbbbbbbbbb"}});
    let cases = [
        "self.s == 'abc'",
        "'abc' != self.s",
        "self.s.size() <= 63",
        "63 >= self.s.size()",
        "self.n < 10",
        "self.s == 'aaaaaaaaaaaaaaaaaaaaaaaaa'",
        "self.s == self.t",
        "self.l.all(x, x < 5)",
        "self.l.exists(x, x == 'a' || x > 2)",
        "self.m.all(k, self.m[k] != 'zz')",
        "self.missing == 1 || true",
        "(self.s < 1) || true",
        "self.s.size() == self.t.size()",
        "self.l == [1, 2, 3]",
        "self.m == {'a': 'b'}",
        "self.n == null",
        "self.s > 'abc' && self.t < 'zzz' && self.n != 4",
    ];
    let got: Vec<(String, Result<u64, String>)> = cases
        .iter()
        .map(|src| {
            (src.to_string(), run(src, v.clone(), PER_CALL_LIMIT).map(|(_, c)| c).map_err(|e| e.to_string()))
        })
        .collect();
    let want: Vec<(String, Result<u64, String>)> = WANT_COMPARISON_COSTS
        .iter()
        .zip(cases)
        .map(|(c, src)| (src.to_string(), c.map_err(str::to_string)))
        .collect();
    assert_eq!(got, want);
}

/// Measured with the two-sided charges of every comparison.
const WANT_COMPARISON_COSTS: [Result<u64, &str>; 17] = [
    Ok(1),
    Ok(1),
    Ok(1),
    Ok(1),
    Ok(1),
    Ok(3),
    Ok(5),
    Ok(6),
    Ok(9),
    Ok(7),
    Ok(0),
    Ok(1),
    Ok(1),
    Ok(3),
    Ok(3),
    Ok(1),
    Ok(3),
];

//! CRD validation rules: verdicts, messages, transition rules, budgets and kube's texts.
#![allow(clippy::unwrap_used)] // test helpers: a failure is a failed test

use kcel::limits::RUNTIME_CEL_COST_BUDGET;
use kcel::rule::cost_exceeds_budget_message;
use kcel::{CompiledRule, RuleField, RuleOptions, RuleOutcome, Shape};
use serde_json::{json, Value};

fn options(schema: Value) -> RuleOptions {
    RuleOptions::new(Shape::from_openapi_schema(&schema))
}

fn spec() -> RuleOptions {
    options(json!({"type": "object", "properties": {
        "minReplicas": {"type": "integer"}, "replicas": {"type": "integer"},
        "name": {"type": "string", "maxLength": 20},
        "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}},
        "port": {"x-kubernetes-int-or-string": true}}}))
}

fn fail(message: &str) -> RuleOutcome {
    RuleOutcome::Fail { message: message.into() }
}

#[test]
fn verdicts_and_messages() {
    let o = spec();
    let rule = CompiledRule::compile("self.minReplicas <= self.replicas", None, None, &o).unwrap();
    assert!(!rule.is_transition_rule());
    assert_eq!(rule.evaluate(&json!({"minReplicas": 1, "replicas": 2}), None), Ok(RuleOutcome::Pass));
    assert_eq!(
        rule.evaluate(&json!({"minReplicas": 3, "replicas": 2}), None),
        Ok(fail("failed rule: self.minReplicas <= self.replicas"))
    );
    let rule = CompiledRule::compile("self.replicas > 0", Some("  must be positive "), None, &o).unwrap();
    assert_eq!(rule.evaluate(&json!({"replicas": 0}), None), Ok(fail("must be positive")));
    let rule = CompiledRule::compile(
        "self.replicas > 0",
        Some("must be positive"),
        Some("'replicas is ' + string(self.replicas) + ', must be positive'"),
        &o,
    )
    .unwrap();
    assert_eq!(rule.evaluate(&json!({"replicas": -2}), None), Ok(fail("replicas is -2, must be positive")));
    // A message expression that fails, or gives nothing usable, falls back to the message.
    for m in ["string(self.replicas / 0)", "''", "'two\\nlines'"] {
        let rule = CompiledRule::compile("self.replicas > 0", Some("must be positive"), Some(m), &o).unwrap();
        assert_eq!(rule.evaluate(&json!({"replicas": 0}), None), Ok(fail("must be positive")), "{m}");
    }
}

#[test]
fn transition_rules() {
    let o = spec();
    let rule =
        CompiledRule::compile("self.name == oldSelf.name", Some("name is immutable"), None, &o).unwrap();
    assert!(rule.is_transition_rule());
    assert_eq!(rule.evaluate(&json!({"name": "a"}), None), Ok(RuleOutcome::Skipped));
    assert_eq!(rule.evaluate(&json!({"name": "a"}), Some(&json!({"name": "a"}))), Ok(RuleOutcome::Pass));
    assert_eq!(
        rule.evaluate(&json!({"name": "b"}), Some(&json!({"name": "a"}))),
        Ok(fail("name is immutable"))
    );

    // optionalOldSelf: evaluated on create too, oldSelf an optional.
    let o = RuleOptions { optional_old_self: true, ..spec() };
    let rule = CompiledRule::compile(
        "!oldSelf.hasValue() || self.replicas >= oldSelf.value().replicas",
        Some("replicas may not decrease"),
        None,
        &o,
    )
    .unwrap();
    assert_eq!(rule.evaluate(&json!({"replicas": 1}), None), Ok(RuleOutcome::Pass));
    assert_eq!(
        rule.evaluate(&json!({"replicas": 1}), Some(&json!({"replicas": 2}))),
        Ok(fail("replicas may not decrease"))
    );
    let e = CompiledRule::compile("self.replicas > 0", None, None, &o).unwrap_err();
    assert_eq!(
        (e.field, e.message.as_str()),
        (RuleField::OptionalOldSelf, "may not be set if oldSelf is not used in rule")
    );
}

#[test]
fn compile_errors() {
    let o = spec();
    let e = CompiledRule::compile("self.replicas >", None, None, &o).unwrap_err();
    assert_eq!(e.field, RuleField::Rule);
    assert!(e.message.starts_with("compilation failed: ERROR: <input>:1:16: Syntax error:"), "{}", e.message);
    let e = CompiledRule::compile("self.name + 'x'", None, None, &o).unwrap_err();
    assert_eq!(e.message, "cel expression must evaluate to a bool");
    let e = CompiledRule::compile("self.replicas > 0", None, Some("self.replicas >"), &o).unwrap_err();
    assert_eq!(e.field, RuleField::MessageExpression);
    assert!(
        e.message.starts_with("messageExpression compilation failed: ERROR: <input>:1:16:"),
        "{}",
        e.message
    );
    let e = CompiledRule::compile("self.replicas > 0", None, Some("self.replicas > 1"), &o).unwrap_err();
    assert_eq!(e.message, "messageExpression must evaluate to a string");
    // A field the schema does not declare.
    let e = CompiledRule::compile("self.nope > 0", None, None, &o).unwrap_err();
    assert_eq!(
        e.message,
        "compilation failed: ERROR: <input>:1:5: undefined field 'nope'\n | self.nope > 0\n | ....^"
    );
}

#[test]
fn estimated_cost_limits() {
    let unbounded = options(json!({"type": "array", "items": {"type": "string"}}));
    let e = CompiledRule::compile("self.all(x, self.all(y, x.startsWith(y)))", None, None, &unbounded)
        .unwrap_err();
    assert_eq!(e.field, RuleField::Rule);
    assert!(e.forbidden);
    assert_eq!(
        e.message,
        "estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding \
         maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    // Bounded by the schema it compiles; the cardinality (lists above the node) counts.
    let bounded =
        options(json!({"type": "array", "maxItems": 100, "items": {"type": "string", "maxLength": 50}}));
    let rule =
        CompiledRule::compile("self.all(x, self.all(y, x.startsWith(y)))", None, None, &bounded).unwrap();
    let per_object = rule.estimated_cost();
    assert!(per_object > 0 && per_object < 1_000_000, "{per_object}");
    let many = RuleOptions { cardinality: 1_000, ..bounded };
    assert!(CompiledRule::compile("self.all(x, self.all(y, x.startsWith(y)))", None, None, &many).is_err());
    assert_eq!(
        cost_exceeds_budget_message("estimated rule cost", 12_000_000, 10_000_000),
        "estimated rule cost exceeds budget by factor of 1.200000x (try simplifying the rule, or adding maxItems, \
         maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    assert!(cost_exceeds_budget_message("x", 25_000_000, 10_000_000).contains("factor of 2.5x"));
}

#[test]
fn runtime_errors_and_budgets() {
    let o = spec();
    let any = RuleOptions::new(Shape::Any);
    let rule = CompiledRule::compile("self.nope > 0", None, None, &any).unwrap();
    assert_eq!(
        rule.evaluate(&json!({}), None),
        Err("no such key: nope evaluating rule: self.nope > 0".into())
    );
    let rule = CompiledRule::compile("self.port > 0", Some("port must be positive"), None, &o).unwrap();
    let e = rule.evaluate(&json!({"port": "http"}), None).unwrap_err();
    assert!(
        e.starts_with("'no such overload")
            && e.ends_with("': call arguments did not match a supported operator, function or macro signature for rule: port must be positive"),
        "{e}"
    );
    assert_eq!(rule.evaluate(&json!({"port": 8080}), None), Ok(RuleOutcome::Pass));

    // A rule over the per-call limit stops validation.
    let any = RuleOptions::new(Shape::Any);
    let runaway = CompiledRule::compile("self.all(x, self.all(y, x != y || x == y))", None, None, &any);
    // Unbounded: refused at compile time already; with a small claimed bound it compiles
    // and the runtime limit catches the lie.
    assert!(runaway.is_err());
    let lying = options(json!({"type": "array", "maxItems": 5, "items": {"type": "integer"}}));
    let rule =
        CompiledRule::compile("self.all(x, self.all(y, x != y || x == y))", None, None, &lying).unwrap();
    let big = json!((0..3000).collect::<Vec<_>>());
    let mut budget = RUNTIME_CEL_COST_BUDGET;
    let e = rule.evaluate_with_budget(&big, None, &mut budget).unwrap_err();
    assert!(e.stop);
    assert_eq!(
        e.message,
        "'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.all(x, self.all(y, x != y || x == y))"
    );
    // The object's budget is shared: once spent, the next rule is not run.
    let small = json!((0..100).collect::<Vec<_>>());
    let mut budget = RUNTIME_CEL_COST_BUDGET;
    assert_eq!(
        rule.evaluate_with_budget(&small, None, &mut budget).map_err(|e| e.message),
        Ok(RuleOutcome::Pass)
    );
    let cost = RUNTIME_CEL_COST_BUDGET - budget;
    assert!(cost >= 100 * 100, "one run charges at least the inner ranges: {cost}");
    // Room for one run and a half: the second stops.
    let mut budget = cost + cost / 2;
    assert_eq!(
        rule.evaluate_with_budget(&small, None, &mut budget).map_err(|e| e.message),
        Ok(RuleOutcome::Pass)
    );
    assert_eq!(budget, cost / 2);
    let e = rule.evaluate_with_budget(&small, None, &mut budget).unwrap_err();
    assert!(e.stop);
    assert_eq!(
        e.message,
        "validation failed due to running out of cost budget, no further validation rules will be run"
    );
}

#[test]
fn rules_of_a_node_share_their_variables() {
    let o = spec();
    let rules: Vec<CompiledRule> =
        ["self.replicas > 0", "self.name == oldSelf.name", "self.tags.all(t, t.size() < 5)"]
            .iter()
            .map(|r| CompiledRule::compile(r, None, None, &o).unwrap())
            .collect();
    let new = json!({"replicas": 1, "name": "a", "tags": ["toolong"]});
    let old = json!({"name": "b"});
    let vars = kcel::RuleVars::new(&new, Some(&old), &o.shape, false).unwrap();
    let mut budget = RUNTIME_CEL_COST_BUDGET;
    let outcomes: Vec<RuleOutcome> =
        rules.iter().map(|r| r.evaluate_in(&vars, &mut budget).unwrap()).collect();
    assert_eq!(
        outcomes,
        vec![
            RuleOutcome::Pass,
            fail("failed rule: self.name == oldSelf.name"),
            fail("failed rule: self.tags.all(t, t.size() < 5)")
        ]
    );
    let create = kcel::RuleVars::new(&new, None, &o.shape, false).unwrap();
    assert_eq!(rules[1].evaluate_in(&create, &mut budget), Ok(RuleOutcome::Skipped));
}

/// cel-go's overload check where both operand types are certain (a literal, a field of the
/// schema): kube refuses these rules at compile time, and warns about them in a
/// ValidatingAdmissionPolicy's type checking (Kubernetes' e2e "should type check ...").
#[test]
fn operators_without_an_overload_do_not_compile() {
    let o = spec();
    let e = CompiledRule::compile("self.replicas > '1'", None, None, &o).unwrap_err();
    assert_eq!(
        e.message,
        "compilation failed: ERROR: <input>:1:15: found no matching overload for '_>_' applied to '(int, string)'\n \
         | self.replicas > '1'\n | ..............^"
    );
    let e = CompiledRule::compile("self.replicas > 0", None, Some("'got ' + self.replicas"), &o).unwrap_err();
    assert_eq!(e.field, RuleField::MessageExpression);
    assert!(
        e.message.contains("found no matching overload for '_+_' applied to '(string, int)'"),
        "{}",
        e.message
    );
    // Numbers compare across types; strings concatenate; `dyn` and int-or-string pass.
    for ok in [
        "self.replicas > 1.5",
        "self.replicas < 2u",
        "self.name + 'x' != 'ab'",
        "self.tags.all(t, t + '!' != '')",
        "dyn(self.replicas) > '1' || true",
        "self.port == 80 || self.port == 'http'",
    ] {
        assert!(CompiledRule::compile(ok, None, None, &o).is_ok(), "{ok}");
    }
}

/// kube's per-call limit stops `self.largeArray.all(x, self.largeArray.all(y, y == x))` on 725
/// integers (Kubernetes' e2e "MUST fail create of a custom resource that exceeds the runtime
/// cost limit"): each comparison costs at least 1, as in cel-go.
#[test]
fn nested_comparisons_over_725_items_exceed_the_per_call_limit() {
    let o = options(json!({"type": "object", "properties": {
        "largeArray": {"type": "array", "maxItems": 725, "items": {"type": "integer"}}}}));
    let rule =
        CompiledRule::compile("self.largeArray.all(x, self.largeArray.all(y, y == x))", None, None, &o)
            .unwrap();
    let e = rule.evaluate(&json!({"largeArray": vec![20; 725]}), None).unwrap_err();
    assert!(e.contains("call cost exceeds limit"), "{e}");
    assert!(rule.evaluate(&json!({"largeArray": vec![20; 100]}), None).is_ok());
}

/// What a node's rules read of `self`/`oldSelf`: fields when every read is by field, the
/// whole values otherwise (conservatively: a comprehension variable named `self` too).
#[test]
fn the_fields_rules_read() {
    let o = options(json!({"type": "object", "properties": {
        "minReplicas": {"type": "integer"}, "replicas": {"type": "integer"},
        "name": {"type": "string", "maxLength": 20}, "foo-bar": {"type": "string", "maxLength": 20},
        "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}}}}));
    let read = |rule: &str, message_expression: Option<&str>| {
        let compiled = CompiledRule::compile(rule, None, message_expression, &o).unwrap();
        kcel::SelfFields::of([&compiled]).fields().map(|f| f.iter().cloned().collect::<Vec<_>>())
    };
    let some = |f: &[&str]| Some(f.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(read("self.minReplicas <= self.replicas", None), some(&["minReplicas", "replicas"]));
    assert_eq!(read("!has(self.tags) || self.tags.all(t, t.size() < 5)", None), some(&["tags"]));
    assert_eq!(read("self.?name.orValue('') != 'x'", None), some(&["name"]));
    assert_eq!(read("self.name == oldSelf.name", None), some(&["name"]));
    assert_eq!(read("self.foo__dash__bar != 'x'", None), some(&["foo__dash__bar"]));
    assert_eq!(
        read("self.minReplicas > 0", Some("'replicas ' + string(self.replicas)")),
        some(&["minReplicas", "replicas"])
    );
    for whole in [
        "self == oldSelf",
        "size(self) > 1",
        "self['name'] == 'x'",
        "self.all(k, k != 'x')",
        "cel.bind(s, self, s.name == 'a')",
        "'name' in self",
    ] {
        assert_eq!(read(whole, None), None, "{whole}");
    }
    assert_eq!(read("self.minReplicas > 0", Some("string(self)")), None);
}

/// Bound with only the fields its rules read, a node's rules give the same verdicts,
/// messages and costs as with the whole values.
#[test]
fn rules_see_the_same_with_only_the_fields_they_read() {
    let o = options(json!({"type": "object", "properties": {
        "minReplicas": {"type": "integer"}, "replicas": {"type": "integer"},
        "name": {"type": "string", "maxLength": 20}, "foo-bar": {"type": "string", "maxLength": 20},
        "mode": {"type": "string", "maxLength": 10},
        "ports": {"type": "array", "maxItems": 8, "items": {"type": "object", "properties": {
            "port": {"type": "integer"}, "name": {"type": "string", "maxLength": 15}}}},
        "env": {"type": "object", "maxProperties": 8, "additionalProperties": {"type": "string", "maxLength": 20}},
        "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}}}}));
    let rules: Vec<CompiledRule> = [
        ("self.minReplicas <= self.replicas", None),
        ("!has(self.ports) || self.mode == 'Active' || self.ports.all(p, p.port >= 1024)", None),
        ("self.foo__dash__bar.startsWith('f')", Some("'bad foo-bar ' + self.foo__dash__bar")),
        ("self.replicas >= oldSelf.replicas", Some("'was ' + string(oldSelf.replicas)")),
        ("!has(self.env) || self.env.all(k, self.env[k].size() < 5)", None),
    ]
    .iter()
    .map(|(r, m)| CompiledRule::compile(r, None, *m, &o).unwrap())
    .collect();
    let fields = kcel::SelfFields::of(&rules);
    assert_eq!(fields.fields().map(|f| f.len()), Some(6), "{fields:?}");
    let objects = [
        json!({"minReplicas": 1, "replicas": 2, "foo-bar": "fb", "mode": "Passive", "name": "n",
               "ports": [{"port": 8080, "name": "a"}], "tags": ["a", "b"], "env": {"A": "x"}}),
        json!({"minReplicas": 3, "replicas": 2, "foo-bar": "xb", "mode": "Passive",
               "ports": [{"port": 80}], "env": {"A": "toolong"}}),
        json!({"minReplicas": 0, "replicas": 1, "foo-bar": "f", "mode": "Active", "ports": [{"port": 80}]}),
        json!({"replicas": 1}),
    ];
    let old = json!({"replicas": 2, "tags": ["z"]});
    for obj in &objects {
        for old in [None, Some(&old)] {
            let whole = kcel::RuleVars::new(obj, old, &o.shape, false).unwrap();
            let only = kcel::RuleVars::with_fields(obj, old, &o.shape, false, &fields).unwrap();
            let (mut b1, mut b2) = (RUNTIME_CEL_COST_BUDGET, RUNTIME_CEL_COST_BUDGET);
            for r in &rules {
                assert_eq!(
                    r.evaluate_in(&whole, &mut b1),
                    r.evaluate_in(&only, &mut b2),
                    "{} on {obj}",
                    r.rule()
                );
                assert_eq!(b1, b2, "cost of {} on {obj}", r.rule());
            }
        }
    }
    // The failures are really seen through the projection.
    let only = kcel::RuleVars::with_fields(&objects[1], Some(&old), &o.shape, false, &fields).unwrap();
    let mut budget = RUNTIME_CEL_COST_BUDGET;
    let outcomes: Vec<RuleOutcome> =
        rules.iter().map(|r| r.evaluate_in(&only, &mut budget).unwrap()).collect();
    assert_eq!(
        outcomes,
        vec![
            fail("failed rule: self.minReplicas <= self.replicas"),
            fail(
                "failed rule: !has(self.ports) || self.mode == 'Active' || self.ports.all(p, p.port >= 1024)"
            ),
            fail("bad foo-bar xb"),
            RuleOutcome::Pass,
            fail("failed rule: !has(self.env) || self.env.all(k, self.env[k].size() < 5)"),
        ]
    );
}

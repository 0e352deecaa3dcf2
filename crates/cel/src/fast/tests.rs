//! The direct evaluator against the interpreter, over a corpus of expressions and objects.

use crate::activation::{Bound, Layers};
use crate::limits::PER_CALL_LIMIT;
use crate::shape::Shape;
use crate::{Activation, Program};
use cel::common::types::{CelList, CelMap, CelString};
use cel::common::value::Val;
use serde_json::json;

/// Expressions the direct evaluator compiles.
const FAST: &[&str] = &[
    "object.metadata.name.size() <= 63",
    "size(object.metadata.name) > 1",
    "has(object.metadata.labels) && 'app' in object.metadata.labels",
    "!has(object.data) || size(object.data) <= 16",
    "!has(object.binaryData)",
    "request.userInfo.username != 'nobody'",
    "!object.metadata.name.startsWith('forbidden')",
    "object.metadata.name.endsWith('-x') || object.metadata.name.contains('mid')",
    "object.metadata.name != 'vap-probe'",
    "object.metadata.name == object.metadata.labels.app",
    "object.metadata.labels.app < object.metadata.name",
    "object.metadata.labels.app >= 'b' && object.metadata.labels.app <= 'zzzzzzzzzzzzzzzzzz'",
    "object.spec.replicas > 2 && object.spec.replicas <= 100",
    "object.spec.replicas == object.spec.min",
    "object.spec.paused == false",
    "object.spec.paused",
    "!object.spec.paused || object.spec.replicas == 0",
    "size(object.spec.items) < 3",
    "object.spec.items.size() == 2",
    "'ab' in object.metadata.labels || 'app' in object.metadata.labels",
    "object.metadata.name == 'a-long-name-of-more-than-ten-bytes'",
    "object.data.v.startsWith(object.metadata.name)",
    "object.metadata.missing == 1",
    "object.metadata.name.nope == 1",
    "has(object.metadata.name.x)",
    "object.metadata.name",
    "object.data.q == '17' && !has(object.data.zz) && 'p' in object.data",
    "object.metadata.labels.app.matches('^[a-z-]+$')",
    "object.metadata.name.matches('mid') || matches(object.metadata.name, '^n$')",
    "!has(object.data) || object.data.all(k, k.size() < 64)",
    "object.data.all(k, k.size() < 1) || object.data.exists(k, k == 'q')",
    "object.spec.items.all(i, i > 0) && object.spec.items.exists(i, i == 2)",
    "object.metadata.labels.exists(k, k == 'ab')",
    "object.metadata.labels.all(k, object.data.exists(j, j == k))",
    "object.metadata.labels.all(object, object.size() > 1)",
    "object.spec.items.exists(i, i.startsWith('x'))",
    "object.metadata.?annotations.orValue({}).size() < 10",
    "object.metadata.?labels.orValue({}).size() < 2",
    "object.spec.?items.orValue([]).size() == 2",
    "object.metadata.?name.orValue('none') == 'n' || object.metadata.?nick.orValue('none') == 'none'",
    "object.spec.?replicas.orValue(0) > 2",
    "object.spec.?paused.orValue(false)",
    "object.metadata.?nick.orValue('a-default-longer-than-ten').size() > 3",
];

/// Expressions left to the interpreter.
const SLOW: &[&str] = &[
    "!has(object.data) || object.data.all(k, k.size() < 64)",
    "object.metadata.name.matches('(')",
    "object.metadata.labels == {'app': 'a'}",
    "object.data.v + 'x' == object.metadata.name",
    "object.spec.replicas + 1 > 2",
    "object.spec.ratio > 0.5",
    "'a' in ['a', 'b']",
    "object.spec.items.map(x, x).size() == 2",
    "object.data.exists(k, object.data[k] == '3')",
    "object.spec.items.exists_one(i, i == 2)",
];

fn objects() -> Vec<serde_json::Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "n", "labels": {"app": "a"}},
            "data": {"v": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"}}),
        json!({"metadata": {"name": "forbidden-x-mid", "labels": {"app": "forbidden-x-mid", "ab": "c"}},
            "spec": {"replicas": 3, "min": 3, "paused": false, "items": [1, 2], "ratio": 0.7},
            "binaryData": {}}),
        json!({"metadata": {"name": "vap-probe", "labels": {"app": 7}},
            "spec": {"replicas": "3", "min": 3.0, "paused": "no", "items": "xy"},
            "data": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8",
                     "i": "9", "j": "10", "k": "11", "l": "12", "m": "13", "n": "14", "o": "15", "p": "16", "q": "17"}}),
        json!({"metadata": {"name": "a-long-name-of-more-than-ten-bytes", "labels": null},
            "spec": {"replicas": 200, "min": -1, "paused": true, "items": {"a": 1}}}),
        json!({"metadata": "not an object", "spec": null}),
        json!({"metadata": {"name": ""}, "spec": {"replicas": 0, "paused": true}}),
        json!(null),
        json!([1, 2]),
    ]
}

fn request(user: &str) -> serde_json::Value {
    json!({"userInfo": {"username": user, "groups": ["g"]}})
}

fn compile(source: &str) -> Program {
    Program::compile(source, &[("object", &Shape::Any), ("request", &Shape::Any)]).unwrap()
}

/// The direct evaluator gives the interpreter's value and cost wherever it answers, and
/// leaves the rest (errors, other types, the limit) to it.
#[test]
fn answers_as_the_interpreter_does() {
    let mut answered = 0;
    let mut gave_up = 0;
    let programs: Vec<(&str, Program)> = FAST.iter().chain(SLOW).map(|s| (*s, compile(s))).collect();
    for (s, p) in &programs {
        assert_eq!(p.fast.is_some(), FAST.contains(s), "{s}: compiled directly or not");
    }
    // Warm the regex cache (a pattern's compilation is charged to its first use only).
    let (first, req) = (objects().remove(0), request("jane"));
    let mut warm = Activation::new();
    warm.bind("object", &first, &Shape::Any).unwrap();
    warm.bind("request", &req, &Shape::Any).unwrap();
    for (_, p) in &programs {
        let _ = p.evaluate(&warm, PER_CALL_LIMIT);
    }
    for object in &objects() {
        for user in ["nobody", "jane"] {
            let req = request(user);
            let mut a = Activation::new();
            a.bind("object", object, &Shape::Any).unwrap();
            a.bind("request", &req, &Shape::Any).unwrap();
            for (s, p) in &programs {
                for limit in [PER_CALL_LIMIT, 3, 1, 0] {
                    let layers = Layers(&[&a]);
                    let interpreted = p.interpret(&layers, limit, None).map_err(|e| e.to_string());
                    let evaluated = p.evaluate(&a, limit).map_err(|e| e.to_string());
                    assert_eq!(evaluated, interpreted, "{s} over {object} (limit {limit})");
                    match p.fast.as_ref().map(|f| f.run(&layers, limit)) {
                        Some(Some((b, cost))) => {
                            answered += 1;
                            let Ok(i) = &interpreted else {
                                panic!("{s}: answered where the interpreter fails")
                            };
                            assert_eq!((Some(b), cost), (i.as_bool(), i.cost), "{s} over {object}");
                        }
                        Some(None) => gave_up += 1,
                        None => {}
                    }
                }
            }
        }
    }
    // Both kinds of case are exercised.
    assert!(answered > 300, "answered {answered}");
    assert!(gave_up > 100, "gave up {gave_up}");
}

/// A literal pattern's compilation is the program's: an evaluation costs the same
/// whether the process has compiled the pattern before or not.
#[test]
fn a_literal_patterns_cost_does_not_depend_on_the_cache() {
    let object = json!({"metadata": {"name": "abcdefghijklmnopqrstuvwxyz"}});
    let mut a = Activation::new();
    a.bind("object", &object, &Shape::Any).unwrap();
    let p = compile("object.metadata.name.matches('^[a-z]+q?z$')");
    let layers = Layers(&[&a]);
    let first = p.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
    let again = p.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
    assert_eq!((first.as_bool(), first.cost), (Some(true), 3), "the name's 26 bytes");
    assert_eq!(first, again);
    assert_eq!(p.fast.as_ref().unwrap().run(&layers, PER_CALL_LIMIT), Some((true, 3)));
    // A pattern read from the object is charged its compilation the first time.
    let q = compile("'x'.matches(object.metadata.name)");
    let first = q.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
    let again = q.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
    assert_eq!((first.cost, again.cost), (3 + 26, 3));
}

#[test]
fn a_lazy_variable_is_left_to_the_interpreter() {
    let object = json!({"metadata": {"name": "n"}});
    let named = compile("object.metadata.name == 'n'");
    let mut a = Activation::new();
    a.bind("object", &object, &Shape::Any).unwrap();
    let layers = Layers(&[&a]);
    assert_eq!(named.fast.as_ref().unwrap().run(&layers, PER_CALL_LIMIT), Some((true, 1)));
    let inner = compile("true");
    let mut lazy = Activation::new();
    lazy.bind_lazy("object", "object", Ok(&inner));
    assert_eq!(named.fast.as_ref().unwrap().run(&Layers(&[&lazy]), PER_CALL_LIMIT), None);
}

/// What one program gives over JSON read in place ([`Activation::bind_json`]), checked
/// against the interpreter over the same JSON converted: the direct evaluator's answer
/// exactly, over the JSON with each object's members in the order the conversion
/// iterates them (cel-rust's maps iterate in a random order of their own, and a map's
/// order can change what an `all` costs); a whole evaluation, whose interpreter converts
/// again (another order), the same value or an error too. Returns whether the direct
/// evaluator answered.
pub(super) fn agrees_over_json(
    p: &Program,
    object: &serde_json::Value,
    req: &serde_json::Value,
    limit: u64,
) -> bool {
    let source = p.source();
    let outcome = |r: Result<crate::Evaluated, crate::EvalError>| match r {
        Ok(e) => Ok((e.value().clone(), e.cost)),
        Err(e) => Err(e.to_string()),
    };
    let mut a = Activation::new();
    a.bind("object", object, &Shape::Any).unwrap();
    a.bind("request", req, &Shape::Any).unwrap();
    let layers = Layers(&[&a]);
    let interpreted = outcome(p.interpret(&layers, limit, None));
    let in_order = |name: &str| match layers.value(name) {
        Some(Bound::Val(v)) => json_in_order(v),
        _ => panic!("{name} is bound to a value"),
    };
    let (object, req) = (in_order("object"), in_order("request"));
    let whole = crate::reads::Reads::WHOLE;
    let mut j = Activation::new();
    j.bind_json("object", &object, &whole).bind_json("request", &req, &whole);
    let evaluated = outcome(p.evaluate(&j, limit));
    let alike = match (&evaluated, &interpreted) {
        (Ok((v, _)), Ok((w, _))) => v == w,
        (e, i) => e.is_err() && i.is_err(),
    };
    assert!(alike, "{source} over {object} (limit {limit}): {evaluated:?}, interpreted {interpreted:?}");
    match p.fast.as_ref().and_then(|f| f.run(&Layers(&[&j]), limit)) {
        Some((b, cost)) => {
            let direct = Ok((cel::Value::Bool(b), cost));
            assert_eq!(direct, interpreted, "{source} over {object} (limit {limit})");
            true
        }
        None => false,
    }
}

/// A converted value as JSON, each map's members in its iteration order.
fn json_in_order(v: &dyn Val) -> serde_json::Value {
    if let Some(map) = v.downcast_ref::<CelMap>() {
        let mut out = serde_json::Map::new();
        let mut keys = map.as_iterable().unwrap().iter();
        while let Some(k) = keys.next() {
            let k = k.downcast_ref::<CelString>().unwrap().inner();
            out.insert(k.to_string(), json_in_order(super::entry(map, k).unwrap().unwrap()));
        }
        return serde_json::Value::Object(out);
    }
    if let Some(list) = v.downcast_ref::<CelList>() {
        return serde_json::Value::Array(list.inner().iter().map(|i| json_in_order(i.as_ref())).collect());
    }
    crate::value::to_json(&cel::Value::try_from(v).unwrap()).unwrap()
}

/// The corpus over JSON read in place: what the direct evaluator answers agrees with
/// the interpreter ([`agrees_over_json`]), and it answers as often as over converted
/// values.
#[test]
fn answers_over_json_as_the_interpreter_does() {
    let mut answered = 0;
    let programs: Vec<Program> = FAST.iter().chain(SLOW).map(|s| compile(s)).collect();
    for object in &objects() {
        for user in ["nobody", "jane"] {
            for p in &programs {
                for limit in [PER_CALL_LIMIT, 3, 1, 0] {
                    answered += usize::from(agrees_over_json(p, object, &request(user), limit));
                }
            }
        }
    }
    assert!(answered > 300, "answered {answered}");
}

/// A JSON variable too deep to convert fails the interpreter's evaluation (reads
/// through another resolver fail the same way), never the process.
#[test]
fn a_json_variable_too_deep_to_convert_is_an_evaluation_error() {
    let mut deep = json!("leaf");
    for _ in 0..300 {
        deep = json!({ "a": deep });
    }
    let whole = crate::reads::Reads::WHOLE;
    let mut a = Activation::new();
    a.bind_json("object", &deep, &whole);
    let err = compile("object.a.a.a == 'x'").evaluate(&a, PER_CALL_LIMIT).unwrap_err();
    assert!(err.to_string().contains("nesting"), "{err}");
}

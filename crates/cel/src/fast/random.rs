//! Random expressions over random objects: the direct evaluator and the interpreter agree.

use crate::activation::Layers;
use crate::shape::Shape;
use crate::{Activation, Program};
use serde_json::{json, Value};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIELDS: &[&str] =
    &["object.s", "object.t", "object.n", "object.b", "object.m.k", "object.m.s", "request.u"];
const COLLECTIONS: &[&str] = &["object.l", "object.m", "object.ls"];
const STRINGS: &[&str] = &["''", "'a'", "'ab'", "'a-long-literal-string'", "'k'"];

fn scalar(r: &mut Rng) -> String {
    match r.below(5) {
        0 => r.pick(FIELDS).to_string(),
        1 => r.pick(STRINGS).to_string(),
        2 => format!("{}", r.below(5) as i64 - 1),
        3 => format!("size({})", r.pick(&["object.s", "object.l", "object.m", "object.ls", "object.n"])),
        _ => format!(
            "{}.?{}.orValue({})",
            r.pick(&["object", "object.m"]),
            r.pick(&["s", "k", "z"]),
            r.pick(&["'d'", "0", "{}"])
        ),
    }
}

fn boolean(r: &mut Rng, depth: usize) -> String {
    let leaf = depth == 0 || r.below(3) == 0;
    match if leaf { r.below(6) } else { 6 + r.below(5) } {
        0 => {
            let op = r.pick(&["==", "!=", "<", "<=", ">", ">="]);
            format!("{} {op} {}", scalar(r), scalar(r))
        }
        1 => format!("has({})", r.pick(&["object.s", "object.m.k", "object.z", "object.m.z", "object.n.x"])),
        2 => format!("{} in {}", r.pick(STRINGS), r.pick(&["object.m", "object.l", "object.s"])),
        3 => format!(
            "{}.{}({})",
            r.pick(&["object.s", "object.m.s", "object.n"]),
            r.pick(&["startsWith", "endsWith", "contains"]),
            r.pick(STRINGS)
        ),
        4 => format!(
            "{}.matches('{}')",
            r.pick(&["object.s", "object.m.k", "object.n"]),
            r.pick(&["^a", "b$", "[0-9]"])
        ),
        5 => r.pick(&["object.b", "true", "object.m.b"]).to_string(),
        6 => format!("{} && {}", boolean(r, depth - 1), boolean(r, depth - 1)),
        7 => format!("{} || {}", boolean(r, depth - 1), boolean(r, depth - 1)),
        8 => format!("!({})", boolean(r, depth - 1)),
        _ => {
            let body = match r.below(3) {
                0 => "x.size() < 3".to_string(),
                1 => format!("x == {}", r.pick(STRINGS)),
                _ => "x.startsWith('k') || x > 'a'".to_string(),
            };
            format!("{}.{}(x, {body})", r.pick(COLLECTIONS), r.pick(&["all", "exists"]))
        }
    }
}

fn value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth == 0 { 5 } else { 7 }) {
        0 => json!(["", "a", "ab", "abc", "k-long-value-here", "a1"][r.below(6)]),
        1 => json!(r.below(5) as i64 - 1),
        2 => json!(r.below(2) == 0),
        3 => Value::Null,
        4 => json!(0.5),
        5 => Value::Array((0..r.below(4)).map(|_| value(r, depth - 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for k in ["k", "s", "b", "a", "ab", "k2", "z1", "z2", "z3", "z4"].iter().take(r.below(11)) {
                m.insert(k.to_string(), value(r, depth - 1));
            }
            Value::Object(m)
        }
    }
}

fn object(r: &mut Rng) -> Value {
    let mut o = serde_json::Map::new();
    for k in ["s", "t", "n", "b", "m", "l", "ls"] {
        if r.below(6) != 0 {
            let v = match k {
                "ls" => Value::Array(
                    (0..r.below(5)).map(|_| json!(["ka", "a", "kb", "zz"][r.below(4)])).collect(),
                ),
                _ => value(r, 2),
            };
            o.insert(k.into(), v);
        }
    }
    Value::Object(o)
}

#[test]
fn random_expressions_agree() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let vars: [(&str, &Shape); 2] = [("object", &Shape::Any), ("request", &Shape::Any)];
    let objects: Vec<Value> = (0..24).map(|_| object(&mut r)).collect();
    let requests = [json!({"u": "a"}), json!({"u": 3}), json!({})];
    let (mut fast, mut answered, mut json_answered) = (0, 0, 0);
    for _ in 0..600 {
        let source = boolean(&mut r, 3);
        let Ok(p) = Program::compile(&source, &vars) else { continue };
        let Some(f) = p.fast.as_ref() else { continue };
        fast += 1;
        // Warm the pattern cache (a pattern read from data is charged on its first use).
        for (i, o) in objects.iter().enumerate() {
            let req = &requests[i % requests.len()];
            let mut a = Activation::new();
            a.bind("object", o, &Shape::Any).unwrap();
            a.bind("request", req, &Shape::Any).unwrap();
            let layers = Layers(&[&a]);
            for limit in [1_000_000, 4] {
                json_answered += usize::from(super::tests::agrees_over_json(&p, o, req, limit));
                let interpreted = p.interpret(&layers, limit, None);
                if let Some((b, cost)) = f.run(&layers, limit) {
                    answered += 1;
                    let i = interpreted.as_ref().unwrap_or_else(|e| panic!("{source} over {o}: interpreter failed ({e}) where the direct evaluator answered {b}"));
                    assert_eq!((Some(b), cost), (i.as_bool(), i.cost), "{source} over {o} (limit {limit})");
                }
            }
        }
    }
    assert!(fast > 400, "{fast} of 600 compiled directly");
    assert!(answered > 3000, "{answered} answers");
    // Over JSON read in place, about as often (a map's order can shorten an `all`).
    assert!(json_answered * 10 > answered * 9, "{json_answered} answers over JSON, {answered} over values");
}

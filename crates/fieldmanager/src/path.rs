//! Path elements and paths into an object, as structured-merge-diff's `fieldpath` names
//! them: a struct field or map key (`f:name`), a list-map item by its key fields
//! (`k:{"name":"c"}`), a set item by its value (`v:"x"`), a list item by index (`i:0`).
//!
//! Also the total order of JSON values structured-merge-diff uses to sort them (numbers,
//! then strings, booleans, lists, maps, null) and its way of printing paths in messages
//! (`.spec.containers[name="nginx"].image`).

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// One step of a path. Ordered as structured-merge-diff orders them: fields, then keys,
/// then values, then indexes.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A struct field or a map key.
    Field(String),
    /// An item of an associative list with keys, by its key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// An item of a set (an associative list without keys), by its value.
    Value(Value),
    /// A list item by position.
    Index(usize),
}

/// A path from the object's root.
pub type Path = Vec<PathElement>;

impl PathElement {
    pub fn field(name: &str) -> Self {
        Self::Field(name.to_string())
    }

    /// The element's `FieldsV1` key: `f:name`, `k:{...}`, `v:...`, `i:N`.
    pub fn to_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let mut s = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    apimachinery::status::go_json_push_str(&mut s, name);
                    s.push(':');
                    apimachinery::status::go_json_push(&mut s, value);
                }
                s.push('}');
                s
            }
            Self::Value(v) => {
                let mut s = String::from("v:");
                apimachinery::status::go_json_push(&mut s, v);
                s
            }
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key; `Ok(None)` for an element type this version does not know
    /// (structured-merge-diff skips those).
    pub fn from_key(key: &str) -> Result<Option<Self>, String> {
        let bytes = key.as_bytes();
        if bytes.len() < 2 {
            return Err("key must be 2 characters long".into());
        }
        if bytes[1] != b':' {
            return Err(format!("missing colon: {key}"));
        }
        let rest = &key[2..];
        Ok(Some(match bytes[0] {
            b'f' => Self::Field(rest.to_string()),
            b'v' => Self::Value(serde_json::from_str(rest).map_err(|e| e.to_string())?),
            b'k' => {
                let map: serde_json::Map<String, Value> =
                    serde_json::from_str(rest).map_err(|e| e.to_string())?;
                let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Self::Key(fields)
            }
            b'i' => Self::Index(rest.parse().map_err(|e: std::num::ParseIntError| e.to_string())?),
            _ => return Ok(None),
        }))
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Self::Key(a), Self::Key(b)) => compare_fields(a, b),
            (Self::Value(a), Self::Value(b)) => compare_values(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// structured-merge-diff's `PathElement.String()`: `.name`, `[k=v,...]`, `[=v]`, `[i]`.
impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                let parts: Vec<String> =
                    fields.iter().map(|(k, v)| format!("{k}={}", value_to_string(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            Self::Value(v) => write!(f, "[={}]", value_to_string(v)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path as structured-merge-diff prints it: its elements one after the other.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// Field lists compare name by name, then value by value; a shorter list first.
fn compare_fields(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.as_bytes().cmp(y.0.as_bytes()).then_with(|| compare_values(&x.1, &y.1));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

enum Num {
    Int(i64),
    Float(f64),
}

fn number(v: &Value) -> Option<Num> {
    let n = v.as_number()?;
    Some(match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
    })
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    if a > b {
        Ordering::Greater
    } else if a < b {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) if n.as_i64().is_none() => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

/// structured-merge-diff's total order of values: floats and integers numerically (floats
/// first on ties of kind), then strings, booleans, lists, maps, null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return match (x, y) {
            (Num::Int(x), Num::Int(y)) => x.cmp(&y),
            (Num::Int(x), Num::Float(y)) => float_cmp(x as f64, y),
            (Num::Float(x), Num::Int(y)) => float_cmp(x, y as f64),
            (Num::Float(x), Num::Float(y)) => float_cmp(x, y),
        };
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let c = match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => compare_values(p, q),
                    (None, _) => Ordering::Greater,
                    (_, None) => Ordering::Less,
                };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// structured-merge-diff's value equality: numbers compare numerically across int and float.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare_values(a, b) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// structured-merge-diff's `value.ToString`: strings quoted as Go's `%q`, numbers as `%v`.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => apimachinery::status::quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map(go_float).unwrap_or_default(),
        },
        Value::Array(items) => {
            format!("[{}]", items.iter().map(value_to_string).collect::<Vec<_>>().join(","))
        }
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k}={}", value_to_string(v))).collect(),
    }
}

/// Go's `%v` of a float64 (shortest representation; exponent form past 1e21).
fn go_float(f: f64) -> String {
    if f.is_finite() && f.abs() < 1e21 && (f == 0.0 || f.abs() >= 1e-4) {
        format!("{f}")
    } else {
        format!("{f:e}").replace('e', "e+").replace("e+-", "e-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Keys written without going through the encoder are the encoder's text.
    #[test]
    fn keys_are_written_as_go_encodes_their_values() {
        let go = apimachinery::status::go_json;
        let values = [
            json!("plain-text_1.2/x:y"),
            json!("<&>"),
            json!("q\"b\\"),
            json!("tab\t"),
            json!("é\u{2028}"),
            json!(""),
            json!(-12),
            json!(18446744073709551615_u64),
            json!(1.5),
            json!(1e21),
            json!(true),
            json!(false),
            json!(null),
            json!({"b": 1, "a": [1, "x"]}),
        ];
        for v in &values {
            assert_eq!(PathElement::Value(v.clone()).to_key(), format!("v:{}", go(v)), "{v}");
            for name in ["name", "<n>", "a\"b"] {
                let k = PathElement::Key(vec![(name.into(), v.clone()), ("z".into(), json!("<z>"))]);
                let want = format!("k:{{{}:{},\"z\":{}}}", go(&json!(name)), go(v), go(&json!("<z>")));
                assert_eq!(k.to_key(), want, "{v}");
            }
        }
    }

    #[test]
    fn keys_round_trip_as_kube_writes_them() {
        let k =
            PathElement::Key(vec![("containerPort".into(), json!(80)), ("protocol".into(), json!("TCP"))]);
        assert_eq!(k.to_key(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(PathElement::from_key(&k.to_key()).unwrap(), Some(k));
        // Keys are sorted by field name whatever order they come in.
        let parsed = PathElement::from_key(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap().unwrap();
        assert_eq!(parsed.to_key(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(PathElement::from_key(r#"v:"a<b""#).unwrap().unwrap().to_key(), r#"v:"a\u003cb""#);
        assert_eq!(PathElement::from_key("i:3").unwrap(), Some(PathElement::Index(3)));
        assert_eq!(PathElement::from_key("x:3").unwrap(), None);
        assert!(PathElement::from_key("f").is_err());
        assert!(PathElement::from_key("fx").is_err());
        assert!(PathElement::from_key("k:{").is_err());
    }

    #[test]
    fn order_is_fields_keys_values_indexes() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!("b")),
            PathElement::Key(vec![("name".into(), json!("a"))]),
            PathElement::field("z"),
            PathElement::field("a"),
            PathElement::Value(json!(2)),
        ];
        v.sort();
        let keys: Vec<String> = v.iter().map(PathElement::to_key).collect();
        assert_eq!(keys, ["f:a", "f:z", r#"k:{"name":"a"}"#, "v:2", r#"v:"b""#, "i:0"]);
    }

    #[test]
    fn paths_print_as_structured_merge_diff_does() {
        let p = vec![
            PathElement::field("spec"),
            PathElement::field("containers"),
            PathElement::Key(vec![("name".into(), json!("nginx"))]),
            PathElement::field("image"),
        ];
        assert_eq!(path_string(&p), r#".spec.containers[name="nginx"].image"#);
        assert_eq!(PathElement::Value(json!("x")).to_string(), r#"[="x"]"#);
        assert_eq!(PathElement::Value(json!(1.5)).to_string(), "[=1.5]");
    }

    #[test]
    fn numbers_compare_across_kinds() {
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert_eq!(compare_values(&json!(1.5), &json!(2)), Ordering::Less);
        assert_eq!(compare_values(&json!("a"), &json!(1)), Ordering::Greater);
        assert_eq!(compare_values(&json!(null), &json!({})), Ordering::Greater);
    }
}

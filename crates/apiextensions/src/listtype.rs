//! `x-kubernetes-list-type` `set` and `map` invariants (kube's `listtype.ValidateListSetsAndMaps`):
//! no duplicate elements in a set, no two elements of a map list with the same keys
//! (`Duplicate value: {"name":"a"}`), every element of a map list an object.

use crate::path::Path;
use crate::props::Props;
use apimachinery::field::{duplicate_rendered, invalid_rendered, Errors};
use apimachinery::gofmt::{go_bad_value, go_json};
use serde_json::{Map, Value};

/// Validates the set and map lists of `obj` (an object) against `s`.
pub fn validate(path: &str, s: &Props, obj: &Value) -> Errors {
    let mut errs = Errors::new();
    if let Value::Object(m) = obj {
        object(&Path::At(path), s, m, &mut errs, 0);
    }
    errs
}

fn object(path: &Path<'_>, s: &Props, m: &Map<String, Value>, errs: &mut Errors, depth: usize) {
    if depth > crate::MAX_VALUE_DEPTH {
        return;
    }
    if let Some(ap) = s.additional_schema() {
        for (k, v) in m {
            value(&path.key(k), ap, v, errs, depth + 1);
        }
    }
    for (k, v) in m {
        if let Some(sub) = s.properties.get(k) {
            value(&path.child(k), sub, v, errs, depth + 1);
        }
    }
}

fn value(path: &Path<'_>, s: &Props, v: &Value, errs: &mut Errors, depth: usize) {
    match v {
        Value::Array(items) => array(path, s, items, errs, depth),
        Value::Object(m) => object(path, s, m, errs, depth),
        _ => {}
    }
}

/// A scalar as [`non_unique`] tells elements apart: for these, equal scalars are exactly
/// those with the same kind and JSON text (floats and integers beyond int64 are not here).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Null,
}

fn scalar(v: &Value) -> Option<Scalar<'_>> {
    match v {
        Value::String(s) => Some(Scalar::Str(s)),
        Value::Number(n) => n.as_i64().map(Scalar::Int),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Null => Some(Scalar::Null),
        _ => None,
    }
}

/// Indices of the second occurrence of each repeated key, keys compared by equality: a
/// scan for short lists, a hash map for long ones.
fn second_occurrences<K: Eq + std::hash::Hash>(keys: &[K]) -> Vec<usize> {
    let mut out = Vec::new();
    if keys.len() <= 16 {
        for (i, k) in keys.iter().enumerate() {
            if keys.iter().take(i).filter(|p| *p == k).count() == 1 {
                out.push(i);
            }
        }
        return out;
    }
    let mut seen: std::collections::HashMap<&K, usize> = std::collections::HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let count = seen.entry(k).or_insert(0);
        *count += 1;
        if *count == 2 {
            out.push(i);
        }
    }
    out
}

/// Indices of the second occurrence of each repeated element (linear: elements are
/// keyed by their kind and JSON text, so an int64 `1` and a float64 `1.0` differ as in Go).
/// Lists of strings, integers, booleans and nulls are compared as they are, without
/// rendering their text.
fn non_unique(items: &[Value]) -> Vec<usize> {
    if let Some(keys) = items.iter().map(scalar).collect::<Option<Vec<_>>>() {
        return second_occurrences(&keys);
    }
    non_unique_by_text(items)
}

fn non_unique_by_text(items: &[Value]) -> Vec<usize> {
    let mut seen: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(items.len());
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let tag = match x {
            Value::Number(n) if n.is_i64() || n.is_u64() => 'i',
            Value::Number(_) => 'f',
            _ => 'v',
        };
        let count = seen.entry(format!("{tag}{}", go_json(x))).or_insert(0);
        *count += 1;
        if *count == 2 {
            out.push(i);
        }
    }
    out
}

fn array(path: &Path<'_>, s: &Props, items: &[Value], errs: &mut Errors, depth: usize) {
    match s.x_list_type.as_deref() {
        Some("set") => {
            for i in non_unique(items) {
                errs.push(duplicate_rendered(&format!("{path}[{i}]"), &go_bad_value(&items[i])));
            }
        }
        Some("map") => map_list(path, s, items, errs),
        _ => {}
    }
    if let Some(is) = s.items_schema() {
        for (i, item) in items.iter().enumerate() {
            value(&path.index(i), is, item, errs, depth + 1);
        }
    }
}

fn map_list(path: &Path<'_>, s: &Props, items: &[Value], errs: &mut Errors) {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            errs.push(invalid_rendered(
                &format!("{path}[{i}]"),
                &go_bad_value(x),
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    if items.len() <= 1 {
        return;
    }
    // Scalar key fields (the usual case): compared as they are, an absent field apart from
    // every value; the key object is only built to name a duplicate.
    let scalar_keys: Option<Vec<Vec<Option<Scalar<'_>>>>> = items
        .iter()
        .map(|x| {
            s.x_list_map_keys
                .iter()
                .map(|f| match x.get(f) {
                    None => Some(None),
                    Some(v) => scalar(v).map(Some),
                })
                .collect()
        })
        .collect();
    if let Some(keys) = scalar_keys {
        for i in second_occurrences(&keys) {
            errs.push(duplicate_rendered(&format!("{path}[{i}]"), &go_json(&key_object(s, &items[i]))));
        }
        return;
    }
    let keys: Vec<Value> = items.iter().map(|x| key_object(s, x)).collect();
    for i in non_unique_by_text(&keys) {
        errs.push(duplicate_rendered(&format!("{path}[{i}]"), &go_json(&keys[i])));
    }
}

/// The key fields of an element of a map list, as an object.
fn key_object(s: &Props, x: &Value) -> Value {
    let mut k = Map::new();
    for f in &s.x_list_map_keys {
        if let Some(v) = x.get(f) {
            k.insert(f.clone(), v.clone());
        }
    }
    Value::Object(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lists of scalars find the repeats that rendering every element finds, in short and
    /// long lists alike.
    #[test]
    fn scalars_compared_as_values_repeat_as_their_text_does() {
        let long: Vec<Value> = (0..40).map(|i| json!(format!("t{}", i % 13))).collect();
        let lists = [
            json!(["a", "b", "a", "a", "c", "b"]),
            json!([1, "1", true, "true", null, "null", 1, -1, 9007199254740993_i64, 9007199254740993_i64]),
            json!([false, false, false, null, null]),
            json!([1, 1.0, 1.0, 2.5, 2.5]),
            json!([{"a": 1}, {"a": 1.0}, [1], [1]]),
            json!([18446744073709551615_u64, 18446744073709551615_u64]),
            Value::Array(long),
            json!([]),
        ];
        for list in lists {
            let items = list.as_array().unwrap();
            assert_eq!(non_unique(items), non_unique_by_text(items), "{list}");
        }
    }

    /// Map lists: scalar keys compared as values report what comparing key objects by their
    /// text reports, absent keys and nulls included; float keys take the text path.
    #[test]
    fn map_list_keys_compared_as_values_repeat_as_key_objects_do() {
        let mut e = Vec::new();
        let s = Props::parse(
            &json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
                    "items": {"type": "object"}}),
            "",
            &mut e,
        );
        let lists = [
            json!([{"port": 80, "protocol": "TCP"}, {"port": 80}, {"port": 80, "protocol": "TCP", "x": 1}, {"port": 80}]),
            json!([{"port": 80, "protocol": null}, {"port": 80}, {"port": 80, "protocol": null}, null, {}, null]),
            json!([{"port": "80"}, {"port": 80}, {"port": 80.0}, {"port": 80}]),
            json!([{"port": [1]}, {"port": [1]}, {"port": true}, {"port": true}]),
        ];
        for list in lists {
            let items = list.as_array().unwrap();
            let mut fast = Errors::new();
            map_list(&Path::At("l"), &s, items, &mut fast);
            let keys: Vec<Value> = items.iter().map(|x| key_object(&s, x)).collect();
            let by_text: Vec<String> = non_unique_by_text(&keys)
                .into_iter()
                .map(|i| format!("l[{i}]: Duplicate value: {}", go_json(&keys[i])))
                .collect();
            let fast: Vec<String> = fast.iter().map(crate::path::error_string).collect();
            assert_eq!(fast, by_text, "{list}");
            assert!(!fast.is_empty(), "{list}");
        }
    }

    #[test]
    fn sets_and_maps_are_unique() {
        let mut e = Vec::new();
        let s = Props::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
                          "items": {"type": "object", "properties": {"port": {"type": "integer"}, "protocol": {"type": "string"}}}}
            }}}}),
            "",
            &mut e,
        );
        let obj = json!({"spec": {
            "tags": ["a", "b", "a", "a"],
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP", "name": "x"}]
        }});
        let got: Vec<String> = validate("", &s, &obj).iter().map(crate::path::error_string).collect();
        assert_eq!(
            got,
            vec![
                r#"spec.tags[2]: Duplicate value: "a""#,
                r#"spec.ports[2]: Duplicate value: {"port":80,"protocol":"TCP"}"#,
            ]
        );
    }
}

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

/// Indices of the second occurrence of each repeated element (linear: elements are
/// keyed by their kind and JSON text, so an int64 `1` and a float64 `1.0` differ as in Go).
fn non_unique(items: &[Value]) -> Vec<usize> {
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
    let keys: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut k = Map::new();
            for f in &s.x_list_map_keys {
                if let Some(v) = x.get(f) {
                    k.insert(f.clone(), v.clone());
                }
            }
            Value::Object(k)
        })
        .collect();
    for i in non_unique(&keys) {
        errs.push(duplicate_rendered(&format!("{path}[{i}]"), &go_json(&keys[i])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

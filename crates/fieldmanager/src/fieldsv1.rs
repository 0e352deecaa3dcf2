//! `FieldsV1`: a field set as the JSON object kube writes in `managedFields[].fieldsV1`.
//! Each path element is a key (`f:`, `k:`, `v:`, `i:`); `{}` is a member with nothing
//! below it; `".": {}` inside an object marks the element itself as a member when it also
//! has children. Keys come out in the set's order, `"."` first, as kube writes them.

use crate::path::PathElement;
use crate::set::Set;
use serde_json::{Map, Value};

/// Deepest `FieldsV1` nesting read; objects are far shallower (JSON decoding bounds the
/// input further).
const MAX_DEPTH: usize = 256;

/// The set as a `FieldsV1` JSON object.
pub fn to_fields_v1(set: &Set) -> Value {
    Value::Object(emit(set, false))
}

fn emit(set: &Set, include_self: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if include_self && !(set.members().is_empty() && set.children().is_empty()) {
        out.insert(".".into(), Value::Object(Map::new()));
    }
    let (members, children) = (set.members(), set.children());
    let (mut mi, mut ci) = (0, 0);
    while mi < members.len() || ci < children.len() {
        let order = match (members.get(mi), children.get(ci)) {
            (Some(m), Some((c, _))) => m.cmp(c),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                out.insert(members[mi].to_key(), Value::Object(Map::new()));
                mi += 1;
            }
            std::cmp::Ordering::Greater => {
                let (pe, child) = &children[ci];
                out.insert(pe.to_key(), Value::Object(emit(child, false)));
                ci += 1;
            }
            std::cmp::Ordering::Equal => {
                let (pe, child) = &children[ci];
                out.insert(pe.to_key(), Value::Object(emit(child, true)));
                mi += 1;
                ci += 1;
            }
        }
    }
    out
}

/// Reads a `FieldsV1` object; an element type this version does not know is skipped, as
/// structured-merge-diff skips it.
pub fn from_fields_v1(v: &Value) -> Result<Set, String> {
    let Value::Object(m) = v else {
        return Err(format!("expected an object, got {v}"));
    };
    Ok(read(m, 0)?.1)
}

/// Reads the entries of `m`: whether `m` marks its own element a member, and the set below.
fn read(m: &Map<String, Value>, depth: usize) -> Result<(bool, Set), String> {
    if depth > MAX_DEPTH {
        return Err("fieldsV1 nested too deeply".into());
    }
    let mut is_member = false;
    let mut any_child = false;
    let mut members = Vec::new();
    let mut children = Vec::new();
    for (key, value) in m {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::from_key(key).map_err(|e| format!("parsing key as path element: {e}"))?
        else {
            continue;
        };
        let Value::Object(inner) = value else {
            return Err(format!("expected an object at {key}"));
        };
        let (child_member, child) = read(inner, depth + 1)?;
        any_child = true;
        if child_member {
            members.push(pe.clone());
        }
        if !child.is_empty() {
            children.push((pe, child));
        }
    }
    Ok((is_member || !any_child, Set::from_parts(members, children)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_kube_fields() {
        let v = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}
            }
        });
        let set = from_fields_v1(&v).unwrap();
        assert_eq!(set.len(), 6);
        assert_eq!(serde_json::to_string(&to_fields_v1(&set)).unwrap(), serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn sorts_and_marks_members() {
        let v = json!({"f:b": {}, "f:a": {"f:c": {}}, "v:\"x\"": {}, "i:0": {}});
        let set = from_fields_v1(&v).unwrap();
        assert_eq!(
            serde_json::to_string(&to_fields_v1(&set)).unwrap(),
            r#"{"f:a":{"f:c":{}},"f:b":{},"v:\"x\"":{},"i:0":{}}"#
        );
        assert_eq!(to_fields_v1(&Set::new()), json!({}));
    }

    #[test]
    fn rejects_garbage() {
        assert!(from_fields_v1(&json!([])).is_err());
        assert!(from_fields_v1(&json!({"f:a": 1})).is_err());
        assert!(from_fields_v1(&json!({"zz": {}})).is_err());
        assert!(from_fields_v1(&json!({"q:a": {}})).unwrap().is_empty());
    }
}

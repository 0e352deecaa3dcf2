//! Guards that keep hostile patches from exhausting the stack or memory.
//!
//! Every patch function checks nesting depth before recursing: the patch engines recurse
//! once per level, so a bound on depth bounds stack use. The limit equals serde_json's
//! parser limit, so any document serde_json accepts can be patched.

use serde_json::Value;

/// Deepest nesting (objects and lists) accepted in an original object or a patch.
pub const MAX_PATCH_DEPTH: usize = 128;

/// Most operations kube accepts in one JSON patch (`maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Most bytes (as estimated by [`approx_size`]) that the `copy` operations of one JSON patch
/// may add together; stops a short patch from doubling an object thousands of times.
pub const MAX_JSON_PATCH_COPY_BYTES: usize = 3 * 1024 * 1024;

/// Nesting depth of a value: 0 for a scalar, 1 for a flat object or list. Iterative, so
/// it is safe on values of any depth.
pub(crate) fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                max = max.max(d + 1);
                stack.extend(items.iter().map(|x| (x, d + 1)));
            }
            Value::Object(m) => {
                max = max.max(d + 1);
                stack.extend(m.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    max
}

/// Approximate serialized size of a value in bytes. Iterative.
pub(crate) fn approx_size(v: &Value) -> usize {
    let mut total = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(match v {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => {
                stack.extend(items.iter());
                2 + items.len()
            }
            Value::Object(m) => {
                stack.extend(m.values());
                2 + m.keys().map(|k| k.len() + 4).sum::<usize>()
            }
        });
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": 2}]})), 3);
        let mut deep = json!(0);
        for _ in 0..10_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(depth(&deep), 10_000);
        // Dropping such a value recursively could overflow; take it apart iteratively.
        let mut cur = deep;
        while let Value::Array(mut items) = cur {
            cur = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn size_estimate() {
        assert!(approx_size(&json!({"a": "0123456789"})) >= 12);
        assert!(approx_size(&json!([1, 2, 3])) >= 24);
    }
}

//! JSON patch (RFC 6902, `application/json-patch+json`) through the `json-patch` crate,
//! with kube's operation limit and kubeward's depth and copy-size guards.

use json_patch::PatchOperation;
use serde_json::Value;

use super::limits::{
    approx_size, depth, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, MAX_PATCH_DEPTH,
};
use super::PatchError;

/// Go's name for the JSON kind of a value, as its decoder reports type mismatches.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decodes a JSON patch document. A document that is not a list of objects is a
/// [`PatchError::Decode`] (400, Go's decoder message); more than
/// [`MAX_JSON_PATCH_OPERATIONS`] operations is [`PatchError::TooManyOperations`] (413); an
/// operation of unknown shape is [`PatchError::JsonPatchFailed`] (422), as kube only finds
/// those while applying.
pub fn decode_json_patch(patch: &Value) -> Result<Vec<PatchOperation>, PatchError> {
    let ops = match patch {
        Value::Array(ops) => ops,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(PatchError::Decode(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                go_kind(other)
            )))
        }
    };
    if let Some(bad) = ops.iter().find(|op| !op.is_object()) {
        return Err(PatchError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            go_kind(bad)
        )));
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations { max: MAX_JSON_PATCH_OPERATIONS, got: ops.len() });
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            serde_json::from_value::<PatchOperation>(op.clone())
                .map_err(|e| PatchError::JsonPatchFailed(format!("operation {i}: {e}")))
        })
        .collect()
}

/// Applies a JSON patch document to `original`, all or nothing.
pub fn apply_json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = decode_json_patch(patch)?;
    apply_operations(original, &ops)
}

/// Whether `path` names a member absent from an object that exists. kube's JSON patch
/// (evanphx/json-patch) reads such a member as null, so `test` with value null passes on it:
/// kube-rs's finalizer helper tests `/metadata/finalizers` against null before adding the
/// first finalizer. An absent parent or an array index out of range still fails the test.
fn absent_member(doc: &Value, path: &str) -> bool {
    let Some((parent, token)) = path.rsplit_once('/') else { return false };
    let key = token.replace("~1", "/").replace("~0", "~");
    doc.pointer(parent).and_then(Value::as_object).is_some_and(|o| !o.contains_key(&key))
}

/// Applies decoded operations to a copy of `original`.
pub fn apply_operations(original: &Value, ops: &[PatchOperation]) -> Result<Value, PatchError> {
    if depth(original) > MAX_PATCH_DEPTH {
        return Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH });
    }
    let mut doc = original.clone();
    let mut copied = 0usize;
    for (i, op) in ops.iter().enumerate() {
        // What the operation will put into the document, to bound depth and growth.
        let inserted_depth = match op {
            PatchOperation::Add(a) => Some(depth(&a.value)),
            PatchOperation::Replace(r) => Some(depth(&r.value)),
            PatchOperation::Copy(c) => {
                let from = doc.pointer(c.from.as_str());
                if let Some(v) = from {
                    copied = copied.saturating_add(approx_size(v));
                    if copied > MAX_JSON_PATCH_COPY_BYTES {
                        return Err(PatchError::JsonPatchFailed(format!(
                            "operation {i}: the copies of this patch add more than {MAX_JSON_PATCH_COPY_BYTES} bytes"
                        )));
                    }
                }
                from.map(depth)
            }
            PatchOperation::Move(m) => doc.pointer(m.from.as_str()).map(depth),
            PatchOperation::Remove(_) | PatchOperation::Test(_) => None,
        };
        if let Some(d) = inserted_depth {
            if op.path().count() + d > MAX_PATCH_DEPTH {
                return Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH });
            }
        }
        if let PatchOperation::Test(t) = op {
            if t.value.is_null() && absent_member(&doc, t.path.as_str()) {
                continue;
            }
        }
        json_patch::patch(&mut doc, std::slice::from_ref(op)).map_err(|e| {
            PatchError::JsonPatchFailed(format!("operation {i} failed at path '{}': {}", e.path, e.kind))
        })?;
    }
    Ok(doc)
}

//! The three PATCH flavours kube-apiserver accepts besides server-side apply:
//! JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, plus the
//! patch metadata of the built-in kinds that strategic merge patch needs.
//!
//! Owns: applying a patch to a JSON object and the kube Status for each failure
//! ([`PatchError::to_status`]). Does not own: decoding the result into a typed object,
//! validation, admission, or server-side apply.
//!
//! Limits (see [`limits`]): nesting depth [`MAX_PATCH_DEPTH`] (128, serde_json's own parse
//! limit) for objects and patches, [`MAX_JSON_PATCH_OPERATIONS`] (10000, kube's) and
//! [`MAX_JSON_PATCH_COPY_BYTES`] for JSON patch. Strategic list merges use hash maps,
//! so their cost is linear in the list sizes.

mod builtin;
mod error;
mod go_text;
mod json_patch;
pub mod limits;
mod lists;
mod merge;
mod meta;
mod strategic;

pub use builtin::builtin_patch_meta;
pub use error::{PatchError, GENERIC_INVALID};
pub use json_patch::{apply_json_patch, apply_operations, decode_json_patch};
pub use limits::{MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, MAX_PATCH_DEPTH};
pub use merge::json_merge_patch;
pub use meta::{
    field_or_default, lookup_path, FieldDef, FieldMeta, NoMeta, PatchMeta, PatchStrategy, StructMeta,
};
pub use strategic::strategic_merge_patch;

use serde_json::Value;

/// A PATCH body's flavour, named by its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    StrategicMerge,
}

impl PatchType {
    /// The flavour of a Content-Type (parameters such as `; charset=utf-8` are ignored);
    /// `None` for other types (server-side apply is not handled here).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        match essence.to_ascii_lowercase().as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            _ => None,
        }
    }

    /// The Content-Type naming this flavour.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
        }
    }
}

/// Decodes a PATCH body and applies it to `original`. `meta` is the object type's patch
/// metadata; without it a strategic merge patch is refused
/// ([`PatchError::StrategicMergeNotSupported`], 415), as kube refuses it for custom resources.
pub fn apply_patch(
    patch_type: PatchType,
    original: &Value,
    body: &[u8],
    meta: Option<&dyn PatchMeta>,
) -> Result<Value, PatchError> {
    if patch_type == PatchType::StrategicMerge && meta.is_none() {
        return Err(PatchError::StrategicMergeNotSupported);
    }
    let patch: Value = serde_json::from_slice(body).map_err(|e| match patch_type {
        // kube's merge patch library reports any undecodable patch this way.
        PatchType::Merge => PatchError::Decode("Invalid JSON Patch".into()),
        _ => PatchError::Decode(e.to_string()),
    })?;
    match (patch_type, meta) {
        (PatchType::Json, _) => apply_json_patch(original, &patch),
        (PatchType::Merge, _) => match patch {
            Value::Object(_) | Value::Array(_) => json_merge_patch(original, &patch),
            Value::Null => Ok(original.clone()),
            _ => Err(PatchError::Decode("Invalid JSON Patch".into())),
        },
        (PatchType::StrategicMerge, Some(meta)) => strategic_merge_patch(original, &patch, meta),
        (PatchType::StrategicMerge, None) => Err(PatchError::StrategicMergeNotSupported),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

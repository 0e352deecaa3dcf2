//! Why a PATCH could not be applied, and the Status kube answers with for each case
//! (k8s.io/apiserver `endpoints/handlers/patch.go`).

use crate::status::{StatusError, StatusReason};

/// kube's `mergepatch.ErrBadPatchFormatForPrimitiveList`.
pub const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
/// kube's `mergepatch.ErrBadPatchFormatForRetainKeys`.
pub const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
/// kube's `mergepatch.ErrBadPatchFormatForSetElementOrderList`.
pub const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

/// The message of `NewGenericServerResponse(422, ...)`, which kube uses for JSON patch
/// operations that fail and for lists of lists.
pub const GENERIC_INVALID: &str = "the server rejected our request due to an error in our request";

/// Media types kube accepts for PATCH of a custom resource (no strategic merge patch).
pub const CUSTOM_RESOURCE_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// A patch that cannot be applied. Each variant documents the Status it becomes;
/// [`PatchError::to_status`] builds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is not JSON, or not of the shape the patch type needs (a JSON patch that
    /// is not a list, a strategic merge patch that is not an object, an invalid merge
    /// patch). Becomes **400 BadRequest** with this message.
    #[error("{0}")]
    Decode(String),

    /// A JSON patch with more operations than kube allows ([`super::MAX_JSON_PATCH_OPERATIONS`]).
    /// Becomes **413 RequestEntityTooLarge**:
    /// `Request entity too large: The allowed maximum operations in a JSON patch is 10000, got N`.
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations { max: usize, got: usize },

    /// A JSON patch operation failed (unknown op, missing path, failed `test`, ...), or the
    /// copies of a JSON patch grew the object past [`super::MAX_JSON_PATCH_COPY_BYTES`].
    /// Becomes **422 Invalid** with kube's generic message [`GENERIC_INVALID`] (kube does
    /// not show the detail; this Display does, for logs).
    #[error("{0}")]
    JsonPatchFailed(String),

    /// A strategic merge patch directive is malformed (`$deleteFromPrimitiveList`,
    /// `$retainKeys`, `$setElementOrder`); the text is one of kube's `mergepatch` errors.
    /// Becomes **400 BadRequest** with this message.
    #[error("{0}")]
    BadPatchFormat(&'static str),

    /// A list of lists met a merging list. Becomes **422 Invalid** with [`GENERIC_INVALID`].
    #[error("lists of lists are not supported")]
    ListOfLists,

    /// Any other strategic merge failure: a list item without its merge key, an unknown
    /// `$patch` directive, a `$setElementOrder` list that disagrees with the patch list,
    /// mixed item types. kube returns these errors unwrapped, so they become
    /// **500 with an empty reason** and this message (kubectl prints `Error from server: ...`).
    #[error("{0}")]
    StrategicMergeFailed(String),

    /// The patch or the object nests deeper than [`super::MAX_PATCH_DEPTH`] levels.
    /// Becomes **400 BadRequest** with this message (kubeward's own guard).
    #[error("the patch or the object nests deeper than the limit of {limit} levels")]
    TooDeep { limit: usize },

    /// Strategic merge patch on a kind without patch metadata (custom resources).
    /// Becomes **415 UnsupportedMediaType**: `the body of the request was in an unknown
    /// format - accepted media types include: application/json-patch+json, ...`.
    #[error("the body of the request was in an unknown format - accepted media types include: {CUSTOM_RESOURCE_PATCH_TYPES}")]
    StrategicMergeNotSupported,
}

impl PatchError {
    /// The Status kube answers with for this error.
    pub fn to_status(&self) -> StatusError {
        match self {
            Self::Decode(_) | Self::BadPatchFormat(_) | Self::TooDeep { .. } => {
                StatusError::bad_request(self.to_string())
            }
            Self::TooManyOperations { .. } => StatusError::request_entity_too_large(&self.to_string()),
            Self::JsonPatchFailed(_) | Self::ListOfLists => StatusError {
                code: 422,
                reason: StatusReason::Invalid,
                message: GENERIC_INVALID.to_string(),
                details: Some(Box::default()),
                continue_token: None,
            },
            Self::StrategicMergeFailed(m) => StatusError {
                code: 500,
                reason: StatusReason::Unknown,
                message: m.clone(),
                details: None,
                continue_token: None,
            },
            Self::StrategicMergeNotSupported => StatusError {
                code: 415,
                reason: StatusReason::UnsupportedMediaType,
                message: self.to_string(),
                details: None,
                continue_token: None,
            },
        }
    }
}

impl From<PatchError> for StatusError {
    fn from(e: PatchError) -> Self {
        e.to_status()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let s = PatchError::Decode("invalid character 'x'".into()).to_status();
        assert_eq!(
            (s.code, s.reason, s.message.as_str()),
            (400, StatusReason::BadRequest, "invalid character 'x'")
        );
        let s = PatchError::TooManyOperations { max: 10000, got: 10001 }.to_status();
        assert_eq!(s.code, 413);
        assert_eq!(
            s.message,
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
        let s = PatchError::JsonPatchFailed("path is invalid".into()).to_status();
        assert_eq!((s.code, s.reason), (422, StatusReason::Invalid));
        assert_eq!(
            String::from_utf8_lossy(&s.to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}"#
        );
        let s = PatchError::BadPatchFormat(BAD_RETAIN_KEYS).to_status();
        assert_eq!((s.code, s.message.as_str()), (400, "invalid patch format of retainKeys"));
        assert_eq!(PatchError::ListOfLists.to_status().code, 422);
        let s = PatchError::StrategicMergeFailed(
            "map: map[image:x] does not contain declared merge key: name".into(),
        )
        .to_status();
        assert_eq!((s.code, s.reason), (500, StatusReason::Unknown));
        assert_eq!(s.message, "map: map[image:x] does not contain declared merge key: name");
        let s = PatchError::StrategicMergeNotSupported.to_status();
        assert_eq!((s.code, s.reason), (415, StatusReason::UnsupportedMediaType));
        assert_eq!(s.message, "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        assert_eq!(PatchError::TooDeep { limit: 128 }.to_status().code, 400);
    }
}

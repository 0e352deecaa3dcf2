//! The typed `reason` of a Status and of its causes: kube's `metav1.StatusReason` and
//! `metav1.CauseType` (k8s.io/apimachinery `pkg/apis/meta/v1/types.go`), written on the wire
//! with exactly kube's strings.

use std::fmt;

/// Why a request failed, as `metav1.StatusReason`. [`StatusReason::Unknown`] is kube's
/// `StatusReasonUnknown`, the empty string (the `reason` field is then left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusReason {
    /// `""`: no reason given; the HTTP code says what happened.
    #[default]
    Unknown,
    /// 401: the request lacks valid credentials.
    Unauthorized,
    /// 403: the requester may not do this.
    Forbidden,
    /// 404: the resource does not exist.
    NotFound,
    /// 409 on create: the resource already exists.
    AlreadyExists,
    /// 409: the update conflicts with the stored state (resourceVersion, preconditions).
    Conflict,
    /// 410: the resource is gone for good.
    Gone,
    /// 422: the object failed validation (the causes say where).
    Invalid,
    /// 500 with a retry suggestion: the server could not finish in time.
    ServerTimeout,
    /// 504: the request could not complete in the time allowed.
    Timeout,
    /// 429: too many requests; retry later.
    TooManyRequests,
    /// 400: the request itself is malformed.
    BadRequest,
    /// 405: the verb is not supported on this resource.
    MethodNotAllowed,
    /// 406: no acceptable response content type.
    NotAcceptable,
    /// 413: the request body is too large.
    RequestEntityTooLarge,
    /// 415: the request body's content type is not supported.
    UnsupportedMediaType,
    /// 500: an unexpected server error.
    InternalError,
    /// 410: the resourceVersion asked for is too old (watch, list continue).
    Expired,
    /// 503: the server (or a part it needs) is unavailable.
    ServiceUnavailable,
}

impl StatusReason {
    /// Every reason but [`StatusReason::Unknown`]: kube's `knownReasons`.
    pub const KNOWN: [StatusReason; 18] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::AlreadyExists,
        Self::Conflict,
        Self::Gone,
        Self::Invalid,
        Self::ServerTimeout,
        Self::Timeout,
        Self::TooManyRequests,
        Self::BadRequest,
        Self::MethodNotAllowed,
        Self::NotAcceptable,
        Self::RequestEntityTooLarge,
        Self::UnsupportedMediaType,
        Self::InternalError,
        Self::Expired,
        Self::ServiceUnavailable,
    ];

    /// The wire string, as kube writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::AlreadyExists => "AlreadyExists",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::Invalid => "Invalid",
            Self::ServerTimeout => "ServerTimeout",
            Self::Timeout => "Timeout",
            Self::TooManyRequests => "TooManyRequests",
            Self::BadRequest => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable => "NotAcceptable",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::InternalError => "InternalError",
            Self::Expired => "Expired",
            Self::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The reason a wire string names; any other string (a webhook's own) is
    /// [`StatusReason::Unknown`].
    pub fn from_wire(s: &str) -> Self {
        Self::KNOWN.into_iter().find(|r| r.as_str() == s).unwrap_or(Self::Unknown)
    }

    /// Whether this is one of kube's named reasons (`knownReasons`).
    pub fn is_known(self) -> bool {
        self != Self::Unknown
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of one field error in a Status's causes, as `metav1.CauseType` (field errors are
/// `field.ErrorType` values, k8s.io/apimachinery `pkg/util/validation/field/errors.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CauseType {
    /// No type: kube leaves `reason` out (the single cause of `NewInternalError`).
    #[default]
    Unspecified,
    /// `FieldValueNotFound`.
    FieldValueNotFound,
    /// `FieldValueRequired`.
    FieldValueRequired,
    /// `FieldValueDuplicate`.
    FieldValueDuplicate,
    /// `FieldValueInvalid`.
    FieldValueInvalid,
    /// `FieldValueNotSupported`.
    FieldValueNotSupported,
    /// `FieldValueForbidden`.
    FieldValueForbidden,
    /// `FieldValueTooLong`.
    FieldValueTooLong,
    /// `FieldValueTooMany`.
    FieldValueTooMany,
    /// `InternalError`.
    InternalError,
    /// `FieldValueTypeInvalid`.
    FieldValueTypeInvalid,
    /// `UnexpectedServerResponse`.
    UnexpectedServerResponse,
    /// `FieldManagerConflict`.
    FieldManagerConflict,
    /// `ResourceVersionTooLarge`.
    ResourceVersionTooLarge,
    /// `NamespaceTerminating` (core/v1 `NamespaceTerminatingCause`).
    NamespaceTerminating,
    /// `DisruptionBudget` (policy/v1 `DisruptionBudgetCause`): an eviction refused by a
    /// PodDisruptionBudget.
    DisruptionBudget,
}

impl CauseType {
    /// The wire string, as kube writes it (empty for [`CauseType::Unspecified`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "",
            Self::FieldValueNotFound => "FieldValueNotFound",
            Self::FieldValueRequired => "FieldValueRequired",
            Self::FieldValueDuplicate => "FieldValueDuplicate",
            Self::FieldValueInvalid => "FieldValueInvalid",
            Self::FieldValueNotSupported => "FieldValueNotSupported",
            Self::FieldValueForbidden => "FieldValueForbidden",
            Self::FieldValueTooLong => "FieldValueTooLong",
            Self::FieldValueTooMany => "FieldValueTooMany",
            Self::InternalError => "InternalError",
            Self::FieldValueTypeInvalid => "FieldValueTypeInvalid",
            Self::UnexpectedServerResponse => "UnexpectedServerResponse",
            Self::FieldManagerConflict => "FieldManagerConflict",
            Self::ResourceVersionTooLarge => "ResourceVersionTooLarge",
            Self::NamespaceTerminating => "NamespaceTerminating",
            Self::DisruptionBudget => "DisruptionBudget",
        }
    }
}

impl fmt::Display for CauseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for r in StatusReason::KNOWN {
            assert!(r.is_known());
            assert_eq!(StatusReason::from_wire(r.as_str()), r);
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(StatusReason::Unknown.as_str(), "");
        assert_eq!(StatusReason::from_wire(""), StatusReason::Unknown);
        assert_eq!(StatusReason::from_wire("NoSuchReason"), StatusReason::Unknown);
        assert_eq!(StatusReason::from_wire("conflict"), StatusReason::Unknown, "case matters");
        assert_eq!(CauseType::FieldValueInvalid.as_str(), "FieldValueInvalid");
        assert_eq!(CauseType::Unspecified.as_str(), "");
    }
}

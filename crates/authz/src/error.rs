//! Errors of the authz crate (malformed RBAC objects fed to the authorizer).

/// Why an RBAC object could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// The object is not one of Role, ClusterRole, RoleBinding, ClusterRoleBinding.
    #[error("unsupported RBAC kind `{0}`")]
    UnsupportedKind(String),
    /// A required field is absent or empty.
    #[error("`{0}` is required")]
    MissingField(&'static str),
    /// A field does not have the shape of the RBAC v1 API.
    #[error("invalid `{field}`: {message}")]
    InvalidField { field: &'static str, message: String },
}

//! Label and field selectors: parsing the `labelSelector` / `fieldSelector` query
//! parameters and `metav1.LabelSelector` objects, and matching objects against them.
//!
//! Owns: the selector grammars and their kube error texts. Does not own which fields a
//! resource can be selected by (the server decides, using [`FieldSelector::requirements`]).

pub mod fields;
mod label_parser;
pub mod labels;
pub mod validation;

pub use fields::{FieldOperator, FieldRequirement, FieldSelector};
pub use labels::{LabelSelector, Labels, Operator, Requirement};

use crate::quote::go_quote;
use crate::status::StatusError;

/// A selector that cannot be parsed or is not supported. The text is kube's message;
/// the server answers with it as a 400 BadRequest ([`SelectorError::to_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

impl SelectorError {
    /// `field label not supported: <f>`: the per-kind field label conversions' message
    /// (pods, nodes, events, secrets, ... and custom resources).
    pub fn field_label_not_supported(field: &str) -> Self {
        Self(format!("field label not supported: {field}"))
    }

    /// The message of kube's default field label conversion, used for kinds that register
    /// none (only `metadata.name` and `metadata.namespace` are selectable).
    pub fn not_a_known_field_selector(field: &str) -> Self {
        Self(format!(
            "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            go_quote(field)
        ))
    }

    /// The 400 BadRequest Status kube answers with.
    pub fn to_status(&self) -> StatusError {
        StatusError::bad_request(self.0.clone())
    }
}

impl From<SelectorError> for StatusError {
    fn from(e: SelectorError) -> Self {
        e.to_status()
    }
}

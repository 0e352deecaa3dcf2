//! CustomResourceDefinitions as kube's apiextensions-apiserver handles them, as pure
//! functions over `serde_json::Value`, for the server to call:
//!
//! - [`validate_crd`]`(new, old)`: kube's validation of a CRD (`apiextensions.k8s.io/v1`),
//!   its field errors with kube's messages and paths; [`validate_crd_status`] for writes to
//!   its `status`. [`prepare_for_create`] and
//!   [`prepare_for_update`] are kube's CRD strategy steps that come before it.
//! - [`Structural`]: one version of a CRD compiled for its custom resources:
//!   [`Structural::validate`] (schema, metadata, embedded resources, set/map lists, scale
//!   replicas, CEL rules compiled by [`cel`]), [`Structural::validate_status`],
//!   [`Structural::default`], [`Structural::prune`] (returns the dropped paths),
//!   [`Structural::node_at`] (list/map types for server-side apply), the published
//!   OpenAPI ([`Structural::openapi_v3`], [`Structural::openapi_v2`]), printer columns
//!   ([`Structural::table_columns`], [`Structural::table_cells`]) and selectable fields
//!   ([`Structural::selectable_field_value`]).
//! - [`scale`]: the `scale` subresource (read a Scale, write its replicas back).
//! - [`jsonpath`]: kube's JSONPath subset used by printer columns.
//!
//! Field errors are `StatusCause`s rendered by `apimachinery::field`, as kube's
//! `field.Error` prints them.

pub mod cel;
pub mod crd;
pub mod defaulting;
pub mod fieldpath;
pub mod jsonpath;
pub mod listtype;
pub mod names;
pub mod objectmeta;
pub mod openapi;
pub mod path;
pub mod printer;
pub mod props;
pub mod pruning;
mod regex_go;
pub mod scale;
pub mod structural;
pub mod validate;

pub use crd::{prepare_for_create, prepare_for_update, validate_crd, validate_crd_status};
pub use props::Props;
pub use structural::{NodeInfo, Step, Structural};

/// How deep an object is walked (validation, defaulting, pruning); deeper parts are left
/// alone. JSON decoders stop far earlier (serde_json at 128 levels).
pub const MAX_VALUE_DEPTH: usize = 1000;

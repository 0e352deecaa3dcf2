//! Server-side apply and field ownership, as kube-apiserver's field manager
//! (k8s.io/apimachinery `util/managedfields`) does them over sigs.k8s.io/structured-merge-diff.
//!
//! Bottom up:
//! - [`path`]: path elements (`f:name`, `k:{"name":"c"}`, `v:"x"`, `i:0`) and their order;
//! - [`set`]: field sets (kube's `fieldpath.Set`) and [`fieldsv1`], their `FieldsV1` JSON;
//! - [`schema`]: the [`Schema`] trait (what a node of a type tree is), the built-in kinds'
//!   schema generated from kube's OpenAPI, and the deduced schema for unknown kinds;
//! - [`typed`]: walks of an object along its schema: its field set, the comparison of two
//!   objects, the merge of an applied configuration, the removal of fields;
//! - [`updater`]: structured-merge-diff's `Updater` (update, apply with conflicts, pruning
//!   of fields an applier stopped applying);
//! - [`managed`]: `metadata.managedFields` entries in and out;
//! - [`manager`]: [`FieldManager`], kube's pipeline of managers around the updater, the
//!   only thing the API server calls.

pub mod fieldsv1;
pub mod managed;
pub mod manager;
pub mod path;
pub mod schema;
pub mod set;
pub mod typed;
pub mod updater;

pub use manager::{ApplyError, FieldManager};
pub use path::{Path, PathElement};
pub use schema::{Node, Schema};
pub use set::Set;

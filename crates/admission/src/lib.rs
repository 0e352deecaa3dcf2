//! kube-apiserver's admission layer as a library. The server calls [`Chain::run`] inside its
//! REST handlers, after decoding and defaulting and before storage, with an [`AdmissionRequest`]
//! and an [`AdmissionContext`] over its store.
//!
//! - `types`: operations, the request, the plugin traits and the store context.
//! - `chain`: kube's plugin order, default set, flags, and the two-phase run.
//! - `plugins`: the built-in plugins (a module each, or one for a kindred pair);
//!   `pod_security` and `webhook` are larger.
//! - `policy`: ValidatingAdmissionPolicy and MutatingAdmissionPolicy, over policies the
//!   server's informer feeds.
//! - `quantity`: Kubernetes resource quantities (apimachinery's, re-exported).
//! - `testing`: an in-memory context.

// Every plugin returns kube's `StatusError` as is; boxing it would only move the allocation.
#![allow(clippy::result_large_err)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod chain;
pub mod plugins;
pub mod pod_security;
pub mod policy;
pub use apimachinery::quantity;
pub mod testing;
pub mod types;
pub mod webhook;

pub use chain::{
    enabled_plugin_names, Chain, ChainError, Observer, Step, ALL_ORDERED, DEFAULT_ON,
    NOT_IMPLEMENTED_BY_DEFAULT, RECOMMENDED,
};
pub use quantity::Quantity;
pub use types::{
    AdmissionContext, AdmissionRequest, AuthzVerdict, KindResource, MutatingPlugin, ObjectSchema, Operation,
    ValidatingPlugin,
};

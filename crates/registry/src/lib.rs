//! The catalog of resources kubeward serves and each one's strategy, as kube's
//! `registry/<group>/<resource>/strategy.go` files hold them: defaulting, validation,
//! which fields field selectors may use, and the columns `kubectl get` prints.
//! Discovery and OpenAPI are generated from the catalog.

pub mod bootstrap;
pub mod catalog;
pub mod convert;
pub mod convert_hpa;
pub mod custom;
pub mod custom_ssa;
pub mod fields;
pub mod gc_policy;
mod resources;
pub mod strategy;
pub mod table;
mod typed;

pub use catalog::{Catalog, ResourceType};

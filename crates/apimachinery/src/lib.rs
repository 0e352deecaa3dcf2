//! Core types every kubeward crate shares, named as in k8s.io/apimachinery and
//! k8s.io/apiserver: the `Status` error, `RequestInfo`, `UserInfo`, authorizer
//! `Attributes` and `Decision`, label/field selectors and the three PATCH flavours.
//!
//! Nothing here does I/O; the server, authenticators, authorizers and stores build on it.

pub mod attributes;
pub mod duration;
pub mod field;
pub mod gofmt;
pub mod gvr;
pub mod json_dups;
pub mod patch;
pub mod quote;
pub mod reason;
pub mod request_info;
pub mod selectors;
pub mod status;
pub mod user;
pub mod yaml;

pub use attributes::{Attributes, Decision};
pub use gvr::GroupResource;
pub use reason::{CauseType, StatusReason};
pub use request_info::RequestInfo;
pub use status::StatusError;
pub use user::UserInfo;

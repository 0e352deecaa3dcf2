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
pub mod quantity;
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

/// A field of an object's `metadata` without the allocations of `Value::pointer` (which
/// unescapes a copy of every path segment): `obj.meta("name")` is
/// `obj.pointer("/metadata/name")`.
pub trait Meta {
    fn meta(&self, field: &str) -> Option<&serde_json::Value>;
}

impl Meta for serde_json::Value {
    fn meta(&self, field: &str) -> Option<&serde_json::Value> {
        self.get("metadata")?.get(field)
    }
}

#[cfg(test)]
mod meta_tests {
    use super::Meta;
    use serde_json::json;

    #[test]
    fn meta_reads_as_pointer() {
        let obj = json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": [1]});
        for f in ["name", "labels", "uid", ""] {
            assert_eq!(obj.meta(f), obj.pointer(&format!("/metadata/{f}")), "{f}");
        }
        assert_eq!(json!([1]).meta("name"), None);
        assert_eq!(json!({"metadata": [1]}).meta("0"), None);
    }
}

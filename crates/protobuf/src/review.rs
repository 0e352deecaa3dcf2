//! The review and token kinds: `authorization.k8s.io/v1` SubjectAccessReview,
//! SelfSubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview and
//! `authentication.k8s.io` TokenReview, TokenRequest, SelfSubjectReview. Field numbers are those
//! of k8s.io/api `authorization/v1/generated.proto` and `authentication/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::json::{Obj, ToJson};
use crate::meta::{time_json, LabelSelectorRequirement, ObjectMeta, Time};

/// SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview (whose spec only
/// uses fields 1 and 2 of the shared spec message).
#[derive(Clone, PartialEq, Message)]
pub struct SubjectAccessReview {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<SubjectAccessReviewSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<SubjectAccessReviewStatus>,
}

impl ToJson for SubjectAccessReview {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `SubjectAccessReviewSpec` (a superset of `SelfSubjectAccessReviewSpec`).
#[derive(Clone, PartialEq, Message)]
pub struct SubjectAccessReviewSpec {
    #[prost(message, optional, tag = "1")]
    pub resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    pub non_resource_attributes: Option<NonResourceAttributes>,
    #[prost(string, optional, tag = "3")]
    pub user: Option<String>,
    #[prost(string, repeated, tag = "4")]
    pub groups: Vec<String>,
    #[prost(btree_map = "string, message", tag = "5")]
    pub extra: BTreeMap<String, ExtraValue>,
    #[prost(string, optional, tag = "6")]
    pub uid: Option<String>,
}

impl ToJson for SubjectAccessReviewSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("resourceAttributes", &self.resource_attributes)
            .msg("nonResourceAttributes", &self.non_resource_attributes)
            .str("user", &self.user)
            .strs("groups", &self.groups)
            .msg_map("extra", &self.extra)
            .str("uid", &self.uid)
            .build()
    }
}

/// `ExtraValue`: a list of strings (shared by authorization and authentication).
#[derive(Clone, PartialEq, Message)]
pub struct ExtraValue {
    #[prost(string, repeated, tag = "1")]
    pub items: Vec<String>,
}

impl ToJson for ExtraValue {
    fn to_json(&self) -> Value {
        Value::from(self.items.clone())
    }
}

/// `ResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceAttributes {
    #[prost(string, optional, tag = "1")]
    pub namespace: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub verb: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub group: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub version: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub resource: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub subresource: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "8")]
    pub field_selector: Option<SelectorAttributes>,
    #[prost(message, optional, tag = "9")]
    pub label_selector: Option<SelectorAttributes>,
}

impl ToJson for ResourceAttributes {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("namespace", &self.namespace)
            .str("verb", &self.verb)
            .str("group", &self.group)
            .str("version", &self.version)
            .str("resource", &self.resource)
            .str("subresource", &self.subresource)
            .str("name", &self.name)
            .msg("fieldSelector", &self.field_selector)
            .msg("labelSelector", &self.label_selector)
            .build()
    }
}

/// `FieldSelectorAttributes` / `LabelSelectorAttributes` (same layout).
#[derive(Clone, PartialEq, Message)]
pub struct SelectorAttributes {
    #[prost(string, optional, tag = "1")]
    pub raw_selector: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub requirements: Vec<LabelSelectorRequirement>,
}

impl ToJson for SelectorAttributes {
    fn to_json(&self) -> Value {
        Obj::new().str("rawSelector", &self.raw_selector).list("requirements", &self.requirements).build()
    }
}

/// `NonResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub struct NonResourceAttributes {
    #[prost(string, optional, tag = "1")]
    pub path: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub verb: Option<String>,
}

impl ToJson for NonResourceAttributes {
    fn to_json(&self) -> Value {
        Obj::new().str("path", &self.path).str("verb", &self.verb).build()
    }
}

/// `SubjectAccessReviewStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct SubjectAccessReviewStatus {
    #[prost(bool, optional, tag = "1")]
    pub allowed: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub evaluation_error: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub denied: Option<bool>,
}

impl ToJson for SubjectAccessReviewStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .bool_always("allowed", self.allowed)
            .bool_true("denied", self.denied)
            .str("reason", &self.reason)
            .str("evaluationError", &self.evaluation_error)
            .build()
    }
}

/// `SelfSubjectRulesReview`.
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectRulesReview {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<SelfSubjectRulesReviewSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<SubjectRulesReviewStatus>,
}

impl ToJson for SelfSubjectRulesReview {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `SelfSubjectRulesReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectRulesReviewSpec {
    #[prost(string, optional, tag = "1")]
    pub namespace: Option<String>,
}

impl ToJson for SelfSubjectRulesReviewSpec {
    fn to_json(&self) -> Value {
        Obj::new().str("namespace", &self.namespace).build()
    }
}

/// `SubjectRulesReviewStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct SubjectRulesReviewStatus {
    #[prost(message, repeated, tag = "1")]
    pub resource_rules: Vec<ResourceRule>,
    #[prost(message, repeated, tag = "2")]
    pub non_resource_rules: Vec<NonResourceRule>,
    #[prost(bool, optional, tag = "3")]
    pub incomplete: Option<bool>,
    #[prost(string, optional, tag = "4")]
    pub evaluation_error: Option<String>,
}

impl ToJson for SubjectRulesReviewStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("resourceRules", &self.resource_rules)
            .list("nonResourceRules", &self.non_resource_rules)
            .bool_always("incomplete", self.incomplete)
            .str("evaluationError", &self.evaluation_error)
            .build()
    }
}

/// `ResourceRule`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceRule {
    #[prost(string, repeated, tag = "1")]
    pub verbs: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub api_groups: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    pub resources: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub resource_names: Vec<String>,
}

impl ToJson for ResourceRule {
    fn to_json(&self) -> Value {
        Obj::new()
            .strs("verbs", &self.verbs)
            .strs("apiGroups", &self.api_groups)
            .strs("resources", &self.resources)
            .strs("resourceNames", &self.resource_names)
            .build()
    }
}

/// `NonResourceRule`.
#[derive(Clone, PartialEq, Message)]
pub struct NonResourceRule {
    #[prost(string, repeated, tag = "1")]
    pub verbs: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub non_resource_urls: Vec<String>,
}

impl ToJson for NonResourceRule {
    fn to_json(&self) -> Value {
        Obj::new().strs("verbs", &self.verbs).strs("nonResourceURLs", &self.non_resource_urls).build()
    }
}

/// `authentication.TokenReview`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenReview {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<TokenReviewSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<TokenReviewStatus>,
}

impl ToJson for TokenReview {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `TokenReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenReviewSpec {
    #[prost(string, optional, tag = "1")]
    pub token: Option<String>,
    #[prost(string, repeated, tag = "2")]
    pub audiences: Vec<String>,
}

impl ToJson for TokenReviewSpec {
    fn to_json(&self) -> Value {
        Obj::new().str("token", &self.token).strs("audiences", &self.audiences).build()
    }
}

/// `TokenReviewStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenReviewStatus {
    #[prost(bool, optional, tag = "1")]
    pub authenticated: Option<bool>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<UserInfo>,
    #[prost(string, optional, tag = "3")]
    pub error: Option<String>,
    #[prost(string, repeated, tag = "4")]
    pub audiences: Vec<String>,
}

impl ToJson for TokenReviewStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .bool_true("authenticated", self.authenticated)
            .msg("user", &self.user)
            .strs("audiences", &self.audiences)
            .str("error", &self.error)
            .build()
    }
}

/// `authentication.UserInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct UserInfo {
    #[prost(string, optional, tag = "1")]
    pub username: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub uid: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub groups: Vec<String>,
    #[prost(btree_map = "string, message", tag = "4")]
    pub extra: BTreeMap<String, ExtraValue>,
}

impl ToJson for UserInfo {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("username", &self.username)
            .str("uid", &self.uid)
            .strs("groups", &self.groups)
            .msg_map("extra", &self.extra)
            .build()
    }
}

/// `authentication.TokenRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenRequest {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<TokenRequestSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<TokenRequestStatus>,
}

impl ToJson for TokenRequest {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `TokenRequestSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenRequestSpec {
    #[prost(string, repeated, tag = "1")]
    pub audiences: Vec<String>,
    #[prost(message, optional, tag = "3")]
    pub bound_object_ref: Option<BoundObjectReference>,
    #[prost(int64, optional, tag = "4")]
    pub expiration_seconds: Option<i64>,
}

impl ToJson for TokenRequestSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .strs("audiences", &self.audiences)
            .int_opt("expirationSeconds", self.expiration_seconds)
            .msg("boundObjectRef", &self.bound_object_ref)
            .build()
    }
}

/// `BoundObjectReference`.
#[derive(Clone, PartialEq, Message)]
pub struct BoundObjectReference {
    #[prost(string, optional, tag = "1")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub uid: Option<String>,
}

impl ToJson for BoundObjectReference {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("kind", &self.kind)
            .str("apiVersion", &self.api_version)
            .str("name", &self.name)
            .str("uid", &self.uid)
            .build()
    }
}

/// `TokenRequestStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct TokenRequestStatus {
    #[prost(string, optional, tag = "1")]
    pub token: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub expiration_timestamp: Option<Time>,
}

impl ToJson for TokenRequestStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("token", &self.token)
            .value("expirationTimestamp", time_json(&self.expiration_timestamp))
            .build()
    }
}

/// `authentication.SelfSubjectReview` (v1, v1beta1 and v1alpha1 share the layout).
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectReview {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub status: Option<SelfSubjectReviewStatus>,
}

impl ToJson for SelfSubjectReview {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("status", &self.status).build()
    }
}

/// `SelfSubjectReviewStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct SelfSubjectReviewStatus {
    #[prost(message, optional, tag = "1")]
    pub user_info: Option<UserInfo>,
}

impl ToJson for SelfSubjectReviewStatus {
    fn to_json(&self) -> Value {
        Obj::new().msg("userInfo", &self.user_info).build()
    }
}

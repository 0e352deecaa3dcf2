//! `k8s.io.apimachinery.pkg.apis.meta.v1` messages carried inside objects: ObjectMeta, Time,
//! MicroTime, OwnerReference, ManagedFieldsEntry, LabelSelector. Field numbers are those of apimachinery's
//! `pkg/apis/meta/v1/generated.proto`.

use std::collections::BTreeMap;

use chrono::DateTime;
use prost::Message;
use serde_json::Value;

use crate::json::{Obj, ToJson};

/// `meta.v1.ObjectMeta`.
#[derive(Clone, PartialEq, Message)]
pub struct ObjectMeta {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub generate_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub namespace: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub self_link: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub resource_version: Option<String>,
    #[prost(int64, optional, tag = "7")]
    pub generation: Option<i64>,
    #[prost(message, optional, tag = "8")]
    pub creation_timestamp: Option<Time>,
    #[prost(message, optional, tag = "9")]
    pub deletion_timestamp: Option<Time>,
    #[prost(int64, optional, tag = "10")]
    pub deletion_grace_period_seconds: Option<i64>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    pub annotations: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "13")]
    pub owner_references: Vec<OwnerReference>,
    #[prost(string, repeated, tag = "14")]
    pub finalizers: Vec<String>,
    #[prost(message, repeated, tag = "17")]
    pub managed_fields: Vec<ManagedFieldsEntry>,
}

impl ToJson for ObjectMeta {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .str("generateName", &self.generate_name)
            .str("namespace", &self.namespace)
            .str("selfLink", &self.self_link)
            .str("uid", &self.uid)
            .str("resourceVersion", &self.resource_version)
            .int_nonzero("generation", self.generation)
            .value("creationTimestamp", time_json(&self.creation_timestamp))
            .value("deletionTimestamp", time_json(&self.deletion_timestamp))
            .int_opt("deletionGracePeriodSeconds", self.deletion_grace_period_seconds)
            .str_map("labels", &self.labels)
            .str_map("annotations", &self.annotations)
            .list("ownerReferences", &self.owner_references)
            .strs("finalizers", &self.finalizers)
            .list("managedFields", &self.managed_fields)
            .build()
    }
}

/// `meta.v1.Time`: seconds and nanos since the epoch; the zero value means unset.
#[derive(Clone, PartialEq, Message)]
pub struct Time {
    #[prost(int64, optional, tag = "1")]
    pub seconds: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    pub nanos: Option<i32>,
}

/// RFC 3339 at second precision, as `metav1.Time` marshals; `None` for the zero (unset) time or
/// a value outside chrono's range.
pub(crate) fn time_json(time: &Option<Time>) -> Option<Value> {
    let seconds = time.as_ref().and_then(|t| t.seconds).filter(|s| *s != 0)?;
    let at = DateTime::from_timestamp(seconds, 0)?;
    Some(Value::from(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// `meta.v1.MicroTime`: the same layout as `Time`, marshalled with microseconds.
#[derive(Clone, PartialEq, Message)]
pub struct MicroTime {
    #[prost(int64, optional, tag = "1")]
    pub seconds: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    pub nanos: Option<i32>,
}

/// RFC 3339 with six fractional digits, as `metav1.MicroTime` marshals (`null`, so unset, for the
/// zero time); `None` also for a value outside chrono's range.
pub(crate) fn micro_time_json(time: &Option<MicroTime>) -> Option<Value> {
    let time = time.as_ref()?;
    let seconds = time.seconds.unwrap_or(0);
    let nanos = time.nanos.unwrap_or(0);
    if seconds == 0 && nanos == 0 {
        return None;
    }
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    let at = DateTime::from_timestamp(seconds, nanos)?;
    Some(Value::from(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
}

/// `meta.v1.OwnerReference`.
#[derive(Clone, PartialEq, Message)]
pub struct OwnerReference {
    #[prost(string, optional, tag = "1")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub api_version: Option<String>,
    #[prost(bool, optional, tag = "6")]
    pub controller: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub block_owner_deletion: Option<bool>,
}

impl ToJson for OwnerReference {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("apiVersion", &self.api_version)
            .str("kind", &self.kind)
            .str("name", &self.name)
            .str("uid", &self.uid)
            .bool_opt("controller", self.controller)
            .bool_opt("blockOwnerDeletion", self.block_owner_deletion)
            .build()
    }
}

/// `meta.v1.ManagedFieldsEntry`.
#[derive(Clone, PartialEq, Message)]
pub struct ManagedFieldsEntry {
    #[prost(string, optional, tag = "1")]
    pub manager: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub operation: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub api_version: Option<String>,
    #[prost(message, optional, tag = "4")]
    pub time: Option<Time>,
    #[prost(string, optional, tag = "6")]
    pub fields_type: Option<String>,
    #[prost(message, optional, tag = "7")]
    pub fields_v1: Option<FieldsV1>,
    #[prost(string, optional, tag = "8")]
    pub subresource: Option<String>,
}

/// `meta.v1.FieldsV1`: raw JSON bytes.
#[derive(Clone, PartialEq, Message)]
pub struct FieldsV1 {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub raw: Option<Vec<u8>>,
}

impl ToJson for ManagedFieldsEntry {
    fn to_json(&self) -> Value {
        // FieldsV1 holds JSON; bytes that are not JSON are dropped rather than guessed at.
        let fields = self
            .fields_v1
            .as_ref()
            .and_then(|f| f.raw.as_deref())
            .filter(|raw| !raw.is_empty())
            .and_then(|raw| serde_json::from_slice::<Value>(raw).ok());
        Obj::new()
            .str("manager", &self.manager)
            .str("operation", &self.operation)
            .str("apiVersion", &self.api_version)
            .value("time", time_json(&self.time))
            .str("fieldsType", &self.fields_type)
            .value("fieldsV1", fields)
            .str("subresource", &self.subresource)
            .build()
    }
}

/// `meta.v1.LabelSelector`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelSelector {
    #[prost(btree_map = "string, string", tag = "1")]
    pub match_labels: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "2")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl ToJson for LabelSelector {
    fn to_json(&self) -> Value {
        Obj::new()
            .str_map("matchLabels", &self.match_labels)
            .list("matchExpressions", &self.match_expressions)
            .build()
    }
}

/// `meta.v1.LabelSelectorRequirement` (also used by authorization's selector attributes).
#[derive(Clone, PartialEq, Message)]
pub struct LabelSelectorRequirement {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub operator: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub values: Vec<String>,
}

impl ToJson for LabelSelectorRequirement {
    fn to_json(&self) -> Value {
        Obj::new().str("key", &self.key).str("operator", &self.operator).strs("values", &self.values).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn micro_time_has_six_fraction_digits() {
        let at = Some(MicroTime { seconds: Some(1_199_149_261), nanos: Some(123_456_789) });
        assert_eq!(micro_time_json(&at), Some(json!("2008-01-01T01:01:01.123456Z")));
        let whole = Some(MicroTime { seconds: Some(1_199_149_261), nanos: None });
        assert_eq!(micro_time_json(&whole), Some(json!("2008-01-01T01:01:01.000000Z")));
        assert_eq!(micro_time_json(&Some(MicroTime::default())), None);
        assert_eq!(micro_time_json(&Some(MicroTime { seconds: Some(1), nanos: Some(-1) })), None);
        assert_eq!(micro_time_json(&None), None);
    }

    #[test]
    fn gogo_empty_object_meta_is_empty_json() {
        let meta = ObjectMeta {
            name: Some(String::new()),
            generate_name: Some(String::new()),
            namespace: Some(String::new()),
            self_link: Some(String::new()),
            uid: Some(String::new()),
            resource_version: Some(String::new()),
            generation: Some(0),
            creation_timestamp: Some(Time::default()),
            ..Default::default()
        };
        assert_eq!(meta.to_json(), json!({}));
    }

    #[test]
    fn full_object_meta() {
        let meta = ObjectMeta {
            name: Some("web".into()),
            generate_name: Some("web-".into()),
            namespace: Some("default".into()),
            uid: Some("u-1".into()),
            resource_version: Some("42".into()),
            generation: Some(7),
            creation_timestamp: Some(Time { seconds: Some(1_199_149_261), nanos: Some(0) }),
            labels: [("app".to_owned(), "web".to_owned())].into(),
            annotations: [("a".to_owned(), String::new())].into(),
            owner_references: vec![OwnerReference {
                kind: Some("ReplicaSet".into()),
                name: Some("rs".into()),
                uid: Some("u-0".into()),
                api_version: Some("apps/v1".into()),
                controller: Some(true),
                block_owner_deletion: None,
            }],
            finalizers: vec!["f".into()],
            ..Default::default()
        };
        assert_eq!(
            meta.to_json(),
            json!({
                "name": "web", "generateName": "web-", "namespace": "default", "uid": "u-1",
                "resourceVersion": "42", "generation": 7, "creationTimestamp": "2008-01-01T01:01:01Z",
                "labels": {"app": "web"}, "annotations": {"a": ""},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-0", "controller": true}],
                "finalizers": ["f"],
            })
        );
    }
}

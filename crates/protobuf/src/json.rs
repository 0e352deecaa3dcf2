//! The JSON side of decoding: a small object builder that applies the "empty means unset" rule
//! gogo-encoded bodies need (gogo writes every non-pointer field, even when empty), and the
//! `ToJson` trait each message implements.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

/// Turns a decoded message into the JSON object kube would read.
pub(crate) trait ToJson {
    fn to_json(&self) -> Value;
}

/// Builds a JSON object, leaving out unset and empty values.
#[derive(Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(Map::new())
    }

    /// A string field; `None` and `""` are unset.
    pub(crate) fn str(mut self, key: &str, value: &Option<String>) -> Self {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }

    /// A repeated string field; empty is unset.
    pub(crate) fn strs(mut self, key: &str, values: &[String]) -> Self {
        if !values.is_empty() {
            self.0.insert(key.into(), Value::from(values.to_vec()));
        }
        self
    }

    /// A non-pointer integer (Go `int32`/`int64`): zero is unset.
    pub(crate) fn int_nonzero<I: Into<i64>>(mut self, key: &str, value: Option<I>) -> Self {
        if let Some(v) = value.map(Into::into).filter(|v| *v != 0) {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }

    /// A pointer integer (Go `*int32`/`*int64`): present means set, even when zero.
    pub(crate) fn int_opt<I: Into<i64>>(mut self, key: &str, value: Option<I>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), Value::from(v.into()));
        }
        self
    }

    /// A repeated integer; empty is unset.
    pub(crate) fn ints<I: Copy + Into<i64>>(mut self, key: &str, values: &[I]) -> Self {
        if !values.is_empty() {
            let list: Vec<Value> = values.iter().map(|v| Value::from((*v).into())).collect();
            self.0.insert(key.into(), Value::Array(list));
        }
        self
    }

    /// A pointer bool (Go `*bool`): present means set.
    pub(crate) fn bool_opt(mut self, key: &str, value: Option<bool>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }

    /// A `bool` with `omitempty`: only `true` is written.
    pub(crate) fn bool_true(mut self, key: &str, value: Option<bool>) -> Self {
        if value == Some(true) {
            self.0.insert(key.into(), Value::from(true));
        }
        self
    }

    /// A `bool` without `omitempty`: always written, `false` when absent.
    pub(crate) fn bool_always(mut self, key: &str, value: Option<bool>) -> Self {
        self.0.insert(key.into(), Value::from(value.unwrap_or(false)));
        self
    }

    /// A nested message: written (possibly as `{}`) whenever present in the body.
    pub(crate) fn msg<T: ToJson>(mut self, key: &str, value: &Option<T>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), v.to_json());
        }
        self
    }

    /// An embedded message whose fields Go inlines into this object (`json:",inline"`).
    pub(crate) fn inline<T: ToJson>(mut self, value: &Option<T>) -> Self {
        if let Some(Value::Object(fields)) = value.as_ref().map(ToJson::to_json) {
            self.0.extend(fields);
        }
        self
    }

    /// A nested value computed by the caller; `None` is unset.
    pub(crate) fn value(mut self, key: &str, value: Option<Value>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), v);
        }
        self
    }

    /// A repeated message; empty is unset.
    pub(crate) fn list<T: ToJson>(mut self, key: &str, values: &[T]) -> Self {
        if !values.is_empty() {
            self.0.insert(key.into(), Value::Array(values.iter().map(ToJson::to_json).collect()));
        }
        self
    }

    /// A `map<string, string>`; empty is unset, entries are kept as they are.
    pub(crate) fn str_map(mut self, key: &str, map: &BTreeMap<String, String>) -> Self {
        if !map.is_empty() {
            let m: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            self.0.insert(key.into(), Value::Object(m));
        }
        self
    }

    /// A `map<string, bytes>`, values in standard base64 as Go's JSON encoder writes `[]byte`.
    pub(crate) fn bytes_map(mut self, key: &str, map: &BTreeMap<String, Vec<u8>>) -> Self {
        if !map.is_empty() {
            let engine = base64::engine::general_purpose::STANDARD;
            let m: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), Value::from(engine.encode(v)))).collect();
            self.0.insert(key.into(), Value::Object(m));
        }
        self
    }

    /// A `map<string, M>`; empty is unset.
    pub(crate) fn msg_map<T: ToJson>(mut self, key: &str, map: &BTreeMap<String, T>) -> Self {
        if !map.is_empty() {
            let m: Map<String, Value> = map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            self.0.insert(key.into(), Value::Object(m));
        }
        self
    }

    pub(crate) fn build(self) -> Value {
        Value::Object(self.0)
    }
}

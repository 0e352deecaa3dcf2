//! `metadata.managedFields` in and out: each entry names a manager (who, which operation,
//! which API version, which subresource), when it last changed something, and the fields
//! it owns as `FieldsV1`. Entries are keyed as kube keys them (`BuildManagerIdentifier`:
//! an applier is one entry whatever version it applied with; an updater one per version),
//! and written back sorted as kube sorts them (operation, time, manager, version,
//! subresource).

use crate::fieldsv1::{from_fields_v1, to_fields_v1};
use crate::set::Set;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// `managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// Who owns a field set: kube's manager identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManagerId {
    pub manager: String,
    pub operation: Operation,
    /// Empty for appliers (one entry whatever version they apply with).
    pub api_version: String,
    pub subresource: String,
}

impl ManagerId {
    /// The identifier of `manager` doing `operation` through `api_version` and `subresource`.
    pub fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        let manager = if manager.is_empty() { "unknown" } else { manager };
        Self {
            manager: manager.to_string(),
            operation,
            api_version: if operation == Operation::Apply { String::new() } else { api_version.to_string() },
            subresource: subresource.to_string(),
        }
    }

    /// How kube names a manager in conflict messages: `"name"`, then `with subresource
    /// "status"`, then for updaters `using apps/v1`.
    pub fn describe(&self) -> String {
        let mut s = apimachinery::status::quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {}", apimachinery::status::quote(&self.subresource)));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// A manager's fields and the API version they were set through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSet {
    pub set: Set,
    pub api_version: String,
    pub applied: bool,
    /// The `fieldsV1` this set was read from, written back as is while the set is unchanged
    /// (see [`VersionedSet::set_fields`]).
    pub raw: Option<Value>,
}

impl VersionedSet {
    pub fn new(set: Set, api_version: &str, applied: bool) -> Self {
        Self { set, api_version: api_version.to_string(), applied, raw: None }
    }

    /// Replaces the set with `set`, a subset of it (the fields taken away by a write).
    pub fn set_fields(&mut self, set: Set) {
        if set.len() != self.set.len() {
            self.raw = None;
        }
        self.set = set;
    }
}

/// Every manager's fields (structured-merge-diff's `ManagedFields`).
pub type ManagedFields = BTreeMap<ManagerId, VersionedSet>;

/// The decoded `managedFields`: each manager's fields and time (RFC 3339, as sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Managed {
    pub fields: ManagedFields,
    pub times: BTreeMap<ManagerId, Option<String>>,
}

impl Managed {
    /// Decodes `metadata.managedFields` entries with kube's checks (operation, apiVersion,
    /// fieldsType, the fields themselves).
    pub fn decode(entries: &[Value]) -> Result<Managed, String> {
        Self::decode_owned(entries.to_vec())
    }

    /// [`Managed::decode`] of entries the caller gives away (their `fieldsV1` are kept).
    pub fn decode_owned(entries: Vec<Value>) -> Result<Managed, String> {
        let mut out = Managed::default();
        for (i, mut e) in entries.into_iter().enumerate() {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            let operation = match s("operation") {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".into()),
            };
            if s("apiVersion").is_empty() {
                return Err("apiVersion must not be empty".into());
            }
            match s("fieldsType") {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {} in managed fields entry {i}",
                        apimachinery::status::quote(other)
                    ))
                }
            }
            let id = ManagerId::new_raw(s("manager"), operation, s("apiVersion"), s("subresource"));
            let api_version = s("apiVersion").to_string();
            let time = e.get("time").and_then(Value::as_str).map(str::to_string);
            let raw = e.as_object_mut().and_then(|o| o.remove("fieldsV1")).filter(|v| !v.is_null());
            let set = match &raw {
                None => Set::new(),
                Some(v) => from_fields_v1(v).map_err(|err| format!("error decoding set: {err}"))?,
            };
            let mut vs = VersionedSet::new(set, &api_version, operation == Operation::Apply);
            vs.raw = raw;
            out.fields.insert(id.clone(), vs);
            out.times.insert(id, time);
        }
        Ok(out)
    }

    /// The `managedFields` entries, sorted as kube sorts them; `None` when there are none
    /// (the field is then left out).
    pub fn encode(&self) -> Option<Value> {
        self.clone().into_entries()
    }

    /// [`Managed::encode`], giving the kept `fieldsV1` away instead of copying them.
    pub fn into_entries(mut self) -> Option<Value> {
        if self.fields.is_empty() {
            return None;
        }
        let fields = std::mem::take(&mut self.fields);
        let mut entries: Vec<(ManagerId, VersionedSet, Option<String>)> = fields
            .into_iter()
            .map(|(id, vs)| {
                let time = self.times.get(&id).cloned().flatten();
                (id, vs, time)
            })
            .collect();
        entries.sort_by(|a, b| {
            let op = |x: &(ManagerId, VersionedSet, Option<String>)| {
                if x.1.applied {
                    Operation::Apply
                } else {
                    x.0.operation
                }
            };
            op(a)
                .as_str()
                .cmp(op(b).as_str())
                .then_with(|| unix_seconds(a.2.as_ref()).cmp(&unix_seconds(b.2.as_ref())))
                .then_with(|| a.0.manager.cmp(&b.0.manager))
                .then_with(|| a.1.api_version.cmp(&b.1.api_version))
                .then_with(|| a.0.subresource.cmp(&b.0.subresource))
        });
        let list = entries
            .into_iter()
            .map(|(id, vs, time)| {
                let mut m = Map::new();
                m.insert("manager".into(), json!(id.manager));
                let op = if vs.applied { Operation::Apply } else { id.operation };
                m.insert("operation".into(), json!(op.as_str()));
                m.insert("apiVersion".into(), json!(vs.api_version));
                if let Some(t) = time {
                    m.insert("time".into(), json!(t));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                let fields = match vs.raw {
                    Some(raw) => raw,
                    None => to_fields_v1(&vs.set),
                };
                m.insert("fieldsV1".into(), fields);
                if !id.subresource.is_empty() {
                    m.insert("subresource".into(), json!(id.subresource));
                }
                Value::Object(m)
            })
            .collect();
        Some(Value::Array(list))
    }
}

impl ManagerId {
    /// An identifier as decoded from an entry (no `unknown` default for an empty manager).
    fn new_raw(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        Self {
            manager: manager.to_string(),
            operation,
            api_version: if operation == Operation::Apply { String::new() } else { api_version.to_string() },
            subresource: subresource.to_string(),
        }
    }
}

/// Seconds since the epoch of an RFC 3339 time (0 when absent or unreadable), for ordering.
pub fn unix_seconds(t: Option<&String>) -> i64 {
    t.and_then(|t| parse_rfc3339(t)).unwrap_or(0)
}

fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600 + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_encode_round_trip_sorted() {
        let entries = json!([
            {"manager": "b", "operation": "Update", "apiVersion": "apps/v1", "time": "2024-01-01T00:00:02Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2024-01-01T00:00:09Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "apps/v1", "time": "2024-01-01T00:00:02Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}, "subresource": "status"}
        ]);
        let m = Managed::decode(entries.as_array().unwrap()).unwrap();
        let out = m.encode().unwrap();
        let names: Vec<&str> =
            out.as_array().unwrap().iter().map(|e| e["manager"].as_str().unwrap()).collect();
        assert_eq!(names, ["kubectl", "a", "b"]);
        assert_eq!(out[1]["subresource"], "status");
        assert_eq!(out[0]["fieldsV1"], json!({"f:metadata": {"f:labels": {"f:a": {}}}}));
        assert!(Managed::default().encode().is_none());
    }

    #[test]
    fn decode_checks_like_kube() {
        let bad = |e: Value| Managed::decode(&[e]).unwrap_err();
        assert_eq!(bad(json!({})), "operation must be `Apply` or `Update`");
        assert_eq!(bad(json!({"operation": "Apply"})), "apiVersion must not be empty");
        assert_eq!(
            bad(json!({"operation": "Apply", "apiVersion": "v1"})),
            "missing fieldsType in managed fields entry 0"
        );
        assert!(bad(json!({"operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:a": 1}}))
            .starts_with("error decoding set"));
    }

    #[test]
    fn appliers_share_one_entry_across_versions() {
        assert_eq!(
            ManagerId::new("k", Operation::Apply, "apps/v1", ""),
            ManagerId::new("k", Operation::Apply, "apps/v1beta1", "")
        );
        assert_ne!(
            ManagerId::new("k", Operation::Update, "apps/v1", ""),
            ManagerId::new("k", Operation::Update, "apps/v1beta1", "")
        );
        assert_eq!(ManagerId::new("", Operation::Update, "v1", "").manager, "unknown");
        assert_eq!(
            ManagerId::new("kube-controller-manager", Operation::Update, "apps/v1", "status").describe(),
            r#""kube-controller-manager" with subresource "status" using apps/v1"#
        );
    }

    #[test]
    fn rfc3339_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-03-01T12:30:45Z"), Some(1709296245));
        assert_eq!(parse_rfc3339("2024-03-01T13:30:45.123+01:00"), Some(1709296245));
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}

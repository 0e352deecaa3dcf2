//! Conversion between a resource's serialization and that of the resource whose storage it
//! shares. kube keeps events.k8s.io/v1 Events and core v1 Events as one object (the internal
//! `core.Event`); kubeward stores core v1 Events and converts events.k8s.io/v1 on the way in
//! and out, with the field mapping of kube's `pkg/apis/events/v1/conversion.go`. Likewise
//! autoscaling/v1 HorizontalPodAutoscalers are stored as autoscaling/v2 ([`crate::convert_hpa`]).

use crate::ResourceType;
use serde_json::{json, Map, Value};

/// `(events.k8s.io/v1 field, core v1 field)`; the other fields share their names.
const EVENT_FIELDS: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_v1(rt: &ResourceType) -> bool {
    rt.stored_as.is_some() && rt.group == "events.k8s.io" && rt.kind == "Event"
}

/// A built-in kind served in another version of the same shape than the one stored
/// (v1alpha1 MutatingAdmissionPolicies, stored as v1beta1): only `apiVersion` changes.
fn is_other_version(rt: &ResourceType) -> bool {
    !rt.custom && rt.stored_as.is_some() && !rt.storage_version.is_empty()
}

/// autoscaling/v1 HorizontalPodAutoscalers, stored as autoscaling/v2 ([`crate::convert_hpa`]).
fn is_hpa_v1(rt: &ResourceType) -> bool {
    rt.stored_as.is_some() && rt.group == "autoscaling" && rt.kind == "HorizontalPodAutoscaler"
}

fn rename(obj: Value, api_version: &str, pairs: impl Iterator<Item = (&'static str, &'static str)>) -> Value {
    let Value::Object(mut m) = obj else { return obj };
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    if let Some(meta) = m.remove("metadata") {
        out.insert("metadata".into(), meta);
    }
    let pairs: Vec<_> = pairs.collect();
    for (k, v) in m {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        let name = pairs.iter().find(|(from, _)| *from == k).map_or(k.clone(), |(_, to)| (*to).to_string());
        out.insert(name, v);
    }
    Value::Object(out)
}

/// A custom resource in another version: kube's `None` conversion strategy changes only
/// `apiVersion`.
fn with_api_version(mut obj: Value, api_version: String) -> Value {
    if let Some(m) = obj.as_object_mut() {
        if m.get("apiVersion").and_then(Value::as_str) != Some(api_version.as_str()) {
            m.insert("apiVersion".into(), Value::String(api_version));
        }
    }
    obj
}

/// Whether `obj`, served as `rt`, is already in the serialization its storage holds (a
/// custom resource in its storage version: [`to_storage`] would change nothing).
pub fn stored_as_is(rt: &ResourceType, obj: &Value) -> bool {
    rt.custom
        && obj.get("apiVersion").and_then(Value::as_str).is_some_and(|v| {
            v.strip_prefix(rt.group).and_then(|r| r.strip_prefix('/')) == Some(rt.storage_version)
        })
}

/// `obj`, served as `rt`, in the serialization its storage holds.
pub fn to_storage(rt: &ResourceType, obj: Value) -> Value {
    if is_other_version(rt) {
        return with_api_version(obj, format!("{}/{}", rt.group, rt.storage_version));
    }
    if rt.custom {
        return with_api_version(obj, format!("{}/{}", rt.group, rt.storage_version));
    }
    if is_hpa_v1(rt) {
        let mut v2 = crate::convert_hpa::v1_to_v2(obj);
        crate::strategy::default_hpa_v2(&mut v2);
        return v2;
    }
    if !is_events_v1(rt) {
        return obj;
    }
    event_to_core(obj)
}

/// An events.k8s.io/v1 Event as the core v1 Event it is.
pub fn event_to_core(obj: Value) -> Value {
    rename(obj, "v1", EVENT_FIELDS.into_iter())
}

/// `obj`, as its storage holds it, in `rt`'s serialization.
pub fn from_storage(rt: &ResourceType, obj: Value) -> Value {
    if is_other_version(rt) {
        return with_api_version(obj, rt.api_version());
    }
    if rt.custom {
        let mut obj = with_api_version(obj, rt.api_version());
        crate::strategy::default_on_read(rt, &mut obj);
        return obj;
    }
    if is_hpa_v1(rt) {
        return crate::convert_hpa::v2_to_v1(obj);
    }
    if !is_events_v1(rt) {
        return obj;
    }
    let mut v = rename(obj, rt.api_version().as_str(), EVENT_FIELDS.into_iter().map(|(a, b)| (b, a)));
    // events.k8s.io/v1's JSON: its omitempty strings and count are left out when empty;
    // the legacy source and timestamps (structs, which omitempty does not omit) are always
    // written, `{}` and `null` when unset.
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, x| match k.as_str() {
            "reportingController" | "reportingInstance" | "action" | "reason" | "note" | "type" => x != "",
            "deprecatedCount" => !(x.is_null() || x == &json!(0)),
            _ => true,
        });
        m.entry("deprecatedSource").or_insert_with(|| json!({}));
        m.entry("deprecatedFirstTimestamp").or_insert(Value::Null);
        m.entry("deprecatedLastTimestamp").or_insert(Value::Null);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn events_convert_both_ways() {
        let c = Catalog::builtin();
        let rt = c.lookup("events.k8s.io", "v1", "events").unwrap();
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hi", "reason": "Started",
            "reportingController": "kubeward.io/test", "eventTime": "2026-01-01T00:00:00.000000Z"});
        let core = to_storage(rt, v1.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["reportingComponent"], "kubeward.io/test");
        let mut expected = v1.clone();
        expected["deprecatedSource"] = json!({});
        expected["deprecatedFirstTimestamp"] = Value::Null;
        expected["deprecatedLastTimestamp"] = Value::Null;
        assert_eq!(from_storage(rt, core), expected);
        let alpha =
            c.lookup("admissionregistration.k8s.io", "v1alpha1", "mutatingadmissionpolicies").unwrap();
        let stored = to_storage(
            alpha,
            json!({"apiVersion": "admissionregistration.k8s.io/v1alpha1", "kind": "MutatingAdmissionPolicy"}),
        );
        assert_eq!(stored["apiVersion"], "admissionregistration.k8s.io/v1beta1");
        assert_eq!(from_storage(alpha, stored)["apiVersion"], "admissionregistration.k8s.io/v1alpha1");
        let pods = c.lookup("", "v1", "pods").unwrap();
        assert_eq!(to_storage(pods, json!({"a": 1})), json!({"a": 1}));
    }
}

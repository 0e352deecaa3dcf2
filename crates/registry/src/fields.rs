//! Fields each resource supports in field selectors (kube's `GetAttrs`/`SelectableFields`),
//! and their values for an object.

use crate::ResourceType;
use serde_json::Value;

/// Field paths usable in a field selector on this resource.
pub fn supported(rt: &ResourceType) -> &'static [&'static str] {
    match rt.kind {
        "Pod" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Secret" => &["metadata.name", "metadata.namespace", "type"],
        "Namespace" => &["metadata.name", "status.phase"],
        "Node" => &["metadata.name", "spec.unschedulable"],
        "Event" => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        _ if rt.namespaced => &["metadata.name", "metadata.namespace"],
        _ => &["metadata.name"],
    }
}

/// The value of a supported field for `obj`, as kube's selectors compare it (strings;
/// absent string fields are `""`, booleans `"true"`/`"false"`).
pub fn value(obj: &Value, field: &str) -> Option<String> {
    if field == "source" {
        return Some(
            obj.pointer("/source/component").and_then(Value::as_str).unwrap_or_default().to_string(),
        );
    }
    let pointer = format!("/{}", field.replace('.', "/"));
    Some(match obj.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None if field == "spec.hostNetwork" || field == "spec.unschedulable" => "false".into(),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values() {
        let pod = json!({"metadata":{"name":"a","namespace":"d"},"status":{"phase":"Running"}});
        assert_eq!(value(&pod, "status.phase").as_deref(), Some("Running"));
        assert_eq!(value(&pod, "spec.nodeName").as_deref(), Some(""));
        assert_eq!(value(&pod, "spec.hostNetwork").as_deref(), Some("false"));
    }
}

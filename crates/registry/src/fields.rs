//! Fields each resource supports in field selectors (kube's field label conversion funcs in
//! `pkg/apis/<group>/<version>/conversion.go` and the strategies' `GetAttrs`), and their
//! values for an object. Kinds without their own get `metadata.name` (and
//! `metadata.namespace` when namespaced), as apps/v1 kinds do in kube.

use crate::ResourceType;
use serde_json::Value;

/// Field paths usable in a field selector on this resource.
pub fn supported(rt: &ResourceType) -> &'static [&'static str] {
    if rt.custom {
        return rt.selectable_fields;
    }
    match (rt.group, rt.kind) {
        ("", "Pod") => &[
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
        ("", "Secret") => &["metadata.name", "metadata.namespace", "type"],
        ("", "Namespace") => &["metadata.name", "status.phase"],
        ("", "Node") => &["metadata.name", "spec.unschedulable"],
        ("", "Service") => &["metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"],
        ("", "ReplicationController") => &["metadata.name", "metadata.namespace", "status.replicas"],
        ("batch", "Job") => &["metadata.name", "metadata.namespace", "status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle") => {
            &["metadata.name", "spec.signerName"]
        }
        // kube's pkg/apis/events/v1/conversion.go: the events.k8s.io names of the core fields.
        ("events.k8s.io", "Event") => &[
            "metadata.name",
            "metadata.namespace",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "Event") => &[
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
    // Job's label and field differ: kube selects on `Status.Succeeded`.
    let path = if field == "status.successful" { "status.succeeded" } else { field };
    let pointer = format!("/{}", path.replace('.', "/"));
    Some(match obj.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None if field == "spec.hostNetwork" || field == "spec.unschedulable" => "false".into(),
        None if field == "status.replicas" || field == "status.successful" => "0".into(),
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
        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(value(&job, "status.successful").as_deref(), Some("2"));
        assert_eq!(value(&json!({}), "status.replicas").as_deref(), Some("0"));
        let c = crate::Catalog::builtin();
        let ev = c.lookup("events.k8s.io", "v1", "events").unwrap();
        assert!(supported(ev).contains(&"regarding.name"));
        assert!(!supported(ev).contains(&"involvedObject.name"));
    }
}

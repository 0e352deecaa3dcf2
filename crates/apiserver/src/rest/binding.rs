//! `POST pods/<name>/binding` (core v1 Binding), as kube's BindingREST: a scheduler assigns a
//! Pod to a node. The Pod gets `spec.nodeName`, the binding's annotations and a
//! `PodScheduled=True` condition; a Pod already assigned or being deleted is a conflict.

use crate::context::Ctx;
use crate::objects::{decode_kv, now_rfc3339};
use crate::response::{self, Body};
use apimachinery::field::{not_supported, required};
use apimachinery::gvr::GroupKind;
use apimachinery::StatusError;
use http::Response;
use registry::ResourceType;
use serde_json::{json, Map, Value};

/// Binds the Pod `name` (from the URL, or for the legacy `bindings` resource the Binding's own
/// name) as `body` says.
pub async fn create(
    ctx: &Ctx,
    pods: &ResourceType,
    name: &str,
    body: Value,
) -> Result<Response<Body>, StatusError> {
    let ns = ctx.info.namespace.as_str();
    let given = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if given != name {
        return Err(StatusError::bad_request("name in URL does not match name in Binding object"));
    }
    validate(&body)?;
    let node = body.pointer("/target/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let annotations = body.pointer("/metadata/annotations").and_then(Value::as_object).cloned();
    let objects = &ctx.state.objects;
    for _ in 0..5 {
        let kv = objects.get_raw(pods, ns, name).await?;
        let mut pod =
            decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        if pod.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(conflict(
                pods,
                name,
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let assigned = pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default();
        if !assigned.is_empty() {
            return Err(conflict(
                pods,
                name,
                &format!("pod {name} is already assigned to node {}", apimachinery::status::quote(assigned)),
            ));
        }
        assign(&mut pod, &node, annotations.as_ref());
        match objects.update(pods, ns, name, &pod, Some(kv.mod_revision)).await {
            Ok(_) => {
                let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
                return Ok(response::json(201, &status));
            }
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StatusError::stale_update(&pods.group_resource(), name))
}

fn conflict(pods: &ResourceType, name: &str, why: &str) -> StatusError {
    StatusError::conflict(&pods.group_resource(), name, why)
}

/// kube's `ValidateBinding`: a target name, of a Node (or no kind).
fn validate(body: &Value) -> Result<(), StatusError> {
    let mut causes = Vec::new();
    let kind = body.pointer("/target/kind").and_then(Value::as_str).unwrap_or_default();
    if !kind.is_empty() && kind != "Node" {
        causes.push(not_supported("target.kind", kind, &["Node", "<empty>"]));
    }
    if body.pointer("/target/name").and_then(Value::as_str).unwrap_or_default().is_empty() {
        causes.push(required("target.name"));
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    Err(StatusError::invalid(&GroupKind { group: String::new(), kind: "Binding".into() }, name, causes))
}

/// The Pod on `node`: its node name, the binding's annotations, and `PodScheduled=True`.
fn assign(pod: &mut Value, node: &str, annotations: Option<&Map<String, Value>>) {
    pod["spec"]["nodeName"] = json!(node);
    if let Some(extra) = annotations.filter(|a| !a.is_empty()) {
        let meta = pod.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| json!({})));
        if let Some(Value::Object(m)) = meta {
            let own = m.entry("annotations").or_insert_with(|| json!({}));
            if let Some(own) = own.as_object_mut() {
                for (k, v) in extra {
                    own.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let condition = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": now_rfc3339()});
    let status = pod.as_object_mut().map(|o| o.entry("status").or_insert_with(|| json!({})));
    if let Some(Value::Object(s)) = status {
        let conditions = s.entry("conditions").or_insert_with(|| json!([]));
        if let Some(list) = conditions.as_array_mut() {
            match list.iter_mut().find(|c| c.get("type") == Some(&json!("PodScheduled"))) {
                Some(existing) => *existing = condition,
                None => list.push(condition),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_sets_node_annotations_and_the_scheduled_condition() {
        let mut pod =
            json!({"metadata": {"name": "p"}, "spec": {}, "status": {"conditions": [{"type": "Ready"}]}});
        let annotations = json!({"scheduled-by": "test"});
        assign(&mut pod, "node-a", annotations.as_object());
        assert_eq!(pod["spec"]["nodeName"], "node-a");
        assert_eq!(pod["metadata"]["annotations"]["scheduled-by"], "test");
        assert_eq!(pod["status"]["conditions"][1]["type"], "PodScheduled");
        assert_eq!(pod["status"]["conditions"][1]["status"], "True");
        let missing = validate(&json!({"metadata": {"name": "p"}, "target": {"kind": "Pod"}})).unwrap_err();
        assert_eq!(missing.code, 422);
        assert!(missing.message.contains("target.name: Required value"), "{}", missing.message);
    }
}

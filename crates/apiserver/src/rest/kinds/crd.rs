//! CustomResourceDefinition: as kube's CRD registry (`customresourcedefinition/etcd.go`), the
//! first delete adds the `customresourcecleanup.apiextensions.k8s.io` finalizer and marks the
//! CRD for deletion; the CRD controller deletes its objects, then drops the finalizer.

use registry::custom::CLEANUP_FINALIZER;
use serde_json::{json, Value};

pub struct CustomResourceDefinition;

impl super::KindHooks for CustomResourceDefinition {
    fn has_own_finalizers(&self, _obj: &Value) -> bool {
        true
    }

    fn mark_for_deletion(&self, obj: &mut Value) {
        // kube's CRD delete sets the deletion time alone (no grace period) and the condition.
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.shift_remove("deletionGracePeriodSeconds");
        }
        set_terminating(obj);
        let meta = &mut obj["metadata"];
        if !meta["finalizers"].is_array() {
            meta["finalizers"] = json!([]);
        }
        if let Some(f) = meta["finalizers"].as_array_mut() {
            if !f.iter().any(|x| x == CLEANUP_FINALIZER) {
                f.push(json!(CLEANUP_FINALIZER));
            }
        }
    }
}

/// The `Terminating` condition kube's CRD delete sets before the instances are removed.
fn set_terminating(crd: &mut Value) {
    let condition = json!({"type": "Terminating", "status": "True",
        "lastTransitionTime": crate::objects::now_rfc3339(), "reason": "InstanceDeletionPending",
        "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"});
    if !crd["status"]["conditions"].is_array() {
        crd["status"]["conditions"] = json!([]);
    }
    if let Some(list) = crd["status"]["conditions"].as_array_mut() {
        match list.iter_mut().find(|c| c["type"] == "Terminating") {
            Some(existing) => *existing = condition,
            None => list.push(condition),
        }
    }
}

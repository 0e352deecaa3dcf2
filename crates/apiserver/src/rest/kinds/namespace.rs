//! Namespace: the system namespaces cannot be deleted; deletion marks the namespace
//! Terminating while `spec.finalizers` (kube's `kubernetes` finalizer) holds it, and the
//! namespace controller empties it before it goes.

use apimachinery::StatusError;
use registry::ResourceType;
use serde_json::{json, Value};

use admission::plugins::namespace_lifecycle::IMMORTAL_NAMESPACES;

pub struct Namespace;

impl super::KindHooks for Namespace {
    fn check_delete(&self, rt: &ResourceType, name: &str) -> Result<(), StatusError> {
        if IMMORTAL_NAMESPACES.contains(&name) {
            return Err(StatusError::forbidden(
                &rt.group_resource(),
                name,
                "this namespace may not be deleted",
            ));
        }
        Ok(())
    }

    fn has_own_finalizers(&self, obj: &Value) -> bool {
        obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
    }

    fn mark_for_deletion(&self, obj: &mut Value) {
        // kube's namespace delete sets the deletion time alone (no grace period).
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.shift_remove("deletionGracePeriodSeconds");
        }
        obj["status"]["phase"] = json!("Terminating");
    }
}

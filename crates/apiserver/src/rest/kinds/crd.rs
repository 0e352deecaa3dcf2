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

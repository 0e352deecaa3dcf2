//! Two storage plugins:
//!
//! - StorageObjectInUseProtection (plugin/pkg/admission/storage/storageobjectinuseprotection):
//!   mutating, on create, a PersistentVolumeClaim gets the `kubernetes.io/pvc-protection`
//!   finalizer and a PersistentVolume `kubernetes.io/pv-protection`, so neither goes while in use
//!   (kube's protection controllers remove them), and a VolumeAttributesClass
//!   `kubernetes.io/vac-protection` (kube 1.34, where the class is GA).
//! - PersistentVolumeClaimResize (plugin/pkg/admission/storage/persistentvolume/resize):
//!   validating, on update, a claim may grow `spec.resources.requests.storage` only when it is
//!   Bound and its StorageClass (unchanged by the update) has `allowVolumeExpansion: true`.
//!   Shrinking is left to validation.

use super::default_class::BETA_STORAGE_CLASS;
use crate::quantity::{self, Quantity};
use crate::types::{
    at, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const STORAGE_OBJECT_IN_USE_PROTECTION: &str = "StorageObjectInUseProtection";
pub const PERSISTENT_VOLUME_CLAIM_RESIZE: &str = "PersistentVolumeClaimResize";
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";
pub const VAC_PROTECTION_FINALIZER: &str = "kubernetes.io/vac-protection";

#[derive(Debug, Default)]
pub struct StorageObjectInUseProtection;

#[derive(Debug, Default)]
pub struct PersistentVolumeClaimResize;

/// Appends `finalizer` to `metadata.finalizers` unless it is there.
fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let Some(meta) = obj.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| json!({}))) else {
        return;
    };
    let Some(meta) = meta.as_object_mut() else { return };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if list.is_null() {
        *list = json!([]);
    }
    if let Some(list) = list.as_array_mut() {
        if !list.iter().any(|f| f.as_str() == Some(finalizer)) {
            list.push(json!(finalizer));
        }
    }
}

#[async_trait]
impl MutatingPlugin for StorageObjectInUseProtection {
    fn name(&self) -> &'static str {
        STORAGE_OBJECT_IN_USE_PROTECTION
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn admit(
        &self,
        req: &mut AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        let finalizer = if req.is("", "persistentvolumeclaims") {
            PVC_PROTECTION_FINALIZER
        } else if req.is("", "persistentvolumes") {
            PV_PROTECTION_FINALIZER
        } else if req.is("storage.k8s.io", "volumeattributesclasses") {
            VAC_PROTECTION_FINALIZER
        } else {
            return Ok(());
        };
        if let Some(obj) = req.object.as_mut() {
            add_finalizer(obj, finalizer);
        }
        Ok(())
    }
}

/// `helper.GetPersistentVolumeClaimClass`: the beta annotation first, then
/// `spec.storageClassName`, else no class.
fn pvc_class(pvc: &Value) -> &str {
    str_at(pvc, &["metadata", "annotations", BETA_STORAGE_CLASS])
        .or_else(|| str_at(pvc, &["spec", "storageClassName"]))
        .unwrap_or("")
}

/// The requested storage; none (or an unparsable one, which validation refuses) is zero, as a
/// missing key of a Go ResourceList is.
fn requested_storage(pvc: &Value) -> Quantity {
    at(pvc, &["spec", "resources", "requests", "storage"])
        .and_then(quantity::from_json)
        .unwrap_or_else(Quantity::zero)
}

/// `allowResize`: the same class before and after, and that class allows expansion. A class
/// that cannot be read counts as not allowing it, as kube's lister error does.
async fn allow_resize(pvc: &Value, old: &Value, ctx: &dyn AdmissionContext) -> bool {
    let class = pvc_class(pvc);
    if class.is_empty() || class != pvc_class(old) {
        return false;
    }
    match ctx.get("storage.k8s.io", "storageclasses", "", class).await {
        Ok(Some(sc)) => at(&sc, &["allowVolumeExpansion"]).and_then(Value::as_bool).unwrap_or(false),
        Ok(None) | Err(_) => false,
    }
}

#[async_trait]
impl ValidatingPlugin for PersistentVolumeClaimResize {
    fn name(&self) -> &'static str {
        PERSISTENT_VOLUME_CLAIM_RESIZE
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Update
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "persistentvolumeclaims") {
            return Ok(());
        }
        let (Some(pvc), Some(old)) = (req.object.as_ref(), req.old_object.as_ref()) else { return Ok(()) };
        if requested_storage(pvc) <= requested_storage(old) {
            return Ok(());
        }
        if str_at(old, &["status", "phase"]) != Some("Bound") {
            return Err(req.forbidden("Only bound persistent volume claims can be expanded"));
        }
        if !allow_resize(pvc, old, ctx).await {
            return Err(req.forbidden(
                "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;

    const NOT_ALLOWED: &str = "persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";

    fn create(resource: &str, kind: &str, obj: Value) -> AdmissionRequest {
        let ns = if resource == "persistentvolumes" { "" } else { "ns" };
        AdmissionRequest::new(Operation::Create, ("", "v1", kind), resource, ns, "", UserInfo::default())
            .with_object(obj)
    }

    fn claim(size: &str, class: &str, phase: &str) -> Value {
        json!({"metadata": {"name": "data", "namespace": "ns"},
               "spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}},
               "status": {"phase": phase}})
    }

    fn resize(old: Value, new: Value) -> AdmissionRequest {
        AdmissionRequest::new(
            Operation::Update,
            ("", "v1", "PersistentVolumeClaim"),
            "persistentvolumeclaims",
            "ns",
            "data",
            UserInfo::default(),
        )
        .with_object(new)
        .with_old_object(old)
    }

    fn storage_class(ctx: &MemoryContext, name: &str, expansion: Option<bool>) {
        let mut sc = json!({"metadata": {"name": name}, "provisioner": "example.com/disk"});
        if let Some(e) = expansion {
            sc["allowVolumeExpansion"] = json!(e);
        }
        ctx.put("storage.k8s.io", "storageclasses", sc);
    }

    #[tokio::test]
    async fn claims_and_volumes_get_their_protection_finalizer_once() {
        let ctx = MemoryContext::new();
        let mut req = create(
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "data", "finalizers": ["example.com/keep"]}}),
        );
        StorageObjectInUseProtection.admit(&mut req, &ctx).await.unwrap();
        StorageObjectInUseProtection.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(
            req.object.unwrap()["metadata"]["finalizers"],
            json!(["example.com/keep", PVC_PROTECTION_FINALIZER])
        );
        let mut req = create("persistentvolumes", "PersistentVolume", json!({"metadata": {"name": "pv1"}}));
        StorageObjectInUseProtection.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap()["metadata"]["finalizers"], json!([PV_PROTECTION_FINALIZER]));
        // other kinds and subresources are untouched
        let cm = json!({"metadata": {"name": "c"}});
        let mut req = create("configmaps", "ConfigMap", cm.clone());
        StorageObjectInUseProtection.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap(), cm);
        let pvc = json!({"metadata": {"name": "data"}});
        let mut req =
            create("persistentvolumeclaims", "PersistentVolumeClaim", pvc.clone()).with_subresource("status");
        StorageObjectInUseProtection.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap(), pvc);
    }

    #[tokio::test]
    async fn growing_needs_a_class_that_allows_expansion() {
        let ctx = MemoryContext::new();
        storage_class(&ctx, "fast", Some(true));
        storage_class(&ctx, "fixed", Some(false));
        storage_class(&ctx, "unset", None);
        let p = PersistentVolumeClaimResize;
        p.validate(&resize(claim("1Gi", "fast", "Bound"), claim("2Gi", "fast", "Bound")), &ctx)
            .await
            .unwrap();
        for class in ["fixed", "unset", "missing", ""] {
            let e = p
                .validate(&resize(claim("1Gi", class, "Bound"), claim("2Gi", class, "Bound")), &ctx)
                .await
                .unwrap_err();
            assert_eq!(e.code, 403, "{class}");
            assert_eq!(e.message, NOT_ALLOWED, "{class}");
        }
        // moving to another class while growing is refused even if that class allows it
        let e = p
            .validate(&resize(claim("1Gi", "fixed", "Bound"), claim("2Gi", "fast", "Bound")), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.message, NOT_ALLOWED);
    }

    #[tokio::test]
    async fn only_bound_claims_grow_and_the_beta_annotation_names_the_class() {
        let ctx = MemoryContext::new();
        storage_class(&ctx, "fast", Some(true));
        let p = PersistentVolumeClaimResize;
        let e = p
            .validate(&resize(claim("1Gi", "fast", "Pending"), claim("2Gi", "fast", "Pending")), &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            e.message,
            "persistentvolumeclaims \"data\" is forbidden: Only bound persistent volume claims can be expanded"
        );
        let mut old = claim("1Gi", "", "Bound");
        old["metadata"]["annotations"] = json!({BETA_STORAGE_CLASS: "fast"});
        let mut new = old.clone();
        new["spec"]["resources"]["requests"]["storage"] = json!("1.5Gi");
        p.validate(&resize(old, new), &ctx).await.unwrap();
    }

    #[tokio::test]
    async fn same_size_shrink_and_unreadable_classes() {
        let ctx = MemoryContext::new();
        ctx.unserve("storage.k8s.io", "storageclasses");
        let p = PersistentVolumeClaimResize;
        // not growing: no lookup at all (1024Mi is 1Gi; shrinking is validation's to refuse)
        p.validate(&resize(claim("1Gi", "fast", "Pending"), claim("1024Mi", "fast", "Pending")), &ctx)
            .await
            .unwrap();
        p.validate(&resize(claim("2Gi", "fast", "Bound"), claim("1Gi", "fast", "Bound")), &ctx)
            .await
            .unwrap();
        // a class that cannot be read does not allow expansion (kube's lister error)
        let e = p
            .validate(&resize(claim("1Gi", "fast", "Bound"), claim("2Gi", "fast", "Bound")), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.message, NOT_ALLOWED);
    }
}

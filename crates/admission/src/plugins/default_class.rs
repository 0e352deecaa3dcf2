//! The two class defaulters, mutating on create:
//!
//! - DefaultStorageClass (plugin/pkg/admission/storage/storageclass/setdefault/admission.go): a
//!   PersistentVolumeClaim that names no class (neither `spec.storageClassName` nor the beta
//!   annotation `volume.beta.kubernetes.io/storage-class`) gets the default StorageClass.
//! - DefaultIngressClass (plugin/pkg/admission/network/defaultingressclass/admission.go): an
//!   Ingress with neither `spec.ingressClassName` nor the `kubernetes.io/ingress.class`
//!   annotation gets the default IngressClass.
//!
//! A class is a default when its annotation says `"true"`. When several are, the newest wins,
//! ties going to the first name (kube 1.26+: `GetDefaultClass` in pkg/volume/util/storageclass.go,
//! `getDefaultClass` in the ingress plugin). No default leaves the object alone.

use crate::types::{at, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const DEFAULT_STORAGE_CLASS: &str = "DefaultStorageClass";
pub const DEFAULT_INGRESS_CLASS: &str = "DefaultIngressClass";

/// Marks the default StorageClass.
pub const IS_DEFAULT_STORAGE_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// Its beta form, still honoured by kube.
pub const BETA_IS_DEFAULT_STORAGE_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
/// The beta annotation a PVC may name its class with instead of `spec.storageClassName`.
pub const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// Marks the default IngressClass.
pub const IS_DEFAULT_INGRESS_CLASS: &str = "ingressclass.kubernetes.io/is-default-class";
/// The deprecated annotation an Ingress may name its class with.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

#[derive(Debug, Default)]
pub struct DefaultStorageClass;

#[derive(Debug, Default)]
pub struct DefaultIngressClass;

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// The newest class carrying one of `annotations` set to `"true"`; equal creation times go to
/// the smaller name. Timestamps are compared as kube writes them (RFC 3339 in UTC, whole
/// seconds), where text order is time order; a missing one is the oldest.
pub(crate) fn newest_default<'a>(classes: &'a [Value], annotations: &[&str]) -> Option<&'a Value> {
    let created = |c: &'a Value| str_at(c, &["metadata", "creationTimestamp"]).unwrap_or("");
    let name = |c: &'a Value| str_at(c, &["metadata", "name"]).unwrap_or("");
    classes
        .iter()
        .filter(|c| annotations.iter().any(|a| annotation(c, a) == Some("true")))
        .min_by(|a, b| created(b).cmp(created(a)).then_with(|| name(a).cmp(name(b))))
}

/// Lists the classes; a failed list is a 403 as kube's `admission.NewForbidden(attr, err)` makes it.
async fn list_classes(
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
    group: &str,
    resource: &str,
) -> Result<Vec<Value>, StatusError> {
    ctx.list(group, resource, "").await.map_err(|e| req.forbidden_from(e))
}

/// Sets `spec.<field>` of the request's object.
fn set_spec(req: &mut AdmissionRequest, field: &str, value: &str) {
    let Some(obj) = req.object.as_mut().and_then(Value::as_object_mut) else { return };
    let spec = obj.entry("spec").or_insert_with(|| json!({}));
    if let Some(spec) = spec.as_object_mut() {
        spec.insert(field.into(), json!(value));
    }
}

/// `helper.PersistentVolumeClaimHasClass`: the beta annotation (any value) or a non-null
/// `spec.storageClassName` (`""` included: it asks for no class).
pub(crate) fn pvc_has_class(pvc: &Value) -> bool {
    annotation(pvc, BETA_STORAGE_CLASS).is_some() || at(pvc, &["spec", "storageClassName"]).is_some()
}

#[async_trait]
impl MutatingPlugin for DefaultStorageClass {
    fn name(&self) -> &'static str {
        DEFAULT_STORAGE_CLASS
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "persistentvolumeclaims") {
            return Ok(());
        }
        let Some(pvc) = req.object.as_ref() else { return Ok(()) };
        if pvc_has_class(pvc) {
            return Ok(());
        }
        let classes = list_classes(req, ctx, "storage.k8s.io", "storageclasses").await?;
        let default = newest_default(&classes, &[IS_DEFAULT_STORAGE_CLASS, BETA_IS_DEFAULT_STORAGE_CLASS]);
        if let Some(name) = default.and_then(|c| str_at(c, &["metadata", "name"])) {
            set_spec(req, "storageClassName", name);
        }
        Ok(())
    }
}

#[async_trait]
impl MutatingPlugin for DefaultIngressClass {
    fn name(&self) -> &'static str {
        DEFAULT_INGRESS_CLASS
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("networking.k8s.io", "ingresses") {
            return Ok(());
        }
        let Some(ingress) = req.object.as_ref() else { return Ok(()) };
        if at(ingress, &["spec", "ingressClassName"]).is_some()
            || at(ingress, &["metadata", "annotations", INGRESS_CLASS_ANNOTATION]).is_some()
        {
            return Ok(());
        }
        let classes = list_classes(req, ctx, "networking.k8s.io", "ingressclasses").await?;
        if let Some(name) = newest_default(&classes, &[IS_DEFAULT_INGRESS_CLASS])
            .and_then(|c| str_at(c, &["metadata", "name"]))
        {
            set_spec(req, "ingressClassName", name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;

    fn storage_class(ctx: &MemoryContext, name: &str, created: &str, annotations: Value) {
        ctx.put(
            "storage.k8s.io",
            "storageclasses",
            json!({"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations},
                   "provisioner": "example.com/disk"}),
        );
    }

    fn pvc(obj: Value) -> AdmissionRequest {
        AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "PersistentVolumeClaim"),
            "persistentvolumeclaims",
            "ns",
            "",
            UserInfo::default(),
        )
        .with_object(obj)
    }

    fn ingress(obj: Value) -> AdmissionRequest {
        AdmissionRequest::new(
            Operation::Create,
            ("networking.k8s.io", "v1", "Ingress"),
            "ingresses",
            "ns",
            "",
            UserInfo::default(),
        )
        .with_object(obj)
    }

    #[tokio::test]
    async fn pvc_without_class_gets_the_newest_default() {
        let ctx = MemoryContext::new();
        let yes = json!({IS_DEFAULT_STORAGE_CLASS: "true"});
        storage_class(&ctx, "old", "2024-01-01T00:00:00Z", yes.clone());
        storage_class(&ctx, "newest-b", "2024-06-01T00:00:00Z", yes.clone());
        storage_class(
            &ctx,
            "newest-a",
            "2024-06-01T00:00:00Z",
            json!({BETA_IS_DEFAULT_STORAGE_CLASS: "true"}),
        );
        storage_class(
            &ctx,
            "newer-not-default",
            "2025-01-01T00:00:00Z",
            json!({IS_DEFAULT_STORAGE_CLASS: "false"}),
        );
        let mut req = pvc(json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}));
        DefaultStorageClass.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap()["spec"]["storageClassName"], "newest-a");
    }

    #[tokio::test]
    async fn pvc_naming_a_class_or_no_default_is_left_alone() {
        let ctx = MemoryContext::new();
        storage_class(&ctx, "plain", "2024-01-01T00:00:00Z", json!({}));
        let mut req = pvc(json!({"metadata": {"name": "data"}, "spec": {}}));
        DefaultStorageClass.admit(&mut req, &ctx).await.unwrap();
        assert!(req.object.unwrap()["spec"].get("storageClassName").is_none());
        // a named class, the empty class and the beta annotation never look the classes up
        ctx.unserve("storage.k8s.io", "storageclasses");
        for obj in [
            json!({"metadata": {"name": "data"}, "spec": {"storageClassName": "fast"}}),
            json!({"metadata": {"name": "data"}, "spec": {"storageClassName": ""}}),
            json!({"metadata": {"name": "data", "annotations": {BETA_STORAGE_CLASS: "slow"}}, "spec": {}}),
        ] {
            let mut req = pvc(obj.clone());
            DefaultStorageClass.admit(&mut req, &ctx).await.unwrap();
            assert_eq!(req.object.unwrap(), obj);
        }
    }

    #[tokio::test]
    async fn failed_class_list_is_forbidden() {
        let ctx = MemoryContext::new();
        ctx.unserve("storage.k8s.io", "storageclasses");
        let mut req = pvc(json!({"metadata": {"name": "data"}, "spec": {}}));
        let e = DefaultStorageClass.admit(&mut req, &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "persistentvolumeclaims \"data\" is forbidden: Internal error occurred: admission asked for unknown resource storageclasses.storage.k8s.io"
        );
    }

    #[tokio::test]
    async fn ingress_without_class_gets_the_default_ingress_class() {
        let ctx = MemoryContext::new();
        let put = |name: &str, created: &str, default: &str| {
            ctx.put(
                "networking.k8s.io",
                "ingressclasses",
                json!({"metadata": {"name": name, "creationTimestamp": created,
                        "annotations": {IS_DEFAULT_INGRESS_CLASS: default}},
                       "spec": {"controller": "example.com/ingress"}}),
            );
        };
        put("nginx", "2024-01-01T00:00:00Z", "true");
        put("traefik", "2024-03-01T00:00:00Z", "true");
        put("haproxy", "2024-09-01T00:00:00Z", "false");
        let mut req = ingress(json!({"metadata": {"name": "web"}, "spec": {"defaultBackend": {}}}));
        DefaultIngressClass.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap()["spec"]["ingressClassName"], "traefik");
        // a class given either way is kept
        for obj in [
            json!({"metadata": {"name": "web"}, "spec": {"ingressClassName": "nginx"}}),
            json!({"metadata": {"name": "web", "annotations": {INGRESS_CLASS_ANNOTATION: "nginx"}}, "spec": {}}),
        ] {
            let mut req = ingress(obj.clone());
            DefaultIngressClass.admit(&mut req, &ctx).await.unwrap();
            assert_eq!(req.object.unwrap(), obj);
        }
    }

    #[tokio::test]
    async fn no_default_ingress_class_and_failed_lists() {
        let ctx = MemoryContext::new();
        let mut req = ingress(json!({"metadata": {"name": "web"}, "spec": {}}));
        DefaultIngressClass.admit(&mut req, &ctx).await.unwrap();
        assert!(req.object.unwrap()["spec"].get("ingressClassName").is_none());
        ctx.unserve("networking.k8s.io", "ingressclasses");
        let mut req = ingress(json!({"metadata": {"name": "web"}, "spec": {}}));
        let e = DefaultIngressClass.admit(&mut req, &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(e.message, "ingresses.networking.k8s.io \"web\" is forbidden: Internal error occurred: admission asked for unknown resource ingressclasses.networking.k8s.io");
    }
}

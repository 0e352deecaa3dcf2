//! ServiceAccount (plugin/pkg/admission/serviceaccount), the mutating half: on pod create,
//! default `spec.serviceAccountName` to `default`, require that ServiceAccount to exist, copy its
//! imagePullSecrets when the pod has none, and mount the projected API token volume
//! (`kube-api-access-xxxxx`) into every container and init container unless automounting is off.

use crate::types::{array_at, at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation};
use apimachinery::StatusError;
use async_trait::async_trait;
use rand::Rng;
use serde_json::{json, Map, Value};

pub const NAME: &str = "ServiceAccount";

/// Where the token volume is mounted.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Prefix of the projected token volume's name.
pub const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// Annotation that marks a mirror pod (static pod published by a kubelet).
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Characters of kube's `utilrand.String` (no vowels, no confusable digits).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

#[derive(Debug, Default)]
pub struct ServiceAccount;

/// The projected volume source kube mounts (`TokenVolumeSource`).
pub fn token_volume_source() -> Value {
    json!({
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ],
        "defaultMode": 420
    })
}

fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..5).map(|_| ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char).collect()
}

fn should_automount(sa: &Value, pod: &Value) -> bool {
    if let Some(b) = at(pod, &["spec", "automountServiceAccountToken"]).and_then(Value::as_bool) {
        return b;
    }
    at(sa, &["automountServiceAccountToken"]).and_then(Value::as_bool).unwrap_or(true)
}

/// Adds the token volume and its mounts (`mountServiceAccountToken`).
fn mount_token(pod: &mut Value) {
    let existing = array_at(pod, &["spec", "volumes"])
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
        .map(str::to_string);
    let has_volume = existing.is_some();
    let volume_name = existing.unwrap_or_else(|| format!("{TOKEN_VOLUME_PREFIX}{}", random_suffix()));
    let mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needs_volume = false;
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return };
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            if mounts.is_null() {
                *mounts = json!([]);
            }
            let Some(mounts) = mounts.as_array_mut() else { continue };
            let taken =
                mounts.iter().any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if !taken {
                mounts.push(mount.clone());
                needs_volume = true;
            }
        }
    }
    if needs_volume && !has_volume {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if volumes.is_null() {
            *volumes = json!([]);
        }
        if let Some(v) = volumes.as_array_mut() {
            v.push(json!({"name": volume_name, "projected": token_volume_source()}));
        }
    }
}

#[async_trait]
impl MutatingPlugin for ServiceAccount {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "pods") {
            return Ok(());
        }
        let Some(pod) = req.object.as_ref() else { return Ok(()) };
        if at(pod, &["metadata", "annotations", MIRROR_POD_ANNOTATION]).is_some() {
            return Ok(());
        }
        let sa_name = at(pod, &["spec", "serviceAccountName"])
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
            .to_string();
        let sa = match ctx.get("", "serviceaccounts", &req.namespace, &sa_name).await {
            Ok(Some(sa)) => sa,
            Ok(None) => {
                return Err(req.forbidden(format!(
                    "error looking up service account {}/{sa_name}: serviceaccount \"{sa_name}\" not found",
                    req.namespace
                )))
            }
            Err(e) => {
                return Err(req.forbidden(format!(
                    "error looking up service account {}/{sa_name}: {}",
                    req.namespace, e.message
                )))
            }
        };
        let Some(pod) = req.object.as_mut() else { return Ok(()) };
        let automount = should_automount(&sa, pod);
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        spec.insert("serviceAccountName".into(), json!(sa_name));
        // The v1 Pod's deprecated alias of the field, as kube's conversion writes it.
        spec.insert("serviceAccount".into(), json!(sa_name));
        let has_pull_secrets =
            spec.get("imagePullSecrets").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        let sa_pull = array_at(&sa, &["imagePullSecrets"]);
        if !has_pull_secrets && !sa_pull.is_empty() {
            let copied: Vec<Value> = sa_pull
                .iter()
                .filter_map(|s| s.get("name"))
                .map(|n| {
                    let mut m = Map::new();
                    m.insert("name".into(), n.clone());
                    Value::Object(m)
                })
                .collect();
            spec.insert("imagePullSecrets".into(), Value::Array(copied));
        }
        if automount {
            mount_token(pod);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;

    fn pod(spec: Value) -> AdmissionRequest {
        AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", UserInfo::default())
            .with_object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}))
    }

    fn ctx_with_default(sa: Value) -> MemoryContext {
        let ctx = MemoryContext::new();
        ctx.put("", "serviceaccounts", sa);
        ctx
    }

    #[tokio::test]
    async fn defaults_sa_and_mounts_token_in_kube_shape() {
        let ctx = ctx_with_default(json!({"metadata": {"name": "default", "namespace": "ns"},
            "imagePullSecrets": [{"name": "regcred"}]}));
        let mut req =
            pod(json!({"initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b",
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}));
        ServiceAccount.admit(&mut req, &ctx).await.unwrap();
        let p = req.object.unwrap();
        assert_eq!(p["spec"]["serviceAccountName"], "default");
        assert_eq!(p["spec"]["imagePullSecrets"], json!([{"name": "regcred"}]));
        let vols = p["spec"]["volumes"].as_array().unwrap();
        assert_eq!(vols.len(), 1);
        let vname = vols[0]["name"].as_str().unwrap();
        assert!(vname.starts_with("kube-api-access-") && vname.len() == 21);
        assert!(vname[16..].bytes().all(|b| ALPHANUMS.contains(&b)));
        assert_eq!(
            vols[0]["projected"],
            json!({"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ], "defaultMode": 420})
        );
        let mount = json!({"name": vname, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
        assert_eq!(p["spec"]["initContainers"][0]["volumeMounts"], json!([mount]));
        assert_eq!(p["spec"]["containers"][0]["volumeMounts"], json!([mount]));
        assert_eq!(p["spec"]["containers"][1]["volumeMounts"][1], mount);
    }

    #[tokio::test]
    async fn missing_service_account_is_forbidden() {
        let ctx = MemoryContext::new();
        let mut req = pod(json!({"serviceAccountName": "builder", "containers": [{"name": "a"}]}));
        let e = ServiceAccount.admit(&mut req, &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "pods \"p\" is forbidden: error looking up service account ns/builder: serviceaccount \"builder\" not found"
        );
    }

    #[tokio::test]
    async fn automount_false_on_pod_or_sa_skips_the_volume() {
        let ctx = ctx_with_default(json!({"metadata": {"name": "default", "namespace": "ns"},
            "automountServiceAccountToken": false}));
        let mut req = pod(json!({"containers": [{"name": "a"}], "imagePullSecrets": [{"name": "mine"}]}));
        ServiceAccount.admit(&mut req, &ctx).await.unwrap();
        let p = req.object.unwrap();
        assert!(p["spec"].get("volumes").is_none());
        assert_eq!(p["spec"]["imagePullSecrets"], json!([{"name": "mine"}]));
        // the pod's own setting wins over the SA's
        let mut req = pod(json!({"automountServiceAccountToken": true, "containers": [{"name": "a"}]}));
        ServiceAccount.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.unwrap()["spec"]["volumes"].as_array().unwrap().len(), 1);
        let ctx = ctx_with_default(json!({"metadata": {"name": "default", "namespace": "ns"}}));
        let mut req = pod(json!({"automountServiceAccountToken": false, "containers": [{"name": "a"}]}));
        ServiceAccount.admit(&mut req, &ctx).await.unwrap();
        assert!(req.object.unwrap()["spec"].get("volumes").is_none());
    }

    #[tokio::test]
    async fn existing_mount_at_the_path_is_kept() {
        let ctx = ctx_with_default(json!({"metadata": {"name": "default", "namespace": "ns"}}));
        let mut req = pod(
            json!({"containers": [{"name": "a", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]}]}),
        );
        ServiceAccount.admit(&mut req, &ctx).await.unwrap();
        let p = req.object.unwrap();
        assert!(p["spec"].get("volumes").is_none());
        assert_eq!(p["spec"]["containers"][0]["volumeMounts"].as_array().unwrap().len(), 1);
    }
}

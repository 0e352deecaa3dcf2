//! Volume protection, as kube-controller-manager's pvc-protection and pv-protection
//! controllers: the StorageObjectInUseProtection admission plugin gives every claim the
//! `kubernetes.io/pvc-protection` finalizer and every volume `kubernetes.io/pv-protection`;
//! a claim being deleted loses its finalizer (and goes) once no running Pod uses it, a
//! volume once it is no longer Bound. The volumeattributesclass-protection controller's
//! part too: a VolumeAttributesClass (`kubernetes.io/vac-protection`) goes once no claim or
//! volume names it.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use registry::ResourceType;
use serde_json::Value;
use std::time::Duration;

pub const PVC_FINALIZER: &str = "kubernetes.io/pvc-protection";
pub const PV_FINALIZER: &str = "kubernetes.io/pv-protection";
pub const VAC_FINALIZER: &str = "kubernetes.io/vac-protection";
const RESYNC: Duration = Duration::from_secs(30);

struct VolumeProtection {
    objects: Objects,
    pods: &'static ResourceType,
    claims: &'static ResourceType,
    volumes: &'static ResourceType,
    /// Not every catalog serves storage.k8s.io.
    classes: Option<&'static ResourceType>,
}

fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn deleting_with(obj: &Value, finalizer: &str) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
        && obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// Whether a claim or volume names the VolumeAttributesClass `class` (kube's
/// vac-protection controller's indexes: the spec's class, a claim's current and target one).
fn names_class(obj: &Value, class: &str) -> bool {
    [
        "/spec/volumeAttributesClassName",
        "/status/currentVolumeAttributesClassName",
        "/status/modifyVolumeStatus/targetVolumeAttributesClassName",
    ]
    .iter()
    .any(|p| obj.pointer(p).and_then(Value::as_str) == Some(class))
}

/// Whether `pod` (not finished) mounts the claim `claim`, directly or as its ephemeral
/// volume (named `<pod>-<volume>`).
fn pod_uses(pod: &Value, claim: &str) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or_default();
    if matches!(phase, "Succeeded" | "Failed") {
        return false;
    }
    let pod_name = name_of(pod).1;
    pod.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten().any(|v| {
        let direct = v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) == Some(claim);
        let volume = v.get("name").and_then(Value::as_str).unwrap_or_default();
        let ephemeral = v.get("ephemeral").is_some() && format!("{pod_name}-{volume}") == claim;
        direct || ephemeral
    })
}

#[async_trait::async_trait]
impl Controller for VolumeProtection {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Apply(o) | Event::InitApply(o) => self.check(&o).await,
            // A Pod that goes may free the claims of its namespace.
            Event::Delete(o) if kind(&o) == "Pod" => self.check_namespace(name_of(&o).0).await,
            // A claim or volume that goes may free the classes it named.
            Event::Delete(o) if matches!(kind(&o), "PersistentVolumeClaim" | "PersistentVolume") => {
                self.check_classes().await
            }
            _ => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.check_classes().await;
        for rt in [self.claims, self.volumes] {
            if let Ok((objs, _)) = self.objects.list_all(rt, "").await {
                for o in &objs {
                    self.check(o).await;
                }
            }
        }
    }
}

impl VolumeProtection {
    async fn check(&self, obj: &Value) {
        match kind(obj) {
            "PersistentVolumeClaim" if deleting_with(obj, PVC_FINALIZER) => {
                let (ns, name) = name_of(obj);
                match self.objects.list_all(self.pods, ns).await {
                    Ok((pods, _)) if !pods.iter().any(|p| pod_uses(p, name)) => {
                        self.release(self.claims, obj, PVC_FINALIZER).await
                    }
                    Ok(_) => tracing::debug!(namespace = ns, claim = name, "claim still in use"),
                    Err(e) => tracing::debug!(error = %e.message, "pvc protection: cannot list pods"),
                }
            }
            "PersistentVolume"
                if deleting_with(obj, PV_FINALIZER)
                    && obj.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") =>
            {
                self.release(self.volumes, obj, PV_FINALIZER).await
            }
            "VolumeAttributesClass" if deleting_with(obj, VAC_FINALIZER) => {
                let Some(classes) = self.classes else { return };
                let name = name_of(obj).1;
                let mut used = false;
                for rt in [self.claims, self.volumes] {
                    match self.objects.list_all(rt, "").await {
                        Ok((objs, _)) => used |= objs.iter().any(|o| names_class(o, name)),
                        Err(e) => {
                            tracing::debug!(error = %e.message, "vac protection: cannot list {}", rt.plural);
                            return;
                        }
                    }
                }
                if used {
                    tracing::debug!(class = name, "volume attributes class still in use");
                } else {
                    self.release(classes, obj, VAC_FINALIZER).await
                }
            }
            _ => {}
        }
    }

    async fn check_classes(&self) {
        let Some(classes) = self.classes else { return };
        if let Ok((objs, _)) = self.objects.list_all(classes, "").await {
            for o in objs.iter().filter(|o| deleting_with(o, VAC_FINALIZER)) {
                self.check(o).await;
            }
        }
    }

    async fn check_namespace(&self, ns: &str) {
        if let Ok((claims, _)) = self.objects.list_all(self.claims, ns).await {
            for c in &claims {
                self.check(c).await;
            }
        }
    }

    /// Drops `finalizer`; the object goes when it was the last one (as an update through
    /// the API would do).
    async fn release(&self, rt: &'static ResourceType, obj: &Value, finalizer: &str) {
        let (ns, name) = name_of(obj);
        let expected =
            obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        let mut updated = obj.clone();
        if let Some(f) = updated.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
            f.retain(|x| x != finalizer);
        }
        let last =
            updated.pointer("/metadata/finalizers").and_then(Value::as_array).is_none_or(|f| f.is_empty());
        let result = if last {
            self.objects.delete(rt, ns, name, expected).await.map(|_| ())
        } else {
            self.objects.update(rt, ns, name, &updated, expected).await.map(|_| ())
        };
        match result {
            Ok(()) => tracing::info!(kind = rt.kind, namespace = ns, name, "protection finalizer removed"),
            Err(e) => {
                tracing::debug!(kind = rt.kind, name, error = %e.message, "changed meanwhile; retried on its event")
            }
        }
    }
}

/// Starts the controller when the server serves claims and volumes.
pub async fn start(state: &State) {
    let lookup = |r: &str| state.catalog.lookup("", "v1", r);
    let (Some(pods), Some(claims), Some(volumes)) =
        (lookup("pods"), lookup("persistentvolumeclaims"), lookup("persistentvolumes"))
    else {
        return;
    };
    let classes = state.catalog.lookup("storage.k8s.io", "v1", "volumeattributesclasses");
    let types = [Some(claims), Some(volumes), Some(pods), classes].into_iter().flatten().collect();
    let informer = Informer::new(state.objects.clone(), "volume-protection", types);
    let controller = VolumeProtection { objects: state.objects.clone(), pods, claims, volumes, classes };
    super::run(informer, controller).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn running_pods_hold_their_claims() {
        let pod = json!({"metadata": {"name": "web"}, "spec": {"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}}]}});
        assert!(pod_uses(&pod, "data") && pod_uses(&pod, "web-scratch") && !pod_uses(&pod, "other"));
        let mut done = pod.clone();
        done["status"] = json!({"phase": "Succeeded"});
        assert!(!pod_uses(&done, "data"));
        let pvc = json!({"spec": {"volumeAttributesClassName": "gold"},
            "status": {"modifyVolumeStatus": {"targetVolumeAttributesClassName": "silver"}}});
        assert!(names_class(&pvc, "gold") && names_class(&pvc, "silver") && !names_class(&pvc, "bronze"));
        let claim = json!({"metadata": {"deletionTimestamp": "x", "finalizers": [PVC_FINALIZER]}});
        assert!(deleting_with(&claim, PVC_FINALIZER) && !deleting_with(&claim, PV_FINALIZER));
    }
}

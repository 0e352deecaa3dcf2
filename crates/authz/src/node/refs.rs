//! What a Pod or a PersistentVolume references, read from its JSON (kube's
//! `VisitPodSecretNames`, `VisitPodConfigmapNames`, `VisitPVSecretNames`, the pod's PVCs,
//! ephemeral volumes and ResourceClaims).

use serde_json::Value;

/// A namespace and a name.
pub type NsName = (String, String);

/// The objects one pod references, all in the pod's namespace.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PodRefs {
    pub secrets: Vec<String>,
    pub config_maps: Vec<String>,
    pub pvcs: Vec<String>,
    pub resource_claims: Vec<String>,
    pub service_account: Option<String>,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

fn arr<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn push(list: &mut Vec<String>, name: Option<&str>) {
    if let Some(n) = name {
        if !list.iter().any(|x| x == n) {
            list.push(n.to_string());
        }
    }
}

/// Volume sources that name a secret with a `secretRef.name` in the pod's namespace.
const POD_SECRET_REF_SOURCES: &[&str] =
    &["cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos"];

/// Reads the references of a Pod object.
pub fn pod_refs(pod: &Value) -> PodRefs {
    let mut r = PodRefs::default();
    let Some(spec) = pod.get("spec") else { return r };
    let pod_name = s(pod, &["metadata", "name"]).unwrap_or_default();
    for ps in arr(spec, "imagePullSecrets") {
        push(&mut r.secrets, s(ps, &["name"]));
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in arr(spec, list) {
            for e in arr(c, "envFrom") {
                push(&mut r.secrets, s(e, &["secretRef", "name"]));
                push(&mut r.config_maps, s(e, &["configMapRef", "name"]));
            }
            for e in arr(c, "env") {
                push(&mut r.secrets, s(e, &["valueFrom", "secretKeyRef", "name"]));
                push(&mut r.config_maps, s(e, &["valueFrom", "configMapKeyRef", "name"]));
            }
        }
    }
    for v in arr(spec, "volumes") {
        push(&mut r.secrets, s(v, &["secret", "secretName"]));
        push(&mut r.secrets, s(v, &["azureFile", "secretName"]));
        push(&mut r.secrets, s(v, &["csi", "nodePublishSecretRef", "name"]));
        for src in POD_SECRET_REF_SOURCES {
            push(&mut r.secrets, s(v, &[src, "secretRef", "name"]));
        }
        push(&mut r.config_maps, s(v, &["configMap", "name"]));
        if let Some(projected) = v.get("projected") {
            for src in arr(projected, "sources") {
                push(&mut r.secrets, s(src, &["secret", "name"]));
                push(&mut r.config_maps, s(src, &["configMap", "name"]));
            }
        }
        push(&mut r.pvcs, s(v, &["persistentVolumeClaim", "claimName"]));
        if v.get("ephemeral").is_some() {
            // A generic ephemeral volume's claim is named `<pod>-<volume>`.
            if let Some(vol) = s(v, &["name"]) {
                push(&mut r.pvcs, Some(&format!("{pod_name}-{vol}")));
            }
        }
    }
    // A claim named in the spec, or generated from a template and recorded in the status.
    let statuses: Vec<&Value> =
        pod.get("status").map(|st| arr(st, "resourceClaimStatuses").collect()).unwrap_or_default();
    for claim in arr(spec, "resourceClaims") {
        if let Some(name) = s(claim, &["resourceClaimName"]) {
            push(&mut r.resource_claims, Some(name));
        } else if s(claim, &["resourceClaimTemplateName"]).is_some() {
            let entry = s(claim, &["name"]);
            let generated = statuses.iter().find(|st| s(st, &["name"]) == entry);
            push(&mut r.resource_claims, generated.and_then(|st| s(st, &["resourceClaimName"])));
        }
    }
    r.service_account = s(spec, &["serviceAccountName"]).map(str::to_string);
    r
}

/// The node a pod is bound to (`spec.nodeName`), if any.
pub fn pod_node(pod: &Value) -> Option<&str> {
    s(pod, &["spec", "nodeName"])
}

/// A PersistentVolume's claim (`spec.claimRef` namespace and name) and referenced secrets
/// (namespace, name); a secret reference without a namespace takes the claim's.
pub fn pv_refs(pv: &Value) -> (Option<NsName>, Vec<NsName>) {
    let Some(spec) = pv.get("spec") else { return (None, Vec::new()) };
    let claim_ns = s(spec, &["claimRef", "namespace"]).unwrap_or_default();
    let claim = s(spec, &["claimRef", "name"]).map(|n| (claim_ns.to_string(), n.to_string()));
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut add = |ns: Option<&str>, name: Option<&str>| {
        if let Some(name) = name {
            let key = (ns.unwrap_or(claim_ns).to_string(), name.to_string());
            if !secrets.contains(&key) {
                secrets.push(key);
            }
        }
    };
    add(s(spec, &["azureFile", "secretNamespace"]), s(spec, &["azureFile", "secretName"]));
    for src in POD_SECRET_REF_SOURCES {
        add(s(spec, &[src, "secretRef", "namespace"]), s(spec, &[src, "secretRef", "name"]));
    }
    for r in [
        "controllerPublishSecretRef",
        "nodeStageSecretRef",
        "nodePublishSecretRef",
        "controllerExpandSecretRef",
        "nodeExpandSecretRef",
    ] {
        add(s(spec, &["csi", r, "namespace"]), s(spec, &["csi", r, "name"]));
    }
    (claim, secrets)
}

/// A string at a JSON path, empty strings read as absent.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    s(v, path)
}

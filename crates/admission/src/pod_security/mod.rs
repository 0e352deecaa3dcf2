//! PodSecurity (k8s.io/pod-security-admission): namespace labels
//! `pod-security.kubernetes.io/{enforce,warn}[-version]` pick a level (privileged, baseline,
//! restricted) and a policy version; pods that violate the enforce level are rejected with
//! kube's `violates PodSecurity "<level>:<version>": ...` message, warn-level violations and
//! violations in workload pod templates become `would violate PodSecurity ...` warnings.

pub mod checks;
mod restricted;

use crate::types::{at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::StatusError;
use async_trait::async_trait;
pub use checks::{evaluate, Level, Violation};
use serde_json::Value;

pub const NAME: &str = "PodSecurity";
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A level and policy version, printed as kube does (`restricted:latest`, `baseline:v1.30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelVersion {
    pub level: Level,
    /// Policy minor version (`v1.N`); `None` is `latest`.
    pub minor: Option<u32>,
}

impl std::fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.level {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        };
        match self.minor {
            None => write!(f, "{level}:latest"),
            Some(m) => write!(f, "{level}:v1.{m}"),
        }
    }
}

/// The policy of one mode from namespace labels: a missing level is privileged, an invalid one
/// falls back to restricted (as kube does), an invalid or missing version is latest.
pub fn policy_from_labels(labels: Option<&Value>, mode: &str) -> LevelVersion {
    let get = |k: String| labels.and_then(|l| l.get(&k)).and_then(Value::as_str);
    let level = match get(format!("{LABEL_PREFIX}{mode}")) {
        None => Level::Privileged,
        Some("privileged") => Level::Privileged,
        Some("baseline") => Level::Baseline,
        Some(_) => Level::Restricted,
    };
    let minor = get(format!("{LABEL_PREFIX}{mode}-version"))
        .and_then(|v| v.strip_prefix("v1."))
        .and_then(|m| m.parse::<u32>().ok());
    LevelVersion { level, minor }
}

/// The violations of a pod (metadata + spec) against a policy, as kube's detail text.
pub fn violation_text(lv: LevelVersion, meta: &Value, spec: &Value) -> Option<String> {
    let v = evaluate(lv.level, lv.minor, meta, spec);
    if v.is_empty() {
        return None;
    }
    let parts: Vec<String> = v
        .iter()
        .map(|v| if v.detail.is_empty() { v.reason.clone() } else { format!("{} ({})", v.reason, v.detail) })
        .collect();
    Some(parts.join(", "))
}

#[derive(Debug, Default)]
pub struct PodSecurity;

/// Where a workload keeps its pod template, by group and resource.
fn template_path(group: &str, resource: &str) -> Option<&'static [&'static str]> {
    match (group, resource) {
        ("", "podtemplates") => Some(&["template"]),
        ("", "replicationcontrollers")
        | ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => Some(&["spec", "template"]),
        ("batch", "cronjobs") => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// Whether a pod update can change what the checks see (kube's `isSignificantPodUpdate`).
fn significant_update(req: &AdmissionRequest) -> bool {
    let (Some(new), Some(old)) = (&req.object, &req.old_object) else { return true };
    new.get("spec") != old.get("spec")
        || at(new, &["metadata", "annotations"]) != at(old, &["metadata", "annotations"])
}

impl PodSecurity {
    async fn namespace_labels(
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<Option<Value>, StatusError> {
        let ns = ctx.get("", "namespaces", "", &req.namespace).await.map_err(|e| req.forbidden_from(e))?;
        Ok(ns.and_then(|n| at(&n, &["metadata", "labels"]).cloned()))
    }
}

#[async_trait]
impl ValidatingPlugin for PodSecurity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.namespace.is_empty() {
            return Ok(());
        }
        let Some(obj) = req.object.as_ref() else { return Ok(()) };
        let is_pod = req.group.is_empty()
            && req.resource == "pods"
            && (req.subresource.is_empty() || req.subresource == "ephemeralcontainers");
        let template = template_path(&req.group, &req.resource).filter(|_| req.subresource.is_empty());
        if !is_pod && template.is_none() {
            return Ok(());
        }
        if req.operation == Operation::Update && !significant_update(req) {
            return Ok(());
        }
        let labels = Self::namespace_labels(req, ctx).await?;
        let enforce = policy_from_labels(labels.as_ref(), "enforce");
        let warn = policy_from_labels(labels.as_ref(), "warn");
        let empty = Value::Null;
        if let Some(path) = template {
            let Some(tpl) = at(obj, path) else { return Ok(()) };
            let (meta, spec) = (tpl.get("metadata").unwrap_or(&empty), tpl.get("spec").unwrap_or(&empty));
            for lv in [enforce, warn] {
                if let Some(text) = violation_text(lv, meta, spec) {
                    req.add_warning(format!("would violate PodSecurity \"{lv}\": {text}"));
                }
            }
            return Ok(());
        }
        let (meta, spec) = (obj.get("metadata").unwrap_or(&empty), obj.get("spec").unwrap_or(&empty));
        let enforce_result = violation_text(enforce, meta, spec);
        if let Some(text) = violation_text(warn, meta, spec) {
            if warn != enforce || enforce_result.is_none() {
                req.add_warning(format!("would violate PodSecurity \"{warn}\": {text}"));
            }
        }
        match enforce_result {
            Some(text) => Err(req.forbidden(format!("violates PodSecurity \"{enforce}\": {text}"))),
            None => Ok(()),
        }
    }
}

/// The namespace label value a level is written as.
pub fn level_label(level: Level) -> &'static str {
    match level {
        Level::Privileged => "privileged",
        Level::Baseline => "baseline",
        Level::Restricted => "restricted",
    }
}

/// The enforce level of a namespace object (convenience for callers and tests).
pub fn enforce_level(ns: &Value) -> LevelVersion {
    policy_from_labels(at(ns, &["metadata", "labels"]), "enforce")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

//! The restricted-level Pod Security checks (privilege escalation, capabilities, volume types,
//! non-root users, seccomp); the baseline checks and shared helpers live in `checks`.

use super::checks::{
    caps, cname, containers, containers_phrase, containers_where, join_quote, pluralize, sc,
    seccomp_explicit, seccomp_setters, setters, violation, volume_names, Violation,
};
use crate::types::at;
use serde_json::Value;
use std::collections::BTreeSet;

pub(super) fn allow_privilege_escalation(_m: &Value, spec: &Value) -> Option<Violation> {
    let bad = containers_where(spec, |c| {
        sc(c, &["allowPrivilegeEscalation"]).and_then(Value::as_bool) != Some(false)
    });
    if bad.is_empty() {
        return None;
    }
    violation(
        "allowPrivilegeEscalation != false",
        format!("{} must set securityContext.allowPrivilegeEscalation=false", containers_phrase(&bad)),
    )
}

pub(super) fn capabilities_restricted(_m: &Value, spec: &Value) -> Option<Violation> {
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(spec) {
        if sc(c, &["capabilities"]).is_none() {
            missing_drop.push(cname(c));
            continue;
        }
        if !caps(c, "drop").iter().any(|d| d == "ALL") {
            missing_drop.push(cname(c));
        }
        let bad: Vec<String> = caps(c, "add").into_iter().filter(|a| a != "NET_BIND_SERVICE").collect();
        if !bad.is_empty() {
            adding.push(cname(c));
            forbidden.extend(bad);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        let forbidden: Vec<String> = forbidden.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&forbidden)
        ));
    }
    if details.is_empty() {
        return None;
    }
    violation("unrestricted capabilities", details.join("; "))
}

const ALLOWED_RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Volume source keys kube names in its message (anything else is `unknown`).
const KNOWN_RESTRICTED_TYPES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

pub(super) fn restricted_volumes(_m: &Value, spec: &Value) -> Option<Violation> {
    let allowed = |v: &Value| {
        v.as_object().is_some_and(|o| {
            o.iter().any(|(k, val)| !val.is_null() && ALLOWED_RESTRICTED_VOLUMES.contains(&k.as_str()))
        })
    };
    let names = volume_names(spec, |v| !allowed(v));
    if names.is_empty() {
        return None;
    }
    let types: BTreeSet<String> = crate::types::array_at(spec, &["volumes"])
        .iter()
        .filter(|v| !allowed(v))
        .map(|v| {
            let key = v.as_object().into_iter().flatten().find(|(k, val)| *k != "name" && !val.is_null());
            match key {
                Some((k, _)) if KNOWN_RESTRICTED_TYPES.contains(&k.as_str()) => k.clone(),
                _ => "unknown".to_string(),
            }
        })
        .collect();
    let types: Vec<String> = types.into_iter().collect();
    violation(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize("restricted volume type", "restricted volume types", types.len()),
            join_quote(&types)
        ),
    )
}

pub(super) fn run_as_non_root(_m: &Value, spec: &Value) -> Option<Violation> {
    let pod_value = at(spec, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool);
    let pod_bad = pod_value == Some(false);
    let pod_ok = pod_value == Some(true);
    let explicit =
        containers_where(spec, |c| sc(c, &["runAsNonRoot"]).and_then(Value::as_bool) == Some(false));
    let implicit =
        containers_where(spec, |c| sc(c, &["runAsNonRoot"]).and_then(Value::as_bool).is_none() && !pod_ok);
    let bad = setters(pod_bad, &explicit);
    if !bad.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!("{} must not set securityContext.runAsNonRoot=false", bad.join(" and ")),
        );
    }
    if !implicit.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!("pod or {} must set securityContext.runAsNonRoot=true", containers_phrase(&implicit)),
        );
    }
    None
}

pub(super) fn run_as_user(_m: &Value, spec: &Value) -> Option<Violation> {
    let pod_bad = at(spec, &["securityContext", "runAsUser"]).and_then(Value::as_i64) == Some(0);
    let explicit = containers_where(spec, |c| sc(c, &["runAsUser"]).and_then(Value::as_i64) == Some(0));
    let bad = setters(pod_bad, &explicit);
    if bad.is_empty() {
        return None;
    }
    violation("runAsUser=0", format!("{} must not set runAsUser=0", bad.join(" and ")))
}

pub(super) fn seccomp_restricted(_m: &Value, spec: &Value) -> Option<Violation> {
    let (pod_bad, _, explicit, implicit, values) = seccomp_setters(spec);
    if let Some(v) = seccomp_explicit(pod_bad, &explicit, values) {
        return Some(v);
    }
    if implicit.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            containers_phrase(&implicit)
        ),
    )
}

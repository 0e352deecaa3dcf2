//! The Pod Security Standards checks (k8s.io/pod-security-admission `policy/check_*.go`): each
//! looks at pod metadata and spec JSON and returns a forbidden reason and detail in kube's
//! wording. Checks are listed in kube's registration order (file-name order); the restricted
//! checks themselves are in `restricted`.

use crate::types::{array_at, at, str_at};
use serde_json::Value;
use std::collections::BTreeSet;

use super::restricted::{
    allow_privilege_escalation, capabilities_restricted, restricted_volumes, run_as_non_root, run_as_user,
    seccomp_restricted,
};

/// Policy level of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// A failed check: `reason (detail)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub reason: String,
    pub detail: String,
}

type CheckFn = fn(&Value, &Value) -> Option<Violation>;

/// One check: id, level, whether a restricted check supersedes it, first policy minor version.
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    pub overlap: bool,
    pub min_minor: u32,
    pub run: CheckFn,
}

/// Every check, in kube's order.
pub const CHECKS: &[Check] = &[
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        overlap: false,
        min_minor: 8,
        run: allow_privilege_escalation,
    },
    Check { id: "appArmorProfile", level: Level::Baseline, overlap: false, min_minor: 0, run: app_armor },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        overlap: true,
        min_minor: 0,
        run: capabilities_baseline,
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        overlap: false,
        min_minor: 22,
        run: capabilities_restricted,
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        overlap: false,
        min_minor: 0,
        run: host_namespaces,
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        overlap: true,
        min_minor: 0,
        run: host_path_volumes,
    },
    Check { id: "hostPorts", level: Level::Baseline, overlap: false, min_minor: 0, run: host_ports },
    Check { id: "privileged", level: Level::Baseline, overlap: false, min_minor: 0, run: privileged },
    Check { id: "procMount", level: Level::Baseline, overlap: false, min_minor: 0, run: proc_mount },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        overlap: false,
        min_minor: 0,
        run: restricted_volumes,
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        overlap: false,
        min_minor: 0,
        run: run_as_non_root,
    },
    Check { id: "runAsUser", level: Level::Restricted, overlap: false, min_minor: 23, run: run_as_user },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        overlap: false,
        min_minor: 0,
        run: se_linux_options,
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        overlap: true,
        min_minor: 0,
        run: seccomp_baseline,
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        overlap: false,
        min_minor: 19,
        run: seccomp_restricted,
    },
    Check { id: "sysctls", level: Level::Baseline, overlap: false, min_minor: 0, run: sysctls },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        overlap: false,
        min_minor: 0,
        run: windows_host_process,
    },
];

/// Runs the checks of a level (`EvaluatePod`): baseline checks that no restricted check covers,
/// then either the overlapping baseline checks (baseline) or the restricted ones (restricted).
/// `minor` is the policy version (`None` = latest).
pub fn evaluate(level: Level, minor: Option<u32>, meta: &Value, spec: &Value) -> Vec<Violation> {
    if level == Level::Privileged {
        return Vec::new();
    }
    let applies = |c: &&Check| minor.is_none_or(|m| c.min_minor <= m);
    let base = CHECKS.iter().filter(|c| c.level == Level::Baseline && !c.overlap);
    let second: Vec<&Check> = if level == Level::Baseline {
        CHECKS.iter().filter(|c| c.level == Level::Baseline && c.overlap).collect()
    } else {
        CHECKS.iter().filter(|c| c.level == Level::Restricted).collect()
    };
    base.chain(second).filter(applies).filter_map(|c| (c.run)(meta, spec)).collect()
}

pub(super) fn join_quote(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    format!("\"{}\"", items.join("\", \""))
}

pub(super) fn pluralize<'a>(one: &'a str, many: &'a str, n: usize) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

pub(super) fn violation(reason: &str, detail: String) -> Option<Violation> {
    Some(Violation { reason: reason.to_string(), detail })
}

/// Init containers, containers, then ephemeral containers (kube's `visitContainers`).
pub(super) fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |l| array_at(spec, &[l]).iter())
}

pub(super) fn cname(c: &Value) -> String {
    str_at(c, &["name"]).unwrap_or("").to_string()
}

pub(super) fn sc<'a>(c: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut full = vec!["securityContext"];
    full.extend_from_slice(path);
    at(c, &full)
}

pub(super) fn containers_where(spec: &Value, pred: impl Fn(&Value) -> bool) -> Vec<String> {
    containers(spec).filter(|c| pred(c)).map(cname).collect()
}

pub(super) fn containers_phrase(names: &[String]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

/// "pod and containers \"a\"" style list of setters.
pub(super) fn setters(pod: bool, names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if pod {
        out.push("pod".to_string());
    }
    if !names.is_empty() {
        out.push(containers_phrase(names));
    }
    out
}

fn app_armor(meta: &Value, _spec: &Value) -> Option<Violation> {
    const PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
    let mut bad: Vec<String> = at(meta, &["annotations"])
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(PREFIX))
        .filter_map(|(k, v)| {
            let v = v.as_str().unwrap_or("");
            let ok = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
            (!ok).then(|| format!("{k}={}", Value::String(v.to_string())))
        })
        .collect();
    if bad.is_empty() {
        return None;
    }
    bad.sort();
    let reason = pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", bad.len());
    violation(reason, bad.join(", "))
}

const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn caps(c: &Value, list: &str) -> Vec<String> {
    sc(c, &["capabilities", list])
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn capabilities_baseline(_m: &Value, spec: &Value) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut extra = BTreeSet::new();
    for c in containers(spec) {
        let added: Vec<String> =
            caps(c, "add").into_iter().filter(|a| !BASELINE_CAPS.contains(&a.as_str())).collect();
        if !added.is_empty() {
            bad.push(cname(c));
            extra.extend(added);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let extra: Vec<String> = extra.into_iter().collect();
    violation(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad),
            join_quote(&extra)
        ),
    )
}

fn host_namespaces(_m: &Value, spec: &Value) -> Option<Violation> {
    let set: Vec<&str> = ["hostIPC", "hostNetwork", "hostPID"]
        .into_iter()
        .filter(|k| at(spec, &[k]).and_then(Value::as_bool) == Some(true))
        .collect();
    if set.is_empty() {
        return None;
    }
    violation("host namespaces", set.join(", "))
}

pub(super) fn volume_names(spec: &Value, pred: impl Fn(&Value) -> bool) -> Vec<String> {
    array_at(spec, &["volumes"]).iter().filter(|v| pred(v)).map(cname).collect()
}

fn host_path_volumes(_m: &Value, spec: &Value) -> Option<Violation> {
    let names = volume_names(spec, |v| at(v, &["hostPath"]).is_some());
    if names.is_empty() {
        return None;
    }
    violation(
        "hostPath volumes",
        format!("{} {}", pluralize("volume", "volumes", names.len()), join_quote(&names)),
    )
}

fn host_ports(_m: &Value, spec: &Value) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let used: Vec<String> = array_at(c, &["ports"])
            .iter()
            .filter_map(|p| at(p, &["hostPort"]).and_then(Value::as_i64))
            .filter(|p| *p != 0)
            .map(|p| p.to_string())
            .collect();
        if !used.is_empty() {
            bad.push(cname(c));
            ports.extend(used);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let ports: Vec<String> = ports.into_iter().collect();
    violation(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

fn privileged(_m: &Value, spec: &Value) -> Option<Violation> {
    let bad = containers_where(spec, |c| sc(c, &["privileged"]).and_then(Value::as_bool) == Some(true));
    if bad.is_empty() {
        return None;
    }
    violation(
        "privileged",
        format!("{} must not set securityContext.privileged=true", containers_phrase(&bad)),
    )
}

fn proc_mount(_m: &Value, spec: &Value) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        if let Some(t) = sc(c, &["procMount"]).and_then(Value::as_str) {
            if t != "Default" {
                bad.push(cname(c));
                types.insert(t.to_string());
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<String> = types.into_iter().collect();
    violation(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(&types)
        ),
    )
}

fn se_linux_options(_m: &Value, spec: &Value) -> Option<Violation> {
    const TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |opts: &Value| {
        let mut ok = true;
        let t = str_at(opts, &["type"]).unwrap_or("");
        if !TYPES.contains(&t) {
            ok = false;
            bad_types.insert(t.to_string());
        }
        if !str_at(opts, &["user"]).unwrap_or("").is_empty() {
            ok = false;
            set_user = true;
        }
        if !str_at(opts, &["role"]).unwrap_or("").is_empty() {
            ok = false;
            set_role = true;
        }
        ok
    };
    let pod_bad = at(spec, &["securityContext", "seLinuxOptions"]).is_some_and(|o| !valid(o));
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if sc(c, &["seLinuxOptions"]).is_some_and(|o| !valid(o)) {
            bad_containers.push(cname(c));
        }
    }
    let bad = setters(pod_bad, &bad_containers);
    if bad.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<String> = bad_types.into_iter().collect();
        data.push(format!("{} {}", pluralize("type", "types", types.len()), join_quote(&types)));
        if set_user {
            data.push("user may not be set".to_string());
        }
        if set_role {
            data.push("role may not be set".to_string());
        }
    }
    violation(
        "seLinuxOptions",
        format!("{} set forbidden securityContext.seLinuxOptions: {}", bad.join(" and "), data.join("; ")),
    )
}

fn valid_seccomp(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

pub(super) fn seccomp_setters(spec: &Value) -> (bool, bool, Vec<String>, Vec<String>, BTreeSet<String>) {
    let mut bad_values = BTreeSet::new();
    let pod_type =
        at(spec, &["securityContext", "seccompProfile"]).map(|p| str_at(p, &["type"]).unwrap_or(""));
    let pod_bad = pod_type.is_some_and(|t| !valid_seccomp(t));
    let pod_set = pod_type.is_some_and(valid_seccomp);
    if let Some(t) = pod_type.filter(|t| !valid_seccomp(t)) {
        bad_values.insert(t.to_string());
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(spec) {
        match sc(c, &["seccompProfile"]) {
            Some(p) => {
                let t = str_at(p, &["type"]).unwrap_or("");
                if !valid_seccomp(t) {
                    explicit.push(cname(c));
                    bad_values.insert(t.to_string());
                }
            }
            None if !pod_set => implicit.push(cname(c)),
            None => {}
        }
    }
    (pod_bad, pod_set, explicit, implicit, bad_values)
}

pub(super) fn seccomp_explicit(
    pod_bad: bool,
    explicit: &[String],
    values: BTreeSet<String>,
) -> Option<Violation> {
    let bad = setters(pod_bad, explicit);
    if bad.is_empty() {
        return None;
    }
    let values: Vec<String> = values.into_iter().collect();
    violation(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            bad.join(" and "),
            join_quote(&values)
        ),
    )
}

fn seccomp_baseline(_m: &Value, spec: &Value) -> Option<Violation> {
    let (pod_bad, _, explicit, _, values) = seccomp_setters(spec);
    seccomp_explicit(pod_bad, &explicit, values)
}

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

fn sysctls(_m: &Value, spec: &Value) -> Option<Violation> {
    let bad: Vec<&str> = array_at(spec, &["securityContext", "sysctls"])
        .iter()
        .filter_map(|s| str_at(s, &["name"]))
        .filter(|n| !SAFE_SYSCTLS.contains(n))
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation("forbidden sysctls", bad.join(", "))
}

fn windows_host_process(_m: &Value, spec: &Value) -> Option<Violation> {
    let host = |v: Option<&Value>| v.and_then(Value::as_bool) == Some(true);
    let bad_containers = containers_where(spec, |c| host(sc(c, &["windowsOptions", "hostProcess"])));
    let pod_bad = host(at(spec, &["securityContext", "windowsOptions", "hostProcess"]));
    let bad = setters(pod_bad, &bad_containers);
    if bad.is_empty() {
        return None;
    }
    violation(
        "hostProcess",
        format!("{} must not set securityContext.windowsOptions.hostProcess=true", bad.join(" and ")),
    )
}

//! Validation of the workload kinds, after kube's `pkg/apis/apps/validation`,
//! `pkg/apis/batch/validation`, `pkg/apis/policy/validation` and the ReplicationController
//! and PodTemplate parts of `pkg/apis/core/validation`.

use super::common::{selector_matches, str_at, validate_pod_template, validate_selector_and_template};
use super::cron;
use apimachinery::field::{
    forbidden, immutable, invalid, invalid_rendered, nonnegative, not_supported, required, Errors,
};
use serde_json::Value;

const ALWAYS: &[&str] = &["Always"];
const JOB_POLICIES: &[&str] = &["OnFailure", "Never"];

/// Field errors of a workload kind; `false` when `kind` is not one.
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) -> bool {
    match kind {
        "Deployment" => {
            nonnegative(obj, "/spec/replicas", "spec.replicas", errs);
            validate_selector_and_template(obj, "deployment", errs);
            validate_pod_template(obj.pointer("/spec/template"), "spec.template", ALWAYS, errs);
        }
        "DaemonSet" => {
            validate_selector_and_template(obj, "daemonset", errs);
            validate_pod_template(obj.pointer("/spec/template"), "spec.template", ALWAYS, errs);
            one_of(
                obj,
                "/spec/updateStrategy/type",
                "spec.updateStrategy.type",
                &["OnDelete", "RollingUpdate"],
                errs,
            );
        }
        "StatefulSet" => {
            nonnegative(obj, "/spec/replicas", "spec.replicas", errs);
            one_of(
                obj,
                "/spec/podManagementPolicy",
                "spec.podManagementPolicy",
                &["OrderedReady", "Parallel"],
                errs,
            );
            one_of(
                obj,
                "/spec/updateStrategy/type",
                "spec.updateStrategy.type",
                &["OnDelete", "RollingUpdate"],
                errs,
            );
            validate_selector_and_template(obj, "statefulset", errs);
            validate_pod_template(obj.pointer("/spec/template"), "spec.template", ALWAYS, errs);
        }
        "ReplicaSet" => {
            nonnegative(obj, "/spec/replicas", "spec.replicas", errs);
            validate_selector_and_template(obj, "replicaset", errs);
            validate_pod_template(obj.pointer("/spec/template"), "spec.template", ALWAYS, errs);
        }
        "ReplicationController" => validate_replication_controller(obj, errs),
        "PodTemplate" => {
            validate_pod_template(obj.get("template"), "template", &["Always", "OnFailure", "Never"], errs)
        }
        "ControllerRevision" => {
            if obj.get("data").is_none_or(Value::is_null) {
                errs.push(apimachinery::field::required_because("data", "data is mandatory"));
            }
            nonnegative(obj, "/revision", "revision", errs);
        }
        "Job" => validate_job(obj, errs),
        "CronJob" => validate_cron_job(obj, errs),
        "PodDisruptionBudget" => validate_pdb(obj, errs),
        _ => return false,
    }
    true
}

/// Field errors of an update beyond those of the new object alone (immutable fields).
pub(super) fn validate_update(kind: &str, new: &Value, old: &Value, errs: &mut Errors) {
    match kind {
        "Deployment" | "DaemonSet" | "ReplicaSet" => {
            immutable(new, old, "/spec/selector", "spec.selector", errs);
        }
        "StatefulSet" => {
            // Only these may change; kube's ValidateStatefulSetUpdate.
            let mutable = [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ];
            let strip = |v: &Value| {
                let mut spec = v.get("spec").cloned().unwrap_or(Value::Null);
                if let Some(m) = spec.as_object_mut() {
                    m.retain(|k, _| !mutable.contains(&k.as_str()));
                }
                spec
            };
            if strip(new) != strip(old) {
                errs.push(forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
            }
        }
        "Job" => {
            immutable(new, old, "/spec/selector", "spec.selector", errs);
            immutable(new, old, "/spec/completions", "spec.completions", errs);
            // The template may change only while the Job is suspended (kube lets a suspended
            // Job's scheduling directives change).
            if old.pointer("/spec/suspend") != Some(&Value::Bool(true)) {
                immutable(new, old, "/spec/template", "spec.template", errs);
            }
        }
        "ControllerRevision" => immutable(new, old, "/data", "data", errs),
        _ => {}
    }
}

fn one_of(obj: &Value, pointer: &str, field: &str, allowed: &[&str], errs: &mut Errors) {
    let v = str_at(obj, pointer);
    if !v.is_empty() && !allowed.contains(&v) {
        errs.push(not_supported(field, v, allowed));
    }
}

/// kube's `ValidateReplicationControllerSpec`: the selector is a plain map, defaulted from
/// the template's labels.
fn validate_replication_controller(obj: &Value, errs: &mut Errors) {
    nonnegative(obj, "/spec/replicas", "spec.replicas", errs);
    let selector = obj.pointer("/spec/selector").and_then(Value::as_object).filter(|m| !m.is_empty());
    match selector {
        None => errs.push(required("spec.selector")),
        Some(sel) => {
            let labels = obj.pointer("/spec/template/metadata/labels");
            let as_selector = serde_json::json!({"matchLabels": sel});
            if !selector_matches(Some(&as_selector), labels) {
                errs.push(invalid_rendered(
                    "spec.template.metadata.labels",
                    &apimachinery::field::go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    match obj.pointer("/spec/template").filter(|t| !t.is_null()) {
        None => errs.push(required("spec.template")),
        Some(t) => validate_pod_template(Some(t), "spec.template", ALWAYS, errs),
    }
}

/// kube's `validateJobSpec` for the fields kubeward checks.
fn validate_job_spec(spec: Option<&Value>, path: &str, errs: &mut Errors) {
    let empty = Value::Null;
    let spec = spec.unwrap_or(&empty);
    for f in
        ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"]
    {
        nonnegative(spec, &format!("/{f}"), &format!("{path}.{f}"), errs);
    }
    let mode = str_at(spec, "/completionMode");
    if !mode.is_empty() && !["NonIndexed", "Indexed"].contains(&mode) {
        errs.push(not_supported(&format!("{path}.completionMode"), mode, &["NonIndexed", "Indexed"]));
    }
    // A template without a restart policy is defaulted to Always, which a Job refuses.
    validate_pod_template(spec.get("template"), &format!("{path}.template"), JOB_POLICIES, errs);
}

fn validate_job(obj: &Value, errs: &mut Errors) {
    validate_job_spec(obj.get("spec"), "spec", errs);
    match obj.pointer("/spec/selector").filter(|s| !s.is_null()) {
        None => errs.push(required("spec.selector")),
        Some(sel) => {
            let labels = obj.pointer("/spec/template/metadata/labels");
            if !selector_matches(Some(sel), labels) {
                errs.push(invalid_rendered(
                    "spec.template.metadata.labels",
                    &apimachinery::field::go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
}

/// kube's `ValidateCronJobCreate` / `validateCronJobSpec`.
fn validate_cron_job(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    if name.len() > 52 {
        errs.push(invalid("metadata.name", name, "must be no more than 52 characters"));
    }
    let schedule = str_at(obj, "/spec/schedule");
    if schedule.is_empty() {
        errs.push(required("spec.schedule"));
    } else {
        if let Some(e) = cron::parse_error(schedule) {
            errs.push(invalid("spec.schedule", schedule, &e));
        }
        if schedule.contains("TZ") {
            errs.push(invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    nonnegative(obj, "/spec/startingDeadlineSeconds", "spec.startingDeadlineSeconds", errs);
    match str_at(obj, "/spec/concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(required("spec.concurrencyPolicy")),
        other => errs.push(not_supported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"])),
    }
    validate_job_spec(obj.pointer("/spec/jobTemplate/spec"), "spec.jobTemplate.spec", errs);
    if let Some(sel) = obj.pointer("/spec/jobTemplate/spec/selector").filter(|s| !s.is_null()) {
        errs.push(invalid_rendered(
            "spec.jobTemplate.spec.selector",
            &sel.to_string(),
            "`selector` will be auto-generated",
        ));
    }
}

/// kube's `ValidatePodDisruptionBudgetSpec`: minAvailable and maxUnavailable are exclusive,
/// each a non-negative integer or a percentage up to 100%.
fn validate_pdb(obj: &Value, errs: &mut Errors) {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let min = spec.get("minAvailable").filter(|v| !v.is_null());
    let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
    if min.is_some() && max.is_some() {
        errs.push(invalid_rendered(
            "spec",
            &spec.to_string(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (v, field) in [(min, "spec.minAvailable"), (max, "spec.maxUnavailable")] {
        match v {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => {
                errs.push(apimachinery::field::invalid_number(field, n.as_i64().unwrap_or_default(), "must be greater than or equal to 0"))
            }
            Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
                None => errs.push(invalid(field, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")),
                Some(p) if !(0..=100).contains(&p) => {
                    errs.push(invalid(field, s, "must not be greater than 100%"))
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
    let policy = str_at(obj, "/spec/unhealthyPodEvictionPolicy");
    if !policy.is_empty() && !["IfHealthyBudget", "AlwaysAllow"].contains(&policy) {
        errs.push(not_supported(
            "spec.unhealthyPodEvictionPolicy",
            policy,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(kind: &str, obj: Value) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        validate(kind, &obj, &mut errs);
        errs.into_iter().map(|c| (c.field, c.message)).collect()
    }

    #[test]
    fn a_job_template_must_not_restart_always() {
        let job = json!({"spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "busybox"}]}}}});
        assert_eq!(
            errors("Job", job),
            vec![(
                "spec.template.spec.restartPolicy".into(),
                r#"Unsupported value: "Always": supported values: "OnFailure", "Never""#.into()
            )]
        );
    }

    #[test]
    fn an_unparsable_schedule_is_invalid() {
        let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "every day", "concurrencyPolicy": "Allow",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]}}}}}});
        assert_eq!(
            errors("CronJob", cj),
            vec![(
                "spec.schedule".into(),
                r#"Invalid value: "every day": expected exactly 5 fields, found 2: [every day]"#.into()
            )]
        );
    }

    #[test]
    fn a_statefulset_selector_must_match_its_template() {
        let sts = json!({"spec": {"selector": {"matchLabels": {"app": "db"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "busybox"}]}}}});
        assert_eq!(
            errors("StatefulSet", sts),
            vec![(
                "spec.template.metadata.labels".into(),
                r#"Invalid value: {"app":"web"}: `selector` does not match template `labels`"#.into()
            )]
        );
        assert_eq!(
            errors("DaemonSet", json!({"spec": {"template": {}}}))[0],
            ("spec.selector".into(), "Required value".into())
        );
    }

    #[test]
    fn pdb_bounds() {
        let pdb = json!({"spec": {"minAvailable": 1, "maxUnavailable": "150%"}});
        let errs = errors("PodDisruptionBudget", pdb);
        assert_eq!(errs.len(), 2);
        assert!(errs[0].1.ends_with("minAvailable and maxUnavailable cannot be both set"));
        assert_eq!(
            errs[1],
            ("spec.maxUnavailable".into(), r#"Invalid value: "150%": must not be greater than 100%"#.into())
        );
    }
}

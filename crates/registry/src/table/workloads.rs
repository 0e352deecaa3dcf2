//! Printers of apps/v1, autoscaling, batch/v1 and policy/v1 (`printDeployment`,
//! `printDaemonSet`, `printHorizontalPodAutoscaler`, `printJob`, `printCronJob`, ... in kube's
//! printers.go).

use super::{
    age, col, containers, created, format_label_selector, format_labels, human_duration, int, len, s, Cells,
    Column, Printer, AGE, CONTAINERS, IMAGES, NAME,
};
use crate::ResourceType;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const SELECTOR: Column = col("Selector", "string", 1);

pub(super) fn printer(rt: &ResourceType) -> Option<Printer> {
    let (columns, cells): (Vec<Column>, Cells) = match (rt.group, rt.kind) {
        ("apps", "Deployment") => (
            vec![
                NAME,
                col("Ready", "string", 0),
                col("Up-to-date", "string", 0),
                col("Available", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            |o, now| {
                let (names, images) = containers(o, "/spec/template/spec/containers");
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!("{}/{}", int(o, "/status/readyReplicas"), int(o, "/spec/replicas"))),
                    json!(int(o, "/status/updatedReplicas")),
                    json!(int(o, "/status/availableReplicas")),
                    json!(created(o, now)),
                    names,
                    images,
                    json!(format_label_selector(o, "/spec/selector")),
                ]
            },
        ),
        ("apps", "DaemonSet") => (
            vec![
                NAME,
                col("Desired", "integer", 0),
                col("Current", "integer", 0),
                col("Ready", "integer", 0),
                col("Up-to-date", "integer", 0),
                col("Available", "integer", 0),
                col("Node Selector", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            |o, now| {
                let (names, images) = containers(o, "/spec/template/spec/containers");
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(int(o, "/status/desiredNumberScheduled")),
                    json!(int(o, "/status/currentNumberScheduled")),
                    json!(int(o, "/status/numberReady")),
                    json!(int(o, "/status/updatedNumberScheduled")),
                    json!(int(o, "/status/numberAvailable")),
                    json!(format_labels(o, "/spec/template/spec/nodeSelector")),
                    json!(created(o, now)),
                    names,
                    images,
                    json!(format_label_selector(o, "/spec/selector")),
                ]
            },
        ),
        ("apps", "StatefulSet") => {
            (vec![NAME, col("Ready", "string", 0), AGE, CONTAINERS, IMAGES], |o, now| {
                let (names, images) = containers(o, "/spec/template/spec/containers");
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!("{}/{}", int(o, "/status/readyReplicas"), int(o, "/spec/replicas"))),
                    json!(created(o, now)),
                    names,
                    images,
                ]
            })
        }
        ("apps", "ReplicaSet") => (
            vec![
                NAME,
                col("Desired", "integer", 0),
                col("Current", "integer", 0),
                col("Ready", "integer", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            |o, now| {
                let (names, images) = containers(o, "/spec/template/spec/containers");
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(int(o, "/spec/replicas")),
                    json!(int(o, "/status/replicas")),
                    json!(int(o, "/status/readyReplicas")),
                    json!(created(o, now)),
                    names,
                    images,
                    json!(format_label_selector(o, "/spec/selector")),
                ]
            },
        ),
        ("apps", "ControllerRevision") => {
            (vec![NAME, col("Controller", "string", 0), col("Revision", "string", 0), AGE], |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(controller_of(o)),
                    json!(int(o, "/revision")),
                    json!(created(o, now)),
                ]
            })
        }
        ("autoscaling", "HorizontalPodAutoscaler") => (
            vec![
                NAME,
                col("Reference", "string", 0),
                col("Targets", "string", 0),
                col("MinPods", "string", 0),
                // kube's Table says string for these integer cells.
                col("MaxPods", "string", 0),
                col("Replicas", "string", 0),
                AGE,
            ],
            |o, now| {
                // kube prints the internal (v2) form whatever version was asked for.
                let v2;
                let o = if o["apiVersion"] == "autoscaling/v1" {
                    v2 = crate::convert_hpa::v1_to_v2(o.clone());
                    &v2
                } else {
                    o
                };
                let min = match o.pointer("/spec/minReplicas").and_then(Value::as_i64) {
                    Some(n) => n.to_string(),
                    None => "<unset>".into(),
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!(
                        "{}/{}",
                        s(o, "/spec/scaleTargetRef/kind"),
                        s(o, "/spec/scaleTargetRef/name")
                    )),
                    json!(hpa_metrics(o)),
                    json!(min),
                    json!(int(o, "/spec/maxReplicas")),
                    json!(int(o, "/status/currentReplicas")),
                    json!(created(o, now)),
                ]
            },
        ),
        ("batch", "Job") => (
            vec![
                NAME,
                col("Status", "string", 0),
                col("Completions", "string", 0),
                col("Duration", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            job_cells,
        ),
        ("batch", "CronJob") => (
            vec![
                NAME,
                col("Schedule", "string", 0),
                col("Timezone", "string", 0),
                col("Suspend", "boolean", 0),
                col("Active", "integer", 0),
                col("Last Schedule", "string", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                SELECTOR,
            ],
            |o, now| {
                let (names, images) = containers(o, "/spec/jobTemplate/spec/template/spec/containers");
                let last = match o.pointer("/status/lastScheduleTime") {
                    Some(Value::String(_)) => age(o, "/status/lastScheduleTime", now),
                    _ => "<none>".into(),
                };
                let suspend = match o.pointer("/spec/suspend") {
                    Some(Value::Bool(b)) => json!(if *b { "True" } else { "False" }),
                    _ => json!("<unset>"),
                };
                let tz = match s(o, "/spec/timeZone") {
                    "" if o.pointer("/spec/timeZone").is_none() => "<none>",
                    tz => tz,
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/spec/schedule")),
                    json!(tz),
                    suspend,
                    json!(len(o, "/status/active")),
                    json!(last),
                    json!(created(o, now)),
                    names,
                    images,
                    json!(format_label_selector(o, "/spec/jobTemplate/spec/selector")),
                ]
            },
        ),
        ("policy", "PodDisruptionBudget") => (
            vec![
                NAME,
                col("Min Available", "string", 0),
                col("Max Unavailable", "string", 0),
                col("Allowed Disruptions", "integer", 0),
                AGE,
            ],
            |o, now| {
                let int_or_string = |p: &str| match o.pointer(p) {
                    Some(Value::String(v)) => v.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => "N/A".into(),
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(int_or_string("/spec/minAvailable")),
                    json!(int_or_string("/spec/maxUnavailable")),
                    json!(int(o, "/status/disruptionsAllowed")),
                    json!(created(o, now)),
                ]
            },
        ),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// The controller owner of an object as `<kind>.<group>/<name>` (lower-cased group kind).
fn controller_of(obj: &Value) -> String {
    let owner = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("controller") == Some(&Value::Bool(true)));
    let Some(owner) = owner else { return "<none>".into() };
    let group = s(owner, "/apiVersion").rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = s(owner, "/kind");
    let gk = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    format!("{}/{}", gk.to_lowercase(), s(owner, "/name"))
}

fn has_condition(obj: &Value, kind: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| s(c, "/type") == kind)
        .is_some_and(|c| s(c, "/status") == "True")
}

fn job_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int(obj, "/status/succeeded");
    let completions = match obj.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int(obj, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let time = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc())
    };
    let duration = match (time("/status/startTime"), time("/status/completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration((now - start).num_seconds()),
        (Some(start), Some(end)) => human_duration((end - start).num_seconds()),
    };
    let status = if has_condition(obj, "Complete") {
        "Complete"
    } else if has_condition(obj, "Failed") {
        "Failed"
    } else if obj.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has_condition(obj, "Suspended") {
        "Suspended"
    } else if has_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers(obj, "/spec/template/spec/containers");
    vec![
        json!(s(obj, "/metadata/name")),
        json!(status),
        json!(completions),
        json!(duration),
        json!(created(obj, now)),
        names,
        images,
        json!(format_label_selector(obj, "/spec/selector")),
    ]
}

/// kube's `formatHPAMetrics`: each metric's current and target values, at most two.
fn hpa_metrics(o: &Value) -> String {
    let specs = o.pointer("/spec/metrics").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses =
        o.pointer("/status/currentMetrics").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let q = |v: Option<&Value>| -> Option<String> {
        v.filter(|v| !v.is_null()).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    let unknown = || "<unknown>".to_string();
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let field = |kind: &str| status.and_then(|st| st.get(kind)).filter(|v| !v.is_null());
        let text = match spec["type"].as_str().unwrap_or_default() {
            kind @ ("External" | "Object") => {
                let key = if kind == "External" { "external" } else { "object" };
                let target = &spec[key]["target"];
                match q(target.get("averageValue")) {
                    Some(avg) => {
                        let cur = field(key)
                            .and_then(|f| q(f.pointer("/current/averageValue")))
                            .unwrap_or_else(unknown);
                        format!("{cur}/{avg} (avg)")
                    }
                    None => {
                        let cur =
                            field(key).and_then(|f| q(f.pointer("/current/value"))).unwrap_or_else(unknown);
                        format!("{cur}/{}", q(target.get("value")).unwrap_or_default())
                    }
                }
            }
            "Pods" => {
                let cur =
                    field("pods").and_then(|f| q(f.pointer("/current/averageValue"))).unwrap_or_else(unknown);
                format!("{cur}/{}", q(spec.pointer("/pods/target/averageValue")).unwrap_or_default())
            }
            kind @ ("Resource" | "ContainerResource") => {
                let key = if kind == "Resource" { "resource" } else { "containerResource" };
                let r = &spec[key];
                let name = r["name"].as_str().unwrap_or_default();
                match q(r.pointer("/target/averageValue")) {
                    Some(avg) => {
                        let cur = field(key)
                            .and_then(|f| q(f.pointer("/current/averageValue")))
                            .unwrap_or_else(unknown);
                        format!("{name}: {cur}/{avg}")
                    }
                    None => {
                        let cur = field(key)
                            .and_then(|f| f.pointer("/current/averageUtilization").and_then(Value::as_i64))
                            .map_or_else(unknown, |u| format!("{u}%"));
                        let target = r
                            .pointer("/target/averageUtilization")
                            .and_then(Value::as_i64)
                            .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                        format!("{name}: {cur}/{target}")
                    }
                }
            }
            _ => "<unknown type>".into(),
        };
        list.push(text);
    }
    let count = list.len();
    if count > 2 {
        list.truncate(2);
        return format!("{} + {} more...", list.join(", "), count - 2);
    }
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_revisions() {
        let now = Utc::now();
        let job = json!({"metadata": {"name": "pi"}, "spec": {"completions": 3, "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
            "status": {"succeeded": 1, "conditions": [{"type": "Suspended", "status": "True"}]}});
        let row = job_cells(&job, now);
        assert_eq!(row[..4], [json!("pi"), json!("Suspended"), json!("1/3"), json!("")]);
        assert_eq!(row[5..], [json!("pi"), json!("perl"), json!("a=b")]);
        let rev = json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "controller": true}]}});
        assert_eq!(controller_of(&rev), "daemonset.apps/d");
    }
}

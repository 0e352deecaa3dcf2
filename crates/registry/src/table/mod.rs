//! `meta.k8s.io/v1` Table output: the columns `kubectl get` prints for each resource,
//! as kube's printers (pkg/printers/internalversion) define them.

use crate::ResourceType;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A column: name, type, format, description, priority (0 = always shown, 1 = `-o wide`).
pub struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: u8,
}

const fn col(name: &'static str, kind: &'static str, priority: u8) -> Column {
    Column { name, kind, format: "", description: "", priority }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace. More info: http://kubernetes.io/docs/user-guide/identifiers#names",
    priority: 0,
};
const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description:
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
};

pub fn columns(rt: &ResourceType) -> Vec<Column> {
    match rt.kind {
        "Namespace" => vec![NAME, col("Status", "string", 0), AGE],
        "ConfigMap" => vec![NAME, col("Data", "string", 0), AGE],
        "Secret" => vec![NAME, col("Type", "string", 0), col("Data", "string", 0), AGE],
        "ServiceAccount" => vec![NAME, col("Secrets", "string", 0), AGE],
        "Pod" => vec![
            NAME,
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
            AGE,
            col("IP", "string", 1),
            col("Node", "string", 1),
            col("Nominated Node", "string", 1),
            col("Readiness Gates", "string", 1),
        ],
        "Service" => vec![
            NAME,
            col("Type", "string", 0),
            col("Cluster-IP", "string", 0),
            col("External-IP", "string", 0),
            col("Port(s)", "string", 0),
            AGE,
            col("Selector", "string", 1),
        ],
        "Endpoints" => vec![NAME, col("Endpoints", "string", 0), AGE],
        "Event" => vec![
            col("Last Seen", "string", 0),
            col("Type", "string", 0),
            col("Reason", "string", 0),
            col("Object", "string", 0),
            col("Message", "string", 0),
        ],
        "Node" => vec![
            NAME,
            col("Status", "string", 0),
            col("Roles", "string", 0),
            AGE,
            col("Version", "string", 0),
        ],
        "Deployment" => vec![
            NAME,
            col("Ready", "string", 0),
            col("Up-to-date", "string", 0),
            col("Available", "string", 0),
            AGE,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        "Role" | "ClusterRole" => vec![NAME, col("Created At", "date", 0)],
        "RoleBinding" | "ClusterRoleBinding" => vec![
            NAME,
            col("Role", "string", 0),
            AGE,
            col("Users", "string", 1),
            col("Groups", "string", 1),
            col("ServiceAccounts", "string", 1),
        ],
        "Lease" => vec![NAME, col("Holder", "string", 0), AGE],
        _ => vec![NAME, AGE],
    }
}

pub fn column_definitions(rt: &ResourceType) -> Value {
    Value::Array(
        columns(rt)
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect(),
    )
}

/// kube's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        }
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if h < 24 * 365 * 8 {
        let y = d / 365;
        if d % 365 == 0 {
            format!("{y}y")
        } else {
            format!("{y}y{}d", d % 365)
        }
    } else {
        format!("{}y", d / 365)
    }
}

fn age(obj: &Value, field: &str, now: DateTime<Utc>) -> String {
    match obj.pointer(field).and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => human_duration((now - t.with_timezone(&Utc)).num_seconds()),
        None => "<unknown>".into(),
    }
}

fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn len(obj: &Value, pointer: &str) -> usize {
    match obj.pointer(pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn or_none(v: String) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v
    }
}

fn selector_string(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

fn subjects(obj: &Value, kind: &str) -> String {
    let mut out = Vec::new();
    for sub in obj.get("subjects").and_then(Value::as_array).into_iter().flatten() {
        if sub.get("kind").and_then(Value::as_str) == Some(kind) {
            let name = s(sub, "/name");
            if kind == "ServiceAccount" {
                out.push(format!("{}/{name}", s(sub, "/namespace")));
            } else {
                out.push(name.to_string());
            }
        }
    }
    out.join(", ")
}

fn pod_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let total = len(obj, "/spec/containers");
    let statuses = obj.pointer("/status/containerStatuses").and_then(Value::as_array);
    let ready = statuses.into_iter().flatten().filter(|c| c.get("ready") == Some(&Value::Bool(true))).count();
    let restarts: i64 =
        statuses.into_iter().flatten().filter_map(|c| c.get("restartCount").and_then(Value::as_i64)).sum();
    let mut reason = s(obj, "/status/reason").to_string();
    if reason.is_empty() {
        reason = s(obj, "/status/phase").to_string();
    }
    for c in statuses.into_iter().flatten() {
        let waiting = s(c, "/state/waiting/reason");
        if !waiting.is_empty() {
            reason = waiting.to_string();
        }
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    vec![
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        json!(age(obj, "/metadata/creationTimestamp", now)),
        json!(or_none(s(obj, "/status/podIP").to_string())),
        json!(or_none(s(obj, "/spec/nodeName").to_string())),
        json!(or_none(s(obj, "/status/nominatedNodeName").to_string())),
        json!("<none>"),
    ]
}

fn service_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports: Vec<String> = obj
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or_default();
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    let external = match obj.pointer("/spec/externalIPs").and_then(Value::as_array) {
        Some(ips) if !ips.is_empty() => ips.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        _ if s(obj, "/spec/type") == "LoadBalancer" => "<pending>".into(),
        _ => "<none>".into(),
    };
    vec![
        json!(s(obj, "/spec/type")),
        json!(or_none(s(obj, "/spec/clusterIP").to_string())),
        json!(external),
        json!(or_none(ports.join(","))),
        json!(age(obj, "/metadata/creationTimestamp", now)),
        json!(or_none(selector_string(obj, "/spec/selector"))),
    ]
}

fn endpoints_cell(obj: &Value) -> String {
    let mut out = Vec::new();
    for subset in obj.get("subsets").and_then(Value::as_array).into_iter().flatten() {
        let ports: Vec<i64> = subset
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("port").and_then(Value::as_i64))
            .collect();
        for a in subset.get("addresses").and_then(Value::as_array).into_iter().flatten() {
            let ip = s(a, "/ip");
            if ports.is_empty() {
                out.push(ip.to_string());
            }
            for p in &ports {
                out.push(format!("{ip}:{p}"));
            }
        }
    }
    if out.len() > 3 {
        let more = out.len() - 3;
        out.truncate(3);
        return format!("{} + {more} more...", out.join(","));
    }
    or_none(out.join(","))
}

fn node_status(obj: &Value) -> String {
    let ready = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| s(c, "/type") == "Ready")
        .map(|c| s(c, "/status") == "True");
    let mut status = match ready {
        Some(true) => "Ready".to_string(),
        _ => "NotReady".to_string(),
    };
    if obj.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

fn node_roles(obj: &Value) -> String {
    let mut roles: Vec<String> = Vec::new();
    for (k, _) in obj.pointer("/metadata/labels").and_then(Value::as_object).into_iter().flatten() {
        if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
            roles.push(r.to_string());
        }
    }
    or_none(roles.join(","))
}

/// The cells of one row, in the order of [`columns`].
pub fn cells(rt: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(s(obj, "/metadata/name"));
    let created = age(obj, "/metadata/creationTimestamp", now);
    let mut row = match rt.kind {
        "Event" => {
            let last = ["/lastTimestamp", "/eventTime", "/metadata/creationTimestamp"]
                .iter()
                .find(|p| !s(obj, p).is_empty())
                .map(|p| age(obj, p, now))
                .unwrap_or_else(|| "<unknown>".into());
            let object = format!(
                "{}/{}",
                s(obj, "/involvedObject/kind").to_lowercase(),
                s(obj, "/involvedObject/name")
            );
            return vec![
                json!(last),
                json!(s(obj, "/type")),
                json!(s(obj, "/reason")),
                json!(object),
                json!(s(obj, "/message")),
            ];
        }
        _ => vec![name],
    };
    match rt.kind {
        "Namespace" => row.extend([json!(s(obj, "/status/phase")), json!(created)]),
        "ConfigMap" => row.extend([json!(len(obj, "/data") + len(obj, "/binaryData")), json!(created)]),
        "Secret" => row.extend([json!(s(obj, "/type")), json!(len(obj, "/data")), json!(created)]),
        "ServiceAccount" => row.extend([json!(len(obj, "/secrets")), json!(created)]),
        "Pod" => row.extend(pod_cells(obj, now)),
        "Service" => row.extend(service_cells(obj, now)),
        "Endpoints" => row.extend([json!(endpoints_cell(obj)), json!(created)]),
        "Node" => row.extend([
            json!(node_status(obj)),
            json!(node_roles(obj)),
            json!(created),
            json!(s(obj, "/status/nodeInfo/kubeletVersion")),
        ]),
        "Deployment" => {
            let want = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            let st = |f: &str| obj.pointer(&format!("/status/{f}")).and_then(Value::as_i64).unwrap_or(0);
            let containers: Vec<&Value> = obj
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let names: Vec<&str> = containers.iter().map(|c| s(c, "/name")).collect();
            let images: Vec<&str> = containers.iter().map(|c| s(c, "/image")).collect();
            let mut sel = selector_string(obj, "/spec/selector/matchLabels");
            if sel.is_empty() {
                sel = "<none>".into();
            }
            row.extend([
                json!(format!("{}/{want}", st("readyReplicas"))),
                json!(st("updatedReplicas")),
                json!(st("availableReplicas")),
                json!(created),
                json!(names.join(",")),
                json!(images.join(",")),
                json!(sel),
            ])
        }
        "Role" | "ClusterRole" => row.push(json!(s(obj, "/metadata/creationTimestamp"))),
        "RoleBinding" | "ClusterRoleBinding" => row.extend([
            json!(format!("{}/{}", s(obj, "/roleRef/kind"), s(obj, "/roleRef/name"))),
            json!(created),
            json!(subjects(obj, "User")),
            json!(subjects(obj, "Group")),
            json!(subjects(obj, "ServiceAccount")),
        ]),
        "Lease" => row.extend([json!(or_none(s(obj, "/spec/holderIdentity").to_string())), json!(created)]),
        _ => row.push(json!(created)),
    }
    row
}

/// The `PartialObjectMetadata` a Table row carries (kube's default includeObject=Metadata).
pub fn partial_object(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A whole Table for a list of objects.
pub fn table(rt: &ResourceType, objs: &[Value], list_meta: Value, now: DateTime<Utc>) -> Value {
    let rows: Vec<Value> =
        objs.iter().map(|o| json!({"cells": cells(rt, o, now), "object": partial_object(o)})).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(rt),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn human_durations_match_kube() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600), "60m");
        assert_eq!(human_duration(4 * 3600 + 60), "4h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
    }

    #[test]
    fn every_row_matches_its_columns() {
        let c = Catalog::builtin();
        let now = Utc::now();
        let obj = json!({"metadata":{"name":"x","creationTimestamp":"2026-01-01T00:00:00Z"}});
        for rt in c.all() {
            assert_eq!(cells(rt, &obj, now).len(), columns(rt).len(), "{}", rt.kind);
        }
    }
}

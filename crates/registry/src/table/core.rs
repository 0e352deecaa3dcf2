//! Printers of the core group (`printPod`, `printService`, `printEvent`, ... in kube's
//! printers.go).

use super::{
    age, col, containers, created, format_labels, int, len, or_none, s, Cells, Column, Printer, AGE,
    CONTAINERS, IMAGES, NAME,
};
use crate::ResourceType;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub(super) fn printer(rt: &ResourceType) -> Option<Printer> {
    if !rt.group.is_empty() {
        return None;
    }
    let (columns, cells): (Vec<Column>, Cells) = match rt.kind {
        "Namespace" => (vec![NAME, col("Status", "string", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(s(o, "/status/phase")), json!(created(o, now))]
        }),
        "ConfigMap" => (vec![NAME, col("Data", "string", 0), AGE], |o, now| {
            vec![
                json!(s(o, "/metadata/name")),
                json!(len(o, "/data") + len(o, "/binaryData")),
                json!(created(o, now)),
            ]
        }),
        "Secret" => (vec![NAME, col("Type", "string", 0), col("Data", "string", 0), AGE], |o, now| {
            vec![
                json!(s(o, "/metadata/name")),
                json!(s(o, "/type")),
                json!(len(o, "/data")),
                json!(created(o, now)),
            ]
        }),
        "ServiceAccount" => (vec![NAME, col("Secrets", "string", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(len(o, "/secrets")), json!(created(o, now))]
        }),
        "Pod" => (
            vec![
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
            pod_cells,
        ),
        "Service" => (
            vec![
                NAME,
                col("Type", "string", 0),
                col("Cluster-IP", "string", 0),
                col("External-IP", "string", 0),
                col("Port(s)", "string", 0),
                AGE,
                col("Selector", "string", 1),
            ],
            service_cells,
        ),
        "Endpoints" => (vec![NAME, col("Endpoints", "string", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(endpoints_cell(o)), json!(created(o, now))]
        }),
        "Event" => (event_columns(), event_cells),
        "Node" => (
            vec![
                NAME,
                col("Status", "string", 0),
                col("Roles", "string", 0),
                AGE,
                col("Version", "string", 0),
                col("Internal-IP", "string", 1),
                col("External-IP", "string", 1),
                col("OS-Image", "string", 1),
                col("Kernel-Version", "string", 1),
                col("Container-Runtime", "string", 1),
            ],
            node_cells,
        ),
        // kube has no printer for LimitRange: its default table convertor's columns.
        "LimitRange" => (vec![NAME, col("Created At", "date", 0)], |o, _| {
            vec![json!(s(o, "/metadata/name")), json!(s(o, "/metadata/creationTimestamp"))]
        }),
        "ResourceQuota" => {
            (vec![NAME, col("Request", "string", 0), col("Limit", "string", 0), AGE], resource_quota_cells)
        }
        "ReplicationController" => (
            vec![
                NAME,
                col("Desired", "integer", 0),
                col("Current", "integer", 0),
                col("Ready", "integer", 0),
                AGE,
                CONTAINERS,
                IMAGES,
                col("Selector", "string", 1),
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
                    json!(format_labels(o, "/spec/selector")),
                ]
            },
        ),
        "PersistentVolume" => (
            vec![
                NAME,
                col("Capacity", "string", 0),
                col("Access Modes", "string", 0),
                col("Reclaim Policy", "string", 0),
                col("Status", "string", 0),
                col("Claim", "string", 0),
                col("StorageClass", "string", 0),
                col("VolumeAttributesClass", "string", 0),
                col("Reason", "string", 0),
                AGE,
                col("VolumeMode", "string", 1),
            ],
            pv_cells,
        ),
        "PersistentVolumeClaim" => (
            vec![
                NAME,
                col("Status", "string", 0),
                col("Volume", "string", 0),
                col("Capacity", "string", 0),
                col("Access Modes", "string", 0),
                col("StorageClass", "string", 0),
                col("VolumeAttributesClass", "string", 0),
                AGE,
                col("VolumeMode", "string", 1),
            ],
            pvc_cells,
        ),
        "PodTemplate" => (
            vec![
                NAME,
                col("Containers", "string", 0),
                col("Images", "string", 0),
                col("Pod Labels", "string", 0),
            ],
            |o, _| {
                let (names, images) = containers(o, "/template/spec/containers");
                vec![
                    json!(s(o, "/metadata/name")),
                    names,
                    images,
                    json!(format_labels(o, "/template/metadata/labels")),
                ]
            },
        ),
        "ComponentStatus" => (
            vec![NAME, col("Status", "string", 0), col("Message", "string", 0), col("Error", "string", 0)],
            component_status_cells,
        ),
        _ => return None,
    };
    Some(Printer { columns, cells })
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
        json!(s(obj, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        // kube prints the restart count as text (with the last restart's age when known).
        json!(restarts.to_string()),
        json!(created(obj, now)),
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
    let ingress: Vec<&str> = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname") } else { s(i, "/ip") })
        .filter(|a| !a.is_empty())
        .collect();
    let external_ips: Vec<&str> = obj
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let external = match s(obj, "/spec/type") {
        "ExternalName" => s(obj, "/spec/externalName").to_string(),
        "LoadBalancer" if ingress.is_empty() && external_ips.is_empty() => "<pending>".into(),
        "LoadBalancer" => [ingress, external_ips].concat().join(","),
        _ => or_none(external_ips.join(",")),
    };
    vec![
        json!(s(obj, "/metadata/name")),
        json!(s(obj, "/spec/type")),
        json!(or_none(s(obj, "/spec/clusterIP").to_string())),
        json!(external),
        json!(or_none(ports.join(","))),
        json!(created(obj, now)),
        json!(format_labels(obj, "/spec/selector")),
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

/// kube 1.34's event columns; the first five are those `kubectl get events` shows.
pub(super) fn event_columns() -> Vec<Column> {
    vec![
        col("Last Seen", "string", 0),
        col("Type", "string", 0),
        col("Reason", "string", 0),
        col("Object", "string", 0),
        col("Subobject", "string", 1),
        col("Source", "string", 1),
        col("Message", "string", 0),
        col("First Seen", "string", 1),
        col("Count", "string", 1),
        Column { priority: 1, ..NAME },
    ]
}

/// `printEvent` of a core v1 Event.
pub(super) fn event_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = if s(obj, "/firstTimestamp").is_empty() {
        age(obj, "/eventTime", now)
    } else {
        age(obj, "/firstTimestamp", now)
    };
    let mut last =
        if s(obj, "/lastTimestamp").is_empty() { first.clone() } else { age(obj, "/lastTimestamp", now) };
    let mut count = int(obj, "/count");
    if obj.get("series").is_some_and(|v| !v.is_null()) {
        last = age(obj, "/series/lastObservedTime", now);
        count = int(obj, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = s(obj, "/involvedObject/kind").to_lowercase();
    let target = match s(obj, "/involvedObject/name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let non_empty = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
    let component = non_empty(s(obj, "/source/component"), s(obj, "/reportingComponent"));
    let instance = non_empty(s(obj, "/source/host"), s(obj, "/reportingInstance"));
    let source = if instance.is_empty() { component } else { format!("{component}, {instance}") };
    vec![
        json!(last),
        json!(s(obj, "/type")),
        json!(s(obj, "/reason")),
        json!(target),
        json!(s(obj, "/involvedObject/fieldPath")),
        json!(source),
        json!(s(obj, "/message").trim()),
        json!(first),
        json!(count),
        json!(s(obj, "/metadata/name")),
    ]
}

/// `printNode` with the wide cells (the server always fills them).
fn node_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let address = |kind: &str| {
        let addresses = obj.pointer("/status/addresses").and_then(Value::as_array);
        let found = addresses.into_iter().flatten().find(|a| s(a, "/type") == kind);
        found.map_or_else(|| "<none>".to_string(), |a| s(a, "/address").to_string())
    };
    let info = |field: &str| match s(obj, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        json!(s(obj, "/metadata/name")),
        json!(node_status(obj)),
        json!(node_roles(obj)),
        json!(created(obj, now)),
        json!(s(obj, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// `printResourceQuota`: `resource: used/hard` of each hard limit, sorted by name; the
/// `limits.*` ones in the Limit column, the others in Request. Quantities print as stored.
fn resource_quota_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let hard = obj.pointer("/status/hard").and_then(Value::as_object);
    let mut resources: Vec<(&String, &Value)> = hard.into_iter().flatten().collect();
    resources.sort_by(|a, b| a.0.cmp(b.0));
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    for (name, hard) in resources {
        let used = obj.pointer("/status/used").and_then(|u| u.get(name)).and_then(Value::as_str);
        let text = format!("{name}: {}/{}", used.unwrap_or("0"), hard.as_str().unwrap_or_default());
        if name.starts_with("limits.") {
            limit.push(text);
        } else {
            request.push(text);
        }
    }
    vec![
        json!(s(obj, "/metadata/name")),
        json!(request.join(", ")),
        json!(limit.join(", ")),
        json!(created(obj, now)),
    ]
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
        Some(false) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if obj.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

fn node_roles(obj: &Value) -> String {
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in obj.pointer("/metadata/labels").and_then(Value::as_object).into_iter().flatten() {
        if let Some(r) = k.strip_prefix("node-role.kubernetes.io/").filter(|r| !r.is_empty()) {
            roles.push(r.to_string());
        } else if k == "kubernetes.io/role" && v.as_str().is_some_and(|v| !v.is_empty()) {
            roles.push(v.as_str().unwrap_or_default().to_string());
        }
    }
    roles.sort();
    roles.dedup();
    or_none(roles.join(","))
}

/// helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order.
fn access_modes(obj: &Value, pointer: &str) -> String {
    let modes: Vec<&str> = obj
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| modes.contains(m))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

fn unset(v: &str) -> String {
    if v.is_empty() {
        "<unset>".into()
    } else {
        v.to_string()
    }
}

/// The storage class of a PV or PVC: the field, else the beta annotation.
fn storage_class(obj: &Value, field: &str) -> String {
    match obj.pointer(field).and_then(Value::as_str) {
        Some(c) => c.to_string(),
        None => s(obj, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class").to_string(),
    }
}

fn pv_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = match obj.pointer("/spec/claimRef") {
        Some(c) if !c.is_null() => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
        _ => String::new(),
    };
    let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        s(obj, "/status/phase")
    };
    vec![
        json!(s(obj, "/metadata/name")),
        json!(s(obj, "/spec/capacity/storage")),
        json!(access_modes(obj, "/spec/accessModes")),
        json!(s(obj, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(obj, "/spec/storageClassName")),
        json!(unset(s(obj, "/spec/volumeAttributesClassName"))),
        json!(s(obj, "/status/reason")),
        json!(created(obj, now)),
        json!(unset(s(obj, "/spec/volumeMode"))),
    ]
}

fn pvc_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        s(obj, "/status/phase")
    };
    let bound = !s(obj, "/spec/volumeName").is_empty();
    let (capacity, modes) = if bound {
        (s(obj, "/status/capacity/storage").to_string(), access_modes(obj, "/status/accessModes"))
    } else {
        (String::new(), String::new())
    };
    vec![
        json!(s(obj, "/metadata/name")),
        json!(phase),
        json!(s(obj, "/spec/volumeName")),
        json!(capacity),
        json!(modes),
        json!(storage_class(obj, "/spec/storageClassName")),
        json!(unset(s(obj, "/spec/volumeAttributesClassName"))),
        json!(created(obj, now)),
        json!(unset(s(obj, "/spec/volumeMode"))),
    ]
}

fn component_status_cells(obj: &Value, _: DateTime<Utc>) -> Vec<Value> {
    let healthy = obj
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| s(c, "/type") == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if s(c, "/status") == "True" { "Healthy" } else { "Unhealthy" },
            s(c, "/message"),
            s(c, "/error"),
        ),
        None => ("Unknown", "", ""),
    };
    vec![json!(s(obj, "/metadata/name")), json!(status), json!(message), json!(error)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn claims_and_volumes() {
        let c = Catalog::builtin();
        let now = Utc::now();
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv1", "storageClassName": "fast",
            "volumeMode": "Filesystem"}, "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
        let rt = c.lookup("", "v1", "persistentvolumeclaims").unwrap();
        let row = crate::table::cells(rt, &pvc, now);
        assert_eq!(
            row[..7],
            [
                json!("data"),
                json!("Bound"),
                json!("pv1"),
                json!("1Gi"),
                json!("RWO,RWX"),
                json!("fast"),
                json!("<unset>")
            ]
        );
    }

    #[test]
    fn nodes_and_quotas() {
        let c = Catalog::builtin();
        let now = Utc::now();
        let node = json!({"metadata": {"name": "n1"}, "status": {"addresses": [
            {"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "nodeInfo": {"kubeletVersion": "v1.34.0", "osImage": "Debian"}}});
        let row = crate::table::cells(c.lookup("", "v1", "nodes").unwrap(), &node, now);
        assert_eq!(
            row[4..],
            [
                json!("v1.34.0"),
                json!("10.0.0.5"),
                json!("<none>"),
                json!("Debian"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );

        let quota = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"pods": "10", "limits.memory": "1Gi", "limits.cpu": "2", "cpu": "1"},
            "used": {"pods": "3", "limits.cpu": "500m"}}});
        let row = crate::table::cells(c.lookup("", "v1", "resourcequotas").unwrap(), &quota, now);
        assert_eq!(
            row[1..3],
            [json!("cpu: 0/1, pods: 3/10"), json!("limits.cpu: 500m/2, limits.memory: 0/1Gi")]
        );
    }

    #[test]
    fn component_statuses() {
        let cs = json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
        assert_eq!(
            component_status_cells(&cs, Utc::now()),
            vec![json!("etcd-0"), json!("Healthy"), json!("ok"), json!("")]
        );
    }
}

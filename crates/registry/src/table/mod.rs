//! `meta.k8s.io/v1` Table output: the columns `kubectl get` prints for each resource,
//! as kube's printers (`pkg/printers/internalversion/printers.go`) define them. The server
//! always fills the wide (`-o wide`, priority 1) cells, as kube's table convertor does.
//!
//! Modules hold the printers of a family of groups: `core`, `workloads` (apps, batch,
//! policy), `flowcontrol` and `groups` (the others). A kind without a printer gets Name and
//! Age.

mod core;
mod custom;
mod docs;
mod flowcontrol;
mod groups;
mod workloads;

/// Cells of one row from an object, at a time (for ages).
pub(super) type Cells = fn(&Value, DateTime<Utc>) -> Vec<Value>;

use crate::ResourceType;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A column: name, type, format, description, priority (0 = always shown, 1 = `-o wide`).
/// Printers leave the description empty; [`columns`] fills in kube's (see `docs`).
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

const NAME: Column = Column { format: "name", ..col("Name", "string", 0) };
const AGE: Column = col("Age", "string", 0);
const CONTAINERS: Column = col("Containers", "string", 1);
const IMAGES: Column = col("Images", "string", 1);

/// The columns of one kind and the function that prints a row.
struct Printer {
    columns: Vec<Column>,
    cells: Cells,
}

fn name_and_age(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(s(obj, "/metadata/name")), json!(created(obj, now))]
}

fn printer(rt: &ResourceType) -> Printer {
    core::printer(rt)
        .or_else(|| workloads::printer(rt))
        .or_else(|| groups::printer(rt))
        .or_else(|| flowcontrol::printer(rt))
        .unwrap_or(Printer { columns: vec![NAME, AGE], cells: name_and_age })
}

/// The columns of a built-in kind's Table, with kube's descriptions.
pub fn columns(rt: &ResourceType) -> Vec<Column> {
    let mut columns = printer(rt).columns;
    for c in &mut columns {
        c.description = docs::description(rt.group, rt.kind, c.name);
    }
    columns
}

/// Whether kube answers `rt` with its default table convertor (no printer: Name and Created
/// At), whose Table of an empty list has `rows: null` where printers give `[]`.
fn default_convertor(rt: &ResourceType) -> bool {
    !rt.custom && printer(rt).columns.get(1).is_some_and(|c| c.name == "Created At")
}

/// The cells of one row, in the order of [`columns`].
pub fn cells(rt: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    if let Some(v) = crate::Catalog::global().custom().version(rt) {
        return custom::cells(&v, obj, now);
    }
    (printer(rt).cells)(obj, now)
}

pub fn column_definitions(rt: &ResourceType) -> Value {
    if let Some(v) = crate::Catalog::global().custom().version(rt) {
        return custom::column_definitions(&v);
    }
    Value::Array(
        columns(rt)
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect(),
    )
}

pub use apimachinery::duration::human_duration;

/// kube's `translateTimestampSince` of the field at `pointer`.
fn age(obj: &Value, pointer: &str, now: DateTime<Utc>) -> String {
    match obj.pointer(pointer).and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => human_duration((now - t.with_timezone(&Utc)).num_seconds()),
        None => "<unknown>".into(),
    }
}

/// The Age cell.
fn created(obj: &Value, now: DateTime<Utc>) -> String {
    age(obj, "/metadata/creationTimestamp", now)
}

fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
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

/// labels.FormatLabels: `k=v` sorted by key, `<none>` when empty.
fn format_labels(obj: &Value, pointer: &str) -> String {
    let mut pairs: Vec<String> = match obj.pointer(pointer) {
        Some(Value::Object(m)) => {
            m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect()
        }
        _ => Vec::new(),
    };
    pairs.sort();
    or_none(pairs.join(","))
}

/// A label selector as `labels.Selector.String()` prints it (the form a Scale's
/// `status.selector` carries): like [`format_label_selector`], empty when it has no
/// requirements. A map (a ReplicationController's selector) prints as `k=v` pairs.
pub fn selector_string(obj: &Value, pointer: &str) -> String {
    let printed = match obj.pointer(pointer) {
        Some(Value::Object(m)) if !m.contains_key("matchLabels") && !m.contains_key("matchExpressions") => {
            format_labels(obj, pointer)
        }
        _ => format_label_selector(obj, pointer),
    };
    if printed == "<none>" {
        String::new()
    } else {
        printed
    }
}

/// metav1.FormatLabelSelector: the selector's requirements sorted by key, `<none>` when it
/// selects everything or nothing.
fn format_label_selector(obj: &Value, pointer: &str) -> String {
    let Some(sel) = obj.pointer(pointer).filter(|v| !v.is_null()) else { return "<none>".into() };
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in sel.get("matchLabels").and_then(Value::as_object).into_iter().flatten() {
        reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = s(e, "/key").to_string();
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort();
        let text = match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".into(),
        };
        reqs.push((key, text));
    }
    reqs.sort();
    or_none(reqs.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(","))
}

/// layoutContainerCells: container names and images, comma-separated.
fn containers(obj: &Value, pointer: &str) -> (Value, Value) {
    let cs = obj.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// The `PartialObjectMetadata` a Table row carries (kube's default includeObject=Metadata).
pub fn partial_object(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// What each row of a Table carries as its `object` (the `includeObject` query parameter):
/// nothing, the object's metadata (`PartialObjectMetadata`, the default), or the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// The query parameter's value; `None` for one kube does not know.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "None" => Some(Self::None),
            "Metadata" | "" => Some(Self::Metadata),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }

    fn row_object(self, obj: &Value) -> Value {
        match self {
            Self::None => Value::Null,
            Self::Metadata => partial_object(obj),
            Self::Object => obj.clone(),
        }
    }
}

/// A whole Table for a list of objects, each row with its object's metadata.
pub fn table(rt: &ResourceType, objs: &[Value], list_meta: Value, now: DateTime<Utc>) -> Value {
    table_with(rt, objs, list_meta, now, IncludeObject::Metadata)
}

/// A whole Table for a list of objects, each row with what `include` asks for.
pub fn table_with(
    rt: &ResourceType,
    objs: &[Value],
    list_meta: Value,
    now: DateTime<Utc>,
    include: IncludeObject,
) -> Value {
    let mut order: Vec<&Value> = objs.iter().collect();
    if let Some(cmp) = flowcontrol::row_order(rt) {
        order.sort_by(|a, b| cmp(a, b));
    }
    let rows: Vec<Value> =
        order.iter().map(|o| json!({"cells": cells(rt, o, now), "object": include.row_object(o)})).collect();
    let rows = if rows.is_empty() && default_convertor(rt) { Value::Null } else { Value::Array(rows) };
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
            // kube's IPAddress printer fills an Age cell it declares no column for.
            let extra = usize::from(rt.kind == "IPAddress");
            assert_eq!(cells(rt, &obj, now).len(), columns(rt).len() + extra, "{}", rt.kind);
        }
    }

    /// The column names of kube's printers.go (and kube-aggregator's APIService table).
    #[test]
    fn columns_are_kubes() {
        let c = Catalog::builtin();
        let names = |group: &str, plural: &str| -> Vec<&'static str> {
            let rt = c.lookup(group, "v1", plural).unwrap_or_else(|| panic!("{plural}"));
            columns(rt).iter().map(|c| c.name).collect()
        };
        let wide = ["Containers", "Images", "Selector"];
        let expected: &[(&str, &str, Vec<&str>)] = &[
            (
                "apps",
                "daemonsets",
                [
                    &[
                        "Name",
                        "Desired",
                        "Current",
                        "Ready",
                        "Up-to-date",
                        "Available",
                        "Node Selector",
                        "Age",
                    ][..],
                    &wide,
                ]
                .concat(),
            ),
            ("apps", "statefulsets", vec!["Name", "Ready", "Age", "Containers", "Images"]),
            ("apps", "replicasets", [&["Name", "Desired", "Current", "Ready", "Age"][..], &wide].concat()),
            ("apps", "controllerrevisions", vec!["Name", "Controller", "Revision", "Age"]),
            ("batch", "jobs", [&["Name", "Status", "Completions", "Duration", "Age"][..], &wide].concat()),
            (
                "batch",
                "cronjobs",
                [&["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"][..], &wide]
                    .concat(),
            ),
            (
                "",
                "replicationcontrollers",
                [&["Name", "Desired", "Current", "Ready", "Age"][..], &wide].concat(),
            ),
            (
                "",
                "persistentvolumes",
                vec![
                    "Name",
                    "Capacity",
                    "Access Modes",
                    "Reclaim Policy",
                    "Status",
                    "Claim",
                    "StorageClass",
                    "VolumeAttributesClass",
                    "Reason",
                    "Age",
                    "VolumeMode",
                ],
            ),
            (
                "",
                "persistentvolumeclaims",
                vec![
                    "Name",
                    "Status",
                    "Volume",
                    "Capacity",
                    "Access Modes",
                    "StorageClass",
                    "VolumeAttributesClass",
                    "Age",
                    "VolumeMode",
                ],
            ),
            ("", "podtemplates", vec!["Name", "Containers", "Images", "Pod Labels"]),
            ("", "componentstatuses", vec!["Name", "Status", "Message", "Error"]),
            (
                "",
                "nodes",
                vec![
                    "Name",
                    "Status",
                    "Roles",
                    "Age",
                    "Version",
                    "Internal-IP",
                    "External-IP",
                    "OS-Image",
                    "Kernel-Version",
                    "Container-Runtime",
                ],
            ),
            ("", "resourcequotas", vec!["Name", "Request", "Limit", "Age"]),
            ("", "limitranges", vec!["Name", "Created At"]),
            ("discovery.k8s.io", "endpointslices", vec!["Name", "AddressType", "Ports", "Endpoints", "Age"]),
            (
                "events.k8s.io",
                "events",
                vec![
                    "Last Seen",
                    "Type",
                    "Reason",
                    "Object",
                    "Subobject",
                    "Source",
                    "Message",
                    "First Seen",
                    "Count",
                    "Name",
                ],
            ),
            (
                "policy",
                "poddisruptionbudgets",
                vec!["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"],
            ),
            ("networking.k8s.io", "networkpolicies", vec!["Name", "Pod-Selector", "Age"]),
            ("networking.k8s.io", "ingresses", vec!["Name", "Class", "Hosts", "Address", "Ports", "Age"]),
            ("networking.k8s.io", "ingressclasses", vec!["Name", "Controller", "Parameters", "Age"]),
            (
                "storage.k8s.io",
                "storageclasses",
                vec![
                    "Name",
                    "Provisioner",
                    "ReclaimPolicy",
                    "VolumeBindingMode",
                    "AllowVolumeExpansion",
                    "Age",
                ],
            ),
            (
                "storage.k8s.io",
                "csidrivers",
                vec![
                    "Name",
                    "AttachRequired",
                    "PodInfoOnMount",
                    "StorageCapacity",
                    "TokenRequests",
                    "RequiresRepublish",
                    "Modes",
                    "Age",
                ],
            ),
            ("storage.k8s.io", "csinodes", vec!["Name", "Drivers", "Age"]),
            (
                "storage.k8s.io",
                "volumeattachments",
                vec!["Name", "Attacher", "PV", "Node", "Attached", "Age"],
            ),
            (
                "scheduling.k8s.io",
                "priorityclasses",
                vec!["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
            ),
            ("node.k8s.io", "runtimeclasses", vec!["Name", "Handler", "Age"]),
            ("networking.k8s.io", "ipaddresses", vec!["Name", "ParentRef"]),
            ("networking.k8s.io", "servicecidrs", vec!["Name", "CIDRs", "Age"]),
            ("storage.k8s.io", "csistoragecapacities", vec!["Name", "Created At"]),
            ("storage.k8s.io", "volumeattributesclasses", vec!["Name", "DriverName", "Age"]),
            ("resource.k8s.io", "deviceclasses", vec!["Name", "Age"]),
            ("resource.k8s.io", "resourceclaims", vec!["Name", "State", "Age"]),
            ("resource.k8s.io", "resourceclaimtemplates", vec!["Name", "Age"]),
            ("resource.k8s.io", "resourceslices", vec!["Name", "Node", "Driver", "Pool", "Age"]),
            ("apiregistration.k8s.io", "apiservices", vec!["Name", "Service", "Available", "Age"]),
            (
                "flowcontrol.apiserver.k8s.io",
                "flowschemas",
                vec![
                    "Name",
                    "PriorityLevel",
                    "MatchingPrecedence",
                    "DistinguisherMethod",
                    "Age",
                    "MissingPL",
                ],
            ),
            (
                "flowcontrol.apiserver.k8s.io",
                "prioritylevelconfigurations",
                vec![
                    "Name",
                    "Type",
                    "NominalConcurrencyShares",
                    "Queues",
                    "HandSize",
                    "QueueLengthLimit",
                    "Age",
                ],
            ),
        ];
        for (group, plural, want) in expected {
            assert_eq!(&names(group, plural), want, "{plural}");
        }
    }

    #[test]
    fn empty_tables_have_kubes_rows() {
        let c = Catalog::builtin();
        let rows = |plural: &str| {
            let rt = c.all().into_iter().find(|rt| rt.plural == plural).unwrap();
            table(rt, &[], json!({}), Utc::now())["rows"].clone()
        };
        assert_eq!(rows("roles"), Value::Null);
        assert_eq!(rows("limitranges"), Value::Null);
        assert_eq!(rows("configmaps"), json!([]));
    }

    #[test]
    fn selectors_print_as_kube_does() {
        let obj = json!({"s": {"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]}, {"key": "d", "operator": "DoesNotExist"}]}});
        assert_eq!(format_label_selector(&obj, "/s"), "a=1,b=2,c in (x,y),!d");
        assert_eq!(format_label_selector(&json!({"s": {}}), "/s"), "<none>");
        assert_eq!(format_labels(&json!({"l": {"z": "1", "a": "2"}}), "/l"), "a=2,z=1");
    }
}

//! Table output of custom resources, as apiextensions-apiserver's `tableconvertor`: Name,
//! then the version's `additionalPrinterColumns` (an Age column when it has none), cells
//! read by JSONPath; `date` cells printed as the age of the timestamp.

use super::{age, NAME};
use crate::custom::{json_path_to_pointer, CustomVersion, PrinterColumn};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn columns(v: &CustomVersion) -> Vec<PrinterColumn> {
    if !v.printer_columns.is_empty() {
        return v.printer_columns.clone();
    }
    vec![PrinterColumn {
        name: "Age".into(),
        kind: "date".into(),
        format: String::new(),
        description: super::AGE.description.into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
}

pub(super) fn column_definitions(v: &CustomVersion) -> Value {
    let mut out = vec![json!({"name": NAME.name, "type": NAME.kind, "format": NAME.format,
        "description": NAME.description, "priority": 0})];
    for c in columns(v) {
        out.push(json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description,
            "priority": c.priority}));
    }
    Value::Array(out)
}

pub(super) fn cells(v: &CustomVersion, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut out = vec![obj.pointer("/metadata/name").cloned().unwrap_or(json!(""))];
    for c in columns(v) {
        let Some(pointer) = json_path_to_pointer(&c.json_path) else {
            out.push(Value::Null);
            continue;
        };
        let cell = match (c.kind.as_str(), obj.pointer(&pointer)) {
            (_, None | Some(Value::Null)) => Value::Null,
            ("date", Some(Value::String(_))) => json!(age(obj, &pointer, now)),
            ("integer", Some(n @ Value::Number(_))) | ("number", Some(n @ Value::Number(_))) => n.clone(),
            ("boolean", Some(b @ Value::Bool(_))) => b.clone(),
            (_, Some(Value::String(s))) => json!(s),
            (_, Some(other)) => json!(other.to_string()),
        };
        out.push(cell);
    }
    out
}

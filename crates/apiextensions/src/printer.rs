//! Tables of custom resources (kube's CRD `tableconvertor`): the `Name` column, then the
//! version's `additionalPrinterColumns` (kube's `Age` column when it declares none), each
//! cell the first value the column's JSONPath finds, formatted per column type: strings
//! as client-go's JSONPath prints them, integers, numbers and booleans as JSON values,
//! dates as kube's human-readable age (`5m`, `<invalid>`), anything absent or of the wrong
//! type `null`. Also selectable fields: the field-selector value of a custom resource.

use crate::jsonpath::JsonPath;
use crate::structural::Structural;
use apimachinery::gofmt::{go_float, go_json, go_number};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// kube's `metav1.ObjectMeta` description of `name`, which the Name column carries.
pub const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// kube's `metav1.ObjectMeta` description of `creationTimestamp`, which the default `Age`
/// column carries.
pub const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

pub use apimachinery::duration::human_duration;

/// How client-go's JSONPath prints one result: maps and lists as JSON, `null` as
/// `<no value>`, scalars with `fmt.Fprint`.
fn print_result(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => go_json(v),
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => go_number(n),
        Value::Bool(b) => b.to_string(),
    }
}

fn cell(type_: &str, v: &Value, now: DateTime<Utc>) -> Value {
    match (type_, v) {
        (_, Value::Null) => Value::Null,
        ("string", v) => Value::String(print_result(v)),
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(0.0) as i64),
        },
        ("number", Value::Number(n)) => {
            // float64 on the wire: Go writes integral floats without a fraction.
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e15 {
                Value::from(f as i64)
            } else {
                serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Value::String(human_duration((now - t.with_timezone(&Utc)).num_seconds())),
            Err(_) if s.is_empty() => Value::String("<unknown>".into()),
            Err(_) => Value::String("<invalid>".into()),
        },
        _ => Value::Null,
    }
}

impl Structural {
    /// The Table's `columnDefinitions`: `Name`, then the printer columns.
    pub fn table_columns(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0
        })];
        for c in &self.columns {
            let description = if c.description.is_empty() {
                format!("Custom resource definition column (in JSONPath format): {}", c.json_path)
            } else {
                c.description.clone()
            };
            out.push(json!({
                "name": c.name, "type": c.type_, "format": c.format, "description": description, "priority": c.priority
            }));
        }
        out
    }

    /// The cells of one object's row, in column order, ages relative to `now`. A column
    /// whose JSONPath does not parse gives `null` cells.
    pub fn table_cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        let mut cells = vec![obj.pointer("/metadata/name").cloned().unwrap_or(Value::String(String::new()))];
        for c in &self.columns {
            let found =
                JsonPath::parse(&c.json_path).ok().and_then(|p| p.find(obj).first().map(|v| (*v).clone()));
            cells.push(match found {
                Some(v) => cell(&c.type_, &v, now),
                None => Value::Null,
            });
        }
        cells
    }

    /// The field-selector value of selectable field `json_path` (e.g. `.spec.color`) in
    /// `obj`: `fmt.Sprint` of the value, empty when absent; None for a path the version
    /// does not declare. Field selectors name it without the leading dot (`spec.color`).
    pub fn selectable_field_value(&self, obj: &Value, json_path: &str) -> Option<String> {
        let declared = self.selectable_fields.iter().find(|f| {
            f.as_str() == json_path
                || f.strip_prefix('.') == Some(json_path)
                || f.strip_prefix('.') == json_path.strip_prefix('.')
        })?;
        let path = JsonPath::parse(declared).ok()?;
        let found = path.find(obj);
        Some(match found.first() {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => i.to_string(),
                None => go_float(n.as_f64().unwrap_or(0.0)),
            },
            Some(v) => print_result(v),
        })
    }

    /// Every selectable field of `obj` as `(name, value)`, names without the leading dot,
    /// as kube adds them to `metadata.name` (and `metadata.namespace`) for field selectors.
    pub fn selectable_fields_of(&self, obj: &Value) -> Vec<(String, String)> {
        self.selectable_fields
            .iter()
            .map(|f| {
                (
                    f.trim_start_matches('.').to_string(),
                    self.selectable_field_value(obj, f).unwrap_or_default(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn structural(columns: Value, selectable: Value) -> Structural {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget"}, "versions": [
            {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}},
             "additionalPrinterColumns": columns, "selectableFields": selectable}
        ]}});
        Structural::from_crd(&crd, "v1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cells_are_formatted_per_type() {
        let s = structural(
            json!([
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "priority": 1},
                {"name": "Items", "type": "string", "jsonPath": ".spec.items[*].name"},
                {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
                {"name": "Wrong", "type": "integer", "jsonPath": ".spec.on"},
                {"name": "Missing", "type": "string", "jsonPath": ".spec.nope"},
                {"name": "Map", "type": "string", "jsonPath": ".spec.map"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
            ]),
            json!([]),
        );
        let obj = json!({"metadata": {"name": "w", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "items": [{"name": "a"}, {"name": "b"}], "ratio": 2, "on": true, "map": {"b": 1, "a": "x"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:05:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.table_cells(&obj, now),
            vec![
                json!("w"),
                json!(3),
                json!("True"),
                json!("a"),
                json!(2),
                json!(true),
                Value::Null,
                Value::Null,
                json!(r#"{"a":"x","b":1}"#),
                json!("5m")
            ]
        );
        let cols = s.table_columns();
        assert_eq!(cols[0]["name"], json!("Name"));
        assert_eq!(cols[2]["priority"], json!(1));
        assert_eq!(
            cols[1]["description"],
            json!("Custom resource definition column (in JSONPath format): .spec.replicas")
        );
    }

    #[test]
    fn default_age_column_and_selectable_fields() {
        let s = structural(json!([]), json!([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"}]));
        assert_eq!(s.table_columns()[1]["name"], json!("Age"));
        assert_eq!(s.table_columns()[1]["description"], json!(CREATION_TIMESTAMP_DESCRIPTION));
        let obj = json!({"spec": {"color": "red", "size": 3}});
        assert_eq!(s.selectable_field_value(&obj, "spec.color").as_deref(), Some("red"));
        assert_eq!(s.selectable_field_value(&obj, ".spec.size").as_deref(), Some("3"));
        assert_eq!(s.selectable_field_value(&json!({}), ".spec.size").as_deref(), Some(""));
        assert_eq!(s.selectable_field_value(&obj, ".spec.other"), None);
        assert_eq!(
            s.selectable_fields_of(&obj),
            vec![("spec.color".into(), "red".into()), ("spec.size".into(), "3".into())]
        );
    }
}

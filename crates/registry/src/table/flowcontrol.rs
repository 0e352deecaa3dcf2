//! Printers of flowcontrol.apiserver.k8s.io (kube's printers.go `printFlowSchema` and
//! `printPriorityLevelConfiguration`), and the order kube prints a FlowSchema list in
//! (`apihelpers.FlowSchemaSequence`: matching precedence, then name).

use super::{col, created, s, Cells, Column, Printer, AGE, NAME};
use crate::ResourceType;
use serde_json::{json, Value};
use std::cmp::Ordering;

const GROUP: &str = "flowcontrol.apiserver.k8s.io";

pub(super) fn printer(rt: &ResourceType) -> Option<Printer> {
    let (columns, cells): (Vec<Column>, Cells) = match (rt.group, rt.kind) {
        (GROUP, "FlowSchema") => (
            vec![
                NAME,
                col("PriorityLevel", "string", 0),
                col("MatchingPrecedence", "string", 0),
                col("DistinguisherMethod", "string", 0),
                AGE,
                Column {
                    description: "references a broken or non-existent PriorityLevelConfiguration",
                    ..col("MissingPL", "string", 0)
                },
            ],
            flow_schema_cells,
        ),
        (GROUP, "PriorityLevelConfiguration") => (
            vec![
                NAME,
                col("Type", "string", 0),
                col("NominalConcurrencyShares", "string", 0),
                col("Queues", "string", 0),
                col("HandSize", "string", 0),
                col("QueueLengthLimit", "string", 0),
                AGE,
            ],
            priority_level_cells,
        ),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

fn flow_schema_cells(o: &Value, now: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    let method = o.pointer("/spec/distinguisherMethod/type").and_then(Value::as_str).unwrap_or("<none>");
    let dangling = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| s(c, "/type") == "Dangling")
        .map(|c| s(c, "/status"))
        .unwrap_or("?");
    vec![
        json!(s(o, "/metadata/name")),
        json!(s(o, "/spec/priorityLevelConfiguration/name")),
        json!(o.pointer("/spec/matchingPrecedence").and_then(Value::as_i64).unwrap_or(0)),
        json!(method),
        json!(created(o, now)),
        json!(dangling),
    ]
}

fn priority_level_cells(o: &Value, now: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    let none = || json!("<none>");
    let limited = o.pointer("/spec/limited").filter(|l| !l.is_null());
    let number = |v: Option<&Value>| v.and_then(Value::as_i64).map(|n| json!(n));
    let (mut shares, mut queues, mut hand, mut length) = (none(), none(), none(), none());
    if let Some(l) = limited {
        shares = number(l.get("nominalConcurrencyShares")).unwrap_or(json!(0));
        if let Some(q) = l.pointer("/limitResponse/queuing").filter(|q| !q.is_null()) {
            queues = number(q.get("queues")).unwrap_or(json!(0));
            hand = number(q.get("handSize")).unwrap_or(json!(0));
            length = number(q.get("queueLengthLimit")).unwrap_or(json!(0));
        }
    }
    vec![
        json!(s(o, "/metadata/name")),
        json!(s(o, "/spec/type")),
        shares,
        queues,
        hand,
        length,
        json!(created(o, now)),
    ]
}

/// How kube orders the rows of a list of `rt`, when it sorts them.
pub(super) fn row_order(rt: &ResourceType) -> Option<fn(&Value, &Value) -> Ordering> {
    ((rt.group, rt.kind) == (GROUP, "FlowSchema")).then_some(|a: &Value, b: &Value| {
        let precedence =
            |o: &Value| o.pointer("/spec/matchingPrecedence").and_then(Value::as_i64).unwrap_or(0);
        precedence(a).cmp(&precedence(b)).then_with(|| s(a, "/metadata/name").cmp(s(b, "/metadata/name")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn rows_print_as_kube_prints_them() {
        let c = Catalog::builtin();
        let now = chrono::Utc::now();
        let fs = c.by_kind(GROUP, "FlowSchema").unwrap();
        let row = super::super::cells(fs, &crate::bootstrap::mandatory_flow_control()[3], now);
        assert_eq!(row[1..4], [json!("catch-all"), json!(10000), json!("ByUser")]);
        assert_eq!(row[5], json!("?"));
        let pl = c.by_kind(GROUP, "PriorityLevelConfiguration").unwrap();
        let exempt = super::super::cells(pl, &crate::bootstrap::mandatory_flow_control()[0], now);
        assert_eq!(
            exempt[1..6],
            [json!("Exempt"), json!("<none>"), json!("<none>"), json!("<none>"), json!("<none>")]
        );
        let queued = json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30,
            "limitResponse": {"type": "Queue", "queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50}}}}});
        assert_eq!(super::super::cells(pl, &queued, now)[2..6], [json!(30), json!(64), json!(6), json!(50)]);
    }

    #[test]
    fn flow_schemas_are_listed_by_precedence_then_name() {
        let c = Catalog::builtin();
        let fs = c.by_kind(GROUP, "FlowSchema").unwrap();
        let o = |name: &str, p: i64| json!({"metadata": {"name": name}, "spec": {"matchingPrecedence": p}});
        let table = super::super::table(
            fs,
            &[o("z", 10), o("b", 500), o("a", 500), o("exempt", 1)],
            json!({}),
            chrono::Utc::now(),
        );
        let names: Vec<&str> =
            table["rows"].as_array().unwrap().iter().map(|r| r["cells"][0].as_str().unwrap()).collect();
        assert_eq!(names, ["exempt", "z", "a", "b"]);
    }
}

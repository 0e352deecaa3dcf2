//! HorizontalPodAutoscaler between autoscaling/v2 (stored) and autoscaling/v1, as kube's
//! `pkg/apis/autoscaling/v1/conversion.go` converts it: v1 has only a CPU utilization target
//! (`targetCPUUtilizationPercentage`) and current value; everything else v2 holds travels in
//! annotations on the v1 object: the other metrics (`autoscaling.alpha.kubernetes.io/metrics`,
//! in v1's MetricSpec form), the current metrics (`.../current-metrics`), the conditions
//! (`.../conditions`) and the behavior (`.../behavior`, kube's internal type, so Go's field
//! names). Reading v1 back into v2 takes them out again; a v1 object with no CPU target and
//! no other metric gets kube's implicit 80% CPU target.

use serde_json::{json, Map, Value};

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR];

/// kube's `DefaultCPUUtilization`.
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// Copies `key` of `from` into `to` when present.
fn copy(to: &mut Map<String, Value>, from: &Value, key: &str, as_key: &str) {
    if let Some(v) = get(from, key) {
        to.insert(as_key.into(), v.clone());
    }
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric["type"] == "Resource"
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
        && metric.pointer("/resource/target/averageUtilization").is_some_and(|u| !u.is_null())
}

fn annotations_of(meta: &Value) -> Map<String, Value> {
    meta.get("annotations").and_then(Value::as_object).cloned().unwrap_or_default()
}

fn set_annotations(obj: &mut Value, annotations: Map<String, Value>) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    if annotations.is_empty() {
        meta.shift_remove("annotations");
    } else {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
}

/// kube's v1 MetricSpec and MetricStatus field order.
const METRIC_ORDER: [&str; 6] = ["type", "object", "pods", "resource", "containerResource", "external"];

fn in_order(mut m: Map<String, Value>) -> Value {
    let mut out = Map::new();
    for k in METRIC_ORDER {
        if let Some(v) = m.shift_remove(k) {
            out.insert(k.into(), v);
        }
    }
    out.extend(m);
    Value::Object(out)
}

/// A v2 MetricSpec in v1's (v2beta1-like) form.
fn metric_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m["type"].clone());
    if let Some(r) = get(m, "resource") {
        let mut s = Map::new();
        copy(&mut s, r, "name", "name");
        copy(&mut s, &r["target"], "averageUtilization", "targetAverageUtilization");
        copy(&mut s, &r["target"], "averageValue", "targetAverageValue");
        out.insert("resource".into(), Value::Object(s));
    }
    if let Some(r) = get(m, "containerResource") {
        let mut s = Map::new();
        copy(&mut s, r, "name", "name");
        copy(&mut s, &r["target"], "averageUtilization", "targetAverageUtilization");
        copy(&mut s, &r["target"], "averageValue", "targetAverageValue");
        copy(&mut s, r, "container", "container");
        out.insert("containerResource".into(), Value::Object(s));
    }
    if let Some(p) = get(m, "pods") {
        let mut s = Map::new();
        copy(&mut s, &p["metric"], "name", "metricName");
        s.insert(
            "targetAverageValue".into(),
            get(&p["target"], "averageValue").cloned().unwrap_or(json!("0")),
        );
        copy(&mut s, &p["metric"], "selector", "selector");
        out.insert("pods".into(), Value::Object(s));
    }
    if let Some(o) = get(m, "object") {
        let mut s = Map::new();
        s.insert(
            "target".into(),
            o.get("describedObject").cloned().unwrap_or(json!({"kind": "", "name": ""})),
        );
        copy(&mut s, &o["metric"], "name", "metricName");
        s.insert("targetValue".into(), get(&o["target"], "value").cloned().unwrap_or(json!("0")));
        copy(&mut s, &o["metric"], "selector", "selector");
        copy(&mut s, &o["target"], "averageValue", "averageValue");
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(e) = get(m, "external") {
        let mut s = Map::new();
        copy(&mut s, &e["metric"], "name", "metricName");
        copy(&mut s, &e["metric"], "selector", "metricSelector");
        copy(&mut s, &e["target"], "value", "targetValue");
        copy(&mut s, &e["target"], "averageValue", "targetAverageValue");
        out.insert("external".into(), Value::Object(s));
    }
    in_order(out)
}

fn identifier(name: Option<&Value>, selector: Option<&Value>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), name.cloned().unwrap_or(json!("")));
    if let Some(s) = selector.filter(|s| !s.is_null()) {
        m.insert("selector".into(), s.clone());
    }
    Value::Object(m)
}

fn target(kind: &str, fields: &[(&str, Option<&Value>)]) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    for (k, v) in fields {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            m.insert((*k).into(), v.clone());
        }
    }
    Value::Object(m)
}

/// A v1 (v2beta1-like) MetricSpec in v2's form.
fn metric_from_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m["type"].clone());
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = get(m, key) {
            let utilization = get(r, "targetAverageUtilization");
            let kind = if utilization.is_none() { "AverageValue" } else { "Utilization" };
            let mut s = Map::new();
            copy(&mut s, r, "name", "name");
            if container {
                copy(&mut s, r, "container", "container");
            }
            s.insert(
                "target".into(),
                target(
                    kind,
                    &[("averageUtilization", utilization), ("averageValue", get(r, "targetAverageValue"))],
                ),
            );
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(p) = get(m, "pods") {
        out.insert(
            "pods".into(),
            json!({"metric": identifier(get(p, "metricName"), get(p, "selector")),
                   "target": target("AverageValue", &[("averageValue", Some(p.get("targetAverageValue").unwrap_or(&json!("0"))))])}),
        );
    }
    if let Some(o) = get(m, "object") {
        let average = get(o, "averageValue");
        let kind = if average.is_none() { "Value" } else { "AverageValue" };
        let value = o.get("targetValue").cloned().unwrap_or(json!("0"));
        out.insert(
            "object".into(),
            json!({"describedObject": o.get("target").cloned().unwrap_or(json!({"kind": "", "name": ""})),
                   "metric": identifier(get(o, "metricName"), get(o, "selector")),
                   "target": target(kind, &[("value", Some(&value)), ("averageValue", average)])}),
        );
    }
    if let Some(e) = get(m, "external") {
        let value = get(e, "targetValue");
        let kind = if value.is_none() { "AverageValue" } else { "Value" };
        out.insert(
            "external".into(),
            json!({"metric": identifier(get(e, "metricName"), get(e, "metricSelector")),
                   "target": target(kind, &[("value", value), ("averageValue", get(e, "targetAverageValue"))])}),
        );
    }
    Value::Object(out)
}

/// A v2 MetricStatus in v1's form.
fn status_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m["type"].clone());
    for key in ["resource", "containerResource"] {
        if let Some(r) = get(m, key) {
            let mut s = Map::new();
            copy(&mut s, r, "name", "name");
            copy(&mut s, &r["current"], "averageUtilization", "currentAverageUtilization");
            s.insert(
                "currentAverageValue".into(),
                get(&r["current"], "averageValue").cloned().unwrap_or(json!("0")),
            );
            copy(&mut s, r, "container", "container");
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(p) = get(m, "pods") {
        let mut s = Map::new();
        copy(&mut s, &p["metric"], "name", "metricName");
        s.insert(
            "currentAverageValue".into(),
            get(&p["current"], "averageValue").cloned().unwrap_or(json!("0")),
        );
        copy(&mut s, &p["metric"], "selector", "selector");
        out.insert("pods".into(), Value::Object(s));
    }
    if let Some(o) = get(m, "object") {
        let mut s = Map::new();
        s.insert(
            "target".into(),
            o.get("describedObject").cloned().unwrap_or(json!({"kind": "", "name": ""})),
        );
        copy(&mut s, &o["metric"], "name", "metricName");
        s.insert("currentValue".into(), get(&o["current"], "value").cloned().unwrap_or(json!("0")));
        copy(&mut s, &o["metric"], "selector", "selector");
        copy(&mut s, &o["current"], "averageValue", "averageValue");
        out.insert("object".into(), Value::Object(s));
    }
    if let Some(e) = get(m, "external") {
        let mut s = Map::new();
        copy(&mut s, &e["metric"], "name", "metricName");
        copy(&mut s, &e["metric"], "selector", "metricSelector");
        s.insert("currentValue".into(), get(&e["current"], "value").cloned().unwrap_or(json!("0")));
        copy(&mut s, &e["current"], "averageValue", "currentAverageValue");
        out.insert("external".into(), Value::Object(s));
    }
    in_order(out)
}

fn current(fields: &[(&str, Option<&Value>)]) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            m.insert((*k).into(), v.clone());
        }
    }
    Value::Object(m)
}

/// A v1 MetricStatus in v2's form.
fn status_from_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m["type"].clone());
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = get(m, key) {
            let mut s = Map::new();
            copy(&mut s, r, "name", "name");
            if container {
                copy(&mut s, r, "container", "container");
            }
            let value = r.get("currentAverageValue").cloned().unwrap_or(json!("0"));
            s.insert(
                "current".into(),
                current(&[
                    ("averageValue", Some(&value)),
                    ("averageUtilization", get(r, "currentAverageUtilization")),
                ]),
            );
            out.insert(key.into(), Value::Object(s));
        }
    }
    if let Some(p) = get(m, "pods") {
        let value = p.get("currentAverageValue").cloned().unwrap_or(json!("0"));
        out.insert(
            "pods".into(),
            json!({"metric": identifier(get(p, "metricName"), get(p, "selector")),
                   "current": current(&[("averageValue", Some(&value))])}),
        );
    }
    if let Some(o) = get(m, "object") {
        let value = o.get("currentValue").cloned().unwrap_or(json!("0"));
        out.insert(
            "object".into(),
            json!({"metric": identifier(get(o, "metricName"), get(o, "selector")),
                   "current": current(&[("value", Some(&value)), ("averageValue", get(o, "averageValue"))]),
                   "describedObject": o.get("target").cloned().unwrap_or(json!({"kind": "", "name": ""}))}),
        );
    }
    if let Some(e) = get(m, "external") {
        let value = e.get("currentValue").cloned().unwrap_or(json!("0"));
        out.insert(
            "external".into(),
            json!({"metric": identifier(get(e, "metricName"), get(e, "metricSelector")),
                   "current": current(&[("value", Some(&value)), ("averageValue", get(e, "currentAverageValue"))])}),
        );
    }
    Value::Object(out)
}

/// The behavior as kube's annotation holds it: its internal type's Go field names, every
/// field written.
fn behavior_to_internal(b: &Value) -> Value {
    let rules = |r: Option<&Value>| match r {
        None => Value::Null,
        Some(r) => json!({
            "StabilizationWindowSeconds": r.get("stabilizationWindowSeconds").cloned().unwrap_or(Value::Null),
            "SelectPolicy": r.get("selectPolicy").cloned().unwrap_or(Value::Null),
            "Policies": r.get("policies").and_then(Value::as_array).map(|ps| {
                Value::Array(ps.iter().map(|p| json!({"Type": p["type"], "Value": p["value"], "PeriodSeconds": p["periodSeconds"]})).collect())
            }).unwrap_or(Value::Null),
            "Tolerance": r.get("tolerance").cloned().unwrap_or(Value::Null),
        }),
    };
    json!({"ScaleUp": rules(get(b, "scaleUp")), "ScaleDown": rules(get(b, "scaleDown"))})
}

/// The annotation's behavior back in v2's form (Go reads field names case-insensitively).
fn behavior_from_internal(b: &Value) -> Option<Value> {
    let field = |v: &Value, name: &str| -> Option<Value> {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, x)| x.clone())
            .filter(|x| !x.is_null())
    };
    let rules = |r: Option<Value>| -> Option<Value> {
        let r = r?;
        let mut out = Map::new();
        if let Some(v) = field(&r, "StabilizationWindowSeconds") {
            out.insert("stabilizationWindowSeconds".into(), v);
        }
        if let Some(v) = field(&r, "SelectPolicy") {
            out.insert("selectPolicy".into(), v);
        }
        if let Some(Value::Array(ps)) = field(&r, "Policies") {
            let ps: Vec<Value> = ps
                .iter()
                .map(|p| {
                    json!({"type": field(p, "Type").unwrap_or(json!("")),
                           "value": field(p, "Value").unwrap_or(json!(0)),
                           "periodSeconds": field(p, "PeriodSeconds").unwrap_or(json!(0))})
                })
                .collect();
            out.insert("policies".into(), Value::Array(ps));
        }
        if let Some(v) = field(&r, "Tolerance") {
            out.insert("tolerance".into(), v);
        }
        Some(Value::Object(out))
    };
    let mut out = Map::new();
    if let Some(up) = rules(field(b, "ScaleUp")) {
        out.insert("scaleUp".into(), up);
    }
    if let Some(down) = rules(field(b, "ScaleDown")) {
        out.insert("scaleDown".into(), down);
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// An autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 serves it.
pub fn v2_to_v1(obj: Value) -> Value {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let status = obj.get("status").cloned().unwrap_or(Value::Null);
    let metrics: Vec<Value> = spec.get("metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut annotations = annotations_of(obj.get("metadata").unwrap_or(&Value::Null));
    for k in ROUND_TRIP {
        annotations.shift_remove(k);
    }
    let other: Vec<Value> = metrics.iter().filter(|m| !is_cpu_utilization(m)).map(metric_to_v1).collect();
    if !other.is_empty() {
        annotations.insert(METRICS.into(), json!(Value::Array(other).to_string()));
    }
    let currents: Vec<Value> =
        status.get("currentMetrics").and_then(Value::as_array).cloned().unwrap_or_default();
    if !currents.is_empty() {
        let v1: Vec<Value> = currents.iter().map(status_to_v1).collect();
        annotations.insert(CURRENT_METRICS.into(), json!(Value::Array(v1).to_string()));
    }
    if let Some(b) = get(&spec, "behavior") {
        annotations.insert(BEHAVIOR.into(), json!(behavior_to_internal(b).to_string()));
    }
    if let Some(Value::Array(conditions)) = get(&status, "conditions") {
        if !conditions.is_empty() {
            annotations.insert(CONDITIONS.into(), json!(Value::Array(conditions.clone()).to_string()));
        }
    }

    let mut v1_spec = Map::new();
    copy(&mut v1_spec, &spec, "scaleTargetRef", "scaleTargetRef");
    copy(&mut v1_spec, &spec, "minReplicas", "minReplicas");
    v1_spec.insert("maxReplicas".into(), spec.get("maxReplicas").cloned().unwrap_or(json!(0)));
    if let Some(cpu) = metrics.iter().find(|m| is_cpu_utilization(m)) {
        v1_spec.insert(
            "targetCPUUtilizationPercentage".into(),
            cpu["resource"]["target"]["averageUtilization"].clone(),
        );
    }
    let mut v1_status = Map::new();
    copy(&mut v1_status, &status, "observedGeneration", "observedGeneration");
    copy(&mut v1_status, &status, "lastScaleTime", "lastScaleTime");
    v1_status.insert("currentReplicas".into(), status.get("currentReplicas").cloned().unwrap_or(json!(0)));
    v1_status.insert("desiredReplicas".into(), status.get("desiredReplicas").cloned().unwrap_or(json!(0)));
    let current_cpu = currents.iter().rev().find_map(|m| {
        (m["type"] == "Resource" && m.pointer("/resource/name").and_then(Value::as_str) == Some("cpu"))
            .then(|| m.pointer("/resource/current/averageUtilization").cloned())
            .flatten()
            .filter(|u| !u.is_null())
    });
    if let Some(u) = current_cpu {
        v1_status.insert("currentCPUUtilizationPercentage".into(), u);
    }

    let mut out = Map::new();
    out.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    out.insert("apiVersion".into(), json!("autoscaling/v1"));
    out.insert("metadata".into(), obj.get("metadata").cloned().unwrap_or(json!({})));
    out.insert("spec".into(), Value::Object(v1_spec));
    out.insert("status".into(), Value::Object(v1_status));
    let mut out = Value::Object(out);
    set_annotations(&mut out, annotations);
    out
}

/// An autoscaling/v1 HorizontalPodAutoscaler in the autoscaling/v2 form it is stored in.
pub fn v1_to_v2(obj: Value) -> Value {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let status = obj.get("status").cloned().unwrap_or(Value::Null);
    let mut annotations = annotations_of(obj.get("metadata").unwrap_or(&Value::Null));
    let parse = |key: &str| -> Option<Value> {
        annotations.get(key).and_then(Value::as_str).and_then(|s| serde_json::from_str::<Value>(s).ok())
    };

    let mut metrics: Vec<Value> = Vec::new();
    if let Some(Value::Array(other)) = parse(METRICS) {
        metrics.extend(other.iter().map(metric_from_v1));
    }
    if let Some(cpu) = get(&spec, "targetCPUUtilizationPercentage") {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": cpu}}}));
    }
    if metrics.is_empty() {
        // v1's implicit default, applied here as kube does.
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}));
    }
    let behavior = parse(BEHAVIOR).and_then(|b| behavior_from_internal(&b));
    let mut currents: Vec<Value> = Vec::new();
    if let Some(Value::Array(cs)) = parse(CURRENT_METRICS) {
        currents.extend(cs.iter().map(status_from_v1));
    } else if let Some(cpu) = get(&status, "currentCPUUtilizationPercentage") {
        currents.push(
            json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}),
        );
    }
    let conditions = parse(CONDITIONS).filter(Value::is_array);
    for k in ROUND_TRIP {
        annotations.shift_remove(k);
    }

    let mut v2_spec = Map::new();
    copy(&mut v2_spec, &spec, "scaleTargetRef", "scaleTargetRef");
    copy(&mut v2_spec, &spec, "minReplicas", "minReplicas");
    v2_spec.insert("maxReplicas".into(), spec.get("maxReplicas").cloned().unwrap_or(json!(0)));
    v2_spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = behavior {
        v2_spec.insert("behavior".into(), b);
    }
    let mut v2_status = Map::new();
    copy(&mut v2_status, &status, "observedGeneration", "observedGeneration");
    copy(&mut v2_status, &status, "lastScaleTime", "lastScaleTime");
    // v2's currentReplicas is omitempty.
    if let Some(c) = get(&status, "currentReplicas").filter(|c| c.as_i64() != Some(0)) {
        v2_status.insert("currentReplicas".into(), c.clone());
    }
    v2_status.insert("desiredReplicas".into(), status.get("desiredReplicas").cloned().unwrap_or(json!(0)));
    if !currents.is_empty() {
        v2_status.insert("currentMetrics".into(), Value::Array(currents));
    }
    if let Some(c) = conditions {
        v2_status.insert("conditions".into(), c);
    }

    let mut out = Map::new();
    out.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    out.insert("apiVersion".into(), json!("autoscaling/v2"));
    out.insert("metadata".into(), obj.get("metadata").cloned().unwrap_or(json!({})));
    out.insert("spec".into(), Value::Object(v2_spec));
    out.insert("status".into(), Value::Object(v2_status));
    let mut out = Value::Object(out);
    set_annotations(&mut out, annotations);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2() -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "annotations": {"team": "a"}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
                "behavior": {"scaleDown": {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}},
            "status": {"currentReplicas": 2, "desiredReplicas": 3,
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40, "averageValue": "200m"}}}],
                "conditions": [{"type": "AbleToScale", "status": "True", "reason": "Ready"}]}})
    }

    #[test]
    fn v2_reads_as_v1_with_the_rest_in_annotations() {
        let v1 = v2_to_v1(v2());
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 40);
        let a = &v1["metadata"]["annotations"];
        assert_eq!(a["team"], "a");
        let other: Value = serde_json::from_str(a[METRICS].as_str().unwrap()).unwrap();
        assert_eq!(
            other,
            json!([{"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
                   {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}}])
        );
        let behavior: Value = serde_json::from_str(a[BEHAVIOR].as_str().unwrap()).unwrap();
        assert_eq!(behavior["ScaleUp"], Value::Null);
        assert_eq!(behavior["ScaleDown"]["Policies"][0]["Type"], "Percent");
    }

    #[test]
    fn v1_round_trips_to_the_same_v2() {
        let back = v1_to_v2(v2_to_v1(v2()));
        let mut want = v2();
        // The CPU target comes back after the others (kube appends it); the rest is as stored.
        let metrics = want["spec"]["metrics"].as_array_mut().unwrap();
        let cpu = metrics.remove(0);
        metrics.push(cpu);
        assert_eq!(back["spec"], want["spec"]);
        assert_eq!(back["status"], want["status"]);
        assert_eq!(back["metadata"], want["metadata"]);
    }

    #[test]
    fn a_bare_v1_gets_the_implicit_cpu_target() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
        let v2 = v1_to_v2(v1);
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            DEFAULT_CPU_UTILIZATION
        );
        assert!(v2["metadata"].get("annotations").is_none());
    }
}

//! LimitRanger (plugin/pkg/admission/limitranger): LimitRange objects of the namespace give pod
//! containers default requests and limits (mutating, on create) and bound containers, pods and
//! PVC requests with min / max / maxLimitRequestRatio (validating), with kube's messages.

use crate::quantity::{self, Quantity};
use crate::types::{
    array_at, at, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const NAME: &str = "LimitRanger";
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

type ResourceList = BTreeMap<String, Quantity>;

#[derive(Debug, Default)]
pub struct LimitRanger;

/// Whether the request is one LimitRanger looks at (`SupportsAttributes`).
fn supports(req: &AdmissionRequest) -> bool {
    if !req.subresource.is_empty() || !req.group.is_empty() {
        return false;
    }
    match req.resource.as_str() {
        "pods" => req.operation == Operation::Create,
        "persistentvolumeclaims" => true,
        _ => false,
    }
}

fn resource_list(v: Option<&Value>) -> ResourceList {
    let mut out = ResourceList::new();
    if let Some(m) = v.and_then(Value::as_object) {
        for (k, q) in m {
            if let Some(q) = quantity::from_json(q) {
                out.insert(k.clone(), q);
            }
        }
    }
    out
}

/// The ordered entries of a LimitRange item map (kept in the object's order).
fn entries(item: &Value, key: &str) -> Vec<(String, Quantity)> {
    item.get(key)
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), quantity::from_json(v)?))).collect())
        .unwrap_or_default()
}

/// A LimitRange item with kube's API defaults applied (default from max, defaultRequest from
/// default, then from min), so undefaulted objects behave as stored ones.
fn defaulted_item(item: &Value) -> Value {
    let mut item = item.clone();
    if str_at(&item, &["type"]) != Some("Container") {
        return item;
    }
    let Some(obj) = item.as_object_mut() else { return item };
    let get =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
    let (max, min) = (get(obj, "max"), get(obj, "min"));
    let mut default = get(obj, "default");
    for (k, v) in &max {
        default.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut default_request = get(obj, "defaultRequest");
    for (k, v) in default.iter().chain(min.iter()) {
        default_request.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !default.is_empty() {
        obj.insert("default".into(), Value::Object(default));
    }
    if !default_request.is_empty() {
        obj.insert("defaultRequest".into(), Value::Object(default_request));
    }
    item
}

fn limit_items(lr: &Value) -> Vec<Value> {
    array_at(lr, &["spec", "limits"]).iter().map(defaulted_item).collect()
}

/// Merges defaults into one container; returns the annotation fragments it produced.
fn merge_container(
    c: &mut Value,
    req_defaults: &Map<String, Value>,
    lim_defaults: &Map<String, Value>,
    prefix: &str,
) -> Vec<String> {
    let name = str_at(c, &["name"]).unwrap_or("").to_string();
    let Some(obj) = c.as_object_mut() else { return vec![] };
    let res = obj.entry("resources").or_insert_with(|| json!({}));
    if !res.is_object() {
        *res = json!({});
    }
    let mut notes = Vec::new();
    for (field, defaults, word) in [("limits", lim_defaults, "limit"), ("requests", req_defaults, "request")]
    {
        let Some(res) = res.as_object_mut() else { break };
        let list = res.entry(field).or_insert_with(|| json!({}));
        if !list.is_object() {
            *list = json!({});
        }
        let Some(list) = list.as_object_mut() else { continue };
        let mut set: Vec<String> = Vec::new();
        for (k, v) in defaults {
            if !list.contains_key(k) {
                list.insert(k.clone(), v.clone());
                set.push(k.clone());
            }
        }
        if !set.is_empty() {
            set.sort();
            notes.push((word, format!("{} {word} for {prefix} {name}", set.join(", "))));
        }
    }
    // kube lists requests before limits for each container
    notes.sort_by_key(|(w, _)| *w != "request");
    notes.into_iter().map(|(_, n)| n).collect()
}

fn mutate_pod(pod: &mut Value, lr: &Value) {
    let mut req_defaults = Map::new();
    let mut lim_defaults = Map::new();
    for item in limit_items(lr).iter().filter(|i| str_at(i, &["type"]) == Some("Container")) {
        if let Some(m) = item.get("defaultRequest").and_then(Value::as_object) {
            req_defaults.extend(m.clone());
        }
        if let Some(m) = item.get("default").and_then(Value::as_object) {
            lim_defaults.extend(m.clone());
        }
    }
    if req_defaults.is_empty() && lim_defaults.is_empty() {
        return;
    }
    let mut notes = Vec::new();
    for (list, prefix) in [("containers", "container"), ("initContainers", "init container")] {
        if let Some(cs) = pod.get_mut("spec").and_then(|s| s.get_mut(list)).and_then(Value::as_array_mut) {
            for c in cs.iter_mut() {
                notes.extend(merge_container(c, &req_defaults, &lim_defaults, prefix));
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let ann = meta.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    if let Some(a) = ann.as_object_mut() {
        a.insert(ANNOTATION.into(), json!(format!("LimitRanger plugin set: {}", notes.join("; "))));
    }
}

fn min_constraint(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    request: &ResourceList,
    limit: &ResourceList,
) -> Option<String> {
    let Some(req) = request.get(res) else {
        return Some(format!("minimum {res} usage per {kind} is {enforced}.  No request is specified"));
    };
    if req.milli_value() < enforced.milli_value() {
        return Some(format!("minimum {res} usage per {kind} is {enforced}, but request is {req}"));
    }
    match limit.get(res) {
        Some(lim) if lim.milli_value() < enforced.milli_value() => {
            Some(format!("minimum {res} usage per {kind} is {enforced}, but limit is {lim}"))
        }
        _ => None,
    }
}

fn max_constraint(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    request: &ResourceList,
    limit: &ResourceList,
) -> Option<String> {
    let Some(lim) = limit.get(res) else {
        return Some(format!("maximum {res} usage per {kind} is {enforced}.  No limit is specified"));
    };
    if lim.milli_value() > enforced.milli_value() {
        return Some(format!("maximum {res} usage per {kind} is {enforced}, but limit is {lim}"));
    }
    match request.get(res) {
        Some(req) if req.milli_value() > enforced.milli_value() => {
            Some(format!("maximum {res} usage per {kind} is {enforced}, but request is {req}"))
        }
        _ => None,
    }
}

fn max_request_constraint(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    request: &ResourceList,
) -> Option<String> {
    match request.get(res) {
        None => Some(format!("maximum {res} usage per {kind} is {enforced}.  No request is specified")),
        Some(req) if req.milli_value() > enforced.milli_value() => {
            Some(format!("maximum {res} usage per {kind} is {enforced}, but request is {req}"))
        }
        _ => None,
    }
}

fn ratio_constraint(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    request: &ResourceList,
    limit: &ResourceList,
) -> Option<String> {
    let req = request.get(res).map(Quantity::milli_value).unwrap_or(0);
    let lim = limit.get(res).map(Quantity::milli_value).unwrap_or(0);
    if req == 0 {
        return Some(format!(
            "{res} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if lim == 0 {
        return Some(format!(
            "{res} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let ratio = lim as f64 / req as f64;
    if ratio * 1000.0 > enforced.milli_value() as f64 {
        return Some(format!(
            "{res} max limit to request ratio per {kind} is {enforced}, but provided ratio is {ratio:.6}"
        ));
    }
    None
}

fn check_item(
    errs: &mut Vec<String>,
    item: &Value,
    kind: &str,
    request: &ResourceList,
    limit: &ResourceList,
) {
    for (k, v) in entries(item, "min") {
        errs.extend(min_constraint(kind, &k, &v, request, limit));
    }
    for (k, v) in entries(item, "max") {
        errs.extend(max_constraint(kind, &k, &v, request, limit));
    }
    for (k, v) in entries(item, "maxLimitRequestRatio") {
        errs.extend(ratio_constraint(kind, &k, &v, request, limit));
    }
}

fn add_into(total: &mut ResourceList, list: &ResourceList) {
    for (k, v) in list {
        let sum = total.get(k).map(|t| t.add(v)).unwrap_or(*v);
        total.insert(k.clone(), sum);
    }
}

fn max_into(total: &mut ResourceList, list: &ResourceList) {
    for (k, v) in list {
        if total.get(k).is_none_or(|t| v > t) {
            total.insert(k.clone(), *v);
        }
    }
}

/// Pod-level requests or limits: containers and sidecars add up, plain init containers take
/// the maximum (kube's `podRequests` / `podLimits`).
pub(crate) fn pod_total(pod: &Value, field: &str) -> ResourceList {
    let mut total = ResourceList::new();
    for c in array_at(pod, &["spec", "containers"]) {
        add_into(&mut total, &resource_list(at(c, &["resources", field])));
    }
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in array_at(pod, &["spec", "initContainers"]) {
        let own = resource_list(at(c, &["resources", field]));
        let effective = if str_at(c, &["restartPolicy"]) == Some("Always") {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut tmp = own;
            add_into(&mut tmp, &sidecars);
            tmp
        };
        max_into(&mut init_max, &effective);
    }
    max_into(&mut total, &init_max);
    total
}

fn validate_pod(pod: &Value, lr: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    for item in limit_items(lr) {
        match str_at(&item, &["type"]) {
            Some("Container") => {
                for list in ["containers", "initContainers"] {
                    for c in array_at(pod, &["spec", list]) {
                        let request = resource_list(at(c, &["resources", "requests"]));
                        let limit = resource_list(at(c, &["resources", "limits"]));
                        check_item(&mut errs, &item, "Container", &request, &limit);
                    }
                }
            }
            Some("Pod") => {
                let (request, limit) = (pod_total(pod, "requests"), pod_total(pod, "limits"));
                check_item(&mut errs, &item, "Pod", &request, &limit);
            }
            _ => {}
        }
    }
    errs
}

fn validate_pvc(pvc: &Value, lr: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let request = resource_list(at(pvc, &["spec", "resources", "requests"]));
    for item in limit_items(lr).iter().filter(|i| str_at(i, &["type"]) == Some("PersistentVolumeClaim")) {
        for (k, v) in entries(item, "min") {
            errs.extend(min_constraint("PersistentVolumeClaim", &k, &v, &request, &ResourceList::new()));
        }
        for (k, v) in entries(item, "max") {
            errs.extend(max_request_constraint("PersistentVolumeClaim", &k, &v, &request));
        }
    }
    errs
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several in brackets.
pub(crate) fn aggregate(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

async fn limit_ranges(req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<Vec<Value>, StatusError> {
    ctx.list("", "limitranges", &req.namespace).await.map_err(|e| req.forbidden_from(e))
}

#[async_trait]
impl MutatingPlugin for LimitRanger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !supports(req) || req.resource != "pods" {
            return Ok(());
        }
        let lrs = limit_ranges(req, ctx).await?;
        if let Some(pod) = req.object.as_mut() {
            for lr in &lrs {
                mutate_pod(pod, lr);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for LimitRanger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !supports(req) {
            return Ok(());
        }
        let Some(obj) = req.object.as_ref() else { return Ok(()) };
        for lr in limit_ranges(req, ctx).await? {
            let errs = if req.resource == "pods" { validate_pod(obj, &lr) } else { validate_pvc(obj, &lr) };
            if !errs.is_empty() {
                return Err(req.forbidden(aggregate(&errs)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "limit_ranger_tests.rs"]
mod tests;

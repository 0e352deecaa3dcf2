//! Pods' ephemeral containers, as kube's `podEphemeralContainersStrategy`
//! (`pkg/registry/core/pod/strategy.go`) and `pkg/apis/core/validation`: a pod is created
//! without any; the `pods/ephemeralcontainers` subresource changes `spec.ephemeralContainers`
//! only, adding containers and never changing or removing one; each is checked as kube's
//! `validateEphemeralContainers` checks it (no ports, resources, probes or lifecycle).
//! And in-place resize, as kube's `podResizeStrategy` and `ValidatePodResize`: the
//! `pods/resize` subresource changes the containers' `resources` and `resizePolicy` only,
//! never removing a request or limit, never changing the Pod's QoS class.

use super::common::{is_label, str_at, DNS1123_LABEL_MSG};
use apimachinery::field::{cause, duplicate, forbidden, invalid, required, Errors};
use apimachinery::quantity::{self, Quantity};
use apimachinery::quote::go_quote;
use apimachinery::CauseType;
use serde_json::{json, Value};

/// `validateFieldAllowList`'s text for a field an ephemeral container may not set.
const NOT_FOR_EPHEMERAL: &str = "cannot be set for an Ephemeral Container";

/// The container fields an ephemeral container may not set, in the Go struct's order (the
/// order kube reports them in).
const FORBIDDEN_FIELDS: &[&str] = &[
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "restartPolicyRules",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

/// kube's mirror (static) pod annotation.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// `dropNonEphemeralContainerUpdates`: the stored pod with the new ephemeral containers;
/// metadata as stored but for the resourceVersion and the managed fields the write brings
/// (`ResetObjectMetaForStatus`).
pub(super) fn prepare_ephemeral_containers_update(new: &mut Value, old: &Value) {
    let containers = new.pointer("/spec/ephemeralContainers").cloned();
    let mut out = stored_with_write_meta(new, old);
    if !out["spec"].is_object() {
        out["spec"] = json!({});
    }
    if let Some(spec) = out["spec"].as_object_mut() {
        match containers {
            Some(c) if !c.is_null() => spec.insert("ephemeralContainers".into(), c),
            _ => spec.remove("ephemeralContainers"),
        };
    }
    *new = out;
}

/// `ValidatePodCreate`'s rule: ephemeral containers are added later, never on create.
pub(super) fn validate_create(pod: &Value, errs: &mut Errors) {
    let any =
        pod.pointer("/spec/ephemeralContainers").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if any {
        errs.push(forbidden("spec.ephemeralContainers", "cannot be set on create"));
    }
}

/// `validateEphemeralContainers`: names (unique among all the pod's containers), images,
/// targets that are regular or init containers, and the fields an ephemeral container may
/// not set.
pub(crate) fn validate_ephemeral_containers(spec: Option<&Value>, path: &str, errs: &mut Errors) {
    let Some(spec) = spec else { return };
    let list = |key: &str| spec.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let ephemeral = list("ephemeralContainers");
    if ephemeral.is_empty() {
        return;
    }
    let others: Vec<String> = list("containers")
        .iter()
        .chain(list("initContainers").iter())
        .map(|c| str_at(c, "/name").to_string())
        .collect();
    let mut all = others.clone();
    for (i, c) in ephemeral.iter().enumerate() {
        let at = format!("{path}.ephemeralContainers[{i}]");
        let name = str_at(c, "/name");
        if name.is_empty() {
            errs.push(required(&format!("{at}.name")));
        } else if !is_label(name) {
            errs.push(invalid(&format!("{at}.name"), name, DNS1123_LABEL_MSG));
        }
        if str_at(c, "/image").is_empty() {
            errs.push(required(&format!("{at}.image")));
        }
        if all.iter().any(|n| n == name) {
            errs.push(duplicate(&format!("{at}.name"), name));
        } else {
            all.push(name.to_string());
        }
        let target = str_at(c, "/targetContainerName");
        if !target.is_empty() && !others.iter().any(|n| n == target) {
            errs.push(cause(
                CauseType::FieldValueNotFound,
                &format!("{at}.targetContainerName"),
                format!("Not found: {}", go_quote(target)),
            ));
        }
        for field in FORBIDDEN_FIELDS {
            if c.get(*field).is_some_and(|v| is_set(field, v)) {
                errs.push(forbidden(&format!("{at}.{field}"), NOT_FOR_EPHEMERAL));
            }
        }
        let mounts = c.get("volumeMounts").and_then(Value::as_array).cloned().unwrap_or_default();
        for (j, m) in mounts.iter().enumerate() {
            for key in ["subPath", "subPathExpr"] {
                if !str_at(m, &format!("/{key}")).is_empty() {
                    errs.push(forbidden(&format!("{at}.volumeMounts[{j}].{key}"), NOT_FOR_EPHEMERAL));
                }
            }
        }
    }
}

/// Whether a field holds something other than Go's zero value of its type: a pointer that
/// is set counts even when it points to an empty struct; an empty list does not, nor an
/// empty `resources` (a struct held by value, which kube always writes).
fn is_set(field: &str, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) if field == "resources" => !o.is_empty(),
        _ => true,
    }
}

/// The stored pod with the resourceVersion and managed fields the write brings (kube's
/// `ResetObjectMetaForStatus`): what a subresource that changes one part starts from.
fn stored_with_write_meta(new: &Value, old: &Value) -> Value {
    let rv = new.pointer("/metadata/resourceVersion").cloned();
    let managed = new.pointer("/metadata/managedFields").cloned();
    let mut out = old.clone();
    if let Some(m) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for (k, v) in [("resourceVersion", rv), ("managedFields", managed)] {
            match v {
                Some(v) => m.insert(k.into(), v),
                None => m.remove(k),
            };
        }
    }
    out
}

/// `dropNonResizeUpdates`: the stored pod with each container's new `resources` and
/// `resizePolicy` (regular and init containers); metadata as stored but for the
/// resourceVersion and managed fields the write brings. Containers added, removed,
/// renamed or reordered leave the new pod as it is, for the validation to refuse.
pub(super) fn prepare_resize_update(new: &mut Value, old: &Value) {
    let names = |v: &Value, field: &str| -> Vec<String> {
        v.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| str_at(c, "/name").to_string())
            .collect()
    };
    for field in ["containers", "initContainers"] {
        if names(new, field) != names(old, field) {
            return;
        }
    }
    let mut out = stored_with_write_meta(new, old);
    for field in ["containers", "initContainers"] {
        let given: Vec<Value> =
            new.pointer(&format!("/spec/{field}")).and_then(Value::as_array).cloned().unwrap_or_default();
        let Some(list) = out.pointer_mut(&format!("/spec/{field}")).and_then(Value::as_array_mut) else {
            continue;
        };
        for (stored, asked) in list.iter_mut().zip(given) {
            let Some(c) = stored.as_object_mut() else { continue };
            for key in ["resources", "resizePolicy"] {
                match asked.get(key).filter(|v| !v.is_null()) {
                    Some(v) => c.insert(key.into(), v.clone()),
                    None => c.remove(key),
                };
            }
        }
    }
    *new = out;
}

/// `ValidatePodResize` beyond the pod's own validation.
pub(super) fn validate_resize(new: &Value, old: &Value, errs: &mut Errors) {
    let pod_level = |v: &Value| {
        let r = v.pointer("/spec/resources");
        let count = |k: &str| r.and_then(|r| r.get(k)).and_then(Value::as_object).map_or(0, |m| m.len());
        count("requests") + count("limits") > 0
    };
    if pod_level(old) || pod_level(new) {
        *errs = vec![forbidden("", "pods with pod-level resources cannot be resized")];
        return;
    }
    if old.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_POD_ANNOTATION)).is_some() {
        *errs = vec![forbidden("", "static pods cannot be resized")];
        return;
    }
    if str_at(old, "/spec/os/name") == "windows" {
        *errs = vec![forbidden("", "windows pods cannot be resized")];
        return;
    }
    let old_class = match str_at(old, "/status/qosClass") {
        "" => qos_class(old),
        c => c,
    };
    if old_class != qos_class(new) {
        errs.push(invalid(
            "spec",
            str_at(new, "/status/qosClass"),
            "Pod QOS Class may not change as a result of resizing",
        ));
    }
    if !resize_supported(old) {
        errs.push(forbidden("spec", "Pod running on node without support for resize"));
    }
    let list = |v: &Value, field: &str| -> Vec<Value> {
        v.pointer(&format!("/spec/{field}")).and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let mut order = Vec::new();
    for (field, what) in [("containers", "containers"), ("initContainers", "initContainers")] {
        let (n, o) = (list(new, field), list(old, field));
        if n.len() != o.len() {
            order.push(forbidden(
                &format!("spec.{field}"),
                &format!("{what} may not be added or removed on resize"),
            ));
            continue;
        }
        for (i, (a, b)) in n.iter().zip(&o).enumerate() {
            if str_at(a, "/name") != str_at(b, "/name") {
                order.push(forbidden(
                    &format!("spec.{field}[{i}].name"),
                    &format!("{what} may not be renamed or reordered on resize"),
                ));
            }
        }
    }
    if !order.is_empty() {
        errs.extend(order);
        return;
    }
    let (new_init, old_init) = (list(new, "initContainers"), list(old, "initContainers"));
    for (i, (n, o)) in new_init.iter().zip(&old_init).enumerate() {
        if str_at(o, "/restartPolicy") == "Always" {
            removed_resources(n, o, &format!("spec.initContainers[{i}].resources"), errs);
        }
    }
    let (new_c, old_c) = (list(new, "containers"), list(old, "containers"));
    for (i, (n, o)) in new_c.iter().zip(&old_c).enumerate() {
        removed_resources(n, o, &format!("spec.containers[{i}].resources"), errs);
    }
    for (n, o) in new_c.iter().zip(&old_c) {
        if without_cpu_memory(n, o) != *o {
            errs.push(forbidden("spec", "only cpu and memory resources are mutable"));
        }
    }
    for (n, o) in new_init.iter().zip(&old_init) {
        if str_at(o, "/restartPolicy") == "Always" {
            if without_cpu_memory(n, o) != *o {
                errs.push(forbidden(
                    "spec",
                    "only cpu and memory resources for sidecar containers are mutable",
                ));
            }
        } else if n != o {
            errs.push(forbidden("spec", "resources for non-sidecar init containers are immutable"));
        }
    }
}

/// `validateContainerResize`: requests and limits may change, not go.
fn removed_resources(new: &Value, old: &Value, path: &str, errs: &mut Errors) {
    for (key, what) in [("requests", "requests"), ("limits", "limits")] {
        let get = |v: &Value| v.pointer(&format!("/resources/{key}")).and_then(Value::as_object).cloned();
        let (n, o) = (get(new).unwrap_or_default(), get(old).unwrap_or_default());
        if o.len() > n.len() || o.keys().any(|k| !n.contains_key(k)) {
            errs.push(forbidden(&format!("{path}.{key}"), &format!("resource {what} cannot be removed")));
        }
    }
}

/// `dropCPUMemoryResourcesFromContainer`: the new container with the old cpu and memory
/// requests and limits, so that what remains different is another change.
fn without_cpu_memory(new: &Value, old: &Value) -> Value {
    let mut c = new.clone();
    for key in ["requests", "limits"] {
        let Some(old_list) = old.pointer(&format!("/resources/{key}")).and_then(Value::as_object) else {
            if let Some(r) = c.get_mut("resources").and_then(Value::as_object_mut) {
                r.remove(key);
            }
            continue;
        };
        let mut list =
            c.pointer(&format!("/resources/{key}")).and_then(Value::as_object).cloned().unwrap_or_default();
        for r in ["cpu", "memory"] {
            match old_list.get(r) {
                Some(v) => list.insert(r.into(), v.clone()),
                None => list.remove(r),
            };
        }
        if !c.get("resources").is_some_and(Value::is_object) {
            c["resources"] = json!({});
        }
        c["resources"][key] = Value::Object(list);
    }
    // The resize policy may change.
    if let Some(o) = c.as_object_mut() {
        match old.get("resizePolicy") {
            Some(p) => o.insert("resizePolicy".into(), p.clone()),
            None => o.remove("resizePolicy"),
        };
    }
    c
}

/// `isPodResizeRequestSupported`: a running container must report its resources (a kubelet
/// that resizes); with none running, kube assumes the node can.
fn resize_supported(pod: &Value) -> bool {
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array);
    for c in statuses.into_iter().flatten() {
        if c.pointer("/state/running").is_some_and(|r| !r.is_null()) {
            return c.get("resources").is_some_and(|r| !r.is_null());
        }
    }
    true
}

/// kube's `ComputePodQOS` over the containers (regular and init): BestEffort without any
/// cpu or memory request or limit; Guaranteed when every container limits both and the
/// requests equal the limits; Burstable otherwise.
pub(super) fn qos_class(pod: &Value) -> &'static str {
    let mut requests: Vec<(String, Quantity)> = Vec::new();
    let mut limits: Vec<(String, Quantity)> = Vec::new();
    let add = |list: &mut Vec<(String, Quantity)>, name: &str, q: Quantity| match list
        .iter_mut()
        .find(|(n, _)| n == name)
    {
        Some((_, sum)) => *sum = sum.add(&q),
        None => list.push((name.to_string(), q)),
    };
    let mut guaranteed = true;
    for field in ["containers", "initContainers"] {
        let containers = pod.pointer(&format!("/spec/{field}")).and_then(Value::as_array);
        for c in containers.into_iter().flatten() {
            let positive = |key: &str| -> Vec<(String, Quantity)> {
                c.pointer(&format!("/resources/{key}"))
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter(|(name, _)| matches!(name.as_str(), "cpu" | "memory"))
                    .filter_map(|(name, v)| Some((name.clone(), quantity::from_json(v)?)))
                    .filter(|(_, q)| *q > Quantity::zero())
                    .collect()
            };
            for (name, q) in positive("requests") {
                add(&mut requests, &name, q);
            }
            let found = positive("limits");
            if !(found.iter().any(|(n, _)| n == "cpu") && found.iter().any(|(n, _)| n == "memory")) {
                guaranteed = false;
            }
            for (name, q) in found {
                add(&mut limits, &name, q);
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        guaranteed = requests.iter().all(|(n, q)| limits.iter().any(|(m, l)| m == n && l == q));
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// `ValidatePodEphemeralContainersUpdate` beyond the pod's own validation: no static pod, and
/// the ephemeral containers already there are kept as they are.
pub(super) fn validate_ephemeral_containers_update(new: &Value, old: &Value, errs: &mut Errors) {
    if old.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_POD_ANNOTATION)).is_some() {
        *errs = vec![forbidden("", "static pods do not support ephemeral containers")];
        return;
    }
    let list = |v: &Value| {
        v.pointer("/spec/ephemeralContainers").and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let new_list = list(new);
    for existing in list(old) {
        let name = str_at(&existing, "/name");
        match new_list.iter().find(|c| str_at(c, "/name") == name) {
            None => errs.push(forbidden(
                "spec.ephemeralContainers",
                &format!("existing ephemeral containers {} may not be removed\n", go_quote(name)),
            )),
            // kube appends a diff of the two containers to this message.
            Some(c) if *c != existing => errs.push(forbidden(
                &format!("spec.ephemeralContainers[{name}]"),
                &format!("existing ephemeral containers {} may not be changed\n", go_quote(name)),
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{prepare_for_update, validate, validate_update_via, Endpoint};
    use crate::Catalog;

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "d", "uid": "u", "labels": {"a": "b"}, "resourceVersion": "5"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"},
            "status": {"phase": "Pending"}})
    }

    #[test]
    fn only_ephemeral_containers_change_and_they_get_container_defaults() {
        let c = Catalog::builtin();
        let rt = c.lookup("", "v1", "pods").unwrap();
        let old = pod();
        let mut new = pod();
        new["metadata"]["labels"] = json!({"a": "changed"});
        new["metadata"]["resourceVersion"] = json!("5");
        new["spec"]["containers"][0]["image"] = json!("nginx");
        new["status"]["phase"] = json!("Running");
        new["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox:1.36"}]);
        prepare_for_update(rt, &mut new, &old, Endpoint::EphemeralContainers);
        assert_eq!(new["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(new["spec"]["containers"][0]["image"], "busybox");
        assert_eq!(new["status"]["phase"], "Pending");
        let debug = &new["spec"]["ephemeralContainers"][0];
        assert_eq!(debug["imagePullPolicy"], "IfNotPresent");
        assert_eq!(debug["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(debug["terminationMessagePolicy"], "File");
        assert!(validate_update_via(rt, &new, &old, Endpoint::EphemeralContainers).is_empty());
    }

    #[test]
    fn kubes_errors_for_bad_removed_and_changed_ephemeral_containers() {
        let c = Catalog::builtin();
        let rt = c.lookup("", "v1", "pods").unwrap();
        let mut old = pod();
        old["spec"]["ephemeralContainers"] =
            json!([{"name": "one", "image": "busybox"}, {"name": "two", "image": "busybox"}]);
        let mut new = old.clone();
        new["spec"]["ephemeralContainers"] = json!([
            {"name": "one", "image": "alpine"},
            {"name": "c", "image": "x", "ports": [{"containerPort": 80}], "resources": {},
                "lifecycle": {}, "targetContainerName": "nope",
                "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "s"}]},
            {"name": "", "image": ""},
        ]);
        let errs = validate_update_via(rt, &new, &old, Endpoint::EphemeralContainers);
        let got: Vec<(String, String)> = errs.into_iter().map(|e| (e.field, e.message)).collect();
        let want: Vec<(&str, &str)> = vec![
            ("spec.ephemeralContainers[1].name", "Duplicate value: \"c\""),
            ("spec.ephemeralContainers[1].targetContainerName", "Not found: \"nope\""),
            ("spec.ephemeralContainers[1].ports", "Forbidden: cannot be set for an Ephemeral Container"),
            ("spec.ephemeralContainers[1].lifecycle", "Forbidden: cannot be set for an Ephemeral Container"),
            (
                "spec.ephemeralContainers[1].volumeMounts[0].subPath",
                "Forbidden: cannot be set for an Ephemeral Container",
            ),
            ("spec.ephemeralContainers[2].name", "Required value"),
            ("spec.ephemeralContainers[2].image", "Required value"),
            (
                "spec.ephemeralContainers[one]",
                "Forbidden: existing ephemeral containers \"one\" may not be changed\n",
            ),
            (
                "spec.ephemeralContainers",
                "Forbidden: existing ephemeral containers \"two\" may not be removed\n",
            ),
        ];
        let want: Vec<(String, String)> = want.into_iter().map(|(f, m)| (f.into(), m.into())).collect();
        assert_eq!(got, want);

        let mut fresh = pod();
        fresh["spec"]["ephemeralContainers"] = json!([{"name": "e", "image": "x"}]);
        let errs = validate(rt, &fresh);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.ephemeralContainers");
        assert_eq!(errs[0].message, "Forbidden: cannot be set on create");

        let mut mirror = pod();
        mirror["metadata"]["annotations"] = json!({MIRROR_POD_ANNOTATION: "x"});
        let mut added = mirror.clone();
        added["spec"]["ephemeralContainers"] = json!([{"name": "e", "image": "x"}]);
        let errs = validate_update_via(rt, &added, &mirror, Endpoint::EphemeralContainers);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            (errs[0].field.as_str(), errs[0].message.as_str()),
            ("", "Forbidden: static pods do not support ephemeral containers")
        );
    }

    /// A stored pod (defaulted, its QoS class computed) with these cpu request and limit.
    fn sized(cpu_req: &str, cpu_lim: &str) -> Value {
        let rt = Catalog::global().lookup("", "v1", "pods").expect("pods");
        let mut p = pod();
        p["spec"]["containers"][0]["resources"] = json!({
            "requests": {"cpu": cpu_req, "memory": "64Mi"}, "limits": {"cpu": cpu_lim, "memory": "64Mi"}});
        p["metadata"]["generation"] = json!(1);
        if let Some(o) = p.as_object_mut() {
            crate::strategy::defaults::apply(rt, o);
        }
        p
    }

    #[test]
    fn a_resize_changes_only_resources_and_bumps_the_generation() {
        let rt = Catalog::global().lookup("", "v1", "pods").expect("pods");
        let old = sized("100m", "200m");
        let mut new = sized("150m", "300m");
        new["metadata"]["labels"] = json!({"sneaky": "yes"});
        new["spec"]["containers"][0]["image"] = json!("nginx");
        new["status"] = json!({"phase": "Running"});
        prepare_for_update(rt, &mut new, &old, Endpoint::Resize);
        assert_eq!(new["spec"]["containers"][0]["resources"]["requests"]["cpu"], "150m");
        assert_eq!(new["spec"]["containers"][0]["image"], "busybox");
        assert_eq!(new["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(new["status"], old["status"]);
        assert_eq!(new["metadata"]["generation"], 2);
        assert!(validate_update_via(rt, &new, &old, Endpoint::Resize).is_empty());
    }

    #[test]
    fn kubes_errors_for_resizes_it_refuses() {
        let rt = Catalog::global().lookup("", "v1", "pods").expect("pods");
        let msgs = |new: &Value, old: &Value| -> Vec<String> {
            validate_update_via(rt, new, old, Endpoint::Resize)
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect()
        };
        // Guaranteed (requests = limits) to Burstable.
        let old = sized("100m", "100m");
        let mut new = sized("100m", "200m");
        prepare_for_update(rt, &mut new, &old, Endpoint::Resize);
        assert_eq!(qos_class(&old), "Guaranteed");
        assert_eq!(
            msgs(&new, &old),
            ["spec: Invalid value: \"Guaranteed\": Pod QOS Class may not change as a result of resizing"]
        );
        // A limit removed.
        let old = sized("100m", "200m");
        let mut new = old.clone();
        new["spec"]["containers"][0]["resources"]["limits"] = json!({"memory": "64Mi"});
        prepare_for_update(rt, &mut new, &old, Endpoint::Resize);
        assert_eq!(
            msgs(&new, &old),
            ["spec.containers[0].resources.limits: Forbidden: resource limits cannot be removed"]
        );
        // Another resource than cpu and memory.
        let mut new = old.clone();
        new["spec"]["containers"][0]["resources"]["limits"]["ephemeral-storage"] = json!("1Gi");
        prepare_for_update(rt, &mut new, &old, Endpoint::Resize);
        assert_eq!(msgs(&new, &old), ["spec: Forbidden: only cpu and memory resources are mutable"]);
        // Containers renamed: the new pod is kept for the validation to refuse.
        let mut new = old.clone();
        new["spec"]["containers"][0]["name"] = json!("other");
        prepare_for_update(rt, &mut new, &old, Endpoint::Resize);
        assert!(msgs(&new, &old).contains(
            &"spec.containers[0].name: Forbidden: containers may not be renamed or reordered on resize"
                .to_string()
        ));
        // Static pods.
        let mut mirror = old.clone();
        mirror["metadata"]["annotations"] = json!({MIRROR_POD_ANNOTATION: "x"});
        assert_eq!(msgs(&mirror, &mirror), [": Forbidden: static pods cannot be resized"]);
        // BestEffort and Burstable as kube computes them.
        assert_eq!(qos_class(&pod()), "BestEffort");
        assert_eq!(qos_class(&sized("100m", "200m")), "Burstable");
    }
}

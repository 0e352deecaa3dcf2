//! Pods' ephemeral containers, as kube's `podEphemeralContainersStrategy`
//! (`pkg/registry/core/pod/strategy.go`) and `pkg/apis/core/validation`: a pod is created
//! without any; the `pods/ephemeralcontainers` subresource changes `spec.ephemeralContainers`
//! only, adding containers and never changing or removing one; each is checked as kube's
//! `validateEphemeralContainers` checks it (no ports, resources, probes or lifecycle).

use super::common::{is_label, str_at, DNS1123_LABEL_MSG};
use apimachinery::field::{cause, duplicate, forbidden, invalid, required, Errors};
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
}

//! Per-resource strategy: defaults on create, what an update may change, and validation
//! with kube's field-error texts (returned as Status causes for a 422 Invalid).

use crate::ResourceType;
use apimachinery::status::{CauseType, StatusCause};
use serde_json::{json, Map, Value};

/// Sets server-owned metadata and the defaults kube applies to a new object.
pub fn prepare_for_create(rt: &ResourceType, obj: &mut Value, now: &str) {
    let Some(o) = obj.as_object_mut() else { return };
    o.insert("apiVersion".into(), json!(rt.api_version()));
    o.insert("kind".into(), json!(rt.kind));
    let meta = o.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now));
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            m.remove(k);
        }
        if rt.kind == "Deployment" {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
        if !rt.namespaced {
            m.remove("namespace");
        }
    }
    if rt.has_status && rt.kind != "Namespace" {
        o.remove("status");
    }
    apply_defaults(rt, o);
}

/// Carries over what a client may not change on update, kube's PrepareForUpdate.
/// `status_only` is an update through the `/status` subresource.
pub fn prepare_for_update(rt: &ResourceType, new: &mut Value, old: &Value, status_only: bool) {
    let Some(n) = new.as_object_mut() else { return };
    n.insert("apiVersion".into(), json!(rt.api_version()));
    n.insert("kind".into(), json!(rt.kind));
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let meta = n.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ] {
            match old_meta.get(k) {
                Some(v) => m.insert(k.into(), v.clone()),
                None => m.remove(k),
            };
        }
        m.remove("managedFields");
        match old_meta.get("generation") {
            Some(g) => m.insert("generation".into(), g.clone()),
            None => m.remove("generation"),
        };
    }
    if status_only {
        // Only status (and metadata) may change through /status.
        for (k, v) in old.as_object().into_iter().flatten() {
            if k != "status" && k != "metadata" {
                n.insert(k.clone(), v.clone());
            }
        }
        n.retain(|k, _| k == "status" || k == "metadata" || old.get(k).is_some());
    } else if rt.has_status {
        match old.get("status") {
            Some(s) => n.insert("status".into(), s.clone()),
            None => n.remove("status"),
        };
    }
    if rt.kind == "Deployment" && !status_only && new.get("spec") != old.get("spec") {
        let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("generation".into(), json!(g + 1));
        }
    }
    if let Some(n) = new.as_object_mut() {
        apply_defaults(rt, n);
    }
}

fn set_default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), v);
    }
}

fn obj<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

fn apply_defaults(rt: &ResourceType, o: &mut Map<String, Value>) {
    match rt.kind {
        "Namespace" => {
            let spec = o.entry("spec").or_insert_with(|| json!({}));
            if let Some(s) = spec.as_object_mut() {
                set_default(s, "finalizers", json!(["kubernetes"]));
            }
            let status = o.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                set_default(s, "phase", json!("Active"));
            }
        }
        "Secret" => {
            set_default(o, "type", json!("Opaque"));
            if let Some(Value::Object(sd)) = o.remove("stringData") {
                use base64::Engine as _;
                let data = o.entry("data").or_insert_with(|| json!({}));
                if let Some(d) = data.as_object_mut() {
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default();
                        d.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(s)));
                    }
                }
            }
        }
        "Pod" => {
            if let Some(spec) = obj(o, "spec") {
                pod_spec_defaults(spec);
            }
            let status = o.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                set_default(s, "phase", json!("Pending"));
                set_default(s, "qosClass", json!("BestEffort"));
            }
        }
        "Deployment" => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "progressDeadlineSeconds", json!(600));
                set_default(
                    spec,
                    "strategy",
                    json!({"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}}),
                );
                if let Some(ps) = obj(spec, "template").and_then(|t| obj(t, "spec")) {
                    pod_spec_defaults(ps);
                }
            }
        }
        "Service" => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "type", json!("ClusterIP"));
                set_default(spec, "sessionAffinity", json!("None"));
                if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            set_default(p, "targetPort", port);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn pod_spec_defaults(spec: &mut Map<String, Value>) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
                let last = image.rsplit('/').next().unwrap_or_default();
                let policy =
                    if !last.contains(':') || last.ends_with(":latest") { "Always" } else { "IfNotPresent" };
                set_default(c, "imagePullPolicy", json!(policy));
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                set_default(c, "resources", json!({}));
                if let Some(Value::Array(ports)) = c.get_mut("ports") {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

fn cause(reason: CauseType, field: &str, message: String) -> StatusCause {
    StatusCause { reason, message, field: field.into() }
}

fn required(field: &str) -> StatusCause {
    cause(CauseType::FieldValueRequired, field, "Required value".into())
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label)
}

fn invalid_value(field: &str, value: &str, detail: &str) -> StatusCause {
    cause(
        CauseType::FieldValueInvalid,
        field,
        format!("Invalid value: {}: {detail}", apimachinery::quote::go_quote(value)),
    )
}

/// Field errors of an object about to be stored (empty when valid).
pub fn validate(rt: &ResourceType, obj: &Value) -> Vec<StatusCause> {
    let mut errs = Vec::new();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() {
        errs.push(cause(
            CauseType::FieldValueRequired,
            "metadata.name",
            "Required value: name or generateName is required".into(),
        ));
    } else if rt.kind == "Namespace" || rt.kind == "Service" {
        if !is_label(name) {
            errs.push(invalid_value("metadata.name", name, DNS1123_LABEL_MSG));
        }
    } else if rt.group == "rbac.authorization.k8s.io" {
        // RBAC names are path segments: anything but `..`, `.`, or containing `/` or `%`.
        if name == "." || name == ".." || name.contains(['/', '%']) {
            errs.push(invalid_value("metadata.name", name, "may not contain '/' or '%'"));
        }
    } else if !is_subdomain(name) {
        errs.push(invalid_value("metadata.name", name, DNS1123_SUBDOMAIN_MSG));
    }
    match rt.kind {
        "Pod" => validate_pod_spec(obj.get("spec"), "spec", &mut errs),
        "Deployment" => {
            match obj.pointer("/spec/selector") {
                None => errs.push(required("spec.selector")),
                Some(sel) => {
                    let labels = obj.pointer("/spec/template/metadata/labels");
                    if let (Some(Value::Object(ml)), Some(Value::Object(tl))) =
                        (sel.get("matchLabels"), labels)
                    {
                        if ml.iter().any(|(k, v)| tl.get(k) != Some(v)) {
                            errs.push(invalid_value(
                                "spec.template.metadata.labels",
                                &Value::Object(tl.clone()).to_string(),
                                "`selector` does not match template `labels`",
                            ));
                        }
                    }
                }
            }
            validate_pod_spec(obj.pointer("/spec/template/spec"), "spec.template.spec", &mut errs);
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            if obj.pointer("/roleRef/name").and_then(Value::as_str).is_none_or(str::is_empty) {
                errs.push(required("roleRef.name"));
            }
            let kind = obj.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
            let allowed: &[&str] =
                if rt.kind == "RoleBinding" { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
            if !allowed.contains(&kind) {
                let list = allowed.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
                errs.push(cause(
                    CauseType::FieldValueNotSupported,
                    "roleRef.kind",
                    format!(
                        "Unsupported value: {}: supported values: {list}",
                        apimachinery::quote::go_quote(kind)
                    ),
                ));
            }
        }
        _ => {}
    }
    errs
}

fn validate_pod_spec(spec: Option<&Value>, path: &str, errs: &mut Vec<StatusCause>) {
    let containers = spec.and_then(|s| s.get("containers")).and_then(Value::as_array);
    match containers {
        None => errs.push(required(&format!("{path}.containers"))),
        Some(cs) if cs.is_empty() => errs.push(required(&format!("{path}.containers"))),
        Some(cs) => {
            let mut seen = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                let cname = c.get("name").and_then(Value::as_str).unwrap_or_default();
                let field = format!("{path}.containers[{i}]");
                if cname.is_empty() {
                    errs.push(required(&format!("{field}.name")));
                } else if seen.contains(&cname) {
                    errs.push(cause(
                        CauseType::FieldValueDuplicate,
                        &format!("{field}.name"),
                        format!("Duplicate value: {}", apimachinery::quote::go_quote(cname)),
                    ));
                } else {
                    seen.push(cname);
                }
                if c.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
                    errs.push(required(&format!("{field}.image")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn pod_defaults_and_validation() {
        let c = Catalog::builtin();
        let rt = c.lookup("", "v1", "pods").unwrap();
        let mut pod =
            json!({"metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"nginx:1.25"}]}});
        prepare_for_create(rt, &mut pod, "2026-01-01T00:00:00Z");
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["status"]["phase"], "Pending");
        assert!(validate(rt, &pod).is_empty());
        let bad = json!({"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}});
        let errs = validate(rt, &bad);
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].field, "spec.containers[0].image");
    }

    #[test]
    fn status_is_kept_on_main_update_and_only_status_on_status_update() {
        let c = Catalog::builtin();
        let rt = c.lookup("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata":{"name":"d","uid":"u","generation":1},"spec":{"replicas":1},"status":{"replicas":1}});
        let mut new = json!({"metadata":{"name":"d"},"spec":{"replicas":3},"status":{"replicas":9}});
        prepare_for_update(rt, &mut new, &old, false);
        assert_eq!(new["status"]["replicas"], 1);
        assert_eq!(new["metadata"]["generation"], 2);
        assert_eq!(new["metadata"]["uid"], "u");
        let mut st = json!({"metadata":{"name":"d"},"spec":{"replicas":7},"status":{"replicas":5}});
        prepare_for_update(rt, &mut st, &old, true);
        assert_eq!(st["spec"]["replicas"], 1);
        assert_eq!(st["status"]["replicas"], 5);
    }
}

//! The strategies of CustomResourceDefinitions and of the custom resources they define
//! (kube's `customresourcedefinition/strategy.go` and `customresource/strategy.go`), over
//! the `apiextensions` crate: a CRD is checked by kube's CRD validation; a custom resource
//! by its version's structural schema and CEL rules, its status writes by the status
//! schema.

use crate::{Catalog, ResourceType};
use apimachinery::status::StatusCause;
use serde_json::{json, Value};

fn is_crd(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.kind == "CustomResourceDefinition"
}

/// kube's v1 CRD defaults (`apiextensions/v1/defaults.go`): `listKind` and `singular` from
/// the kind, the `None` conversion strategy, webhook service port 443.
fn crd_defaults(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let empty = |n: &serde_json::Map<String, Value>, k: &str| {
            n.get(k).and_then(Value::as_str).is_none_or(str::is_empty)
        };
        if !kind.is_empty() && empty(names, "listKind") {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
        if !kind.is_empty() && empty(names, "singular") {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
    }
    let conversion = spec.entry("conversion").or_insert_with(|| json!({"strategy": "None"}));
    if let Some(service) =
        conversion.pointer_mut("/webhook/clientConfig/service").and_then(Value::as_object_mut)
    {
        service.entry("port").or_insert(json!(443));
    }
}

/// What kube's CRD `PrepareForCreate` adds (defaults, storedVersions, generation).
pub(super) fn prepare_for_create(rt: &ResourceType, obj: &mut Value) {
    if is_crd(rt) {
        crd_defaults(obj);
        apiextensions::prepare_for_create(obj);
    }
}

/// The defaults kube's decoding gives a new CRD (conversion strategy, list kind, ...).
pub(super) fn default_new(rt: &ResourceType, obj: &mut Value) {
    if is_crd(rt) {
        crd_defaults(obj);
    }
}

/// What kube's CRD `PrepareForUpdate` does (defaults, status kept, storedVersions,
/// generation).
pub(super) fn prepare_for_update(rt: &ResourceType, new: &mut Value, old: &Value, status_only: bool) {
    if is_crd(rt) && !status_only {
        crd_defaults(new);
        apiextensions::prepare_for_update(new, old);
    }
}

/// Field errors of a CRD or a custom resource; `None` for every other kind.
pub(super) fn validate(
    rt: &ResourceType,
    new: &Value,
    old: Option<&Value>,
    status_only: bool,
) -> Option<Vec<StatusCause>> {
    if is_crd(rt) {
        return Some(if status_only {
            apiextensions::crd::validate_crd_status(new)
        } else {
            apiextensions::validate_crd(new, old)
        });
    }
    if !rt.custom {
        return None;
    }
    let Some(v) = Catalog::global().custom().version(rt) else {
        return Some(Vec::new());
    };
    Some(match (status_only, old) {
        (true, Some(old)) => v.structural.validate_status(new, old),
        _ => v.structural.validate(new, old),
    })
}

/// A custom resource's unknown fields dropped (unless its schema preserves them) and its
/// defaults applied, as kube decodes one; returns the dropped paths.
pub fn prune_and_default(rt: &ResourceType, obj: &mut Value) -> Vec<String> {
    let Some(v) = rt.custom.then(|| Catalog::global().custom().version(rt)).flatten() else {
        return Vec::new();
    };
    let pruned = v.structural.prune(obj);
    v.structural.default(obj);
    pruned
}

/// A stored custom resource with its schema's defaults, as kube applies them on read.
pub fn default_on_read(rt: &ResourceType, obj: &mut Value) {
    if let Some(v) = rt.custom.then(|| Catalog::global().custom().version(rt)).flatten() {
        v.structural.default(obj);
    }
}

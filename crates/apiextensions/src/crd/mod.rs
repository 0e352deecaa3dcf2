//! Validation of a CustomResourceDefinition (kube's
//! `apiextensions/validation.ValidateCustomResourceDefinition` and `...Update`): the name,
//! group, names, scope, versions, schemas (structural, per-keyword, defaults, CEL rules),
//! printer columns, subresources, selectable fields, conversion, stored versions and the
//! API-approval annotation of protected groups.
//!
//! kube validates the internal form of the CRD (see [`types`]): a schema, subresources,
//! columns or selectable fields identical in every version are reported under
//! `spec.validation`, `spec.subresources`, `spec.additionalPrinterColumns` and
//! `spec.selectableFields`.

pub mod gorender;
mod root;
pub mod schema;
mod spec;
pub mod structural;
pub mod types;

use crate::names::dns1123_subdomain;
use apimachinery::field::{invalid, invalid_rendered, required_because, Errors};
use apimachinery::quote::go_quote;
use serde_json::Value;
pub use types::Crd;

/// The annotation protected groups need.
pub const API_APPROVED_ANNOTATION: &str = "api-approved.kubernetes.io";

/// kube's field errors of a CustomResourceDefinition (`apiextensions.k8s.io/v1` JSON) on
/// create (`old` None) or update. The object is expected as kube's strategy leaves it
/// before validation: see [`prepare_for_create`] and [`prepare_for_update`].
pub fn validate_crd(new: &Value, old: Option<&Value>) -> Errors {
    let mut errs = Errors::new();
    let crd = Crd::from_v1(new, &mut errs);
    if !errs.is_empty() {
        return errs;
    }
    let mut scratch = Errors::new();
    let old = old.map(|o| Crd::from_v1(o, &mut scratch));
    let opts = spec::Options::new(&crd, old.as_ref());
    if old.is_none() {
        validate_name(&crd, &mut errs);
    }
    errs.extend(spec::validate_spec(&crd, &opts));
    if let Some(old) = &old {
        let s = &crd.spec;
        let o = &old.spec;
        if opts.require_immutable_names {
            immutable(&mut errs, "spec.scope", &s.scope, &o.scope);
            immutable(&mut errs, "spec.names.kind", &s.names.kind, &o.names.kind);
        }
        immutable(&mut errs, "spec.group", &s.group, &o.group);
        immutable(&mut errs, "spec.names.plural", &s.names.plural, &o.names.plural);
    }
    errs.extend(spec::validate_names(&crd.accepted_names, "status.acceptedNames"));
    stored_versions(&crd, &mut errs);
    api_approval(&crd, old.as_ref(), &mut errs);
    let old_preserves = old.as_ref().is_some_and(|o| o.spec.preserve_unknown_fields == Some(true));
    if !old_preserves && crd.spec.preserve_unknown_fields == Some(true) {
        errs.push(invalid_rendered(
            "spec.preserveUnknownFields",
            "true",
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    errs
}

/// kube's `ValidateUpdateCustomResourceDefinitionStatus`: a write to the CRD's `status`
/// subresource checks `status.acceptedNames`.
pub fn validate_crd_status(new: &Value) -> Errors {
    let mut errs = Errors::new();
    let crd = Crd::from_v1(new, &mut errs);
    errs.extend(spec::validate_names(&crd.accepted_names, "status.acceptedNames"));
    errs
}

fn immutable(errs: &mut Errors, field: &str, new: &str, old: &str) {
    if new != old {
        errs.push(invalid(field, new, "field is immutable"));
    }
}

/// `metadata.name` (or `generateName`) as kube's `ValidateObjectMeta` checks it for a CRD:
/// a DNS subdomain equal to `<plural>.<group>`.
fn validate_name(crd: &Crd, errs: &mut Errors) {
    let required_name = format!("{}.{}", crd.spec.names.plural, crd.spec.group);
    let check = |name: &str| {
        let mut msgs = dns1123_subdomain(name);
        if name != required_name {
            msgs.push(r#"must be spec.names.plural+"."+spec.group"#.to_string());
        }
        msgs
    };
    if !crd.generate_name.is_empty() {
        for m in check(&crd.generate_name) {
            errs.push(invalid("metadata.generateName", &crd.generate_name, &m));
        }
    }
    if crd.name.is_empty() {
        if crd.generate_name.is_empty() {
            errs.push(required_because("metadata.name", "name or generateName is required"));
        }
        return;
    }
    for m in check(&crd.name) {
        errs.push(invalid("metadata.name", &crd.name, &m));
    }
}

/// `ValidateCustomResourceDefinitionStoredVersions`.
fn stored_versions(crd: &Crd, errs: &mut Errors) {
    let stored = &crd.stored_versions;
    let rendered = if stored.is_empty() {
        "[]".to_string()
    } else {
        apimachinery::gofmt::go_json(&Value::from(stored.clone()))
    };
    if stored.is_empty() {
        errs.push(invalid_rendered("status.storedVersions", "null", "must have at least one stored version"));
        return;
    }
    let mut remaining: Vec<(usize, &String)> = stored.iter().enumerate().collect();
    for v in &crd.spec.versions {
        let found = remaining.iter().any(|(_, s)| **s == v.name);
        if v.storage && !found {
            errs.push(invalid_rendered(
                "status.storedVersions",
                &rendered,
                &format!("must have the storage version {}", v.name),
            ));
        }
        remaining.retain(|(_, s)| **s != v.name);
    }
    for (i, v) in remaining {
        errs.push(invalid(
            &format!("status.storedVersions[{i}]"),
            v,
            &format!("missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"),
        ));
    }
}

fn is_protected_group(group: &str) -> bool {
    group == "k8s.io"
        || group.ends_with(".k8s.io")
        || group == "kubernetes.io"
        || group.ends_with(".kubernetes.io")
}

#[derive(PartialEq, Clone, Copy)]
enum Approval {
    Invalid,
    Approved,
    Bypassed,
    Missing,
}

fn approval_state(crd: &Crd) -> (Approval, String) {
    let a = crd.annotations.get(API_APPROVED_ANNOTATION).map(String::as_str).unwrap_or_default();
    let key = go_quote(API_APPROVED_ANNOTATION);
    if a.is_empty() {
        (Approval::Missing, format!("protected groups must have approval annotation {key}, see https://github.com/kubernetes/enhancements/pull/1111"))
    } else if a.starts_with("unapproved") {
        (Approval::Bypassed, String::new())
    } else if is_url_with_host(a) {
        (Approval::Approved, String::new())
    } else {
        (
            Approval::Invalid,
            format!("protected groups must have approval annotation {key} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"),
        )
    }
}

/// `url.ParseRequestURI` succeeded with a scheme and a host.
fn is_url_with_host(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    scheme_ok && !host.is_empty() && !s.contains(' ')
}

fn api_approval(crd: &Crd, old: Option<&Crd>, errs: &mut Errors) {
    if !is_protected_group(&crd.spec.group) {
        return;
    }
    let (state, reason) = approval_state(crd);
    if old.is_some_and(|o| approval_state(o).0 == state) {
        return;
    }
    let field = format!("metadata.annotations[{API_APPROVED_ANNOTATION}]");
    let value = crd.annotations.get(API_APPROVED_ANNOTATION).map(String::as_str).unwrap_or_default();
    match state {
        Approval::Missing => errs.push(required_because(&field, &reason)),
        Approval::Invalid => errs.push(invalid(&field, value, &reason)),
        Approval::Approved | Approval::Bypassed => {}
    }
}

/// kube's `PrepareForCreate` of a CRD: status reset to the storage version as the only
/// stored version, generation 1.
pub fn prepare_for_create(crd: &mut Value) {
    let storage = storage_version(crd);
    if let Some(m) = crd.as_object_mut() {
        let stored: Vec<Value> = storage.into_iter().map(Value::String).collect();
        // A new CRD's status as kube writes it: no conditions yet (a Go nil slice without
        // omitempty), empty accepted names (plural and kind have no omitempty), the storage
        // version stored.
        m.insert(
            "status".into(),
            serde_json::json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored}),
        );
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("generation".into(), Value::from(1));
        }
    }
}

/// kube's `PrepareForUpdate` of a CRD (main resource): status kept from the old object,
/// the new storage version added to `status.storedVersions`, the generation bumped when
/// the spec changed.
pub fn prepare_for_update(crd: &mut Value, old: &Value) {
    let storage = storage_version(crd);
    let spec_changed = crd.get("spec") != old.get("spec");
    let old_gen = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    let Some(m) = crd.as_object_mut() else { return };
    let mut status = old.get("status").cloned().unwrap_or_else(|| serde_json::json!({}));
    if let (Some(v), Some(st)) = (storage, status.as_object_mut()) {
        let list = st.entry("storedVersions").or_insert_with(|| Value::Array(Vec::new()));
        if let Some(a) = list.as_array_mut() {
            if !a.iter().any(|x| x.as_str() == Some(v.as_str())) {
                a.push(Value::String(v));
            }
        }
    }
    m.insert("status".into(), status);
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".into(), Value::from(if spec_changed { old_gen + 1 } else { old_gen }));
    }
}

fn storage_version(crd: &Value) -> Option<String> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .map(str::to_string)
}

#[cfg(test)]
mod tests;

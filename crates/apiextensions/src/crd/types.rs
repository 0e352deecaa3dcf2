//! A CustomResourceDefinition read from its `apiextensions.k8s.io/v1` JSON into kube's
//! internal form, which is what kube validates: per-version `schema`, `subresources`,
//! `additionalPrinterColumns` and `selectableFields` that are identical in every version
//! move to the top level (`spec.validation`, `spec.subresources`, ...), `spec.version` is
//! the first version's name, and a conversion webhook's `clientConfig` is
//! `webhookClientConfig`. So a single-version CRD reports schema errors under
//! `spec.validation.openAPIV3Schema`, as kube does.

use crate::props::Props;
use apimachinery::status::StatusCause;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `spec.names` / `status.acceptedNames`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Names {
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub kind: String,
    pub list_kind: String,
    pub categories: Vec<String>,
}

/// `subresources.scale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalePaths {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

/// `subresources`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subresources {
    pub status: bool,
    pub scale: Option<ScalePaths>,
}

/// One `additionalPrinterColumns` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
    pub json_path: String,
}

/// `conversion.webhook.clientConfig.service`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    pub path: Option<String>,
    pub port: Option<i64>,
}

/// `conversion.webhook.clientConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientConfig {
    pub url: Option<String>,
    pub service: Option<ServiceRef>,
    pub ca_bundle: String,
}

/// `spec.conversion`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversion {
    pub strategy: String,
    pub webhook_client_config: Option<ClientConfig>,
    pub conversion_review_versions: Vec<String>,
}

/// One entry of `spec.versions`, after the move of identical fields to the top level.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Version {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    pub deprecated: bool,
    pub deprecation_warning: Option<String>,
    /// `schema`: `Some(None)` for a `schema` without `openAPIV3Schema`.
    pub schema: Option<Option<Props>>,
    pub subresources: Option<Subresources>,
    pub columns: Vec<Column>,
    pub selectable_fields: Vec<String>,
}

/// `spec`, in kube's internal form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub group: String,
    pub version: String,
    pub names: Names,
    pub scope: String,
    pub validation: Option<Option<Props>>,
    pub subresources: Option<Subresources>,
    pub versions: Vec<Version>,
    pub columns: Vec<Column>,
    pub selectable_fields: Vec<String>,
    pub conversion: Option<Conversion>,
    pub preserve_unknown_fields: Option<bool>,
}

/// The parts of a CRD its validation reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Crd {
    pub name: String,
    pub generate_name: String,
    pub annotations: BTreeMap<String, String>,
    pub spec: Spec,
    pub accepted_names: Names,
    pub stored_versions: Vec<String>,
    pub established: bool,
}

fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn opt_s(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_string)
}

fn b(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(m: &Map<String, Value>, k: &str) -> Vec<String> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn obj<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Map<String, Value>> {
    m.get(k).and_then(Value::as_object)
}

fn names(m: Option<&Map<String, Value>>) -> Names {
    let Some(m) = m else { return Names::default() };
    Names {
        plural: s(m, "plural"),
        singular: s(m, "singular"),
        short_names: strings(m, "shortNames"),
        kind: s(m, "kind"),
        list_kind: s(m, "listKind"),
        categories: strings(m, "categories"),
    }
}

fn subresources(m: Option<&Map<String, Value>>) -> Option<Subresources> {
    let m = m?;
    Some(Subresources {
        status: m.get("status").is_some_and(|v| !v.is_null()),
        scale: obj(m, "scale").map(|sc| ScalePaths {
            spec_replicas_path: s(sc, "specReplicasPath"),
            status_replicas_path: s(sc, "statusReplicasPath"),
            label_selector_path: opt_s(sc, "labelSelectorPath"),
        }),
    })
}

fn columns(m: &Map<String, Value>) -> Vec<Column> {
    let Some(cols) = m.get("additionalPrinterColumns").and_then(Value::as_array) else { return Vec::new() };
    cols.iter()
        .filter_map(Value::as_object)
        .map(|c| Column {
            name: s(c, "name"),
            type_: s(c, "type"),
            format: s(c, "format"),
            description: s(c, "description"),
            priority: c
                .get("priority")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            json_path: s(c, "jsonPath"),
        })
        .collect()
}

fn selectable_fields(m: &Map<String, Value>) -> Vec<String> {
    m.get("selectableFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| f.get("jsonPath").and_then(Value::as_str).unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn conversion(m: Option<&Map<String, Value>>) -> Option<Conversion> {
    let m = m?;
    let webhook = obj(m, "webhook");
    let client = webhook.and_then(|w| obj(w, "clientConfig")).map(|c| ClientConfig {
        url: opt_s(c, "url"),
        service: obj(c, "service").map(|sv| ServiceRef {
            namespace: s(sv, "namespace"),
            name: s(sv, "name"),
            path: opt_s(sv, "path"),
            port: sv.get("port").and_then(Value::as_i64),
        }),
        ca_bundle: s(c, "caBundle"),
    });
    Some(Conversion {
        strategy: s(m, "strategy"),
        webhook_client_config: client,
        conversion_review_versions: webhook
            .map(|w| strings(w, "conversionReviewVersions"))
            .unwrap_or_default(),
    })
}

/// `true` when every element of `items` gives the same value under `f` (kube's check
/// before moving a per-version field to the top level).
fn all_same<T: PartialEq>(items: &[Version], f: impl Fn(&Version) -> &T) -> bool {
    items.first().is_some_and(|first| items.iter().all(|v| f(v) == f(first)))
}

impl Crd {
    /// Reads a v1 CRD into kube's internal form. Schemas that cannot be read push causes
    /// to `errs`.
    pub fn from_v1(v: &Value, errs: &mut Vec<StatusCause>) -> Crd {
        let empty = Map::new();
        let root = v.as_object().unwrap_or(&empty);
        let meta = obj(root, "metadata").unwrap_or(&empty);
        let spec = obj(root, "spec").unwrap_or(&empty);
        let status = obj(root, "status").unwrap_or(&empty);
        let mut versions = Vec::new();
        for (i, ver) in spec.get("versions").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let Some(ver) = ver.as_object() else { continue };
            let schema = obj(ver, "schema").map(|sch| {
                sch.get("openAPIV3Schema")
                    .filter(|s| !s.is_null())
                    .map(|s| Props::parse(s, &format!("spec.versions[{i}].schema.openAPIV3Schema"), errs))
            });
            versions.push(Version {
                name: s(ver, "name"),
                served: b(ver, "served"),
                storage: b(ver, "storage"),
                deprecated: b(ver, "deprecated"),
                deprecation_warning: opt_s(ver, "deprecationWarning"),
                schema,
                subresources: subresources(obj(ver, "subresources")),
                columns: columns(ver),
                selectable_fields: selectable_fields(ver),
            });
        }
        let mut spec_out = Spec {
            group: s(spec, "group"),
            version: versions.first().map(|v| v.name.clone()).unwrap_or_default(),
            names: names(obj(spec, "names")),
            scope: s(spec, "scope"),
            conversion: conversion(obj(spec, "conversion")),
            preserve_unknown_fields: spec.get("preserveUnknownFields").and_then(Value::as_bool),
            ..Spec::default()
        };
        if !versions.is_empty() {
            if all_same(&versions, |v| &v.schema) {
                spec_out.validation = versions[0].schema.clone();
                versions.iter_mut().for_each(|v| v.schema = None);
            }
            if all_same(&versions, |v| &v.subresources) {
                spec_out.subresources = versions[0].subresources.clone();
                versions.iter_mut().for_each(|v| v.subresources = None);
            }
            if all_same(&versions, |v| &v.columns) {
                spec_out.columns = versions[0].columns.clone();
                versions.iter_mut().for_each(|v| v.columns.clear());
            }
            if all_same(&versions, |v| &v.selectable_fields) {
                spec_out.selectable_fields = versions[0].selectable_fields.clone();
                versions.iter_mut().for_each(|v| v.selectable_fields.clear());
            }
        }
        spec_out.versions = versions;
        let established = status.get("conditions").and_then(Value::as_array).is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        });
        Crd {
            name: s(meta, "name"),
            generate_name: s(meta, "generateName"),
            annotations: obj(meta, "annotations")
                .map(|a| {
                    a.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
                })
                .unwrap_or_default(),
            spec: spec_out,
            accepted_names: names(obj(status, "acceptedNames")),
            stored_versions: strings(status, "storedVersions"),
            established,
        }
    }

    /// The schema of a version: the top-level one or the version's own.
    pub fn schema_for(&self, version: &str) -> Option<&Props> {
        if let Some(v) = &self.spec.validation {
            return v.as_ref();
        }
        self.spec
            .versions
            .iter()
            .find(|v| v.name == version)
            .and_then(|v| v.schema.as_ref())
            .and_then(Option::as_ref)
    }

    /// The subresources of a version (kube's `getSubresourcesForVersion`).
    pub fn subresources_for(&self, version: &str) -> Option<&Subresources> {
        if !self.spec.versions.iter().any(|v| v.subresources.is_some()) {
            return self.spec.subresources.as_ref();
        }
        self.spec.versions.iter().find(|v| v.name == version).and_then(|v| v.subresources.as_ref())
    }
}

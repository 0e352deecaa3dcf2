//! [`Structural`]: one served version of a CRD, compiled once, with everything a custom
//! resource of that version goes through: validation (kube's `customResourceStrategy`
//! `Validate`/`ValidateUpdate`/status validation), defaulting, pruning, and the schema
//! queries server-side apply needs.

use crate::crd::types::{Column, ScalePaths};
use crate::defaulting;
use crate::listtype;
use crate::names::dns1123_subdomain;
use crate::objectmeta;
use crate::props::Props;
use crate::pruning;
use crate::validate::{validate_value, Patterns};
use apimachinery::field::{invalid, invalid_rendered, Errors};
use apimachinery::gofmt::go_bad_value;
use apimachinery::status::{CauseType, StatusCause};
use serde_json::Value;

/// One version of a CRD, ready to validate, default and prune its objects.
pub struct Structural {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// The version's schema with defaults pruned as kube serves them (None: no schema).
    pub schema: Option<Props>,
    /// `spec.preserveUnknownFields` of a legacy CRD: nothing is pruned.
    pub preserve_unknown_fields: bool,
    pub status_enabled: bool,
    pub scale: Option<ScalePaths>,
    pub columns: Vec<Column>,
    pub selectable_fields: Vec<String>,
    pub(crate) patterns: Patterns,
    pub(crate) status_patterns: Patterns,
    rules: Option<crate::cel::RuleTree>,
    /// Whether any node of the schema is an `x-kubernetes-embedded-resource`: without one,
    /// the walks that look for embedded objects have nothing to find below the root.
    embedded_below: bool,
}

impl std::fmt::Debug for Structural {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Structural")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .finish()
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// kube's default columns when a version declares none: `Age` from the creation time.
fn default_columns() -> Vec<Column> {
    vec![Column {
        name: "Age".into(),
        type_: "date".into(),
        json_path: ".metadata.creationTimestamp".into(),
        description: crate::printer::CREATION_TIMESTAMP_DESCRIPTION.into(),
        ..Column::default()
    }]
}

impl Structural {
    /// Compiles `version` of a v1 CRD (assumed valid: [`crate::validate_crd`] passed).
    pub fn from_crd(crd: &Value, version: &str) -> Result<Structural, String> {
        let versions =
            crd.pointer("/spec/versions").and_then(Value::as_array).ok_or("the CRD has no versions")?;
        let v = versions
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
            .ok_or_else(|| format!("the CRD has no version {version:?}"))?;
        let mut errs = Vec::new();
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .filter(|s| !s.is_null())
            .map(|s| Props::parse(s, "", &mut errs));
        if let Some(e) = errs.first() {
            return Err(format!("{}: {}", e.field, e.message));
        }
        let preserve = crd.pointer("/spec/preserveUnknownFields").and_then(Value::as_bool).unwrap_or(false);
        let scale = v.pointer("/subresources/scale").filter(|s| s.is_object()).map(|sc| ScalePaths {
            spec_replicas_path: s(sc, "/specReplicasPath").into(),
            status_replicas_path: s(sc, "/statusReplicasPath").into(),
            label_selector_path: sc.get("labelSelectorPath").and_then(Value::as_str).map(str::to_string),
        });
        let mut columns: Vec<Column> = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| Column {
                name: s(c, "/name").into(),
                type_: s(c, "/type").into(),
                format: s(c, "/format").into(),
                description: s(c, "/description").into(),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0).clamp(0, i32::MAX as i64)
                    as i32,
                json_path: s(c, "/jsonPath").into(),
            })
            .collect();
        if columns.is_empty() {
            columns = default_columns();
        }
        let selectable_fields = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|f| s(f, "/jsonPath").to_string())
            .collect();
        let mut st = Structural::new(schema, s(crd, "/spec/group"), version, s(crd, "/spec/names/kind"));
        st.namespaced = s(crd, "/spec/scope") == "Namespaced";
        if !s(crd, "/spec/names/listKind").is_empty() {
            st.list_kind = s(crd, "/spec/names/listKind").into();
        }
        if !s(crd, "/spec/names/plural").is_empty() {
            st.plural = s(crd, "/spec/names/plural").into();
        }
        st.preserve_unknown_fields = preserve;
        st.status_enabled = v.pointer("/subresources/status").is_some_and(|x| !x.is_null());
        st.scale = scale;
        st.columns = columns;
        st.selectable_fields = selectable_fields;
        Ok(st)
    }

    /// A version from its schema alone (cluster-scoped, no subresources, default columns).
    pub fn new(schema: Option<Props>, group: &str, version: &str, kind: &str) -> Structural {
        let schema = schema.map(|s| defaulting::prune_defaults(&s));
        let patterns = schema.as_ref().map(Patterns::of).unwrap_or_default();
        let status_patterns =
            schema.as_ref().and_then(|s| s.properties.get("status")).map(Patterns::of).unwrap_or_default();
        let rules = schema.as_ref().and_then(crate::cel::RuleTree::build);
        let embedded_below = schema.as_ref().is_some_and(|s| s.has(&|p| p.x_embedded_resource));
        Structural {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            plural: kind.to_lowercase(),
            namespaced: false,
            schema,
            preserve_unknown_fields: false,
            status_enabled: false,
            scale: None,
            columns: default_columns(),
            selectable_fields: Vec::new(),
            patterns,
            status_patterns,
            rules,
            embedded_below,
        }
    }

    fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// `ValidateTypeMeta`: `kind` and `apiVersion` are this version's.
    fn type_meta(&self, obj: &Value) -> Errors {
        let mut errs = Errors::new();
        let kind = obj.get("kind");
        if kind.and_then(Value::as_str) != Some(self.kind.as_str()) {
            let shown = kind.map(go_bad_value).unwrap_or_else(|| "\"\"".into());
            errs.push(invalid_rendered("kind", &shown, &format!("must be {}", self.kind)));
        }
        let av = obj.get("apiVersion");
        if av.and_then(Value::as_str) != Some(self.api_version().as_str()) {
            let shown = av.map(go_bad_value).unwrap_or_else(|| "\"\"".into());
            errs.push(invalid_rendered("apiVersion", &shown, &format!("must be {}", self.api_version())));
        }
        errs
    }

    /// `metadata.name`/`generateName` as DNS subdomains (kube's `NameIsDNSSubdomain`).
    fn object_meta(&self, obj: &Value, create: bool) -> Errors {
        let mut errs = Errors::new();
        let Some(meta) = obj.get("metadata") else { return errs };
        if let Err(e) = objectmeta::check_object_meta(meta) {
            errs.push(invalid_rendered("metadata", &go_bad_value(meta), &e));
            return errs;
        }
        if !create {
            objectmeta::validate_labels_and_annotations(meta, &mut errs);
            return errs;
        }
        let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
        let generate = meta.get("generateName").and_then(Value::as_str).unwrap_or_default();
        if !generate.is_empty() {
            let prefix = generate.strip_suffix('-').unwrap_or(generate);
            for m in dns1123_subdomain(prefix) {
                errs.push(invalid("metadata.generateName", generate, &m));
            }
        }
        if !name.is_empty() {
            for m in dns1123_subdomain(name) {
                errs.push(invalid("metadata.name", name, &m));
            }
        }
        objectmeta::validate_labels_and_annotations(meta, &mut errs);
        errs
    }

    /// Field errors of a custom resource on create (`old` None) or update, in kube's order:
    /// type meta (alone when wrong), metadata, the schema (ratcheting on update), the scale
    /// replicas, embedded resources, set/map lists, then CEL rules when nothing blocking
    /// came before.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<StatusCause> {
        let tm = self.type_meta(obj);
        if !tm.is_empty() {
            return tm;
        }
        let mut errs = self.object_meta(obj, old.is_none());
        if let Some(s) = &self.schema {
            errs.extend(validate_value(s, &self.patterns, obj, old, ""));
        }
        errs.extend(self.scale_errors(obj, true));
        errs.extend(self.scale_errors(obj, false));
        if let Some(s) = &self.schema {
            if self.embedded_below {
                errs.extend(objectmeta::validate_embedded(obj, Some(s), false, ""));
            }
            let list_ok = old.is_none_or(|o| listtype::validate("", s, o).is_empty());
            if list_ok {
                errs.extend(listtype::validate("", s, obj));
            }
        }
        self.cel(obj, old, &mut errs);
        errs
    }

    /// Field errors of a write to the `status` subresource: the status against the status
    /// schema (under `status`), then the scale status paths and CEL rules.
    pub fn validate_status(&self, obj: &Value, old: &Value) -> Vec<StatusCause> {
        let tm = self.type_meta(obj);
        if !tm.is_empty() {
            return tm;
        }
        let mut errs = self.object_meta(obj, false);
        if let (Some(st), Some(status_schema)) =
            (obj.get("status"), self.schema.as_ref().and_then(|s| s.properties.get("status")))
        {
            errs.extend(validate_value(
                status_schema,
                &self.status_patterns,
                st,
                old.get("status"),
                "status",
            ));
        }
        errs.extend(self.scale_errors(obj, false));
        self.cel(obj, Some(old), &mut errs);
        errs
    }

    fn cel(&self, obj: &Value, old: Option<&Value>, errs: &mut Errors) {
        let Some(rules) = &self.rules else { return };
        // kube's hasBlockingErr: type, required, enum and size errors stop CEL.
        let blocking = errs.iter().any(|e| {
            matches!(
                e.reason,
                CauseType::FieldValueNotSupported
                    | CauseType::FieldValueRequired
                    | CauseType::FieldValueTooLong
                    | CauseType::FieldValueTooMany
                    | CauseType::FieldValueTypeInvalid
            )
        });
        if blocking {
            errs.push(invalid_rendered(
                "<nil>",
                "null",
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ));
            return;
        }
        errs.extend(rules.evaluate(obj, old));
    }

    /// `ValidateScaleSpec` / `ValidateScaleStatus`.
    fn scale_errors(&self, obj: &Value, spec: bool) -> Errors {
        let mut errs = Errors::new();
        let Some(scale) = &self.scale else { return errs };
        let path = if spec { &scale.spec_replicas_path } else { &scale.status_replicas_path };
        let field = path.as_str();
        match crate::scale::nested_int(obj, path) {
            Err((v, e)) => errs.push(invalid_rendered(field, &v, &e)),
            Ok(n) if n < 0 => {
                errs.push(invalid_rendered(field, &n.to_string(), "should be a non-negative integer"))
            }
            Ok(n) if n > i32::MAX as i64 => errs.push(invalid_rendered(
                field,
                &n.to_string(),
                &format!("should be less than or equal to {}", i32::MAX),
            )),
            Ok(_) => {}
        }
        if !spec {
            if let Some(sel) = &scale.label_selector_path {
                if let Err(e) = crate::scale::nested_string(obj, sel) {
                    errs.push(invalid(sel, "", &e));
                }
            }
        }
        errs
    }

    /// Applies the schema's defaults (on decoding from a request and from storage).
    pub fn default(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            defaulting::default(obj, s);
        }
    }

    /// Prunes `obj` as kube's decoder does: unknown fields dropped (unless preserved),
    /// non-nullable nulls without default dropped, metadata of the root and of embedded
    /// resources reduced to `ObjectMeta` fields. Returns the dropped paths (`spec.foo`,
    /// `metadata.bar`), for `fieldValidation=Strict` (`unknown field "spec.foo"`) or `Warn`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut pruned = Vec::new();
        if !self.preserve_unknown_fields {
            pruned = pruning::prune(obj, self.schema.as_ref(), true);
            defaulting::prune_nulls(obj, self.schema.as_ref());
        }
        let coerced = match &self.schema {
            Some(s) if self.embedded_below => objectmeta::coerce(obj, Some(s), true, true),
            // Only the root is an embedded object: its metadata is all there is to coerce.
            _ => objectmeta::coerce(obj, Some(&Props::default()), true, true),
        };
        // kube reports the root's metadata first, then pruned fields, then embedded metadata.
        let (root_meta, embedded_meta): (Vec<String>, Vec<String>) =
            coerced.into_iter().partition(|p| p.starts_with("metadata."));
        root_meta.into_iter().chain(pruned).chain(embedded_meta).collect()
    }
}

/// What server-side apply needs to know about one node of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// `object`, `array`, `string`, `integer`, `number`, `boolean`, or empty (untyped:
    /// int-or-string or preserved unknown fields).
    pub type_: String,
    /// `x-kubernetes-list-type` (`atomic` when unset on an array, as kube defaults it).
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type` (`granular` when unset on an object).
    pub map_type: Option<String>,
    pub int_or_string: bool,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
}

/// One step of a [`Structural::node_at`] path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A field of an object (a property, or an entry under `additionalProperties`).
    Field(&'a str),
    /// An element of a list.
    Item,
}

impl Structural {
    /// The schema node at `path` (None where the schema says nothing: outside the schema,
    /// or under preserved unknown fields).
    pub fn node_at(&self, path: &[Step<'_>]) -> Option<NodeInfo> {
        let mut s = self.schema.as_ref()?;
        for step in path {
            s = match step {
                Step::Field(f) => s.properties.get(*f).or_else(|| s.additional_schema())?,
                Step::Item => s.items_schema()?,
            };
        }
        let default_list = (s.type_ == "array").then(|| "atomic".to_string());
        let default_map = (s.type_ == "object").then(|| "granular".to_string());
        Some(NodeInfo {
            type_: s.type_.clone(),
            list_type: s.x_list_type.clone().or(default_list),
            list_map_keys: s.x_list_map_keys.clone(),
            map_type: s.x_map_type.clone().or(default_map),
            int_or_string: s.x_int_or_string,
            preserve_unknown_fields: s.preserves_unknown_fields(),
            embedded_resource: s.x_embedded_resource,
        })
    }
}

#[cfg(test)]
mod tests;

//! `spec` of a CRD: group, scope, names, versions, schemas, subresources, printer columns,
//! selectable fields and conversion (kube's `validateCustomResourceDefinitionSpec`), with
//! the relaxations kube keeps on update for what an older CRD already had.

use super::root::{first_disallowed_at_root, ALLOWED_AT_STATUS_ROOT};
use super::schema::{validate_schema, Ctx, RuleCompiler};
use super::structural::{new_structural_error, validate_structural};
use super::types::{Column, Conversion, Crd, Names, Subresources, Version};
use super::{gorender, schema};
use crate::fieldpath::valid_field_path;
use crate::names::{dns1035_label, dns1123_subdomain};
use crate::path::{child, index};
use crate::props::Props;
use apimachinery::field::{
    duplicate, forbidden, invalid, invalid_rendered, not_supported, required, required_because, too_many,
    Errors,
};

/// At most this many selectable fields per version.
pub const MAX_SELECTABLE_FIELDS: usize = 8;

const PRINTER_COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const PRINTER_COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";

/// kube's `validationOptions`: on create everything is required; on update what the old
/// CRD already violated stays allowed.
pub struct Options {
    pub require_immutable_names: bool,
    pub require_valid_property_type: bool,
    pub require_atomic_set_type: bool,
    pub require_map_list_keys_map_set_validation: bool,
    pub require_pruned_defaults: bool,
    pub require_open_api_schema: bool,
    pub require_recognized_conversion_review_version: bool,
    pub allow_too_many_selectable_fields: Vec<String>,
}

fn spec_has(crd: &Crd, pred: &dyn Fn(&Props) -> bool) -> bool {
    let top = crd.spec.validation.iter().flatten().any(|s| s.has(pred));
    top || crd.spec.versions.iter().filter_map(|v| v.schema.as_ref()).flatten().any(|s| s.has(pred))
}

fn all_schemas(crd: &Crd) -> Vec<&Props> {
    let mut out: Vec<&Props> = crd.spec.validation.iter().flatten().collect();
    out.extend(crd.spec.versions.iter().filter_map(|v| v.schema.as_ref()).flatten());
    out
}

fn has_non_atomic_set(s: &Props) -> bool {
    s.has(&|s: &Props| match (s.x_list_type.as_deref(), s.items_schema()) {
        (Some("set"), Some(is)) => match is.type_.as_str() {
            "array" => is.x_list_type.as_deref().is_some_and(|t| t != "atomic"),
            "object" => is.x_map_type.as_deref() != Some("atomic"),
            _ => false,
        },
        _ => false,
    })
}

fn has_unpruned_defaults(s: &Props) -> bool {
    if new_structural_error(s).is_some() || !validate_structural("", s).is_empty() {
        return false;
    }
    s.has(&|p: &Props| p.default.is_some()) && crate::defaulting::prune_defaults(s) != *s
}

impl Options {
    pub fn new(crd: &Crd, old: Option<&Crd>) -> Options {
        let Some(old) = old else {
            return Options {
                require_immutable_names: false,
                require_valid_property_type: true,
                require_atomic_set_type: true,
                require_map_list_keys_map_set_validation: true,
                require_pruned_defaults: true,
                require_open_api_schema: true,
                require_recognized_conversion_review_version: true,
                allow_too_many_selectable_fields: Vec::new(),
            };
        };
        let mut allow_many = Vec::new();
        if old.spec.selectable_fields.len() > MAX_SELECTABLE_FIELDS
            && crd.spec.selectable_fields == old.spec.selectable_fields
        {
            allow_many.push(String::new());
        }
        for v in &crd.spec.versions {
            if let Some(ov) = old.spec.versions.iter().find(|o| o.name == v.name) {
                if ov.selectable_fields.len() > MAX_SELECTABLE_FIELDS
                    && ov.selectable_fields == v.selectable_fields
                {
                    allow_many.push(v.name.clone());
                }
            }
        }
        let all_have_schema = old.spec.validation.as_ref().is_some_and(Option::is_some)
            || old.spec.versions.iter().all(|v| v.schema.as_ref().is_some_and(Option::is_some));
        let old_review_versions_ok = old.spec.conversion.as_ref().is_none_or(|c| {
            c.conversion_review_versions.is_empty()
                || c.conversion_review_versions.iter().any(|v| v == "v1" || v == "v1beta1")
        });
        Options {
            require_immutable_names: old.established,
            require_valid_property_type: !spec_has(old, &|s: &Props| {
                !s.type_.is_empty()
                    && !["string", "number", "integer", "boolean", "array", "object"]
                        .contains(&s.type_.as_str())
            }),
            require_atomic_set_type: !all_schemas(old).into_iter().any(has_non_atomic_set),
            require_map_list_keys_map_set_validation: !spec_has(old, &|s: &Props| {
                !schema::map_list_keys_map_set(s, "").is_empty()
            }),
            require_pruned_defaults: !all_schemas(old).into_iter().any(has_unpruned_defaults),
            require_open_api_schema: all_have_schema,
            require_recognized_conversion_review_version: old_review_versions_ok,
            allow_too_many_selectable_fields: allow_many,
        }
    }
}

fn validate_enum(errs: &mut Errors, field: &str, value: &str, accepted: &[&str]) {
    if value.is_empty() {
        errs.push(required(field));
    } else if !accepted.contains(&value) {
        errs.push(not_supported(field, value, accepted));
    }
}

/// `ValidateCustomResourceDefinitionNames`.
pub fn validate_names(n: &Names, path: &str) -> Errors {
    let mut errs = Errors::new();
    let joined = |e: Vec<String>| e.join(",");
    if !n.plural.is_empty() && !dns1035_label(&n.plural).is_empty() {
        errs.push(invalid(&child(path, "plural"), &n.plural, &joined(dns1035_label(&n.plural))));
    }
    if !n.singular.is_empty() && !dns1035_label(&n.singular).is_empty() {
        errs.push(invalid(&child(path, "singular"), &n.singular, &joined(dns1035_label(&n.singular))));
    }
    for (field, value) in [("kind", &n.kind), ("listKind", &n.list_kind)] {
        let e = dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !e.is_empty() {
            errs.push(invalid(
                &child(path, field),
                value,
                &format!("may have mixed case, but should otherwise match: {}", joined(e)),
            ));
        }
    }
    for (i, s) in n.short_names.iter().enumerate() {
        let e = dns1035_label(s);
        if !e.is_empty() {
            errs.push(invalid(&index(&child(path, "shortNames"), i), s, &joined(e)));
        }
    }
    if !n.kind.is_empty() && n.kind == n.list_kind {
        errs.push(invalid(&child(path, "listKind"), &n.list_kind, "kind and listKind may not be the same"));
    }
    for (i, c) in n.categories.iter().enumerate() {
        let e = dns1035_label(c);
        if !e.is_empty() {
            errs.push(invalid(&index(&child(path, "categories"), i), c, &joined(e)));
        }
    }
    errs
}

pub fn validate_spec(crd: &Crd, opts: &Options) -> Errors {
    let spec = &crd.spec;
    let mut errs = Errors::new();
    if spec.group.is_empty() {
        errs.push(required("spec.group"));
    } else if !dns1123_subdomain(&spec.group).is_empty() {
        errs.push(invalid("spec.group", &spec.group, &dns1123_subdomain(&spec.group).join(",")));
    } else if spec.group.split('.').count() < 2 {
        errs.push(invalid("spec.group", &spec.group, "should be a domain with at least one dot"));
    }
    validate_enum(&mut errs, "spec.scope", &spec.scope, &["Cluster", "Namespaced"]);

    if opts.require_open_api_schema && !spec.validation.as_ref().is_some_and(Option::is_some) {
        for (i, v) in spec.versions.iter().enumerate() {
            if !v.schema.as_ref().is_some_and(Option::is_some) {
                errs.push(required(&format!("spec.versions[{i}].schema.openAPIV3Schema")));
            }
        }
    }
    let has_defaults = spec_has(crd, &|s: &Props| s.default.is_some());
    if has_defaults && spec.preserve_unknown_fields != Some(false) && spec.preserve_unknown_fields.is_some() {
        errs.push(invalid_rendered(
            "spec.preserveUnknownFields",
            "true",
            "must be false in order to use defaults in the schema",
        ));
    }

    let mut storage = 0;
    let mut names: Vec<&str> = Vec::new();
    let mut unique = true;
    for (i, v) in spec.versions.iter().enumerate() {
        let vp = format!("spec.versions[{i}]");
        if v.storage {
            storage += 1;
        }
        if names.contains(&v.name.as_str()) {
            unique = false;
        } else {
            names.push(&v.name);
        }
        let e = dns1035_label(&v.name);
        if !e.is_empty() {
            errs.push(invalid(&child(&vp, "name"), &v.name, &e.join(",")));
        }
        let status = crd.subresources_for(&v.name).is_some_and(|s| s.status);
        errs.extend(validate_version(v, &vp, status, opts));
    }
    let per_version_schema = spec.versions.iter().any(|v| v.schema.is_some());
    if spec.validation.is_some() && per_version_schema {
        errs.push(forbidden("spec.validation", "top-level and per-version schemas are mutually exclusive"));
    }
    if spec.subresources.is_some() && spec.versions.iter().any(|v| v.subresources.is_some()) {
        errs.push(forbidden(
            "spec.subresources",
            "top-level and per-version subresources are mutually exclusive",
        ));
    }
    if !spec.columns.is_empty() && spec.versions.iter().any(|v| !v.columns.is_empty()) {
        errs.push(forbidden(
            "spec.additionalPrinterColumns",
            "top-level and per-version additionalPrinterColumns are mutually exclusive",
        ));
    }
    let versions_value = || gorender::versions(&spec.versions);
    if !unique {
        errs.push(invalid_rendered("spec.versions", &versions_value(), "must contain unique version names"));
    }
    if storage != 1 {
        errs.push(invalid_rendered(
            "spec.versions",
            &versions_value(),
            "must have exactly one version marked as storage version",
        ));
    }
    if !spec.version.is_empty() {
        let e = dns1035_label(&spec.version);
        if !e.is_empty() {
            errs.push(invalid("spec.version", &spec.version, &e.join(",")));
        }
    }
    for (field, value) in [
        ("spec.names.plural", &spec.names.plural),
        ("spec.names.singular", &spec.names.singular),
        ("spec.names.kind", &spec.names.kind),
        ("spec.names.listKind", &spec.names.list_kind),
    ] {
        if value.is_empty() {
            errs.push(required(field));
        }
    }
    errs.extend(validate_names(&spec.names, "spec.names"));
    let any_status = spec.subresources.as_ref().is_some_and(|s| s.status)
        || spec.versions.iter().any(|v| v.subresources.as_ref().is_some_and(|s| s.status));
    if let Some(validation) = &spec.validation {
        errs.extend(validate_validation(validation.as_ref(), "spec.validation", any_status, opts));
    }
    errs.extend(validate_subresources(spec.subresources.as_ref(), "spec.subresources"));
    for (i, c) in spec.columns.iter().enumerate() {
        errs.extend(validate_column(c, &index("spec.additionalPrinterColumns", i)));
    }
    if !spec.selectable_fields.is_empty() {
        match &spec.validation {
            None => errs.push(invalid(
                "spec.selectableFields",
                "",
                "may only be set when validations.schema is included",
            )),
            Some(sch) => errs.extend(validate_selectable_fields(
                &spec.selectable_fields,
                sch.as_ref(),
                "spec.selectableFields",
                opts,
                "",
            )),
        }
    }
    if let Some(conv) = &spec.conversion {
        errs.extend(validate_conversion(conv, opts.require_recognized_conversion_review_version));
    }
    errs
}

fn validate_version(v: &Version, path: &str, status: bool, opts: &Options) -> Errors {
    let mut errs = Errors::new();
    for e in deprecation_warning_errors(v.deprecated, v.deprecation_warning.as_deref()) {
        errs.push(invalid(
            &child(path, "deprecationWarning"),
            v.deprecation_warning.as_deref().unwrap_or_default(),
            &e,
        ));
    }
    if let Some(sch) = &v.schema {
        errs.extend(validate_validation(sch.as_ref(), &child(path, "schema"), status, opts));
    }
    errs.extend(validate_subresources(v.subresources.as_ref(), &child(path, "subresources")));
    for (i, c) in v.columns.iter().enumerate() {
        errs.extend(validate_column(c, &index(&child(path, "additionalPrinterColumns"), i)));
    }
    if !v.selectable_fields.is_empty() {
        match v.schema.as_ref().and_then(Option::as_ref) {
            None => errs.push(invalid(
                &child(path, "selectableFields"),
                "",
                "may only be set when `version.schema.openAPIV3Schema` is not included",
            )),
            Some(s) => errs.extend(validate_selectable_fields(
                &v.selectable_fields,
                Some(s),
                &child(path, "selectableFields"),
                opts,
                &v.name,
            )),
        }
    }
    errs
}

fn deprecation_warning_errors(deprecated: bool, warning: Option<&str>) -> Vec<String> {
    if !deprecated && warning.is_some() {
        return vec!["can only be set for deprecated versions".into()];
    }
    let Some(w) = warning else { return Vec::new() };
    let mut out = Vec::new();
    if w.len() > 256 {
        out.push("must be <= 256 characters long".into());
    }
    if w.is_empty() {
        out.push("must not be an empty string".into());
    }
    for (i, c) in w.char_indices() {
        if c.is_control() {
            out.push(format!(
                "must only contain printable UTF-8 characters; control character found at index {i}"
            ));
            break;
        }
        if c != ' ' && c.is_whitespace() {
            out.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
            break;
        }
    }
    out
}

/// kube's `ValidateCustomResourceColumnDefinition`.
fn validate_column(c: &Column, path: &str) -> Errors {
    let mut errs = Errors::new();
    if c.name.is_empty() {
        errs.push(required(&child(path, "name")));
    }
    let types = ["boolean", "date", "integer", "number", "string"];
    if c.type_.is_empty() {
        errs.push(required_because(&child(path, "type"), &format!("must be one of {PRINTER_COLUMN_TYPES}")));
    } else if !types.contains(&c.type_.as_str()) {
        errs.push(invalid(&child(path, "type"), &c.type_, &format!("must be one of {PRINTER_COLUMN_TYPES}")));
    }
    if !c.format.is_empty() && !PRINTER_COLUMN_FORMATS.split(',').any(|f| f == c.format) {
        errs.push(invalid(
            &child(path, "format"),
            &c.format,
            &format!("must be one of {PRINTER_COLUMN_FORMATS}"),
        ));
    }
    if c.json_path.is_empty() {
        errs.push(required(&child(path, "JSONPath")));
    } else {
        errs.extend(simple_json_path(&c.json_path, &child(path, "JSONPath")));
    }
    errs
}

fn simple_json_path(s: &str, path: &str) -> Errors {
    let mut errs = Errors::new();
    if s.is_empty() {
        errs.push(invalid(path, s, "must not be empty"));
    } else if !s.starts_with('.') {
        errs.push(invalid(path, s, "must be a simple json path starting with ."));
    }
    errs
}

/// kube's `ValidateCustomResourceDefinitionSubresources`.
fn validate_subresources(sub: Option<&Subresources>, path: &str) -> Errors {
    let mut errs = Errors::new();
    let Some(scale) = sub.and_then(|s| s.scale.as_ref()) else { return errs };
    let check = |errs: &mut Errors, value: &str, field: &str, prefixes: &[&str], detail: &str| {
        let p = child(path, field);
        let e = simple_json_path(value, &p);
        if !e.is_empty() {
            errs.extend(e);
        } else if !prefixes.iter().any(|pre| value.starts_with(pre)) {
            errs.push(invalid(&p, value, detail));
        }
    };
    if scale.spec_replicas_path.is_empty() {
        errs.push(required(&child(path, "scale.specReplicasPath")));
    } else {
        check(
            &mut errs,
            &scale.spec_replicas_path,
            "scale.specReplicasPath",
            &[".spec."],
            "should be a json path under .spec",
        );
    }
    if scale.status_replicas_path.is_empty() {
        errs.push(required(&child(path, "scale.statusReplicasPath")));
    } else {
        check(
            &mut errs,
            &scale.status_replicas_path,
            "scale.statusReplicasPath",
            &[".status."],
            "should be a json path under .status",
        );
    }
    if let Some(sel) = scale.label_selector_path.as_deref().filter(|s| !s.is_empty()) {
        check(
            &mut errs,
            sel,
            "scale.labelSelectorPath",
            &[".spec.", ".status."],
            "should be a json path under either .spec or .status",
        );
    }
    errs
}

/// kube's `ValidateCustomResourceSelectableFields`.
fn validate_selectable_fields(
    fields: &[String],
    schema: Option<&Props>,
    path: &str,
    opts: &Options,
    version: &str,
) -> Errors {
    let mut errs = Errors::new();
    let mut unique: Vec<String> = Vec::new();
    let empty = Props::default();
    let schema = schema.unwrap_or(&empty);
    for (i, jp) in fields.iter().enumerate() {
        let fp = child(&index(path, i), "jsonPath");
        if jp.is_empty() {
            errs.push(required(&fp));
            continue;
        }
        let r = match valid_field_path(jp, schema, false) {
            Ok(r) => r,
            Err(e) => {
                errs.push(invalid(&fp, jp, &format!("is an invalid path: {e}")));
                continue;
            }
        };
        if r.root == "metadata" {
            errs.push(invalid(&fp, jp, "must not point to fields in metadata"));
        }
        if !matches!(r.schema.type_.as_str(), "string" | "boolean" | "integer") {
            errs.push(invalid(
                &fp,
                jp,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        if unique.contains(&r.path) {
            errs.push(duplicate(&fp, jp));
        } else {
            unique.push(r.path);
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS
        && !opts.allow_too_many_selectable_fields.iter().any(|v| v == version)
    {
        errs.push(too_many(path, unique.len() as i64, MAX_SELECTABLE_FIELDS as i64));
    }
    errs
}

/// kube's `validateCustomResourceConversion`, except that kubeward does not call
/// conversion webhooks: `Webhook` is refused.
fn validate_conversion(c: &Conversion, require_recognized: bool) -> Errors {
    let mut errs = Errors::new();
    let _ = require_recognized;
    match c.strategy.as_str() {
        "" => errs.push(required("spec.conversion.strategy")),
        "None" => {
            if c.webhook_client_config.is_some() {
                errs.push(forbidden(
                    "spec.conversion.webhookClientConfig",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
            if !c.conversion_review_versions.is_empty() {
                errs.push(forbidden(
                    "spec.conversion.conversionReviewVersions",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        "Webhook" => errs.push(forbidden(
            "spec.conversion.strategy",
            "Webhook conversion is not supported by this server; use None (all versions must share one schema shape)",
        )),
        other => errs.push(not_supported("spec.conversion.strategy", other, &["None", "Webhook"])),
    }
    errs
}

/// kube's `validateCustomResourceDefinitionValidation` of one schema at `path`
/// (`spec.validation` or `spec.versions[i].schema`).
fn validate_validation(schema: Option<&Props>, path: &str, status_enabled: bool, opts: &Options) -> Errors {
    let mut errs = Errors::new();
    let Some(s) = schema else { return errs };
    let root = child(path, "openAPIV3Schema");
    if status_enabled {
        match first_disallowed_at_root(s) {
            Some("Type") => errs.push(invalid(
                &child(path, "openAPIV3Schema.type"),
                &s.type_,
                r#"only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#,
            )),
            Some(_) => errs.push(invalid_rendered(
                &root,
                &gorender::schema(s),
                &format!("only {ALLOWED_AT_STATUS_ROOT} fields are allowed at the root of the schema if the status subresource is enabled"),
            )),
            None => {}
        }
    }
    if s.nullable {
        errs.push(forbidden(&child(path, "openAPIV3Schema.nullable"), "nullable cannot be true at the root"));
    }
    let mut structural_init_errs = Errors::new();
    let mut cel_ok = false;
    if let Some(e) = new_structural_error(s) {
        structural_init_errs.push(invalid(&root, "", &e));
    } else {
        let se = validate_structural(&root, s);
        if !se.is_empty() {
            errs.extend(se);
        } else {
            let de = crate::defaulting::validate_defaults(&root, s, opts.require_pruned_defaults);
            if !de.is_empty() {
                errs.extend(de);
            } else {
                cel_ok = true;
            }
        }
    }
    let ctx = Ctx {
        allow_defaults: true,
        require_valid_property_type: opts.require_valid_property_type,
        require_atomic_set_type: opts.require_atomic_set_type,
        require_map_list_keys_map_set_validation: opts.require_map_list_keys_map_set_validation,
        ..Ctx::default()
    };
    let mut compiler = crate::cel::CelCompiler::default();
    let mut cel: Option<&mut dyn RuleCompiler> = if cel_ok { Some(&mut compiler) } else { None };
    errs.extend(validate_schema(s, &root, &ctx, true, &mut cel).all());
    if errs.is_empty() {
        errs.extend(structural_init_errs);
    }
    if cel_ok {
        compiler.finish(&root, &mut errs);
    }
    errs
}

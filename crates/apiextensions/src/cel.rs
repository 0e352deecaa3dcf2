//! `x-kubernetes-validations` (CEL) on kubeward-cel: compiled at CRD validation (kube's
//! `cel.Compile` checks: compile errors naming the rule, per-rule and whole-schema
//! estimated cost, `oldSelf` only where old values correlate, `optionalOldSelf` only with
//! `oldSelf`), and evaluated on custom resources (kube's `cel.Validator`): every node with
//! rules runs them with `self` and the correlated `oldSelf`, within the object's runtime
//! cost budget, errors at the node (or its rule's `fieldPath`) as kube 1.34 reports them
//! (`spec: Invalid value: "object": failed rule: <rule>`, `message`, `messageExpression`,
//! `reason`).

use crate::crd::gorender;
use crate::crd::schema::{Ctx, RuleCompiler};
use crate::fieldpath::valid_field_path;
use crate::path::{child, index, Path};
use crate::props::{Props, ValidationRule};
use apimachinery::field::{
    cause, duplicate_rendered, forbidden, internal_error, invalid, invalid_rendered, required_because, Errors,
};
use apimachinery::quote::go_quote;
use apimachinery::status::CauseType;
use kcel::limits::RUNTIME_CEL_COST_BUDGET;
use kcel::rule::cost_exceeds_budget_message;
use kcel::{CompiledRule, RuleField, RuleOptions, RuleOutcome, RuleVars, SelfFields, Shape};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// kube's total estimated cost limit of all the rules of one schema.
pub const STATIC_ESTIMATED_CRD_COST_LIMIT: u64 = 100_000_000;

/// The most elements a list or map node may hold: `maxItems`/`maxProperties`, else what
/// fits in a request (kube's unbounded-cardinality estimate).
pub fn max_elements(s: &Props) -> u64 {
    match s.type_.as_str() {
        "array" => s.max_items.map(|m| m.max(0) as u64).unwrap_or_else(|| shape_of(s, false).max_len()),
        "object" => s.max_properties.map(|m| m.max(0) as u64).unwrap_or_else(|| shape_of(s, false).max_len()),
        _ => 1,
    }
}

/// The CEL shape of a schema node; at the resource root with `apiVersion`, `kind` and
/// `metadata.name`/`generateName` (kube's `WithTypeAndObjectMeta`).
fn shape_of(s: &Props, root: bool) -> Shape {
    let mut v = s.to_value();
    if root {
        if let Some(m) = v.as_object_mut() {
            let props = m.entry("properties").or_insert_with(|| json!({}));
            if let Some(p) = props.as_object_mut() {
                p.insert("apiVersion".into(), json!({"type": "string"}));
                p.insert("kind".into(), json!({"type": "string"}));
                p.insert(
                    "metadata".into(),
                    json!({"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}}),
                );
            }
        }
    }
    Shape::from_openapi_schema(&v)
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(s)
}

fn compile_rule(
    rule: &ValidationRule,
    shape: &Shape,
    cardinality: u64,
) -> Result<CompiledRule, kcel::RuleCompileError> {
    let mut options = RuleOptions::new(shape.clone());
    options.cardinality = cardinality.max(1);
    options.optional_old_self = rule.optional_old_self.unwrap_or(false);
    CompiledRule::compile(&rule.rule, non_empty(&rule.message), non_empty(&rule.message_expression), &options)
}

/// The CRD-time compiler: compile errors and costs of every rule of one schema.
#[derive(Default)]
pub struct CelCompiler {
    total: u64,
    costs: Vec<(String, u64)>,
}

impl CelCompiler {
    /// The whole-schema cost check, once every node was compiled.
    pub fn finish(&self, root: &str, errs: &mut Errors) {
        if self.total <= STATIC_ESTIMATED_CRD_COST_LIMIT {
            return;
        }
        let mut most: Vec<&(String, u64)> = self.costs.iter().collect();
        most.sort_by_key(|c| std::cmp::Reverse(c.1));
        let mut sum = 0u64;
        for (path, cost) in most {
            errs.push(forbidden(
                path,
                "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
            ));
            sum = sum.saturating_add(*cost);
            if sum > STATIC_ESTIMATED_CRD_COST_LIMIT {
                break;
            }
        }
        errs.push(forbidden(
            root,
            &cost_exceeds_budget_message(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                self.total,
                STATIC_ESTIMATED_CRD_COST_LIMIT,
            ),
        ));
    }
}

impl RuleCompiler for CelCompiler {
    fn compile(&mut self, s: &Props, path: &str, ctx: &Ctx, errs: &mut Errors) {
        let shape = shape_of(s, ctx.is_root);
        for (i, rule) in s.x_validations.iter().enumerate() {
            let rp = index(&child(path, "x-kubernetes-validations"), i);
            if rule.rule.trim().is_empty() {
                continue;
            }
            match compile_rule(rule, &shape, ctx.cardinality) {
                Ok(compiled) => {
                    let cost = compiled.estimated_cost();
                    self.total = self.total.saturating_add(cost);
                    self.costs.push((child(&rp, "rule"), cost));
                    if compiled.is_transition_rule() {
                        if let Some(u) = &ctx.uncorrelatable {
                            errs.push(invalid(
                                &child(&rp, "rule"),
                                &rule.rule,
                                &format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {u}"),
                            ));
                        }
                    }
                }
                Err(e) => {
                    let field = child(&rp, e.field.name());
                    match e.field {
                        RuleField::OptionalOldSelf => errs.push(invalid_rendered(
                            &field,
                            &rule.optional_old_self.unwrap_or(false).to_string(),
                            &e.message,
                        )),
                        _ if e.forbidden => errs.push(forbidden(&field, &e.message)),
                        _ => errs.push(invalid_rendered(&field, &gorender::rule(rule), &e.message)),
                    }
                }
            }
        }
    }
}

/// The compiled rules of a schema, in the schema's shape (only where rules are).
#[derive(Debug, Default)]
pub struct RuleTree {
    type_: String,
    rules: Vec<(ValidationRule, Result<CompiledRule, String>, String)>,
    /// The CEL shape the node's rules were compiled with (set where there are rules): its
    /// value is bound once for all of them ([`RuleVars`]).
    shape: Option<Shape>,
    /// What the node's rules read of `self`/`oldSelf`: only those fields are converted.
    fields: SelfFields,
    properties: BTreeMap<String, RuleTree>,
    items: Option<Box<RuleTree>>,
    additional: Option<Box<RuleTree>>,
    list_type: Option<String>,
    list_map_keys: Vec<String>,
    map_correlatable: bool,
}

impl RuleTree {
    /// Compiles every rule under `s` (the resource root); None when there is none.
    pub fn build(s: &Props) -> Option<RuleTree> {
        Self::node(s, true, 1, 0)
    }

    /// Compiles the rules under a node that is not necessarily a resource root.
    pub fn build_at(s: &Props, resource_root: bool) -> Option<RuleTree> {
        Self::node(s, resource_root, 1, 0)
    }

    fn node(s: &Props, root: bool, cardinality: u64, depth: usize) -> Option<RuleTree> {
        if depth > crate::props::MAX_SCHEMA_DEPTH {
            return None;
        }
        let mut t = RuleTree {
            type_: s.type_.clone(),
            list_type: s.x_list_type.clone(),
            list_map_keys: s.x_list_map_keys.clone(),
            map_correlatable: s.x_map_type.as_deref().is_none_or(|m| m == "granular"),
            ..RuleTree::default()
        };
        if !s.x_validations.is_empty() {
            let shape = shape_of(s, root);
            for r in &s.x_validations {
                let compiled = compile_rule(r, &shape, cardinality).map_err(|e| e.message);
                let normalized = if r.field_path.is_empty() {
                    String::new()
                } else {
                    valid_field_path(&r.field_path, s, true).map(|p| p.path).unwrap_or_default()
                };
                t.rules.push((r.clone(), compiled, normalized));
            }
            t.fields = SelfFields::of(t.rules.iter().filter_map(|(_, c, _)| c.as_ref().ok()));
            t.shape = Some(shape);
        }
        for (k, p) in &s.properties {
            if let Some(c) = Self::node(p, false, cardinality, depth + 1) {
                t.properties.insert(k.clone(), c);
            }
        }
        let elems = max_elements(s).max(1);
        if let Some(i) = s.items_schema() {
            t.items = Self::node(i, false, cardinality.saturating_mul(elems), depth + 1).map(Box::new);
        }
        if let Some(a) = s.additional_schema() {
            t.additional = Self::node(a, false, cardinality.saturating_mul(elems), depth + 1).map(Box::new);
        }
        let empty =
            t.rules.is_empty() && t.properties.is_empty() && t.items.is_none() && t.additional.is_none();
        (!empty).then_some(t)
    }

    /// Field errors of the rules on `obj` (and `old` on update), kube's whole-object
    /// budget shared by all rules.
    pub fn evaluate(&self, obj: &Value, old: Option<&Value>) -> Errors {
        self.evaluate_at("", obj, old)
    }

    /// [`RuleTree::evaluate`] with field paths under `path`.
    pub fn evaluate_at(&self, path: &str, obj: &Value, old: Option<&Value>) -> Errors {
        let mut errs = Errors::new();
        let mut budget = RUNTIME_CEL_COST_BUDGET;
        let _ = self.walk(&Path::At(path), obj, old, &mut budget, &mut errs, 0);
        errs
    }

    /// Returns false when validation must stop (budget exhausted).
    fn walk(
        &self,
        path: &Path<'_>,
        obj: &Value,
        old: Option<&Value>,
        budget: &mut u64,
        errs: &mut Errors,
        depth: usize,
    ) -> bool {
        if obj.is_null() || depth > crate::MAX_VALUE_DEPTH {
            return true;
        }
        let old = old.filter(|o| !o.is_null());
        if !self.expressions(path, obj, old, budget, errs) {
            return false;
        }
        match obj {
            Value::Object(m) => {
                for (k, v) in m {
                    let old_v = if self.map_correlatable { old.and_then(|o| o.get(k)) } else { None };
                    if let Some(c) = self.properties.get(k) {
                        if !c.walk(&path.child(k), v, old_v, budget, errs, depth + 1) {
                            return false;
                        }
                    } else if let Some(c) = &self.additional {
                        if !c.walk(&path.key(k), v, old_v, budget, errs, depth + 1) {
                            return false;
                        }
                    }
                }
            }
            Value::Array(items) => {
                let Some(c) = &self.items else { return true };
                let old_items = old.and_then(Value::as_array);
                for (i, v) in items.iter().enumerate() {
                    let old_v = match (self.list_type.as_deref(), old_items) {
                        (Some("map"), Some(olds)) => {
                            olds.iter().find(|o| self.list_map_keys.iter().all(|k| o.get(k) == v.get(k)))
                        }
                        _ => None,
                    };
                    if !c.walk(&path.index(i), v, old_v, budget, errs, depth + 1) {
                        return false;
                    }
                }
            }
            _ => {}
        }
        true
    }

    fn expressions(
        &self,
        path: &Path<'_>,
        obj: &Value,
        old: Option<&Value>,
        budget: &mut u64,
        errs: &mut Errors,
    ) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        // The node's path (`<nil>` at the root) and quoted type, rendered only for an error.
        let place = || {
            let path = path.to_string();
            let at = if path.is_empty() { "<nil>".to_string() } else { path.clone() };
            (path, at, go_quote(&self.type_))
        };
        if *budget == 0 {
            let (_, at, type_value) = place();
            errs.push(invalid_rendered(&at, &type_value, "validation failed due to running out of cost budget, no further validation rules will be run"));
            return false;
        }
        let unchanged = old == Some(obj);
        // `self` (and `oldSelf` where a rule reads it) converted once for the node's rules; if
        // that fails, each rule reports it as it would alone.
        let compiled_ok = || self.rules.iter().filter_map(|(r, c, _)| c.as_ref().ok().map(|c| (r, c)));
        let transition = compiled_ok().any(|(_, c)| c.is_transition_rule());
        let optional = compiled_ok().any(|(r, _)| r.optional_old_self == Some(true));
        let vars = self.shape.as_ref().and_then(|shape| {
            RuleVars::with_fields(obj, old.filter(|_| transition), shape, optional, &self.fields).ok()
        });
        for (rule, compiled, normalized) in &self.rules {
            let compiled = match compiled {
                Ok(c) => c,
                Err(e) => {
                    let (_, at, type_value) = place();
                    errs.push(invalid_rendered(&at, &type_value, &format!("rule compile error: {e}")));
                    continue;
                }
            };
            let outcome = match &vars {
                Some(vars) => compiled.evaluate_in(vars, budget),
                None => compiled.evaluate_with_budget(obj, old, budget),
            };
            match outcome {
                Ok(RuleOutcome::Pass) | Ok(RuleOutcome::Skipped) => {}
                Ok(RuleOutcome::Fail { message }) => {
                    // Ratcheting: a non-transition rule failing on an unchanged value is dropped.
                    if unchanged && !compiled.is_transition_rule() {
                        continue;
                    }
                    let (path, at, type_value) = place();
                    let field = if normalized.is_empty() { at } else { child(&path, normalized) };
                    errs.push(match rule.reason.as_deref() {
                        Some("FieldValueForbidden") => forbidden(&field, &message),
                        Some("FieldValueRequired") => required_because(&field, &message),
                        Some("FieldValueDuplicate") => duplicate_rendered(&field, &type_value),
                        _ => cause(
                            CauseType::FieldValueInvalid,
                            &field,
                            format!("Invalid value: {type_value}: {message}"),
                        ),
                    });
                }
                Err(e) => {
                    let (_, at, type_value) = place();
                    if e.message.starts_with("runtime cost could not be calculated") {
                        errs.push(internal_error(&at, &e.message));
                    } else {
                        errs.push(invalid_rendered(&at, &type_value, &e.message));
                    }
                    if e.stop {
                        return false;
                    }
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::error_string;

    fn tree(v: Value) -> RuleTree {
        let mut e = Vec::new();
        let p = Props::parse(&v, "", &mut e);
        RuleTree::build(&p).unwrap_or_default()
    }

    fn run(t: &RuleTree, obj: Value, old: Option<Value>) -> Vec<String> {
        t.evaluate(&obj, old.as_ref()).iter().map(error_string).collect()
    }

    #[test]
    fn rules_fail_with_kube_texts() {
        let t = tree(json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-validations": [
                {"rule": "self.min <= self.max"},
                {"rule": "self.min >= 0", "message": "min must not be negative", "reason": "FieldValueForbidden", "fieldPath": ".min"},
                {"rule": "self.max < 100", "messageExpression": "'max is ' + string(self.max)"}
            ], "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
            "field": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}
        }}));
        assert_eq!(
            run(&t, json!({"spec": {"min": -5, "max": -10}}), None),
            vec![
                r#"spec: Invalid value: "object": failed rule: self.min <= self.max"#,
                "spec.min: Forbidden: min must not be negative",
            ]
        );
        assert_eq!(
            run(&t, json!({"spec": {"min": 1, "max": 200}}), None),
            vec![r#"spec: Invalid value: "object": max is 200"#]
        );
        assert!(run(&t, json!({"field": "y"}), None).is_empty());
        assert_eq!(
            run(&t, json!({"field": "y"}), Some(json!({"field": "x"}))),
            vec![r#"field: Invalid value: "string": failed rule: self == oldSelf"#]
        );
    }

    #[test]
    fn the_rules_of_one_node_share_its_values_in_every_form() {
        // One node, values bound once: rules reading self only, oldSelf, and an optional oldSelf.
        let t = tree(json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.n < 10", "message": "n below 10"},
                {"rule": "self.n >= oldSelf.n", "message": "n never decreases"},
                {"rule": "!oldSelf.hasValue() || self.tag == oldSelf.value().tag", "optionalOldSelf": true,
                 "message": "tag is immutable"},
                {"rule": "self.tag.startsWith('t')", "message": "tag starts with t"}
            ],
            "properties": {"n": {"type": "integer"}, "tag": {"type": "string"}}}}}));
        let spec = |n: i64, tag: &str| json!({"spec": {"n": n, "tag": tag}});
        assert!(run(&t, spec(1, "ta"), None).is_empty());
        assert_eq!(
            run(&t, spec(11, "x"), None),
            vec![
                r#"spec: Invalid value: "object": n below 10"#,
                r#"spec: Invalid value: "object": tag starts with t"#
            ]
        );
        assert!(run(&t, spec(2, "ta"), Some(spec(1, "ta"))).is_empty());
        assert_eq!(
            run(&t, spec(0, "tb"), Some(spec(1, "ta"))),
            vec![
                r#"spec: Invalid value: "object": n never decreases"#,
                r#"spec: Invalid value: "object": tag is immutable"#
            ]
        );
    }

    #[test]
    fn transition_rules_follow_map_list_keys() {
        let t = tree(
            json!({"type": "object", "properties": {"field": {"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["k1", "k2"], "items": {"type": "object", "properties": {
                "k1": {"type": "string"}, "k2": {"type": "string"},
                "v1": {"type": "number", "x-kubernetes-validations": [{"rule": "self >= oldSelf"}]}}}}}}),
        );
        let old = json!({"field": [{"k1": "a", "k2": "b", "v1": 1.0}]});
        assert!(run(&t, json!({"field": [{"k1": "a", "k2": "b", "v1": 1.2}]}), Some(old.clone())).is_empty());
        assert_eq!(
            run(&t, json!({"field": [{"k1": "a", "k2": "b", "v1": 0.9}]}), Some(old)),
            vec![r#"field[0].v1: Invalid value: "number": failed rule: self >= oldSelf"#]
        );
    }

    #[test]
    fn compile_errors_at_crd_validation() {
        let mut e = Vec::new();
        let p = Props::parse(
            &json!({"type": "object", "x-kubernetes-validations": [{"rule": "nope == 1"}, {"rule": "1 + 1"}],
                    "properties": {"list": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10, "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}),
            "",
            &mut e,
        );
        let ctx = Ctx { allow_defaults: true, is_root: true, ..Ctx::default() };
        let mut compiler = CelCompiler::default();
        let mut c: Option<&mut dyn RuleCompiler> = Some(&mut compiler);
        let errs = crate::crd::schema::validate_schema(&p, "s", &ctx, true, &mut c).all();
        let got: Vec<String> = errs.iter().map(error_string).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[0],
            r#"s.properties[list].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within s.properties[list]"#
        );
        assert!(
            got[1].starts_with(r#"s.x-kubernetes-validations[0].rule: Invalid value: {"Rule":"nope == 1","#),
            "{got:?}"
        );
        assert!(got[1].contains("undeclared reference to 'nope'"), "{got:?}");
        assert!(got[1].contains("compilation failed"), "{got:?}");
        assert!(got[2].ends_with("cel expression must evaluate to a bool"), "{got:?}");
    }
}

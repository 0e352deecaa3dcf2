//! Validation of a value against an OpenAPI schema as kube-openapi's
//! `validate.SchemaValidator` does it for custom resources, with its messages
//! (`spec.replicas in body must be of type integer: "string"`), its quirks (first-failure
//! choice in `anyOf`/`oneOf`, errors deduplicated by text) and kube's translation into
//! field errors (`kubeOpenAPIResultToFieldErrors`), plus update ratcheting: an error in a
//! part of the object equal to the old object's correlated part is dropped
//! (`CRDValidationRatcheting`).

mod errors;
pub mod formats;
mod number;

use errors::{enum_check, to_field_errors};

use crate::path::{Path, ROOT};
use crate::props::Props;
use crate::regex_go;
use apimachinery::field::Errors;
use apimachinery::gofmt::go_float;
use apimachinery::quote::go_quote;
use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// kube-openapi's error codes that kube maps to particular field errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    InvalidType,
    Required,
    TooLong,
    Enum,
    MaxItems,
    TooManyProperties,
    /// Any other `*errors.Validation` (pattern, minimum, minItems, ...): `field.Invalid`.
    Other,
    /// Not an `*errors.Validation` (allOf/anyOf/oneOf/not, range checks): `field.Invalid`
    /// at the validator's root path with an empty value.
    Plain,
}

/// One kube-openapi error.
#[derive(Debug, Clone)]
pub(crate) struct OErr {
    code: Code,
    name: String,
    value: Option<Value>,
    valid: i64,
    values: Vec<Value>,
    message: String,
}

/// A kube-openapi `Result`: errors (deduplicated by text) and the match count `anyOf`
/// and `oneOf` use to pick the closest alternative.
#[derive(Debug, Default)]
pub(crate) struct Res {
    errors: Vec<OErr>,
    match_count: usize,
}

impl Res {
    fn err(e: OErr) -> Res {
        Res { errors: vec![e], match_count: 0 }
    }
    fn add(&mut self, e: OErr) {
        if !self.errors.iter().any(|x| x.message == e.message) {
            self.errors.push(e);
        }
    }
    fn merge(&mut self, other: Res) {
        if other.errors.is_empty() {
            self.match_count += other.match_count;
            return;
        }
        for e in other.errors {
            self.add(e);
        }
        self.match_count += other.match_count;
    }
    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Compiled `pattern`s of a schema, by source text.
#[derive(Debug, Default, Clone)]
pub struct Patterns(HashMap<String, Result<Regex, String>>);

impl Patterns {
    /// Compiles every pattern in `s`.
    pub fn of(s: &Props) -> Patterns {
        let mut p = Patterns::default();
        p.collect(s);
        p
    }

    fn collect(&mut self, s: &Props) {
        if !s.pattern.is_empty() && !self.0.contains_key(&s.pattern) {
            self.0.insert(s.pattern.clone(), regex_go::compile(&s.pattern));
        }
        if let Some(i) = s.items_schema() {
            self.collect(i);
        }
        for sub in s.all_of.iter().chain(&s.any_of).chain(&s.one_of).chain(s.properties.values()) {
            self.collect(sub);
        }
        if let Some(n) = &s.not {
            self.collect(n);
        }
        if let Some(a) = s.additional_schema() {
            self.collect(a);
        }
    }

    /// The compiled pattern, borrowed: a `Regex` clone would start with an empty match cache
    /// (its lazy DFA rebuilt on every match, most of the cost of validating a string field).
    fn get(&self, pattern: &str) -> Result<Cow<'_, Regex>, String> {
        match self.0.get(pattern) {
            Some(Ok(r)) => Ok(Cow::Borrowed(r)),
            Some(Err(e)) => Err(e.clone()),
            None => regex_go::compile(pattern).map(Cow::Owned),
        }
    }
}

const IN: &str = "body";

fn invalid_type(name: &Path<'_>, type_name: &str, value: &str) -> OErr {
    let name = name.to_string();
    let message = format!("{name} in {IN} must be of type {type_name}: {}", go_quote(value));
    OErr {
        code: Code::InvalidType,
        name,
        value: Some(Value::String(value.into())),
        valid: 0,
        values: vec![],
        message,
    }
}

fn other(name: &Path<'_>, value: Option<Value>, message: String) -> OErr {
    OErr { code: Code::Other, name: name.to_string(), value, valid: 0, values: vec![], message }
}

fn plain(message: String) -> OErr {
    OErr { code: Code::Plain, name: String::new(), value: None, valid: 0, values: vec![], message }
}

/// The JSON type and strfmt format kube-openapi infers for a decoded value.
fn schema_info(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) if n.is_i64() => ("integer", "int64"),
        Value::Number(_) => ("number", "float64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Null => ("", ""),
    }
}

/// `swag.IsFloat64AJSONInteger`.
pub(crate) fn is_json_integer(f: f64) -> bool {
    let bound = (1u64 << 53) as f64;
    if !f.is_finite() || !(-bound..=bound).contains(&f) {
        return false;
    }
    if f.fract() == 0.0 {
        return true;
    }
    let g = f.trunc();
    let diff = (f - g).abs();
    diff / (f.abs() + g.abs()) < 1e-9
}

/// The schema node as kube-openapi sees it: its types (int-or-string is `integer,string`)
/// and the format kube keeps.
fn types_of(s: &Props) -> Types<'_> {
    if s.x_int_or_string {
        Types(["integer", "string"], 2)
    } else if s.type_.is_empty() {
        Types(["", ""], 0)
    } else {
        Types([s.type_.as_str(), ""], 1)
    }
}

/// A node's types, held without allocating (at most two).
struct Types<'a>([&'a str; 2], usize);

impl<'a> std::ops::Deref for Types<'a> {
    type Target = [&'a str];
    fn deref(&self) -> &[&'a str] {
        self.0.get(..self.1).unwrap_or_default()
    }
}

/// The validator: a schema, its compiled patterns, and the old object for ratcheting.
pub struct Validator<'p> {
    pub patterns: &'p Patterns,
}

/// The correlated old value of the node being validated, when ratcheting.
#[derive(Clone, Copy)]
pub(crate) struct Old<'a> {
    value: Option<&'a Value>,
}

impl<'a> Old<'a> {
    fn none() -> Old<'a> {
        Old { value: None }
    }
    fn key(&self, k: &str) -> Old<'a> {
        Old { value: self.value.and_then(|v| v.as_object()).and_then(|m| m.get(k)) }
    }
    /// The old element correlated to `new_item` of a list: by key for `map` lists; none for
    /// `set` and atomic lists (kube's `correlateOldValueForChildAtNewIndex`: a set's items
    /// are not correlated, so a changed set is validated whole, its old items included).
    fn index(&self, s: &Props, new_item: &Value) -> Old<'a> {
        let Some(old_list) = self.value.and_then(Value::as_array) else { return Old::none() };
        let found = match s.x_list_type.as_deref() {
            Some("map") => {
                let keys = &s.x_list_map_keys;
                old_list.iter().find(|o| keys.iter().all(|k| o.get(k) == new_item.get(k)))
            }
            _ => None,
        };
        Old { value: found }
    }
}

impl Validator<'_> {
    /// kube-openapi's `SchemaValidator.Validate` at `path`, ratcheting against `old`.
    pub(crate) fn validate(
        &self,
        s: &Props,
        data: &Value,
        path: &Path<'_>,
        old: Old<'_>,
        depth: usize,
    ) -> Res {
        let mut res = self.validate_inner(s, data, path, old, depth);
        if !res.is_valid() && old.value == Some(data) {
            res.errors.clear();
        }
        res
    }

    fn validate_inner(&self, s: &Props, data: &Value, path: &Path<'_>, old: Old<'_>, depth: usize) -> Res {
        let mut result = Res::default();
        let types = types_of(s);
        let format = formats::effective_format(&types, &s.format);
        let type_applies = !types.is_empty() || !format.is_empty();
        if data.is_null() {
            if type_applies {
                result.merge(self.type_check(&types, s.nullable, format, path, data));
            }
            result.merge(enum_check(s, path, data));
            return result;
        }
        if depth > crate::MAX_VALUE_DEPTH {
            result.add(plain(format!("{path} nests deeper than {} levels", crate::MAX_VALUE_DEPTH)));
            return result;
        }
        let run = |result: &mut Res, r: Res| {
            result.merge(r);
            result.match_count += 1;
        };
        if type_applies {
            run(&mut result, self.type_check(&types, s.nullable, format, path, data));
        }
        run(&mut result, self.schema_props(s, data, path, old, depth));
        if let Value::String(st) = data {
            run(&mut result, self.string_check(s, st, path));
            if formats::known(format) {
                let mut r = Res::default();
                if !formats::validates(format, st) {
                    r.add(invalid_type(path, format, st));
                }
                run(&mut result, r);
            }
        }
        if let Value::Number(_) = data {
            run(&mut result, number::check(s, &types, format, data, path));
        }
        if let Value::Array(items) = data {
            run(&mut result, self.slice_check(s, items, path, old, depth));
        }
        run(&mut result, enum_check(s, path, data));
        if let Value::Object(m) = data {
            run(&mut result, self.object_check(s, m, path, old, depth));
        }
        result.match_count += 1;
        result
    }

    fn type_check(&self, types: &[&str], nullable: bool, format: &str, path: &Path<'_>, data: &Value) -> Res {
        let mut result = Res { errors: vec![], match_count: 1 };
        if data.is_null() {
            if !types.is_empty() && !types.contains(&"null") && !nullable {
                return Res::err(invalid_type(path, &types.join(","), "null"));
            }
            return result;
        }
        let (sch_type, fmt) = schema_info(data);
        let contains = |t: &str| types.contains(&t);
        let is_float_int =
            sch_type == "number" && data.as_f64().is_some_and(is_json_integer) && contains("integer");
        let is_int_float = sch_type == "integer" && contains("number");
        let scalar_or_map = !matches!(data, Value::String(_) | Value::Array(_));
        if scalar_or_map
            && !format.is_empty()
            && !(contains(sch_type) || fmt == format || is_float_int || is_int_float)
        {
            return Res::err(invalid_type(path, format, fmt));
        }
        let numeric = contains("number") || contains("integer");
        if !numeric && !format.is_empty() && !scalar_or_map {
            return result;
        }
        if !(contains(sch_type) || is_float_int || is_int_float) {
            result = Res::err(invalid_type(path, &types.join(","), sch_type));
        }
        result
    }

    fn string_check(&self, s: &Props, data: &str, path: &Path<'_>) -> Res {
        let len = data.chars().count() as i64;
        if let Some(max) = s.max_length.filter(|m| len > *m) {
            return Res::err(OErr {
                code: Code::TooLong,
                name: path.to_string(),
                value: Some(Value::String(data.into())),
                valid: max,
                values: vec![],
                message: format!("{path} in {IN} should be at most {max} chars long"),
            });
        }
        if let Some(min) = s.min_length.filter(|m| len < *m) {
            return Res::err(other(
                path,
                Some(Value::String(data.into())),
                format!("{path} in {IN} should be at least {min} chars long"),
            ));
        }
        if !s.pattern.is_empty() {
            match self.patterns.get(&s.pattern) {
                Err(e) => {
                    return Res::err(other(
                        path,
                        Some(Value::String(data.into())),
                        format!("{path} in {IN} should match '{}, but pattern is invalid: {e}'", s.pattern),
                    ))
                }
                Ok(re) if !re.is_match(data) => {
                    return Res::err(other(
                        path,
                        Some(Value::String(data.into())),
                        format!("{path} in {IN} should match '{}'", s.pattern),
                    ))
                }
                Ok(_) => {}
            }
        }
        Res::default()
    }

    fn slice_check(&self, s: &Props, items: &[Value], path: &Path<'_>, old: Old<'_>, depth: usize) -> Res {
        let mut result = Res::default();
        if let Some(item_schema) = s.items_schema() {
            for (i, item) in items.iter().enumerate() {
                let o = old.index(s, item);
                result.merge(self.validate(item_schema, item, &path.index(i), o, depth + 1));
            }
        }
        let size = items.len() as i64;
        if let Some(min) = s.min_items.filter(|m| size < *m) {
            result.add(other(
                path,
                Some(Value::from(size)),
                format!("{path} in {IN} should have at least {min} items"),
            ));
        }
        if let Some(max) = s.max_items.filter(|m| size > *m) {
            result.add(OErr {
                code: Code::MaxItems,
                name: path.to_string(),
                value: Some(Value::from(size)),
                valid: max,
                values: vec![],
                message: format!("{path} in {IN} should have at most {max} items"),
            });
        }
        if s.unique_items {
            let dup = items.iter().enumerate().any(|(i, a)| items[..i].contains(a));
            if dup {
                result.add(other(path, None, format!("{path} in {IN} shouldn't contain duplicates")));
            }
        }
        result.match_count += 1;
        result
    }

    fn object_check(
        &self,
        s: &Props,
        m: &Map<String, Value>,
        path: &Path<'_>,
        old: Old<'_>,
        depth: usize,
    ) -> Res {
        let mut res = Res::default();
        let n = m.len() as i64;
        if let Some(min) = s.min_properties.filter(|min| n < *min) {
            res.add(other(
                path,
                Some(Value::from(n)),
                format!("{path} in {IN} should have at least {min} properties"),
            ));
        }
        if let Some(max) = s.max_properties.filter(|max| n > *max) {
            res.add(OErr {
                code: Code::TooManyProperties,
                name: path.to_string(),
                value: Some(Value::from(n)),
                valid: max,
                values: vec![],
                message: format!("{path} in {IN} should have at most {max} properties"),
            });
        }
        match &s.additional_properties {
            Some(ap) if !ap.allows => {
                for k in m.keys() {
                    if !s.properties.contains_key(k) {
                        res.add(other(
                            path,
                            Some(Value::String(k.clone())),
                            format!("{path}.{k} in {IN} is a forbidden property"),
                        ));
                    }
                }
            }
            _ => {
                if let Some(ap) = s.additional_schema() {
                    for (k, v) in m {
                        if !s.properties.contains_key(k) {
                            res.merge(self.validate(ap, v, &path.dot(k), old.key(k), depth + 1));
                        }
                    }
                }
            }
        }
        for (name, prop) in &s.properties {
            if let Some(v) = m.get(name) {
                let o = if path.is_empty() && (name == "kind" || name == "apiVersion") {
                    Old::none()
                } else {
                    old.key(name)
                };
                res.merge(self.validate(prop, v, &path.child(name), o, depth + 1));
            }
        }
        for k in &s.required {
            if !m.contains_key(k) {
                let name = format!("{path}.{k}");
                res.add(OErr {
                    code: Code::Required,
                    message: format!("{name} in {IN} is required"),
                    name,
                    value: None,
                    valid: 0,
                    values: vec![],
                });
            }
        }
        res
    }

    fn schema_props(&self, s: &Props, data: &Value, path: &Path<'_>, old: Old<'_>, depth: usize) -> Res {
        let mut main = Res::default();
        if !s.any_of.is_empty() {
            let mut best: Option<Res> = None;
            let mut first_success: Option<Res> = None;
            let mut succeeded = false;
            for sub in &s.any_of {
                let r = self.validate(sub, data, path, old, depth + 1);
                if r.is_valid() {
                    best = None;
                    succeeded = true;
                    if first_success.is_none() {
                        first_success = Some(r);
                    }
                    break;
                }
                if best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                    best = Some(r);
                }
            }
            if !succeeded {
                main.add(plain(format!(
                    "{} must validate at least one schema (anyOf)",
                    go_quote(&path.to_string())
                )));
            }
            if let Some(b) = best {
                main.merge(b);
            } else if let Some(f) = first_success {
                main.merge(f);
            }
        }
        if !s.one_of.is_empty() {
            let mut best: Option<Res> = None;
            let mut first_success: Option<Res> = None;
            let mut validated = 0;
            for sub in &s.one_of {
                let r = self.validate(sub, data, path, old, depth + 1);
                if r.is_valid() {
                    validated += 1;
                    best = None;
                    if first_success.is_none() {
                        first_success = Some(r);
                    }
                    continue;
                }
                if validated == 0 && best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                    best = Some(r);
                }
            }
            if validated != 1 {
                let extra = if validated == 0 {
                    "Found none valid".to_string()
                } else {
                    format!("Found {validated} valid alternatives")
                };
                main.add(plain(format!(
                    "{} must validate one and only one schema (oneOf). {extra}",
                    go_quote(&path.to_string())
                )));
                if let Some(b) = best {
                    main.merge(b);
                }
            } else if let Some(f) = first_success {
                main.merge(f);
            }
        }
        if !s.all_of.is_empty() {
            let mut validated = 0;
            for sub in &s.all_of {
                let r = self.validate(sub, data, path, old, depth + 1);
                if r.is_valid() {
                    validated += 1;
                }
                main.merge(r);
            }
            if validated != s.all_of.len() {
                let extra = if validated == 0 { ". None validated" } else { "" };
                main.add(plain(format!(
                    "{} must validate all the schemas (allOf){extra}",
                    go_quote(&path.to_string())
                )));
            }
        }
        if let Some(not) = &s.not {
            if self.validate(not, data, path, old, depth + 1).is_valid() {
                main.add(plain(format!(
                    "{} must not validate the schema (not)",
                    go_quote(&path.to_string())
                )));
            }
        }
        main.match_count += 1;
        main
    }
}

/// Validates `data` against `s` and returns kube's field errors under `prefix`; with
/// `old`, errors in parts equal to the old object's correlated parts are dropped.
pub fn validate_value(
    s: &Props,
    patterns: &Patterns,
    data: &Value,
    old: Option<&Value>,
    prefix: &str,
) -> Errors {
    let v = Validator { patterns };
    let res = v.validate(s, data, &ROOT, Old { value: old }, 0);
    to_field_errors(prefix, res)
}

/// `%v` of a float64 bound, or of an int64 when the value is one.
pub(crate) fn bound(f: f64, as_int: bool) -> String {
    if as_int {
        (f as i64).to_string()
    } else {
        go_float(f)
    }
}

#[cfg(test)]
mod tests;

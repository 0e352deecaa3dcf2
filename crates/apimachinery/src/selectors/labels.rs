//! Label selectors (k8s.io/apimachinery `pkg/labels`): the string syntax of the
//! `labelSelector` query parameter, `metav1.LabelSelector` objects, and matching.
//!
//! The parser follows kube's lexer and recursive-descent parser token for token so that
//! the same inputs are accepted and rejected with the same messages.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::{Map, Value};

use super::validation::{label_value_errors, qualified_name_errors};
use super::SelectorError;
use crate::quote::{aggregate, go_quote};

/// A selector operator (`selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `a=b`
    Equals,
    /// `a==b`
    DoubleEquals,
    /// `a!=b`
    NotEquals,
    /// `a in (x,y)`
    In,
    /// `a notin (x,y)`
    NotIn,
    /// `a`
    Exists,
    /// `!a`
    DoesNotExist,
    /// `a>1`
    GreaterThan,
    /// `a<1`
    LessThan,
}

/// One condition on one label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

/// Anything labels can be read from.
pub trait Labels {
    /// The value of label `key`, if set.
    fn get_label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: std::hash::BuildHasher> Labels for HashMap<String, String, S> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// `metadata.labels` as JSON; a non-string value counts as absent.
impl Labels for Map<String, Value> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// A field error in kube's `<path>: Invalid value: <value>: <detail>` form.
pub(super) fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value}: {detail}")
}

fn json_list(values: &[String]) -> String {
    Value::from(values.to_vec()).to_string()
}

impl Requirement {
    /// `labels.NewRequirement`: validates the key, the operator's arity and the values;
    /// messages name the fields `key` and `values[i][key]` as kube does.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let mut errs = Vec::new();
        let key_errs = qualified_name_errors(key);
        if !key_errs.is_empty() {
            errs.push(invalid("key", &go_quote(key), &key_errs.join("; ")));
        }
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => errs.push(invalid(
                "values",
                &json_list(&values),
                "for 'in', 'notin' operators, values set can't be empty",
            )),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => errs
                .push(invalid(
                    "values",
                    &json_list(&values),
                    "exact-match compatibility requires one single value",
                )),
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errs.push(invalid(
                "values",
                &json_list(&values),
                "values set must be empty for exists and does not exist",
            )),
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &json_list(&values),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("values[{i}]"),
                            &go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let v_errs = label_value_errors(v);
            if !v_errs.is_empty() {
                errs.push(invalid(&format!("values[{i}][{key}]"), &go_quote(v), &v_errs.join("; ")));
            }
        }
        if !errs.is_empty() {
            // field.ErrorList.ToAggregate().
            return Err(SelectorError(aggregate(&errs)));
        }
        Ok(Self { key: key.to_string(), operator, values })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// Whether `labels` satisfy this requirement (`Requirement.Matches`).
    pub fn matches(&self, labels: &dyn Labels) -> bool {
        let got = labels.get_label(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                got.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => got.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => got.is_some(),
            Operator::DoesNotExist => got.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), [want]) = (got.and_then(|v| v.parse::<i64>().ok()), self.values.as_slice())
                else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        let mut values = self.values.clone();
        values.sort();
        if set {
            f.write_str("(")?;
        }
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed label selector: an AND of requirements, or the selector that matches nothing
/// (what a missing `metav1.LabelSelector` means).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSelector {
    /// Matches no object (`labels.Nothing()`).
    Nothing,
    /// Matches objects meeting every requirement; empty matches everything.
    Requirements(Vec<Requirement>),
}

impl Default for LabelSelector {
    fn default() -> Self {
        Self::everything()
    }
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::Requirements(Vec::new())
    }

    /// Parses the `labelSelector` syntax (`labels.Parse`). Errors carry kube's message,
    /// which the server returns as a 400 BadRequest.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = super::label_parser::parse(s)?;
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self::Requirements(reqs))
    }

    /// Builds the selector a `metav1.LabelSelector` JSON value stands for
    /// (`metav1.LabelSelectorAsSelector`): `null` matches nothing, `{}` everything.
    pub fn from_label_selector(v: &Value) -> Result<Self, SelectorError> {
        let obj = match v {
            Value::Null => return Ok(Self::Nothing),
            Value::Object(o) => o,
            _ => return Err(SelectorError("a label selector must be an object".into())),
        };
        let mut reqs = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let Some(v) = v.as_str() else {
                        return Err(SelectorError(format!("matchLabels[{k}]: value must be a string")));
                    };
                    reqs.push(Requirement::new(k, Operator::Equals, vec![v.to_string()])?);
                }
            }
            Some(_) => return Err(SelectorError("matchLabels must be an object".into())),
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for e in exprs {
                    reqs.push(expression_requirement(e)?);
                }
            }
            Some(_) => return Err(SelectorError("matchExpressions must be a list".into())),
        }
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self::Requirements(reqs))
    }

    /// The requirements (none for `Nothing`).
    pub fn requirements(&self) -> &[Requirement] {
        match self {
            Self::Nothing => &[],
            Self::Requirements(r) => r,
        }
    }

    /// Whether this selector places no restriction (matches everything).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Requirements(r) if r.is_empty())
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &dyn Labels) -> bool {
        match self {
            Self::Nothing => false,
            Self::Requirements(r) => r.iter().all(|r| r.matches(labels)),
        }
    }

    /// Matches an object's `metadata.labels` JSON value (absent or `null` means no labels).
    pub fn matches_json(&self, labels: Option<&Value>) -> bool {
        let empty = Map::new();
        let map = labels.and_then(Value::as_object).unwrap_or(&empty);
        self.matches(map)
    }

    /// If the selector requires `label` to have one exact value, that value.
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements().iter().find(|r| r.key == label)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn expression_requirement(e: &Value) -> Result<Requirement, SelectorError> {
    let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
    let op = e.get("operator").and_then(Value::as_str).unwrap_or_default();
    let operator = match op {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => {
            return Err(SelectorError(format!("{} is not a valid label selector operator", go_quote(other))))
        }
    };
    let values = match e.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(vs)) => vs.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
        Some(_) => return Err(SelectorError("matchExpressions values must be a list".into())),
    };
    Requirement::new(key, operator, values)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "labels_tests.rs"]
mod tests;

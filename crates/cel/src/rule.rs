//! CRD validation rules (`x-kubernetes-validations`): [`CompiledRule`] compiles a
//! rule, its `message` and `messageExpression` once against the shape of the schema
//! node it sits on, and evaluates them as kube-apiserver's CEL validator does.
//!
//! - Variables: `self` (the value at the node) and `oldSelf` (its previous value on an
//!   update). A rule that reads `oldSelf` is a transition rule: without an old value
//!   it is skipped ([`RuleOutcome::Skipped`]), unless `optionalOldSelf` is set, in
//!   which case `oldSelf` is an optional (`optional.none()` on create).
//! - Compile errors and cost checks carry kube's texts: `compilation failed: ...`,
//!   `cel expression must evaluate to a bool`, `estimated rule cost exceeds budget by
//!   factor of ...`, `messageExpression compilation failed: ...`.
//! - Evaluation: a false rule fails with the `messageExpression` result when it
//!   evaluates to a usable string, else `message`, else `failed rule: <rule>`. Runtime
//!   errors and cost exhaustion give kube's field-error details ([`RuleError`]).

use crate::activation::Activation;
use crate::error::{CompileError, EvalError};
use crate::limits::{
    MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES, PER_CALL_LIMIT, RUNTIME_CEL_COST_BUDGET,
    STATIC_ESTIMATED_COST_LIMIT,
};
use crate::program::Program;
use crate::shape::Shape;
use crate::ResultType;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// The variable of the value a rule validates.
pub const SELF: &str = "self";
/// The variable of its previous value.
pub const OLD_SELF: &str = "oldSelf";

/// Everything about a rule other than its expressions.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// The shape of `self` (and `oldSelf`): the schema node the rule is declared on.
    pub shape: Shape,
    /// How many times the rule may run for one object: the product of the `maxItems` /
    /// `maxProperties` of the lists and maps above the node (kube's max cardinality).
    /// The rule's estimated cost times this must stay within
    /// [`STATIC_ESTIMATED_COST_LIMIT`].
    pub cardinality: u64,
    /// The rule's `optionalOldSelf`.
    pub optional_old_self: bool,
    /// Runtime limit of one evaluation ([`PER_CALL_LIMIT`]).
    pub per_call_limit: u64,
}

impl RuleOptions {
    /// Options for a rule on a node of this shape, run once per object.
    pub fn new(shape: Shape) -> Self {
        RuleOptions { shape, cardinality: 1, optional_old_self: false, per_call_limit: PER_CALL_LIMIT }
    }
}

/// Which field of the rule an error is about, as kube names it under
/// `x-kubernetes-validations[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    Rule,
    MessageExpression,
    OptionalOldSelf,
}

impl RuleField {
    /// The JSON field name.
    pub fn name(self) -> &'static str {
        match self {
            RuleField::Rule => "rule",
            RuleField::MessageExpression => "messageExpression",
            RuleField::OptionalOldSelf => "optionalOldSelf",
        }
    }
}

/// Why a rule was refused at CRD create/update. kube reports `Invalid` for compile
/// errors and `Forbidden` for cost ([`RuleCompileError::forbidden`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleCompileError {
    /// The field at fault.
    pub field: RuleField,
    /// kube's detail text.
    pub message: String,
    /// Whether kube reports it as `Forbidden` (cost, misuse) rather than `Invalid`.
    pub forbidden: bool,
}

/// Why an evaluation produced no verdict: kube's field-error detail, and whether it
/// ends the validation of the object (cost exhausted: "no further validation rules
/// will be run").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub message: String,
    pub stop: bool,
}

/// The verdict of one rule on one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// The rule evaluated to true.
    Pass,
    /// A transition rule without an old value (create, or a new list item): not run.
    Skipped,
    /// The rule evaluated to false; `message` is what kube reports.
    Fail { message: String },
}

/// `self` and `oldSelf` of one value, converted once for all the rules of its schema
/// node.
#[derive(Debug)]
pub struct RuleVars<'a> {
    plain: Activation<'a>,
    /// `oldSelf` as an optional, for rules with `optionalOldSelf`.
    optional: Option<Activation<'a>>,
    has_old_self: bool,
}

impl<'a> RuleVars<'a> {
    /// Binds `self` and `oldSelf` (when given) with the node's `shape`; with
    /// `optional_old_self`, also the optional form for rules that set it.
    pub fn new(
        self_value: &'a Json,
        old_self: Option<&'a Json>,
        shape: &Shape,
        optional_old_self: bool,
    ) -> Result<RuleVars<'a>, EvalError> {
        RuleVars::with_fields(self_value, old_self, shape, optional_old_self, &SelfFields::whole())
    }

    /// [`RuleVars::new`] binding of an object only the fields the node's rules read
    /// ([`SelfFields::of`] those rules): the rules see what they would see of the whole
    /// value, and the rest of it is never converted.
    pub fn with_fields(
        self_value: &'a Json,
        old_self: Option<&'a Json>,
        shape: &Shape,
        optional_old_self: bool,
        fields: &SelfFields,
    ) -> Result<RuleVars<'a>, EvalError> {
        let fields = fields.0.as_ref();
        let mut plain = Activation::new();
        plain.bind_fields(SELF, self_value, shape, fields)?;
        if let Some(old) = old_self {
            plain.bind_fields(OLD_SELF, old, shape, fields)?;
        }
        let optional = if optional_old_self {
            let mut a = Activation::new();
            a.bind_fields(SELF, self_value, shape, fields)?;
            a.bind_optional(OLD_SELF, old_self, shape)?;
            Some(a)
        } else {
            None
        };
        Ok(RuleVars { plain, optional, has_old_self: old_self.is_some() })
    }
}

/// What the rules of one schema node read of `self` and `oldSelf`: the fields, when
/// every rule and message expression reads them only by field (`self.f`, `has(self.f)`,
/// `self.?f`), or the whole values (`self == oldSelf`, `self.all(..)`, `size(self)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelfFields(Option<BTreeSet<String>>);

impl SelfFields {
    /// The whole values.
    pub fn whole() -> SelfFields {
        SelfFields(None)
    }

    /// What `rules` read together.
    pub fn of<'r>(rules: impl IntoIterator<Item = &'r CompiledRule>) -> SelfFields {
        let mut fields = BTreeSet::new();
        for rule in rules {
            if !rule.reads_only_fields(&mut fields) {
                return SelfFields::whole();
            }
        }
        SelfFields(Some(fields))
    }

    /// The fields (by CEL name), or None for the whole values.
    pub fn fields(&self) -> Option<&BTreeSet<String>> {
        self.0.as_ref()
    }
}

/// A compiled `x-kubernetes-validations` entry.
#[derive(Debug)]
pub struct CompiledRule {
    rule: Program,
    message: Option<String>,
    message_expression: Option<Program>,
    transition: bool,
    optional_old_self: bool,
    shape: Shape,
    per_call_limit: u64,
    cardinality: u64,
}

impl CompiledRule {
    /// Compiles `rule` with its `message` and `messageExpression` (empty strings count
    /// as absent). An empty rule is refused here; kube skips it.
    pub fn compile(
        rule: &str,
        message: Option<&str>,
        message_expression: Option<&str>,
        options: &RuleOptions,
    ) -> Result<CompiledRule, RuleCompileError> {
        let vars = [(SELF, &options.shape), (OLD_SELF, &options.shape)];
        let invalid = |field, message: String| RuleCompileError { field, message, forbidden: false };
        let program = Program::compile(rule, &vars).map_err(|e| invalid(RuleField::Rule, e.to_string()))?;
        if !matches!(program.result_type(), ResultType::Bool | ResultType::Dyn) {
            return Err(invalid(RuleField::Rule, "cel expression must evaluate to a bool".into()));
        }
        let transition = program.references(OLD_SELF);
        if options.optional_old_self && !transition {
            return Err(RuleCompileError {
                field: RuleField::OptionalOldSelf,
                message: "may not be set if oldSelf is not used in rule".into(),
                forbidden: false,
            });
        }
        let cardinality = options.cardinality.max(1);
        check_cost("estimated rule cost", RuleField::Rule, program.estimated_cost(), cardinality)?;
        let message_expression = match message_expression.map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(source) => {
                let m = Program::compile(source, &vars).map_err(|e| {
                    invalid(
                        RuleField::MessageExpression,
                        match e {
                            CompileError::Invalid(issues) => {
                                format!("messageExpression compilation failed: {issues}")
                            }
                            other => other.to_string(),
                        },
                    )
                })?;
                if !matches!(m.result_type(), ResultType::String | ResultType::Dyn) {
                    return Err(invalid(
                        RuleField::MessageExpression,
                        "messageExpression must evaluate to a string".into(),
                    ));
                }
                check_cost(
                    "estimated messageExpression cost",
                    RuleField::MessageExpression,
                    m.estimated_cost(),
                    cardinality,
                )?;
                Some(m)
            }
        };
        Ok(CompiledRule {
            rule: program,
            message: message.map(str::trim).filter(|m| !m.is_empty()).map(str::to_string),
            message_expression,
            transition,
            optional_old_self: options.optional_old_self,
            shape: options.shape.clone(),
            per_call_limit: options.per_call_limit,
            cardinality,
        })
    }

    /// Adds the fields of `self` and `oldSelf` the rule and its message expression read to
    /// `into`; false when either reads one of them whole ([`Program::reads_only_fields`]).
    pub fn reads_only_fields(&self, into: &mut BTreeSet<String>) -> bool {
        let vars = [SELF, OLD_SELF];
        self.rule.reads_only_fields(&vars, into)
            && self.message_expression.as_ref().is_none_or(|m| m.reads_only_fields(&vars, into))
    }

    /// Whether the rule reads `oldSelf`.
    pub fn is_transition_rule(&self) -> bool {
        self.transition
    }

    /// The rule's source.
    pub fn rule(&self) -> &str {
        self.rule.source()
    }

    /// Estimated worst-case cost of one evaluation of the rule (message expression
    /// included) times its cardinality: what kube adds up over a whole schema against
    /// [`STATIC_ESTIMATED_COST_LIMIT`].
    pub fn estimated_cost(&self) -> u64 {
        let m = self.message_expression.as_ref().map_or(0, Program::estimated_cost);
        self.rule.estimated_cost().saturating_add(m).saturating_mul(self.cardinality)
    }

    /// Evaluates the rule on `self_value` (and `old_self` on an update) with kube's
    /// whole-object budget [`RUNTIME_CEL_COST_BUDGET`]; errors are kube's details.
    pub fn evaluate(&self, self_value: &Json, old_self: Option<&Json>) -> Result<RuleOutcome, String> {
        let mut budget = RUNTIME_CEL_COST_BUDGET;
        self.evaluate_with_budget(self_value, old_self, &mut budget).map_err(|e| e.message)
    }

    /// Evaluates the rule, charging `budget` (what is left of the object's
    /// [`RUNTIME_CEL_COST_BUDGET`]; shared by all the rules of one object).
    pub fn evaluate_with_budget(
        &self,
        self_value: &Json,
        old_self: Option<&Json>,
        budget: &mut u64,
    ) -> Result<RuleOutcome, RuleError> {
        if self.transition && old_self.is_none() && !self.optional_old_self {
            return Ok(RuleOutcome::Skipped);
        }
        // Only a transition rule reads oldSelf: no need to convert it for others.
        let old_self = if self.transition { old_self } else { None };
        let vars = RuleVars::new(self_value, old_self, &self.shape, self.optional_old_self)
            .map_err(|e| RuleError { message: e.to_string(), stop: false })?;
        self.evaluate_in(&vars, budget)
    }

    /// Evaluates the rule with variables bound once for all the rules of a schema node
    /// ([`RuleVars`], built with this rule's shape), charging `budget`.
    pub fn evaluate_in(&self, vars: &RuleVars, budget: &mut u64) -> Result<RuleOutcome, RuleError> {
        if self.transition && !vars.has_old_self && !self.optional_old_self {
            return Ok(RuleOutcome::Skipped);
        }
        if *budget == 0 {
            return Err(out_of_budget());
        }
        let activation = match (&vars.optional, self.optional_old_self) {
            (Some(optional), true) => optional,
            (None, true) => {
                return Err(RuleError {
                    message: "rule variables were bound without optionalOldSelf".into(),
                    stop: false,
                })
            }
            _ => &vars.plain,
        };
        let limit = self.per_call_limit.min(*budget);
        let verdict = match self.rule.evaluate(activation, limit) {
            Ok(result) => {
                *budget -= result.cost;
                result.as_bool()
            }
            Err(EvalError::CostLimitExceeded) if limit < self.per_call_limit => {
                *budget = 0;
                return Err(out_of_budget());
            }
            Err(EvalError::CostLimitExceeded) => {
                *budget = 0;
                return Err(RuleError {
                    message: format!(
                        "'{}': no further validation rules will be run due to call cost exceeds limit for rule: {}",
                        crate::cost::COST_LIMIT_EXCEEDED,
                        self.error_string()
                    ),
                    stop: true,
                });
            }
            Err(e @ EvalError::NoSuchOverload(_)) => {
                return Err(RuleError {
                    message: format!(
                        "'{e}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                        self.error_string()
                    ),
                    stop: false,
                })
            }
            Err(e) => {
                return Err(RuleError {
                    message: format!("{e} evaluating rule: {}", self.error_string()),
                    stop: false,
                })
            }
        };
        match verdict {
            Some(true) => Ok(RuleOutcome::Pass),
            Some(false) => Ok(RuleOutcome::Fail { message: self.failure_message(activation, budget)? }),
            None => Err(RuleError {
                message: format!(
                    "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {}",
                    self.error_string()
                ),
                stop: false,
            }),
        }
    }

    /// The message of a failed rule: the message expression's result when usable, else
    /// `message`, else `failed rule: <rule>`.
    fn failure_message(&self, activation: &Activation, budget: &mut u64) -> Result<String, RuleError> {
        if let Some(m) = &self.message_expression {
            let limit = self.per_call_limit.min(*budget);
            match m.evaluate(activation, limit) {
                Ok(result) => {
                    *budget = budget.saturating_sub(result.cost);
                    if let Some(text) = result.as_str().map(str::trim) {
                        if !text.is_empty()
                            && text.len() <= MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES
                            && !text.contains(['\n', '\r'])
                        {
                            return Ok(text.to_string());
                        }
                    }
                }
                Err(EvalError::CostLimitExceeded) if limit < self.per_call_limit => {
                    *budget = 0;
                    return Err(RuleError {
                        message: "messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run".into(),
                        stop: true,
                    });
                }
                Err(EvalError::CostLimitExceeded) => {
                    *budget = 0;
                    return Err(RuleError {
                        message: format!(
                            "no further validation rules will be run due to call cost exceeds limit for messageExpression: {:?}",
                            m.source()
                        ),
                        stop: true,
                    });
                }
                // kube logs the failure and falls back to the message.
                Err(_) => {}
            }
        }
        Ok(self.message.clone().unwrap_or_else(|| format!("failed rule: {}", self.rule.source().trim())))
    }

    /// kube's `ruleErrorString`: the message if any, else the rule.
    fn error_string(&self) -> &str {
        self.message.as_deref().unwrap_or_else(|| self.rule.source().trim())
    }
}

fn out_of_budget() -> RuleError {
    RuleError {
        message:
            "validation failed due to running out of cost budget, no further validation rules will be run"
                .into(),
        stop: true,
    }
}

fn check_cost(name: &str, field: RuleField, cost: u64, cardinality: u64) -> Result<(), RuleCompileError> {
    let total = cost.saturating_mul(cardinality);
    if total > STATIC_ESTIMATED_COST_LIMIT {
        return Err(RuleCompileError {
            field,
            message: cost_exceeds_budget_message(name, total, STATIC_ESTIMATED_COST_LIMIT),
            forbidden: true,
        });
    }
    Ok(())
}

/// kube's text for an estimated cost over its limit: `<name> exceeds budget by factor
/// of <factor> (try simplifying the rule, ...)`, the factor printed as kube prints it
/// (`more than 100x`, `1.234567x`, `2.5x`). `name` is `estimated rule cost`,
/// `estimated messageExpression cost`, or for a whole schema `x-kubernetes-validations
/// estimated rule cost total for entire OpenAPIv3 schema`.
pub fn cost_exceeds_budget_message(name: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit.max(1) as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "{name} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, \
         maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

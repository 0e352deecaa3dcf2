//! Evaluating one policy for one binding and one param (kube's `validator.Validate` over
//! its CEL filters): match conditions first, then validations with their messages, and
//! audit annotations, the variables evaluated lazily as they are read (once per
//! evaluation), each expression under kube's per-call limit and the
//! validations together under the runtime budget. The authorizer library's checks are
//! answered here, through the server's authorizer, between evaluations.

use super::spec::{Compiled, Policy};
use crate::types::{AdmissionContext, AuthzVerdict};
use apimachinery::{Attributes, StatusReason, UserInfo};
use kcel::authz::{Authorizations, AuthzAnswer, AuthzCheck, CheckTarget};
use kcel::limits::{MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES, PER_CALL_LIMIT, RUNTIME_CEL_COST_BUDGET};
use kcel::{Activation, EvalError, Evaluated, Program};

/// Rounds of answering a program's authorization checks before giving up (each round
/// answers at least one new check; a check costs a third of the per-call limit, so a
/// program passes three only through error absorption).
const MAX_AUTHZ_ROUNDS: usize = 16;

/// kube's message when the validations of one evaluation exceed the runtime budget.
pub const OUT_OF_BUDGET: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

/// The authorization checks of one request: answered once, shared by every expression
/// (kube's caching authorizer around a dispatch).
pub struct Authz<'c> {
    pub answers: Authorizations,
    /// The request's user (owned where the request is changed meanwhile).
    pub user: std::borrow::Cow<'c, UserInfo>,
    pub ctx: &'c dyn AdmissionContext,
}

impl Authz<'_> {
    async fn answer(&mut self, checks: Vec<AuthzCheck>) {
        for check in checks {
            let verdict = self.ctx.authorize_verdict(&attributes(&check, &self.user)).await;
            let AuthzVerdict { allowed, reason, error } = verdict;
            self.answers.answer(check, AuthzAnswer { allowed, reason, error });
        }
    }
}

/// The attributes kube's authorizer library asks about.
fn attributes(check: &AuthzCheck, user: &UserInfo) -> Attributes {
    let user = match &check.service_account {
        Some((ns, name)) => UserInfo::new(
            format!("system:serviceaccount:{ns}:{name}"),
            vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{ns}")],
        ),
        None => user.clone(),
    };
    match &check.target {
        CheckTarget::Path(path) => Attributes {
            user,
            verb: check.verb.clone(),
            resource_request: false,
            path: path.clone(),
            ..Default::default()
        },
        CheckTarget::Resource { group, resource, subresource, namespace, name, .. } => Attributes {
            user,
            verb: check.verb.clone(),
            resource_request: true,
            api_group: group.clone(),
            api_version: "*".into(),
            resource: resource.clone(),
            subresource: subresource.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            ..Default::default()
        },
    }
}

/// Evaluates `program`, answering its authorization checks as they come.
pub async fn run(
    program: &Program,
    layers: &[&Activation<'_>],
    authz: Option<&mut Authz<'_>>,
) -> Result<Evaluated, EvalError> {
    let Some(authz) = authz else {
        return program.evaluate_layered(layers, PER_CALL_LIMIT, None);
    };
    for _ in 0..MAX_AUTHZ_ROUNDS {
        match program.evaluate_layered(layers, PER_CALL_LIMIT, Some(&mut authz.answers)) {
            Err(EvalError::AuthorizationPending) => {
                let pending = authz.answers.take_pending();
                authz.answer(pending).await;
            }
            other => return other,
        }
    }
    Err(EvalError::Runtime("too many authorization checks".into()))
}

/// kube's error of an expression that failed to evaluate.
pub(crate) fn eval_error(source: &str, e: &EvalError) -> String {
    format!("expression '{source}' resulted in error: {e}")
}

pub(crate) fn compile_error(detail: &str) -> String {
    format!("compilation error: {detail}")
}

/// kube's match condition matcher: false as soon as one condition is false; errors
/// (joined as kube aggregates them) under `failurePolicy: Fail`, no match under `Ignore`.
pub async fn conditions_match<'c>(
    conditions: impl Iterator<Item = &'c Compiled>,
    fail: bool,
    layers: &[&Activation<'_>],
    authz: &mut Authz<'_>,
) -> Result<bool, String> {
    let mut errors = Vec::new();
    for c in conditions {
        let program = match &c.program {
            Ok(p) => p,
            Err(detail) => {
                errors.push(compile_error(detail));
                continue;
            }
        };
        match run(program, layers, Some(authz)).await {
            Ok(v) if v.as_bool() == Some(false) => return Ok(false),
            Ok(_) => {}
            Err(e) => errors.push(eval_error(&c.source, &e)),
        }
    }
    if errors.is_empty() {
        return Ok(true);
    }
    if !fail {
        return Ok(false);
    }
    Err(match errors.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    })
}

/// Binds a policy's variables into `layer` as `variables.<name>`, as kube composes them:
/// each evaluated only when an expression reads it, at most once per `layer` (so a
/// variable that fails or costs much but is not read costs nothing and fails nothing),
/// its failure reported where it is read. What the variables cost is taken with
/// [`kcel::Activation::take_lazy_cost`] after each expression.
pub fn bind_variables<'a>(variables: &'a [(String, Compiled)], layer: &mut Activation<'a>) {
    for (name, v) in variables {
        let key = format!("{}.{name}", kcel::admission::VARIABLES);
        layer.bind_lazy(&key, name, v.program.as_ref().map_err(Clone::clone));
    }
}

/// What one validation (or a failure before them) decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Deny (a failed validation, or an error under `failurePolicy: Fail`) or admit.
    pub deny: bool,
    /// The decision comes from an error, not a false expression.
    pub error: bool,
    pub message: String,
    pub reason: StatusReason,
}

impl Decision {
    fn admit() -> Self {
        Self { deny: false, error: false, message: String::new(), reason: StatusReason::Invalid }
    }

    /// An error: denied under `failurePolicy: Fail`, admitted under `Ignore`.
    pub fn error(fail: bool, message: String) -> Self {
        Self { deny: fail, error: true, message, reason: StatusReason::Invalid }
    }
}

/// What an audit annotation's expression gave.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditResult {
    Publish {
        key: String,
        value: String,
    },
    /// A failure that denies the request (`failurePolicy: Fail`).
    Error(String),
}

/// The decisions (one per validation, or a single one for a failure before them) and
/// audit annotations of one evaluation.
#[derive(Debug, Default)]
pub struct Outcome {
    pub decisions: Vec<Decision>,
    pub audit: Vec<AuditResult>,
}

/// Evaluates `policy` over `base` (object, oldObject, request, namespaceObject,
/// authorizer) and `params` (params; the variables are added to it).
pub async fn evaluate<'a>(
    policy: &'a Policy,
    base: &Activation<'_>,
    params: &mut Activation<'a>,
    authz: &mut Authz<'_>,
) -> Outcome {
    let fail = policy.fail;
    let conditions = policy.match_conditions.iter().map(|(_, c)| c);
    match conditions_match(conditions, fail, &[base, params], authz).await {
        Ok(true) => {}
        Ok(false) => return Outcome::default(),
        Err(message) => {
            return Outcome { decisions: vec![Decision::error(true, message)], audit: Vec::new() }
        }
    }
    let mut budget = RUNTIME_CEL_COST_BUDGET;
    bind_variables(&policy.variables, params);
    let mut decisions = Vec::with_capacity(policy.validations.len());
    for validation in &policy.validations {
        let source = &validation.expression.source;
        let program = match &validation.expression.program {
            Ok(p) => p,
            Err(detail) => {
                decisions.push(Decision::error(fail, compile_error(detail)));
                continue;
            }
        };
        let result = run(program, &[base, params], Some(authz)).await;
        // kube charges the variables this expression evaluated first, then the expression.
        let variables = params.take_lazy_cost();
        if variables > budget {
            return Outcome {
                decisions: vec![Decision::error(fail, OUT_OF_BUDGET.to_string())],
                audit: Vec::new(),
            };
        }
        budget -= variables;
        let cost = match &result {
            Ok(v) => v.cost,
            Err(EvalError::CostLimitExceeded) => PER_CALL_LIMIT,
            Err(_) => 0,
        };
        if cost > budget {
            return Outcome {
                decisions: vec![Decision::error(fail, OUT_OF_BUDGET.to_string())],
                audit: Vec::new(),
            };
        }
        budget -= cost;
        match result {
            Err(e) => decisions.push(Decision::error(fail, eval_error(source, &e))),
            Ok(v) if v.as_bool() == Some(true) => decisions.push(Decision::admit()),
            Ok(_) => {
                let message = message_of(validation, base, params).await;
                decisions.push(Decision { deny: true, error: false, message, reason: validation.reason });
            }
        }
    }
    let audit = audit_annotations(policy, base, params, authz).await;
    Outcome { decisions, audit }
}

/// The message of a failed validation: its messageExpression's string (trimmed, one
/// line, at most 5 KiB), else its message, else `failed expression: <expression>`.
async fn message_of(
    validation: &super::spec::Validation,
    base: &Activation<'_>,
    params: &Activation<'_>,
) -> String {
    if let Some(Compiled { program: Ok(p), .. }) = &validation.message_expression {
        if let Ok(v) = run(p, &[base, params], None).await {
            if let Some(s) = v.as_str() {
                let s = s.trim();
                if !s.is_empty()
                    && s.len() <= MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES
                    && !s.contains('\n')
                {
                    return s.to_string();
                }
            }
        }
    }
    let message = validation.message.trim();
    if !message.is_empty() {
        return message.to_string();
    }
    format!("failed expression: {}", validation.expression.source.trim())
}

async fn audit_annotations(
    policy: &Policy,
    base: &Activation<'_>,
    params: &Activation<'_>,
    authz: &mut Authz<'_>,
) -> Vec<AuditResult> {
    let mut out = Vec::new();
    for (key, c) in &policy.audit_annotations {
        let result = match &c.program {
            Ok(p) => run(p, &[base, params], Some(authz)).await.map_err(|e| eval_error(&c.source, &e)),
            Err(detail) => Err(compile_error(detail)),
        };
        match result {
            Ok(v) => match (v.as_str(), v.type_name()) {
                (Some(s), _) if !s.trim().is_empty() => {
                    out.push(AuditResult::Publish { key: key.clone(), value: s.trim().to_string() })
                }
                (Some(_), _) | (None, "null_type") => {}
                (None, other) => {
                    let message = format!(
                        "valueExpression '{}' resulted in unsupported return type: {other}. Return type must be either string or null.",
                        c.source
                    );
                    out.push(AuditResult::Error(message));
                }
            },
            Err(message) if policy.fail => out.push(AuditResult::Error(message)),
            Err(_) => {}
        }
    }
    out
}

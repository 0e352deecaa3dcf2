//! Kubernetes' authorizer library (`k8s.io/apiserver/pkg/cel/library/authz.go`): the
//! `authorizer` variable of admission expressions and the checks built from it.
//!
//! ```text
//! authorizer.group('apps').resource('deployments').namespace('ns').name('x').check('update').allowed()
//! authorizer.path('/healthz').check('get').reason()
//! authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('list').errored()
//! authorizer.requestResource.subresource('status').check('patch')
//! ```
//!
//! The checks are answered by the server's authorizer chain, which awaits (a webhook
//! authorizer calls out); a CEL function cannot. So an evaluation runs against a set of
//! [`Authorizations`] already answered: a `check` whose answer is not there is recorded
//! as pending and fails the evaluation. The caller answers the pending checks and
//! evaluates again; since expressions are pure, the second run takes the same path up to
//! the new answers, and the run in which nothing is pending is the result. Every `check`
//! costs [`CHECK_COST`], as in kube, which bounds how many one expression can make.

use crate::cost;
use cel::extractors::This;
use cel::objects::{Opaque, Value};
use cel::{ExecutionError, ResolveResult};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Cost of one `check`: kube sets it so that an expression can make only two checks
/// within the per-call limit.
pub const CHECK_COST: u64 = 350_000;

/// What one `check` asks: a resource or a non-resource request, a verb, and whose
/// permission (the request's user, or a service account through `serviceAccount`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthzCheck {
    /// `Some((namespace, name))`: asked for that service account instead of the user.
    pub service_account: Option<(String, String)>,
    pub target: CheckTarget,
    pub verb: String,
}

/// The request a check describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckTarget {
    /// A non-resource URL.
    Path(String),
    /// A resource request (kube asks with API version `*`).
    Resource {
        group: String,
        resource: String,
        subresource: String,
        namespace: String,
        name: String,
        field_selector: String,
        label_selector: String,
    },
}

/// An authorizer's answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzAnswer {
    pub allowed: bool,
    pub reason: String,
    /// The evaluation error the authorizer reported, if any.
    pub error: Option<String>,
}

/// The answers an evaluation may use, and the checks it asked for that had none.
#[derive(Debug, Default, Clone)]
pub struct Authorizations {
    answers: HashMap<AuthzCheck, AuthzAnswer>,
    pending: Vec<AuthzCheck>,
}

impl Authorizations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks asked for without an answer in the last evaluation.
    pub fn pending(&self) -> &[AuthzCheck] {
        &self.pending
    }

    /// Takes the pending checks, to answer them.
    pub fn take_pending(&mut self) -> Vec<AuthzCheck> {
        std::mem::take(&mut self.pending)
    }

    /// Records the answer to `check`.
    pub fn answer(&mut self, check: AuthzCheck, answer: AuthzAnswer) {
        self.answers.insert(check, answer);
    }

    /// How many checks have an answer.
    pub fn answered(&self) -> usize {
        self.answers.len()
    }
}

thread_local! {
    /// The answers of the evaluation running on this thread (see [`with`]).
    static CURRENT: RefCell<Option<Authorizations>> = const { RefCell::new(None) };
}

/// Runs `f` with `authz` as the answers `check` consults on this thread, and hands them
/// back with the checks that were pending.
pub(crate) fn with<T>(authz: &mut Authorizations, f: impl FnOnce() -> T) -> T {
    authz.pending.clear();
    let taken = std::mem::take(authz);
    CURRENT.with(|c| *c.borrow_mut() = Some(taken));
    let out = f();
    if let Some(back) = CURRENT.with(|c| c.borrow_mut().take()) {
        *authz = back;
    }
    out
}

/// How many checks of the evaluation running on this thread are waiting for an answer
/// (a lazily evaluated variable whose value depends on one is not memoised).
pub(crate) fn pending_count() -> usize {
    CURRENT.with(|c| c.borrow().as_ref().map_or(0, |a| a.pending.len()))
}

/// Error text of a check that has no answer yet (never reaches a client: the caller
/// evaluates again once it is answered).
const PENDING: &str = "authorization check pending";

/// The values of the library, one opaque type with the builder's stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzValue {
    service_account: Option<(String, String)>,
    stage: Stage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// `authorizer` (or `authorizer.serviceAccount(..)`).
    Authorizer,
    /// `.path(p)`.
    Path(String),
    /// `.group(g)`.
    Group(String),
    /// `.resource(r)` and its refinements.
    Resource(ResourceFields),
    /// `.check(verb)`.
    Decision(AuthzAnswer),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ResourceFields {
    group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
    field_selector: String,
    label_selector: String,
}

impl Opaque for AuthzValue {
    fn runtime_type_name(&self) -> &str {
        match self.stage {
            Stage::Authorizer => "kubernetes.authorization.Authorizer",
            Stage::Path(_) => "kubernetes.authorization.PathCheck",
            Stage::Group(_) => "kubernetes.authorization.GroupCheck",
            Stage::Resource(_) => "kubernetes.authorization.ResourceCheck",
            Stage::Decision(_) => "kubernetes.authorization.Decision",
        }
    }
}

/// The `authorizer` variable's value.
pub fn authorizer() -> Value {
    Value::Opaque(Arc::new(AuthzValue { service_account: None, stage: Stage::Authorizer }))
}

/// The `authorizer.requestResource` variable's value: a resource check of the request's
/// own resource.
pub fn request_resource(
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Value {
    Value::Opaque(Arc::new(AuthzValue {
        service_account: None,
        stage: Stage::Resource(ResourceFields {
            group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            ..ResourceFields::default()
        }),
    }))
}

/// A function of the library taking its receiver and one string.
type Builder = fn(This<Value>, Arc<String>) -> ResolveResult;

/// Registers the library's functions.
pub(crate) fn register(ctx: &mut cel::Context<'_, '_>) {
    let functions: [(&str, Builder); 9] = [
        ("path", path),
        ("group", group),
        ("resource", resource),
        ("subresource", subresource),
        ("namespace", namespace),
        ("name", name),
        ("fieldSelector", field_selector),
        ("labelSelector", label_selector),
        ("check", check),
    ];
    for (name, f) in functions {
        let added = ctx.add_function(name, f);
        debug_assert!(added.is_ok(), "{name}: {added:?}");
    }
    let added = ctx.add_function("serviceAccount", service_account);
    debug_assert!(added.is_ok(), "{added:?}");
    for (name, f) in [
        ("allowed", allowed as fn(This<Value>) -> ResolveResult),
        ("reason", reason),
        ("errored", errored),
        ("error", error),
    ] {
        let added = ctx.add_function(name, f);
        debug_assert!(added.is_ok(), "{name}: {added:?}");
    }
}

fn stage_of(function: &str, v: &Value) -> Result<AuthzValue, ExecutionError> {
    match v {
        Value::Opaque(o) => o
            .downcast_ref::<AuthzValue>()
            .cloned()
            .ok_or_else(|| ExecutionError::function_error(function, "no such overload")),
        _ => Err(ExecutionError::function_error(function, "no such overload")),
    }
}

fn wrap(v: AuthzValue) -> ResolveResult {
    Ok(Value::Opaque(Arc::new(v)))
}

fn path(This(this): This<Value>, p: Arc<String>) -> ResolveResult {
    let mut v = stage_of("path", &this)?;
    if v.stage != Stage::Authorizer {
        return Err(ExecutionError::function_error("path", "no such overload"));
    }
    v.stage = Stage::Path(p.to_string());
    wrap(v)
}

fn group(This(this): This<Value>, g: Arc<String>) -> ResolveResult {
    let mut v = stage_of("group", &this)?;
    if v.stage != Stage::Authorizer {
        return Err(ExecutionError::function_error("group", "no such overload"));
    }
    v.stage = Stage::Group(g.to_string());
    wrap(v)
}

fn resource(This(this): This<Value>, r: Arc<String>) -> ResolveResult {
    let mut v = stage_of("resource", &this)?;
    let Stage::Group(group) = &v.stage else {
        return Err(ExecutionError::function_error("resource", "no such overload"));
    };
    v.stage = Stage::Resource(ResourceFields {
        group: group.clone(),
        resource: r.to_string(),
        ..ResourceFields::default()
    });
    wrap(v)
}

/// A refinement of a resource check (`subresource`, `namespace`, ...).
fn refine(function: &str, this: &Value, set: impl FnOnce(&mut ResourceFields)) -> ResolveResult {
    let mut v = stage_of(function, this)?;
    let Stage::Resource(fields) = &mut v.stage else {
        return Err(ExecutionError::function_error(function, "no such overload"));
    };
    set(fields);
    wrap(v)
}

fn subresource(This(this): This<Value>, s: Arc<String>) -> ResolveResult {
    refine("subresource", &this, |f| f.subresource = s.to_string())
}

fn namespace(This(this): This<Value>, s: Arc<String>) -> ResolveResult {
    refine("namespace", &this, |f| f.namespace = s.to_string())
}

fn name(This(this): This<Value>, s: Arc<String>) -> ResolveResult {
    refine("name", &this, |f| f.name = s.to_string())
}

fn field_selector(This(this): This<Value>, s: Arc<String>) -> ResolveResult {
    refine("fieldSelector", &this, |f| f.field_selector = s.to_string())
}

fn label_selector(This(this): This<Value>, s: Arc<String>) -> ResolveResult {
    refine("labelSelector", &this, |f| f.label_selector = s.to_string())
}

fn service_account(This(this): This<Value>, ns: Arc<String>, sa: Arc<String>) -> ResolveResult {
    let mut v = stage_of("serviceAccount", &this)?;
    if v.stage != Stage::Authorizer {
        return Err(ExecutionError::function_error("serviceAccount", "no such overload"));
    }
    v.service_account = Some((ns.to_string(), sa.to_string()));
    wrap(v)
}

fn check(This(this): This<Value>, verb: Arc<String>) -> ResolveResult {
    let mut v = stage_of("check", &this)?;
    let target = match &v.stage {
        Stage::Path(p) => CheckTarget::Path(p.clone()),
        Stage::Resource(f) => CheckTarget::Resource {
            group: f.group.clone(),
            resource: f.resource.clone(),
            subresource: f.subresource.clone(),
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            field_selector: f.field_selector.clone(),
            label_selector: f.label_selector.clone(),
        },
        _ => return Err(ExecutionError::function_error("check", "no such overload")),
    };
    cost::charge(CHECK_COST)?;
    let asked = AuthzCheck { service_account: v.service_account.clone(), target, verb: verb.to_string() };
    let answer = CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        let authz = current.as_mut()?;
        match authz.answers.get(&asked) {
            Some(a) => Some(a.clone()),
            None => {
                if !authz.pending.contains(&asked) {
                    authz.pending.push(asked);
                }
                None
            }
        }
    });
    match answer {
        Some(a) => {
            v.stage = Stage::Decision(a);
            wrap(v)
        }
        None => Err(ExecutionError::function_error("check", PENDING)),
    }
}

fn decision(function: &str, this: &Value) -> Result<AuthzAnswer, ExecutionError> {
    match stage_of(function, this)?.stage {
        Stage::Decision(a) => Ok(a),
        _ => Err(ExecutionError::function_error(function, "no such overload")),
    }
}

fn allowed(This(this): This<Value>) -> ResolveResult {
    Ok(Value::Bool(decision("allowed", &this)?.allowed))
}

fn reason(This(this): This<Value>) -> ResolveResult {
    Ok(Value::String(Arc::new(decision("reason", &this)?.reason)))
}

fn errored(This(this): This<Value>) -> ResolveResult {
    Ok(Value::Bool(decision("errored", &this)?.error.is_some()))
}

fn error(This(this): This<Value>) -> ResolveResult {
    Ok(Value::String(Arc::new(decision("error", &this)?.error.unwrap_or_default())))
}

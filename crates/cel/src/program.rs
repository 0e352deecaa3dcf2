//! [`Program`]: an expression compiled once against declared variables, evaluated many
//! times against an [`Activation`] (the variables' values) under a cost limit.

use crate::authz::Authorizations;
use crate::check::{self, ResultType};
use crate::error::{CompileError, EvalError};
use crate::shape::Shape;
use crate::{cost, env, estimate, rewrite, value};
use cel::common::types::{CelMap, CelString};
use cel::common::value::{CowVal, Val};
use cel::objects::OptionalValue;
use cel::Value;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A compiled expression.
#[derive(Debug)]
pub struct Program {
    source: String,
    checked: cel::IdedExpr,
    runnable: cel::IdedExpr,
    result_type: ResultType,
    /// The result's shape where a typed variable's field makes it plain.
    result_shape: Shape,
    estimated_cost: u64,
    /// Stack the evaluation may need (cel-rust's interpreter recurses along the tree).
    stack_bytes: usize,
}

/// Stack for compiling: the parser's recursion at the nesting limits, with room.
const COMPILE_STACK_BYTES: usize = 64 << 20;

/// Stack one level of the expression tree may take while evaluating (measured: about
/// 20 KiB in unoptimized builds, under 2 KiB optimized).
const STACK_BYTES_PER_LEVEL: usize = if cfg!(debug_assertions) { 32 << 10 } else { 8 << 10 };

impl Program {
    /// Parses and checks `source` with the variables `vars` (name and shape) in scope,
    /// and estimates its worst-case cost. Errors carry cel-go's text.
    pub fn compile(source: &str, vars: &[(&str, &Shape)]) -> Result<Program, CompileError> {
        // cel-rust's parser and the passes here recurse along the expression: they run
        // on a stack of their own, large enough for the nesting limits.
        stacker::grow(COMPILE_STACK_BYTES, || Program::compile_on_stack(source, vars, false, None))
    }

    /// Like [`compile`](Self::compile), with kube's patch types declared: `Object`,
    /// `Object.<field>...` and `JSONPatch` literals ([`crate::mutation`]).
    pub fn compile_with_patch_types(source: &str, vars: &[(&str, &Shape)]) -> Result<Program, CompileError> {
        stacker::grow(COMPILE_STACK_BYTES, || Program::compile_on_stack(source, vars, true, None))
    }

    /// Like [`compile`](Self::compile) (with the patch types when `patch_types`), in
    /// kube's base environment as its admission expressions see it: no `cel.bind` (cel-go's
    /// bindings extension is not in it: `cel` is an undeclared reference), and list and
    /// map literals of one type (`expected type 'int' but found 'string'`,
    /// [`crate::homogeneous`]), the variables' static types being `declared`.
    pub fn compile_in_base_env(
        source: &str,
        vars: &[(&str, &Shape)],
        patch_types: bool,
        declared: &[(String, Option<crate::types::CelType>)],
    ) -> Result<Program, CompileError> {
        stacker::grow(COMPILE_STACK_BYTES, || {
            Program::compile_on_stack(source, vars, patch_types, Some(declared))
        })
    }

    /// `base_env`: the declared types of [`compile_in_base_env`](Self::compile_in_base_env).
    fn compile_on_stack(
        source: &str,
        vars: &[(&str, &Shape)],
        patch_types: bool,
        base_env: Option<&[(String, Option<crate::types::CelType>)]>,
    ) -> Result<Program, CompileError> {
        let mut parsed = check::parse_with(source, base_env.is_none())?;
        if patch_types {
            // Below the ids the rewrite hands out (from u64::MAX down), above the parser's.
            let mut next_id = u64::MAX / 2;
            parsed.expr = crate::mutation::lower(std::mem::take(&mut parsed.expr), &mut next_id);
        }
        let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
        check::check(source, &parsed, &names)?;
        if let Some(declared) = base_env {
            let mismatches =
                crate::homogeneous::mismatches(&parsed.expr, &mut crate::types::Scope::new(declared));
            if !mismatches.is_empty() {
                return Err(check::issues_at(source, &parsed, mismatches));
            }
        }
        let result_type = check::result_type(&parsed.expr);
        let findings = estimate::estimate(&parsed.expr, vars);
        if !findings.undefined.is_empty() {
            return Err(check::issues_at(source, &parsed, findings.undefined));
        }
        let estimated_cost = findings.cost;
        let result_shape = findings.shape.clone();
        let runnable = rewrite::rewrite(parsed.expr.clone(), &names, &findings.scalars);
        // The rewrite nests each call in a charging call, and each charged argument.
        let stack_bytes = (parsed.depth * 3 + 8).saturating_mul(STACK_BYTES_PER_LEVEL);
        Ok(Program {
            source: source.to_string(),
            checked: parsed.expr,
            runnable,
            result_type,
            result_shape,
            estimated_cost,
            stack_bytes,
        })
    }

    /// Like [`compile`](Self::compile), and refuses an expression whose result type is
    /// known and none of `allowed` (kube's `must evaluate to string` /
    /// `must evaluate to one of [string list(string)]`).
    pub fn compile_returning(
        source: &str,
        vars: &[(&str, &Shape)],
        allowed: &[ResultType],
    ) -> Result<Program, CompileError> {
        let program = Program::compile(source, vars)?;
        let t = program.result_type;
        if t != ResultType::Dyn && !allowed.contains(&t) {
            let names: Vec<String> = allowed.iter().map(|a| a.declared_name().to_string()).collect();
            return Err(CompileError::ResultType(match names.as_slice() {
                [one] => format!("must evaluate to {one}"),
                many => format!("must evaluate to one of [{}]", many.join(" ")),
            }));
        }
        Ok(program)
    }

    /// The type name of the struct the expression builds at its root (`Object`,
    /// `Object.spec`, `JSONPatch`), when it is a struct literal.
    pub fn struct_result(&self) -> Option<&str> {
        crate::mutation::lowered_name(&self.checked)
    }

    /// The type names of the struct literals a list literal at the root holds (empty when
    /// the root is not a list literal or holds other values).
    pub fn list_struct_elements(&self) -> Vec<&str> {
        match &self.checked.expr {
            cel::common::ast::Expr::List(l) => {
                l.elements.iter().filter_map(crate::mutation::lowered_name).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The result type where the expression makes it plain, `Dyn` otherwise.
    pub fn result_type(&self) -> ResultType {
        self.result_type
    }

    /// The result type where the expression or the declared type of a field it selects
    /// (`request.user`, a string) makes it plain, `Dyn` otherwise.
    pub fn declared_result_type(&self) -> ResultType {
        if self.result_type != ResultType::Dyn {
            return self.result_type;
        }
        use cel::common::ast::Expr;
        if !matches!(&self.checked.expr, Expr::Select(s) if !s.test) {
            return ResultType::Dyn;
        }
        match &self.result_shape {
            Shape::Bool => ResultType::Bool,
            Shape::String { .. } => ResultType::String,
            Shape::Int => ResultType::Int,
            Shape::Double => ResultType::Double,
            Shape::List { .. } => ResultType::List,
            Shape::Object { .. } => ResultType::Map,
            _ => ResultType::Dyn,
        }
    }

    /// The static type of the expression with the variables `declared` of these types,
    /// where cel-go's is plain ([`crate::types`]).
    pub fn static_type(
        &self,
        declared: &[(String, Option<crate::types::CelType>)],
    ) -> Option<crate::types::CelType> {
        crate::types::infer(&self.checked, &mut crate::types::Scope::new(declared))
    }

    /// The worst-case cost over all values of the declared shapes, in the units of the
    /// runtime limit.
    pub fn estimated_cost(&self) -> u64 {
        self.estimated_cost
    }

    /// Whether the expression reads the variable `name` (kube: a rule reading `oldSelf`
    /// is a transition rule).
    pub fn references(&self, name: &str) -> bool {
        references(&self.checked, &mut |e| matches!(&e.expr, cel::common::ast::Expr::Ident(n) if n == name))
    }

    /// Whether the whole expression is a selection or an index into one of `roots`
    /// (`object.spec.paused`, `params['x']`): a value typed `dyn` where the variable is.
    pub fn is_selection_of(&self, roots: &[&str]) -> bool {
        use cel::common::ast::Expr;
        let mut e = &self.checked;
        let mut selected = false;
        loop {
            match &e.expr {
                Expr::Select(s) if !s.test => e = &s.operand,
                Expr::Call(c) if c.func_name == cel::common::ast::operators::INDEX && c.args.len() == 2 => {
                    match c.args.first() {
                        Some(first) => e = first,
                        None => return false,
                    }
                }
                Expr::Ident(name) => return selected && roots.contains(&name.as_str()),
                _ => return false,
            }
            selected = true;
        }
    }

    /// Whether the expression reads `<var>.<field>` (or tests it with `has()`).
    pub fn references_field(&self, var: &str, field: &str) -> bool {
        use cel::common::ast::Expr;
        references(&self.checked, &mut |e| match &e.expr {
            Expr::Select(s) => s.field == field && matches!(&s.operand.expr, Expr::Ident(n) if n == var),
            Expr::Call(c) if c.func_name == cel::common::ast::operators::OPT_SELECT => {
                matches!(c.args.as_slice(), [target, f]
                    if matches!(&target.expr, Expr::Ident(n) if n == var)
                    && matches!(&f.expr, Expr::Literal(cel::common::ast::LiteralValue::String(s)) if s.inner() == field))
            }
            _ => false,
        })
    }

    /// Adds to `into` the fields of the variables `vars` the expression reads, and
    /// answers whether it reads them only by field: `v.f`, `has(v.f)`, `v.?f`. Then an
    /// evaluation with only those fields bound ([`Activation::bind_fields`]) gives the
    /// same value and cost as with the whole value (no charge measures the variable
    /// itself). False when a variable is read whole (`v == x`, `v.all(..)`, `v['f']`,
    /// `size(v)`, an argument, `cel.bind(x, v, ..)`). A comprehension variable of the
    /// same name counts as the variable: it can only add fields or answer false.
    pub fn reads_only_fields(&self, vars: &[&str], into: &mut BTreeSet<String>) -> bool {
        use cel::common::ast::{operators, Expr, LiteralValue};
        let is_var = |e: &cel::IdedExpr| matches!(&e.expr, Expr::Ident(n) if vars.contains(&n.as_str()));
        let mut stack = vec![&self.checked];
        while let Some(e) = stack.pop() {
            match &e.expr {
                Expr::Select(s) if is_var(&s.operand) => {
                    into.insert(s.field.clone());
                }
                Expr::Call(c) if c.func_name == operators::OPT_SELECT && c.target.is_none() => {
                    match c.args.as_slice() {
                        [target, field] if is_var(target) => match &field.expr {
                            Expr::Literal(LiteralValue::String(f)) => {
                                into.insert(f.inner().to_string());
                            }
                            _ => return false,
                        },
                        args => stack.extend(args),
                    }
                }
                Expr::Ident(_) if is_var(e) => return false,
                _ => stack.extend(check::children(e)),
            }
        }
        true
    }

    /// Adds to `into` what the expression reads of the variable `var`
    /// ([`crate::reads`]): binding only that ([`Activation::bind_reads`]) gives the same
    /// value, errors and cost as binding the whole value.
    pub fn reads(&self, var: &str, into: &mut crate::reads::Reads) {
        crate::reads::collect(&self.checked, var, into);
    }

    /// Evaluates with the variables of `activation`, failing with
    /// [`EvalError::CostLimitExceeded`] once more than `limit` units are used.
    pub fn evaluate(&self, activation: &Activation, limit: u64) -> Result<Evaluated, EvalError> {
        self.evaluate_layered(&[activation], limit, None)
    }

    /// Evaluates with the variables of several activations (a name is looked up in the
    /// first that binds it), under `limit`, answering the authorizer library's checks
    /// from `authz` ([`crate::authz`]): when a check had no answer the result is
    /// [`EvalError::AuthorizationPending`] and the checks are in `authz`'s pending list.
    pub fn evaluate_layered(
        &self,
        layers: &[&Activation],
        limit: u64,
        authz: Option<&mut Authorizations>,
    ) -> Result<Evaluated, EvalError> {
        let resolver = Layers(layers);
        // On a stack of its own when the current one has less room than the program may
        // need (a deep expression on a small worker stack).
        let run = || {
            stacker::maybe_grow(self.stack_bytes, self.stack_bytes.saturating_add(1 << 20), || {
                env::evaluate(&self.runnable, &resolver)
            })
        };
        let metered = || cost::metered(limit, || std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)));
        let (result, cost) = match authz {
            Some(authz) => {
                let out = crate::authz::with(authz, metered);
                if !authz.pending().is_empty() {
                    return Err(EvalError::AuthorizationPending);
                }
                out
            }
            None => metered(),
        };
        if cost > limit {
            return Err(EvalError::CostLimitExceeded);
        }
        match result {
            Ok(Ok(value)) => Ok(Evaluated { value, cost }),
            Ok(Err(error)) => Err(EvalError::from_cel(error)),
            // cel-rust has a few panicking paths; none is known to be reachable from a
            // checked expression, this keeps one from taking the server down.
            Err(_) => Err(EvalError::Runtime("internal error evaluating the expression".into())),
        }
    }
}

fn references(e: &cel::IdedExpr, hit: &mut dyn FnMut(&cel::IdedExpr) -> bool) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if hit(e) {
            return true;
        }
        stack.extend(check::children(e));
    }
    false
}

impl ResultType {
    /// The name kube prints in `must evaluate to ...`.
    fn declared_name(self) -> &'static str {
        match self {
            ResultType::List => "list(string)",
            other => other.name(),
        }
    }
}

/// The result of an evaluation and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    value: Value,
    /// Units charged.
    pub cost: u64,
}

impl Evaluated {
    /// The boolean result, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The string result, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// CEL's name of the result's type.
    pub fn type_name(&self) -> &'static str {
        value::type_name(&self.value)
    }

    /// The result as JSON (see [`value::to_json`]).
    pub fn to_json(&self) -> Result<Json, EvalError> {
        Ok(value::to_json(&self.value)?)
    }

    /// The result as cel-rust's value.
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }
}

/// The variables of one evaluation, converted once and shared by every program
/// evaluated with them; strings are borrowed from the JSON they were bound from.
#[derive(Default)]
pub struct Activation<'a> {
    vars: Vec<(String, Entry<'a>)>,
    /// Units used by the lazy variables evaluated since [`Activation::take_lazy_cost`].
    lazy_cost: AtomicU64,
}

/// A bound variable: a value, or a program evaluated when first read.
enum Entry<'a> {
    Value(Box<dyn Val + 'a>),
    Lazy(Box<Lazy<'a>>),
}

/// A composited variable (kube's `variables.<name>`), evaluated the first time an
/// expression reads it and remembered for every later read through the same activation.
struct Lazy<'a> {
    /// The variable's own name (for kube's error texts).
    name: String,
    /// The program, or the detail of its compile error.
    program: Result<&'a Program, String>,
    /// The value, or a [`crate::env::Failed`] carrying kube's error (owned: a cell over a
    /// borrowing type would make `Activation` invariant in `'a`).
    memo: OnceLock<Box<dyn Val>>,
}

impl std::fmt::Debug for Activation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.vars.iter().map(|(n, _)| n)).finish()
    }
}

impl<'a> Activation<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `name` to `json`, typed by `shape`.
    pub fn bind(&mut self, name: &str, json: &'a Json, shape: &Shape) -> Result<&mut Self, EvalError> {
        let v = value::to_val(json, shape)?;
        self.put(name, Entry::Value(v));
        Ok(self)
    }

    /// Binds `name` to `json` as [`bind`](Self::bind) does, with only the members of an
    /// object whose CEL names are in `fields` (what the programs evaluated with it read,
    /// [`Program::reads_only_fields`]); `None` binds it whole.
    pub fn bind_fields(
        &mut self,
        name: &str,
        json: &'a Json,
        shape: &Shape,
        fields: Option<&BTreeSet<String>>,
    ) -> Result<&mut Self, EvalError> {
        let v = match fields {
            Some(fields) => value::to_val_fields(json, shape, fields)?,
            None => value::to_val(json, shape)?,
        };
        self.put(name, Entry::Value(v));
        Ok(self)
    }

    /// Binds `name` to `json` as [`bind`](Self::bind) does, with only what `reads` says
    /// the programs evaluated with it read of it ([`Program::reads`]).
    pub fn bind_reads(
        &mut self,
        name: &str,
        json: &'a Json,
        shape: &Shape,
        reads: &crate::reads::Reads,
    ) -> Result<&mut Self, EvalError> {
        let v = value::to_val_reads(json, shape, reads)?;
        self.put(name, Entry::Value(v));
        Ok(self)
    }

    /// Binds `name` (`variables.<variable>`) to `program`, evaluated lazily as kube
    /// evaluates a policy's variables: only when an expression reads it, at most once
    /// per activation (the value, or its error, is remembered), under a per-call limit
    /// of its own, with the variables of the evaluation that reads it first. What it
    /// costs is added up for [`take_lazy_cost`](Self::take_lazy_cost). A read of a
    /// variable that failed fails with kube's text: `composited variable "x" fails to
    /// evaluate: ...`, or `... fails to compile: ...` when `program` is an error.
    pub fn bind_lazy(
        &mut self,
        name: &str,
        variable: &str,
        program: Result<&'a Program, String>,
    ) -> &mut Self {
        let lazy = Lazy { name: variable.to_string(), program, memo: OnceLock::new() };
        self.put(name, Entry::Lazy(Box::new(lazy)));
        self
    }

    /// The units used by the lazy variables evaluated since the last call (kube's
    /// `GetAndResetCost` of a composition context).
    pub fn take_lazy_cost(&self) -> u64 {
        self.lazy_cost.swap(0, Ordering::Relaxed)
    }

    fn put(&mut self, name: &str, entry: Entry<'a>) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), entry));
    }

    /// Binds `name` to an optional: `optional.of(json)`, or `optional.none()` (kube's
    /// `oldSelf` of a rule with `optionalOldSelf: true`).
    pub fn bind_optional(
        &mut self,
        name: &str,
        json: Option<&Json>,
        shape: &Shape,
    ) -> Result<&mut Self, EvalError> {
        let optional = match json {
            Some(j) => OptionalValue::of(value::to_cel(j, shape)?),
            None => OptionalValue::none(),
        };
        self.bind_value(name, Value::Opaque(Arc::new(optional)))
    }

    /// Binds `name` to the result of another evaluation (a composited variable).
    pub fn bind_evaluated(&mut self, name: &str, evaluated: &Evaluated) -> Result<&mut Self, EvalError> {
        self.bind_value(name, evaluated.value.clone())
    }

    /// Binds `name` to a failure: an expression that reads it fails with `message`
    /// (a composited variable whose evaluation failed, as kube reports it where used).
    pub fn bind_failure(&mut self, name: &str, message: &str) -> Result<&mut Self, EvalError> {
        self.bind_value(name, Value::Opaque(Arc::new(crate::env::Failed(message.to_string()))))
    }

    /// Binds `name` to a CEL value built by this crate ([`crate::authz::authorizer`]).
    pub fn bind_cel(&mut self, name: &str, v: Value) -> Result<&mut Self, EvalError> {
        self.bind_value(name, v)
    }

    fn bind_value(&mut self, name: &str, v: Value) -> Result<&mut Self, EvalError> {
        let boxed: Box<dyn Val> = v.try_into().map_err(EvalError::from_cel)?;
        self.put(name, Entry::Value(boxed));
        Ok(self)
    }
}

/// Several activations, looked up in order.
struct Layers<'l, 'a>(&'l [&'l Activation<'a>]);

impl cel::context::VariableResolver for Layers<'_, '_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let found = self.0.iter().find_map(|a| a.vars.iter().find(|(n, _)| n == variable).map(|e| (*a, e)));
        let Some((owner, (_, entry))) = found else {
            return self.select(variable);
        };
        match entry {
            Entry::Value(v) => Some(CowVal::Borrowed(v.as_ref())),
            Entry::Lazy(lazy) => Some(force(lazy, owner, self)),
        }
    }
}

impl Layers<'_, '_> {
    /// A qualified name `v.a.b` no variable is named: the field `b` of the field `a` of
    /// the variable `v`, when each holder is a map that has it. cel-rust asks for the
    /// whole name first, then drops a field at a time until a variable answers, and
    /// selects the fields left the same way (a missing field or another value: `None`,
    /// and it takes that path, with its errors).
    fn select<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let (root, fields) = name.split_once('.')?;
        let mut value: &dyn Val = self.0.iter().find_map(|a| {
            a.vars.iter().find(|(n, _)| n == root).and_then(|(_, e)| match e {
                Entry::Value(v) => Some(v.as_ref()),
                Entry::Lazy(_) => None,
            })
        })?;
        for field in fields.split('.') {
            value.downcast_ref::<CelMap>()?;
            let key = CelString::from(field);
            value = match value.as_indexer()?.get(&key).ok()? {
                CowVal::Borrowed(v) => v,
                CowVal::Owned(_) => return None,
            };
        }
        Some(CowVal::Borrowed(value))
    }
}

impl cel::context::VariableResolver for Activation<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let layers = [self];
        match self.vars.iter().find(|(n, _)| n == variable)? {
            (_, Entry::Value(v)) => Some(CowVal::Borrowed(v.as_ref())),
            (_, Entry::Lazy(lazy)) => Some(force(lazy, self, &Layers(&layers))),
        }
    }
}

/// The value of a lazy variable: remembered, or evaluated now with the variables of the
/// evaluation that reads it (`layers`: a variable reads the ones declared before it).
/// The evaluation nests inside the running one on this thread: a meter of its own (kube
/// evaluates each variable as a program of its own), the same authorizer answers. A
/// value computed while one of its authorization checks had no answer is not kept (nor
/// its cost counted): the caller evaluates again once the check is answered.
fn force<'b>(lazy: &'b Lazy<'_>, owner: &Activation<'_>, layers: &Layers<'_, '_>) -> CowVal<'b, 'b> {
    if let Some(v) = lazy.memo.get() {
        return CowVal::Borrowed(v.as_ref());
    }
    let pending_before = crate::authz::pending_count();
    let (outcome, cost) = evaluate_variable(lazy, layers);
    let value = outcome.unwrap_or_else(failed);
    if crate::authz::pending_count() > pending_before {
        return CowVal::Owned(value);
    }
    owner.lazy_cost.fetch_add(cost, Ordering::Relaxed);
    // Only this thread evaluates this activation, so the cell is empty here.
    let _ = lazy.memo.set(value);
    match lazy.memo.get() {
        Some(v) => CowVal::Borrowed(v.as_ref()),
        None => CowVal::Owned(failed(format!("composited variable {:?} was not kept", lazy.name))),
    }
}

/// Evaluates a lazy variable's program: its value or kube's error, and the units used.
fn evaluate_variable(lazy: &Lazy<'_>, layers: &Layers<'_, '_>) -> (Result<Box<dyn Val>, String>, u64) {
    let name = &lazy.name;
    let program = match &lazy.program {
        Ok(p) => p,
        Err(detail) => return (Err(format!("composited variable {name:?} fails to compile: {detail}")), 0),
    };
    let limit = crate::limits::PER_CALL_LIMIT;
    let run = || {
        stacker::maybe_grow(program.stack_bytes, program.stack_bytes.saturating_add(1 << 20), || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                env::evaluate(&program.runnable, layers)
            }))
        })
    };
    let (result, cost) = cost::nested(limit, run);
    let outcome = match result {
        _ if cost > limit => Err(EvalError::CostLimitExceeded),
        Ok(Ok(v)) => Box::<dyn Val>::try_from(v).map_err(EvalError::from_cel),
        Ok(Err(e)) => Err(EvalError::from_cel(e)),
        Err(_) => Err(EvalError::Runtime("internal error evaluating the expression".into())),
    };
    (outcome.map_err(|e| format!("composited variable {name:?} fails to evaluate: {e}")), cost)
}

/// A value whose every read fails with `message` (see [`crate::env::Failed`]).
fn failed(message: String) -> Box<dyn Val> {
    let v = Value::Opaque(Arc::new(crate::env::Failed(message)));
    // An opaque value always converts; null is the unreachable fallback.
    let boxed: Result<Box<dyn Val>, _> = v.try_into();
    boxed.unwrap_or_else(|_| Box::new(cel::common::types::CelNull))
}

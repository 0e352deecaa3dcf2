//! [`Program`]: an expression compiled once against declared variables, evaluated many
//! times against an [`Activation`] (the variables' values) under a cost limit.

use crate::activation::{Activation, Layers};
use crate::authz::Authorizations;
use crate::check::{self, ResultType};
use crate::error::{CompileError, EvalError};
use crate::shape::Shape;
use crate::{cost, env, estimate, rewrite, value};
use cel::Value;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// A compiled expression.
#[derive(Debug)]
pub struct Program {
    source: String,
    checked: cel::IdedExpr,
    pub(crate) runnable: cel::IdedExpr,
    result_type: ResultType,
    /// The result's shape where a typed variable's field makes it plain.
    result_shape: Shape,
    estimated_cost: u64,
    /// Stack the evaluation may need (cel-rust's interpreter recurses along the tree).
    pub(crate) stack_bytes: usize,
    /// The direct evaluator, when the expression is simple enough ([`crate::fast`]).
    pub(crate) fast: Option<crate::fast::Fast>,
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
        let fast = crate::fast::Fast::compile(&runnable, &names);
        Ok(Program {
            source: source.to_string(),
            checked: parsed.expr,
            runnable,
            result_type,
            result_shape,
            estimated_cost,
            stack_bytes,
            fast,
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

    /// Whether the expression is evaluated directly ([`crate::fast`]) wherever it can
    /// be (values it does not handle, and errors, are the interpreter's).
    pub fn is_direct(&self) -> bool {
        self.fast.is_some()
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
        if let Some(fast) = &self.fast {
            let answered =
                stacker::maybe_grow(self.stack_bytes, self.stack_bytes.saturating_add(1 << 20), || {
                    fast.run(&resolver, limit)
                });
            if let Some((b, cost)) = answered {
                return Ok(Evaluated { value: Value::Bool(b), cost });
            }
        }
        self.interpret(&resolver, limit, authz)
    }

    /// Evaluates with cel-rust's interpreter (see [`evaluate_layered`](Self::evaluate_layered)).
    pub(crate) fn interpret(
        &self,
        resolver: &Layers<'_, '_>,
        limit: u64,
        authz: Option<&mut Authorizations>,
    ) -> Result<Evaluated, EvalError> {
        // JSON variables the direct evaluator would have read in place, converted now.
        let converted = Activation::converting(resolver.0)?;
        let extended: Vec<&Activation>;
        let resolver = match &converted {
            Some(c) => {
                extended = std::iter::once(c).chain(resolver.0.iter().copied()).collect();
                &Layers(&extended)
            }
            None => resolver,
        };
        // On a stack of its own when the current one has less room than the program may
        // need (a deep expression on a small worker stack).
        let run = || {
            stacker::maybe_grow(self.stack_bytes, self.stack_bytes.saturating_add(1 << 20), || {
                env::evaluate(&self.runnable, resolver)
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

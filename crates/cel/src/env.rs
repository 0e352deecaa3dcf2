//! kube's CEL environment, built once per process: cel's standard library with
//! optional types, Kubernetes' libraries (kube-cel: strings, lists, sets, regex, urls,
//! ip, semver, format, quantity, ...), and the cost-charging functions of
//! [`crate::cost`]. Every program is parsed with [`parser`] and evaluated in a child
//! scope of [`base_context`].

use crate::cost;
use cel::common::ast::{ComprehensionExpr, Expr, ListExpr, LiteralValue};
use cel::common::types::{DYN_TYPE, UINT_TYPE};
use cel::parser::{Macro, Parser};
use cel::{Context, Env, ExecutionError, Program, Value};
use kube_cel::KubeCelExt;
use std::sync::{Arc, LazyLock};

struct Base {
    env: Arc<Env>,
    context: Context<'static, 'static>,
}

static BASE: LazyLock<Base> = LazyLock::new(|| {
    let mut env = kube_cel::env();
    use cel::common::functions::Function;
    let one = || vec![DYN_TYPE];
    let two = || vec![DYN_TYPE, DYN_TYPE];
    let with_id = || vec![DYN_TYPE, UINT_TYPE];
    let internal: [(&str, &str, Vec<_>, Function); 10] = [
        (cost::CALL, "kcel_call_dyn", one(), cost::call),
        (cost::ARG, "kcel_arg_dyn", one(), cost::size),
        (cost::RANGE, "kcel_range_dyn", one(), cost::size),
        (cost::CMP_UNIT, "kcel_cmp_unit_dyn", one(), cost::compare_unit),
        (cost::CMP_LEFT, "kcel_cmp_left_dyn_uint", with_id(), cost::compare_left),
        (cost::CMP_RIGHT, "kcel_cmp_right_dyn_uint", with_id(), cost::compare_right),
        (VAR, "kcel_var_dyn", one(), read_variable),
        (crate::mutation::STRUCT, "kcel_struct_dyn_dyn", two(), crate::mutation::construct),
        (crate::regex_cache::MATCHES, "kcel_matches_dyn_dyn", two(), crate::regex_cache::matches),
        (
            crate::regex_cache::MATCHES_CONST,
            "kcel_matches_const_dyn_dyn",
            two(),
            crate::regex_cache::matches_const,
        ),
    ];
    for (name, id, args, op) in internal {
        // A fresh environment has none of these names: declaring cannot fail.
        let declared = env.add_overload(name, id, args, op);
        debug_assert!(declared.is_ok(), "{declared:?}");
    }
    let declared = env.add_macro(bind_macro());
    debug_assert!(declared.is_ok(), "{declared:?}");
    let env = Arc::new(env);
    let mut context = Context::with_env(Arc::clone(&env));
    context.register_all();
    crate::authz::register(&mut context);
    Base { env, context }
});

/// The function the rewrite puts around a read of a dotted variable
/// (`variables.name`): the value, or the failure it was bound to.
pub(crate) const VAR: &str = "@kcel_var";

const FAILED_TYPE: &str = "kubeward.FailedVariable";

/// A variable whose evaluation failed: reading it fails with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed(pub(crate) String);

impl cel::objects::Opaque for Failed {
    fn runtime_type_name(&self) -> &str {
        FAILED_TYPE
    }
}

fn read_variable<'b, 'v>(
    args: Vec<cel::common::value::CowVal<'b, 'v>>,
) -> Result<cel::common::value::CowVal<'b, 'v>, ExecutionError> {
    let mut args = args.into_iter();
    let (Some(value), None) = (args.next(), args.next()) else {
        return Err(ExecutionError::function_error(VAR, "expected 1 argument"));
    };
    let ty = value.as_ref().get_type();
    if ty.kind() == cel::common::types::Kind::Opaque && ty.name() == FAILED_TYPE {
        if let Ok(cel::Value::Opaque(o)) = cel::Value::try_from(value.as_ref()) {
            if let Some(Failed(message)) = o.downcast_ref::<Failed>() {
                return Err(ExecutionError::function_error(VAR, message.clone()));
            }
        }
    }
    Ok(value)
}

/// `cel.bind(name, init, body)` (cel-go's bindings extension, in kube's environment):
/// `body` with `name` bound to `init`, evaluated once. Expanded, as cel-go does, to a
/// comprehension over an empty list whose accumulator is `name`.
fn bind_macro() -> Macro {
    Macro::receiver("bind", 3, |helper, target, args| {
        if !matches!(target.as_ref().map(|t| &t.expr), Some(Expr::Ident(ns)) if ns == "cel") {
            return Ok(None);
        }
        let name = match args.first().map(|a| &a.expr) {
            Some(Expr::Ident(name)) => name.clone(),
            _ => {
                let id = args.first().map_or(0, |a| a.id);
                return Err(helper.new_error(id, "cel.bind() variable names must be simple identifiers"));
            }
        };
        let (Some(body), Some(init)) = (args.pop(), args.pop()) else {
            return Err(helper.new_error(0, "cel.bind() takes three arguments"));
        };
        let iter_range = helper.next_expr(Expr::List(ListExpr::new(Vec::new())));
        let loop_cond = helper.next_expr(Expr::Literal(LiteralValue::Boolean(false.into())));
        let loop_step = helper.next_expr(Expr::Ident(name.clone()));
        Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(ComprehensionExpr {
            iter_range,
            iter_var: "#unused".to_string(),
            iter_var2: None,
            accu_var: name,
            accu_init: init,
            loop_cond,
            loop_step,
            result: body,
        })))))
    })
}

/// The shared root context: functions only, no variables.
pub(crate) fn base_context() -> &'static Context<'static, 'static> {
    &BASE.context
}

/// The macros of kube's base environment: cel's standard ones, without `cel.bind`
/// (only the parser of this environment is used).
static WITHOUT_BINDINGS: LazyLock<Env> = LazyLock::new(Env::stdlib);

/// A parser with the environment's macros and optional syntax
/// (`.?field`, `[?index]`, `{?key: v}`), nesting bounded by
/// [`MAX_PARSE_RECURSION_DEPTH`](crate::limits::MAX_PARSE_RECURSION_DEPTH); with
/// `bindings`, `cel.bind` is expanded, else it is an ordinary call (of an undeclared
/// `cel`, as kube's base environment, which has no bindings extension, sees it).
pub(crate) fn parser(bindings: bool) -> Parser {
    let env = if bindings { &BASE.env } else { &*WITHOUT_BINDINGS };
    env.parser().max_recursion_depth(crate::limits::MAX_PARSE_RECURSION_DEPTH)
}

/// Whether a function named `name` exists in the environment, as a global
/// (`name(..)`) or a member (`x.name(..)`) function. Decided by calling it without
/// arguments: only an unknown name reports an undeclared reference.
pub(crate) fn function_exists(name: &str) -> bool {
    if name.starts_with('@') {
        return false;
    }
    let undeclared = |source: String| -> bool {
        match BASE.env.compile(&source) {
            Ok(program) => is_undeclared(&program, name),
            Err(_) => true,
        }
    };
    // A qualified name (`sets.contains`) exists only as a global function: `x.f()` of
    // an undeclared `x` is not a namespace call because `f` is a member function.
    if name.contains('.') {
        return !undeclared(format!("{name}()"));
    }
    !(undeclared(format!("{name}()")) && undeclared(format!("null.{name}()")))
}

fn is_undeclared(program: &Program, name: &str) -> bool {
    let short = name.rsplit('.').next().unwrap_or(name);
    let root = name.split('.').next().unwrap_or(name);
    matches!(program.execute(&BASE.context),
        Err(ExecutionError::UndeclaredReference(n)) if n.as_str() == name || n.as_str() == short || n.as_str() == root)
}

/// Evaluates `expr` (already rewritten) in a child scope of the base context holding
/// `vars`.
pub(crate) fn evaluate(
    expr: &cel::IdedExpr,
    vars: &dyn cel::context::VariableResolver,
) -> Result<Value, ExecutionError> {
    let base: &Context<'_, '_> = base_context();
    let mut scope = base.new_inner_scope();
    scope.set_variable_resolver(vars);
    Value::resolve(expr, &scope)
}

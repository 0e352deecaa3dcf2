//! Errors of compiling and evaluating an expression, with kube's texts.
//!
//! A compile error displays as kube shows it (`compilation failed: ERROR: <input>:1:5:
//! ...` with the source line and a caret); an evaluation error as cel-go's runtime
//! error (`no such key: x`), or [`COST_LIMIT_EXCEEDED`](crate::cost::COST_LIMIT_EXCEEDED).

/// Why an expression was rejected at compile time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// Syntax errors, undeclared references or unknown functions, formatted as cel-go's
    /// issues (`ERROR: <input>:line:col: message`, source line, caret), several joined
    /// by newlines.
    #[error("compilation failed: {0}")]
    Invalid(String),
    /// The expression's result type is known and not one the context accepts
    /// (`must evaluate to string`, `cel expression must evaluate to a bool`).
    #[error("{0}")]
    ResultType(String),
    /// The expression is longer than cel-go's code point limit.
    #[error("compilation failed: expression code point size exceeds limit: size: {size}, limit {limit}")]
    TooLong { size: usize, limit: usize },
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The runtime cost limit was passed.
    #[error("{}", crate::cost::COST_LIMIT_EXCEEDED)]
    CostLimitExceeded,
    /// No overload of an operator or function accepts the argument types (an
    /// expression over a value typed `dyn`, e.g. int-or-string).
    #[error("no such overload: {0}")]
    NoSuchOverload(String),
    /// Any other runtime error, as cel-go words it: `no such key: x`, `index out of
    /// bounds: 3`, `division by zero`, `integer overflow`, ...
    #[error("{0}")]
    Runtime(String),
    /// A variable or the result could not be converted (too deep, no JSON form).
    #[error("{0}")]
    Value(#[from] crate::value::ValueError),
    /// The result is not of the type the caller asked for.
    #[error("expected a {expected} result, got {got}")]
    ResultType { expected: &'static str, got: &'static str },
    /// A check of the authorizer library has no answer yet: answer the pending checks
    /// and evaluate again ([`crate::authz`]).
    #[error("authorization check pending")]
    AuthorizationPending,
}

impl EvalError {
    /// Maps cel-rust's error to cel-go's wording.
    pub(crate) fn from_cel(error: cel::ExecutionError) -> EvalError {
        use cel::ExecutionError as E;
        if crate::cost::is_cancelled(&error) {
            return EvalError::CostLimitExceeded;
        }
        match error {
            E::NoSuchKey(key) => EvalError::Runtime(format!("no such key: {key}")),
            E::IndexOutOfBounds(index) => {
                EvalError::Runtime(format!("index out of bounds: {}", scalar_text(&index)))
            }
            E::DivisionByZero(_) => EvalError::Runtime("division by zero".into()),
            E::RemainderByZero(_) => EvalError::Runtime("modulus by zero".into()),
            E::Overflow(..) => EvalError::Runtime("integer overflow".into()),
            E::NoSuchOverload(o) => EvalError::NoSuchOverload(format!(
                "'{}' applied to '({})'",
                o.function(),
                o.argument_types().join(", ")
            )),
            E::UnexpectedType { got, want } => {
                EvalError::NoSuchOverload(format!("expected {want}, got {got}"))
            }
            E::ValuesNotComparable(a, b) => EvalError::NoSuchOverload(format!(
                "cannot compare {} and {}",
                crate::value::type_name(&a),
                crate::value::type_name(&b)
            )),
            E::UnsupportedBinaryOperator(op, a, b) => EvalError::NoSuchOverload(format!(
                "'{op}' applied to '({}, {})'",
                crate::value::type_name(&a),
                crate::value::type_name(&b)
            )),
            E::InvalidArgumentCount { expected, actual } => {
                EvalError::NoSuchOverload(format!("expected {expected} arguments, got {actual}"))
            }
            E::UndeclaredReference(name) => EvalError::Runtime(format!("no such attribute(s): {name}")),
            E::FunctionError { message, .. } => EvalError::Runtime(message),
            E::DuplicateKey(key) => {
                EvalError::Runtime(format!("Failed with repeated key: {}", scalar_text(&key)))
            }
            other => EvalError::Runtime(other.to_string()),
        }
    }
}

fn scalar_text(v: &cel::Value) -> String {
    match v {
        cel::Value::Int(i) => i.to_string(),
        cel::Value::UInt(u) => u.to_string(),
        cel::Value::Float(f) => f.to_string(),
        cel::Value::String(s) => s.to_string(),
        cel::Value::Bool(b) => b.to_string(),
        other => crate::value::type_name(other).to_string(),
    }
}

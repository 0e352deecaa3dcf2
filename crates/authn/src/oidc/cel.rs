//! CEL in an `AuthenticationConfiguration` (claim validation rules, claim mappings,
//! user validation rules), on kubeward's CEL layer ([`kcel`]): the full CEL of
//! kube-apiserver with Kubernetes' libraries, checked at load (undeclared variables
//! and functions, result types as kube requires them) and evaluated under kube's
//! per-call cost limit.
//!
//! Variables, as kube declares them: `claims` (`map(string, any)`, the token's
//! payload) for claim rules and mappings; `user` (`username`, `uid`, `groups`,
//! `extra`) for user validation rules.

use kcel::limits::PER_CALL_LIMIT;
use kcel::{Activation, Program, ResultType, Shape};
use serde_json::Value;
use std::sync::{Arc, LazyLock};

/// The variable of claim rules and mappings.
pub const CLAIMS: &str = "claims";
/// The variable of user validation rules.
pub const USER: &str = "user";

static CLAIMS_SHAPE: LazyLock<Shape> = LazyLock::new(|| Shape::map_of(Shape::Any));
static USER_SHAPE: LazyLock<Shape> = LazyLock::new(|| {
    let strings = Shape::list_of(Shape::String { max_len: None });
    Shape::object([
        ("username", Shape::String { max_len: None }),
        ("uid", Shape::String { max_len: None }),
        ("groups", strings.clone()),
        ("extra", Shape::map_of(strings)),
    ])
});

fn shape(root: &str) -> &'static Shape {
    if root == USER {
        &USER_SHAPE
    } else {
        &CLAIMS_SHAPE
    }
}

/// What an expression must evaluate to, as kube declares it per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// Validation rules.
    Bool,
    /// `username`, `uid`.
    String,
    /// `groups`, `extra[*].valueExpression`.
    StringOrList,
}

/// A compiled expression; compared by its source.
#[derive(Debug, Clone)]
pub struct Expression {
    program: Arc<Program>,
    root: &'static str,
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root && self.program.source() == other.program.source()
    }
}

/// Why an expression was rejected at load: kube's text (`compilation failed: ERROR:
/// <input>:1:8: ...`, `must evaluate to string`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct CelError {
    pub expression: String,
    pub reason: String,
}

impl Expression {
    /// Compiles `source` with the variable `root` (`claims` or `user`) in scope.
    pub fn parse(source: &str, root: &str, returns: Returns) -> Result<Self, CelError> {
        let root: &'static str = if root == USER { USER } else { CLAIMS };
        let allowed: &[ResultType] = match returns {
            Returns::Bool => &[ResultType::Bool],
            Returns::String => &[ResultType::String],
            Returns::StringOrList => &[ResultType::String, ResultType::List],
        };
        let program = Program::compile_returning(source, &[(root, shape(root))], allowed)
            .map_err(|e| CelError { expression: source.to_string(), reason: e.to_string() })?;
        Ok(Self { program: Arc::new(program), root })
    }

    pub fn source(&self) -> &str {
        self.program.source()
    }

    /// Whether the expression reads `<root>.<field>` (kube's `email_verified` rule).
    pub fn references(&self, root: &str, field: &str) -> bool {
        self.program.references_field(root, field)
    }

    /// Evaluates against variables bound with [`Vars`].
    pub fn eval(&self, vars: &Vars) -> Result<Value, String> {
        let out = self.program.evaluate(&vars.0, PER_CALL_LIMIT).map_err(|e| e.to_string())?;
        out.to_json().map_err(|e| e.to_string())
    }
}

/// The variables of one token's evaluations, converted once (borrowing the JSON).
#[derive(Debug)]
pub struct Vars<'a>(Activation<'a>);

impl<'a> Vars<'a> {
    /// `claims` bound to the token's payload.
    pub fn claims(claims: &'a Value) -> Result<Self, String> {
        Self::bind(CLAIMS, claims)
    }

    /// `user` bound to the mapped user (`username`, `uid`, `groups`, `extra`).
    pub fn user(user: &'a Value) -> Result<Self, String> {
        Self::bind(USER, user)
    }

    fn bind(root: &str, value: &'a Value) -> Result<Self, String> {
        let mut a = Activation::new();
        a.bind(root, value, shape(root)).map_err(|e| e.to_string())?;
        Ok(Vars(a))
    }
}

#[cfg(test)]
mod tests;

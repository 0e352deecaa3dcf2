//! kubeward's one CEL layer: Kubernetes' CEL environment on cel-rust (`cel` 0.15) and
//! Kubernetes' CEL libraries (`kube-cel` 0.8, vendored with a patch for cel 0.15), with
//! the static checks, cost limits and error texts kube-apiserver applies.
//!
//! # The environment
//!
//! cel's standard library (`has()`, `all`, `exists`, `exists_one`, `map`, `filter`,
//! timestamps and durations, `int`/`uint`/`double` as cel-rust implements them),
//! optional types (`self.?field`, `[?i]`, `orValue`, `optional.of`, `optional.none`,
//! `hasValue`, `value`), `cel.bind(name, init, body)`, and kube's libraries: strings, lists, sets, regex (`find`,
//! `findAll`), urls, ip and cidr, semver, format, quantity, jsonpatch, named formats,
//! math, base64.
//!
//! # Programs
//!
//! [`Program::compile`] parses and checks an expression once against declared variables
//! (name and [`Shape`]): undeclared identifiers, unknown functions and fields a declared
//! object lacks are compile errors with cel-go's text and position; a declared property
//! is read by kube's escaped identifier (`self.foo__dash__bar`, [`escape`]). [`Program::evaluate`] runs it against an
//! [`Activation`] (variables from JSON, typed by their shapes) under a runtime cost
//! limit, and returns an [`Evaluated`] result (bool, string, or JSON).
//!
//! ```
//! use kcel::{Activation, Program, Shape, limits::PER_CALL_LIMIT};
//! use serde_json::json;
//!
//! let claims = Shape::map_of(Shape::Any);
//! let p = Program::compile("claims.groups.map(g, 'oidc:' + g)", &[("claims", &claims)]).unwrap();
//! let token = json!({"groups": ["dev"]});
//! let mut vars = Activation::new();
//! vars.bind("claims", &token, &claims).unwrap();
//! let out = p.evaluate(&vars, PER_CALL_LIMIT).unwrap();
//! assert_eq!(out.to_json().unwrap(), json!(["oidc:dev"]));
//! ```
//!
//! # CRD validation rules
//!
//! [`CompiledRule`] is the API for the `x-kubernetes-validations` engine: compile each
//! rule once per schema node with [`RuleOptions`] (the node's [`Shape`], e.g.
//! [`Shape::from_openapi_schema`], and the rule's cardinality), then evaluate it per
//! value with `self` and, on update, `oldSelf`:
//!
//! ```
//! use kcel::{CompiledRule, RuleOptions, RuleOutcome, Shape};
//! use serde_json::json;
//!
//! let schema = json!({"type": "object", "properties": {
//!     "minReplicas": {"type": "integer"}, "replicas": {"type": "integer"}}});
//! let options = RuleOptions::new(Shape::from_openapi_schema(&schema));
//! let rule = CompiledRule::compile("self.minReplicas <= self.replicas", None, None, &options).unwrap();
//! assert_eq!(rule.evaluate(&json!({"minReplicas": 1, "replicas": 3}), None), Ok(RuleOutcome::Pass));
//! assert_eq!(
//!     rule.evaluate(&json!({"minReplicas": 5, "replicas": 3}), None),
//!     Ok(RuleOutcome::Fail { message: "failed rule: self.minReplicas <= self.replicas".into() })
//! );
//!
//! // A transition rule is skipped without an old value (create).
//! let immutable = CompiledRule::compile("self == oldSelf", Some("immutable"), None, &options).unwrap();
//! assert!(immutable.is_transition_rule());
//! assert_eq!(immutable.evaluate(&json!({"replicas": 1}), None), Ok(RuleOutcome::Skipped));
//! ```
//!
//! The rules of one schema node can share one conversion of `self` / `oldSelf`:
//! [`RuleVars`] with [`CompiledRule::evaluate_in`]. At a resource root the shape must
//! carry what kube adds there (`apiVersion`, `kind`, `metadata.name`,
//! `metadata.generateName`).
//!
//! The rules of one object share kube's [`RUNTIME_CEL_COST_BUDGET`](limits::RUNTIME_CEL_COST_BUDGET):
//! call [`CompiledRule::evaluate_with_budget`] with one counter for the whole object
//! and stop when it returns an error with `stop` set. Each rule's
//! [`CompiledRule::estimated_cost`] (times cardinality) is checked at compile time
//! against [`STATIC_ESTIMATED_COST_LIMIT`](limits::STATIC_ESTIMATED_COST_LIMIT); the sum
//! over a schema is the caller's to check, with [`rule::cost_exceeds_budget_message`]
//! for kube's text.
//!
//! # Cost
//!
//! cel-rust has no cost model; [`cost`] says what the runtime meter charges and why it
//! bounds time and allocation, [`Program::estimated_cost`] the static estimate over the
//! same charges.

mod activation;
pub mod admission;
pub mod authz;
mod check;
pub mod cost;
pub mod duration;
mod env;
pub mod error;
pub mod escape;
mod estimate;
mod fast;
mod homogeneous;
pub mod limits;
pub mod mutation;
mod overloads;
mod program;
pub mod reads;
mod regex_cache;
mod rewrite;
pub mod rule;
pub mod shape;
pub mod types;
pub mod value;

pub use activation::Activation;
pub use check::ResultType;
pub use error::{CompileError, EvalError};
pub use program::{Evaluated, Program};
pub use reads::Reads;
pub use rule::{
    CompiledRule, RuleCompileError, RuleError, RuleField, RuleOptions, RuleOutcome, RuleVars, SelfFields,
};
pub use shape::Shape;

//! [`Activation`]: the variables programs are evaluated with, converted once and shared,
//! and their resolution across layers of activations (lazy `variables.<name>`, selection
//! of qualified names).

use crate::error::EvalError;
use crate::program::{Evaluated, Program};
use crate::reads::Reads;
use crate::shape::Shape;
use crate::{cost, env, value};
use cel::common::types::CelMap;
use cel::common::value::{CowVal, Val};
use cel::objects::OptionalValue;
use cel::Value;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The variables of one evaluation, converted once and shared by every program
/// evaluated with them; strings are borrowed from the JSON they were bound from.
#[derive(Default)]
pub struct Activation<'a> {
    vars: Vec<(String, Entry<'a>)>,
    /// Units used by the lazy variables evaluated since [`Activation::take_lazy_cost`].
    lazy_cost: AtomicU64,
}

/// A bound variable: a value, JSON converted only when the interpreter needs it, or a
/// program evaluated when first read.
enum Entry<'a> {
    Value(Box<dyn Val + 'a>),
    /// JSON as [`Shape::Any`] converts it, with only what the `Reads` name (see
    /// [`Activation::bind_json`]).
    Json(&'a Json, &'a Reads),
    Lazy(Box<Lazy<'a>>),
}

/// A variable's value as the direct evaluator ([`crate::fast`]) reads it.
#[derive(Clone, Copy)]
pub(crate) enum Bound<'b> {
    Val(&'b dyn Val),
    Json(&'b Json),
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

    /// Binds `name` to `json` as [`bind_reads`](Self::bind_reads) binds it with
    /// [`Shape::Any`] (or with a shape whose conversion is `Any`'s: no timestamps, bytes,
    /// durations, escaped names or number coercions), converting nothing now: the direct
    /// evaluator reads the JSON in place, and an evaluation left to the interpreter
    /// converts it then (once per evaluation). For objects that every program reads
    /// directly, which is the common case of admission rules.
    pub fn bind_json(&mut self, name: &str, json: &'a Json, reads: &'a Reads) -> &mut Self {
        self.put(name, Entry::Json(json, reads));
        self
    }

    /// The JSON variables of `layers` (each name's first binding) converted for the
    /// interpreter, as a layer to look up before them; `None` when there are none.
    pub(crate) fn converting(layers: &[&Activation<'a>]) -> Result<Option<Activation<'a>>, EvalError> {
        let mut out: Option<Activation<'a>> = None;
        for (i, layer) in layers.iter().enumerate() {
            for (name, entry) in &layer.vars {
                let Entry::Json(json, reads) = entry else { continue };
                let shadowed = layers[..i].iter().any(|l| l.vars.iter().any(|(n, _)| n == name));
                if shadowed {
                    continue;
                }
                let v = value::to_val_reads(json, &Shape::Any, reads)?;
                out.get_or_insert_with(Activation::new).put(name, Entry::Value(v));
            }
        }
        Ok(out)
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
        self.bind_value(name, evaluated.value().clone())
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
pub(crate) struct Layers<'l, 'a>(pub(crate) &'l [&'l Activation<'a>]);

impl cel::context::VariableResolver for Layers<'_, '_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let found = self.0.iter().find_map(|a| a.vars.iter().find(|(n, _)| n == variable).map(|e| (*a, e)));
        let Some((owner, (_, entry))) = found else {
            return self.select(variable);
        };
        match entry {
            Entry::Value(v) => Some(CowVal::Borrowed(v.as_ref())),
            Entry::Json(json, reads) => convert(json, reads),
            Entry::Lazy(lazy) => Some(force(lazy, owner, self)),
        }
    }
}

/// A JSON variable converted for one read (the interpreter converts them once per
/// evaluation, [`Activation::converting`]; this serves other resolvers).
fn convert<'b>(json: &'b Json, reads: &Reads) -> Option<CowVal<'b, 'b>> {
    match value::to_val_reads(json, &Shape::Any, reads) {
        Ok(v) => Some(CowVal::Owned(v)),
        Err(e) => Some(CowVal::Owned(failed(e.to_string()))),
    }
}

impl Layers<'_, '_> {
    /// The value bound to `name` in the first layer that binds it, unless that is a
    /// lazily evaluated variable ([`crate::fast`] reads values only).
    pub(crate) fn value(&self, name: &str) -> Option<Bound<'_>> {
        let (_, entry) = self.0.iter().find_map(|a| a.vars.iter().find(|(n, _)| n == name))?;
        match entry {
            Entry::Value(v) => Some(Bound::Val(v.as_ref())),
            Entry::Json(json, _) => Some(Bound::Json(json)),
            Entry::Lazy(_) => None,
        }
    }

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
                Entry::Json(..) | Entry::Lazy(_) => None,
            })
        })?;
        for field in fields.split('.') {
            value = crate::fast::entry(value.downcast_ref::<CelMap>()?, field)??;
        }
        Some(CowVal::Borrowed(value))
    }
}

impl cel::context::VariableResolver for Activation<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let layers = [self];
        match self.vars.iter().find(|(n, _)| n == variable)? {
            (_, Entry::Value(v)) => Some(CowVal::Borrowed(v.as_ref())),
            (_, Entry::Json(json, reads)) => convert(json, reads),
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

//! `matches` with compiled regular expressions kept across evaluations: cel-rust
//! compiles the pattern on every call (about 20 µs for a typical name pattern), where
//! cel-go compiles a constant pattern once. The compiler routes `s.matches(p)` here
//! ([`crate::rewrite`]); patterns are cached process-wide, at most [`CAPACITY`] of
//! them (the cache is emptied when full). Compiling a pattern not in the cache is
//! charged one unit per byte of it, unless the pattern is a literal of the expression
//! ([`MATCHES_CONST`]): that compilation belongs to the program (cel-go compiles constant
//! patterns when it plans the program), so its cost does not depend on what the process
//! evaluated before.

use cel::common::types::{CelBool, CelString};
use cel::common::value::CowVal;
use cel::ExecutionError;
use regex::Regex;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

/// The function the compiler calls instead of `matches`.
pub(crate) const MATCHES: &str = "@kcel_matches";
/// The same, when the pattern is a string literal.
pub(crate) const MATCHES_CONST: &str = "@kcel_matches_const";

/// Most patterns kept.
pub const CAPACITY: usize = 512;

static CACHE: LazyLock<RwLock<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);

fn compiled(pattern: &str, constant: bool) -> Result<Arc<Regex>, ExecutionError> {
    // A poisoned lock only means another evaluation panicked mid-insert; the map is
    // still a valid cache. Hits (nearly every call) share the lock.
    if let Some(r) = CACHE.read().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(Arc::clone(r));
    }
    // Compiling costs in the pattern's length, more than scanning it.
    if !constant {
        crate::cost::charge(pattern.len() as u64)?;
    }
    let r = Arc::new(compile(pattern)?);
    let mut cache = CACHE.write().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CAPACITY {
        cache.clear();
    }
    cache.insert(pattern.to_string(), Arc::clone(&r));
    Ok(r)
}

/// Compiles a pattern, with cel-go's error text.
pub(crate) fn compile(pattern: &str) -> Result<Regex, ExecutionError> {
    Regex::new(pattern).map_err(|e| ExecutionError::function_error("matches", format!("invalid regex: {e}")))
}

/// `@kcel_matches(s, pattern)`: whether `pattern` matches anywhere in `s`.
pub(crate) fn matches<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    matches_with(args, false)
}

/// `@kcel_matches_const(s, pattern)`: `matches` with a literal pattern.
pub(crate) fn matches_const<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    matches_with(args, true)
}

fn matches_with<'b, 'v>(args: Vec<CowVal<'b, 'v>>, constant: bool) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (Some(s), Some(p)) = (args.first(), args.get(1)) else {
        return Err(ExecutionError::invalid_argument_count(2, args.len()));
    };
    let (Some(s), Some(p)) = (s.downcast_ref::<CelString>(), p.downcast_ref::<CelString>()) else {
        return Err(ExecutionError::no_such_overload(
            "matches",
            args.iter().map(|a| a.get_type().name().to_string()).collect(),
        ));
    };
    let re = compiled(p.inner(), constant)?;
    Ok(CowVal::owned(CelBool::from(re.is_match(s.inner()))))
}

//! Runtime cost: a per-thread meter charged while a program runs, and the internal
//! functions the compiler inserts to charge it (the `rewrite` pass).
//!
//! cel-rust has no cost tracking, so every unit of work an expression can repeat is
//! routed through a charge, and the meter fails the evaluation once it passes its limit:
//! - `@kcel_call(f(..))` around every call but the logical operators: 1, plus the deep
//!   size of the result when the call built a new value (an owned result);
//! - `@kcel_arg(x)` around the arguments of every call that reads its arguments whole
//!   (comparisons, `in`, string functions, kube's libraries, which copy their arguments),
//!   and around the elements of list and map literals (copied into the literal): the
//!   deep size of `x`;
//! - `@kcel_cmp_left(a, id)` and `@kcel_cmp_right(b, id)` around the two operands of an
//!   equality or ordering (`a == b`, `a < b`, ...): the deep size of the smaller operand,
//!   at least 1, as cel-go prices a comparison (it reads no further than the shorter one);
//!   `@kcel_cmp_unit(b)` around the right operand instead where an operand measures at
//!   most one unit (a scalar, a literal of at most ten bytes): then that is 1. The left
//!   one measures `a` and leaves it on a per-thread stack under the comparison's node id;
//!   the right one takes it back (dropping what comparisons inside `b` left there when
//!   their right operand failed and the failure was absorbed) and charges the smaller;
//! - `@kcel_range(r)` around the range of every comprehension (`all`, `exists`, `map`,
//!   ...), before it iterates: the deep size of `r`, which is at least one unit per
//!   iteration and pays for the copy of each element cel-rust makes.
//!
//! The deep size (`units`) is 1 per list item or map entry plus a tenth of every
//! string's and bytes' length, as kube prices traversal. Between two charges an
//! evaluation does at most a bounded amount of work (the nodes of the expression), so
//! the meter bounds time and allocation together. Once the limit is passed every charge
//! fails, so no further work starts, and the evaluation reports
//! `operation cancelled: actual cost limit exceeded` even where CEL's error absorption
//! (`x || true`) would have hidden the failing charge.

use cel::common::types::{CelBytes, CelList, CelMap, CelMapKey, CelOptional, CelString, CelUInt};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use std::cell::{Cell, RefCell};

/// The function wrapped around calls (see the module docs). `@` cannot start a CEL
/// identifier, so no expression can name these.
pub(crate) const CALL: &str = "@kcel_call";
/// The function wrapped around arguments and literal elements.
pub(crate) const ARG: &str = "@kcel_arg";
/// The functions wrapped around the left and right operand of a comparison.
pub(crate) const CMP_LEFT: &str = "@kcel_cmp_left";
pub(crate) const CMP_RIGHT: &str = "@kcel_cmp_right";
/// The function wrapped around the right operand of a comparison whose charge is one
/// unit (an operand is a scalar or a short literal).
pub(crate) const CMP_UNIT: &str = "@kcel_cmp_unit";
/// The function wrapped around comprehension ranges.
pub(crate) const RANGE: &str = "@kcel_range";

/// The message cel-go (and so kube) gives when the cost limit is reached.
pub const COST_LIMIT_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";

#[derive(Clone, Copy)]
struct Meter {
    used: u64,
    limit: u64,
}

thread_local! {
    static METER: Cell<Meter> = const { Cell::new(Meter { used: 0, limit: u64::MAX }) };
    /// Left operands measured and not yet compared: (comparison node id, units).
    static PENDING: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a fresh meter of `limit` units on this thread; returns its result and
/// the units used (more than `limit` when it was exceeded). Not reentrant: an
/// evaluation never starts another.
pub(crate) fn metered<T>(limit: u64, f: impl FnOnce() -> T) -> (T, u64) {
    METER.with(|m| m.set(Meter { used: 0, limit }));
    PENDING.with(|p| p.borrow_mut().clear());
    let out = f();
    PENDING.with(|p| p.borrow_mut().clear());
    let used = METER.with(|m| m.replace(Meter { used: 0, limit: u64::MAX }).used);
    (out, used)
}

/// Runs `f` with a fresh meter of `limit` units while another evaluation is running on
/// this thread (a lazily evaluated variable, [`crate::Activation::bind_lazy`]): the outer
/// meter and its pending comparisons are put back afterwards, untouched. Returns `f`'s
/// result and the units it used.
pub(crate) fn nested<T>(limit: u64, f: impl FnOnce() -> T) -> (T, u64) {
    let outer = METER.with(|m| m.replace(Meter { used: 0, limit }));
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let out = f();
    PENDING.with(|p| *p.borrow_mut() = pending);
    let used = METER.with(|m| m.replace(outer).used);
    (out, used)
}

/// Adds `units` to the meter; fails once the total passes the limit.
pub(crate) fn charge(units: u64) -> Result<(), ExecutionError> {
    METER.with(|m| {
        let mut meter = m.get();
        meter.used = meter.used.saturating_add(units);
        m.set(meter);
        if meter.used > meter.limit {
            Err(cancelled())
        } else {
            Ok(())
        }
    })
}

fn remaining() -> u64 {
    METER.with(|m| {
        let meter = m.get();
        meter.limit.saturating_sub(meter.used)
    })
}

pub(crate) fn cancelled() -> ExecutionError {
    ExecutionError::function_error(CALL, COST_LIMIT_EXCEEDED)
}

/// Whether `error` is the meter's.
pub(crate) fn is_cancelled(error: &ExecutionError) -> bool {
    matches!(error, ExecutionError::FunctionError { function, message }
        if function == CALL && message == COST_LIMIT_EXCEEDED)
}

/// The deep size of a value: 1 per list item and map entry, a tenth of each string's
/// and bytes' length (rounded up), nothing for scalars. Counting stops past `cap`, so
/// measuring never costs more than the budget left.
pub(crate) fn units(value: &dyn Val, cap: u64) -> u64 {
    // Strings and scalars, the most measured, without the stack.
    if let Some(s) = value.downcast_ref::<CelString>() {
        return (s.inner().len() as u64).div_ceil(10);
    }
    let container = value.downcast_ref::<CelList>().is_some()
        || value.downcast_ref::<CelMap>().is_some()
        || value.downcast_ref::<CelOptional>().is_some();
    if !container {
        return value.downcast_ref::<CelBytes>().map_or(0, |b| (b.inner().len() as u64).div_ceil(10));
    }
    let mut total: u64 = 0;
    let mut stack: Vec<&dyn Val> = vec![value];
    while let Some(v) = stack.pop() {
        if total > cap {
            break;
        }
        if let Some(s) = v.downcast_ref::<CelString>() {
            total = total.saturating_add((s.inner().len() as u64).div_ceil(10));
        } else if let Some(b) = v.downcast_ref::<CelBytes>() {
            total = total.saturating_add((b.inner().len() as u64).div_ceil(10));
        } else if let Some(list) = v.downcast_ref::<CelList>() {
            total = total.saturating_add(list.inner().len() as u64);
            stack.extend(list.inner().iter().map(|b| b.as_ref()));
        } else if let Some(map) = v.downcast_ref::<CelMap>() {
            total = total.saturating_add(map.inner().len() as u64);
            for (k, item) in map.inner() {
                if let CelMapKey::String(s) = k {
                    total = total.saturating_add((s.inner().len() as u64).div_ceil(10));
                }
                stack.push(item.as_ref());
            }
        } else if let Some(opt) = v.downcast_ref::<CelOptional>() {
            if let Some(inner) = opt.inner() {
                stack.push(inner);
            }
        }
    }
    total
}

fn single<'b, 'v>(name: &str, args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let count = args.len();
    let mut args = args.into_iter();
    match (args.next(), args.next()) {
        (Some(v), None) => Ok(v),
        _ => Err(ExecutionError::function_error(name, format!("expected 1 argument, got {count}"))),
    }
}

/// `@kcel_call(result)`: 1, plus the deep size of a newly built result.
pub(crate) fn call<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = single(CALL, args)?;
    let built = match &value {
        CowVal::Owned(v) => units(v.as_ref(), remaining()),
        CowVal::Borrowed(_) => 0,
    };
    charge(built.saturating_add(1))?;
    Ok(value)
}

/// `@kcel_arg(x)` and `@kcel_range(r)`: the deep size of the value, which is returned
/// unchanged.
pub(crate) fn size<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = single(ARG, args)?;
    charge(units(value.as_ref(), remaining()))?;
    Ok(value)
}

fn operand_and_id<'b, 'v>(
    name: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<(CowVal<'b, 'v>, u64), ExecutionError> {
    let count = args.len();
    let mut args = args.into_iter();
    match (args.next(), args.next(), args.next()) {
        (Some(v), Some(id), None) => match id.downcast_ref::<CelUInt>() {
            Some(id) => Ok((v, *id.inner())),
            None => Err(ExecutionError::function_error(name, "expected a node id")),
        },
        _ => Err(ExecutionError::function_error(name, format!("expected 2 arguments, got {count}"))),
    }
}

/// `@kcel_cmp_unit(b)`: one unit for a comparison with a scalar or a short literal.
pub(crate) fn compare_unit<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = single(CMP_UNIT, args)?;
    charge(1)?;
    Ok(value)
}

/// `@kcel_cmp_left(a, id)`: measures `a` for the comparison `id`; charges nothing yet.
pub(crate) fn compare_left<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (value, id) = operand_and_id(CMP_LEFT, args)?;
    let measured = units(value.as_ref(), remaining());
    PENDING.with(|p| p.borrow_mut().push((id, measured)));
    Ok(value)
}

/// `@kcel_cmp_right(b, id)`: charges the smaller of `b` and the left operand of `id`.
pub(crate) fn compare_right<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (value, id) = operand_and_id(CMP_RIGHT, args)?;
    let right = units(value.as_ref(), remaining());
    let left = PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        // Entries above ours are from comparisons inside `b` that never reached their
        // right operand; ours is the latest of this id (a node cannot contain itself).
        let at = pending.iter().rposition(|(pid, _)| *pid == id)?;
        let (_, units) = pending[at];
        pending.truncate(at);
        Some(units)
    });
    // cel-go counts a scalar's size as 1, so a comparison costs at least 1.
    charge(left.map_or(right, |l| l.min(right)).max(1))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::Value;
    use std::sync::Arc;

    fn boxed(v: Value) -> Box<dyn Val> {
        v.try_into().unwrap()
    }

    #[test]
    fn units_are_deep() {
        let s = boxed(Value::String(Arc::new("x".repeat(25))));
        assert_eq!(units(s.as_ref(), u64::MAX), 3);
        let list = boxed(Value::List(Arc::new(vec![Value::Int(1), Value::String(Arc::new("abc".into()))])));
        assert_eq!(units(list.as_ref(), u64::MAX), 2 + 1);
        assert_eq!(units(boxed(Value::Int(5)).as_ref(), u64::MAX), 0);
        assert_eq!(units(boxed(Value::Bytes(Arc::new(vec![0; 11]))).as_ref(), u64::MAX), 2);
        let map = boxed(Value::Map(cel::objects::Map {
            map: Arc::new(
                [(cel::objects::Key::String(Arc::new("k".into())), Value::Int(1))].into_iter().collect(),
            ),
        }));
        assert_eq!(units(map.as_ref(), u64::MAX), 1 + 1);
    }

    #[test]
    fn meter_fails_past_the_limit_and_stays_failed() {
        let ((a, b, c), used) = metered(10, || (charge(6), charge(5), charge(0)));
        assert!(a.is_ok());
        assert!(b.as_ref().is_err_and(is_cancelled));
        assert!(c.is_err());
        assert_eq!(used, 11);
        // The next evaluation starts afresh.
        let (ok, used) = metered(10, || charge(10));
        assert!(ok.is_ok() && used == 10);
    }
}

//! A direct evaluator for the simplest expressions, beside cel-rust's interpreter.
//!
//! Most admission rules are a few field reads, `has()`, comparisons, `size()`, `in` and
//! string tests joined by `&&`, `||` and `!`. cel-rust evaluates each node through
//! argument vectors, overload lookup and boxed values; here such an expression is compiled
//! once, from the cost-charging form ([`crate::rewrite`]), into a small tree that reads the
//! activation's values in place and charges the meter's units itself.
//!
//! It answers only what it can answer exactly: an evaluation that would fail anywhere
//! (a missing field, an unexpected type, the cost limit), or that meets a value it does
//! not handle (uint, double, null, lists where a string is compared), gives up, and the
//! program is evaluated again by the interpreter from the start, which reports the error
//! kube reports. So a successful answer has the interpreter's value and cost (the charges
//! mirror the rewrite's wrappers one for one), and every other case is the interpreter's.
//! `tests` checks both against the interpreter over a corpus of expressions and objects.

use crate::activation::Layers;
use crate::cost::{units, ARG, CALL, CMP_LEFT, CMP_RIGHT, CMP_UNIT, RANGE};
use crate::regex_cache::MATCHES_CONST;
use cel::common::ast::{operators, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelBool, CelInt, CelList, CelMap, CelMapKey, CelString};
use cel::common::value::{CowVal, Val};

/// A compiled expression (see the module docs).
#[derive(Debug)]
pub(crate) struct Fast {
    root: Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrTest {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Debug)]
enum Node {
    Bool(bool),
    Int(i64),
    Str(String),
    /// A variable bound to a value (not a lazily evaluated one).
    Var(String),
    /// `operand.field` on a map.
    Select(Box<Node>, String),
    /// `has(operand.field)` on a map.
    Has(Box<Node>, String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// A comparison; `unit`: charged one unit (`@kcel_cmp_unit`), else the smaller
    /// operand's size (`@kcel_cmp_left` / `@kcel_cmp_right`).
    Compare {
        op: Cmp,
        left: Box<Node>,
        right: Box<Node>,
        unit: bool,
    },
    /// `size(x)` / `x.size()` of a string, list or map.
    Size(Box<Node>),
    /// `s.startsWith(t)`, `s.endsWith(t)`, `s.contains(t)` on strings.
    Test(StrTest, Box<Node>, Box<Node>),
    /// `key in map` with a string key.
    In(Box<Node>, Box<Node>),
    /// `@kcel_arg(x)`: charged the deep size of `x`.
    Arg(Box<Node>),
    /// `s.matches('literal')`, the pattern compiled with the program.
    Matches(Box<Node>, std::sync::Arc<regex::Regex>),
    /// A comprehension's variable.
    Local(String),
    /// `operand.?field.orValue(default)` on a map, both calls charged as `@kcel_call`
    /// charges them (1, plus the deep size of the value each builds).
    OrValue {
        operand: Box<Node>,
        field: String,
        default: Default,
    },
    /// `range.all(var, body)`, or `exists` (the macros' comprehensions); the range is
    /// charged its deep size (`@kcel_range`).
    All {
        range: Box<Node>,
        var: String,
        body: Box<Node>,
        exists: bool,
    },
}

/// The literal an `orValue()` falls back to.
#[derive(Debug)]
enum Default {
    Bool(bool),
    Int(i64),
    Str(String),
    /// `{}` or `[]`.
    Empty,
}

/// The comprehension variables in scope while evaluating, innermost last.
type Locals<'a> = Vec<(&'a str, &'a dyn Val)>;

/// A value met while evaluating.
#[derive(Clone, Copy)]
enum V<'a> {
    Val(&'a dyn Val),
    Bool(bool),
    Int(i64),
    Str(&'a str),
    /// An empty map or list literal.
    Empty,
}

impl<'a> V<'a> {
    fn as_str(self) -> Option<&'a str> {
        match self {
            V::Str(s) => Some(s),
            V::Val(v) => v.downcast_ref::<CelString>().map(|s| s.inner()),
            _ => None,
        }
    }

    fn as_bool(self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(b),
            V::Val(v) => v.downcast_ref::<CelBool>().map(|b| *b.inner()),
            _ => None,
        }
    }

    fn as_int(self) -> Option<i64> {
        match self {
            V::Int(i) => Some(i),
            V::Val(v) => v.downcast_ref::<CelInt>().map(|i| *i.inner()),
            _ => None,
        }
    }

    fn as_map(self) -> Option<&'a CelMap<'a>> {
        match self {
            V::Val(v) => v.downcast_ref::<CelMap>(),
            _ => None,
        }
    }

    /// The deep size the meter charges for it ([`units`]).
    fn units(self, cap: u64) -> u64 {
        match self {
            V::Val(v) => units(v, cap),
            V::Str(s) => (s.len() as u64).div_ceil(10),
            V::Bool(_) | V::Int(_) | V::Empty => 0,
        }
    }
}

/// The meter of one fast evaluation: passing the limit gives up (the interpreter then
/// reports it).
struct Meter {
    used: u64,
    limit: u64,
}

impl Meter {
    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    fn charge(&mut self, units: u64) -> Option<()> {
        self.used = self.used.saturating_add(units);
        (self.used <= self.limit).then_some(())
    }
}

impl Fast {
    /// Compiles the cost-charging form `runnable`, whose plain identifiers are the
    /// variables `vars`; `None` when any node is outside what this evaluator handles.
    pub(crate) fn compile(runnable: &IdedExpr, vars: &[&str]) -> Option<Fast> {
        let root = node(runnable, &mut Names { vars, locals: Vec::new() })?;
        // The result must be a bool or a value read from the activation: a literal or an
        // arithmetic result at the root is left to the interpreter (never a rule).
        matches!(
            root,
            Node::Var(_)
                | Node::Select(..)
                | Node::Has(..)
                | Node::Not(_)
                | Node::And(..)
                | Node::Or(..)
                | Node::Compare { .. }
                | Node::Test(..)
                | Node::In(..)
                | Node::Matches(..)
                | Node::All { .. }
                | Node::OrValue { .. }
        )
        .then_some(Fast { root })
    }

    /// Evaluates under `limit`: the boolean result and its cost, or `None` to leave the
    /// evaluation to the interpreter.
    pub(crate) fn run(&self, layers: &Layers<'_, '_>, limit: u64) -> Option<(bool, u64)> {
        let mut meter = Meter { used: 0, limit };
        let b = eval(&self.root, layers, &mut meter, &mut Vec::new())?.as_bool()?;
        Some((b, meter.used))
    }
}

/// What names mean while compiling: the declared variables, and the comprehension
/// variables in scope (innermost last), which shadow them.
struct Names<'n> {
    vars: &'n [&'n str],
    locals: Vec<String>,
}

fn boxed(e: &IdedExpr, vars: &mut Names<'_>) -> Option<Box<Node>> {
    node(e, vars).map(Box::new)
}

fn node(e: &IdedExpr, vars: &mut Names<'_>) -> Option<Node> {
    Some(match &e.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => Node::Bool(*b.inner()),
        Expr::Literal(LiteralValue::Int(i)) => Node::Int(*i.inner()),
        Expr::Literal(LiteralValue::String(s)) => Node::Str(s.inner().to_string()),
        Expr::Ident(name) if vars.locals.contains(name) => Node::Local(name.clone()),
        Expr::Ident(name) if vars.vars.contains(&name.as_str()) => Node::Var(name.clone()),
        Expr::Comprehension(c) => comprehension(c, vars)?,
        Expr::Call(c) if c.func_name == CALL => or_value(c.args.as_slice(), vars)?,
        Expr::Select(s) if s.test => Node::Has(boxed(&s.operand, vars)?, s.field.clone()),
        Expr::Select(s) => Node::Select(boxed(&s.operand, vars)?, s.field.clone()),
        Expr::Call(c) => {
            let name = c.func_name.as_str();
            match (c.target.as_deref(), c.args.as_slice()) {
                (None, [x]) if name == operators::LOGICAL_NOT => Node::Not(boxed(x, vars)?),
                (None, [a, b]) if name == operators::LOGICAL_AND => {
                    Node::And(boxed(a, vars)?, boxed(b, vars)?)
                }
                (None, [a, b]) if name == operators::LOGICAL_OR => Node::Or(boxed(a, vars)?, boxed(b, vars)?),
                (None, [x]) if name == ARG => Node::Arg(boxed(x, vars)?),
                (None, [a, b]) if name == operators::IN => Node::In(boxed(a, vars)?, boxed(b, vars)?),
                (None, [s, IdedExpr { expr: Expr::Literal(LiteralValue::String(p)), .. }])
                    if name == MATCHES_CONST =>
                {
                    // An invalid pattern is the interpreter's runtime error.
                    let re = crate::regex_cache::compile(p.inner()).ok()?;
                    Node::Matches(boxed(s, vars)?, std::sync::Arc::new(re))
                }
                (None, [x]) | (Some(x), []) if name == "size" => Node::Size(boxed(x, vars)?),
                (Some(t), [x]) if matches!(name, "startsWith" | "endsWith" | "contains") => {
                    let test = match name {
                        "startsWith" => StrTest::StartsWith,
                        "endsWith" => StrTest::EndsWith,
                        _ => StrTest::Contains,
                    };
                    Node::Test(test, boxed(t, vars)?, boxed(x, vars)?)
                }
                (None, [a, b]) => compare(name, a, b, vars)?,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `@kcel_call(@kcel_call(_?._(operand, 'field')).orValue(default))`, the default a
/// scalar literal or an empty map or list.
fn or_value(args: &[IdedExpr], vars: &mut Names<'_>) -> Option<Node> {
    let [IdedExpr { expr: Expr::Call(or), .. }] = args else { return None };
    let (true, Some(target), [default]) =
        (or.func_name == "orValue", or.target.as_deref(), or.args.as_slice())
    else {
        return None;
    };
    let default = match &default.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => Default::Bool(*b.inner()),
        Expr::Literal(LiteralValue::Int(i)) => Default::Int(*i.inner()),
        Expr::Literal(LiteralValue::String(s)) => Default::Str(s.inner().to_string()),
        Expr::Map(m) if m.entries.is_empty() => Default::Empty,
        Expr::List(l) if l.elements.is_empty() => Default::Empty,
        _ => return None,
    };
    let Expr::Call(charged) = &target.expr else { return None };
    let (true, None, [IdedExpr { expr: Expr::Call(select), .. }]) =
        (charged.func_name == CALL, charged.target.as_ref(), charged.args.as_slice())
    else {
        return None;
    };
    match (select.func_name == operators::OPT_SELECT, select.target.as_ref(), select.args.as_slice()) {
        (true, None, [operand, IdedExpr { expr: Expr::Literal(LiteralValue::String(field)), .. }]) => {
            Some(Node::OrValue { operand: boxed(operand, vars)?, field: field.inner().to_string(), default })
        }
        _ => None,
    }
}

/// The comprehensions of `all()` and `exists()` as cel-rust's macros expand them and the
/// rewrite charges them: `@kcel_range(range)`, accumulator `@result` starting at true
/// (false), looping while it is not false (not true), each step `@result && body`
/// (`@result || body`), the accumulator the result.
fn comprehension(c: &cel::common::ast::ComprehensionExpr, vars: &mut Names<'_>) -> Option<Node> {
    const ACCU: &str = "@result";
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == ACCU);
    let call = |e: &IdedExpr, f: &str| match &e.expr {
        Expr::Call(c) if c.func_name == f && c.target.is_none() => Some(c.args.clone()),
        _ => None,
    };
    if c.iter_var2.is_some() || c.accu_var != ACCU || !is_accu(&c.result) {
        return None;
    }
    let exists = match &c.accu_init.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => !*b.inner(),
        _ => return None,
    };
    let cond = call(&c.loop_cond, operators::NOT_STRICTLY_FALSE)?;
    let accu_tested = match (exists, cond.as_slice()) {
        (false, [a]) => is_accu(a),
        (true, [not]) => {
            call(not, operators::LOGICAL_NOT).is_some_and(|a| matches!(a.as_slice(), [a] if is_accu(a)))
        }
        _ => false,
    };
    let step = call(&c.loop_step, if exists { operators::LOGICAL_OR } else { operators::LOGICAL_AND })?;
    let (true, [first, body]) = (accu_tested, step.as_slice()) else { return None };
    if !is_accu(first) {
        return None;
    }
    let range = match call(&c.iter_range, RANGE)?.as_slice() {
        [range] => boxed(range, vars)?,
        _ => return None,
    };
    vars.locals.push(c.iter_var.clone());
    let body = boxed(body, vars);
    vars.locals.pop();
    Some(Node::All { range, var: c.iter_var.clone(), body: body?, exists })
}

/// A comparison as the rewrite left it: `OP(a, @kcel_cmp_unit(b))` or
/// `OP(@kcel_cmp_left(a, id), @kcel_cmp_right(b, id))`.
fn compare(name: &str, a: &IdedExpr, b: &IdedExpr, vars: &mut Names<'_>) -> Option<Node> {
    let op = match name {
        operators::EQUALS => Cmp::Eq,
        operators::NOT_EQUALS => Cmp::Ne,
        operators::LESS => Cmp::Lt,
        operators::LESS_EQUALS => Cmp::Le,
        operators::GREATER => Cmp::Gt,
        operators::GREATER_EQUALS => Cmp::Ge,
        _ => return None,
    };
    let wrapped = |e: &IdedExpr, f: &str, n: usize| -> Option<IdedExpr> {
        match &e.expr {
            Expr::Call(c) if c.func_name == f && c.target.is_none() && c.args.len() == n => {
                c.args.first().cloned()
            }
            _ => None,
        }
    };
    if let Some(right) = wrapped(b, CMP_UNIT, 1) {
        return Some(Node::Compare { op, left: boxed(a, vars)?, right: boxed(&right, vars)?, unit: true });
    }
    let (left, right) = (wrapped(a, CMP_LEFT, 2)?, wrapped(b, CMP_RIGHT, 2)?);
    Some(Node::Compare { op, left: boxed(&left, vars)?, right: boxed(&right, vars)?, unit: false })
}

fn eval<'a>(n: &'a Node, layers: &'a Layers<'_, '_>, m: &mut Meter, l: &mut Locals<'a>) -> Option<V<'a>> {
    Some(match n {
        Node::Bool(b) => V::Bool(*b),
        Node::Int(i) => V::Int(*i),
        Node::Str(s) => V::Str(s),
        Node::Var(name) => V::Val(layers.value(name)?),
        Node::Select(operand, field) => V::Val(entry(eval(operand, layers, m, l)?.as_map()?, field)??),
        Node::Has(operand, field) => V::Bool(entry(eval(operand, layers, m, l)?.as_map()?, field)?.is_some()),
        Node::Not(x) => V::Bool(!eval(x, layers, m, l)?.as_bool()?),
        // As cel-rust: the right operand only when the left one does not decide.
        Node::And(a, b) => V::Bool(eval(a, layers, m, l)?.as_bool()? && eval(b, layers, m, l)?.as_bool()?),
        Node::Or(a, b) => V::Bool(eval(a, layers, m, l)?.as_bool()? || eval(b, layers, m, l)?.as_bool()?),
        Node::Compare { op, left, right, unit } => {
            let a = eval(left, layers, m, l)?;
            let measured = if *unit { 0 } else { a.units(m.remaining()) };
            let b = eval(right, layers, m, l)?;
            let charge = if *unit { 1 } else { measured.min(b.units(m.remaining())).max(1) };
            m.charge(charge)?;
            V::Bool(compare_values(*op, a, b)?)
        }
        Node::Size(x) => {
            let v = eval(x, layers, m, l)?;
            let size = match v {
                V::Str(s) => s.chars().count(),
                V::Val(v) => {
                    if let Some(s) = v.downcast_ref::<CelString>() {
                        s.inner().chars().count()
                    } else if let Some(map) = v.downcast_ref::<CelMap>() {
                        map.inner().len()
                    } else {
                        v.downcast_ref::<CelList>()?.inner().len()
                    }
                }
                V::Empty => 0,
                V::Bool(_) | V::Int(_) => return None,
            };
            V::Int(i64::try_from(size).ok()?)
        }
        Node::Test(test, target, arg) => {
            let s = eval(target, layers, m, l)?.as_str()?;
            let t = eval(arg, layers, m, l)?.as_str()?;
            V::Bool(match test {
                StrTest::StartsWith => s.starts_with(t),
                StrTest::EndsWith => s.ends_with(t),
                StrTest::Contains => s.contains(t),
            })
        }
        Node::In(key, container) => {
            let key = eval(key, layers, m, l)?.as_str()?;
            V::Bool(entry(eval(container, layers, m, l)?.as_map()?, key)?.is_some())
        }
        Node::Local(name) => V::Val(l.iter().rev().find(|(n, _)| n == name)?.1),
        Node::All { range, var, body, exists } => {
            let V::Val(range) = eval(range, layers, m, l)? else { return None };
            if range.downcast_ref::<CelMap>().is_none() && range.downcast_ref::<CelList>().is_none() {
                return None;
            }
            m.charge(units(range, m.remaining()))?;
            // The interpreter's order: the map's (or list's) own iterator.
            let mut items = range.as_iterable()?.iter();
            let mut accu = !*exists;
            while let Some(item) = items.next() {
                if accu == *exists {
                    break;
                }
                l.push((var.as_str(), item));
                let step = eval(body, layers, m, l);
                l.pop();
                accu = step?.as_bool()?;
            }
            V::Bool(accu)
        }
        Node::OrValue { operand, field, default } => {
            match entry(eval(operand, layers, m, l)?.as_map()?, field)? {
                Some(v) => {
                    // The optional holds a copy of the value, and orValue() returns it.
                    m.charge(units(v, m.remaining()).saturating_add(1))?;
                    m.charge(units(v, m.remaining()).saturating_add(1))?;
                    V::Val(v)
                }
                None => {
                    m.charge(1)?;
                    let d = match default {
                        Default::Bool(b) => V::Bool(*b),
                        Default::Int(i) => V::Int(*i),
                        Default::Str(s) => V::Str(s),
                        Default::Empty => V::Empty,
                    };
                    // A literal default is borrowed from the expression, an empty one
                    // measures nothing: one unit.
                    m.charge(1)?;
                    d
                }
            }
        }
        Node::Matches(x, re) => V::Bool(re.is_match(eval(x, layers, m, l)?.as_str()?)),
        Node::Arg(x) => {
            let v = eval(x, layers, m, l)?;
            m.charge(v.units(m.remaining()))?;
            v
        }
    })
}

/// Most entries of a map searched one by one: an object's maps are mostly this small, and
/// comparing a few keys costs less than hashing one (cel-rust's maps use SipHash).
const SCAN: usize = 8;

/// The value of the string key `key` in `map`: `Some(None)` when absent; `None` to give up.
pub(crate) fn entry<'a>(map: &'a CelMap<'a>, key: &str) -> Option<Option<&'a dyn Val>> {
    let entries = map.inner();
    if entries.len() <= SCAN {
        return Some(entries.iter().find_map(|(k, v)| match k {
            CelMapKey::String(s) if s.inner() == key => Some(v.as_ref()),
            _ => None,
        }));
    }
    match map.as_indexer()?.get(&CelString::from(key)) {
        Ok(CowVal::Borrowed(v)) => Some(Some(v)),
        Ok(CowVal::Owned(_)) => None,
        Err(_) => Some(None),
    }
}

/// A comparison of two strings, two ints or two bools (equality only); anything else
/// (mixed types, whose cross-type rules the interpreter knows) gives up.
fn compare_values(op: Cmp, l: V<'_>, r: V<'_>) -> Option<bool> {
    use std::cmp::Ordering;
    let order = if let (Some(a), Some(b)) = (l.as_str(), r.as_str()) {
        a.cmp(b)
    } else if let (Some(a), Some(b)) = (l.as_int(), r.as_int()) {
        a.cmp(&b)
    } else if let (Some(a), Some(b), Cmp::Eq | Cmp::Ne) = (l.as_bool(), r.as_bool(), op) {
        a.cmp(&b)
    } else {
        return None;
    };
    Some(match op {
        Cmp::Eq => order == Ordering::Equal,
        Cmp::Ne => order != Ordering::Equal,
        Cmp::Lt => order == Ordering::Less,
        Cmp::Le => order != Ordering::Greater,
        Cmp::Gt => order == Ordering::Greater,
        Cmp::Ge => order != Ordering::Less,
    })
}

#[cfg(test)]
mod tests {
    use crate::activation::Layers;
    use crate::limits::PER_CALL_LIMIT;
    use crate::shape::Shape;
    use crate::{Activation, Program};
    use serde_json::json;

    /// Expressions the direct evaluator compiles.
    const FAST: &[&str] = &[
        "object.metadata.name.size() <= 63",
        "size(object.metadata.name) > 1",
        "has(object.metadata.labels) && 'app' in object.metadata.labels",
        "!has(object.data) || size(object.data) <= 16",
        "!has(object.binaryData)",
        "request.userInfo.username != 'nobody'",
        "!object.metadata.name.startsWith('forbidden')",
        "object.metadata.name.endsWith('-x') || object.metadata.name.contains('mid')",
        "object.metadata.name != 'vap-probe'",
        "object.metadata.name == object.metadata.labels.app",
        "object.metadata.labels.app < object.metadata.name",
        "object.metadata.labels.app >= 'b' && object.metadata.labels.app <= 'zzzzzzzzzzzzzzzzzz'",
        "object.spec.replicas > 2 && object.spec.replicas <= 100",
        "object.spec.replicas == object.spec.min",
        "object.spec.paused == false",
        "object.spec.paused",
        "!object.spec.paused || object.spec.replicas == 0",
        "size(object.spec.items) < 3",
        "object.spec.items.size() == 2",
        "'ab' in object.metadata.labels || 'app' in object.metadata.labels",
        "object.metadata.name == 'a-long-name-of-more-than-ten-bytes'",
        "object.data.v.startsWith(object.metadata.name)",
        "object.metadata.missing == 1",
        "object.metadata.name.nope == 1",
        "has(object.metadata.name.x)",
        "object.metadata.name",
        "object.data.q == '17' && !has(object.data.zz) && 'p' in object.data",
        "object.metadata.labels.app.matches('^[a-z-]+$')",
        "object.metadata.name.matches('mid') || matches(object.metadata.name, '^n$')",
        "!has(object.data) || object.data.all(k, k.size() < 64)",
        "object.data.all(k, k.size() < 1) || object.data.exists(k, k == 'q')",
        "object.spec.items.all(i, i > 0) && object.spec.items.exists(i, i == 2)",
        "object.metadata.labels.exists(k, k == 'ab')",
        "object.metadata.labels.all(k, object.data.exists(j, j == k))",
        "object.metadata.labels.all(object, object.size() > 1)",
        "object.spec.items.exists(i, i.startsWith('x'))",
        "object.metadata.?annotations.orValue({}).size() < 10",
        "object.metadata.?labels.orValue({}).size() < 2",
        "object.spec.?items.orValue([]).size() == 2",
        "object.metadata.?name.orValue('none') == 'n' || object.metadata.?nick.orValue('none') == 'none'",
        "object.spec.?replicas.orValue(0) > 2",
        "object.spec.?paused.orValue(false)",
        "object.metadata.?nick.orValue('a-default-longer-than-ten').size() > 3",
    ];

    /// Expressions left to the interpreter.
    const SLOW: &[&str] = &[
        "!has(object.data) || object.data.all(k, k.size() < 64)",
        "object.metadata.name.matches('(')",
        "object.metadata.labels == {'app': 'a'}",
        "object.data.v + 'x' == object.metadata.name",
        "object.spec.replicas + 1 > 2",
        "object.spec.ratio > 0.5",
        "'a' in ['a', 'b']",
        "object.spec.items.map(x, x).size() == 2",
        "object.data.exists(k, object.data[k] == '3')",
        "object.spec.items.exists_one(i, i == 2)",
    ];

    fn objects() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "n", "labels": {"app": "a"}},
                "data": {"v": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"}}),
            json!({"metadata": {"name": "forbidden-x-mid", "labels": {"app": "forbidden-x-mid", "ab": "c"}},
                "spec": {"replicas": 3, "min": 3, "paused": false, "items": [1, 2], "ratio": 0.7},
                "binaryData": {}}),
            json!({"metadata": {"name": "vap-probe", "labels": {"app": 7}},
                "spec": {"replicas": "3", "min": 3.0, "paused": "no", "items": "xy"},
                "data": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8",
                         "i": "9", "j": "10", "k": "11", "l": "12", "m": "13", "n": "14", "o": "15", "p": "16", "q": "17"}}),
            json!({"metadata": {"name": "a-long-name-of-more-than-ten-bytes", "labels": null},
                "spec": {"replicas": 200, "min": -1, "paused": true, "items": {"a": 1}}}),
            json!({"metadata": "not an object", "spec": null}),
            json!({"metadata": {"name": ""}, "spec": {"replicas": 0, "paused": true}}),
            json!(null),
            json!([1, 2]),
        ]
    }

    fn request(user: &str) -> serde_json::Value {
        json!({"userInfo": {"username": user, "groups": ["g"]}})
    }

    fn compile(source: &str) -> Program {
        Program::compile(source, &[("object", &Shape::Any), ("request", &Shape::Any)]).unwrap()
    }

    /// The direct evaluator gives the interpreter's value and cost wherever it answers, and
    /// leaves the rest (errors, other types, the limit) to it.
    #[test]
    fn answers_as_the_interpreter_does() {
        let mut answered = 0;
        let mut gave_up = 0;
        let programs: Vec<(&str, Program)> = FAST.iter().chain(SLOW).map(|s| (*s, compile(s))).collect();
        for (s, p) in &programs {
            assert_eq!(p.fast.is_some(), FAST.contains(s), "{s}: compiled directly or not");
        }
        // Warm the regex cache (a pattern's compilation is charged to its first use only).
        let (first, req) = (objects().remove(0), request("jane"));
        let mut warm = Activation::new();
        warm.bind("object", &first, &Shape::Any).unwrap();
        warm.bind("request", &req, &Shape::Any).unwrap();
        for (_, p) in &programs {
            let _ = p.evaluate(&warm, PER_CALL_LIMIT);
        }
        for object in &objects() {
            for user in ["nobody", "jane"] {
                let req = request(user);
                let mut a = Activation::new();
                a.bind("object", object, &Shape::Any).unwrap();
                a.bind("request", &req, &Shape::Any).unwrap();
                for (s, p) in &programs {
                    for limit in [PER_CALL_LIMIT, 3, 1, 0] {
                        let layers = Layers(&[&a]);
                        let interpreted = p.interpret(&layers, limit, None).map_err(|e| e.to_string());
                        let evaluated = p.evaluate(&a, limit).map_err(|e| e.to_string());
                        assert_eq!(evaluated, interpreted, "{s} over {object} (limit {limit})");
                        match p.fast.as_ref().map(|f| f.run(&layers, limit)) {
                            Some(Some((b, cost))) => {
                                answered += 1;
                                let Ok(i) = &interpreted else {
                                    panic!("{s}: answered where the interpreter fails")
                                };
                                assert_eq!((Some(b), cost), (i.as_bool(), i.cost), "{s} over {object}");
                            }
                            Some(None) => gave_up += 1,
                            None => {}
                        }
                    }
                }
            }
        }
        // Both kinds of case are exercised.
        assert!(answered > 300, "answered {answered}");
        assert!(gave_up > 100, "gave up {gave_up}");
    }

    /// A literal pattern's compilation is the program's: an evaluation costs the same
    /// whether the process has compiled the pattern before or not.
    #[test]
    fn a_literal_patterns_cost_does_not_depend_on_the_cache() {
        let object = json!({"metadata": {"name": "abcdefghijklmnopqrstuvwxyz"}});
        let mut a = Activation::new();
        a.bind("object", &object, &Shape::Any).unwrap();
        let p = compile("object.metadata.name.matches('^[a-z]+q?z$')");
        let layers = Layers(&[&a]);
        let first = p.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
        let again = p.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
        assert_eq!((first.as_bool(), first.cost), (Some(true), 3), "the name's 26 bytes");
        assert_eq!(first, again);
        assert_eq!(p.fast.as_ref().unwrap().run(&layers, PER_CALL_LIMIT), Some((true, 3)));
        // A pattern read from the object is charged its compilation the first time.
        let q = compile("'x'.matches(object.metadata.name)");
        let first = q.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
        let again = q.interpret(&layers, PER_CALL_LIMIT, None).unwrap();
        assert_eq!((first.cost, again.cost), (3 + 26, 3));
    }

    #[test]
    fn a_lazy_variable_is_left_to_the_interpreter() {
        let object = json!({"metadata": {"name": "n"}});
        let named = compile("object.metadata.name == 'n'");
        let mut a = Activation::new();
        a.bind("object", &object, &Shape::Any).unwrap();
        let layers = Layers(&[&a]);
        assert_eq!(named.fast.as_ref().unwrap().run(&layers, PER_CALL_LIMIT), Some((true, 1)));
        let inner = compile("true");
        let mut lazy = Activation::new();
        lazy.bind_lazy("object", "object", Ok(&inner));
        assert_eq!(named.fast.as_ref().unwrap().run(&Layers(&[&lazy]), PER_CALL_LIMIT), None);
    }
}

/// Random expressions over random objects: the direct evaluator and the interpreter agree.
#[cfg(test)]
mod random {
    use crate::activation::Layers;
    use crate::shape::Shape;
    use crate::{Activation, Program};
    use serde_json::{json, Value};

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const FIELDS: &[&str] =
        &["object.s", "object.t", "object.n", "object.b", "object.m.k", "object.m.s", "request.u"];
    const COLLECTIONS: &[&str] = &["object.l", "object.m", "object.ls"];
    const STRINGS: &[&str] = &["''", "'a'", "'ab'", "'a-long-literal-string'", "'k'"];

    fn scalar(r: &mut Rng) -> String {
        match r.below(5) {
            0 => r.pick(FIELDS).to_string(),
            1 => r.pick(STRINGS).to_string(),
            2 => format!("{}", r.below(5) as i64 - 1),
            3 => format!("size({})", r.pick(&["object.s", "object.l", "object.m", "object.ls", "object.n"])),
            _ => format!(
                "{}.?{}.orValue({})",
                r.pick(&["object", "object.m"]),
                r.pick(&["s", "k", "z"]),
                r.pick(&["'d'", "0", "{}"])
            ),
        }
    }

    fn boolean(r: &mut Rng, depth: usize) -> String {
        let leaf = depth == 0 || r.below(3) == 0;
        match if leaf { r.below(6) } else { 6 + r.below(5) } {
            0 => {
                let op = r.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("{} {op} {}", scalar(r), scalar(r))
            }
            1 => format!(
                "has({})",
                r.pick(&["object.s", "object.m.k", "object.z", "object.m.z", "object.n.x"])
            ),
            2 => format!("{} in {}", r.pick(STRINGS), r.pick(&["object.m", "object.l", "object.s"])),
            3 => format!(
                "{}.{}({})",
                r.pick(&["object.s", "object.m.s", "object.n"]),
                r.pick(&["startsWith", "endsWith", "contains"]),
                r.pick(STRINGS)
            ),
            4 => format!(
                "{}.matches('{}')",
                r.pick(&["object.s", "object.m.k", "object.n"]),
                r.pick(&["^a", "b$", "[0-9]"])
            ),
            5 => r.pick(&["object.b", "true", "object.m.b"]).to_string(),
            6 => format!("{} && {}", boolean(r, depth - 1), boolean(r, depth - 1)),
            7 => format!("{} || {}", boolean(r, depth - 1), boolean(r, depth - 1)),
            8 => format!("!({})", boolean(r, depth - 1)),
            _ => {
                let body = match r.below(3) {
                    0 => "x.size() < 3".to_string(),
                    1 => format!("x == {}", r.pick(STRINGS)),
                    _ => "x.startsWith('k') || x > 'a'".to_string(),
                };
                format!("{}.{}(x, {body})", r.pick(COLLECTIONS), r.pick(&["all", "exists"]))
            }
        }
    }

    fn value(r: &mut Rng, depth: usize) -> Value {
        match r.below(if depth == 0 { 5 } else { 7 }) {
            0 => json!(["", "a", "ab", "abc", "k-long-value-here", "a1"][r.below(6)]),
            1 => json!(r.below(5) as i64 - 1),
            2 => json!(r.below(2) == 0),
            3 => Value::Null,
            4 => json!(0.5),
            5 => Value::Array((0..r.below(4)).map(|_| value(r, depth - 1)).collect()),
            _ => {
                let mut m = serde_json::Map::new();
                for k in ["k", "s", "b", "a", "ab", "k2", "z1", "z2", "z3", "z4"].iter().take(r.below(11)) {
                    m.insert(k.to_string(), value(r, depth - 1));
                }
                Value::Object(m)
            }
        }
    }

    fn object(r: &mut Rng) -> Value {
        let mut o = serde_json::Map::new();
        for k in ["s", "t", "n", "b", "m", "l", "ls"] {
            if r.below(6) != 0 {
                let v = match k {
                    "ls" => Value::Array(
                        (0..r.below(5)).map(|_| json!(["ka", "a", "kb", "zz"][r.below(4)])).collect(),
                    ),
                    _ => value(r, 2),
                };
                o.insert(k.into(), v);
            }
        }
        Value::Object(o)
    }

    #[test]
    fn random_expressions_agree() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let vars: [(&str, &Shape); 2] = [("object", &Shape::Any), ("request", &Shape::Any)];
        let objects: Vec<Value> = (0..24).map(|_| object(&mut r)).collect();
        let requests = [json!({"u": "a"}), json!({"u": 3}), json!({})];
        let (mut fast, mut answered) = (0, 0);
        for _ in 0..600 {
            let source = boolean(&mut r, 3);
            let Ok(p) = Program::compile(&source, &vars) else { continue };
            let Some(f) = p.fast.as_ref() else { continue };
            fast += 1;
            // Warm the pattern cache (a pattern read from data is charged on its first use).
            for (i, o) in objects.iter().enumerate() {
                let req = &requests[i % requests.len()];
                let mut a = Activation::new();
                a.bind("object", o, &Shape::Any).unwrap();
                a.bind("request", req, &Shape::Any).unwrap();
                let layers = Layers(&[&a]);
                for limit in [1_000_000, 4] {
                    let interpreted = p.interpret(&layers, limit, None);
                    if let Some((b, cost)) = f.run(&layers, limit) {
                        answered += 1;
                        let i = interpreted.as_ref().unwrap_or_else(|e| panic!("{source} over {o}: interpreter failed ({e}) where the direct evaluator answered {b}"));
                        assert_eq!(
                            (Some(b), cost),
                            (i.as_bool(), i.cost),
                            "{source} over {o} (limit {limit})"
                        );
                    }
                }
            }
        }
        assert!(fast > 400, "{fast} of 600 compiled directly");
        assert!(answered > 3000, "{answered} answers");
    }
}

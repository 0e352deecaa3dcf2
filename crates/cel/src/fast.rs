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

use crate::activation::{Bound, Layers};
use crate::cost::{units, ARG, CALL, CMP_LEFT, CMP_RIGHT, CMP_UNIT, RANGE};
use crate::regex_cache::MATCHES_CONST;
use cel::common::ast::{operators, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelBool, CelInt, CelList, CelMap, CelMapKey, CelString};
use cel::common::value::{CowVal, Val};
use serde_json::Value as Json;

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
    /// `{}` or `[]`: an empty literal.
    Empty,
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
    Matches(Box<Node>, regex::Regex),
    /// A comprehension's variable.
    Local(String),
    /// `operand.?field.orValue(default)` on a map, both calls charged as `@kcel_call`
    /// charges them (1, plus the deep size of the value each builds); the default is a
    /// literal node.
    OrValue {
        operand: Box<Node>,
        field: String,
        default: Box<Node>,
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

/// The comprehension variables in scope while evaluating, innermost last.
type Locals<'a> = Vec<(&'a str, V<'a>)>;

/// A value met while evaluating.
#[derive(Clone, Copy)]
enum V<'a> {
    Val(&'a dyn Val),
    /// Read in place from a JSON variable ([`crate::Activation::bind_json`]): an object,
    /// an array, null or a number that is no `int` (the rest is read as the variants
    /// below, as [`Shape::Any`](crate::Shape::Any) converts it).
    Json(&'a Json),
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

    fn as_map(self) -> Option<MapRef<'a>> {
        match self {
            V::Val(v) => v.downcast_ref::<CelMap>().map(MapRef::Cel),
            V::Json(Json::Object(m)) => Some(MapRef::Json(m)),
            _ => None,
        }
    }

    /// A JSON value as the interpreter sees it converted with `Shape::Any`.
    fn json(j: &'a Json) -> V<'a> {
        match j {
            Json::String(s) => V::Str(s),
            Json::Bool(b) => V::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => V::Int(i),
                None => V::Json(j),
            },
            other => V::Json(other),
        }
    }

    /// The deep size the meter charges for it ([`units`]).
    fn units(self, cap: u64) -> u64 {
        match self {
            V::Val(v) => units(v, cap),
            V::Json(j) => json_units(j, cap),
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

/// A map read while evaluating: converted, or a JSON object read in place.
#[derive(Clone, Copy)]
enum MapRef<'a> {
    Cel(&'a CelMap<'a>),
    Json(&'a serde_json::Map<String, Json>),
}

impl<'a> MapRef<'a> {
    /// The value of the string key `key`: `Some(None)` when absent; `None` to give up.
    fn get(self, key: &str) -> Option<Option<V<'a>>> {
        match self {
            MapRef::Cel(m) => Some(entry(m, key)?.map(V::Val)),
            MapRef::Json(m) => Some(json_entry(m, key).map(V::json)),
        }
    }
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
                    Node::Matches(boxed(s, vars)?, re)
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
    let default = Box::new(match &default.expr {
        Expr::Map(m) if m.entries.is_empty() => Node::Empty,
        Expr::List(l) if l.elements.is_empty() => Node::Empty,
        Expr::Literal(_) => node(default, vars)?,
        _ => return None,
    });
    let [select] = args_of(target, CALL)? else { return None };
    match args_of(select, operators::OPT_SELECT)? {
        [operand, IdedExpr { expr: Expr::Literal(LiteralValue::String(field)), .. }] => {
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
    if c.iter_var2.is_some() || c.accu_var != ACCU || !is_accu(&c.result) {
        return None;
    }
    let exists = match &c.accu_init.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => !*b.inner(),
        _ => return None,
    };
    let accu_tested = match (exists, args_of(&c.loop_cond, operators::NOT_STRICTLY_FALSE)?) {
        (false, [a]) => is_accu(a),
        (true, [not]) => matches!(args_of(not, operators::LOGICAL_NOT), Some([a]) if is_accu(a)),
        _ => false,
    };
    let step = args_of(&c.loop_step, if exists { operators::LOGICAL_OR } else { operators::LOGICAL_AND })?;
    let (true, [first, body]) = (accu_tested, step) else { return None };
    if !is_accu(first) {
        return None;
    }
    let range = match args_of(&c.iter_range, RANGE)? {
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
    if let Some([right]) = args_of(b, CMP_UNIT) {
        return Some(Node::Compare { op, left: boxed(a, vars)?, right: boxed(right, vars)?, unit: true });
    }
    let (Some([left, _]), Some([right, _])) = (args_of(a, CMP_LEFT), args_of(b, CMP_RIGHT)) else {
        return None;
    };
    Some(Node::Compare { op, left: boxed(left, vars)?, right: boxed(right, vars)?, unit: false })
}

/// The arguments of `e` when it is a call of the global function `f`.
fn args_of<'e>(e: &'e IdedExpr, f: &str) -> Option<&'e [IdedExpr]> {
    match &e.expr {
        Expr::Call(c) if c.func_name == f && c.target.is_none() => Some(&c.args),
        _ => None,
    }
}

fn eval<'a>(n: &'a Node, layers: &'a Layers<'_, '_>, m: &mut Meter, l: &mut Locals<'a>) -> Option<V<'a>> {
    Some(match n {
        Node::Bool(b) => V::Bool(*b),
        Node::Int(i) => V::Int(*i),
        Node::Str(s) => V::Str(s),
        Node::Empty => V::Empty,
        Node::Var(name) => match layers.value(name)? {
            Bound::Val(v) => V::Val(v),
            Bound::Json(j) => V::json(j),
        },
        Node::Select(operand, field) => eval(operand, layers, m, l)?.as_map()?.get(field)??,
        Node::Has(operand, field) => V::Bool(eval(operand, layers, m, l)?.as_map()?.get(field)?.is_some()),
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
                V::Json(Json::Array(items)) => items.len(),
                V::Json(Json::Object(members)) => members.len(),
                V::Empty => 0,
                V::Json(_) | V::Bool(_) | V::Int(_) => return None,
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
            V::Bool(eval(container, layers, m, l)?.as_map()?.get(key)?.is_some())
        }
        Node::Local(name) => l.iter().rev().find(|(n, _)| n == name)?.1,
        Node::All { range, var, body, exists } => {
            let range = eval(range, layers, m, l)?;
            let all = |items: &mut dyn Iterator<Item = V<'a>>, m: &mut Meter, l: &mut Locals<'a>| {
                m.charge(range.units(m.remaining()))?;
                let mut accu = !*exists;
                for item in items {
                    if accu == *exists {
                        break;
                    }
                    l.push((var.as_str(), item));
                    let step = eval(body, layers, m, l);
                    l.pop();
                    accu = step?.as_bool()?;
                }
                Some(V::Bool(accu))
            };
            match range {
                V::Val(r)
                    if r.downcast_ref::<CelMap>().is_some() || r.downcast_ref::<CelList>().is_some() =>
                {
                    // The interpreter's order: the map's (or list's) own iterator.
                    let mut items = r.as_iterable()?.iter();
                    all(&mut std::iter::from_fn(|| items.next().map(V::Val)), m, l)?
                }
                // A JSON object's keys in the JSON's order: one of the orders a map can
                // have (cel-rust's and Go's maps iterate in a random one).
                V::Json(Json::Object(members)) => all(&mut members.keys().map(|k| V::Str(k)), m, l)?,
                V::Json(Json::Array(items)) => all(&mut items.iter().map(V::json), m, l)?,
                _ => return None,
            }
        }
        Node::OrValue { operand, field, default } => {
            match eval(operand, layers, m, l)?.as_map()?.get(field)? {
                Some(v) => {
                    // The optional holds a copy of the value, and orValue() returns it.
                    m.charge(v.units(m.remaining()).saturating_add(1))?;
                    m.charge(v.units(m.remaining()).saturating_add(1))?;
                    v
                }
                None => {
                    m.charge(1)?;
                    // A literal default is borrowed from the expression, an empty one
                    // measures nothing: one unit.
                    m.charge(1)?;
                    eval(default, layers, m, l)?
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

/// A JSON object's members searched one by one up to this many: serde_json's map hashes
/// a key with SipHash (a few hundred instructions), while comparing a key with one of
/// another length is a few (an object's metadata has a dozen members or more).
const JSON_SCAN: usize = 32;

/// The value of `key` in a JSON object (searched one by one when small, as [`entry`]).
fn json_entry<'a>(map: &'a serde_json::Map<String, Json>, key: &str) -> Option<&'a Json> {
    if map.len() <= JSON_SCAN {
        return map.iter().find_map(|(k, v)| (k == key).then_some(v));
    }
    map.get(key)
}

/// [`units`] of the value `Shape::Any` converts `value` into.
fn json_units(value: &Json, cap: u64) -> u64 {
    let size = |s: &str| (s.len() as u64).div_ceil(10);
    let scalar = |v: &Json| match v {
        Json::String(s) => Some(size(s)),
        Json::Null | Json::Bool(_) | Json::Number(_) => Some(0),
        Json::Array(_) | Json::Object(_) => None,
    };
    // A scalar, or a flat object or array (most maps a rule measures: labels, data),
    // without the stack.
    if let Some(units) = scalar(value) {
        return units;
    }
    let flat = match value {
        Json::Object(members) => members.iter().try_fold(members.len() as u64, |t, (k, v)| {
            Some(t.saturating_add(size(k)).saturating_add(scalar(v)?))
        }),
        Json::Array(items) => {
            items.iter().try_fold(items.len() as u64, |t, v| Some(t.saturating_add(scalar(v)?)))
        }
        _ => None,
    };
    if let Some(units) = flat {
        return units;
    }
    let mut total: u64 = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        if total > cap {
            break;
        }
        match v {
            Json::String(s) => total = total.saturating_add(size(s)),
            Json::Array(items) => {
                total = total.saturating_add(items.len() as u64);
                stack.extend(items);
            }
            Json::Object(members) => {
                total = total.saturating_add(members.len() as u64);
                for (k, item) in members {
                    total = total.saturating_add(size(k));
                    stack.push(item);
                }
            }
            Json::Null | Json::Bool(_) | Json::Number(_) => {}
        }
    }
    total
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
mod random;
#[cfg(test)]
mod tests;

//! The cost-charging form of a checked expression: the calls of [`crate::cost`]
//! inserted where work can repeat (see there for the model). The rewritten expression
//! evaluates to the same value as the original; the shapes cel-rust recognizes to run
//! `map` and `filter` in linear time (`@result + [e]`) are kept as they are.

use crate::check::qualified_name;
use crate::cost::{ARG, CALL, CMP_LEFT, CMP_RIGHT, CMP_UNIT, RANGE};
use crate::env::VAR;
use crate::regex_cache::{MATCHES, MATCHES_CONST};
use cel::common::ast::{operators, CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use std::collections::HashSet;

/// Calls left unwrapped: the logical operators, whose operands are charged where they
/// do work and which themselves do constant work.
const LOGICAL: &[&str] = &[
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::CONDITIONAL,
    operators::NOT_STRICTLY_FALSE,
];

/// Calls that do not read their arguments whole: projections (index, field, optional
/// access), `size`, arithmetic and conversions of scalars. Their arguments are not
/// charged; their result is (when they build one).
pub(crate) const CONSTANT_TIME: &[&str] = &[
    operators::INDEX,
    operators::OPT_INDEX,
    operators::OPT_SELECT,
    operators::ADD,
    operators::SUBSTRACT,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::NEGATE,
    "size",
    "orValue",
    "or",
    "value",
    "hasValue",
    "of",
    "ofNonZeroValue",
    "none",
    "type",
    "dyn",
    "int",
    "uint",
    "double",
    "bool",
];

/// Equality and ordering: charged by their smaller operand, as cel-go prices them.
pub(crate) const COMPARISONS: &[&str] = &[
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::LESS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::GREATER_EQUALS,
];

/// Calls whose result is a scalar: nothing to charge for it. Their work is bounded by
/// their charged arguments, and each evaluation of them by the charges of the
/// comprehension around it, so they are left unwrapped.
const SCALAR_RESULT: &[&str] = &[
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::LESS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::GREATER_EQUALS,
    operators::IN,
    operators::SUBSTRACT,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::NEGATE,
    MATCHES,
    MATCHES_CONST,
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "hasValue",
    "int",
    "uint",
    "double",
    "bool",
    "isSorted",
    "indexOf",
    "lastIndexOf",
    "isURL",
    "isIP",
    "isCIDR",
    "isSemver",
    "isQuantity",
    "isGreaterThan",
    "isLessThan",
    "compareTo",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];

/// Rewrites `e`; `vars` are the declared variables (a call's target rooted at one is a
/// value, anything else may be a function namespace such as `sets` or `optional`);
/// `scalars` the nodes whose value is always a scalar ([`crate::estimate`]).
pub(crate) fn rewrite(e: IdedExpr, vars: &[&str], scalars: &HashSet<u64>) -> IdedExpr {
    let mut r = Rewriter { vars, scalars, scopes: Vec::new(), next_id: u64::MAX };
    r.expr(e)
}

struct Rewriter<'a> {
    vars: &'a [&'a str],
    scalars: &'a HashSet<u64>,
    scopes: Vec<Vec<String>>,
    next_id: u64,
}

impl Rewriter<'_> {
    fn wrap(&mut self, function: &str, e: IdedExpr) -> IdedExpr {
        self.next_id = self.next_id.saturating_sub(1);
        IdedExpr {
            id: self.next_id,
            expr: Expr::Call(CallExpr { func_name: function.to_string(), target: None, args: vec![e] }),
        }
    }

    /// Charges the deep size of an argument or a literal element, unless it is a
    /// constant (a literal is part of the bounded expression).
    fn charged(&mut self, e: IdedExpr) -> IdedExpr {
        let scalar = self.scalars.contains(&e.id);
        let e = self.expr(e);
        if scalar || matches!(e.expr, Expr::Literal(_)) {
            e
        } else {
            self.wrap(ARG, e)
        }
    }

    fn is_value(&self, target: &IdedExpr) -> bool {
        match qualified_name(target) {
            Some(name) => {
                let root = name.split('.').next().unwrap_or_default();
                self.vars.contains(&root) || self.scopes.iter().any(|s| s.iter().any(|v| v == root))
            }
            None => true,
        }
    }

    fn expr(&mut self, e: IdedExpr) -> IdedExpr {
        let IdedExpr { id, expr } = e;
        let expr = match expr {
            Expr::Call(call) => return self.call(id, call),
            Expr::Comprehension(c) => Expr::Comprehension(Box::new(self.comprehension(*c))),
            Expr::Select(mut s) => {
                // A declared dotted name (`variables.x`, `authorizer.requestResource`)
                // is one variable, read through `@kcel_var`.
                if let (false, Expr::Ident(root)) = (s.test, &s.operand.expr) {
                    let dotted = format!("{root}.{}", s.field);
                    let shadowed = self.scopes.iter().any(|scope| scope.iter().any(|v| v == root));
                    if !shadowed && self.vars.contains(&dotted.as_str()) {
                        return self.wrap(VAR, IdedExpr { id, expr: Expr::Ident(dotted) });
                    }
                }
                s.operand = Box::new(self.expr(*s.operand));
                Expr::Select(s)
            }
            Expr::List(mut l) => {
                l.elements = l.elements.into_iter().map(|x| self.charged(x)).collect();
                Expr::List(l)
            }
            Expr::Map(mut m) => {
                for entry in &mut m.entries {
                    if let EntryExpr::MapEntry(me) = &mut entry.expr {
                        me.key = self.charged(std::mem::take(&mut me.key));
                        me.value = self.charged(std::mem::take(&mut me.value));
                    }
                }
                Expr::Map(m)
            }
            Expr::Struct(mut s) => {
                for entry in &mut s.entries {
                    if let EntryExpr::StructField(f) = &mut entry.expr {
                        f.value = self.charged(std::mem::take(&mut f.value));
                    }
                }
                Expr::Struct(s)
            }
            other @ (Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified) => other,
        };
        IdedExpr { id, expr }
    }

    fn call(&mut self, id: u64, call: CallExpr) -> IdedExpr {
        let CallExpr { mut func_name, mut target, mut args } = call;
        // `s.matches(p)` and `matches(s, p)`: through the regex cache.
        if func_name == "matches" {
            match (target.take(), args.len()) {
                (Some(t), 1) => {
                    args.insert(0, *t);
                    func_name = MATCHES.to_string();
                }
                (None, 2) => func_name = MATCHES.to_string(),
                (t, _) => target = t,
            }
            if func_name == MATCHES
                && matches!(args.get(1), Some(IdedExpr { expr: Expr::Literal(LiteralValue::String(_)), .. }))
            {
                func_name = MATCHES_CONST.to_string();
            }
        }
        if COMPARISONS.contains(&func_name.as_str()) && target.is_none() && args.len() == 2 {
            return self.comparison(id, func_name, args);
        }
        let logical = LOGICAL.contains(&func_name.as_str());
        let reads_arguments = !logical && !CONSTANT_TIME.contains(&func_name.as_str());
        let target = target.map(|t| {
            if !self.is_value(&t) {
                t // a namespace: `sets.contains(..)`, `optional.of(..)`
            } else if reads_arguments {
                Box::new(self.charged(*t))
            } else {
                Box::new(self.expr(*t))
            }
        });
        let args =
            args.into_iter().map(|a| if reads_arguments { self.charged(a) } else { self.expr(a) }).collect();
        let scalar_result = SCALAR_RESULT.contains(&func_name.as_str());
        let call = IdedExpr { id, expr: Expr::Call(CallExpr { func_name, target, args }) };
        if logical || scalar_result {
            call
        } else {
            self.wrap(CALL, call)
        }
    }

    /// Whether `e` measures at most one unit whatever it evaluates to: a scalar, or a
    /// literal of at most ten bytes. A comparison with it costs exactly one unit.
    fn at_most_one_unit(&self, e: &IdedExpr) -> bool {
        self.scalars.contains(&e.id)
            || match &e.expr {
                Expr::Literal(LiteralValue::String(s)) => s.inner().len() <= 10,
                Expr::Literal(LiteralValue::Bytes(b)) => b.inner().len() <= 10,
                Expr::Literal(_) => true,
                _ => false,
            }
    }

    /// `a OP b` as `OP(@kcel_cmp_left(a, id), @kcel_cmp_right(b, id))`: charged by the
    /// smaller operand (see [`crate::cost`]); scalars and literals too, as they bound it.
    /// When either operand measures at most one unit the charge is one unit, once both
    /// operands are evaluated: `OP(a, @kcel_cmp_unit(b))`, one call instead of two.
    fn comparison(&mut self, id: u64, func_name: String, args: Vec<IdedExpr>) -> IdedExpr {
        if args.iter().any(|a| self.at_most_one_unit(a)) {
            let operands = match <[IdedExpr; 2]>::try_from(args) {
                Ok([a, b]) => {
                    let a = self.expr(a);
                    let b = self.expr(b);
                    vec![a, self.wrap(CMP_UNIT, b)]
                }
                Err(args) => args.into_iter().map(|a| self.expr(a)).collect(),
            };
            return IdedExpr { id, expr: Expr::Call(CallExpr { func_name, target: None, args: operands }) };
        }
        let mut operands = Vec::with_capacity(2);
        for (side, a) in [CMP_LEFT, CMP_RIGHT].into_iter().zip(args) {
            let a = self.expr(a);
            self.next_id = self.next_id.saturating_sub(1);
            let tag = IdedExpr { id: self.next_id, expr: Expr::Literal(LiteralValue::UInt(id.into())) };
            self.next_id = self.next_id.saturating_sub(1);
            operands.push(IdedExpr {
                id: self.next_id,
                expr: Expr::Call(CallExpr { func_name: side.to_string(), target: None, args: vec![a, tag] }),
            });
        }
        IdedExpr { id, expr: Expr::Call(CallExpr { func_name, target: None, args: operands }) }
    }

    fn comprehension(&mut self, c: ComprehensionExpr) -> ComprehensionExpr {
        let ComprehensionExpr {
            iter_range,
            iter_var,
            iter_var2,
            accu_var,
            accu_init,
            loop_cond,
            loop_step,
            result,
        } = c;
        let range = self.expr(iter_range);
        let iter_range = self.wrap(RANGE, range);
        let accu_init = self.expr(accu_init);
        let mut scope = vec![iter_var.clone(), accu_var.clone()];
        scope.extend(iter_var2.clone());
        self.scopes.push(scope);
        let loop_cond = self.expr(loop_cond);
        let loop_step = self.step(loop_step, &accu_var);
        let result = self.expr(result);
        self.scopes.pop();
        ComprehensionExpr {
            iter_range,
            iter_var,
            iter_var2,
            accu_var,
            accu_init,
            loop_cond,
            loop_step,
            result,
        }
    }

    /// A loop step: `accu + [e]` (optionally under `c ? .. : accu`) keeps its shape,
    /// so that cel-rust appends in place; `e` and `c` are rewritten.
    fn step(&mut self, e: IdedExpr, accu: &str) -> IdedExpr {
        let is_accu = |x: &IdedExpr| matches!(&x.expr, Expr::Ident(n) if n == accu);
        match e.expr {
            Expr::Call(call)
                if call.func_name == operators::ADD
                    && call.target.is_none()
                    && call.args.len() == 2
                    && call.args.first().is_some_and(is_accu) =>
            {
                let args = call
                    .args
                    .into_iter()
                    .map(|a| match a.expr {
                        Expr::List(mut l) => {
                            l.elements = l.elements.into_iter().map(|x| self.charged(x)).collect();
                            IdedExpr { id: a.id, expr: Expr::List(l) }
                        }
                        _ => self.expr(a),
                    })
                    .collect();
                IdedExpr { id: e.id, expr: Expr::Call(CallExpr { args, ..call }) }
            }
            Expr::Call(call) if call.func_name == operators::CONDITIONAL => {
                let CallExpr { func_name, target, args } = call;
                let args = match <[IdedExpr; 3]>::try_from(args) {
                    Ok([cond, then, otherwise]) => {
                        vec![self.expr(cond), self.step(then, accu), self.expr(otherwise)]
                    }
                    Err(args) => args.into_iter().map(|a| self.expr(a)).collect(),
                };
                IdedExpr { id: e.id, expr: Expr::Call(CallExpr { func_name, target, args }) }
            }
            expr => self.expr(IdedExpr { id: e.id, expr }),
        }
    }
}

//! The static cost estimate: the most units the charges of [`crate::rewrite`] can add up
//! to for any value of the declared [`Shape`]s, computed over the checked expression.
//!
//! Each node yields its cost and the shape of its value (sizes only matter): a variable
//! has its declared shape, a field its schema's, a call's result a shape derived from
//! its arguments (`+` adds lengths, `split` makes a list as long as the string, `replace`
//! may multiply it, ...). A comprehension costs its range's size plus, per possible
//! element, its step. Unknown sizes are what a request can carry, as kube assumes, so an
//! expression over unbounded lists of unbounded strings estimates high; bounds in the
//! schema (`maxItems`, `maxLength`, `maxProperties`) bring it down.

use crate::overloads::Type;
use crate::rewrite::CONSTANT_TIME;
use crate::shape::Shape;
use cel::common::ast::{operators, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use std::collections::{HashMap, HashSet};

/// What the estimate learns of an expression besides its cost.
pub(crate) struct Findings {
    /// The worst-case cost.
    pub(crate) cost: u64,
    /// Nodes whose value is always a scalar (nothing to charge for reading it).
    pub(crate) scalars: HashSet<u64>,
    /// Selections of a field an object's shape does not declare, and operators applied to
    /// operand types cel-go has no overload for (node, message): the compile errors
    /// cel-go's checker gives.
    pub(crate) undefined: Vec<(u64, String)>,
    /// The shape of the expression's value, as far as the declared shapes tell.
    pub(crate) shape: Shape,
}

/// Estimates `e` with variables of the given shapes.
pub(crate) fn estimate(e: &IdedExpr, vars: &[(&str, &Shape)]) -> Findings {
    let mut est = Estimator {
        scopes: vars.iter().map(|(n, s)| (n.to_string(), (*s).clone())).collect(),
        scalars: HashSet::new(),
        undefined: Vec::new(),
        types: HashMap::new(),
    };
    let root = est.node(e);
    Findings { cost: root.cost, scalars: est.scalars, undefined: est.undefined, shape: root.shape }
}

struct Est {
    cost: u64,
    shape: Shape,
}

fn scalar(cost: u64) -> Est {
    Est { cost, shape: Shape::Int }
}

fn string(max_len: u64) -> Shape {
    Shape::String { max_len: Some(max_len) }
}

struct Estimator {
    scopes: Vec<(String, Shape)>,
    scalars: HashSet<u64>,
    undefined: Vec<(u64, String)>,
    /// Nodes whose CEL type is certain (for the overload check).
    types: HashMap<u64, Type>,
}

impl Estimator {
    fn lookup(&self, name: &str) -> Shape {
        self.scopes.iter().rev().find(|(n, _)| n == name).map_or(Shape::Any, |(_, s)| s.clone())
    }

    fn node(&mut self, e: &IdedExpr) -> Est {
        let est = self.node_inner(e);
        if est.shape.is_scalar() {
            self.scalars.insert(e.id);
        }
        if let Some(t) = self.known_type(e, &est.shape) {
            self.types.insert(e.id, t);
        }
        est
    }

    /// The type of a literal, or of a field of a declared variable's schema (not of a
    /// composited variable, whose shape is inferred); `None` when it is not certain.
    fn known_type(&self, e: &IdedExpr, shape: &Shape) -> Option<Type> {
        match &e.expr {
            Expr::Literal(l) => Type::of_literal(l),
            Expr::Select(s) if !s.test => {
                let name = crate::check::qualified_name(e)?;
                let root = name.split('.').next()?;
                if root == "variables" || !self.scopes.iter().any(|(n, _)| n == root) {
                    return None;
                }
                match shape {
                    Shape::Bool => Some(Type::Bool),
                    Shape::Int => Some(Type::Int),
                    Shape::UInt => Some(Type::UInt),
                    Shape::Double => Some(Type::Double),
                    Shape::String { .. } => Some(Type::String),
                    Shape::Bytes { .. } => Some(Type::Bytes),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn node_inner(&mut self, e: &IdedExpr) -> Est {
        match &e.expr {
            Expr::Literal(l) => Est {
                cost: 0,
                shape: match l {
                    LiteralValue::String(s) => string(s.inner().len() as u64),
                    LiteralValue::Bytes(b) => Shape::Bytes { max_len: Some(b.inner().len() as u64) },
                    LiteralValue::Boolean(_) => Shape::Bool,
                    LiteralValue::Double(_) => Shape::Double,
                    _ => Shape::Int,
                },
            },
            Expr::Ident(name) => Est { cost: 0, shape: self.lookup(name) },
            Expr::Select(s) => {
                let operand = self.node(&s.operand);
                if operand.shape.field(&s.field).is_none() {
                    self.undefined.push((e.id, format!("undefined field '{}'", s.field)));
                }
                let shape = if s.test {
                    Shape::Bool
                } else {
                    operand.shape.field(&s.field).cloned().unwrap_or(Shape::Any)
                };
                Est { cost: operand.cost, shape }
            }
            Expr::List(l) => {
                let mut cost = 0u64;
                let mut items = None::<Shape>;
                for x in &l.elements {
                    let el = self.node(x);
                    cost = cost.saturating_add(el.cost).saturating_add(charged_units(x, &el.shape));
                    items = Some(match items {
                        None => el.shape,
                        Some(prev) => larger(prev, el.shape),
                    });
                }
                Est {
                    cost,
                    shape: Shape::List {
                        max_items: Some(l.elements.len() as u64),
                        items: Box::new(items.unwrap_or(Shape::Any)),
                    },
                }
            }
            Expr::Map(m) => {
                let mut cost = 0u64;
                let mut values = None::<Shape>;
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        let k = self.node(&me.key);
                        let v = self.node(&me.value);
                        cost = cost
                            .saturating_add(k.cost)
                            .saturating_add(v.cost)
                            .saturating_add(charged_units(&me.key, &k.shape))
                            .saturating_add(charged_units(&me.value, &v.shape));
                        values = Some(match values {
                            None => v.shape,
                            Some(prev) => larger(prev, v.shape),
                        });
                    }
                }
                Est {
                    cost,
                    shape: Shape::Object {
                        fields: Default::default(),
                        additional: Some(Box::new(values.unwrap_or(Shape::Any))),
                        max_properties: Some(m.entries.len() as u64),
                        escaped: false,
                    },
                }
            }
            Expr::Struct(_) | Expr::Unspecified => scalar(0),
            Expr::Call(call) => self.call(e.id, call),
            Expr::Comprehension(c) => self.comprehension(c),
        }
    }

    fn call(&mut self, id: u64, call: &cel::common::ast::CallExpr) -> Est {
        let name = call.func_name.as_str();
        let reads = !CONSTANT_TIME.contains(&name);
        let mut cost: u64 = 0;
        let mut shapes = Vec::with_capacity(call.args.len() + 1);
        let mut read_units = Vec::with_capacity(call.args.len() + 1);
        let operands = call.target.iter().map(|t| t.as_ref()).chain(call.args.iter());
        for a in operands {
            if crate::check::qualified_name(a)
                .is_some_and(|q| !self.scopes.iter().any(|(n, _)| q.split('.').next() == Some(n.as_str())))
            {
                continue; // a namespace, `sets` in `sets.contains(..)`
            }
            let est = self.node(a);
            cost = cost.saturating_add(est.cost);
            read_units.push((charged_units(a, &est.shape), est.shape.max_units()));
            shapes.push(est.shape);
        }
        if let ([a, b], None) = (call.args.as_slice(), &call.target) {
            if let (Some(l), Some(r)) = (self.types.get(&a.id), self.types.get(&b.id)) {
                if let Some(error) = crate::overloads::check(name, *l, *r) {
                    self.undefined.push((id, error));
                }
            }
        }
        if reads {
            cost = match (
                crate::rewrite::COMPARISONS.contains(&name) && call.target.is_none(),
                read_units.as_slice(),
            ) {
                // cel-go: a comparison reads no further than the shorter operand, a literal
                // one included (`self != "foo"` costs 1 however long `self` may be).
                (true, [(_, a), (_, b)]) => cost.saturating_add((*a).min(*b)),
                _ => read_units.iter().fold(cost, |c, (charged, _)| c.saturating_add(*charged)),
            };
        }
        if matches!(
            name,
            operators::LOGICAL_AND
                | operators::LOGICAL_OR
                | operators::LOGICAL_NOT
                | operators::NOT_STRICTLY_FALSE
        ) {
            return Est { cost, shape: Shape::Bool };
        }
        if name == operators::CONDITIONAL {
            let shape = match shapes.as_slice() {
                [_, a, b] => larger(a.clone(), b.clone()),
                _ => Shape::Any,
            };
            return Est { cost, shape };
        }
        let (shape, built) = result_shape(name, &shapes);
        let result_units = if built { shape.max_units() } else { 0 };
        Est { cost: cost.saturating_add(1).saturating_add(result_units), shape }
    }

    fn comprehension(&mut self, c: &ComprehensionExpr) -> Est {
        let range = self.node(&c.iter_range);
        let iterations = range.shape.max_len();
        let mut cost = range.cost.saturating_add(range.shape.max_units());
        let init = self.node(&c.accu_init);
        cost = cost.saturating_add(init.cost);
        // `map` and `filter` append to an empty list; `cel.bind` binds its init.
        let appends = matches!(&c.accu_init.expr, Expr::List(l) if l.elements.is_empty())
            && !matches!(&c.loop_step.expr, Expr::Ident(_));
        let depth = self.scopes.len();
        self.scopes.push((c.iter_var.clone(), range.shape.element()));
        if let Some(v2) = &c.iter_var2 {
            self.scopes.push((v2.clone(), Shape::Any));
        }
        let accu = if appends { Shape::list_of(Shape::Any) } else { init.shape.clone() };
        self.scopes.push((c.accu_var.clone(), accu));
        let cond = self.node(&c.loop_cond);
        let step = self.step(&c.loop_step, &c.accu_var);
        let per_iteration = cond.cost.saturating_add(step.cost);
        cost = cost.saturating_add(iterations.saturating_mul(per_iteration));
        let result = self.node(&c.result);
        cost = cost.saturating_add(result.cost);
        self.scopes.truncate(depth);
        let shape = if appends {
            // `map` / `filter`: one appended element per iteration at most.
            let items = match &step.shape {
                Shape::List { items, .. } => (**items).clone(),
                _ => Shape::Any,
            };
            Shape::List { max_items: Some(iterations), items: Box::new(items) }
        } else {
            result.shape
        };
        Est { cost, shape }
    }
}

impl Estimator {
    /// A loop step as [`crate::rewrite`] leaves it: `accu + [e]` charges `e` only, a
    /// conditional step the dearer branch.
    fn step(&mut self, e: &IdedExpr, accu: &str) -> Est {
        let is_accu = |x: &IdedExpr| matches!(&x.expr, Expr::Ident(n) if n == accu);
        match &e.expr {
            Expr::Call(call)
                if call.func_name == operators::ADD
                    && call.target.is_none()
                    && call.args.len() == 2
                    && call.args.first().is_some_and(is_accu) =>
            {
                match call.args.get(1).map(|a| &a.expr) {
                    Some(Expr::List(l)) => {
                        let mut cost = 0u64;
                        let mut items = Shape::Any;
                        for x in &l.elements {
                            let el = self.node(x);
                            cost = cost.saturating_add(el.cost).saturating_add(charged_units(x, &el.shape));
                            items = el.shape;
                        }
                        Est { cost, shape: Shape::List { max_items: Some(1), items: Box::new(items) } }
                    }
                    _ => scalar(0),
                }
            }
            Expr::Call(call) if call.func_name == operators::CONDITIONAL => match call.args.as_slice() {
                [cond, then, otherwise] => {
                    let cond = self.node(cond);
                    let then = self.step(then, accu);
                    let otherwise = self.node(otherwise);
                    Est { cost: cond.cost.saturating_add(then.cost.max(otherwise.cost)), shape: then.shape }
                }
                _ => self.node(e),
            },
            _ => self.node(e),
        }
    }
}

/// What `@kcel_arg` charges for an argument of this shape (nothing for a literal).
fn charged_units(e: &IdedExpr, shape: &Shape) -> u64 {
    if matches!(e.expr, Expr::Literal(_)) {
        0
    } else {
        shape.max_units()
    }
}

/// The larger of two shapes, by worst-case size.
fn larger(a: Shape, b: Shape) -> Shape {
    if a.max_units() >= b.max_units() {
        a
    } else {
        b
    }
}

fn max_len(s: &Shape) -> u64 {
    match s {
        Shape::String { .. }
        | Shape::Bytes { .. }
        | Shape::List { .. }
        | Shape::Object { .. }
        | Shape::Any => s.max_len(),
        // A scalar printed as a string.
        _ => 32,
    }
}

/// The shape of a call's result, and whether the call may build it (charged for its
/// size at run time when it is a new value; cel-rust copies even projections such as
/// an index or `orValue`, so those count as built too).
fn result_shape(name: &str, args: &[Shape]) -> (Shape, bool) {
    let first = args.first().cloned().unwrap_or(Shape::Any);
    let len = |i: usize| args.get(i).map_or(0, max_len);
    let built = |s: Shape| (s, true);
    match name {
        // A struct of kube's patch types: its fields' map.
        crate::mutation::STRUCT => built(args.get(1).cloned().unwrap_or(Shape::Any)),
        operators::INDEX | operators::OPT_INDEX => {
            let shape = match &first {
                Shape::List { items, .. } => (**items).clone(),
                Shape::Object { additional: Some(v), fields, .. } if fields.is_empty() => (**v).clone(),
                _ => Shape::Any,
            };
            built(shape)
        }
        operators::OPT_SELECT | "orValue" | "or" | "value" | "of" | "ofNonZeroValue" | "dyn" => {
            built(args.iter().cloned().reduce(larger).unwrap_or(Shape::Any))
        }
        operators::ADD => match (args.first(), args.get(1)) {
            (Some(Shape::String { .. }), _) | (_, Some(Shape::String { .. })) => {
                built(string(len(0).saturating_add(len(1))))
            }
            (Some(Shape::List { items, .. }), Some(b @ Shape::List { .. })) => built(Shape::List {
                max_items: Some(len(0).saturating_add(len(1))),
                items: Box::new(larger((**items).clone(), b.element())),
            }),
            (Some(Shape::Bytes { .. }), _) => {
                built(Shape::Bytes { max_len: Some(len(0).saturating_add(len(1))) })
            }
            _ => (first, false),
        },
        "lowerAscii" | "upperAscii" | "trim" | "substring" | "charAt" | "reverse" | "find" | "string"
        | "strings.escape" => {
            if matches!(first, Shape::List { .. }) {
                built(first)
            } else {
                built(string(len(0)))
            }
        }
        "quote" | "strings.quote" => built(string(len(0).saturating_mul(2).saturating_add(2))),
        "replace" => {
            // Every position may be replaced: length times the replacement's.
            built(string(len(0).saturating_add(1).saturating_mul(len(2).max(1))))
        }
        "split" | "findAll" => {
            built(Shape::List { max_items: Some(len(0).saturating_add(1)), items: Box::new(string(len(0))) })
        }
        "join" => {
            built(string(first.max_units().saturating_mul(10).saturating_add(len(1).saturating_mul(len(0)))))
        }
        "format" => {
            built(string(len(0).saturating_add(args.get(1).map_or(0, |a| a.max_units().saturating_mul(10)))))
        }
        "sort" | "distinct" | "slice" | "flatten" | "lists.range" => built(first),
        "keys" | "values" => built(Shape::list_of(Shape::Any)),
        "base64.encode" => built(string(len(0).saturating_mul(4) / 3 + 4)),
        "base64.decode" | "bytes" => built(Shape::Bytes { max_len: Some(len(0)) }),
        "sum" | "min" | "max" => built(first.element()),
        // Booleans, numbers, and kube's small opaque values (quantity, ip, url, semver).
        _ => built(Shape::Int),
    }
}

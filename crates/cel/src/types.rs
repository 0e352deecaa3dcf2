//! cel-go's static type of an expression, where kube's admission checks need it: an
//! expression must have exactly the type its field wants (`must evaluate to bool but got
//! dyn`), and a composited variable has the type of its expression (`variables.x` is a
//! `string` when `x` is `'a' + 'b'`, `dyn` when it is `object.spec.paused`).
//!
//! [`infer`] answers `None` where it cannot tell what cel-go's checker would say (an
//! arithmetic over `dyn`, which cel-go resolves by overload; a function it does not
//! list here): such an expression is accepted, as before, and checked at run time. Where
//! it answers, it answers as cel-go: a field, index or optional selection of `dyn` is
//! `dyn`; a conditional joins its branches (`dyn` with anything is `dyn`); `map` and
//! `filter` build `list(T)` of their element type; `dyn(x)` is `dyn`.

use crate::shape::Shape;
use cel::common::ast::{operators, Expr, IdedExpr, LiteralValue};

/// A static type, as cel-go names it.
#[derive(Debug, Clone, PartialEq)]
pub enum CelType {
    Bool,
    Int,
    UInt,
    Double,
    String,
    Bytes,
    Null,
    Timestamp,
    Duration,
    Type,
    Dyn,
    List(Box<CelType>),
    Map(Box<CelType>, Box<CelType>),
    Optional(Box<CelType>),
    /// A declared object type (the admission request, a schema's object): its fields
    /// have the types of their shapes.
    Declared(Box<Shape>),
    /// One of kube's patch types (`Object`, `Object.spec`, `JSONPatch`).
    Named(String),
    /// The element type of an empty literal, not yet known.
    Free,
}

impl CelType {
    /// cel-go's name of the type; `None` for declared objects (whose names kube prints
    /// otherwise).
    pub fn name(&self) -> Option<String> {
        Some(match self {
            CelType::Bool => "bool".into(),
            CelType::Int => "int".into(),
            CelType::UInt => "uint".into(),
            CelType::Double => "double".into(),
            CelType::String => "string".into(),
            CelType::Bytes => "bytes".into(),
            CelType::Null => "null_type".into(),
            CelType::Timestamp => "google.protobuf.Timestamp".into(),
            CelType::Duration => "google.protobuf.Duration".into(),
            CelType::Type => "type".into(),
            CelType::Dyn => "dyn".into(),
            CelType::List(e) => format!("list({})", e.name()?),
            CelType::Map(k, v) => format!("map({}, {})", k.name()?, v.name()?),
            CelType::Optional(t) => format!("optional_type({})", t.name()?),
            CelType::Named(n) => n.clone(),
            // cel-go types an empty literal's elements `dyn`.
            CelType::Free => "dyn".into(),
            CelType::Declared(_) => return None,
        })
    }

    /// The type of a value of `shape`.
    pub fn of_shape(shape: &Shape) -> CelType {
        match shape {
            Shape::Any | Shape::IntOrString => CelType::Dyn,
            Shape::Bool => CelType::Bool,
            Shape::Int => CelType::Int,
            Shape::UInt => CelType::UInt,
            Shape::Double => CelType::Double,
            Shape::String { .. } => CelType::String,
            Shape::Bytes { .. } => CelType::Bytes,
            Shape::Timestamp => CelType::Timestamp,
            Shape::Duration => CelType::Duration,
            Shape::List { items, .. } => CelType::List(Box::new(CelType::of_shape(items))),
            Shape::Object { fields, additional: Some(values), .. } if fields.is_empty() => {
                CelType::Map(Box::new(CelType::String), Box::new(CelType::of_shape(values)))
            }
            Shape::Object { .. } => CelType::Declared(Box::new(shape.clone())),
        }
    }

    /// The type of a selection `.field` of a value of this type.
    fn field(&self, field: &str) -> Option<CelType> {
        match self {
            CelType::Dyn => Some(CelType::Dyn),
            CelType::Map(_, v) => Some((**v).clone()),
            CelType::Declared(shape) => shape.field(field).map(CelType::of_shape),
            _ => None,
        }
    }

    /// The type of an element of this type when indexed.
    fn element(&self) -> Option<CelType> {
        match self {
            CelType::Dyn => Some(CelType::Dyn),
            CelType::List(e) => Some(settled(e)),
            CelType::Map(_, v) => Some(settled(v)),
            CelType::Declared(shape) => match &**shape {
                Shape::Object { additional: Some(v), .. } => Some(CelType::of_shape(v)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The type of the iteration variable of a comprehension over this type.
    fn iterated(&self) -> Option<CelType> {
        match self {
            CelType::Dyn => Some(CelType::Dyn),
            CelType::List(e) => Some(settled(e)),
            CelType::Map(k, _) => Some(settled(k)),
            CelType::Declared(_) => Some(CelType::String),
            _ => None,
        }
    }
}

/// An element type never settled is `dyn` once read.
fn settled(t: &CelType) -> CelType {
    match t {
        CelType::Free => CelType::Dyn,
        other => other.clone(),
    }
}

/// The type of a value that is one of `a` or `b` (a conditional's branches, a list's
/// accumulated elements), as cel-go joins them; `None` where they do not join.
fn join(a: CelType, b: CelType) -> Option<CelType> {
    match (a, b) {
        (a, b) if a == b => Some(a),
        (CelType::Free, x) | (x, CelType::Free) => Some(x),
        (CelType::Dyn, _) | (_, CelType::Dyn) => Some(CelType::Dyn),
        (CelType::List(a), CelType::List(b)) => Some(CelType::List(Box::new(join(*a, *b)?))),
        (CelType::Map(ka, va), CelType::Map(kb, vb)) => {
            Some(CelType::Map(Box::new(join(*ka, *kb)?), Box::new(join(*va, *vb)?)))
        }
        (CelType::Optional(a), CelType::Optional(b)) => Some(CelType::Optional(Box::new(join(*a, *b)?))),
        _ => None,
    }
}

/// The declared variables (a dotted name such as `variables.x` is one variable) and the
/// comprehension variables in scope.
pub struct Scope<'a> {
    declared: &'a [(String, Option<CelType>)],
    locals: Vec<(String, Option<CelType>)>,
}

impl<'a> Scope<'a> {
    pub fn new(declared: &'a [(String, Option<CelType>)]) -> Self {
        Self { declared, locals: Vec::new() }
    }

    fn local(&self, name: &str) -> Option<&Option<CelType>> {
        self.locals.iter().rev().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub(crate) fn push_local(&mut self, name: &str, t: Option<CelType>) {
        self.locals.push((name.to_string(), t));
    }

    pub(crate) fn pop_local(&mut self) {
        self.locals.pop();
    }

    fn lookup(&self, name: &str) -> Option<CelType> {
        match self.local(name) {
            Some(t) => t.clone(),
            None => self.declared.iter().find(|(n, _)| n == name).and_then(|(_, t)| t.clone()),
        }
    }
}

/// Bounds the recursion of [`infer`] (expressions are bounded by the parser; this keeps
/// the walk bounded whatever it is given).
pub(crate) const MAX_DEPTH: usize = 300;

/// The static type of `e` in `scope`, where cel-go's would be plain (module docs).
pub fn infer(e: &IdedExpr, scope: &mut Scope<'_>) -> Option<CelType> {
    infer_at(e, scope, 0)
}

pub(crate) fn infer_at(e: &IdedExpr, scope: &mut Scope<'_>, depth: usize) -> Option<CelType> {
    if depth > MAX_DEPTH {
        return None;
    }
    let sub = |e: &IdedExpr, scope: &mut Scope<'_>| infer_at(e, scope, depth + 1);
    match &e.expr {
        Expr::Literal(l) => Some(match l {
            LiteralValue::Boolean(_) => CelType::Bool,
            LiteralValue::Bytes(_) => CelType::Bytes,
            LiteralValue::Double(_) => CelType::Double,
            LiteralValue::Int(_) => CelType::Int,
            LiteralValue::Null => CelType::Null,
            LiteralValue::String(_) => CelType::String,
            LiteralValue::UInt(_) => CelType::UInt,
        }),
        Expr::Ident(name) => scope.lookup(name),
        Expr::Select(s) if s.test => Some(CelType::Bool),
        Expr::Select(s) => {
            if let Expr::Ident(root) = &s.operand.expr {
                let dotted = format!("{root}.{}", s.field);
                if scope.local(root).is_none() && scope.declared.iter().any(|(n, _)| *n == dotted) {
                    return scope.lookup(&dotted);
                }
            }
            match sub(&s.operand, scope)? {
                // Optional chaining: `x.?a.b` is an optional of `b`.
                CelType::Optional(inner) => Some(CelType::Optional(Box::new(inner.field(&s.field)?))),
                t => t.field(&s.field),
            }
        }
        Expr::List(l) => {
            let mut t = CelType::Free;
            for item in &l.elements {
                t = join_exact(t, sub(item, scope)?)?;
            }
            Some(CelType::List(Box::new(t)))
        }
        Expr::Map(m) => {
            let (mut k, mut v) = (CelType::Free, CelType::Free);
            for entry in &m.entries {
                let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr else { return None };
                k = join_exact(k, sub(&me.key, scope)?)?;
                v = join_exact(v, sub(&me.value, scope)?)?;
            }
            Some(CelType::Map(Box::new(k), Box::new(v)))
        }
        Expr::Call(call) => infer_call(e, call, scope, depth),
        Expr::Comprehension(c) => {
            if c.iter_var2.is_some() {
                return None;
            }
            let (_, _, accu) = comprehension_locals(c, scope, depth);
            scope.locals.push((c.accu_var.clone(), accu));
            let result = sub(&c.result, scope);
            scope.locals.pop();
            result
        }
        _ => None,
    }
}

/// The types of a comprehension's variables: the iteration variable, the accumulator
/// while iterating (its init) and after (its init joined with its step).
pub(crate) fn comprehension_locals(
    c: &cel::common::ast::ComprehensionExpr,
    scope: &mut Scope<'_>,
    depth: usize,
) -> (Option<CelType>, Option<CelType>, Option<CelType>) {
    let sub = |e: &IdedExpr, scope: &mut Scope<'_>| infer_at(e, scope, depth + 1);
    let iter =
        if c.iter_var2.is_some() { None } else { sub(&c.iter_range, scope).and_then(|r| r.iterated()) };
    let init = sub(&c.accu_init, scope);
    scope.locals.push((c.iter_var.clone(), iter.clone()));
    scope.locals.push((c.accu_var.clone(), init.clone()));
    let step = sub(&c.loop_step, scope);
    let accu = match (init.clone(), step) {
        (Some(i), Some(s)) => join(i, s),
        _ => None,
    };
    scope.locals.pop();
    scope.locals.pop();
    (iter, init, accu)
}

/// The element type of a literal holding both: cel-go wants them of one type (kube's
/// homogeneous aggregate literals), `dyn` only with `dyn`.
fn join_exact(a: CelType, b: CelType) -> Option<CelType> {
    match (a, b) {
        (a, b) if a == b => Some(a),
        (CelType::Free, x) => Some(x),
        _ => None,
    }
}

fn infer_call(
    e: &IdedExpr,
    call: &cel::common::ast::CallExpr,
    scope: &mut Scope<'_>,
    depth: usize,
) -> Option<CelType> {
    let sub = |e: &IdedExpr, scope: &mut Scope<'_>| infer_at(e, scope, depth + 1);
    let args = call.args.as_slice();
    let target = call.target.as_deref();
    match call.func_name.as_str() {
        crate::mutation::STRUCT => crate::mutation::lowered_name(e).map(|n| CelType::Named(n.to_string())),
        name if crate::check::BOOL_FUNCTIONS.contains(&name) => Some(CelType::Bool),
        operators::NOT_STRICTLY_FALSE | operators::HAS | "bool" => Some(CelType::Bool),
        "size" | "int" | "indexOf" | "lastIndexOf" | "compareTo" => Some(CelType::Int),
        "uint" => Some(CelType::UInt),
        "double" => Some(CelType::Double),
        "bytes" => Some(CelType::Bytes),
        "type" => Some(CelType::Type),
        "timestamp" => Some(CelType::Timestamp),
        "duration" => Some(CelType::Duration),
        "string" | "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt" | "join"
        | "format" | "getHost" | "getScheme" | "getPath" | "getQuery" | "getEscapedPath" | "getPort" => {
            Some(CelType::String)
        }
        "split" | "findAll" => Some(CelType::List(Box::new(CelType::String))),
        "dyn" => Some(CelType::Dyn),
        operators::CONDITIONAL => match args {
            [_, a, b] => {
                let (a, b) = (sub(a, scope)?, sub(b, scope)?);
                join(a, b)
            }
            _ => None,
        },
        operators::INDEX => match args {
            [a, _] => sub(a, scope)?.element(),
            _ => None,
        },
        operators::OPT_SELECT => match args {
            [a, f] => {
                let Expr::Literal(LiteralValue::String(field)) = &f.expr else { return None };
                let inner = match sub(a, scope)? {
                    CelType::Optional(t) => *t,
                    t => t,
                };
                Some(CelType::Optional(Box::new(inner.field(field.inner())?)))
            }
            _ => None,
        },
        operators::OPT_INDEX => match args {
            [a, _] => {
                let inner = match sub(a, scope)? {
                    CelType::Optional(t) => *t,
                    t => t,
                };
                Some(CelType::Optional(Box::new(inner.element()?)))
            }
            _ => None,
        },
        "orValue" => match (target, args) {
            (Some(t), [other]) => match sub(t, scope)? {
                CelType::Optional(inner) => join(*inner, sub(other, scope)?),
                _ => None,
            },
            _ => None,
        },
        "value" => match (target, args) {
            (Some(t), []) => match sub(t, scope)? {
                CelType::Optional(inner) => Some(*inner),
                _ => None,
            },
            _ => None,
        },
        "optional.of" | "optional.ofNonZeroValue" => match args {
            [x] => Some(CelType::Optional(Box::new(sub(x, scope)?))),
            _ => None,
        },
        "optional.none" => Some(CelType::Optional(Box::new(CelType::Dyn))),
        operators::ADD => match args {
            [a, b] => match (sub(a, scope)?, sub(b, scope)?) {
                (CelType::List(x), CelType::List(y)) => Some(CelType::List(Box::new(join(*x, *y)?))),
                (x, y)
                    if x == y
                        && matches!(
                            x,
                            CelType::String
                                | CelType::Int
                                | CelType::UInt
                                | CelType::Double
                                | CelType::Bytes
                                | CelType::Duration
                        ) =>
                {
                    Some(x)
                }
                (CelType::Timestamp, CelType::Duration) | (CelType::Duration, CelType::Timestamp) => {
                    Some(CelType::Timestamp)
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_of(source: &str, declared: &[(String, Option<CelType>)]) -> Option<String> {
        let parsed = crate::check::parse_with(source, true).unwrap();
        infer(&parsed.expr, &mut Scope::new(declared)).and_then(|t| t.name())
    }

    #[test]
    fn types_as_cel_go_names_them() {
        let declared = vec![
            ("object".to_string(), Some(CelType::Dyn)),
            ("variables.s".to_string(), Some(CelType::String)),
            ("variables.d".to_string(), Some(CelType::Dyn)),
            ("variables.u".to_string(), None),
        ];
        let t = |s: &str| type_of(s, &declared);
        assert_eq!(t("object.spec.paused").as_deref(), Some("dyn"));
        assert_eq!(t("object.spec.x[0]").as_deref(), Some("dyn"));
        assert_eq!(t("has(object.a) ? object.a : true").as_deref(), Some("dyn"));
        assert_eq!(t("object.?spec.paused.orValue(false)").as_deref(), Some("dyn"));
        assert_eq!(t("dyn(true)").as_deref(), Some("dyn"));
        assert_eq!(t("object.spec.x.map(x, x)").as_deref(), Some("list(dyn)"));
        assert_eq!(t("object.spec.x.filter(c, c.x)[0]").as_deref(), Some("dyn"));
        assert_eq!(t("object.spec.x.all(c, c.x)").as_deref(), Some("bool"));
        assert_eq!(t("[1, 2].map(x, string(x))").as_deref(), Some("list(string)"));
        assert_eq!(t("variables.s").as_deref(), Some("string"));
        assert_eq!(t("variables.d").as_deref(), Some("dyn"));
        assert_eq!(t("variables.d == true").as_deref(), Some("bool"));
        assert_eq!(t("cel.bind(x, 'a', x + 'b')").as_deref(), Some("string"));
        // Where cel-go resolves by overload, no answer.
        assert_eq!(t("object.spec.replicas - 1"), None);
        assert_eq!(t("variables.u"), None);
        assert_eq!(t("unknownFunction(object)"), None);
    }
}

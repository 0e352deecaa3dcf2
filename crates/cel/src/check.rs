//! Parsing and the static checks cel-rust leaves out: every identifier must be a
//! declared variable, a comprehension variable or a type name, and every called
//! function must exist (cel-go's `undeclared reference to 'x' (in container '')`, with
//! the position). Also infers the result type where the expression makes it plain
//! ([`ResultType`]), for kube's `must evaluate to ...` checks.
//!
//! Errors are formatted as cel-go formats issues: `ERROR: <input>:line:col: message`,
//! the source line, and a caret under the column.

use crate::error::CompileError;
use crate::limits::{MAX_AST_DEPTH, MAX_EXPRESSION_CODE_POINTS};
use cel::common::ast::{operators, EntryExpr, Expr, IdedExpr, LiteralValue, SourceInfo};
use std::collections::BTreeMap;

/// Names usable as values without being declared: CEL's type denotations.
const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "optional_type",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
];

/// A parsed expression and where its nodes are in the source.
pub(crate) struct Parsed {
    pub(crate) expr: IdedExpr,
    pub(crate) info: SourceInfo,
    /// Depth of the tree (a leaf is 1).
    pub(crate) depth: usize,
}

/// Depth of an expression tree, without recursion.
fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        stack.extend(children(e).into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

/// The direct subexpressions of `e`.
pub(crate) fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    fn entry(en: &cel::common::ast::IdedEntryExpr) -> Vec<&IdedExpr> {
        match &en.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        }
    }
    match &e.expr {
        Expr::Select(s) => vec![&s.operand],
        Expr::Call(c) => c.target.iter().map(|t| t.as_ref()).chain(c.args.iter()).collect(),
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m.entries.iter().flat_map(entry).collect(),
        Expr::Struct(st) => st.entries.iter().flat_map(entry).collect(),
        Expr::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

/// Parses `source`, refusing what cel-go refuses before parsing (size); `bindings`:
/// whether `cel.bind` is expanded ([`crate::env::parser`]).
pub(crate) fn parse_with(source: &str, bindings: bool) -> Result<Parsed, CompileError> {
    let size = source.chars().count();
    if size > MAX_EXPRESSION_CODE_POINTS {
        return Err(CompileError::TooLong { size, limit: MAX_EXPRESSION_CODE_POINTS });
    }
    match crate::env::parser(bindings).parse_with_source_info(source) {
        Ok((expr, info)) => {
            let depth = depth(&expr);
            if depth > MAX_AST_DEPTH {
                return Err(CompileError::Invalid(issue(
                    source,
                    1,
                    0,
                    &format!("expression nesting exceeds limit: depth {depth}, limit {MAX_AST_DEPTH}"),
                )));
            }
            Ok(Parsed { expr, info, depth })
        }
        Err(errors) => {
            let issues: Vec<String> = errors
                .errors
                .iter()
                .map(|e| {
                    let line = usize::try_from(e.pos.0).unwrap_or(1).max(1);
                    let column = usize::try_from(e.pos.1).unwrap_or(1).max(1) - 1;
                    if e.msg.contains("Recursion limit") {
                        issue(source, line, column, "max recursion depth exceeded")
                    } else {
                        issue(source, line, column, &e.msg)
                    }
                })
                .collect();
            Err(CompileError::Invalid(issues.join("\n")))
        }
    }
}

/// cel-go's text of one issue at a 1-based line and 0-based column (in code points).
fn issue(source: &str, line: usize, column: usize, message: &str) -> String {
    let mut out = format!("ERROR: <input>:{line}:{}: {message}", column + 1);
    if let Some(text) = source.split('\n').nth(line - 1) {
        let text = text.replace('\t', " ");
        out.push_str("\n | ");
        out.push_str(&text);
        out.push_str("\n | ");
        out.extend(std::iter::repeat_n('.', column.min(text.chars().count())));
        out.push('^');
    }
    out
}

/// Line (1-based) and column (0-based, code points) of a byte offset.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset.min(source.len())).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, column)
}

/// cel-go's issues for `errors` (node, message), positioned by the parse's source info.
pub(crate) fn issues_at(source: &str, parsed: &Parsed, mut errors: Vec<(u64, String)>) -> CompileError {
    errors.sort_by_key(|(id, _)| parsed.info.offset_for(*id).map(|o| o.0));
    errors.dedup();
    let issues: Vec<String> = errors
        .iter()
        .map(|(id, message)| {
            let offset = parsed.info.offset_for(*id).map_or(0, |(start, _)| start as usize);
            let (line, column) = position(source, offset);
            issue(source, line, column, message)
        })
        .collect();
    CompileError::Invalid(issues.join("\n"))
}

/// Checks identifiers and function names; `declared` are the variables in scope.
pub(crate) fn check(source: &str, parsed: &Parsed, declared: &[&str]) -> Result<(), CompileError> {
    let mut checker = Checker { declared, scopes: Vec::new(), errors: Vec::new(), known: BTreeMap::new() };
    checker.walk(&parsed.expr);
    if checker.errors.is_empty() {
        return Ok(());
    }
    Err(issues_at(source, parsed, checker.errors))
}

struct Checker<'a> {
    declared: &'a [&'a str],
    scopes: Vec<Vec<&'a str>>,
    errors: Vec<(u64, String)>,
    known: BTreeMap<String, bool>,
}

impl<'a> Checker<'a> {
    fn in_scope(&self, name: &str) -> bool {
        self.declared.contains(&name) || self.scopes.iter().any(|s| s.contains(&name))
    }

    fn function_exists(&mut self, name: &str) -> bool {
        if let Some(known) = self.known.get(name) {
            return *known;
        }
        let exists = crate::env::function_exists(name);
        self.known.insert(name.to_string(), exists);
        exists
    }

    fn undeclared(&mut self, id: u64, name: &str) {
        self.errors.push((id, format!("undeclared reference to '{name}' (in container '')")));
    }

    fn walk(&mut self, e: &'a IdedExpr) {
        match &e.expr {
            Expr::Unspecified => self.errors.push((e.id, "unsupported expression".into())),
            Expr::Literal(_) => {}
            Expr::Ident(name) => {
                if !self.in_scope(name) && !TYPE_NAMES.contains(&name.as_str()) {
                    self.undeclared(e.id, name);
                }
            }
            Expr::Select(s) => {
                // `google.protobuf.Timestamp` and friends are type names.
                if let Some(q) = qualified_name(e) {
                    if TYPE_NAMES.contains(&q.as_str()) {
                        return;
                    }
                }
                self.walk(&s.operand)
            }
            Expr::Call(call) => {
                let mut target_is_namespace = false;
                let name = match &call.target {
                    Some(target) => match qualified_name(target) {
                        Some(ns) if !self.in_scope(ns.split('.').next().unwrap_or_default()) => {
                            target_is_namespace = true;
                            format!("{ns}.{}", call.func_name)
                        }
                        _ => call.func_name.clone(),
                    },
                    None => call.func_name.clone(),
                };
                let builtin = name.starts_with('_') || name.starts_with('@') || name == "!_" || name == "-_";
                if !builtin && !self.function_exists(&name) {
                    match (&call.target, target_is_namespace) {
                        // `x.f()` of an undeclared `x` (no function `x.f`): cel-go names `x`,
                        // and `f` too when it is no function either (`cel.bind(..)` where the
                        // bindings extension is not declared).
                        (Some(target), true) => {
                            let root = name.split('.').next().unwrap_or_default().to_string();
                            self.undeclared(target.id, &root);
                            if !self.function_exists(&call.func_name) {
                                self.undeclared(e.id, &call.func_name);
                            }
                        }
                        _ => self.undeclared(e.id, &name),
                    }
                }
                if let Some(target) = &call.target {
                    if !target_is_namespace {
                        self.walk(target);
                    }
                }
                for a in &call.args {
                    self.walk(a);
                }
            }
            Expr::List(l) => l.elements.iter().for_each(|x| self.walk(x)),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        self.walk(&me.key);
                        self.walk(&me.value);
                    }
                }
            }
            Expr::Struct(s) => {
                self.errors
                    .push((e.id, format!("undeclared reference to '{}' (in container '')", s.type_name)));
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range);
                self.walk(&c.accu_init);
                let mut vars = vec![c.iter_var.as_str(), c.accu_var.as_str()];
                if let Some(v2) = &c.iter_var2 {
                    vars.push(v2.as_str());
                }
                self.scopes.push(vars);
                self.walk(&c.loop_cond);
                self.walk(&c.loop_step);
                self.walk(&c.result);
                self.scopes.pop();
            }
        }
    }
}

/// `a.b.c` for an identifier or a chain of selections on one (not `has()` tests).
pub(crate) fn qualified_name(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(s) if !s.test => Some(format!("{}.{}", qualified_name(&s.operand)?, s.field)),
        _ => None,
    }
}

/// The result type of an expression where it is plain from its form; `Dyn` otherwise
/// (a variable, a field, a function of kube's libraries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    Bool,
    Int,
    UInt,
    Double,
    String,
    Bytes,
    Null,
    List,
    Map,
    /// kube's `Object` type (a MutatingAdmissionPolicy's apply configuration).
    Object,
    /// kube's `JSONPatch` type.
    JsonPatch,
    Dyn,
}

impl ResultType {
    /// cel-go's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ResultType::Bool => "bool",
            ResultType::Int => "int",
            ResultType::UInt => "uint",
            ResultType::Double => "double",
            ResultType::String => "string",
            ResultType::Bytes => "bytes",
            ResultType::Null => "null_type",
            ResultType::List => "list",
            ResultType::Map => "map",
            ResultType::Object => "Object",
            ResultType::JsonPatch => "JSONPatch",
            ResultType::Dyn => "dyn",
        }
    }
}

/// The operators and functions whose result is a bool whatever their arguments.
pub(crate) const BOOL_FUNCTIONS: &[&str] = &[
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::LESS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::GREATER_EQUALS,
    operators::IN,
    "startsWith",
    "endsWith",
    "matches",
    "contains",
    "containsAll",
    "containsAny",
    "isSorted",
    "hasValue",
    "isURL",
    "isIP",
    "isCIDR",
    "isSemver",
    "isQuantity",
    "isGreaterThan",
    "isLessThan",
];

/// Infers the result type of `e` (see [`ResultType`]).
pub(crate) fn result_type(e: &IdedExpr) -> ResultType {
    use ResultType as T;
    match &e.expr {
        Expr::Literal(l) => match l {
            LiteralValue::Boolean(_) => T::Bool,
            LiteralValue::Bytes(_) => T::Bytes,
            LiteralValue::Double(_) => T::Double,
            LiteralValue::Int(_) => T::Int,
            LiteralValue::Null => T::Null,
            LiteralValue::String(_) => T::String,
            LiteralValue::UInt(_) => T::UInt,
        },
        Expr::List(_) => T::List,
        Expr::Map(_) => T::Map,
        Expr::Select(s) if s.test => T::Bool,
        Expr::Call(call) => match call.func_name.as_str() {
            crate::mutation::STRUCT => match crate::mutation::lowered_name(e) {
                Some(crate::mutation::OBJECT_TYPE) => T::Object,
                Some(crate::mutation::JSON_PATCH_TYPE) => T::JsonPatch,
                _ => T::Dyn,
            },
            name if BOOL_FUNCTIONS.contains(&name) => T::Bool,
            "size" | "indexOf" | "lastIndexOf" | "int" | "compareTo" => T::Int,
            "uint" => T::UInt,
            "double" => T::Double,
            "string" | "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt" | "join"
            | "format" | "getHost" | "getScheme" | "getPath" | "getQuery" | "getEscapedPath" | "getPort" => {
                T::String
            }
            "split" | "findAll" | "sort" | "distinct" | "flatten" | "slice" => T::List,
            operators::CONDITIONAL => match call.args.as_slice() {
                [_, a, b] => {
                    let (a, b) = (result_type(a), result_type(b));
                    if a == b {
                        a
                    } else {
                        T::Dyn
                    }
                }
                _ => T::Dyn,
            },
            operators::ADD => match call.args.as_slice() {
                [a, b] => match (result_type(a), result_type(b)) {
                    (T::String, _) | (_, T::String) => T::String,
                    (T::List, _) | (_, T::List) => T::List,
                    (x, y) if x == y => x,
                    _ => T::Dyn,
                },
                _ => T::Dyn,
            },
            _ => T::Dyn,
        },
        Expr::Comprehension(c) => result_type_of_comprehension(c),
        _ => T::Dyn,
    }
}

fn result_type_of_comprehension(c: &cel::common::ast::ComprehensionExpr) -> ResultType {
    // `all`, `exists`, `map`, `filter` answer their accumulator (a bool, a list);
    // `exists_one` compares it; `cel.bind` answers its body.
    match &c.result.expr {
        Expr::Ident(name) if *name == c.accu_var => result_type(&c.accu_init),
        _ => result_type(&c.result),
    }
}

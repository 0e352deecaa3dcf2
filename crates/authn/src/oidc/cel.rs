//! The subset of CEL that kubeward accepts in an `AuthenticationConfiguration`
//! (claim validation rules, claim mappings, user validation rules). Expressions are parsed
//! once at load; anything outside the subset is rejected there with the position and what
//! was not understood.
//!
//! Supported:
//! - literals: strings (`'x'` or `"x"`, with `\\`, `\'`, `\"`, `\n` escapes), integers,
//!   decimals, `true`, `false`, `null`, lists `[a, b]`;
//! - the root variable of the context: `claims` (claim rules and mappings) or `user`
//!   (user validation rules: `user.username`, `user.uid`, `user.groups`, `user.extra`);
//! - field access `a.b`, index `a['key']` / `list[0]`, `has(a.b)`;
//! - `!`, `&&`, `||` (with CEL's error absorption: `false && error` is `false`),
//!   `==`, `!=`, `<`, `<=`, `>`, `>=` (numbers, strings), `in` (list member or map key),
//!   `+` (string and list concatenation, number addition), `c ? a : b`, parentheses;
//! - functions: `size(x)` / `x.size()`, and on strings `startsWith`, `endsWith`,
//!   `contains`, `lowerAscii`, `upperAscii`, `split(sep)`;
//! - macros on lists: `all(v, p)`, `exists(v, p)`, `map(v, e)`, `filter(v, p)`.
//!
//! Not supported (rejected at load): optional syntax (`.?`, `orValue`), `matches`,
//! timestamps and durations, type conversions, `has` on anything but a field, maps
//! literals, comprehension macros other than the four above.

use serde_json::{Map, Value};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: String,
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Lit(Value),
    List(Vec<Node>),
    Var(String),
    Select(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    Has(Box<Node>, String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Call(Func, Box<Node>, Vec<Node>),
    Macro(MacroKind, Box<Node>, String, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Size,
    StartsWith,
    EndsWith,
    Contains,
    LowerAscii,
    UpperAscii,
    Split,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MacroKind {
    All,
    Exists,
    Map,
    Filter,
}

/// Why an expression was rejected at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression `{expression}`: at offset {offset}: {reason}")]
pub struct CelError {
    pub expression: String,
    pub offset: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(Value),
    Punct(&'static str),
}

const PUNCT: &[&str] =
    &["==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", ".", "?", ":", "!", "+", "<", ">"];

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut i = 0;
    while let Some(&(pos, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&(_, d)) = chars.get(i) else { return Err((pos, "unterminated string".into())) };
                i += 1;
                match d {
                    '\\' => {
                        let Some(&(_, e)) = chars.get(i) else { return Err((pos, "bad escape".into())) };
                        i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            '\\' | '\'' | '"' => e,
                            _ => return Err((pos, format!("unsupported escape `\\{e}`"))),
                        });
                    }
                    d if d == c => break,
                    d => s.push(d),
                }
            }
            out.push((pos, Tok::Str(s)));
        } else if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(|(_, d)| d.is_ascii_digit() || *d == '.') {
                i += 1;
            }
            let text: String = chars.get(start..i).unwrap_or_default().iter().map(|(_, c)| c).collect();
            let num = match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    text.parse::<f64>().ok().map(Value::from).ok_or((pos, format!("bad number `{text}`")))?
                }
            };
            out.push((pos, Tok::Num(num)));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|(_, d)| d.is_alphanumeric() || *d == '_') {
                i += 1;
            }
            out.push((
                pos,
                Tok::Ident(chars.get(start..i).unwrap_or_default().iter().map(|(_, c)| c).collect()),
            ));
        } else {
            let rest = src.get(pos..).unwrap_or_default();
            let p = PUNCT.iter().find(|p| rest.starts_with(**p)).ok_or((pos, format!("unexpected `{c}`")))?;
            i += p.len();
            out.push((pos, Tok::Punct(p)));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    roots: &'a [&'a str],
    bound: Vec<String>,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |t| t.0)
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|t| &t.1)
    }
    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.at += 1;
            return true;
        }
        false
    }
    fn expect(&mut self, p: &str) -> PResult<()> {
        if self.eat(p) {
            Ok(())
        } else {
            Err((self.pos(), format!("expected `{p}`")))
        }
    }
    fn ident(&mut self) -> PResult<String> {
        match self.toks.get(self.at) {
            Some((_, Tok::Ident(s))) => {
                self.at += 1;
                Ok(s.clone())
            }
            _ => Err((self.pos(), "expected a name".into())),
        }
    }

    fn expr(&mut self) -> PResult<Node> {
        let c = self.or()?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Node::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }
    fn or(&mut self) -> PResult<Node> {
        let mut l = self.and()?;
        while self.eat("||") {
            l = Node::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> PResult<Node> {
        let mut l = self.rel()?;
        while self.eat("&&") {
            l = Node::And(Box::new(l), Box::new(self.rel()?));
        }
        Ok(l)
    }
    fn rel(&mut self) -> PResult<Node> {
        let l = self.add()?;
        let op = match self.peek() {
            Some(Tok::Punct("==")) => BinOp::Eq,
            Some(Tok::Punct("!=")) => BinOp::Ne,
            Some(Tok::Punct("<")) => BinOp::Lt,
            Some(Tok::Punct("<=")) => BinOp::Le,
            Some(Tok::Punct(">")) => BinOp::Gt,
            Some(Tok::Punct(">=")) => BinOp::Ge,
            Some(Tok::Ident(s)) if s == "in" => BinOp::In,
            _ => return Ok(l),
        };
        self.at += 1;
        Ok(Node::Bin(op, Box::new(l), Box::new(self.add()?)))
    }
    fn add(&mut self) -> PResult<Node> {
        let mut l = self.unary()?;
        while self.eat("+") {
            l = Node::Bin(BinOp::Add, Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> PResult<Node> {
        if self.eat("!") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.postfix()
    }
    fn postfix(&mut self) -> PResult<Node> {
        let mut n = self.primary()?;
        loop {
            if self.eat(".") {
                let pos = self.pos();
                if self.eat("?") {
                    return Err((pos, "optional field selection `.?` is not supported".into()));
                }
                let name = self.ident()?;
                if !self.eat("(") {
                    n = Node::Select(Box::new(n), name);
                    continue;
                }
                if let Some(kind) = macro_kind(&name) {
                    let var = self.ident()?;
                    self.expect(",")?;
                    self.bound.push(var.clone());
                    let body = self.expr();
                    self.bound.pop();
                    self.expect(")")?;
                    n = Node::Macro(kind, Box::new(n), var, Box::new(body?));
                    continue;
                }
                let func = method(&name).ok_or((pos, format!("unsupported function `{name}`")))?;
                let args = self.args()?;
                let want =
                    if matches!(func, Func::Size | Func::LowerAscii | Func::UpperAscii) { 0 } else { 1 };
                if args.len() != want {
                    return Err((pos, format!("`{name}` takes {want} argument(s)")));
                }
                n = Node::Call(func, Box::new(n), args);
            } else if self.eat("[") {
                let i = self.expr()?;
                self.expect("]")?;
                n = Node::Index(Box::new(n), Box::new(i));
            } else {
                return Ok(n);
            }
        }
    }
    fn args(&mut self) -> PResult<Vec<Node>> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }
    fn primary(&mut self) -> PResult<Node> {
        let pos = self.pos();
        let Some((_, tok)) = self.toks.get(self.at).cloned() else {
            return Err((pos, "unexpected end of expression".into()));
        };
        self.at += 1;
        match tok {
            Tok::Str(s) => Ok(Node::Lit(Value::String(s))),
            Tok::Num(n) => Ok(Node::Lit(n)),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Node::List(items))
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok(Node::Lit(Value::Bool(true))),
                "false" => Ok(Node::Lit(Value::Bool(false))),
                "null" => Ok(Node::Lit(Value::Null)),
                "has" => {
                    self.expect("(")?;
                    let arg = self.expr()?;
                    self.expect(")")?;
                    match arg {
                        Node::Select(target, field) => Ok(Node::Has(target, field)),
                        _ => Err((pos, "`has` needs a field selection like `has(claims.x)`".into())),
                    }
                }
                "size" if self.eat("(") => {
                    let mut args = self.args()?;
                    match (args.pop(), args.is_empty()) {
                        (Some(a), true) => Ok(Node::Call(Func::Size, Box::new(a), vec![])),
                        _ => Err((pos, "`size` takes 1 argument".into())),
                    }
                }
                _ if self.roots.contains(&name.as_str()) || self.bound.contains(&name) => Ok(Node::Var(name)),
                _ => Err((pos, format!("undeclared reference to `{name}`"))),
            },
            Tok::Punct(p) => Err((pos, format!("unexpected `{p}`"))),
        }
    }
}

fn macro_kind(name: &str) -> Option<MacroKind> {
    Some(match name {
        "all" => MacroKind::All,
        "exists" => MacroKind::Exists,
        "map" => MacroKind::Map,
        "filter" => MacroKind::Filter,
        _ => return None,
    })
}

fn method(name: &str) -> Option<Func> {
    Some(match name {
        "size" => Func::Size,
        "startsWith" => Func::StartsWith,
        "endsWith" => Func::EndsWith,
        "contains" => Func::Contains,
        "lowerAscii" => Func::LowerAscii,
        "upperAscii" => Func::UpperAscii,
        "split" => Func::Split,
        _ => return None,
    })
}

impl Expression {
    /// Parses `source`; `roots` are the variables the context provides (`claims` or `user`).
    pub fn parse(source: &str, roots: &[&str]) -> Result<Self, CelError> {
        let err = |(offset, reason)| CelError { expression: source.to_string(), offset, reason };
        let toks = lex(source).map_err(err)?;
        let mut p = Parser { toks, at: 0, end: source.len(), roots, bound: Vec::new() };
        let root = p.expr().map_err(err)?;
        if p.at < p.toks.len() {
            return Err(err((p.pos(), "unexpected trailing input".into())));
        }
        Ok(Self { source: source.to_string(), root })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression reads `<root>.<field>` anywhere (for kube's email rule).
    pub fn references(&self, root: &str, field: &str) -> bool {
        fn walk(n: &Node, root: &str, field: &str) -> bool {
            match n {
                Node::Select(t, f) | Node::Has(t, f) => {
                    (f == field && matches!(&**t, Node::Var(v) if v == root)) || walk(t, root, field)
                }
                Node::Index(a, b) | Node::And(a, b) | Node::Or(a, b) | Node::Bin(_, a, b) => {
                    walk(a, root, field) || walk(b, root, field)
                }
                Node::Macro(_, a, _, b) => walk(a, root, field) || walk(b, root, field),
                Node::Not(a) => walk(a, root, field),
                Node::Cond(a, b, c) => walk(a, root, field) || walk(b, root, field) || walk(c, root, field),
                Node::Call(_, t, args) => walk(t, root, field) || args.iter().any(|a| walk(a, root, field)),
                Node::List(items) => items.iter().any(|a| walk(a, root, field)),
                Node::Lit(_) | Node::Var(_) => false,
            }
        }
        walk(&self.root, root, field)
    }

    /// Evaluates with `root` bound to `value`.
    pub fn eval(&self, root: &str, value: &Value) -> Result<Value, String> {
        let mut env = vec![(root.to_string(), value.clone())];
        eval(&self.root, &mut env)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn as_bool(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("no such overload: expected bool, got {}", type_name(v)))
}

fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    m.get(name).ok_or_else(|| format!("no such key: {name}"))
}

fn eval(n: &Node, env: &mut Vec<(String, Value)>) -> Result<Value, String> {
    Ok(match n {
        Node::Lit(v) => v.clone(),
        Node::List(items) => Value::Array(items.iter().map(|i| eval(i, env)).collect::<Result<_, _>>()?),
        Node::Var(name) => {
            env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or("unbound variable")?
        }
        Node::Select(t, f) => match eval(t, env)? {
            Value::Object(m) => field(&m, f)?.clone(),
            other => return Err(format!("no such key: {f} (on {})", type_name(&other))),
        },
        Node::Has(t, f) => match eval(t, env)? {
            Value::Object(m) => Value::Bool(m.contains_key(f)),
            other => return Err(format!("has() on {}", type_name(&other))),
        },
        Node::Index(t, i) => match (eval(t, env)?, eval(i, env)?) {
            (Value::Object(m), Value::String(k)) => field(&m, &k)?.clone(),
            (Value::Array(a), Value::Number(i)) => {
                let i = i.as_u64().and_then(|i| usize::try_from(i).ok()).ok_or("index out of range")?;
                a.get(i).cloned().ok_or("index out of range")?
            }
            (t, i) => return Err(format!("no such overload: {}[{}]", type_name(&t), type_name(&i))),
        },
        Node::Not(a) => Value::Bool(!as_bool(&eval(a, env)?)?),
        // CEL's commutative logic: an error on one side is absorbed if the other decides.
        Node::And(a, b) => {
            let (l, r) = (eval(a, env).and_then(|v| as_bool(&v)), eval(b, env).and_then(|v| as_bool(&v)));
            match (l, r) {
                (Ok(false), _) | (_, Ok(false)) => Value::Bool(false),
                (Ok(true), Ok(true)) => Value::Bool(true),
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        Node::Or(a, b) => {
            let (l, r) = (eval(a, env).and_then(|v| as_bool(&v)), eval(b, env).and_then(|v| as_bool(&v)));
            match (l, r) {
                (Ok(true), _) | (_, Ok(true)) => Value::Bool(true),
                (Ok(false), Ok(false)) => Value::Bool(false),
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        Node::Cond(c, a, b) => {
            if as_bool(&eval(c, env)?)? {
                eval(a, env)?
            } else {
                eval(b, env)?
            }
        }
        Node::Bin(op, a, b) => binary(*op, eval(a, env)?, eval(b, env)?)?,
        Node::Call(f, t, args) => {
            let target = eval(t, env)?;
            let args = args.iter().map(|a| eval(a, env)).collect::<Result<Vec<_>, _>>()?;
            call(*f, target, &args)?
        }
        Node::Macro(kind, t, var, body) => {
            let Value::Array(items) = eval(t, env)? else { return Err("macro on a non-list".into()) };
            let mut out = Vec::new();
            for item in items {
                env.push((var.clone(), item.clone()));
                let r = eval(body, env);
                env.pop();
                let r = r?;
                match kind {
                    MacroKind::All if !as_bool(&r)? => return Ok(Value::Bool(false)),
                    MacroKind::Exists if as_bool(&r)? => return Ok(Value::Bool(true)),
                    MacroKind::Map => out.push(r),
                    MacroKind::Filter if as_bool(&r)? => out.push(item),
                    _ => {}
                }
            }
            match kind {
                MacroKind::All => Value::Bool(true),
                MacroKind::Exists => Value::Bool(false),
                MacroKind::Map | MacroKind::Filter => Value::Array(out),
            }
        }
    })
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value, String> {
    let overload = || format!("no such overload: {} {op:?} {}", type_name(&a), type_name(&b));
    Ok(match op {
        BinOp::Eq => Value::Bool(equal(&a, &b)),
        BinOp::Ne => Value::Bool(!equal(&a, &b)),
        BinOp::In => match &b {
            Value::Array(items) => Value::Bool(items.iter().any(|i| equal(i, &a))),
            Value::Object(m) => Value::Bool(a.as_str().is_some_and(|k| m.contains_key(k))),
            _ => return Err(overload()),
        },
        BinOp::Add => match (&a, &b) {
            (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
            (Value::Array(x), Value::Array(y)) => Value::Array(x.iter().chain(y).cloned().collect()),
            (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
                (Some(x), Some(y)) => Value::from(x.checked_add(y).ok_or("integer overflow")?),
                _ => Value::from(x.as_f64().unwrap_or(f64::NAN) + y.as_f64().unwrap_or(f64::NAN)),
            },
            _ => return Err(overload()),
        },
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (&a, &b) {
                (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
                (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                _ => None,
            }
            .ok_or_else(overload)?;
            Value::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
    })
}

fn call(f: Func, target: Value, args: &[Value]) -> Result<Value, String> {
    if f == Func::Size {
        return Ok(Value::from(match &target {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            other => return Err(format!("no such overload: size({})", type_name(other))),
        }));
    }
    let Value::String(s) = target else { return Err(format!("no such overload: {f:?} on non-string")) };
    let arg =
        || args.first().and_then(Value::as_str).ok_or(format!("no such overload: {f:?} needs a string"));
    Ok(match f {
        Func::StartsWith => Value::Bool(s.starts_with(arg()?)),
        Func::EndsWith => Value::Bool(s.ends_with(arg()?)),
        Func::Contains => Value::Bool(s.contains(arg()?)),
        Func::LowerAscii => Value::String(s.to_ascii_lowercase()),
        Func::UpperAscii => Value::String(s.to_ascii_uppercase()),
        Func::Split => Value::Array(s.split(arg()?).map(|p| Value::String(p.to_string())).collect()),
        Func::Size => Value::Null,
    })
}

#[cfg(test)]
mod tests;

//! client-go's JSONPath (`k8s.io/client-go/util/jsonpath`) as printer columns use it:
//! fields (`.spec.replicas`, `['a.b']`), indexes and slices (`[0]`, `[-1]`, `[1:3]`),
//! wildcards (`[*]`, `.*`), recursive descent (`..name`), unions (`[0,2]`) and filters
//! (`[?(@.type=="Ready")]`, `==`, `!=`, `<`, `>`, `<=`, `>=`, existence). Missing keys give
//! no result (as with `AllowMissingKeys(true)`); map keys are walked in sorted order.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Recursive(Box<Step>),
    Index(Vec<Sel>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Sel {
    One(i64),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Key(String),
    All,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Lit(Value),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Operand,
    op: Option<String>,
    right: Option<Operand>,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// Paths longer than this are refused (a bound on parsing and evaluation).
const MAX_STEPS: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b'.'
                || c == b'['
                || c == b' '
                || c == b')'
                || c == b'='
                || c == b'!'
                || c == b'<'
                || c == b'>'
                || c == b','
                || c == b']'
            {
                break;
            }
            self.pos += 1;
        }
        self.src[start..self.pos].to_string()
    }

    fn steps(&mut self, in_filter: bool) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        loop {
            if steps.len() > MAX_STEPS {
                return Err("path too long".into());
            }
            match self.peek() {
                None => break,
                Some(b'.') => {
                    self.pos += 1;
                    if self.peek() == Some(b'.') {
                        self.pos += 1;
                        let inner = self.one_step_after_dot()?;
                        steps.push(Step::Recursive(Box::new(inner)));
                    } else if self.peek().is_none() {
                        break;
                    } else {
                        steps.push(self.one_step_after_dot()?);
                    }
                }
                Some(b'[') => steps.push(self.bracket()?),
                Some(_) if in_filter => break,
                Some(c) => return Err(format!("unrecognized character in action: {}", c as char)),
            }
        }
        Ok(steps)
    }

    fn one_step_after_dot(&mut self) -> Result<Step, String> {
        match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Ok(Step::Wildcard)
            }
            Some(b'[') => self.bracket(),
            _ => {
                let name = self.ident();
                if name.is_empty() {
                    return Err("invalid field name".into());
                }
                Ok(Step::Field(name))
            }
        }
    }

    fn bracket(&mut self) -> Result<Step, String> {
        self.pos += 1; // '['
        let close = self.src[self.pos..].find(']').map(|i| i + self.pos);
        if self.peek() == Some(b'?') {
            self.pos += 1;
            if self.peek() != Some(b'(') {
                return Err("unclosed filter: missing (".into());
            }
            self.pos += 1;
            let f = self.filter()?;
            if self.peek() != Some(b')') {
                return Err("unclosed filter: missing )".into());
            }
            self.pos += 1;
            if self.peek() != Some(b']') {
                return Err("unclosed array expect ]".into());
            }
            self.pos += 1;
            return Ok(Step::Filter(Box::new(f)));
        }
        let Some(close) = close else { return Err("unclosed array expect ]".into()) };
        let body = self.src[self.pos..close].trim().to_string();
        self.pos = close + 1;
        if body == "*" {
            return Ok(Step::Wildcard);
        }
        let mut sels = Vec::new();
        for part in body.split(',') {
            let part = part.trim();
            if let Some(q) = part.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
                sels.push(Sel::Key(q.to_string()));
            } else if let Some(q) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                sels.push(Sel::Key(q.to_string()));
            } else if part.contains(':') {
                let nums: Vec<&str> = part.split(':').collect();
                if nums.len() > 3 {
                    return Err(format!("invalid array index {part}"));
                }
                let num = |s: &str| -> Result<Option<i64>, String> {
                    let s = s.trim();
                    if s.is_empty() {
                        Ok(None)
                    } else {
                        s.parse().map(Some).map_err(|_| format!("invalid array index {part}"))
                    }
                };
                sels.push(Sel::Slice(
                    num(nums[0])?,
                    num(nums.get(1).copied().unwrap_or(""))?,
                    num(nums.get(2).copied().unwrap_or(""))?,
                ));
            } else if part == "*" {
                sels.push(Sel::All);
            } else {
                sels.push(Sel::One(part.parse().map_err(|_| format!("invalid array index {part}"))?));
            }
        }
        Ok(Step::Index(sels))
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_spaces();
        match self.peek() {
            Some(b'@') | Some(b'$') => {
                self.pos += 1;
                Ok(Operand::Path(self.steps(true)?))
            }
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != q) {
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err("unclosed string literal".into());
                }
                let lit = self.src[start..self.pos].to_string();
                self.pos += 1;
                Ok(Operand::Lit(Value::String(lit)))
            }
            _ => {
                let word = self.ident();
                match word.as_str() {
                    "true" => Ok(Operand::Lit(Value::Bool(true))),
                    "false" => Ok(Operand::Lit(Value::Bool(false))),
                    w => {
                        let n: f64 = w.parse().map_err(|_| format!("unrecognized filter operand {w}"))?;
                        Ok(Operand::Lit(
                            serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null),
                        ))
                    }
                }
            }
        }
    }

    fn filter(&mut self) -> Result<Filter, String> {
        let left = self.operand()?;
        self.skip_spaces();
        let op = ["==", "!=", "<=", ">=", "<", ">"]
            .iter()
            .find(|op| self.src[self.pos..].starts_with(**op))
            .map(|s| s.to_string());
        let (op, right) = match op {
            Some(op) => {
                self.pos += op.len();
                let r = self.operand()?;
                self.skip_spaces();
                (Some(op), Some(r))
            }
            None => (None, None),
        };
        Ok(Filter { left, op, right })
    }
}

impl JsonPath {
    /// Parses a path as printer columns give it (`.spec.replicas`), with or without the
    /// `{...}` template braces.
    pub fn parse(src: &str) -> Result<JsonPath, String> {
        let s = src.trim();
        let s = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(s);
        let s = s.strip_prefix('$').unwrap_or(s);
        let mut p = Parser { s: s.as_bytes(), src: s, pos: 0 };
        let steps = p.steps(false)?;
        Ok(JsonPath { steps })
    }

    /// Every value the path reaches, in client-go's order.
    pub fn find<'a>(&self, data: &'a Value) -> Vec<&'a Value> {
        eval(&self.steps, vec![data])
    }
}

fn eval<'a>(steps: &[Step], mut cur: Vec<&'a Value>) -> Vec<&'a Value> {
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            apply(step, v, &mut next, 0);
        }
        cur = next;
        if cur.is_empty() {
            break;
        }
    }
    cur
}

fn sorted_values(m: &serde_json::Map<String, Value>) -> Vec<&Value> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys.into_iter().map(|k| &m[k]).collect()
}

fn apply<'a>(step: &Step, v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x);
            }
        }
        Step::Wildcard => match v {
            Value::Object(m) => out.extend(sorted_values(m)),
            Value::Array(a) => out.extend(a.iter()),
            _ => {}
        },
        Step::Recursive(inner) => {
            if depth > crate::MAX_VALUE_DEPTH {
                return;
            }
            apply(inner, v, out, depth);
            match v {
                Value::Object(m) => {
                    for c in sorted_values(m) {
                        apply(step, c, out, depth + 1);
                    }
                }
                Value::Array(a) => {
                    for c in a {
                        apply(step, c, out, depth + 1);
                    }
                }
                _ => {}
            }
        }
        Step::Index(sels) => {
            for sel in sels {
                match (sel, v) {
                    (Sel::Key(k), Value::Object(m)) => {
                        if let Some(x) = m.get(k) {
                            out.push(x);
                        }
                    }
                    (Sel::All, Value::Array(a)) => out.extend(a.iter()),
                    (Sel::One(i), Value::Array(a)) => {
                        let len = a.len() as i64;
                        let idx = if *i < 0 { len + i } else { *i };
                        if (0..len).contains(&idx) {
                            out.push(&a[idx as usize]);
                        }
                    }
                    (Sel::Slice(start, end, step), Value::Array(a)) => {
                        let len = a.len() as i64;
                        let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                        let s = start.map(norm).unwrap_or(0);
                        let e = end.map(norm).unwrap_or(len);
                        let st = step.unwrap_or(1).max(1);
                        let mut i = s;
                        while i < e {
                            out.push(&a[i as usize]);
                            i += st;
                        }
                    }
                    _ => {}
                }
            }
        }
        Step::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(m) => sorted_values(m),
                _ => Vec::new(),
            };
            for item in items {
                if filter_holds(f, item) {
                    out.push(item);
                }
            }
        }
    }
}

fn operand_values<'a>(o: &'a Operand, item: &'a Value) -> Vec<&'a Value> {
    match o {
        Operand::Path(steps) => eval(steps, vec![item]),
        Operand::Lit(v) => vec![v],
    }
}

fn filter_holds(f: &Filter, item: &Value) -> bool {
    let left = operand_values(&f.left, item);
    let (Some(op), Some(right)) = (&f.op, &f.right) else { return !left.is_empty() };
    let right = operand_values(right, item);
    let (Some(l), Some(r)) = (left.first(), right.first()) else { return false };
    let num = |v: &Value| v.as_f64();
    match op.as_str() {
        "==" => match (num(l), num(r)) {
            (Some(a), Some(b)) => a == b,
            _ => l == r,
        },
        "!=" => match (num(l), num(r)) {
            (Some(a), Some(b)) => a != b,
            _ => l != r,
        },
        cmp => {
            let ord = match (num(l), num(r), l.as_str(), r.as_str()) {
                (Some(a), Some(b), _, _) => a.partial_cmp(&b),
                (_, _, Some(a), Some(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match (cmp, ord) {
                ("<", Some(o)) => o.is_lt(),
                (">", Some(o)) => o.is_gt(),
                ("<=", Some(o)) => o.is_le(),
                (">=", Some(o)) => o.is_ge(),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, v: &Value) -> Vec<Value> {
        JsonPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}")).find(v).into_iter().cloned().collect()
    }

    #[test]
    fn paths_as_client_go() {
        let obj = json!({
            "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
            "spec": {"replicas": 3, "items": [{"name": "i1"}, {"name": "i2"}, {"name": "i3"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]}
        });
        assert_eq!(find(".spec.replicas", &obj), vec![json!(3)]);
        assert_eq!(find("{.spec.replicas}", &obj), vec![json!(3)]);
        assert_eq!(find(".status.conditions[?(@.type==\"Ready\")].status", &obj), vec![json!("True")]);
        assert_eq!(find(".status.conditions[?(@.type=='Synced')].status", &obj), vec![json!("False")]);
        assert_eq!(find(".spec.items[*].name", &obj), vec![json!("i1"), json!("i2"), json!("i3")]);
        assert_eq!(find(".spec.items[-1].name", &obj), vec![json!("i3")]);
        assert_eq!(find(".spec.items[0:2].name", &obj), vec![json!("i1"), json!("i2")]);
        assert_eq!(find(".spec.items[0,2].name", &obj), vec![json!("i1"), json!("i3")]);
        assert_eq!(find(".metadata.labels['app.kubernetes.io/name']", &obj), vec![json!("x")]);
        assert_eq!(find("..name", &obj), vec![json!("a"), json!("i1"), json!("i2"), json!("i3")]);
        assert!(find(".spec.missing.deeper", &obj).is_empty());
        assert!(find(".spec.items[?(@.name)]", &obj).len() == 3);
        assert!(JsonPath::parse(".spec.items[").is_err());
    }
}

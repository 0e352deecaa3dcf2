//! [`Reads`]: the parts of a variable's value a set of programs can observe, so that an
//! [`Activation`](crate::Activation) converts only those ([`Activation::bind_reads`](crate::Activation::bind_reads)).
//!
//! A program observes a field of an object only through a selection chain rooted at the
//! variable: `object.metadata.name`, `has(object.metadata.labels)`,
//! `object.metadata.?annotations`. The value at the end of a chain is used whole (compared,
//! measured by the cost meter, iterated, passed to a function), so it is kept whole;
//! the objects along the chain are only selected from, so they keep only the members
//! some chain names. Any other use of the variable (`object == x`, `object['a']`,
//! `size(object)`, an argument) reads it whole. A comprehension variable of the same
//! name is counted as the variable: it can only keep more.
//!
//! The cost meter never measures an object along a chain (a selection is no call, and
//! an optional selection ends a chain), so an evaluation over the pruned value has the
//! same value, errors and cost as over the whole one.

use crate::check;
use cel::common::ast::{operators, Expr, LiteralValue};
use std::collections::BTreeMap;

static WHOLE: Reads = Reads::WHOLE;

/// What is read of a value: all of it, or some members of an object (by their CEL
/// names), each read as its own [`Reads`] says. A value that is not an object is always
/// kept whole. The default reads nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    whole: bool,
    fields: BTreeMap<String, Reads>,
}

impl Reads {
    /// Reads of the whole value.
    pub const WHOLE: Reads = Reads { whole: true, fields: BTreeMap::new() };

    /// Reads of nothing.
    pub fn nothing() -> Self {
        Self::default()
    }

    /// Whether the whole value is read.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// What is read of the member `field` of an object; `None` when it is not read.
    pub fn field(&self, field: &str) -> Option<&Reads> {
        if self.whole {
            return Some(&WHOLE);
        }
        self.fields.get(field)
    }

    /// Whether the member `field` of an object is read at all.
    pub fn reads_field(&self, field: &str) -> bool {
        self.whole || self.fields.contains_key(field)
    }

    /// How many members of an object are read (0 when the whole is).
    pub(crate) fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Adds the whole value at `path` (field names from the variable).
    pub fn insert_path<S: AsRef<str>>(&mut self, path: &[S]) {
        let mut node = self;
        for field in path {
            if node.whole {
                return;
            }
            node = node.fields.entry(field.as_ref().to_string()).or_default();
        }
        node.whole = true;
        node.fields.clear();
    }

    /// Adds what `other` reads.
    pub fn merge(&mut self, other: &Reads) {
        if self.whole {
            return;
        }
        if other.whole {
            self.whole = true;
            self.fields.clear();
            return;
        }
        for (field, reads) in &other.fields {
            self.fields.entry(field.clone()).or_default().merge(reads);
        }
    }
}

/// Adds to `into` what `expr` reads of the variable `var` (module docs).
pub(crate) fn collect(expr: &cel::IdedExpr, var: &str, into: &mut Reads) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let Some(path) = chain(e, var) {
            into.insert_path(&path);
            continue;
        }
        match &e.expr {
            // `has(<chain>.f)`: `f`'s presence, kept whole.
            Expr::Select(s) if s.test => {
                if let Some(mut path) = chain(&s.operand, var) {
                    path.push(&s.field);
                    into.insert_path(&path);
                    continue;
                }
            }
            // `<chain>.?f`: the optional holds `f` whole (and the meter measures it).
            Expr::Call(c) if c.func_name == operators::OPT_SELECT && c.target.is_none() => {
                if let [target, field] = c.args.as_slice() {
                    if let (Some(mut path), Expr::Literal(LiteralValue::String(f))) =
                        (chain(target, var), &field.expr)
                    {
                        path.push(f.inner());
                        into.insert_path(&path);
                        continue;
                    }
                }
            }
            _ => {}
        }
        stack.extend(check::children(e));
    }
}

/// The fields of a chain of plain selections rooted at `var` (`var.a.b`: `[a, b]`;
/// `var` itself: `[]`), or `None` when `e` is not one.
fn chain<'e>(e: &'e cel::IdedExpr, var: &str) -> Option<Vec<&'e str>> {
    let mut path = Vec::new();
    let mut e = e;
    loop {
        match &e.expr {
            Expr::Select(s) if !s.test => {
                path.push(s.field.as_str());
                e = &s.operand;
            }
            Expr::Ident(name) if name == var => {
                path.reverse();
                return Some(path);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Program, Shape};

    fn reads(sources: &[&str]) -> Reads {
        let mut out = Reads::nothing();
        for s in sources {
            let p = Program::compile(s, &[("object", &Shape::Any), ("request", &Shape::Any)]).unwrap();
            p.reads("object", &mut out);
        }
        out
    }

    fn path(fields: &[&str]) -> Reads {
        let mut r = Reads::nothing();
        r.insert_path(fields);
        r
    }

    #[test]
    fn chains_keep_their_ends_whole() {
        let r = reads(&[
            "object.metadata.name.size() <= 63",
            "has(object.metadata.labels) && 'app' in object.metadata.labels",
            "object.metadata.?annotations.orValue({}).size() < 10",
            "!has(object.data) || object.data.all(k, k.size() < 64)",
            "request.userInfo.username != 'nobody'",
        ]);
        let mut want = path(&["metadata", "name"]);
        want.merge(&path(&["metadata", "labels"]));
        want.merge(&path(&["metadata", "annotations"]));
        want.merge(&path(&["data"]));
        assert_eq!(r, want);
        assert!(!r.is_whole());
        assert!(r.reads_field("metadata") && !r.reads_field("kind"));
        let meta = r.field("metadata").unwrap();
        assert!(meta.field("name").unwrap().is_whole());
        assert!(meta.field("managedFields").is_none());
    }

    #[test]
    fn other_uses_read_the_whole_value() {
        for s in [
            "object == {}",
            "object['metadata'].name == ''",
            "size(object) > 0",
            "object.all(k, k != '')",
            "type(object) == map",
            "object.data.exists(object, object == 'v')",
            "object.?metadata.orValue({}).name == ''",
        ] {
            let r = reads(&[s]);
            // An optional selection at the root keeps that field whole, nothing else.
            if s.starts_with("object.?") {
                assert_eq!(r, path(&["metadata"]), "{s}");
            } else {
                assert!(r.is_whole(), "{s}");
            }
        }
        // A shorter chain absorbs the longer ones, whichever comes first.
        assert_eq!(reads(&["object.a.b == 1", "object.a == {}"]), path(&["a"]));
        assert_eq!(reads(&["object.a == {}", "object.a.b == 1"]), path(&["a"]));
        // A program that does not name the variable reads nothing of it.
        assert_eq!(reads(&["request.name == ''"]), Reads::nothing());
    }

    /// Every program gives the same value, error and cost over the pruned value as over
    /// the whole one.
    #[test]
    fn pruned_values_evaluate_the_same() {
        use crate::limits::PER_CALL_LIMIT;
        use crate::Activation;
        let sources = [
            "object.metadata.name.size() <= 63",
            "has(object.metadata.labels) && 'app' in object.metadata.labels",
            "!has(object.data) || object.data.all(k, k.size() < 64)",
            "object.metadata.labels.app.matches('^[a-z-]+$')",
            "!has(object.binaryData)",
            "object.metadata.?annotations.orValue({}).size() < 10",
            "object.metadata.name.startsWith('x')",
            "object.metadata.labels == {'app': 'a'}",
            "object.metadata.missing == 1",
            "object.spec.replicas > 2",
            "object.metadata.name.nope == 1",
            "object.data.v + 'x' == object.metadata.name",
        ];
        let objects = [
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "n", "labels": {"app": "a"}, "managedFields": [{"manager": "m", "fieldsV1": {"f:data": {}}}]},
                "data": {"v": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}),
            serde_json::json!({"metadata": "not an object", "spec": {"replicas": 3, "other": [1, 2]}}),
            serde_json::json!(null),
            serde_json::json!([1, 2]),
        ];
        let programs: Vec<Program> =
            sources.iter().map(|s| Program::compile(s, &[("object", &Shape::Any)]).unwrap()).collect();
        let mut r = Reads::nothing();
        for p in &programs {
            p.reads("object", &mut r);
        }
        assert!(!r.is_whole());
        // The first evaluation compiles the patterns (charged once per process).
        let mut warm = Activation::new();
        warm.bind("object", &objects[0], &Shape::Any).unwrap();
        for p in &programs {
            let _ = p.evaluate(&warm, PER_CALL_LIMIT);
        }
        for object in &objects {
            let mut whole = Activation::new();
            whole.bind("object", object, &Shape::Any).unwrap();
            let mut pruned = Activation::new();
            pruned.bind_reads("object", object, &Shape::Any, &r).unwrap();
            for (p, s) in programs.iter().zip(sources) {
                let a = p.evaluate(&whole, PER_CALL_LIMIT).map_err(|e| e.to_string());
                let b = p.evaluate(&pruned, PER_CALL_LIMIT).map_err(|e| e.to_string());
                assert_eq!(a, b, "{s} over {object}");
            }
        }
        // The pruned object holds only what is read.
        let mut only = Activation::new();
        only.bind_reads("object", &objects[0], &Shape::Any, &r).unwrap();
        let keys = Program::compile("object", &[("object", &Shape::Any)]).unwrap();
        let seen = keys.evaluate(&only, PER_CALL_LIMIT).unwrap().to_json().unwrap();
        assert_eq!(
            seen,
            serde_json::json!({"metadata": {"name": "n", "labels": {"app": "a"}}, "data": {"v": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}})
        );
    }

    #[test]
    fn merge_is_a_union() {
        let mut a = path(&["x", "y"]);
        a.merge(&path(&["x", "z"]));
        assert!(a.field("x").is_some_and(|x| x.reads_field("y") && x.reads_field("z") && !x.is_whole()));
        a.merge(&Reads::WHOLE);
        assert!(a.is_whole() && a.field("anything").is_some_and(Reads::is_whole));
    }
}

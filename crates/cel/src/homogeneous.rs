//! kube's homogeneous aggregate literals (`cel.HomogeneousAggregateLiterals()` in its base
//! environment): the elements of a list literal, and the keys and the values of a map
//! literal, must be of one type, `dyn` joining with anything. cel-go's checker reports
//! each element that does not join the ones before it with
//! `expected type 'A' but found 'B'` (A the type joined so far), at the element.
//!
//! Element types come from [`crate::types`]; where it cannot tell an element's type (what
//! cel-go resolves by overload), the rest of that literal is not checked (accepted, as
//! before), so nothing cel-go accepts is refused here.

use crate::types::{infer_at, CelType, Scope, MAX_DEPTH};
use cel::common::ast::{EntryExpr, Expr, IdedExpr};

/// The elements of `e`'s literals that do not join (node id, cel-go's message).
pub(crate) fn mismatches(e: &IdedExpr, scope: &mut Scope<'_>) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    walk(e, scope, 0, &mut out);
    out
}

/// The type joined so far of a literal's elements (keys or values).
#[derive(Default)]
struct Joined {
    /// `None`: no element yet.
    so_far: Option<CelType>,
    /// An element's type was not known: the rest is not checked.
    unknown: bool,
}

impl Joined {
    /// Joins the element `id` of type `t` (`None`: not known), recording a mismatch.
    fn add(&mut self, id: u64, t: Option<CelType>, out: &mut Vec<(u64, String)>) {
        if self.unknown {
            return;
        }
        let Some(t) = t else {
            self.unknown = true;
            return;
        };
        let Some(previous) = self.so_far.take() else {
            self.so_far = Some(t);
            return;
        };
        if assignable(&previous, &t) {
            self.so_far = Some(if less_specific(&previous, &t) { previous } else { t });
            return;
        }
        // (A declared object type's name is not known here: no report.)
        if let (Some(a), Some(b)) = (previous.name(), t.name()) {
            out.push((id, format!("expected type '{a}' but found '{b}'")));
        }
        // cel-go types the literal an error and goes on with the next elements against it,
        // which reports nothing more (an error type joins anything).
        self.unknown = true;
    }
}

/// cel-go's `isAssignable(a, b)` over the types known here: `dyn` (and an empty
/// literal's element type) with anything; `null` with optionals, timestamps, durations
/// and objects; lists, maps and optionals by their parameters; others when equal.
fn assignable(a: &CelType, b: &CelType) -> bool {
    use CelType::*;
    match (a, b) {
        (Free, _) | (_, Free) | (Dyn, _) | (_, Dyn) => true,
        (Null, other) | (other, Null) => {
            matches!(other, Null | Optional(_) | Timestamp | Duration | Declared(_) | Named(_))
        }
        (List(x), List(y)) | (Optional(x), Optional(y)) => assignable(x, y),
        (Map(ka, va), Map(kb, vb)) => assignable(ka, kb) && assignable(va, vb),
        (Type, Type) => true,
        (a, b) => a == b,
    }
}

/// cel-go's `isEqualOrLessSpecific(a, b)`: whether `a` is `b` or matches it through `dyn`.
fn less_specific(a: &CelType, b: &CelType) -> bool {
    use CelType::*;
    match (a, b) {
        (Dyn | Free, _) => true,
        (_, Dyn | Free) => false,
        (List(x), List(y)) | (Optional(x), Optional(y)) => less_specific(x, y),
        (Map(ka, va), Map(kb, vb)) => less_specific(ka, kb) && less_specific(va, vb),
        (Type, Type) => true,
        (a, b) => a == b,
    }
}

/// The type an element of a literal contributes: an optional element (`[?x]`,
/// `{?k: v}`) its optional's parameter.
fn element(t: Option<CelType>, optional: bool) -> Option<CelType> {
    match (t, optional) {
        (Some(CelType::Optional(inner)), true) => Some(*inner),
        (Some(_), true) => Some(CelType::Dyn),
        (t, _) => t,
    }
}

fn walk(e: &IdedExpr, scope: &mut Scope<'_>, depth: usize, out: &mut Vec<(u64, String)>) {
    if depth > MAX_DEPTH {
        return;
    }
    match &e.expr {
        Expr::List(l) => {
            let mut joined = Joined::default();
            for (i, item) in l.elements.iter().enumerate() {
                walk(item, scope, depth + 1, out);
                let t = element(infer_at(item, scope, depth + 1), l.optional_indices.contains(&i));
                joined.add(item.id, t, out);
            }
        }
        Expr::Map(m) => {
            let (mut keys, mut values) = (Joined::default(), Joined::default());
            for entry in &m.entries {
                let EntryExpr::MapEntry(me) = &entry.expr else { continue };
                walk(&me.key, scope, depth + 1, out);
                keys.add(me.key.id, infer_at(&me.key, scope, depth + 1), out);
                walk(&me.value, scope, depth + 1, out);
                let t = element(infer_at(&me.value, scope, depth + 1), me.optional);
                values.add(me.value.id, t, out);
            }
        }
        // A struct literal (`Object{...}`, `JSONPatch{...}`, lowered to a call over the map
        // of its fields): its fields are of their own types.
        Expr::Call(call) if call.func_name == crate::mutation::STRUCT => {
            for arg in &call.args {
                let fields = match &arg.expr {
                    Expr::Map(m) => m.entries.iter().filter_map(|en| match &en.expr {
                        EntryExpr::MapEntry(me) => Some(&me.value),
                        EntryExpr::StructField(_) => None,
                    }),
                    _ => {
                        walk(arg, scope, depth + 1, out);
                        continue;
                    }
                };
                for value in fields {
                    walk(value, scope, depth + 1, out);
                }
            }
        }
        Expr::Comprehension(c) => {
            walk(&c.iter_range, scope, depth + 1, out);
            walk(&c.accu_init, scope, depth + 1, out);
            let (iter, init, accu) = crate::types::comprehension_locals(c, scope, depth);
            scope.push_local(&c.iter_var, iter);
            if let Some(second) = &c.iter_var2 {
                scope.push_local(second, None);
            }
            scope.push_local(&c.accu_var, init);
            walk(&c.loop_cond, scope, depth + 1, out);
            walk(&c.loop_step, scope, depth + 1, out);
            scope.pop_local();
            if c.iter_var2.is_some() {
                scope.pop_local();
            }
            scope.pop_local();
            scope.push_local(&c.accu_var, accu);
            walk(&c.result, scope, depth + 1, out);
            scope.pop_local();
        }
        _ => {
            for child in crate::check::children(e) {
                walk(child, scope, depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Vec<String> {
        let declared =
            vec![("object".to_string(), Some(CelType::Dyn)), ("s".to_string(), Some(CelType::String))];
        let parsed = crate::check::parse_with(source, false).unwrap();
        mismatches(&parsed.expr, &mut Scope::new(&declared)).into_iter().map(|(_, m)| m).collect()
    }

    #[test]
    fn mixed_literals_as_cel_go_reports_them() {
        assert_eq!(check("[1, 'a']"), ["expected type 'int' but found 'string'"]);
        assert_eq!(check("{'a': 1, 'b': true}"), ["expected type 'int' but found 'bool'"]);
        assert_eq!(check("{'a': 1, 2: 1}"), ["expected type 'string' but found 'int'"]);
        assert_eq!(check("[[1], ['a']]"), ["expected type 'list(int)' but found 'list(string)'"]);
        assert_eq!(check("[1, 2.0]"), ["expected type 'int' but found 'double'"]);
        assert_eq!(check("[1, null]"), ["expected type 'int' but found 'null_type'"]);
        assert_eq!(check("[s, 1]"), ["expected type 'string' but found 'int'"]);
        // Nested and inside comprehensions; one report per literal.
        assert_eq!(check("size([1, 'a', true]) > 0"), ["expected type 'int' but found 'string'"]);
        assert_eq!(check("[1, 2].all(x, [x, 'a'].size() == 2)"), ["expected type 'int' but found 'string'"]);
    }

    #[test]
    fn what_joins_is_accepted() {
        for ok in [
            "[1, 2, 3]",
            "[object.a, 1, 'a']",
            "[1, object.a, 'a']",
            "[[], [1]]",
            "[{}, {'a': 1}]",
            "{'a': object.x, 'b': 1}",
            "[optional.of(1), optional.none()]",
            "[null, optional.of(1)]",
            "[?object.?a, 1]",
            "[1, 2].map(x, [x, x])",
            // An element whose type is not known here: not checked.
            "[object.a - 1, 'a']",
        ] {
            assert_eq!(check(ok), Vec::<String>::new(), "{ok}");
        }
    }
}

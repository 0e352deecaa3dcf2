//! cel-go's overload check for the arithmetic and ordering operators, where both operand
//! types are known for certain: `object.spec.replicas > '1'` (an integer field against a
//! string literal) is `found no matching overload for '_>_' applied to '(int, string)'`,
//! a compile error in kube (a CRD rule is refused, a ValidatingAdmissionPolicy gets a type
//! checking warning).
//!
//! Only literals and fields of a declared schema count as known (see
//! [`crate::estimate`]); anything else is `dyn` to this check, as it is to cel-go when a
//! schema leaves the type open, so the check never refuses what kube accepts.

use cel::common::ast::{operators, LiteralValue};

/// A CEL type this check knows, by cel-go's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    Bool,
    Int,
    UInt,
    Double,
    String,
    Bytes,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::UInt => "uint",
            Type::Double => "double",
            Type::String => "string",
            Type::Bytes => "bytes",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Type::Int | Type::UInt | Type::Double)
    }

    /// The type of a literal (`null` is none of these).
    pub(crate) fn of_literal(l: &LiteralValue) -> Option<Type> {
        Some(match l {
            LiteralValue::Boolean(_) => Type::Bool,
            LiteralValue::Int(_) => Type::Int,
            LiteralValue::UInt(_) => Type::UInt,
            LiteralValue::Double(_) => Type::Double,
            LiteralValue::String(_) => Type::String,
            LiteralValue::Bytes(_) => Type::Bytes,
            LiteralValue::Null => return None,
        })
    }
}

/// The error for `operator` applied to `left` and `right`, when cel-go has no overload.
pub(crate) fn check(operator: &str, left: Type, right: Type) -> Option<String> {
    let same = left == right;
    let ok = match operator {
        // Ordering: each type with itself, and numbers across types (kube enables cel-go's
        // cross-type numeric comparisons).
        operators::LESS | operators::LESS_EQUALS | operators::GREATER | operators::GREATER_EQUALS => {
            same || (left.numeric() && right.numeric())
        }
        operators::ADD => same && left != Type::Bool,
        operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE => same && left.numeric(),
        operators::MODULO => same && matches!(left, Type::Int | Type::UInt),
        _ => return None,
    };
    (!ok).then(|| {
        format!(
            "found no matching overload for '{operator}' applied to '({}, {})'",
            left.name(),
            right.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cel_gos_overloads() {
        assert_eq!(
            check(operators::GREATER, Type::Int, Type::String).as_deref(),
            Some("found no matching overload for '_>_' applied to '(int, string)'")
        );
        assert_eq!(
            check(operators::ADD, Type::String, Type::Int).as_deref(),
            Some("found no matching overload for '_+_' applied to '(string, int)'")
        );
        assert_eq!(check(operators::LESS, Type::Int, Type::Double), None);
        assert_eq!(check(operators::LESS, Type::UInt, Type::Int), None);
        assert_eq!(check(operators::LESS, Type::String, Type::String), None);
        assert!(check(operators::LESS, Type::Bool, Type::Int).is_some());
        assert_eq!(check(operators::ADD, Type::String, Type::String), None);
        assert!(check(operators::ADD, Type::Int, Type::UInt).is_some());
        assert!(check(operators::ADD, Type::Bool, Type::Bool).is_some());
        assert!(check(operators::MODULO, Type::Double, Type::Double).is_some());
        assert_eq!(check(operators::MULTIPLY, Type::Double, Type::Double), None);
        assert_eq!(check(operators::EQUALS, Type::Int, Type::String), None, "not checked here");
    }
}

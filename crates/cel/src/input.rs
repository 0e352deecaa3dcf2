//! [`RuleInput`]: `self` and `oldSelf` of one schema node, converted into CEL values once
//! for every rule declared on the node, as kube's validator binds one activation per node
//! and runs each of the node's rules with it. Conversion is the larger part of a rule's
//! cost on a typical object, so a node with three rules converts its value once, not three
//! times. Each form of the variables (`self` alone, with `oldSelf`, with an optional
//! `oldSelf`) is converted on first use only.

use crate::error::EvalError;
use crate::program::Activation;
use crate::rule::{OLD_SELF, SELF};
use crate::shape::Shape;
use serde_json::Value as Json;

/// Which variables an evaluation binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `self` only (a rule that does not read `oldSelf`).
    SelfOnly,
    /// `self` and, when there is an old value, `oldSelf`.
    WithOld,
    /// `self` and `oldSelf` as an optional (`optionalOldSelf: true`).
    WithOptionalOld,
}

/// The values one schema node's rules run on, and their CEL forms once converted.
pub struct RuleInput<'a> {
    self_value: &'a Json,
    old_self: Option<&'a Json>,
    /// At most one activation per binding and shape (every rule of a node has the node's
    /// shape, so in practice one per binding).
    built: Vec<(Binding, &'a Shape, Activation)>,
}

impl std::fmt::Debug for RuleInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleInput").field("has_old", &self.old_self.is_some()).finish_non_exhaustive()
    }
}

impl<'a> RuleInput<'a> {
    /// The input of a node: its value and, on an update, its correlated old value.
    pub fn new(self_value: &'a Json, old_self: Option<&'a Json>) -> Self {
        RuleInput { self_value, old_self, built: Vec::new() }
    }

    /// Whether there is an old value.
    pub fn has_old(&self) -> bool {
        self.old_self.is_some()
    }

    /// The activation binding `binding` with values typed by `shape`, converted on first use.
    /// A rule that reads only `self` is served by any activation of its shape.
    pub(crate) fn activation(
        &mut self,
        binding: Binding,
        shape: &'a Shape,
    ) -> Result<&Activation, EvalError> {
        let same_shape = |s: &Shape| std::ptr::eq(s, shape) || s == shape;
        let found = self
            .built
            .iter()
            .position(|(b, s, _)| (*b == binding || binding == Binding::SelfOnly) && same_shape(s));
        let at = match found {
            Some(i) => i,
            None => {
                let mut a = Activation::new();
                a.bind(SELF, self.self_value, shape)?;
                match binding {
                    Binding::SelfOnly => {}
                    Binding::WithOld => {
                        if let Some(old) = self.old_self {
                            a.bind(OLD_SELF, old, shape)?;
                        }
                    }
                    Binding::WithOptionalOld => {
                        a.bind_optional(OLD_SELF, self.old_self, shape)?;
                    }
                }
                self.built.push((binding, shape, a));
                self.built.len() - 1
            }
        };
        Ok(&self.built[at].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_form_is_converted_once_and_self_only_reuses_any() {
        let shape =
            Shape::from_openapi_schema(&json!({"type": "object", "properties": {"a": {"type": "integer"}}}));
        let other = shape.clone();
        let (new, old) = (json!({"a": 1}), json!({"a": 0}));
        let mut input = RuleInput::new(&new, Some(&old));
        input.activation(Binding::WithOld, &shape).unwrap();
        input.activation(Binding::SelfOnly, &other).unwrap();
        input.activation(Binding::WithOld, &other).unwrap();
        assert_eq!(input.built.len(), 1, "an equal shape and a self-only rule reuse it");
        input.activation(Binding::WithOptionalOld, &shape).unwrap();
        assert_eq!(input.built.len(), 2);
        let different = Shape::Any;
        input.activation(Binding::SelfOnly, &different).unwrap();
        assert_eq!(input.built.len(), 3, "a different shape converts again");
    }
}

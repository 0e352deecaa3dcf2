//! The authorizer chain (k8s.io/apiserver `authorization/union`) and the two fixed
//! authorizers of `--authorization-mode=AlwaysAllow|AlwaysDeny`.

use apimachinery::{Attributes, Decision, UserInfo};

use crate::policy::{NonResourceRule, ResourceRule, ALL};
use crate::{Authorizer, RuleResolver, SubjectRules};

/// Asks each authorizer in turn: the first `Allow` or `Deny` wins; if all give no opinion,
/// the answer is `NoOpinion` with their non-empty reasons joined by `"\n"`.
pub struct Union {
    authorizers: Vec<Box<dyn Authorizer>>,
}

impl Union {
    pub fn new(authorizers: Vec<Box<dyn Authorizer>>) -> Self {
        Self { authorizers }
    }
}

impl Authorizer for Union {
    fn authorize(&self, attrs: &Attributes) -> Decision {
        let mut reasons: Vec<String> = Vec::new();
        for authorizer in &self.authorizers {
            match authorizer.authorize(attrs) {
                Decision::NoOpinion(reason) => {
                    if !reason.is_empty() {
                        reasons.push(reason);
                    }
                }
                decided => return decided,
            }
        }
        Decision::NoOpinion(reasons.join("\n"))
    }
}

/// Rule resolvers chained: rules concatenated, incomplete if any is, errors gathered.
pub struct UnionRuleResolver {
    resolvers: Vec<Box<dyn RuleResolver>>,
}

impl UnionRuleResolver {
    pub fn new(resolvers: Vec<Box<dyn RuleResolver>>) -> Self {
        Self { resolvers }
    }
}

impl RuleResolver for UnionRuleResolver {
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        let mut out = SubjectRules::default();
        for r in &self.resolvers {
            let rules = r.rules_for(user, namespace);
            out.resource_rules.extend(rules.resource_rules);
            out.non_resource_rules.extend(rules.non_resource_rules);
            out.incomplete |= rules.incomplete;
            out.evaluation_errors.extend(rules.evaluation_errors);
        }
        out
    }
}

/// Allows everything, with an empty reason (kube's `alwaysAllowAuthorizer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysAllow;

impl Authorizer for AlwaysAllow {
    fn authorize(&self, _: &Attributes) -> Decision {
        Decision::Allow(String::new())
    }
}

impl RuleResolver for AlwaysAllow {
    fn rules_for(&self, _: &UserInfo, _: &str) -> SubjectRules {
        SubjectRules {
            resource_rules: vec![ResourceRule {
                verbs: vec![ALL.into()],
                api_groups: vec![ALL.into()],
                resources: vec![ALL.into()],
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: vec![ALL.into()],
                non_resource_urls: vec![ALL.into()],
            }],
            ..Default::default()
        }
    }
}

/// Forbids everything. Like kube's `alwaysDenyAuthorizer` it answers `NoOpinion` (not
/// `Deny`) with the reason "Everything is forbidden.", so a later authorizer may still allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysDeny;

pub const ALWAYS_DENY_REASON: &str = "Everything is forbidden.";

impl Authorizer for AlwaysDeny {
    fn authorize(&self, _: &Attributes) -> Decision {
        Decision::NoOpinion(ALWAYS_DENY_REASON.into())
    }
}

impl RuleResolver for AlwaysDeny {
    fn rules_for(&self, _: &UserInfo, _: &str) -> SubjectRules {
        SubjectRules::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Decision);
    impl Authorizer for Fixed {
        fn authorize(&self, _: &Attributes) -> Decision {
            self.0.clone()
        }
    }

    fn no(reason: &str) -> Box<dyn Authorizer> {
        Box::new(Fixed(Decision::NoOpinion(reason.into())))
    }

    #[test]
    fn first_decision_wins() {
        let a = Attributes::default();
        let u = Union::new(vec![no("x"), Box::new(Fixed(Decision::Deny("d".into()))), Box::new(AlwaysAllow)]);
        assert_eq!(u.authorize(&a), Decision::Deny("d".into()));
        let u = Union::new(vec![no(""), Box::new(AlwaysAllow), Box::new(Fixed(Decision::Deny("d".into())))]);
        assert_eq!(u.authorize(&a), Decision::Allow(String::new()));
    }

    #[test]
    fn no_opinion_reasons_are_joined() {
        let a = Attributes::default();
        let u = Union::new(vec![no("node says no"), no(""), Box::new(AlwaysDeny)]);
        assert_eq!(u.authorize(&a), Decision::NoOpinion("node says no\nEverything is forbidden.".into()));
        assert_eq!(Union::new(vec![]).authorize(&a), Decision::NoOpinion(String::new()));
    }

    #[test]
    fn rule_resolvers_chain() {
        let u = UnionRuleResolver::new(vec![Box::new(AlwaysDeny), Box::new(AlwaysAllow)]);
        let rules = u.rules_for(&UserInfo::default(), "ns");
        assert_eq!((rules.resource_rules.len(), rules.non_resource_rules.len()), (1, 1));
        assert!(!rules.incomplete);
    }
}

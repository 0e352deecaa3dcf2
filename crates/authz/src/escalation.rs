//! Privilege-escalation prevention (kube's `rbac/validation`: `Covers`, `ConfirmNoEscalation`).
//!
//! A user may create or update a role (or bind one) only if the rules it grants are covered
//! by rules the user already holds. Rules are broken down to single
//! (group, resource, verb[, name]) and (URL, verb) tuples, and each tuple must be covered by
//! one owner rule.

use std::collections::BTreeSet;

use apimachinery::UserInfo;

use crate::policy::{PolicyRule, ALL};
use crate::quote::{go_quote_list, push_go_quoted};

/// kube's `BreakdownRule`: one rule per (group, resource, verb, name) and per (URL, verb).
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    verbs: vec![verb.clone()],
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule { resource_names: vec![name.clone()], ..base.clone() });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: vec![url.clone()],
                verbs: vec![verb.clone()],
                ..Default::default()
            });
        }
    }
    out
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| set.contains(w))
}

fn resource_covers_all(owner: &[String], wanted: &[String]) -> bool {
    if owner.iter().any(|r| r == ALL) || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        owner.contains(path)
            || path.split_once('/').is_some_and(|(_, sub)| owner.iter().any(|r| *r == format!("*/{sub}")))
    })
}

fn url_covers(owner: &str, wanted: &str) -> bool {
    owner == wanted || (owner.ends_with('*') && wanted.starts_with(owner.trim_end_matches('*')))
}

/// kube's `ruleCovers`: does `owner` grant everything the single-tuple `sub` grants?
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = owner.verbs.iter().any(|v| v == ALL) || has_all(&owner.verbs, &sub.verbs);
    let groups = owner.api_groups.iter().any(|g| g == ALL) || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = sub.non_resource_urls.iter().all(|u| owner.non_resource_urls.iter().any(|o| url_covers(o, u)));
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && urls && names
}

/// kube's `Covers`: whether `owner_rules` cover all of `requested`, and the broken-down
/// rules that are not covered.
pub fn covers(owner_rules: &[PolicyRule], requested: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let uncovered: Vec<PolicyRule> = requested
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner_rules.iter().any(|o| rule_covers(o, sub)))
        .collect();
    (uncovered.is_empty(), uncovered)
}

/// kube's `CompactRules`: merges single-tuple resource rules that differ only in verb.
pub fn compact(rules: &[PolicyRule]) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let simple = rule.api_groups.len() == 1
            && rule.resources.len() == 1
            && rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty();
        let key = |r: &PolicyRule| (r.api_groups.clone(), r.resources.clone(), r.resource_names.clone());
        match out.iter_mut().find(|o| simple && o.non_resource_urls.is_empty() && key(o) == key(rule)) {
            Some(existing) => {
                existing.verbs.extend(rule.verbs.iter().cloned());
            }
            None => out.push(rule.clone()),
        }
    }
    out
}

/// kube's `CompactString`: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`.
pub fn compact_string(rule: &PolicyRule) -> String {
    let fields: [(&str, &Vec<String>); 5] = [
        ("APIGroups", &rule.api_groups),
        ("Resources", &rule.resources),
        ("NonResourceURLs", &rule.non_resource_urls),
        ("ResourceNames", &rule.resource_names),
        ("Verbs", &rule.verbs),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| format!("{name}:{}", go_quote_list(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The refusal when a binding names a role that does not exist and its author may not
/// `bind` it: nothing can show the role's rules are held.
pub fn missing_role_message(user: &UserInfo, role_resource: &str, role_name: &str) -> String {
    let mut msg = String::from("user ");
    push_go_quoted(&mut msg, &user.name);
    msg.push_str(" (groups=");
    msg.push_str(&go_quote_list(&user.groups));
    msg.push_str(") is attempting to grant RBAC permissions not currently held: ");
    msg.push_str(role_resource);
    msg.push(' ');
    push_go_quoted(&mut msg, role_name);
    msg.push_str(" not found");
    msg
}

/// kube's `ConfirmNoEscalation` message when `user` (holding `owner_rules`) asks to grant
/// `requested`; `None` when covered. `resolution_errors` are the errors met while listing
/// the user's own rules.
pub fn confirm_no_escalation(
    user: &UserInfo,
    owner_rules: &[PolicyRule],
    requested: &[PolicyRule],
    resolution_errors: &[String],
) -> Option<String> {
    let (ok, missing) = covers(owner_rules, requested);
    if ok {
        return None;
    }
    let descriptions: BTreeSet<String> = compact(&missing).iter().map(compact_string).collect();
    let mut msg = String::from("user ");
    push_go_quoted(&mut msg, &user.name);
    msg.push_str(" (groups=");
    msg.push_str(&go_quote_list(&user.groups));
    msg.push_str(") is attempting to grant RBAC permissions not currently held:\n");
    msg.push_str(&descriptions.into_iter().collect::<Vec<_>>().join("\n"));
    if !resolution_errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", resolution_errors.join(" ")));
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule::resource(verbs, groups, resources)
    }

    #[test]
    fn star_covers_everything() {
        let admin = [r(&["*"], &["*"], &["*"]), PolicyRule::non_resource(&["*"], &["*"])];
        let asked = [
            r(&["get", "escalate"], &["", "rbac.authorization.k8s.io"], &["pods/exec", "roles"]),
            PolicyRule::non_resource(&["get"], &["/healthz"]),
        ];
        assert_eq!(covers(&admin, &asked), (true, vec![]));
    }

    #[test]
    fn reports_uncovered_tuples() {
        let owner = [r(&["get", "list"], &[""], &["pods"])];
        let (ok, missing) = covers(&owner, &[r(&["get", "delete"], &[""], &["pods", "secrets"])]);
        assert!(!ok);
        assert_eq!(
            missing,
            vec![
                r(&["delete"], &[""], &["pods"]),
                r(&["get"], &[""], &["secrets"]),
                r(&["delete"], &[""], &["secrets"])
            ]
        );
    }

    #[test]
    fn subresources_names_and_urls() {
        let owner = [
            r(&["get"], &[""], &["*/status"]),
            r(&["update"], &[""], &["configmaps"]).with_names(&["a", "b"]),
            PolicyRule::non_resource(&["get"], &["/apis/*"]),
        ];
        assert!(covers(&owner, &[r(&["get"], &[""], &["pods/status"])]).0);
        assert!(!covers(&owner, &[r(&["get"], &[""], &["pods"])]).0);
        assert!(covers(&owner, &[r(&["update"], &[""], &["configmaps"]).with_names(&["a"])]).0);
        assert!(!covers(&owner, &[r(&["update"], &[""], &["configmaps"]).with_names(&["c"])]).0);
        // A name-restricted owner rule does not cover the unrestricted rule.
        assert!(!covers(&owner, &[r(&["update"], &[""], &["configmaps"])]).0);
        assert!(covers(&owner, &[PolicyRule::non_resource(&["get"], &["/apis/apps"])]).0);
        assert!(!covers(&owner, &[PolicyRule::non_resource(&["get"], &["/api"])]).0);
        // Nothing asked is always covered.
        assert!(covers(&[], &[]).0);
    }

    #[test]
    fn escalation_message_like_kube() {
        let user = UserInfo::new("dev", vec!["system:authenticated".into()]);
        let msg = confirm_no_escalation(&user, &[], &[r(&["get", "list"], &[""], &["secrets"])], &[]);
        assert_eq!(
            msg.as_deref(),
            Some(
                "user \"dev\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions \
                 not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}"
            )
        );
        let owner = [r(&["*"], &["*"], &["*"])];
        assert_eq!(confirm_no_escalation(&user, &owner, &[r(&["get"], &[""], &["pods"])], &[]), None);
    }
}

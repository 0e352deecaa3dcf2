//! The 403 text kube-apiserver writes when authorization does not allow a request
//! (`responsewriters.forbiddenMessage` and its HTML sanitizer).

use apimachinery::Attributes;

use crate::quote::push_go_quoted;

/// kube's forbidden message for `attrs`, with `&`, `<`, `>` escaped as kube does:
/// `User "u" cannot get resource "pods" in API group "" in the namespace "ns"`,
/// `... at the cluster scope`, or `User "u" cannot get path "/metrics"`.
pub fn forbidden_message(attrs: &Attributes) -> String {
    let mut m = String::with_capacity(96);
    m.push_str("User ");
    push_go_quoted(&mut m, &attrs.user.name);
    m.push_str(" cannot ");
    m.push_str(&attrs.verb);
    if !attrs.resource_request {
        m.push_str(" path ");
        push_go_quoted(&mut m, &attrs.path);
    } else {
        m.push_str(" resource ");
        push_go_quoted(&mut m, &attrs.resource_with_subresource());
        m.push_str(" in API group ");
        push_go_quoted(&mut m, &attrs.api_group);
        if attrs.namespace.is_empty() {
            m.push_str(" at the cluster scope");
        } else {
            m.push_str(" in the namespace ");
            push_go_quoted(&mut m, &attrs.namespace);
        }
    }
    sanitize(&m)
}

/// The inner error text of the 403: the message, then `: <reason>` when the authorizers
/// gave one (the reason is not sanitized).
pub fn forbidden_error_text(attrs: &Attributes, reason: &str) -> String {
    let msg = forbidden_message(attrs);
    if reason.is_empty() {
        msg
    } else {
        format!("{msg}: {reason}")
    }
}

fn sanitize(s: &str) -> String {
    if !s.contains(['&', '<', '>']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::{GroupResource, StatusError, UserInfo};

    fn res(user: &str, verb: &str, group: &str, resource: &str, sub: &str, ns: &str) -> Attributes {
        Attributes {
            user: UserInfo::new(user, vec![]),
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            ..Default::default()
        }
    }

    #[test]
    fn golden_messages() {
        let list = res("alice", "list", "", "pods", "", "default");
        let status = StatusError::forbidden(&GroupResource::new("", "pods"), "", &forbidden_message(&list));
        assert_eq!(
            status.message,
            r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default""#
        );
        let get = res("bob", "get", "rbac.authorization.k8s.io", "clusterroles", "", "");
        assert_eq!(
            forbidden_message(&get),
            r#"User "bob" cannot get resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope"#
        );
        let exec = res("alice", "create", "", "pods", "exec", "prod");
        assert_eq!(
            forbidden_message(&exec),
            r#"User "alice" cannot create resource "pods/exec" in API group "" in the namespace "prod""#
        );
        let metrics = Attributes {
            user: UserInfo::anonymous(),
            verb: "get".into(),
            path: "/metrics".into(),
            ..Default::default()
        };
        assert_eq!(forbidden_message(&metrics), r#"User "system:anonymous" cannot get path "/metrics""#);
        let node = res("system:node:n1", "get", "", "secrets", "", "prod");
        assert_eq!(
            forbidden_error_text(&node, "no relationship found between node 'n1' and this object"),
            r#"User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "prod": no relationship found between node 'n1' and this object"#
        );
    }

    #[test]
    fn sanitizes_html_and_quotes_like_go() {
        let a = Attributes {
            user: UserInfo::new("<script>&\"x\"", vec![]),
            verb: "get".into(),
            path: "/a<b>".into(),
            ..Default::default()
        };
        assert_eq!(forbidden_message(&a), r#"User "&lt;script&gt;&amp;\"x\"" cannot get path "/a&lt;b&gt;""#);
        assert_eq!(forbidden_error_text(&a, "<r>").rsplit(": ").next(), Some("<r>"));
    }
}

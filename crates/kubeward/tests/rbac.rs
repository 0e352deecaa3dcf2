//! The access-control story with real kubectl: a user with a client certificate is denied
//! with kube's exact message, the admin grants a Role through a RoleBinding (typed
//! `kubectl create`, protobuf from 1.32 on, JSON before), and the user gets in.

mod support;

use std::time::Duration;
use support::{eventually, Server};

const JANE_DENIED: &str = r#"Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default""#;

/// Grants jane read access to pods in `namespace` with the given kubectl version, then waits
/// (bounded) for her `get pods` to succeed.
fn grant_and_check(server: &Server, version: &str, namespace: &str, subject: &str) {
    let Some(admin) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    let jane_kc = server.user_kubeconfig("jane", &["devs"]);
    let jane = server.kubectl_as(version, "jane", &jane_kc).expect("same binary as admin");

    let out = jane.run(&["get", "pods", "-n", namespace]);
    out.assert_code(1);
    let expected = JANE_DENIED.replace(r#"namespace "default""#, &format!(r#"namespace "{namespace}""#));
    assert!(out.stderr.lines().any(|l| l == expected), "kubectl {version}: want {expected:?}\n{out}");

    admin
        .ok(&["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", namespace])
        .assert_stdout_contains("role.rbac.authorization.k8s.io/pod-reader created");
    admin
        .ok(&["create", "rolebinding", "pod-reader", "--role=pod-reader", subject, "-n", namespace])
        .assert_stdout_contains("rolebinding.rbac.authorization.k8s.io/pod-reader created");

    // What the typed create sent must have been understood: the binding names jane's subject.
    let out = admin.ok(&["get", "rolebinding", "pod-reader", "-n", namespace, "-o", "json"]);
    let rb: serde_json::Value = serde_json::from_str(&out.stdout).expect("rolebinding json");
    assert_eq!(rb["roleRef"]["kind"], "Role", "{out}");
    assert_eq!(rb["roleRef"]["name"], "pod-reader", "{out}");
    let (kind, name) = subject.trim_start_matches("--").split_once('=').expect("--user=x or --group=x");
    assert_eq!(rb["subjects"][0]["kind"].as_str().map(str::to_lowercase).as_deref(), Some(kind), "{out}");
    assert_eq!(rb["subjects"][0]["name"], name, "{out}");
    let out = admin.ok(&["get", "role", "pod-reader", "-n", namespace, "-o", "json"]);
    let role: serde_json::Value = serde_json::from_str(&out.stdout).expect("role json");
    assert_eq!(role["rules"][0]["verbs"], serde_json::json!(["get", "list", "watch"]), "{out}");
    assert_eq!(role["rules"][0]["resources"], serde_json::json!(["pods"]), "{out}");

    let mut last = None;
    let granted = eventually(Duration::from_secs(5), || {
        let out = jane.run(&["get", "pods", "-n", namespace]);
        let ok = out.ok();
        last = Some(out);
        ok.then_some(())
    });
    let last = last.expect("ran at least once");
    assert!(granted.is_some(), "jane still denied 5 s after the grant: {last}");
    last.assert_stderr_contains(&format!("No resources found in {namespace} namespace."));

    // The grant is exactly what the Role says: no writes, nothing in other namespaces.
    let out = jane.run(&["auth", "can-i", "create", "pods", "-n", namespace]);
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "no", "{out}");
    let out = jane.run(&["get", "pods", "-n", "kube-system"]);
    out.assert_code(1).assert_stderr_contains(
        r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "kube-system""#,
    );
    let out = jane.run(&["get", "secrets", "-n", namespace]);
    out.assert_code(1).assert_stderr_contains(&format!(
        r#"Error from server (Forbidden): secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "{namespace}""#
    ));

    let out = jane.ok(&["auth", "whoami"]);
    assert!(out.stdout.lines().any(|l| l.starts_with("Username") && l.trim_end().ends_with("jane")), "{out}");
    assert!(out.stdout.lines().any(|l| l.starts_with("Groups") && l.contains("devs")), "{out}");
}

/// kubectl 1.33 sends the Role and RoleBinding as protobuf; binds the user.
#[test]
fn user_is_denied_then_granted_protobuf_writes() {
    let server = Server::start();
    grant_and_check(&server, "1.33", "default", "--user=jane");
}

/// kubectl 1.27 sends them as JSON; binds jane's group from her certificate's O.
#[test]
fn group_is_denied_then_granted_json_writes() {
    let server = Server::start();
    let Some(admin) = server.kubectl("1.27") else {
        support::missing("kubectl 1.27");
        return;
    };
    admin.ok(&["create", "namespace", "team"]).assert_stdout_contains("namespace/team created");
    grant_and_check(&server, "1.27", "team", "--group=devs");
}

/// `auth can-i --as` goes through impersonation: the admin may impersonate (cluster-admin),
/// the answer is evaluated for jane.
#[test]
fn admin_can_ask_on_behalf_of_jane() {
    let server = Server::start();
    let Some(admin) = server.kubectl("") else {
        support::missing("kubectl");
        return;
    };
    let out = admin.run(&["auth", "can-i", "list", "pods", "--as", "jane"]);
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "no", "impersonation: before the grant jane cannot list pods: {out}");

    admin.ok(&["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods"]);
    admin.ok(&["create", "rolebinding", "pod-reader", "--role=pod-reader", "--user=jane"]);
    let mut last = None;
    let yes = eventually(Duration::from_secs(5), || {
        let out = admin.run(&["auth", "can-i", "list", "pods", "--as", "jane"]);
        let ok = out.ok() && out.stdout.trim() == "yes";
        last = Some(out);
        ok.then_some(())
    });
    assert!(yes.is_some(), "impersonation: jane should be allowed: {}", last.expect("ran"));

    // Impersonating a group counts too, and the impersonated request itself is authorized.
    let out = admin.ok(&["get", "pods", "--as", "jane"]);
    out.assert_stderr_contains("No resources found in default namespace.");
    let out = admin.run(&["get", "secrets", "--as", "jane", "--as-group", "devs"]);
    out.assert_code(1).assert_stderr_contains(
        r#"secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "default""#,
    );

    // jane herself may not impersonate anyone.
    let jane_kc = server.user_kubeconfig("jane", &["devs"]);
    let jane = server.kubectl_as("", "jane", &jane_kc).expect("same binary");
    // `get` fails in discovery first, where client-go prints `Error from server (Forbidden):
    // unknown` against kube-apiserver too; the exact Status is checked over HTTP in http.rs.
    let out = jane.run(&["get", "pods", "--as", "kubeward-admin"]);
    out.assert_code(1).assert_stderr_contains("Error from server (Forbidden)");
}

/// Escalation prevention: a user allowed to write Roles may not grant what she does not hold.
#[test]
fn roles_cannot_grant_more_than_the_writer_holds() {
    let server = Server::start();
    let Some(admin) = server.kubectl("") else {
        support::missing("kubectl");
        return;
    };
    admin.ok(&[
        "create",
        "role",
        "role-writer",
        "--verb=create,get,list",
        "--resource=roles.rbac.authorization.k8s.io,pods",
    ]);
    admin.ok(&["create", "rolebinding", "role-writer", "--role=role-writer", "--user=jane"]);
    let jane_kc = server.user_kubeconfig("jane", &["devs"]);
    let jane = server.kubectl_as("", "jane", &jane_kc).expect("same binary");

    // Within her own rights: allowed.
    let mut last = None;
    let ok = eventually(Duration::from_secs(5), || {
        let out = jane.run(&["create", "role", "pod-lister", "--verb=list", "--resource=pods"]);
        let ok = out.ok();
        last = Some(out);
        ok.then_some(())
    });
    assert!(ok.is_some(), "jane may create a role within her rights: {}", last.expect("ran"));

    // Beyond them: refused, whatever protocol kubectl used.
    let out = jane.run(&["create", "role", "secret-reader", "--verb=get", "--resource=secrets"]);
    out.assert_code(1).assert_stderr_contains(
        r#"roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "jane""#,
    );
    out.assert_stderr_contains("is attempting to grant RBAC permissions not currently held");
    admin.run(&["get", "role", "secret-reader"]).assert_code(1);
}

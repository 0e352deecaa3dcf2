//! `kubeward who-can` and `kubeward explain` against a running server, with the admin's
//! kubeconfig: who may list pods, how a new RoleBinding shows up, and why a request is
//! allowed (binding, role, rule) or denied.

mod support;

use std::process::Command;
use std::time::Duration;
use support::more::{retry, Cluster};
use support::{run, Output, Server, COMMAND_TIMEOUT};

fn kubeward(server: &Server, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args).arg("--kubeconfig").arg(&server.kubeconfig).env_remove("KUBECONFIG");
    run(cmd, COMMAND_TIMEOUT)
}

/// The rows of `who-can`'s table as (kind, subject, binding, role).
fn rows(out: &Output) -> Vec<(String, String, String, String)> {
    let mut lines = out.stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.split_whitespace().collect::<Vec<_>>() == ["KIND", "SUBJECT", "BINDING", "ROLE"],
        "unexpected header: {out}"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "a row with {} columns: {l:?}\n{out}", f.len());
            (f[0].to_string(), f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect()
}

fn has(rows: &[(String, String, String, String)], kind: &str, subject: &str) -> bool {
    rows.iter().any(|r| r.0 == kind && r.1 == subject)
}

#[test]
fn who_can_lists_admins_and_new_bindings() {
    let server = Server::start();
    let out = kubeward(&server, &["who-can", "list", "pods", "-n", "default"]);
    out.assert_ok();
    let before = rows(&out);
    assert!(
        before.iter().any(|r| r.0 == "User"
            && r.1 == "kubeward-admin"
            && r.2 == "ClusterRoleBinding/kubeward-admin"
            && r.3 == "ClusterRole/cluster-admin"),
        "{out}"
    );
    assert!(
        before
            .iter()
            .any(|r| r.0 == "Group" && r.1 == "system:masters" && r.3 == "ClusterRole/cluster-admin"),
        "{out}"
    );
    assert!(!has(&before, "User", "jane"), "jane before any grant: {out}");

    let admin = server.admin();
    admin.ok(&["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods"]);
    admin.ok(&["create", "rolebinding", "jane-reads", "--role=pod-reader", "--user=jane"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = kubeward(&server, &["who-can", "list", "pods", "-n", "default"]);
        let ok = out.ok()
            && rows(&out).iter().any(|r| {
                r.0 == "User"
                    && r.1 == "jane"
                    && r.2 == "RoleBinding/default/jane-reads"
                    && r.3 == "Role/pod-reader"
            });
        (ok, out.to_string())
    });
    assert!(ok, "jane is not listed after her RoleBinding: {last}");

    // The grant is namespaced and read-only.
    let out = kubeward(&server, &["who-can", "list", "pods", "-n", "kube-system"]);
    out.assert_ok();
    assert!(!has(&rows(&out), "User", "jane"), "jane listed in kube-system: {out}");
    let out = kubeward(&server, &["who-can", "delete", "pods", "-n", "default"]);
    out.assert_ok();
    let del = rows(&out);
    assert!(!has(&del, "User", "jane"), "jane listed for delete: {out}");
    assert!(has(&del, "User", "kubeward-admin"), "{out}");

    // Unknown resource types are refused by name.
    let out = kubeward(&server, &["who-can", "list", "nosuchthings"]);
    assert!(!out.ok(), "{out}");
    assert!(out.stderr.contains("nosuchthings"), "{out}");
}

#[test]
fn explain_names_binding_and_role_or_says_denied() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods"]);
    admin.ok(&["create", "rolebinding", "jane-reads", "--role=pod-reader", "--user=jane"]);

    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = kubeward(&server, &["explain", "list", "pods", "--as", "jane"]);
        (
            out.ok() && out.stdout.lines().next().is_some_and(|l| l.starts_with("server: allowed")),
            out.to_string(),
        )
    });
    assert!(ok, "the server does not allow jane after the grant: {last}");
    let out = kubeward(&server, &["explain", "list", "pods", "--as", "jane"]);
    out.assert_ok();
    let rbac = out.stdout.lines().find(|l| l.starts_with("rbac: ")).unwrap_or_else(|| panic!("{out}"));
    assert!(
        rbac.starts_with(
            r#"rbac: allowed by RoleBinding "default/jane-reads" -> Role "pod-reader", rule #0"#
        ),
        "{out}"
    );

    // A verb the Role lacks.
    let out = kubeward(&server, &["explain", "delete", "pods", "--as", "jane"]);
    out.assert_ok();
    assert!(out.stdout.lines().next().is_some_and(|l| l.starts_with("server: denied")), "{out}");
    out.assert_stdout_contains(
        r#"rbac: denied: no RBAC binding allows it (User "jane" cannot delete resource "pods" in API group "" in the namespace "default")"#,
    );
    // Another namespace.
    let out = kubeward(&server, &["explain", "get", "pods", "web", "-n", "kube-system", "--as", "jane"]);
    out.assert_ok();
    assert!(out.stdout.starts_with("server: denied"), "{out}");
    out.assert_stdout_contains(r#"in the namespace "kube-system""#);

    // Groups count: a member of system:masters is allowed through its binding.
    let out =
        kubeward(&server, &["explain", "delete", "pods", "--as", "bob", "--as-group", "system:masters"]);
    out.assert_ok();
    assert!(out.stdout.starts_with("server: allowed"), "{out}");
    out.assert_stdout_contains(r#"rbac: allowed by ClusterRoleBinding "#);
    out.assert_stdout_contains(r#"-> ClusterRole "cluster-admin""#);

    // A user who may not read RBAC cannot use the tools to see it.
    let kc = server.user_kubeconfig("x", &[]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["who-can", "list", "pods", "--kubeconfig"]).arg(&kc);
    let out = run(cmd, COMMAND_TIMEOUT);
    assert!(!out.ok(), "x could list the RBAC policy: {out}");
    assert!(out.stderr.contains("forbidden") || out.stderr.contains("Forbidden"), "{out}");
}

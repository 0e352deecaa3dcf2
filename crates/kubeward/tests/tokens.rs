//! Bearer-token authentication with real kubectl: a service-account token from
//! `kubectl create token` (TokenRequest), used as the ServiceAccount, denied then granted.

mod support;

use std::time::Duration;
use support::{eventually, Server};

#[test]
fn service_account_token_from_create_token() {
    let server = Server::start();
    let Some(admin) = server.kubectl("") else {
        support::missing("kubectl");
        return;
    };
    admin.ok(&["create", "namespace", "ci"]);
    admin.ok(&["create", "serviceaccount", "deployer", "-n", "ci"]);
    let out = admin.ok(&["create", "token", "deployer", "-n", "ci", "--duration=10m"]);
    let token = out.stdout.trim();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {out}");

    let kc = server.token_kubeconfig("deployer", token);
    let sa = server.kubectl_as("", "deployer", &kc).expect("same binary");
    let out = sa.ok(&["auth", "whoami", "-o", "json"]);
    let review: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let info = &review["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:ci:deployer", "{out}");
    let groups = info["groups"].as_array().cloned().unwrap_or_default();
    for g in ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"] {
        assert!(groups.iter().any(|x| x == g), "{g}: {out}");
    }

    let out = sa.run(&["get", "pods", "-n", "ci"]);
    out.assert_code(1).assert_stderr_contains(
        r#"Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "pods" in API group "" in the namespace "ci""#,
    );

    admin.ok(&[
        "create",
        "rolebinding",
        "deployer-edit",
        "-n",
        "ci",
        "--clusterrole=edit",
        "--serviceaccount=ci:deployer",
    ]);
    let mut last = None;
    let ok = eventually(Duration::from_secs(5), || {
        let out = sa.run(&["create", "configmap", "from-sa", "-n", "ci", "--from-literal=a=b"]);
        let ok = out.ok();
        last = Some(out);
        ok.then_some(())
    });
    assert!(ok.is_some(), "edit binding did not take effect: {}", last.expect("ran"));
    let out = sa.run(&["get", "configmaps", "-n", "default"]);
    out.assert_code(1).assert_stderr_contains("cannot list resource \"configmaps\"");

    // A tampered token is a 401, which kubectl reports as needing credentials.
    // Flip the first character of the signature (all six of its bits are signature bits).
    let sig_start = token.rfind('.').expect("three parts") + 1;
    let first = &token[sig_start..=sig_start];
    let forged =
        format!("{}{}{}", &token[..sig_start], if first == "A" { "B" } else { "A" }, &token[sig_start + 1..]);
    let kc = server.token_kubeconfig("forged", &forged);
    let bad = server.kubectl_as("", "forged", &kc).expect("same binary");
    let out = bad.run(&["get", "pods", "-n", "ci"]);
    out.assert_code(1)
        .assert_stderr_contains("error: You must be logged in to the server (the server has asked for the client to provide credentials)");
}

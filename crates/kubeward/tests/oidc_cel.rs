//! OIDC with a structured AuthenticationConfiguration whose claim validation rules,
//! claim mappings and user validation rules are CEL (kubeward-cel), against the real
//! OpenID provider of `oidc.rs` (npm `oidc-provider`) and a real `kubeward up
//! --authentication-config`. alice (`alice@example.com`, group `devs`) signs in
//! through `kubeward login get-token`; `kubectl auth whoami` shows the user the
//! expressions mapped. bob is refused by a claim rule, with its message in the log.
//! Skipped, with a note, when `node` or kubectl 1.32 is missing.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::more::{Cluster, FlagServer};
use support::oidc::{self, Provider};
use support::Kubectl;

const KUBECTL: &str = "1.32";

fn authentication_config(idp: &Provider) -> String {
    let ca: String = idp.ca_pem.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        r#"apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: {issuer}
    audiences: [{client}]
    certificateAuthority: |
{ca}  claimValidationRules:
  - expression: "claims.?email_verified.orValue(true)"
    message: email must be verified
  - expression: "!claims.email.startsWith('bob@')"
    message: bob may not sign in here
  claimMappings:
    username:
      expression: "'sso:' + claims.email"
    groups:
      expression: "claims.groups.map(g, 'team:' + g)"
    uid:
      claim: sub
    extra:
    - key: example.com/domain
      valueExpression: "claims.email.split('@')[1]"
  userValidationRules:
  - expression: "!user.username.startsWith('system:')"
    message: no system users
"#,
        issuer = idp.issuer,
        client = oidc::CLIENT_ID,
    )
}

/// Signs `login` in through `kubeward login get-token`; the id_token.
fn token(server: &FlagServer, idp: &Provider, login: &str) -> String {
    let cache = server.scratch_dir(&format!("tokens-{login}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(idp.get_token_args()).arg(format!("--token-cache-dir={}", cache.display()));
    let r = oidc::run_signing_in(cmd, &idp.ca_pem, Some(login));
    r.out.assert_ok();
    oidc::exec_credential_token(&r.out.stdout)
}

fn whoami(server: &FlagServer, token: &str) -> support::Output {
    let kc = server.anonymous_kubeconfig();
    server.kubectl_with(KUBECTL, "whoami", &kc).run(&["--token", token, "auth", "whoami", "-o", "json"])
}

#[test]
fn oidc_cel_mappings_and_rules_shape_the_user() {
    if Kubectl::find(KUBECTL).is_none() {
        support::missing(&format!("kubectl {KUBECTL}"));
        return;
    }
    let Some(idp) = oidc::start_provider(300) else { return };
    let config = authentication_config(&idp);
    let server = FlagServer::start(|dir: &Path| {
        let path = dir.join("authentication-config.yaml");
        std::fs::write(&path, &config).expect("write authentication config");
        vec![format!("--authentication-config={}", path.display())]
    });

    let alice = token(&server, &idp, "alice");
    let out = whoami(&server, &alice);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let user = &v["status"]["userInfo"];
    assert_eq!(user["username"], "sso:alice@example.com", "{v}");
    let groups: Vec<&str> =
        user["groups"].as_array().expect("groups").iter().filter_map(Value::as_str).collect();
    assert!(groups.contains(&"team:devs") && groups.contains(&"system:authenticated"), "{v}");
    assert_eq!(user["extra"]["example.com/domain"], serde_json::json!(["example.com"]), "{v}");
    assert_eq!(user["uid"], oidc::jwt_claims(&alice)["sub"], "{v}");

    let bob = token(&server, &idp, "bob");
    let out = whoami(&server, &bob);
    assert_eq!(out.code, Some(1), "{out}");
    let refused = support::eventually(Duration::from_secs(5), || {
        server
            .log()
            .lines()
            .any(|l| l.contains("authentication failed") && l.contains("bob may not sign in here"))
            .then_some(())
    });
    assert!(refused.is_some(), "no refusal with the rule's message in the log:\n{}", server.log());
}

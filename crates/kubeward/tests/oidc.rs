//! OIDC end to end (issue 7), against a real OpenID provider on loopback (npm
//! `oidc-provider`, the login crate's test IdP) and a real `kubeward up` started with
//! `--oidc-issuer-url <idp> --oidc-client-id kubeward --oidc-ca-file <idp ca>
//! --oidc-username-claim email --oidc-groups-claim groups --oidc-groups-prefix oidc:`.
//! User names are the `email` claim, so alice is `alice@example.com` (no issuer prefix, as
//! kube does for email) in group `oidc:devs`, bob is `bob@example.com` in `oidc:others`.
//!
//! kubectl 1.32 runs `kubeward login get-token` as its exec credential plugin; the test
//! reads the sign-in URL the plugin prints through kubectl's stderr and signs in by
//! driving the provider's login and consent forms over HTTP, while kubectl waits.
//! Skipped, with a note, when `node` or kubectl 1.32 is missing.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::more::{Cluster, FlagServer};
use support::oidc::{self, Interactive, Provider};
use support::{run, Kubectl, COMMAND_TIMEOUT};

const KUBECTL: &str = "1.32";
/// kubectl's line for a 401 (on discovery, which `get` does first with a cold cache,
/// kubectl says "the server has asked for the client to provide credentials" instead, as
/// with kube-apiserver; so the 401 checks use `auth whoami` or a warm discovery cache).
const UNAUTHORIZED: &str = "error: You must be logged in to the server (Unauthorized)";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// The IdP and a server trusting it.
struct Env {
    idp: Provider,
    server: FlagServer,
    kubectl: PathBuf,
}

fn start(id_token_ttl: u32) -> Option<Env> {
    let Some(kubectl) = Kubectl::find(KUBECTL) else {
        support::missing(&format!("kubectl {KUBECTL}"));
        return None;
    };
    let idp = oidc::start_provider(id_token_ttl)?;
    let flags = idp.server_flags(oidc::CLIENT_ID);
    let server = FlagServer::start(|_| flags);
    Some(Env { idp, server, kubectl })
}

impl Env {
    /// A kubeconfig whose user runs the plugin with a token cache of its own (returned too).
    fn plugin_kubeconfig(&self, label: &str) -> (PathBuf, PathBuf) {
        let cache = self.server.scratch_dir(&format!("tokens-{label}"));
        let mut args = self.idp.get_token_args();
        args.push(format!("--token-cache-dir={}", cache.display()));
        let user = oidc::exec_user(label, "kubeward", &args);
        let path = self.server.scratch_dir("kubeconfigs").join(format!("{label}.oidc.kubeconfig"));
        oidc::exec_kubeconfig(&path, self.server.url(), &self.server.pki().join("ca.crt"), &user);
        (path, cache)
    }

    /// kubectl 1.32 with `kubeconfig`, signing in as `login` when the plugin asks
    /// (`None`: a sign-in prompt makes the command stop, and is reported).
    fn kubectl(&self, kubeconfig: &Path, label: &str, login: Option<&str>, args: &[&str]) -> Interactive {
        let cache = self.server.scratch_dir(&format!("kube-cache-{label}"));
        let cmd = oidc::kubectl_command(&self.kubectl, kubeconfig, &cache, args);
        oidc::run_signing_in(cmd, &self.idp.ca_pem, login)
    }

    /// kubectl 1.32 with no credentials but `--token`.
    fn kubectl_token(&self, label: &str, token: &str, args: &[&str]) -> support::Output {
        let mut all = vec!["--token", token];
        all.extend_from_slice(args);
        let kc = self.server.anonymous_kubeconfig();
        self.server.kubectl_with(KUBECTL, label, &kc).run(&all)
    }

    /// `kubectl create clusterrolebinding oidc-devs-view --clusterrole view --group oidc:devs`.
    fn bind_devs_to_view(&self) {
        self.server.kubectl_with(KUBECTL, "admin", self.server.admin_kubeconfig()).ok(&[
            "create",
            "clusterrolebinding",
            "oidc-devs-view",
            "--clusterrole=view",
            "--group=oidc:devs",
        ]);
    }

    /// Signs `login` in through the plugin alone (`kubeward login get-token`); the id_token.
    fn plugin_token(&self, login: &str) -> String {
        let cache = self.server.scratch_dir(&format!("tokens-direct-{login}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.args(self.idp.get_token_args()).arg(format!("--token-cache-dir={}", cache.display()));
        let r = oidc::run_signing_in(cmd, &self.idp.ca_pem, Some(login));
        r.out.assert_ok();
        assert_eq!(r.prompts.len(), 1, "{}", r.out);
        oidc::exec_credential_token(&r.out.stdout)
    }
}

/// The last non-empty line of a command's stderr (kubectl's error line comes after the
/// plugin's prompt, when there is one).
fn last_line(out: &support::Output) -> &str {
    out.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// Checks kubectl's exit code and last line for a 401.
#[track_caller]
fn assert_unauthorized(out: &support::Output) {
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(last_line(out), UNAUTHORIZED, "{out}");
}

/// Waits (up to 5 s: the server's stderr is read by another thread) for the server to log
/// an authentication failure saying `why`, then checks that its log holds neither the
/// token's payload nor its signature.
#[track_caller]
fn assert_logged(server: &impl Cluster, why: &str, token: &str) {
    let needle = "authentication failed";
    let found = support::eventually(Duration::from_secs(5), || {
        let log = server.log();
        log.lines().any(|l| l.contains(needle) && l.contains(why)).then_some(())
    });
    let log = server.log();
    assert!(found.is_some(), "no authentication failure saying {why:?} in the log:\n{log}");
    for part in token.split('.').skip(1) {
        assert!(!log.contains(part), "the token is in the log:\n{log}");
    }
}

/// `kubectl auth whoami -o json`: (user name, groups).
fn whoami_of(out: &support::Output) -> (String, Vec<String>) {
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let info = &v["status"]["userInfo"];
    let groups =
        info["groups"].as_array().map(|a| a.iter().filter_map(|g| g.as_str().map(String::from)).collect());
    (info["username"].as_str().unwrap_or_default().to_string(), groups.unwrap_or_default())
}

/// The output of `kubeward login setup` split at its `## ` headings, with the YAML
/// sections (1: the kubeconfig user, 3: the binding) parsed.
fn setup_sections(text: &str) -> (Value, String, Value) {
    let parts: Vec<&str> = text.split("\n## ").collect();
    assert_eq!(parts.len(), 3, "three sections expected:\n{text}");
    let yaml = |s: &str| -> Value {
        apimachinery::yaml::from_str(s).unwrap_or_else(|e| panic!("not YAML ({e}):\n{s}"))
    };
    // The heading lines are YAML comments; each YAML section parses with its heading.
    (yaml(parts[0]), parts[1].to_string(), yaml(&format!("# {}", parts[2])))
}

fn kubeward_setup(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["login", "setup"]).args(args);
    let out = run(cmd, COMMAND_TIMEOUT);
    out.assert_ok();
    out.stdout
}

/// Issue 7, part 5: `kubeward login setup` prints YAML an operator can paste.
#[test]
fn oidc_login_setup_prints_the_exec_user_and_the_binding_as_yaml() {
    let text = kubeward_setup(&[
        "--oidc-issuer-url=https://idp.example.com",
        "--oidc-client-id=kubeward",
        "--oidc-extra-scope=email",
        "--oidc-extra-scope=groups",
        "--certificate-authority=/etc/idp/ca.pem",
        "--group=devs",
        "--groups-prefix=oidc:",
        "--cluster-role=view",
    ]);
    let (users, flags, binding) = setup_sections(&text);
    let expected_user = serde_json::json!({ "users": [{ "name": "oidc", "user": { "exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "kubeward",
        "args": [
            "login",
            "get-token",
            "--oidc-issuer-url=https://idp.example.com",
            "--oidc-client-id=kubeward",
            "--oidc-extra-scope=email",
            "--oidc-extra-scope=groups",
            "--certificate-authority=/etc/idp/ca.pem",
        ],
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": false,
    }}}]});
    assert_eq!(users, expected_user, "{text}");
    for flag in [
        "--oidc-issuer-url=https://idp.example.com",
        "--oidc-client-id=kubeward",
        "--oidc-groups-prefix=oidc:",
    ] {
        assert!(flags.contains(flag), "server flags lack {flag}:\n{text}");
    }
    let expected_binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": { "name": "oidc-devs-view" },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view" },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "oidc:devs" }],
    });
    assert_eq!(binding, expected_binding, "{text}");
}

/// Issue 7, part 1: the binding printed by `login setup` grants group `oidc:devs` view;
/// alice signs in through kubectl's exec plugin (code flow) and lists pods; bob, outside
/// the group, gets kube's exact Forbidden message.
#[test]
fn oidc_group_binding_lets_alice_list_pods_and_bob_is_forbidden() {
    let Some(env) = start(300) else { return };
    let ca = env.idp.ca_file.display().to_string();
    let text = kubeward_setup(&[
        &format!("--oidc-issuer-url={}", env.idp.issuer),
        "--oidc-client-id=kubeward",
        "--oidc-extra-scope=email",
        "--oidc-extra-scope=groups",
        "--oidc-extra-scope=offline_access",
        &format!("--certificate-authority={ca}"),
        "--group=devs",
        "--groups-prefix=oidc:",
    ]);
    let (users, _, binding) = setup_sections(&text);

    // The admin applies the printed binding as it is.
    let binding_file =
        env.server.file("binding.yaml", &apimachinery::yaml::to_string(&binding).expect("yaml"));
    let admin = env.server.kubectl_with(KUBECTL, "admin", env.server.admin_kubeconfig());
    admin.ok(&["apply", "-f", &binding_file.display().to_string()]);

    // Each user gets the printed users entry (`command: kubeward`, found on PATH), with
    // `--no-browser` and a token cache of its own added.
    let kubeconfig = |label: &str| {
        let mut user = users["users"][0].clone();
        let args = user["user"]["exec"]["args"].as_array_mut().expect("args");
        args.push("--no-browser".into());
        let cache = env.server.scratch_dir(&format!("tokens-{label}"));
        args.push(format!("--token-cache-dir={}", cache.display()).into());
        let path = env.server.scratch_dir("kubeconfigs").join(format!("{label}.setup.kubeconfig"));
        oidc::exec_kubeconfig(&path, env.server.url(), &env.server.pki().join("ca.crt"), &user)
    };

    let alice = kubeconfig("alice");
    let r = env.kubectl(&alice, "alice", Some("alice"), &["get", "pods"]);
    r.out.assert_ok();
    assert_eq!(r.prompts.len(), 1, "one sign-in: {}", r.out);
    assert!(r.prompts[0].starts_with(&format!("{}/", env.idp.issuer)), "{:?}", r.prompts);
    assert_eq!(last_line(&r.out), "No resources found in default namespace.", "{}", r.out);
    // Signed in once: the cached token serves the next call.
    let r = env.kubectl(&alice, "alice", None, &["auth", "whoami", "-o", "json"]);
    assert!(r.prompts.is_empty(), "no second sign-in: {}", r.out);
    let (name, groups) = whoami_of(&r.out);
    assert_eq!(name, ALICE);
    assert_eq!(groups, vec!["oidc:devs", "system:authenticated"]);

    let bob = kubeconfig("bob");
    let r = env.kubectl(&bob, "bob", Some("bob"), &["get", "pods"]);
    assert_eq!(r.prompts.len(), 1, "{}", r.out);
    assert_eq!(r.out.code, Some(1), "{}", r.out);
    assert_eq!(
        last_line(&r.out),
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"{BOB}\" cannot list resource \
             \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{}",
        r.out
    );
}

/// Issue 7, part 2: an expired id_token, a token for another audience (a second server
/// with another client id) and one with an unverified email get 401; the server log says
/// why and never holds the token.
#[test]
fn oidc_expired_and_wrong_audience_tokens_get_401() {
    const TTL: u32 = 10;
    let Some(env) = start(TTL) else { return };
    // A second server expecting another audience (client id) from the same provider.
    let other_flags = env.idp.server_flags("someone-else");
    let other = std::thread::spawn(move || FlagServer::start(|_| other_flags));

    let token = env.plugin_token("alice");
    assert_eq!(oidc::jwt_claims(&token)["aud"], "kubeward");
    let fresh = env.kubectl_token("alice-token", &token, &["auth", "whoami", "-o", "json"]);
    assert_eq!(whoami_of(&fresh).0, ALICE);

    let other = other.join().expect("second server");
    let kc = other.anonymous_kubeconfig();
    let out = other.kubectl_with(KUBECTL, "alice-token", &kc).run(&["--token", &token, "auth", "whoami"]);
    assert_unauthorized(&out);
    assert_logged(
        &other,
        r#"oidc: verify token: oidc: expected audience ["someone-else"] got ["kubeward"]"#,
        &token,
    );

    // carol's email is not verified: with the email claim as user name, kube refuses her.
    let carol = env.plugin_token("carol");
    assert_eq!(oidc::jwt_claims(&carol)["email_verified"], false);
    assert_unauthorized(&env.kubectl_token("carol-token", &carol, &["auth", "whoami"]));
    assert_logged(&env.server, "oidc: email not verified", &carol);

    // Past its expiry (bounded: the provider gave it TTL seconds).
    let exp = oidc::jwt_claims(&token)["exp"].as_i64().expect("exp");
    let wait = exp + 1 - chrono::Utc::now().timestamp();
    assert!(wait <= i64::from(TTL) + 1, "exp is {wait}s away");
    std::thread::sleep(
        Duration::from_secs(u64::try_from(wait.max(0)).unwrap_or(0)) + Duration::from_millis(200),
    );
    let out = env.kubectl_token("alice-token", &token, &["auth", "whoami"]);
    assert_unauthorized(&out);
    assert_logged(&env.server, "oidc: verify token: oidc: token is expired (Token Expiry: ", &token);
}

/// Issue 7, part 3: with a short id_token lifetime, kubectl keeps working after the first
/// id_token expired, without a new sign-in: the plugin refreshed it.
#[test]
fn oidc_plugin_refreshes_after_the_id_token_expires() {
    const TTL: u32 = 10;
    let Some(env) = start(TTL) else { return };
    env.bind_devs_to_view();
    let (kc, cache) = env.plugin_kubeconfig("alice");
    let r = env.kubectl(&kc, "alice", Some("alice"), &["get", "pods"]);
    r.out.assert_ok();
    assert_eq!(r.prompts.len(), 1, "{}", r.out);
    let first = oidc::cached_id_token(&cache);

    let exp = oidc::jwt_claims(&first)["exp"].as_i64().expect("exp");
    let wait = exp + 1 - chrono::Utc::now().timestamp();
    assert!(wait <= i64::from(TTL) + 1, "exp is {wait}s away");
    std::thread::sleep(
        Duration::from_secs(u64::try_from(wait.max(0)).unwrap_or(0)) + Duration::from_millis(200),
    );

    let r = env.kubectl(&kc, "alice", None, &["get", "pods"]);
    assert!(r.prompts.is_empty(), "the plugin asked for a sign-in instead of refreshing: {}", r.out);
    r.out.assert_ok();
    let second = oidc::cached_id_token(&cache);
    assert_ne!(second, first, "the cache holds a refreshed id_token");
    assert!(oidc::jwt_claims(&second)["exp"].as_i64() > Some(exp));
    // The first token really has expired: on its own it is refused.
    assert_unauthorized(&env.kubectl_token("alice-first", &first, &["auth", "whoami"]));
    let r = env.kubectl(&kc, "alice", None, &["auth", "whoami", "-o", "json"]);
    assert!(r.prompts.is_empty(), "{}", r.out);
    assert_eq!(
        whoami_of(&r.out),
        (ALICE.to_string(), vec!["oidc:devs".into(), "system:authenticated".into()])
    );
}

/// Issue 7, part 4: `kubeward oidc revoke` stops alice at once, though her cached id_token
/// has minutes left; bob is not affected; `unrevoke` lifts it.
#[test]
fn oidc_revoke_stops_alice_at_once() {
    let Some(env) = start(300) else { return };
    env.bind_devs_to_view();
    let (alice, alice_cache) = env.plugin_kubeconfig("alice");
    let (bob, _) = env.plugin_kubeconfig("bob");
    env.kubectl(&alice, "alice", Some("alice"), &["get", "pods"]).out.assert_ok();
    let r = env.kubectl(&bob, "bob", Some("bob"), &["auth", "whoami", "-o", "json"]);
    assert_eq!(whoami_of(&r.out).0, BOB);
    let token = oidc::cached_id_token(&alice_cache);

    let admin = env.server.admin_kubeconfig().display().to_string();
    let revoke = |verb: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.args(["oidc", verb, "--user", ALICE, "--kubeconfig", &admin]);
        let out = run(cmd, COMMAND_TIMEOUT);
        out.assert_ok();
        out
    };
    revoke("revoke").assert_stdout_contains(&format!("revoked: tokens of {ALICE} issued at or before "));

    // The very next call (discovery is cached from before): no retry, no waiting.
    let r = env.kubectl(&alice, "alice", None, &["get", "pods"]);
    assert!(r.prompts.is_empty(), "the cached token is still unexpired: {}", r.out);
    assert_unauthorized(&r.out);
    let r = env.kubectl(&alice, "alice", None, &["auth", "whoami"]);
    assert!(r.prompts.is_empty(), "{}", r.out);
    assert_unauthorized(&r.out);
    assert_eq!(oidc::cached_id_token(&alice_cache), token, "the plugin sent its cached token");
    assert_logged(&env.server, &format!("oidc: token of user \"{ALICE}\" issued at "), &token);

    let r = env.kubectl(&bob, "bob", None, &["auth", "whoami", "-o", "json"]);
    assert_eq!(whoami_of(&r.out).0, BOB, "bob is not revoked");

    revoke("unrevoke").assert_stdout_contains(&format!("revocation of {ALICE} lifted"));
    let r = env.kubectl(&alice, "alice", None, &["get", "pods"]);
    assert!(r.prompts.is_empty(), "{}", r.out);
    r.out.assert_ok();
}

/// Issue 7, part 4 continued: a revoked user must stay out when the plugin refreshes her
/// id_token with the refresh token it cached before the revocation: the refreshed id_token
/// keeps the original `auth_time`, which is what the revocation compares.
#[test]
fn oidc_revoked_user_stays_out_after_the_plugin_refreshes() {
    // Shorter than the plugin's 60 s minimum validity: every call refreshes.
    let Some(env) = start(10) else { return };
    env.bind_devs_to_view();
    let (alice, cache) = env.plugin_kubeconfig("alice");
    env.kubectl(&alice, "alice", Some("alice"), &["get", "pods"]).out.assert_ok();
    let before = oidc::cached_id_token(&cache);
    let admin = env.server.admin_kubeconfig().display().to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["oidc", "revoke", "--user", ALICE, "--kubeconfig", &admin]);
    run(cmd, COMMAND_TIMEOUT).assert_ok();
    // Past the revocation's second, so that a refreshed token's `iat` is later.
    std::thread::sleep(Duration::from_millis(1100));
    let r = env.kubectl(&alice, "alice", None, &["auth", "whoami"]);
    assert!(r.prompts.is_empty(), "{}", r.out);
    assert_ne!(oidc::cached_id_token(&cache), before, "the plugin refreshed");
    assert_unauthorized(&r.out);
}

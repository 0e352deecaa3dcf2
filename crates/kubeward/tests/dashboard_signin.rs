//! The dashboard's other ways in (issue 15), in chromium:
//!
//! - OpenID Connect: authorization code + PKCE against the OIDC tests' identity provider
//!   (npm `oidc-provider`), the id_token refreshed on the dashboard's side, and a refresh
//!   that fails (the provider gone) ending the session with a clear message;
//! - `kubeward auth-proxy` in front of the dashboard, adding the token an exec credential
//!   plugin gives: the person is signed in for each request, writes carry the CSRF token of
//!   the header mode, the audit log names the person, and the proxy stops cleanly; a
//!   kubeconfig whose credential is a client certificate is refused, pointing to desktop mode.

mod support;

use std::process::Command;
use support::browser::{screenshot_dir, Browser, Dashboard};
use support::more::{Cluster, FlagServer};
use support::oidc;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn oidc_sign_in_refreshes_on_the_server_and_a_failed_refresh_ends_the_session() {
    let Some(mut b) = Browser::start() else { return };
    let port = free_port();
    let callback = format!("https://127.0.0.1:{port}/oidc/callback");
    // id_tokens live 62 s: within a minute of its end (a few seconds after each sign-in or
    // refresh, here) the dashboard refreshes it before using it.
    let Some(idp) = oidc::start_provider_env(62, &[("IDP_EXTRA_REDIRECT_URIS", &callback)]) else { return };
    let flags = idp.server_flags(oidc::CLIENT_ID);
    let server = FlagServer::start(|_| flags);
    server.admin().ok(&[
        "create",
        "clusterrolebinding",
        "oidc-devs-view",
        "--clusterrole=view",
        "--group=oidc:devs",
    ]);
    let kc = server.anonymous_kubeconfig().display().to_string();
    let mut args: Vec<String> =
        ["dashboard", "--kubeconfig", &kc, "--no-browser", "--listen"].map(String::from).to_vec();
    args.push(format!("127.0.0.1:{port}"));
    args.extend([
        format!("--oidc-issuer-url={}", idp.issuer),
        format!("--oidc-client-id={}", oidc::CLIENT_ID),
        format!("--oidc-ca-file={}", idp.ca_file.display()),
    ]);
    args.extend(oidc::SCOPES.iter().map(|s| format!("--oidc-extra-scope={s}")));
    let d = Dashboard::start(&args);

    let p = b.person();
    b.goto(p, &d.url);
    b.click(p, "#oidc-signin");
    // The provider's own login and consent pages (devInteractions).
    b.fill(p, "input[name=login]", "alice");
    b.fill(p, "input[name=password]", "any");
    b.click(p, "button[type=submit]");
    b.click(p, "button[type=submit]");
    assert_eq!(b.text(p, "#whoami-user"), "alice@example.com");
    assert_eq!(b.text(p, "#whoami-credential"), "OpenID Connect sign-in");
    assert!(b.text(p, "#whoami-groups").contains("oidc:devs"));
    b.wait_text(p, "#namespaces", "kube-system");
    assert!(
        b.cookies(p).iter().all(|c| !c["value"].as_str().unwrap_or_default().contains('.')),
        "no JWT in a cookie"
    );
    if let Some(dir) = screenshot_dir() {
        b.screenshot(p, &dir.join("oidc-overview.png"));
    }
    // Once the token is within a minute of its end, requests refresh it first: the pages keep
    // working on fresh tokens.
    std::thread::sleep(std::time::Duration::from_secs(3));
    b.goto(p, &format!("{}#/ns/default", d.url));
    b.wait_text(p, "#resources", "configmaps");
    let log = d.log();
    assert!(
        log.contains("signed in with OpenID Connect") && log.contains("refreshed an OIDC sign-in"),
        "{log}"
    );

    // The provider goes away: the next refresh fails, and the session ends saying so.
    drop(idp);
    std::thread::sleep(std::time::Duration::from_secs(3));
    b.goto(p, &format!("{}#/", d.url));
    b.wait_text(p, "#signin-error", "sign in again");
    assert!(b.url(p).ends_with("#/signin"));
}

#[test]
fn auth_proxy_signs_the_browser_in_with_the_exec_plugins_token() {
    let Some(mut b) = Browser::start() else { return };
    let token = "carol-token-0123456789";
    let server = FlagServer::start(|dir| {
        let path = dir.join("tokens.csv");
        std::fs::write(&path, format!("{token},carol,uid-c,\n")).expect("tokens");
        vec!["--token-auth-file".into(), path.display().to_string()]
    });
    server.admin().ok(&["create", "namespace", "team-c"]);
    server.admin().ok(&[
        "-n",
        "team-c",
        "create",
        "rolebinding",
        "carol-edit",
        "--clusterrole=edit",
        "--user=carol",
    ]);
    let dir = server.scratch_dir("proxy");

    // The dashboard serves with a certificate the proxy is told to trust.
    let ca = pki::Ca::generate("dashboard-ca").expect("ca");
    let serving = ca.issue_serving("127.0.0.1", &["127.0.0.1".to_string()]).expect("serving cert");
    let (ca_file, cert, key) = (dir.join("ca.pem"), dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&ca_file, &ca.cert_pem).expect("ca");
    std::fs::write(&cert, &serving.cert_pem).expect("cert");
    std::fs::write(&key, &serving.key_pem).expect("key");
    let kc = server.anonymous_kubeconfig().display().to_string();
    let d = Dashboard::start(
        &[
            "dashboard",
            "--kubeconfig",
            &kc,
            "--listen",
            "127.0.0.1:0",
            "--no-browser",
            "--namespace",
            "team-c",
            "--tls-cert-file",
            &cert.display().to_string(),
            "--tls-private-key-file",
            &key.display().to_string(),
            "--audit-log",
            &server.data_path().join("audit.log").display().to_string(),
        ]
        .map(String::from),
    );

    // An exec plugin (as aws-iam-authenticator or `kubeward login` are) that counts its runs.
    let plugin = dir.join("plugin.sh");
    let runs = dir.join("runs");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho run >> {runs}\nexp=$(date -u -d '+90 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"%s\"}}}}' \"$exp\"\n",
            runs = runs.display()
        ),
    )
    .expect("plugin");
    Command::new("chmod").arg("+x").arg(&plugin).status().expect("chmod");
    let user = serde_json::json!({"name": "carol", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": plugin.display().to_string(),
        "interactiveMode": "Never"}}});
    let exec_kc = oidc::exec_kubeconfig(
        &dir.join("carol.kubeconfig"),
        server.url(),
        &server.pki().join("ca.crt"),
        &user,
    );
    let mut proxy = Dashboard::start(
        &[
            "auth-proxy",
            "--kubeconfig",
            &exec_kc.display().to_string(),
            "--upstream",
            d.url.trim_end_matches('/'),
            "--upstream-ca-file",
            &ca_file.display().to_string(),
            "--no-browser",
        ]
        .map(String::from),
    );

    let p = b.person();
    b.goto(p, &proxy.url);
    assert_eq!(b.text(p, "#whoami-user"), "carol");
    assert_eq!(b.text(p, "#whoami-credential"), "bearer token (auth proxy)");
    assert_eq!(b.texts(p, "#namespaces a.ns"), vec!["team-c".to_string()]);
    assert!(b.cookies(p).is_empty(), "no session: the token is added to each request, never stored");
    // A write through the proxy carries the header mode's CSRF token.
    b.goto(p, &format!("{}#/create/team-c", proxy.url));
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-proxy\n  namespace: team-c\ndata:\n  a: b\n";
    b.fill(p, "#yaml", yaml);
    b.click(p, "#dry-run");
    b.wait_text(p, "#result", "nothing created");
    b.click(p, "#create");
    b.wait_text(p, "#result", "Created.");
    let got =
        server.admin().ok(&["-n", "team-c", "get", "configmap", "from-proxy", "-o", "jsonpath={.data.a}"]);
    assert_eq!(got.stdout, "b");
    let log = std::fs::read_to_string(server.data_path().join("audit.log")).expect("audit log");
    assert!(
        log.lines().any(|l| l.contains("\"verb\":\"create\"")
            && l.contains("from-proxy")
            && l.contains("\"username\":\"carol\"")),
        "the audit log names carol"
    );

    // Cross-origin writes and other host names are refused by the proxy before it adds a token.
    let curl = |args: &[&str]| {
        let mut c = Command::new("curl");
        c.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]).args(args);
        support::run(c, support::COMMAND_TIMEOUT).stdout
    };
    assert_eq!(curl(&["-H", "Host: evil.example", &format!("{}api/whoami", proxy.url)]), "403");
    assert_eq!(
        curl(&["-X", "POST", "-H", "Origin: https://evil.example", &format!("{}api/signout", proxy.url)]),
        "403"
    );
    assert_eq!(curl(&[&format!("{}api/whoami", proxy.url)]), "200");
    assert_eq!(curl(&["-X", "POST", &format!("{}api/namespaces/open", proxy.url)]), "403", "no CSRF token");
    let runs_now = std::fs::read_to_string(&runs).expect("runs").lines().count();
    assert!(runs_now >= 1);
    assert!(!proxy.log().contains(token) && !d.log().contains(token), "the token is never logged");
    // It stops cleanly on SIGTERM.
    assert!(proxy.stop(), "the proxy exits 0 on SIGTERM");

    // A client certificate cannot be lent without its key: refused at start, pointing to
    // desktop mode.
    let mut cert_proxy = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cert_proxy.args(["auth-proxy", "--kubeconfig"]).arg(server.admin_kubeconfig()).args([
        "--upstream",
        d.url.trim_end_matches('/'),
        "--no-browser",
        "--listen",
        "127.0.0.1:0",
    ]);
    let refused = support::run(cert_proxy, support::COMMAND_TIMEOUT);
    assert!(!refused.ok(), "{refused}");
    assert!(
        refused.stderr.contains("client certificate") && refused.stderr.contains("desktop mode"),
        "{refused}"
    );
}

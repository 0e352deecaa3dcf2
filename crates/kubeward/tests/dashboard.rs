//! The dashboard end to end (issue 15): a real `kubeward up`, a real `kubeward dashboard`,
//! and Debian's chromium (headless, through playwright-core) as the people using it.
//!
//! - desktop mode: the kubeconfig's credential, let in once by the launch link;
//! - two people signed in with tokens see different namespaces and verbs; one is refused an
//!   edit and sees kube's message and why; one who can read a single namespace sees it;
//! - sign-out ends the session on the server; a forged CSRF token and a signed-out session id
//!   get 403 and 401, and are logged without their values;
//! - a credential revoked mid-session returns the person to sign-in.
//!
//! Screenshots of the main pages go to `KUBEWARD_DASHBOARD_SCREENSHOTS` when it is set
//! (`docs/dashboard/` was made that way).

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::browser::{screenshot_dir, Browser, Dashboard, Person};
use support::more::{Cluster, FlagServer};
use support::{eventually, Server};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789";

fn shot(b: &mut Browser, p: Person, name: &str) {
    if let Some(dir) = screenshot_dir() {
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        b.screenshot(p, &dir.join(format!("{name}.png")));
    }
}

/// kubectl as the admin, panicking on failure.
fn admin(server: &impl Cluster, args: &[&str]) -> String {
    server.admin().ok(args).stdout
}

/// `kubeward dashboard` in sign-in mode (a kubeconfig without credential) for `server`.
fn signin_dashboard(server: &impl Cluster, extra: &[&str]) -> Dashboard {
    let kc = server.anonymous_kubeconfig();
    let mut args: Vec<String> = vec!["dashboard".into(), "--kubeconfig".into(), kc.display().to_string()];
    args.extend(["--listen", "127.0.0.1:0", "--no-browser"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    Dashboard::start(&args)
}

fn sign_in_with_token(b: &mut Browser, d: &Dashboard, token: &str) -> Person {
    let p = b.person();
    b.goto(p, &d.url);
    b.fill(p, "#token", token);
    b.click(p, "#token-submit");
    b.text(p, "#whoami-user");
    p
}

/// curl against the dashboard (its self-signed certificate not checked), with a cookie and
/// extra arguments; (HTTP status, body).
fn curl(url: &str, args: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sk", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"]).args(args).arg(url);
    let out = support::run(cmd, support::COMMAND_TIMEOUT);
    let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), format!("{body}{}", out.stderr))
}

#[test]
fn desktop_mode_shows_who_i_am_my_namespaces_and_lists_by_the_kubeconfig_credential() {
    let Some(mut b) = Browser::start() else { return };
    let server = Server::start();
    admin(&server, &["create", "namespace", "shop"]);
    for i in 0..3 {
        admin(&server, &["-n", "shop", "create", "configmap", &format!("web-{i}"), "--from-literal=a=b"]);
    }
    admin(&server, &["-n", "shop", "label", "configmap", "web-1", "tier=front"]);
    admin(
        &server,
        &["-n", "shop", "create", "secret", "generic", "db", "--from-literal=password=s3cr3t-value"],
    );
    let kc = server.kubeconfig.display().to_string();
    let audit = server.data_dir().join("audit.log").display().to_string();
    let d = Dashboard::start(&[
        "dashboard".into(),
        "--kubeconfig".into(),
        kc,
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--no-browser".into(),
        "--audit-log".into(),
        audit,
    ]);
    let launch = d.launch.clone().expect("desktop mode prints a launch link");

    // Without the launch link nobody is let in.
    let stranger = b.person();
    b.goto(stranger, &d.url);
    b.wait_text(stranger, "#launch-needed", "launch link");

    let p = b.person();
    b.goto(p, &launch);
    assert_eq!(b.text(p, "#whoami-user"), "kubeward-admin");
    assert_eq!(b.text(p, "#whoami-credential"), "client certificate from the kubeconfig");
    assert!(!b.url(p).contains("launch"), "the launch code leaves the address bar");
    b.wait_text(p, "#namespaces", "shop");
    shot(&mut b, p, "overview");
    // The link works once.
    let again = b.person();
    b.goto(again, &launch);
    b.wait_text(again, ".error", "used already");

    // The namespace's resources with the verbs held.
    b.click(p, "a.ns[data-ns=shop]");
    let held = b.text(p, "#resources tr[data-resource=configmaps] .held");
    for verb in ["create", "delete", "get", "list", "update", "watch"] {
        assert!(held.contains(verb), "{held}");
    }
    shot(&mut b, p, "namespace");
    b.click(p, "#resources tr[data-resource=configmaps] a.resource-link");
    b.wait_text(p, "#list", "web-2");
    assert!(b.count(p, "#list tr[data-name]") >= 3);
    shot(&mut b, p, "list");
    // A label filter, and the watch refreshing the list when another client writes.
    b.fill(p, "#label-filter", "tier=front");
    b.click(p, "form.row button[type=submit]");
    b.wait_text(p, "#count", "1 shown");
    assert_eq!(b.texts(p, "#list tr[data-name]").len(), 1);
    b.wait_text(p, "#watch-state", "watching");
    admin(&server, &["-n", "shop", "create", "configmap", "web-9", "--from-literal=a=b"]);
    admin(&server, &["-n", "shop", "label", "configmap", "web-9", "tier=front"]);
    b.wait_text(p, "#list", "web-9");

    // A Secret's values stay hidden until asked for.
    b.goto(p, &format!("{}#/obj/shop/core/v1/secrets/db", d.url));
    let yaml = b.value(p, "#yaml");
    assert!(yaml.contains("(hidden)") && !yaml.contains("czNjcjN0"), "{yaml}");
    shot(&mut b, p, "secret-hidden");
    b.click(p, "#reveal");
    b.wait_text(p, "h1", "secrets/db");
    let shown = eventually(Duration::from_secs(10), || {
        let y = b.value(p, "#yaml");
        y.contains("czNjcjN0LXZhbHVl").then_some(y)
    });
    assert!(shown.is_some(), "the value shows once asked for");

    // Every call was the kubeconfig's user's: the audit log names kubeward-admin with the
    // dashboard's User-Agent.
    let log = std::fs::read_to_string(server.data_dir().join("audit.log")).expect("audit log");
    assert!(log
        .lines()
        .any(|l| l.contains("kubeward-dashboard") && l.contains("\"username\":\"kubeward-admin\"")));
    let code = launch.split("#launch=").nth(1).expect("a launch code");
    assert!(!d.log().contains(code), "the launch code is not logged");
    assert!(b.console(p).iter().all(|m| !m.contains("Content Security Policy")), "{:?}", b.console(p));
}

/// A server with token sign-in for alice (view everywhere, edit in team-a) and bob (edit in
/// team-b only), a dashboard hinted at team-a and team-b, and a ServiceAccount in team-c.
fn two_people() -> (FlagServer, Dashboard) {
    let server = FlagServer::start(|dir| {
        let path = dir.join("tokens.csv");
        std::fs::write(&path, format!("{ALICE},alice,uid-a,devs\n{BOB},bob,uid-b,\n")).expect("tokens");
        vec!["--token-auth-file".into(), path.display().to_string()]
    });
    for ns in ["team-a", "team-b", "team-c"] {
        admin(&server, &["create", "namespace", ns]);
        admin(&server, &["-n", ns, "create", "configmap", "settings", "--from-literal=mode=blue"]);
    }
    admin(&server, &["create", "clusterrolebinding", "alice-view", "--clusterrole=view", "--user=alice"]);
    admin(
        &server,
        &["-n", "team-a", "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice"],
    );
    admin(
        &server,
        &["-n", "team-b", "create", "rolebinding", "bob-edit", "--clusterrole=edit", "--user=bob"],
    );
    let d = signin_dashboard(&server, &["--namespace", "team-a", "--namespace", "team-b"]);
    (server, d)
}

#[test]
fn two_people_see_what_they_may_and_a_refused_edit_says_why() {
    let Some(mut b) = Browser::start() else { return };
    let (server, d) = two_people();

    let alice = sign_in_with_token(&mut b, &d, ALICE);
    assert_eq!(b.text(alice, "#whoami-groups"), "devs, system:authenticated");
    let ns = b.text(alice, "#namespaces");
    for n in ["team-a", "team-b", "team-c", "default"] {
        assert!(ns.contains(n), "alice may list namespaces: {ns}");
    }
    assert_eq!(b.count(alice, "#ns-note"), 0);

    let bob = sign_in_with_token(&mut b, &d, BOB);
    b.wait_text(bob, "#ns-note", "may not list namespaces");
    assert_eq!(b.texts(bob, "#namespaces a.ns"), vec!["team-b".to_string()], "bob reaches team-b only");
    shot(&mut b, bob, "namespaces-non-admin");
    // Opening a namespace by name where he holds nothing says so.
    b.fill(bob, "#open-ns", "team-c");
    b.click(bob, "form.row button[type=submit]");
    b.wait_text(bob, ".warn", "You hold no rule in team-c");

    // Alice may only read team-b's config maps: the edit controls are absent for her.
    b.goto(alice, &format!("{}#/obj/team-b/core/v1/configmaps/settings", d.url));
    b.wait_text(alice, "h1", "configmaps/settings");
    assert_eq!(b.count(alice, "#save"), 0);
    assert_eq!(b.count(alice, "#delete"), 0);
    b.goto(alice, &format!("{}#/ns/team-b", d.url));
    let held = b.text(alice, "#resources tr[data-resource=configmaps] .held");
    assert!(held.contains("list") && !held.contains("update"), "{held}");

    // Bob edits team-b's config map: the server's dry run first, then (his binding gone
    // meanwhile) the save is refused with kube's message and the reason.
    b.goto(bob, &format!("{}#/obj/team-b/core/v1/configmaps/settings", d.url));
    b.wait_text(bob, "h1", "configmaps/settings");
    let yaml = b.value(bob, "#yaml").replace("mode: blue", "mode: green");
    b.fill(bob, "#yaml", &yaml);
    b.click(bob, "#dry-run");
    b.wait_text(bob, "#result", "dry run; nothing saved");
    let stored =
        admin(&server, &["-n", "team-b", "get", "configmap", "settings", "-o", "jsonpath={.data.mode}"]);
    assert_eq!(stored, "blue", "a dry run stores nothing");
    admin(&server, &["-n", "team-b", "delete", "rolebinding", "bob-edit"]);
    let gone = eventually(Duration::from_secs(10), || {
        let out =
            server.admin().run(&["auth", "can-i", "update", "configmaps", "-n", "team-b", "--as", "bob"]);
        (out.stdout.trim() == "no").then_some(())
    });
    assert!(gone.is_some(), "the server stops allowing bob");
    b.click(bob, "#save");
    let message = b.wait_text(bob, "#status-message", "forbidden");
    assert_eq!(
        message,
        "configmaps \"settings\" is forbidden: User \"bob\" cannot update resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
    );
    let why = b.wait_text(bob, "#why", "does not allow you to update configmaps in namespace team-b");
    assert!(why.contains("You hold no rule on configmaps here."), "{why}");
    assert!(why.contains("may not read the RBAC policy"), "{why}");
    shot(&mut b, bob, "refused-edit");

    // An admin asking why sees the bindings (kubeward explain) and who can.
    let kc = server.admin_kubeconfig().display().to_string();
    let admin_d = Dashboard::start(&[
        "dashboard".into(),
        "--kubeconfig".into(),
        kc,
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--no-browser".into(),
        "--audit-log".into(),
        server.data_path().join("audit.log").display().to_string(),
    ]);
    let root = b.person();
    b.goto(root, admin_d.launch.as_deref().expect("launch link"));
    b.text(root, "#whoami-user");
    b.goto(root, &format!("{}#/admin", admin_d.url));
    b.fill(root, "#wc-verb", "update");
    b.fill(root, "#wc-resource", "configmaps");
    b.fill(root, "#wc-namespace", "team-a");
    b.click(root, "#whocan-go");
    let rows = b.wait_text(root, "#whocan-result", "alice");
    assert!(rows.contains("RoleBinding/team-a/alice-edit") && rows.contains("ClusterRole/edit"), "{rows}");
    shot(&mut b, root, "who-can");
    // The audit trail of an object: bob's refused update is there, attributed to him.
    b.fill(root, "#audit-namespace", "team-b");
    b.fill(root, "#audit-resource", "configmaps");
    b.fill(root, "#audit-name", "settings");
    b.click(root, "#audit-go");
    let trail = b.wait_text(root, "#audit-result", "bob");
    assert!(trail.contains("update") && trail.contains("403") && trail.contains("forbid"), "{trail}");
    shot(&mut b, root, "audit-trail");
    // Not for bob: the audit trail is for those allowed `get` on /kubeward/audit.
    let (code, body) = curl(
        &format!("{}api/audit?user=alice", admin_d.url),
        &["-H", &format!("Authorization: Bearer {BOB}")],
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("/kubeward/audit"), "{body}");
    drop(server);
}

#[test]
fn sign_out_forged_csrf_and_a_revoked_credential() {
    let Some(mut b) = Browser::start() else { return };
    let (server, d) = two_people();
    let bob = sign_in_with_token(&mut b, &d, BOB);
    let cookies = b.cookies(bob);
    let session =
        cookies.iter().find(|c| c["name"] == "__Host-kubeward-session").expect("session cookie").clone();
    assert_eq!(session["httpOnly"], Value::Bool(true));
    assert_eq!(session["secure"], Value::Bool(true));
    assert_eq!(session["sameSite"], "Strict");
    let id = session["value"].as_str().expect("cookie value").to_string();
    assert!(
        !b.evaluate(bob, "document.cookie").as_str().unwrap_or_default().contains(&id),
        "script cannot read it"
    );
    let cookie = format!("Cookie: __Host-kubeward-session={id}");

    // A state-changing request with a forged CSRF token: 403, and the session lives on.
    let forged = b.evaluate(
        bob,
        "fetch('/api/signout', {method: 'POST', headers: {'X-CSRF-Token': 'forged'}}).then(r => r.status)",
    );
    assert_eq!(forged, 403);
    let (code, body) = curl(
        &format!("{}api/write?method=POST&namespace=team-b", d.url),
        &["-H", &cookie, "-X", "POST", "--data", "kind: ConfigMap"],
    );
    assert_eq!(code, 403, "no CSRF header: {body}");
    let (code, body) = curl(&format!("{}api/whoami", d.url), &["-H", &cookie]);
    assert_eq!(code, 200, "{body}");
    // From another origin, even with the token.
    let token = b.evaluate(bob, "fetch('/api/config').then(r => r.json()).then(c => c.csrfToken)");
    let token = token.as_str().expect("csrf token").to_string();
    let (code, _) = curl(
        &format!("{}api/signout", d.url),
        &[
            "-H",
            &cookie,
            "-H",
            &format!("X-CSRF-Token: {token}"),
            "-H",
            "Origin: https://evil.example",
            "-X",
            "POST",
        ],
    );
    assert_eq!(code, 403, "another origin");
    // A Host header naming another site (DNS rebinding) is refused.
    let (code, _) = curl(&format!("{}api/whoami", d.url), &["-H", &cookie, "-H", "Host: evil.example"]);
    assert_eq!(code, 403);

    // Sign-out forgets the session on the server: the old id gets 401.
    b.click(bob, "#signout");
    b.text(bob, "#token-form");
    let (code, body) = curl(&format!("{}api/whoami", d.url), &["-H", &cookie]);
    assert_eq!(code, 401, "{body}");
    let log = d.log();
    assert!(
        log.contains("refused a request without its CSRF token") && log.contains("names no live session"),
        "{log}"
    );
    for secret in [&id, &token, &BOB.to_string()] {
        assert!(!log.contains(secret.as_str()), "a secret value in the dashboard's log");
    }

    // Alice's token is revoked while she is signed in: her next action returns her to sign-in.
    let alice = sign_in_with_token(&mut b, &d, ALICE);
    let alice_id = b
        .cookies(alice)
        .iter()
        .find(|c| c["name"] == "__Host-kubeward-session")
        .and_then(|c| c["value"].as_str().map(str::to_string))
        .expect("alice's session cookie");
    std::fs::write(server.data_path().join("tokens.csv"), format!("{BOB},bob,uid-b,\n"))
        .expect("rewrite tokens");
    let refused = eventually(Duration::from_secs(30), || {
        let out = server.kubectl_bare("alice").run(&["--token", ALICE, "auth", "whoami"]);
        (!out.ok()).then_some(())
    });
    assert!(refused.is_some(), "the server stops accepting alice's token");
    b.goto(alice, &format!("{}#/ns/team-a", d.url));
    b.wait_text(alice, "#signin-error", "refused your credential");
    assert!(b.url(alice).ends_with("#/signin"));
    let (code, _) = curl(
        &format!("{}api/whoami", d.url),
        &["-H", &format!("Cookie: __Host-kubeward-session={alice_id}")],
    );
    assert_eq!(code, 401, "the session ended with the credential");
}

//! Hardened by default, through the real binary: request data that used to panic the server
//! (or be read unchecked) gets kube's 400; flag and configuration values the server cannot
//! honour refuse the start with a clear message; anonymous requests reach only the health
//! checks unless `--anonymous-auth` or kube's `anonymous` configuration opens more.

mod support;

use std::process::Command;
use support::more::{Cluster, FlagServer};
use support::{run, Server};

/// `(code, reason, message)` of a Status body.
fn status(h: &support::more::Http) -> (u16, String, String) {
    let v = h.json();
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    assert_eq!(v["kind"], "Status", "{h}");
    (h.status, s("reason"), s("message"))
}

#[test]
fn request_data_cannot_panic_the_server() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = Server::start();
    let cases = [
        (
            "/api/v1/namespaces?timeout=99999999999999999999h",
            "invalid timeout specified in the request URL - time: invalid duration \"99999999999999999999h\"",
        ),
        (
            "/api/v1/namespaces/default/configmaps?timeout=1d",
            "invalid timeout specified in the request URL - time: unknown unit \"d\" in duration \"1d\"",
        ),
        (
            "/api/v1/namespaces?timeout=10",
            "invalid timeout specified in the request URL - time: missing unit in duration \"10\"",
        ),
        (
            "/api/v1/namespaces?watch=1&timeoutSeconds=99999999999999999999",
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range",
        ),
        ("/api/v1/namespaces?limit=abc", "strconv.ParseInt: parsing \"abc\": invalid syntax"),
        ("/api/v1/namespaces?limit=-", "strconv.ParseInt: parsing \"-\": invalid syntax"),
    ];
    for (path, message) in cases {
        let h = server.admin_curl(path, &[]);
        assert_eq!(status(&h), (400, "BadRequest".into(), message.into()), "{path}: {h}");
    }
    let h = server.admin_curl("/api/v1/namespaces?resourceVersion=99999999999999999999", &[]);
    assert_eq!(h.status, 400, "{h}");
    // Watches ignore `?timeout=` as kube does, and a very long timeoutSeconds is taken.
    let h = server.admin_curl("/api/v1/namespaces?watch=1&timeout=zz&timeoutSeconds=1", &[]);
    assert_eq!(h.status, 200, "{h}");
    let h = server
        .admin_curl("/api/v1/namespaces?watch=1&timeoutSeconds=9223372036854775807", &["--max-time", "2"]);
    assert!(h.body.contains("\"ADDED\""), "{h}");
    // A negative timeoutSeconds ends the watch at once, as kube's timer does.
    let started = std::time::Instant::now();
    let h = server.admin_curl("/api/v1/namespaces?watch=1&timeoutSeconds=-1", &["--max-time", "10"]);
    assert_eq!(h.status, 200, "{h}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{h}");
    // A shorter timeout is honoured, a longer one cut to --request-timeout: both answer.
    for t in ["30s", "2562047h", "0s", "-1s"] {
        let h = server.admin_curl(&format!("/api/v1/namespaces?timeout={t}"), &[]);
        assert_eq!(h.status, 200, "timeout={t}: {h}");
    }
    // Negative and zero limits list everything, as kube's storage pages only for a positive one.
    let h = server.admin_curl("/api/v1/namespaces?limit=-5", &[]);
    assert_eq!((h.status, h.json()["items"].as_array().map(Vec::len)), (200, Some(4)), "{h}");
    // The server is still there.
    assert_eq!(server.admin_curl("/readyz", &[]).status, 200);
}

/// `kubeward up` with `flags`, which must refuse to start: its stderr.
fn refused_start(flags: &[&str], files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.current_dir(dir.path()).arg("up").arg("--data-dir").arg(dir.path().join("data"));
    cmd.args(["--secure-port", "0"]).args(flags);
    let out = run(cmd, std::time::Duration::from_secs(60));
    assert_eq!(out.code, Some(1), "kubeward up {flags:?} must refuse to start: {out}");
    assert!(!out.stdout.contains("kubeward is ready"), "{out}");
    out.stderr
}

const AUTHN_CONFIG: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://issuer.example.com
    audiences: [kubeward]
  claimMappings:
    username: {claim: sub, prefix: \"\"}
";

#[test]
fn values_the_server_cannot_honour_refuse_the_start() {
    let oidc = ["--oidc-issuer-url", "https://issuer.example.com", "--oidc-client-id", "kubeward"];
    let mut flags = oidc.to_vec();
    flags.extend(["--oidc-required-claim", "hd=example.com", "--oidc-required-claim", "tenant"]);
    let err = refused_start(&flags, &[]);
    assert!(
        err.contains("invalid argument \"tenant\" for \"--oidc-required-claim\" flag: malformed pair, expect string=string"),
        "{err}"
    );

    let err = refused_start(&["--request-timeout", "1d"], &[]);
    assert!(err.contains("\"--request-timeout\" flag: time: unknown unit \"d\" in duration \"1d\""), "{err}");

    let misspelled =
        AUTHN_CONFIG.replace("audiences:", "audiance:").replace("claimMappings:", "claimMapping:");
    let err = refused_start(&["--authentication-config", "authn.yaml"], &[("authn.yaml", &misspelled)]);
    assert!(
        err.contains(
            "strict decoding error: unknown field \"jwt[0].issuer.audiance\", unknown field \"jwt[0].claimMapping\""
        ),
        "{err}"
    );

    let egress = AUTHN_CONFIG.replace("audiences:", "egressSelectorType: controlplane\n    audiences:");
    let err = refused_start(&["--authentication-config", "authn.yaml"], &[("authn.yaml", &egress)]);
    assert!(err.contains("jwt[0].issuer.egressSelectorType"), "{err}");

    let anonymous = format!("{AUTHN_CONFIG}anonymous:\n  enabled: true\n");
    let err = refused_start(
        &["--authentication-config", "authn.yaml", "--anonymous-auth", "false"],
        &[("authn.yaml", &anonymous)],
    );
    assert!(
        err.contains(
            "anonymous is configured in the authentication configuration file and by --anonymous-auth"
        ),
        "{err}"
    );
}

#[test]
fn anonymous_requests_reach_only_the_health_checks_by_default() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = Server::start();
    for path in ["/healthz", "/livez", "/readyz"] {
        let h = server.curl(path, &[]);
        assert_eq!((h.status, h.body.as_str()), (200, "ok"), "{path}: {h}");
    }
    // kube-hunter's KHV002 (version disclosure) reads /version anonymously: not any more.
    for path in ["/version", "/api", "/apis", "/openapi/v2", "/metrics", "/readyz/etcd", "/api/v1/namespaces"]
    {
        let h = server.curl(path, &[]);
        assert_eq!(status(&h), (401, "Unauthorized".into(), "Unauthorized".into()), "{path}: {h}");
    }
    // kubectl sends its credentials to /version: `kubectl version` keeps working.
    if let Some(k) = support::kubectl_or_missing(&server, "") {
        let out = k.ok(&["version", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("version JSON");
        assert!(v["serverVersion"]["gitVersion"].as_str().is_some_and(|g| g.starts_with('v')), "{out}");
    }
}

#[test]
fn anonymous_auth_and_the_anonymous_configuration_open_more_on_purpose() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    // kube's --anonymous-auth=true: anonymous everywhere, authorization decides.
    let open = FlagServer::start(|_| vec!["--anonymous-auth".into(), "true".into()]);
    assert_eq!(open.curl("/version", &[]).status, 200);
    let h = open.curl("/api/v1/namespaces", &[]);
    assert_eq!(status(&h).0, 403, "RBAC still decides: {h}");
    assert!(status(&h).2.contains("User \"system:anonymous\" cannot list"), "{h}");
    drop(open);

    // --anonymous-auth=false: nowhere, not even the health checks.
    let closed = FlagServer::start(|_| vec!["--anonymous-auth".into(), "false".into()]);
    assert_eq!(closed.curl("/healthz", &[]).status, 401);
    drop(closed);

    // kube's AnonymousAuthenticatorConfiguration: exact paths, reloaded with the file.
    let conf = format!(
        "{AUTHN_CONFIG}anonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n  - path: /version\n"
    );
    let server = FlagServer::start(|dir| {
        let path = dir.join("authn.yaml");
        std::fs::write(&path, &conf).expect("write config");
        vec!["--authentication-config".into(), path.display().to_string()]
    });
    assert_eq!(server.curl("/livez", &[]).status, 200);
    assert_eq!(server.curl("/version", &[]).status, 200);
    assert_eq!(server.curl("/readyz", &[]).status, 401);
    let path = server.data_path().join("authn.yaml");
    std::fs::write(&path, conf.replace("/version", "/readyz")).expect("rewrite config");
    let reloaded = support::eventually(std::time::Duration::from_secs(20), || {
        (server.curl("/readyz", &[]).status == 200).then_some(())
    });
    assert!(reloaded.is_some(), "the reloaded anonymous conditions apply: {}", server.log());
    assert_eq!(server.curl("/version", &[]).status, 401);
}

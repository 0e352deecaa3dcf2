//! The reader against kube's rules; messages are clientcmd's where it has one.

use super::*;

fn err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    parse(text, dir.path()).unwrap_err().to_string()
}

#[test]
fn current_context_picks_cluster_and_user_and_files_are_relative() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
    std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
    let text = r#"
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://other:1"}
- name: authn
  cluster: {server: "https://127.0.0.1:8443/authenticate", certificate-authority: ca.pem}
users:
- name: other
  user: {token: wrong}
- name: apiserver
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ, token: s3cret, tokenFile: token}
contexts:
- name: webhook
  context: {cluster: authn, user: apiserver}
current-context: webhook
preferences: {}
"#;
    let c = parse(text, dir.path()).unwrap();
    assert_eq!(c.server, "https://127.0.0.1:8443/authenticate");
    assert_eq!(c.ca_pem.as_deref(), Some(&b"CA"[..]));
    let cert = c.client_cert.as_ref().unwrap();
    assert_eq!((cert.cert.as_slice(), cert.key.as_slice()), (&b"CERT"[..], &b"KEY"[..]));
    assert_eq!(c.token.as_deref(), Some("s3cret"));
    assert_eq!(c.token_file.as_deref(), Some(dir.path().join("token").as_path()));
    assert!(!format!("{c:?}").contains("s3cret"));
    assert!(!c.insecure_skip_tls_verify && c.tls_server_name.is_none());
}

#[test]
fn without_current_context_the_first_cluster_and_user() {
    let dir = tempfile::tempdir().unwrap();
    let c = parse(
        "clusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:9/x\n    tls-server-name: hook.example\n- name: b\n  cluster: {server: 'https://b'}\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(c.server.path(), "/x");
    assert_eq!(c.tls_server_name.as_deref(), Some("hook.example"));
    assert!(c.ca_pem.is_none() && c.client_cert.is_none() && c.token.is_none());
    // Nulls read as absent, as Go's decoder reads them.
    let c = parse(
        "clusters:\n- name: a\n  cluster: {server: 'https://a', certificate-authority: null}\nusers: null\ncontexts: null\n",
        dir.path(),
    )
    .unwrap();
    assert!(c.ca_pem.is_none());
}

#[test]
fn selection_errors() {
    assert_eq!(err("clusters: []"), "no cluster in the kubeconfig");
    assert_eq!(
        err("current-context: x\nclusters: [{name: a, cluster: {server: 'https://a'}}]"),
        "context was not found for specified context: x"
    );
    assert_eq!(
        err("current-context: c\ncontexts: [{name: c, context: {cluster: b}}]\nclusters: [{name: a, cluster: {server: 'https://a'}}]"),
        "cluster \"b\" does not exist"
    );
    assert_eq!(
        err("current-context: c\ncontexts: [{name: c, context: {cluster: a, user: u}}]\nclusters: [{name: a, cluster: {server: 'https://a'}}]"),
        "auth info \"u\" does not exist"
    );
    assert_eq!(
        err("clusters: [{name: a, cluster: {server: 'https://a'}}, {name: a, cluster: {server: 'https://b'}}]"),
        "duplicate name \"a\" in clusters"
    );
    assert!(err(": :").starts_with("parsing the kubeconfig: "));
}

#[test]
fn cluster_errors() {
    assert_eq!(err("clusters:\n- name: a\n  cluster: {}\n"), "no server found for cluster \"a\"");
    assert_eq!(
        err("clusters:\n- name: a\n  cluster:\n    server: ftp://x\n"),
        "server `ftp://x` must be an http or https URL"
    );
    let e = err(
        "clusters:\n- name: a\n  cluster:\n    server: https://x\n    certificate-authority: missing.crt\n",
    );
    assert!(
        e.starts_with("unable to read certificate-authority ") && e.contains("missing.crt for a due to"),
        "{e}"
    );
    assert_eq!(
        err("clusters:\n- name: a\n  cluster: {server: 'https://x', certificate-authority: f, certificate-authority-data: Q0E=}\n"),
        "certificate-authority-data and certificate-authority are both specified for a. certificate-authority-data will override."
    );
    assert_eq!(
        err("clusters:\n- name: a\n  cluster: {server: 'https://x', insecure-skip-tls-verify: true, certificate-authority-data: Q0E=}\n"),
        "specifying a root certificates file with the insecure flag is not allowed"
    );
    assert!(err(
        "clusters:\n- name: a\n  cluster: {server: 'https://x', certificate-authority-data: '%%%'}\n"
    )
    .starts_with("certificate-authority-data for a is not base64"));
    assert!(err("clusters:\n- name: a\n  cluster: {server: 'https://x', proxy-url: 'http://p'}\n")
        .contains("proxy-url is not supported"));
    let dir = tempfile::tempdir().unwrap();
    let c = parse(
        "clusters:\n- name: a\n  cluster: {server: 'https://x', insecure-skip-tls-verify: true}\n",
        dir.path(),
    )
    .unwrap();
    assert!(c.insecure_skip_tls_verify);
}

#[test]
fn user_errors() {
    let with_user = |user: &str| {
        err(&format!(
            "clusters: [{{name: a, cluster: {{server: 'https://a'}}}}]\nusers: [{{name: u, user: {user}}}]"
        ))
    };
    assert_eq!(
        with_user("{client-certificate-data: Q0E=}"),
        "client-key-data or client-key must be specified for u to use the clientCert authentication method."
    );
    assert_eq!(
        with_user("{client-key-data: Q0E=}"),
        "client-cert-data or client-cert must be specified for u to use the clientCert authentication method."
    );
    assert_eq!(
        with_user("{client-key-data: Q0E=, client-key: k, client-certificate-data: Q0E=}"),
        "client-key-data and client-key are both specified for u; client-key-data will override"
    );
    assert_eq!(
        with_user("{client-certificate-data: Q0E=, client-certificate: c, client-key-data: Q0E=}"),
        "client-cert-data and client-cert are both specified for u. client-cert-data will override."
    );
    assert_eq!(with_user("{exec: {command: x}}"), "user \"u\": exec is not supported");
    assert_eq!(with_user("{username: a, password: b}"), "user \"u\": username is not supported");
    assert_eq!(with_user("{auth-provider: {name: gcp}}"), "user \"u\": auth-provider is not supported");
}

#[test]
fn load_reads_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("conf");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("ca.crt"), "CA").unwrap();
    let path = sub.join("kubeconfig");
    std::fs::write(
        &path,
        "clusters: [{name: a, cluster: {server: 'https://a', certificate-authority: ca.crt}}]",
    )
    .unwrap();
    assert_eq!(load(&path).unwrap().ca_pem.as_deref(), Some(&b"CA"[..]));
    let missing = load(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(missing.starts_with("reading `") && missing.contains("nope"), "{missing}");
}

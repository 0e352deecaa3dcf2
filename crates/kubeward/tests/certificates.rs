//! Certificates through the real binary: the CSR story with openssl and kubectl 1.33 (a key
//! and request made by jane, `kubectl certificate approve|deny`, the signed certificate in
//! the status, kube's 403, a RoleBinding, allowed; the signers' refusals as kube's `Failed`
//! condition; kube's 422 and 403 for bad requests), and the server's own certificates
//! (`kubeward certs check-expiration|renew`, the serving certificate and client CA
//! reloaded without a restart, the expiry warning).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::more::{b64_decode, b64_encode, retry, whoami, Cluster, FlagServer};
use support::{
    eventually, have_program, kubectl_or_missing, missing, run, words, Kubectl, Server, COMMAND_TIMEOUT,
};

const CLIENT: &str = "kubernetes.io/kube-apiserver-client";

/// `openssl req` for a new P-256 key: (key path, CSR PEM).
fn openssl_csr(dir: &Path, name: &str, subject: &str, extra: &[&str]) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
    ])
    .arg(&key)
    .args(["-subj", subject, "-out"])
    .arg(&csr)
    .args(extra);
    run(cmd, COMMAND_TIMEOUT).assert_ok();
    (key, std::fs::read_to_string(&csr).expect("csr"))
}

fn csr_json(name: &str, request_pem: &str, signer: &str, usages: &[&str], expiration: Option<u32>) -> Value {
    let mut spec = serde_json::json!({
        "request": b64_encode(request_pem),
        "signerName": signer,
        "usages": usages,
    });
    if let Some(s) = expiration {
        spec["expirationSeconds"] = s.into();
    }
    serde_json::json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name}, "spec": spec})
}

fn apply(k: &Kubectl, dir: &Path, obj: &Value) -> support::Output {
    let name = obj["metadata"]["name"].as_str().unwrap_or("obj");
    let path = dir.join(format!("{name}.csr.json"));
    std::fs::write(&path, obj.to_string()).expect("write manifest");
    k.run(&["create", "-f", path.to_str().expect("utf-8 path")])
}

fn csr(k: &Kubectl, name: &str) -> Value {
    support::get_json(k, &["csr", name])
}

/// The issued certificate (PEM) once the signer wrote it.
fn wait_certificate(k: &Kubectl, name: &str) -> String {
    let found = eventually(Duration::from_secs(15), || {
        csr(k, name)["status"]["certificate"].as_str().filter(|c| !c.is_empty()).map(b64_decode)
    });
    found.unwrap_or_else(|| panic!("no certificate for {name}: {}", csr(k, name)))
}

fn condition(csr: &Value, t: &str) -> Option<Value> {
    csr["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == t).cloned()
}

fn parse_pem(pem: &str) -> (String, Vec<String>, i64, Vec<String>, bool, bool) {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    let cert = block.parse_x509().expect("certificate");
    let s = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().unwrap_or_default().to_string();
    let cn = cert.subject().iter_common_name().map(s).collect::<Vec<_>>().join(",");
    let orgs = cert.subject().iter_organization().map(s).collect();
    let v = cert.validity();
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|e| {
            e.value
                .general_names
                .iter()
                .map(|n| match n {
                    x509_parser::extensions::GeneralName::IPAddress([a, b, c, d]) => {
                        format!("IP:{}", std::net::Ipv4Addr::new(*a, *b, *c, *d))
                    }
                    x509_parser::extensions::GeneralName::DNSName(d) => format!("DNS:{d}"),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let eku = cert.extended_key_usage().ok().flatten().map(|e| (e.value.client_auth, e.value.server_auth));
    let (client, server) = eku.unwrap_or((false, false));
    (cn, orgs, v.not_after.timestamp() - v.not_before.timestamp(), sans, client, server)
}

#[test]
fn a_person_gets_a_client_certificate_through_a_csr() {
    if !have_program("openssl") {
        missing("openssl");
        return;
    }
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let dir = server.scratch("csr");

    // jane makes a key and a request; the admin approves it.
    let (jane_key, jane_csr) = openssl_csr(&dir, "jane", "/CN=jane/O=dev/O=ops/O=qa", &[]);
    apply(&k, &dir, &csr_json("jane", &jane_csr, CLIENT, &["client auth"], Some(3600))).assert_ok();
    let listed = words(&k.ok(&["get", "csr", "jane"]).stdout);
    assert!(
        listed[1].ends_with("kubernetes.io/kube-apiserver-client kubeward-admin 60m Pending"),
        "{listed:?}"
    );
    k.ok(&["certificate", "approve", "jane"])
        .assert_stdout_contains("certificatesigningrequest.certificates.k8s.io/jane approved");
    let cert = wait_certificate(&k, "jane");
    let (cn, orgs, lifetime, _, client_auth, server_auth) = parse_pem(&cert);
    assert_eq!((cn.as_str(), orgs), ("jane", vec!["dev".to_string(), "ops".into(), "qa".into()]));
    assert_eq!(lifetime, 3600 + 300, "expirationSeconds honoured, backdated 5 minutes");
    assert!(client_auth && !server_auth);
    let listed = words(&k.ok(&["get", "csr", "jane"]).stdout);
    assert!(listed[1].ends_with("60m Approved,Issued"), "{listed:?}");

    // jane's kubeconfig: authenticated, not allowed (kube's 403), then allowed.
    let key_pem = std::fs::read_to_string(&jane_key).expect("key");
    let kc = server.write_kubeconfig("jane", &server.ca_pem(), &cert, &key_pem);
    let jane = server.kubectl_as("1.33", "jane", &kc).expect("kubectl 1.33");
    assert_eq!(
        whoami(&jane, &[]).expect("whoami"),
        ("jane".to_string(), vec!["dev".into(), "ops".into(), "qa".into(), "system:authenticated".into()])
    );
    let denied = jane.run(&["get", "pods"]);
    denied.assert_code(1);
    assert_eq!(
        denied.stderr.trim(),
        r#"Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    k.ok(&["create", "rolebinding", "jane-view", "--clusterrole=view", "--user=jane", "-n", "default"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = jane.run(&["get", "pods"]);
        (out.ok() && out.stderr.contains("No resources found in default namespace."), out.to_string())
    });
    assert!(ok, "{last}");

    // Denied: never signed.
    let (_, bob_csr) = openssl_csr(&dir, "bob", "/CN=bob", &[]);
    apply(&k, &dir, &csr_json("bob", &bob_csr, CLIENT, &["client auth"], None)).assert_ok();
    k.ok(&["certificate", "deny", "bob"])
        .assert_stdout_contains("certificatesigningrequest.certificates.k8s.io/bob denied");
    std::thread::sleep(Duration::from_millis(1500));
    let bob = csr(&k, "bob");
    assert!(condition(&bob, "Denied").is_some() && bob["status"]["certificate"].is_null(), "{bob}");
    assert!(words(&k.ok(&["get", "csr", "bob"]).stdout)[1].ends_with(" Denied"));

    // system:masters is refused at create (CertificateSubjectRestriction).
    let (_, evil_csr) = openssl_csr(&dir, "evil", "/CN=evil/O=system:masters", &[]);
    let out = apply(&k, &dir, &csr_json("evil", &evil_csr, CLIENT, &["client auth"], None));
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"certificatesigningrequests.certificates.k8s.io "evil" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"#,
    );

    // Usages the signer refuses: Failed, kube's reason and message, no certificate.
    let (_, carol_csr) = openssl_csr(&dir, "carol", "/CN=carol", &[]);
    apply(&k, &dir, &csr_json("carol", &carol_csr, CLIENT, &["client auth", "server auth"], None))
        .assert_ok();
    k.ok(&["certificate", "approve", "carol"]);
    let failed = eventually(Duration::from_secs(15), || condition(&csr(&k, "carol"), "Failed"))
        .unwrap_or_else(|| panic!("carol not failed: {}", csr(&k, "carol")));
    assert_eq!(failed["reason"], "SignerValidationFailure");
    assert_eq!(failed["message"], "invalid usage for client certificate: server auth");
    assert!(csr(&k, "carol")["status"]["certificate"].is_null());
    assert!(words(&k.ok(&["get", "csr", "carol"]).stdout)[1].ends_with(" Approved,Failed"));

    // A kubelet's serving certificate, and a kubelet client request of the wrong group.
    let san = ["-addext", "subjectAltName=DNS:node1.example,IP:10.0.0.7"];
    let (_, node_csr) = openssl_csr(&dir, "node1", "/O=system:nodes/CN=system:node:node1", &san);
    let usages = ["digital signature", "key encipherment", "server auth"];
    apply(&k, &dir, &csr_json("node1", &node_csr, "kubernetes.io/kubelet-serving", &usages, None))
        .assert_ok();
    k.ok(&["certificate", "approve", "node1"]);
    let (cn, _, lifetime, sans, client_auth, server_auth) = parse_pem(&wait_certificate(&k, "node1"));
    assert_eq!(cn, "system:node:node1");
    assert_eq!(sans, ["DNS:node1.example", "IP:10.0.0.7"]);
    assert!(server_auth && !client_auth);
    assert_eq!(lifetime, 8760 * 3600, "--cluster-signing-duration's default, minus nothing: 1y");
    let (_, kc_csr) = openssl_csr(&dir, "kubelet", "/O=dev/CN=system:node:node1", &[]);
    let usages = ["digital signature", "client auth"];
    apply(
        &k,
        &dir,
        &csr_json("kubelet", &kc_csr, "kubernetes.io/kube-apiserver-client-kubelet", &usages, None),
    )
    .assert_ok();
    k.ok(&["certificate", "approve", "kubelet"]);
    let failed =
        eventually(Duration::from_secs(15), || condition(&csr(&k, "kubelet"), "Failed")).expect("failed");
    assert_eq!(failed["message"], "subject organization is not system:nodes");

    // Bad requests: kube's 422 with its texts.
    let out = apply(&k, &dir, &csr_json("garbage", "not a request", CLIENT, &["client auth"], None));
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"The CertificateSigningRequest "garbage" is invalid: spec.request: Invalid value: "#,
    );
    out.assert_stderr_contains("PEM block type must be CERTIFICATE REQUEST");
    // The last byte of the signature changed: the request parses, its signature fails.
    let (_, block) = x509_parser::pem::parse_x509_pem(jane_csr.as_bytes()).expect("pem");
    let mut der = block.contents.clone();
    if let Some(last) = der.last_mut() {
        *last ^= 1;
    }
    let tampered = pki::sign::pem("CERTIFICATE REQUEST", &der);
    let body = csr_json("tampered", &tampered, CLIENT, &["client auth"], None).to_string();
    let http = server.admin_curl(
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body],
    );
    assert_eq!(http.status, 422, "{http}");
    let status = http.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["causes"][0]["field"], "spec.request", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.ends_with(": x509: ECDSA verification failure"), "{message}");
}

/// The certificate a TLS handshake with the server presents (PEM).
fn served_certificate(url: &str) -> String {
    let host = url.trim_start_matches("https://");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", host, "-servername", "localhost"]);
    let out = run(cmd, COMMAND_TIMEOUT);
    let text = &out.stdout;
    let begin = text.find("-----BEGIN CERTIFICATE-----").unwrap_or_else(|| panic!("no certificate: {out}"));
    let end = text.find("-----END CERTIFICATE-----").expect("end") + "-----END CERTIFICATE-----".len();
    text[begin..end].to_string() + "\n"
}

fn serial_of(pem: &str) -> String {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    pki::serial_hex(block.parse_x509().expect("certificate").raw_serial())
}

/// The log without its ANSI colours.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn kubeward_cmd(args: &[&str], data_dir: &Path) -> support::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args).arg("--data-dir").arg(data_dir).env_remove("KUBECONFIG");
    run(cmd, COMMAND_TIMEOUT)
}

#[test]
fn the_servers_certificates_are_checked_renewed_and_reloaded_without_a_restart() {
    if !have_program("openssl") {
        missing("openssl");
        return;
    }
    // A serving certificate that expires in ten days.
    let server = FlagServer::start(|dir| {
        let pki = pki::ClusterPki::at(dir);
        pki.ensure(&[]).expect("pki");
        let ca = support::more::load_ca(&pki.dir, "ca");
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".into()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "kube-apiserver");
        let now = pki::time::OffsetDateTime::now_utc();
        params.not_before = now - pki::time::Duration::hours(1);
        params.not_after = now + pki::time::Duration::days(10);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = rcgen::Issuer::from_ca_cert_pem(
            &ca.cert_pem,
            rcgen::KeyPair::from_pem(&ca.key_pem).expect("ca key"),
        )
        .expect("issuer");
        let cert = params.signed_by(&key, &issuer).expect("sign");
        pki::write_public(&pki.serving_cert, &cert.pem()).expect("write");
        pki::write_private(&pki.serving_key, &key.serialize_pem()).expect("write");
        vec![]
    });
    let log = plain(&server.log());
    assert!(
        log.lines().any(|l| l.contains("certificate expires within 30 days")
            && l.contains("serving certificate")
            && l.contains("days_left=9")),
        "no expiry warning: {log}"
    );

    let data = server.data_path().to_path_buf();
    let table = kubeward_cmd(&["certs", "check-expiration"], &data);
    table.assert_ok();
    let rows = words(&table.stdout);
    assert_eq!(rows[0], "CERTIFICATE EXPIRES RESIDUAL TIME CERTIFICATE AUTHORITY EXTERNALLY MANAGED");
    assert!(rows[1].starts_with("admin.conf ") && rows[1].ends_with(" UTC 364d ca no"), "{}", table.stdout);
    assert!(rows[2].starts_with("apiserver ") && rows[2].ends_with(" UTC 9d ca no"), "{}", table.stdout);
    assert!(
        rows[3].starts_with("apiserver-kubelet-client ") && rows[3].ends_with(" UTC 364d ca no"),
        "{}",
        table.stdout
    );
    assert!(
        rows[4].starts_with("front-proxy-client ") && rows[4].ends_with(" front-proxy-ca no"),
        "{}",
        table.stdout
    );
    assert_eq!(rows[6], "CERTIFICATE AUTHORITY EXPIRES RESIDUAL TIME EXTERNALLY MANAGED");
    assert!(rows[7].starts_with("ca ") && rows[7].ends_with(" 9y no"), "{}", table.stdout);

    // Renewed on disk: the running server serves the new certificate.
    let pki = pki::ClusterPki::at(&data);
    let before = served_certificate(server.url());
    assert_eq!(serial_of(&before), serial_of(&std::fs::read_to_string(&pki.serving_cert).expect("cert")));
    let out = kubeward_cmd(&["certs", "renew", "apiserver"], &data);
    out.assert_ok().assert_stdout_contains("certificate for serving the Kubernetes API renewed");
    let renewed = serial_of(&std::fs::read_to_string(&pki.serving_cert).expect("cert"));
    assert_ne!(renewed, serial_of(&before));
    let (ok, last) = retry(Duration::from_secs(5), || {
        let served = serial_of(&served_certificate(server.url()));
        (served == renewed, served)
    });
    assert!(ok, "still serving {last}, not {renewed}");
    assert!(
        words(&kubeward_cmd(&["certs", "check-expiration"], &data).stdout)[2].ends_with(" UTC 364d ca no")
    );
    let admin = server.admin();
    admin.ok(&["get", "namespaces"]);

    // A CA added to the client CA bundle verifies the next request.
    let new_ca = pki::Ca::generate("second-ca").expect("ca");
    let zed = new_ca.issue_client("zed", &[]).expect("cert");
    let (cert, key) =
        support::more::write_pair(&server.scratch_dir("zed"), "zed", &zed.cert_pem, &zed.key_pem);
    let as_zed = ["--cert", cert.as_str(), "--key", key.as_str()];
    assert_eq!(server.self_subject_review(&as_zed).status, 401);
    let bundle = std::fs::read_to_string(&pki.ca_cert).expect("ca") + &new_ca.cert_pem;
    pki::write_public(&pki.ca_cert, &bundle).expect("write bundle");
    let (ok, last) = retry(Duration::from_secs(5), || {
        let http = server.self_subject_review(&as_zed);
        (http.status == 201, http.to_string())
    });
    assert!(ok, "{last}");
    assert!(server.log().contains("client CA bundle reloaded"));
    // Renewing everything keeps the admin working (the admin kubeconfig is rewritten).
    let out = kubeward_cmd(&["certs", "renew", "all"], &data);
    out.assert_ok().assert_stdout_contains("certificate for the front proxy client renewed");
    out.assert_stdout_contains("certificate for the API server to connect to kubelet renewed");
    out.assert_stdout_contains("certificate embedded in the kubeconfig file for the admin to use");
    admin.ok(&["get", "namespaces"]);
    let bad = kubeward_cmd(&["certs", "renew", "etcd-server"], &data);
    bad.assert_code(1).assert_stderr_contains("unknown certificate `etcd-server`");
}

/// kube-controller-manager's CSR cleaner: a request denied (or issued) more than an hour
/// ago, by its condition's time, and one whose certificate expired are deleted; fresh ones
/// stay. The condition times are written in the past through the approval subresource (kube
/// keeps a client's `lastUpdateTime`), as an old cluster's requests would carry them.
#[test]
fn the_csr_cleaner_deletes_old_and_expired_requests() {
    if !have_program("openssl") {
        missing("openssl");
        return;
    }
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let dir = server.scratch("csr-cleaner");
    // A signer nobody runs: nothing here issues but the test.
    const SIGNER: &str = "example.com/cleaned";
    for name in ["old-denial", "new-denial", "expired", "pending"] {
        let (_, pem) = openssl_csr(&dir, name, &format!("/CN={name}"), &[]);
        apply(&k, &dir, &csr_json(name, &pem, SIGNER, &["client auth"], None)).assert_ok();
    }
    k.ok(&["certificate", "deny", "new-denial"]);
    let two_hours_ago =
        (chrono::Utc::now() - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut old = csr(&k, "old-denial");
    old["status"]["conditions"] = serde_json::json!([{"type": "Denied", "status": "True", "reason": "Old",
        "lastUpdateTime": two_hours_ago, "lastTransitionTime": two_hours_ago}]);
    let path = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let body = old.to_string();
    let put = |sub: &str, body: &str| {
        server.admin_curl(
            &format!("{path}/{sub}"),
            &["-X", "PUT", "-H", "Content-Type: application/json", "--data", body],
        )
    };
    let http = put("old-denial/approval", &body);
    assert_eq!(http.status, 200, "{http}");

    // Approved now, with a certificate that expired long ago (the admin may sign: cluster-admin).
    k.ok(&["certificate", "approve", "expired"]);
    let ca = support::more::load_ca(&server.pki_dir(), "ca");
    let (expired_pem, _) = support::more::expired_client_cert(&ca, "expired");
    let mut issued = csr(&k, "expired");
    issued["status"]["certificate"] = b64_encode(&expired_pem).into();
    let http = put("expired/status", &issued.to_string());
    assert_eq!(http.status, 200, "{http}");

    let left = || {
        let mut names = words(&k.ok(&["get", "csr", "-o", "name"]).stdout);
        names.sort();
        names
    };
    let want: Vec<String> = ["new-denial", "pending"]
        .iter()
        .map(|n| format!("certificatesigningrequest.certificates.k8s.io/{n}"))
        .collect();
    let (ok, last) = retry(Duration::from_secs(10), || (left() == want, format!("{:?}", left())));
    assert!(ok, "left: {last}");
    assert!(server.stderr_tail(usize::MAX).contains("cleaned a CertificateSigningRequest"));
}

//! Credentials that really end, through the real binary: `kubeward kubeconfig` (a
//! short-lived certificate, recorded and audited), `kubeward revoke cert` by serial and by
//! subject (401 within a second, also after a restart; the admin certificate of `kubeward
//! up` too; an unknown serial said so), and `kubeward offboard` (bindings deleted or
//! trimmed, certificates revoked, OIDC sign-ins refused, token-file tokens removed; then
//! `who-can` lists the user nowhere and every credential gets 401).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::more::{retry, whoami, Cluster, FlagServer};
use support::{run, Kubectl, Output, Server, COMMAND_TIMEOUT};

fn kubeward(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args).env_remove("KUBECONFIG").env("KUBEWARD_LOG", "info");
    run(cmd, COMMAND_TIMEOUT)
}

/// `kubeward kubeconfig --user U --group G... --ttl T --out F` for the cluster in `data`.
fn issue(data: &Path, user: &str, groups: &[&str], ttl: &str) -> (PathBuf, Output) {
    let out_file = data.join("scratch").join(format!("{user}-{}.kubeconfig", rand_suffix()));
    let _ = std::fs::create_dir_all(data.join("scratch"));
    let (data_s, out_s) = (data.display().to_string(), out_file.display().to_string());
    let mut args = vec!["kubeconfig", "--user", user, "--ttl", ttl, "--out", &out_s, "--data-dir", &data_s];
    for g in groups {
        args.extend(["--group", g]);
    }
    let out = kubeward(&args);
    out.assert_ok();
    (out_file, out)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// The client certificate of a kubeconfig `kubeward kubeconfig` wrote.
fn cert_of(kubeconfig: &Path) -> String {
    let v: serde_json::Value =
        apimachinery::yaml::from_str(&std::fs::read_to_string(kubeconfig).expect("kubeconfig"))
            .expect("yaml");
    support::more::b64_decode(v["users"][0]["user"]["client-certificate-data"].as_str().expect("cert data"))
}

fn serial_and_lifetime(pem: &str) -> (String, i64) {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    let cert = block.parse_x509().expect("certificate");
    let v = cert.validity();
    (pki::serial_hex(cert.raw_serial()), v.not_after.timestamp() - v.not_before.timestamp())
}

/// kubectl's answer to a 401: `(Unauthorized)` once discovery is cached, `(the server has
/// asked for the client to provide credentials)` when discovery itself is refused.
fn unauthorized(k: &Kubectl) -> bool {
    let out = k.run(&["get", "namespaces"]);
    out.code == Some(1) && out.stderr.contains("error: You must be logged in to the server (")
}

#[test]
fn short_lived_certificates_are_issued_revoked_and_stay_revoked_after_a_restart() {
    let mut server = Server::start();
    let data = server.data_dir().to_path_buf();
    let admin_kc = server.kubeconfig.display().to_string();

    // A kubeconfig for jane: 8 hours, four groups, recorded, audited, no key in the log.
    let (jane_kc, out) = issue(&data, "jane", &["dev", "ops", "qa", "sre"], "8h");
    assert!(out.stderr.contains("issued a client certificate") && out.stderr.contains("jane"), "{out}");
    assert!(!out.stderr.contains("PRIVATE KEY") && !out.stdout.contains("PRIVATE KEY"), "{out}");
    let (serial, lifetime) = serial_and_lifetime(&cert_of(&jane_kc));
    assert_eq!(lifetime, 8 * 3600 + 300);
    let jane = server.kubectl_with("", "jane", &jane_kc);
    let groups = ["dev", "ops", "qa", "sre", "system:authenticated"].map(String::from).to_vec();
    assert_eq!(whoami(&jane, &[]).expect("jane is authenticated"), ("jane".to_string(), groups));
    let forbidden = jane.run(&["get", "pods"]);
    assert!(forbidden.stderr.contains(r#"User "jane" cannot list resource "pods""#), "{forbidden}");
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap_or_default();
    assert!(
        audit.lines().any(|l| l.contains("\"kubeward-issued-certs\"") && l.contains("kubeward-admin")),
        "the record of the issuance is in the audit log"
    );
    let issued = kubeward(&["certs", "issued", "--user", "jane", "--kubeconfig", &admin_kc]);
    let rows = support::words(&issued.assert_ok().stdout);
    assert_eq!(rows[0], "SERIAL SUBJECT GROUPS EXPIRES ISSUED BY REVOKED");
    assert!(rows[1].starts_with(&format!("{serial} jane dev,ops,qa,sre ")), "{issued}");
    assert!(rows[1].ends_with(" kubeward kubeconfig no"), "{issued}");

    // Revoked by serial: 401 within a second.
    let out = kubeward(&["revoke", "cert", "--serial", &serial.to_lowercase(), "--kubeconfig", &admin_kc]);
    out.assert_ok().assert_stdout_contains(&format!("certificate {serial} (subject jane, valid until "));
    let revoked_at = Instant::now();
    let (ok, last) = retry(Duration::from_secs(1), || (unauthorized(&jane), String::new()));
    assert!(ok && revoked_at.elapsed() < Duration::from_secs(2), "jane still in: {last}");
    let again = kubeward(&["revoke", "cert", "--serial", &serial, "--kubeconfig", &admin_kc]);
    again.assert_ok().assert_stdout_contains("was already revoked");

    // Unknown and malformed serials are said so.
    let out = kubeward(&["revoke", "cert", "--serial", "0xDEADBEEF", "--kubeconfig", &admin_kc]);
    out.assert_code(1)
        .assert_stderr_contains("no certificate with serial DEADBEEF was issued by this cluster");
    let out = kubeward(&["revoke", "cert", "--serial", "jane", "--kubeconfig", &admin_kc]);
    out.assert_code(1).assert_stderr_contains("`jane` is not a serial number");

    // By subject: every certificate of eve so far; a new one afterwards works.
    let (eve_kc, _) = issue(&data, "eve", &[], "1h");
    let (eve2_kc, _) = issue(&data, "eve", &["dev"], "1h");
    let out = kubeward(&["revoke", "cert", "--subject", "eve", "--kubeconfig", &admin_kc]);
    out.assert_ok().assert_stdout_contains("every certificate of eve valid from");
    assert_eq!(out.stdout.matches(" of eve (valid until ").count(), 2, "{out}");
    let (eve, eve2) = (server.kubectl_with("", "eve", &eve_kc), server.kubectl_with("", "eve2", &eve2_kc));
    assert!(retry(Duration::from_secs(1), || (unauthorized(&eve) && unauthorized(&eve2), String::new())).0);
    let (eve3_kc, _) = issue(&data, "eve", &[], "1h");
    let eve3 = server.kubectl_with("", "eve3", &eve3_kc);
    assert_eq!(whoami(&eve3, &[]).expect("a certificate issued after the revocation works").0, "eve");
    // So does one the CSR signer issues right after it (kube would backdate it into the
    // revoked window).
    let eve4_kc = csr_certificate(&server, "eve");
    let eve4 = server.kubectl_with("", "eve4", &eve4_kc);
    assert_eq!(whoami(&eve4, &[]).expect("a CSR-signed certificate after the revocation works").0, "eve");

    // The admin certificate of `kubeward up` is revocable like any other.
    let old_admin = data.join("scratch").join("old-admin.kubeconfig");
    std::fs::copy(&server.kubeconfig, &old_admin).expect("copy");
    let admin_pem = std::fs::read_to_string(server.pki_dir().join("admin.crt")).expect("admin.crt");
    let (admin_serial, _) = serial_and_lifetime(&admin_pem);
    let out = kubeward(&["revoke", "cert", "--serial", &admin_serial, "--kubeconfig", &admin_kc]);
    out.assert_ok().assert_stdout_contains("subject kubeward-admin");
    let admin = server.admin();
    assert!(retry(Duration::from_secs(1), || (unauthorized(&admin), String::new())).0, "admin still in");
    let out = kubeward(&["certs", "renew", "admin.conf", "--data-dir", &data.display().to_string()]);
    out.assert_ok();
    assert!(!out.stderr.contains("not recorded"), "the renewed admin records itself: {out}");
    admin.ok(&["get", "namespaces"]);

    // After a restart: still refused, from the first request on.
    server.restart();
    let jane = server.kubectl_with("", "jane-after", &rewrite_server(&jane_kc, &server.url));
    assert!(unauthorized(&jane), "jane is back after a restart");
    let old = server.kubectl_with("", "old-admin", &rewrite_server(&old_admin, &server.url));
    assert!(unauthorized(&old), "the revoked admin certificate is back after a restart");
    server.admin().ok(&["get", "namespaces"]);
}

/// A kubeconfig with a certificate for `user` from a CertificateSigningRequest the admin
/// approves.
fn csr_certificate(server: &Server, user: &str) -> PathBuf {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, user);
    let request = params.serialize_request(&key).expect("csr").pem().expect("pem");
    let name = format!("{user}-{}", rand_suffix());
    let csr = serde_json::json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name}, "spec": {"request": support::more::b64_encode(&request),
        "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}});
    let admin = server.admin();
    let file = server.file(&format!("{name}.json"), &csr.to_string());
    admin.ok(&["create", "-f", &file.display().to_string()]);
    admin.ok(&["certificate", "approve", &name]);
    let cert = support::eventually(Duration::from_secs(15), || {
        let v = support::get_json(&admin, &["csr", &name]);
        v["status"]["certificate"].as_str().filter(|c| !c.is_empty()).map(support::more::b64_decode)
    })
    .expect("the CSR is signed");
    server.write_kubeconfig(&name, &server.ca_pem(), &cert, &key.serialize_pem())
}

/// A copy of a kubeconfig naming the server at `url` (a restart picks a new port).
fn rewrite_server(kubeconfig: &Path, url: &str) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let text: String = text
        .lines()
        .map(|l| match l.trim_start().strip_prefix("server: ") {
            Some(_) => format!("{}server: {url}", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = kubeconfig.with_extension(format!("{}.kubeconfig", rand_suffix()));
    std::fs::write(&path, text).expect("write");
    path
}

/// `who-can` rows naming `user`.
fn who_can_lists(server: &FlagServer, user: &str, verb: &str, resource: &str) -> Vec<String> {
    let kc = server.admin_kubeconfig().display().to_string();
    let out = kubeward(&["who-can", verb, resource, "-n", "default", "--kubeconfig", &kc]);
    out.assert_ok();
    support::words(&out.stdout).into_iter().filter(|l| l.split(' ').nth(1) == Some(user)).collect()
}

#[test]
fn offboarding_ends_every_credential_a_person_held() {
    let server = FlagServer::start(|dir| {
        std::fs::write(
            dir.join("tokens.csv"),
            "tok-jane-0123456789,jane,1001,\"dev\"\ntok-bob-0123456789,bob,1002\n",
        )
        .expect("tokens");
        vec![]
    });
    let data = server.data_path().to_path_buf();
    let admin_kc = server.admin_kubeconfig().display().to_string();
    let admin = server.admin();
    admin.ok(&["create", "clusterrolebinding", "jane-view", "--clusterrole=view", "--user=jane"]);
    admin.ok(&[
        "create",
        "rolebinding",
        "team-edit",
        "--clusterrole=edit",
        "--user=jane",
        "--user=bob",
        "-n",
        "default",
    ]);
    admin.ok(&["create", "clusterrolebinding", "devs-view", "--clusterrole=view", "--group=dev"]);
    let (jane_kc, _) = issue(&data, "jane", &["dev"], "8h");
    let jane_cert = server.kubectl_with("", "jane-cert", &jane_kc);
    let jane_token = server.kubectl_token("jane-token", "tok-jane-0123456789");
    let bob_token = server.kubectl_token("bob-token", "tok-bob-0123456789");
    for k in [&jane_cert, &jane_token, &bob_token] {
        k.ok(&["get", "pods"]);
    }
    assert!(!who_can_lists(&server, "jane", "list", "pods").is_empty());

    // A dry run changes nothing.
    let dry = kubeward(&[
        "offboard",
        "jane",
        "--dry-run",
        "--kubeconfig",
        &admin_kc,
        "--data-dir",
        &data.display().to_string(),
    ]);
    dry.assert_ok();
    assert!(dry.stdout.lines().all(|l| l.ends_with("(dry run)")), "{dry}");
    dry.assert_stdout_contains(
        "clusterrolebinding.rbac.authorization.k8s.io/jane-view deleted (it named only jane)",
    );
    admin.ok(&["get", "clusterrolebinding", "jane-view"]);
    jane_cert.ok(&["get", "pods"]);
    jane_token.ok(&["get", "pods"]);

    let out =
        kubeward(&["offboard", "jane", "--kubeconfig", &admin_kc, "--data-dir", &data.display().to_string()]);
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "clusterrolebinding.rbac.authorization.k8s.io/jane-view deleted (it named only jane)",
        "{out}"
    );
    assert_eq!(
        lines[1],
        "rolebinding.rbac.authorization.k8s.io/team-edit in namespace default: jane removed, 1 other subject(s) kept"
    );
    assert!(lines[2].starts_with("certificate ") && lines[2].contains(" of jane (valid until "), "{out}");
    assert!(lines[3].starts_with("every certificate of jane valid from "), "{out}");
    assert!(lines[4].starts_with("OIDC sign-ins of jane issued at or before "), "{out}");
    assert_eq!(lines[5], format!("1 token(s) of jane removed from {}", data.join("tokens.csv").display()));
    assert_eq!(lines[6], "jane offboarded: 6 changes");

    // Afterwards: listed nowhere, every credential refused; bob and the group binding stay.
    assert!(who_can_lists(&server, "jane", "list", "pods").is_empty());
    assert!(who_can_lists(&server, "jane", "get", "configmaps").is_empty());
    assert!(!who_can_lists(&server, "bob", "create", "pods").is_empty(), "bob kept his binding");
    let (ok, _) = retry(Duration::from_secs(1), || (unauthorized(&jane_cert), String::new()));
    assert!(ok, "jane's certificate still works");
    let (ok, _) = retry(Duration::from_secs(5), || (unauthorized(&jane_token), String::new()));
    assert!(ok, "jane's token still works");
    bob_token.ok(&["get", "pods"]);
    admin.ok(&["get", "clusterrolebinding", "devs-view"]);
    let tokens = std::fs::read_to_string(data.join("tokens.csv")).expect("tokens");
    assert_eq!(tokens, "tok-bob-0123456789,bob,1002\n");
    let oidc = support::get_json(&admin, &["configmap", "-n", "kube-system", "kubeward-oidc-revocations"]);
    assert!(oidc["data"][authn::oidc::revocation_key("jane")].is_string(), "{oidc}");

    // Nobody offboards the identity they act as.
    let out = kubeward(&[
        "offboard",
        "kubeward-admin",
        "--kubeconfig",
        &admin_kc,
        "--data-dir",
        &data.display().to_string(),
    ]);
    out.assert_code(1).assert_stderr_contains("refusing to offboard kubeward-admin");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn a_revocation_made_through_one_server_is_enforced_by_every_server_sharing_the_store() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(etcd) = rt.block_on(storage::etcd::TestEtcd::start_or_skip()) else { return };
    let endpoint = etcd.endpoint();
    let a = FlagServer::start(|_| vec!["--etcd-servers".into(), endpoint.clone()]);
    // The second server has the same PKI (one cluster, two API servers).
    let b = FlagServer::start(|dir| {
        copy_dir(&a.pki(), &dir.join("pki"));
        vec!["--etcd-servers".into(), endpoint.clone()]
    });
    let (jane_kc, _) = issue(a.data_path(), "jane", &[], "1h");
    let jane_on_b = server_kubectl(&b, "jane-b", &rewrite_server(&jane_kc, b.url()));
    assert_eq!(whoami(&jane_on_b, &[]).expect("jane on b").0, "jane");
    let (serial, _) = serial_and_lifetime(&cert_of(&jane_kc));
    let kc_a = a.admin_kubeconfig().display().to_string();
    kubeward(&["revoke", "cert", "--serial", &serial, "--kubeconfig", &kc_a]).assert_ok();
    let (ok, _) = retry(Duration::from_secs(1), || (unauthorized(&jane_on_b), String::new()));
    assert!(ok, "server b still lets jane in a second after the revocation through a");
    drop((a, b));
    drop(etcd);
}

fn server_kubectl(server: &FlagServer, label: &str, kubeconfig: &Path) -> Kubectl {
    server.kubectl_with("", label, kubeconfig)
}

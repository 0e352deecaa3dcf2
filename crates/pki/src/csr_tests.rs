//! Tests of the CSR signer: kube's per-signer checks and texts (`signer_test.go`,
//! `helpers_test.go` cases), the signing policy's lifetimes, and certificates that verify.

use super::*;
use crate::Ca;
use rcgen::{CertificateParams, DnType, KeyPair, SanType};

fn request(cn: &str, orgs: &[&str], sans: &[SanType]) -> CertificateRequest {
    parse_request(request_pem(cn, orgs, sans).as_bytes()).unwrap()
}

fn request_pem(cn: &str, orgs: &[&str], sans: &[SanType]) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    if let Some(o) = orgs.first() {
        params.distinguished_name.push(DnType::OrganizationName, *o);
    }
    params.subject_alt_names = sans.to_vec();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn usages(u: &[&str]) -> Vec<String> {
    u.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_request_parses_and_a_bad_one_says_why() {
    let r = request("jane", &["dev"], &[SanType::DnsName("node1".try_into().unwrap())]);
    assert_eq!(r.common_name, "jane");
    assert_eq!(r.organizations, ["dev"]);
    assert_eq!(r.dns_names, ["node1"]);
    assert_eq!(parse_request(b"junk").unwrap_err(), "PEM block type must be CERTIFICATE REQUEST");
    let cert = Ca::generate("x").unwrap().cert_pem;
    assert_eq!(parse_request(cert.as_bytes()).unwrap_err(), "PEM block type must be CERTIFICATE REQUEST");
    // The signature no longer matches once the subject changes.
    let pem = request_pem("jane", &[], &[]);
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    let mut der = block.contents.clone();
    let at = der.windows(4).position(|w| w == b"jane").unwrap();
    der[at] = b'J';
    let tampered = crate::sign::pem("CERTIFICATE REQUEST", &der);
    let err = parse_request(tampered.as_bytes()).unwrap_err();
    assert!(err.starts_with("unable to verify certificate request signature"), "{err}");
}

#[test]
fn kube_apiserver_client_needs_client_auth_and_nothing_else() {
    let r = request("jane", &["dev"], &[]);
    let s = KUBE_APISERVER_CLIENT;
    assert_eq!(check_for_signer(s, &r, &usages(&["client auth"])), Ok(true));
    assert_eq!(
        check_for_signer(s, &r, &usages(&["digital signature", "key encipherment", "client auth"])),
        Ok(true)
    );
    assert_eq!(
        check_for_signer(s, &r, &usages(&["client auth", "server auth"])),
        Err("invalid usage for client certificate: server auth".into())
    );
    assert_eq!(
        check_for_signer(s, &r, &usages(&["digital signature"])),
        Err("missing required usage for client certificate: client auth".into())
    );
}

#[test]
fn kubelet_signers_check_subject_names_and_usages_in_kubes_order() {
    let client = KUBE_APISERVER_CLIENT_KUBELET;
    let good = usages(&["digital signature", "key encipherment", "client auth"]);
    let node = request("system:node:n1", &["system:nodes"], &[]);
    assert_eq!(check_for_signer(client, &node, &good), Ok(true));
    assert_eq!(check_for_signer(client, &node, &usages(&["digital signature", "client auth"])), Ok(true));
    assert_eq!(
        check_for_signer(client, &request("system:node:n1", &["dev"], &[]), &good),
        Err("subject organization is not system:nodes".into())
    );
    assert_eq!(
        check_for_signer(client, &request("jane", &["system:nodes"], &[]), &good),
        Err("subject common name does not begin with system:node:".into())
    );
    let with_dns =
        request("system:node:n1", &["system:nodes"], &[SanType::DnsName("n1".try_into().unwrap())]);
    assert_eq!(check_for_signer(client, &with_dns, &good), Err("DNS subjectAltNames are not allowed".into()));
    assert_eq!(
        check_for_signer(client, &node, &usages(&["client auth"])),
        Err("usages did not match [client auth digital signature key encipherment]".into())
    );

    let serving = KUBELET_SERVING;
    let good = usages(&["key encipherment", "digital signature", "server auth"]);
    assert_eq!(check_for_signer(serving, &with_dns, &good), Ok(true));
    assert_eq!(check_for_signer(serving, &node, &good), Err("DNS or IP subjectAltName is required".into()));
    let ip = request("system:node:n1", &["system:nodes"], &[SanType::IpAddress("10.0.0.1".parse().unwrap())]);
    assert_eq!(check_for_signer(serving, &ip, &good), Ok(true));
    assert_eq!(
        check_for_signer(serving, &ip, &usages(&["server auth", "client auth"])),
        Err("usages did not match [digital signature key encipherment server auth]".into())
    );
    let jane = request("jane", &["system:nodes"], &[SanType::DnsName("n1".try_into().unwrap())]);
    assert_eq!(
        check_for_signer(serving, &jane, &good),
        Err("subject common name does not begin with system:node:".into())
    );
}

#[test]
fn legacy_unknown_and_foreign_signers_are_left_alone() {
    let r = request("jane", &[], &[]);
    assert_eq!(check_for_signer(LEGACY_UNKNOWN, &r, &usages(&["client auth"])), Ok(false));
    assert_eq!(check_for_signer("example.com/mine", &r, &usages(&["client auth"])), Ok(false));
}

#[test]
fn lifetimes_follow_kubes_policy() {
    let max = DEFAULT_SIGNING_DURATION;
    assert_eq!(duration_for(None, max), Duration::hours(8760));
    assert_eq!(duration_for(Some(3600), max), Duration::hours(1));
    assert_eq!(duration_for(Some(60), max), Duration::minutes(10));
    assert_eq!(duration_for(Some(i64::from(i32::MAX)), max), Duration::hours(8760));
    assert_eq!(duration_for(Some(7200), std::time::Duration::from_secs(3600)), Duration::hours(1));

    let r = request("jane", &[], &[]);
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let far = now + Duration::days(3650);
    let t = template(&r, &usages(&["client auth"]), Duration::hours(1), now, far).unwrap();
    assert_eq!(
        (t.not_before, t.not_after),
        (now - BACKDATE, now + Duration::hours(1)),
        "short: end not backdated"
    );
    let t = template(&r, &usages(&["client auth"]), Duration::hours(24), now, far).unwrap();
    assert_eq!(t.not_after, now + Duration::hours(24) - BACKDATE);
    let t = template(&r, &usages(&["client auth"]), Duration::MAX, now, far).unwrap();
    assert_eq!(t.not_after, far, "a lifetime no date holds ends with the CA");
    let soon = now + Duration::hours(2);
    let t = template(&r, &usages(&["client auth"]), Duration::hours(24), now, soon).unwrap();
    assert_eq!(t.not_after, soon, "never beyond the CA");
    let err = template(&r, &usages(&["client auth"]), Duration::hours(1), now, now - Duration::hours(1));
    assert_eq!(err.unwrap_err(), "the signer has expired: NotAfter=2023-11-14 21:13:20 +0000 UTC");
    let err = template(&r, &usages(&["client auth", "frobnicate", "x y"]), Duration::hours(1), now, far);
    assert_eq!(err.unwrap_err(), r#"unrecognized usage values: ["frobnicate" "x y"]"#);
}

#[test]
fn a_signed_request_verifies_and_keeps_its_subject_names_and_key() {
    let ca = Ca::generate("kubeward-ca").unwrap();
    let pem = request_pem(
        "system:node:n1",
        &["system:nodes"],
        &[
            SanType::DnsName("n1.example".try_into().unwrap()),
            SanType::IpAddress("10.1.2.3".parse().unwrap()),
        ],
    );
    let r = parse_request(pem.as_bytes()).unwrap();
    let now = OffsetDateTime::now_utc();
    let t =
        template(&r, &usages(&["digital signature", "server auth"]), Duration::hours(2), now, ca.not_after)
            .unwrap();
    let signed = ca.sign(&t).unwrap();
    let (_, block) = x509_parser::pem::parse_x509_pem(signed.cert_pem.as_bytes()).unwrap();
    let cert = block.parse_x509().unwrap();
    assert_eq!(cert.subject().as_raw(), r.subject_der.as_slice());
    assert_eq!(cert.public_key().raw, r.spki_der.as_slice());
    assert_eq!(crate::serial_hex(cert.raw_serial()), signed.serial);
    assert!(cert.raw_serial().len() <= 17);
    let (_, ca_block) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
    let ca_cert = ca_block.parse_x509().unwrap();
    cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    assert_eq!(cert.issuer().as_raw(), ca_cert.subject().as_raw());
    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.digital_signature() && !ku.value.key_encipherment());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert!(!san.critical);
    assert_eq!(san.value.general_names.len(), 2);
    assert_eq!(cert.version(), x509_parser::x509::X509Version::V3);
}

//! ClusterTrustBundle validation: kube's texts (`pkg/apis/certificates/validation`
//! `TestValidateClusterTrustBundle` cases) through the strategy's entry points.

use crate::strategy::{validate as validate_new, validate_update};
use crate::Catalog;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::{json, Value};

fn ctb_type() -> &'static crate::ResourceType {
    Catalog::global().lookup("certificates.k8s.io", "v1beta1", "clustertrustbundles").unwrap()
}

fn cert(ca: bool) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params.self_signed(&key).unwrap().pem()
}

fn bundle(name: &str, signer: &str, pem: &str) -> Value {
    let mut spec = json!({"trustBundle": pem});
    if !signer.is_empty() {
        spec["signerName"] = json!(signer);
    }
    json!({"apiVersion": "certificates.k8s.io/v1beta1", "kind": "ClusterTrustBundle",
        "metadata": {"name": name}, "spec": spec})
}

fn messages(obj: &Value) -> Vec<String> {
    validate_new(ctb_type(), obj).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
}

#[test]
fn names_carry_the_signer_prefix() {
    let pem = cert(true);
    assert!(messages(&bundle("foo", "", &pem)).is_empty());
    assert!(messages(&bundle("k8s.example.com:foo:abc", "k8s.example.com/foo", &pem)).is_empty());
    assert_eq!(
        messages(&bundle("foo:bar", "", &pem)),
        [
            r#"metadata.name: Invalid value: "foo:bar": ClusterTrustBundle without signer name must not have ":" in its name"#
        ]
    );
    assert_eq!(
        messages(&bundle("abc", "k8s.example.com/foo", &pem)),
        [
            r#"metadata.name: Invalid value: "abc": ClusterTrustBundle for signerName k8s.example.com/foo must be named with prefix k8s.example.com:foo:"#
        ]
    );
    let bad = messages(&bundle("k8s.example.com:foo:Abc", "k8s.example.com/foo", &pem));
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with(
        r#"metadata.name: Invalid value: "k8s.example.com:foo:Abc": a lowercase RFC 1123 subdomain"#
    ));
    // The signer name follows the CSR rules.
    let bad = messages(&bundle("foo:abc", "foo", &pem));
    assert!(
        bad.contains(&r#"spec.signerName: Invalid value: "foo": must be a fully qualified domain and path of the form 'example.com/signer-name'"#.to_string()),
        "{bad:?}"
    );
}

#[test]
fn the_bundle_holds_distinct_ca_certificates_only() {
    let (a, b) = (cert(true), cert(true));
    assert!(messages(&bundle("two", "", &format!("{a}{b}"))).is_empty());
    let omitted = |m: &str| format!(r#"spec.trustBundle: Invalid value: "<value omitted>": {m}"#);
    assert_eq!(messages(&bundle("none", "", "")), [omitted("at least one trust anchor must be provided")]);
    assert_eq!(
        messages(&bundle("junk", "", "garbage")),
        [omitted("at least one trust anchor must be provided")]
    );
    assert_eq!(
        messages(&bundle("dup", "", &format!("{a}{b}{a}"))),
        [omitted("duplicate trust anchor (indices [0 2])")]
    );
    assert_eq!(
        messages(&bundle("leaf", "", &format!("{a}{}", cert(false)))),
        [omitted("entry 1 does not have the CA bit set")]
    );
    let key = KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(
        messages(&bundle("key", "", &format!("{key}{a}"))),
        [omitted("entry 0 has bad block type: PRIVATE KEY")]
    );
    let headers = a.replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1);
    assert_eq!(messages(&bundle("headers", "", &headers)), [omitted("entry 0 has PEM block headers")]);
    let broken = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
    assert_eq!(
        messages(&bundle("broken", "", broken)),
        [omitted("entry 0 does not parse as X.509")],
        "a malformed block alone, no missing-anchor error after it"
    );
    let huge = "x".repeat(1024 * 1024 + 1);
    assert_eq!(
        messages(&bundle("huge", "", &huge)),
        ["spec.trustBundle: Too long: may not be more than 1048576 bytes"]
    );
}

#[test]
fn updates_keep_the_signer_and_do_not_parse_an_unchanged_bundle() {
    let rt = ctb_type();
    let pem = cert(true);
    let old = bundle("k8s.example.com:foo:abc", "k8s.example.com/foo", &pem);
    let mut new = old.clone();
    new["spec"]["signerName"] = json!("k8s.example.com/bar");
    let errs: Vec<String> = validate_update(rt, &new, &old).into_iter().map(|c| c.message).collect();
    assert!(
        errs.contains(&r#"Invalid value: "k8s.example.com/bar": field is immutable"#.to_string()),
        "{errs:?}"
    );
    // A stored bundle the current rules would refuse is kept by an update that leaves it.
    let stored = bundle("legacy", "", &format!("{pem}{pem}"));
    let mut relabelled = stored.clone();
    relabelled["metadata"]["labels"] = json!({"team": "a"});
    assert!(validate_update(rt, &relabelled, &stored).is_empty());
    relabelled["spec"]["trustBundle"] = json!(format!("{pem}{pem}{pem}"));
    assert_eq!(validate_update(rt, &relabelled, &stored).len(), 1);
}

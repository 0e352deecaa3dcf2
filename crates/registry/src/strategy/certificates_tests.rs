//! CertificateSigningRequest strategy tests: kube's field-error texts
//! (`pkg/apis/certificates/validation/validation_test.go` cases) and what each endpoint
//! may change.

use super::*;
use crate::strategy::{prepare_for_update, validate as validate_new, validate_update_via};
use crate::Catalog;
use rcgen::{CertificateParams, DnType, KeyPair};

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A PEM certificate request signed by a fresh key, with `O` organizations.
fn request_pem(orgs: &[&str]) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "jane");
    for o in orgs {
        params.distinguished_name.push(DnType::OrganizationName, *o);
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn csr(request: &str) -> Value {
    json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "jane"},
        "spec": {"request": b64(request.as_bytes()), "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["client auth"], "username": "admin"},
        "status": {}})
}

fn causes(errs: &[apimachinery::status::StatusCause]) -> Vec<(String, String)> {
    errs.iter().map(|e| (e.field.clone(), e.message.clone())).collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(f, m)| (f.to_string(), m.to_string())).collect()
}

fn rt() -> &'static crate::ResourceType {
    Catalog::global().lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap()
}

#[test]
fn a_signed_request_is_valid_and_a_bad_one_has_kubes_texts() {
    assert!(validate_new(rt(), &csr(&request_pem(&[]))).is_empty());

    let garbage = csr("not a pem");
    assert_eq!(
        causes(&validate_new(rt(), &garbage)),
        pairs(&[(
            "spec.request",
            &format!("Invalid value: \"{}\": PEM block type must be CERTIFICATE REQUEST", b64(b"not a pem")),
        )])
    );

    // One byte of the signature changed: the key no longer verifies it.
    let pem = request_pem(&[]);
    let block = pem_decode(&pem).unwrap();
    let mut der = block.bytes.clone();
    let last = der.len() - 1;
    der[last] ^= 1;
    let tampered =
        format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", b64(&der));
    let errs = validate_new(rt(), &csr(&tampered));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.ends_with(": x509: ECDSA verification failure"), "{}", errs[0].message);

    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let errs = validate_new(rt(), &csr(cert));
    assert!(errs[0].message.ends_with(": PEM block type must be CERTIFICATE REQUEST"), "{errs:?}");
}

#[test]
fn usages_signer_names_and_durations_follow_kube() {
    let pem = request_pem(&[]);
    let with = |spec: Value| {
        let mut c = csr(&pem);
        for (k, v) in spec.as_object().unwrap() {
            c["spec"][k] = v.clone();
        }
        causes(&validate_new(rt(), &c))
    };
    assert_eq!(with(json!({"usages": []})), pairs(&[("spec.usages", "Required value")]));
    let unknown = with(json!({"usages": ["client auth", "hacking", "client auth"]}));
    assert_eq!(unknown[0].0, "spec.usages[1]");
    assert!(unknown[0]
        .1
        .starts_with(r#"Unsupported value: "hacking": supported values: "any", "cert sign", "#));
    assert_eq!(unknown[1], ("spec.usages[2]".into(), r#"Duplicate value: "client auth""#.into()));
    assert_eq!(
        with(json!({"signerName": "kubernetes.io/legacy-unknown"})),
        pairs(&[(
            "spec.signerName",
            r#"Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version"#
        )])
    );
    assert_eq!(with(json!({"signerName": ""})), pairs(&[("spec.signerName", "Required value")]));
    assert_eq!(
        with(json!({"signerName": "signer"})),
        pairs(&[(
            "spec.signerName",
            r#"Invalid value: "signer": must be a fully qualified domain and path of the form 'example.com/signer-name'"#
        )])
    );
    assert_eq!(
        with(json!({"signerName": "example/signer"})),
        pairs(&[(
            "spec.signerName",
            r#"Invalid value: "example": should be a domain with at least two segments separated by dots"#
        )])
    );
    let upper = with(json!({"signerName": "Example.com/signer"}));
    assert_eq!(upper.len(), 1);
    assert!(
        upper[0].1.starts_with(
            r#"Invalid value: "Example.com": validating label "Example": a lowercase RFC 1123 label"#
        ),
        "{upper:?}"
    );
    assert_eq!(
        with(json!({"expirationSeconds": 599})),
        pairs(&[(
            "spec.expirationSeconds",
            "Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"
        )])
    );
    assert!(with(json!({"signerName": "example.com/a.b-c", "expirationSeconds": 600})).is_empty());
}

#[test]
fn conditions_follow_kube() {
    let mut c = csr(&request_pem(&[]));
    c["status"]["conditions"] = json!([
        {"type": "ApprovedFake", "status": "True"},
        {"type": "Approved", "status": "False"},
        {"type": "Denied", "status": "True"},
        {"type": "ApprovedFake", "status": ""},
        {"type": "", "status": "Maybe"},
    ]);
    assert_eq!(
        causes(&validate_new(rt(), &c)),
        pairs(&[
            ("status.conditions[1].status", r#"Unsupported value: "False": supported values: "True""#),
            (
                "status.conditions[2].type",
                r#"Invalid value: "Denied": Approved and Denied conditions are mutually exclusive"#
            ),
            ("status.conditions[3].status", "Required value"),
            ("status.conditions[3].type", r#"Duplicate value: "ApprovedFake""#),
            ("status.conditions[4].type", "Required value"),
            (
                "status.conditions[4].status",
                r#"Unsupported value: "Maybe": supported values: "False", "True", "Unknown""#
            ),
        ])
    );
}

#[test]
fn each_endpoint_changes_its_part_only() {
    let old = csr(&request_pem(&[]));
    // The resource itself: neither spec nor status.
    let mut main = old.clone();
    main["spec"]["usages"] = json!(["server auth"]);
    main["status"]["conditions"] = json!([{"type": "Approved", "status": "True"}]);
    main["metadata"]["labels"] = json!({"a": "b"});
    prepare_for_update(rt(), &mut main, &old, Endpoint::Main);
    assert_eq!((&main["spec"], &main["status"]), (&old["spec"], &old["status"]));
    assert_eq!(main["metadata"]["labels"]["a"], "b");
    assert!(validate_update_via(rt(), &main, &old, Endpoint::Main).is_empty());

    // approval: the conditions, stamped; not the certificate.
    let mut approve = old.clone();
    approve["spec"]["usages"] = json!(["server auth"]);
    approve["status"]["conditions"] = json!([{"type": "Approved", "status": "True", "reason": "R"}]);
    approve["status"]["certificate"] = json!(b64(b"x"));
    prepare_for_update(rt(), &mut approve, &old, Endpoint::Approval);
    assert_eq!(approve["spec"], old["spec"]);
    assert_eq!(approve["status"].get("certificate"), None);
    let cond = &approve["status"]["conditions"][0];
    assert_eq!((cond["type"].as_str(), cond["reason"].as_str()), (Some("Approved"), Some("R")));
    assert!(cond["lastUpdateTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(cond["lastTransitionTime"], cond["lastUpdateTime"]);
    assert!(validate_update_via(rt(), &approve, &old, Endpoint::Approval).is_empty());

    // status: may not add the approval, may set a certificate once.
    let mut status = approve.clone();
    status["status"]["conditions"] = json!([]);
    let errs = {
        let mut s = status.clone();
        prepare_for_update(rt(), &mut s, &approve, Endpoint::Status);
        validate_update_via(rt(), &s, &approve, Endpoint::Status)
    };
    assert_eq!(
        causes(&errs),
        pairs(&[(
            "status.conditions",
            r#"Forbidden: updates may not remove a condition of type "Approved""#
        )])
    );
    let mut added = old.clone();
    added["status"]["conditions"] = json!([{"type": "Denied", "status": "True"}]);
    prepare_for_update(rt(), &mut added, &old, Endpoint::Status);
    assert_eq!(
        causes(&validate_update_via(rt(), &added, &old, Endpoint::Status)),
        pairs(&[("status.conditions", r#"Forbidden: updates may not add a condition of type "Denied""#)])
    );
    let mut issued = approve.clone();
    issued["status"]["certificate"] = json!(b64(b"not pem"));
    prepare_for_update(rt(), &mut issued, &approve, Endpoint::Status);
    assert_eq!(issued["status"]["conditions"], approve["status"]["conditions"]);
    assert_eq!(
        causes(&validate_update_via(rt(), &issued, &approve, Endpoint::Status)),
        pairs(&[(
            "status.certificate",
            r#"Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block"#
        )])
    );
    // A certificate through the resource itself is refused.
    let mut sneaky = approve.clone();
    sneaky["status"]["certificate"] = json!(b64(b"x"));
    assert_eq!(
        causes(&validate_update_via(rt(), &sneaky, &approve, Endpoint::Approval)),
        pairs(&[
            (
                "status.certificate",
                r#"Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block"#
            ),
            ("status.certificate", "Forbidden: updates may not set certificate content"),
        ])
    );
}

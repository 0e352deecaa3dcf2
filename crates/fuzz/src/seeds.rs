//! The generated seeds: credentials signed with the fixture keys (service-account and OIDC
//! tokens and their claims, client certificates of the fixture CA) and protobuf envelopes,
//! which cannot be written by hand. The other seeds of `fuzz/corpus` are files taken from
//! the tests (manifests, kubectl's recorded bodies, patches, policy lines).

use kubeward_fuzz::targets::fixtures::{self, OIDC_ISSUER, OIDC_ISSUER_PLAIN, OIDC_KID, SA_ISSUER};
use prost::Message;
use serde_json::json;
use std::path::Path;

/// 2100-01-01: service-account tokens are verified at the real time.
const EXP: i64 = 4_102_444_800;
const IAT: i64 = 1_700_000_000;

fn sa_payloads() -> Vec<(&'static str, serde_json::Value)> {
    let bound = |extra: serde_json::Value| {
        let mut k = json!({"namespace": "default", "serviceaccount": {"name": "builder", "uid": "sa-uid"}});
        if let (Some(k), Some(extra)) = (k.as_object_mut(), extra.as_object()) {
            k.extend(extra.clone());
        }
        json!({"aud": [SA_ISSUER], "exp": EXP, "iat": IAT, "iss": SA_ISSUER, "jti": "0b7f1b1c",
               "kubernetes.io": k, "nbf": IAT, "sub": "system:serviceaccount:default:builder"})
    };
    vec![
        ("bound", bound(json!({}))),
        (
            "bound-pod",
            bound(
                json!({"pod": {"name": "web-0", "uid": "pod-uid"}, "node": {"name": "node-1", "uid": "node-uid"}, "warnafter": IAT + 3600}),
            ),
        ),
        ("bound-secret", bound(json!({"secret": {"name": "builder-token", "uid": "secret-uid"}}))),
        (
            "legacy",
            json!({"iss": "kubernetes/serviceaccount",
                   "kubernetes.io/serviceaccount/namespace": "default",
                   "kubernetes.io/serviceaccount/secret.name": "builder-token",
                   "kubernetes.io/serviceaccount/service-account.name": "builder",
                   "kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
                   "sub": "system:serviceaccount:default:builder"}),
        ),
    ]
}

fn oidc_payloads() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "cel",
            json!({"iss": OIDC_ISSUER, "aud": ["kubeward"], "sub": "alice", "iat": IAT - 10, "exp": IAT + 600,
                   "email": "alice@example.com", "email_verified": true, "groups": ["devs", "ops"], "tenant": "t1"}),
        ),
        (
            "plain",
            json!({"iss": OIDC_ISSUER_PLAIN, "aud": "k8s", "sub": "bob", "iat": IAT - 10, "exp": IAT + 600, "nbf": IAT - 10,
                   "hd": "example.com", "groups": "admins"}),
        ),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(1)
}

fn pod_envelope() -> Vec<u8> {
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let pod = core::Pod {
        metadata: Some(ObjectMeta {
            name: Some("web-0".into()),
            namespace: Some("default".into()),
            labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: Some("web".into()),
                image: Some("nginx:1.27".into()),
                ports: vec![core::ContainerPort { container_port: Some(80), ..Default::default() }],
                resources: Some(core::ResourceRequirements {
                    limits: [("cpu".to_string(), Quantity { string: Some("500m".into()) })].into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    kube_protobuf::envelope("v1", "Pod", pod.encode_to_vec())
}

/// Writes every generated seed under `root` (`fuzz/corpus`); how many.
pub fn write_all(root: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    let sa_header = fixtures::sa_header();
    for (name, payload) in sa_payloads() {
        let payload = payload.to_string();
        n += write(&root.join("sa_claims"), &format!("{name}.json"), payload.as_bytes())?;
        let token = fixtures::sa_token(sa_header.as_bytes(), payload.as_bytes());
        n += write(&root.join("sa_token"), &format!("{name}.jwt"), token.as_bytes())?;
        n += write(&root.join("bearer_header"), &format!("sa-{name}"), format!("Bearer {token}").as_bytes())?;
    }
    let oidc_header = format!(r#"{{"alg":"ES256","kid":"{OIDC_KID}"}}"#);
    for (name, payload) in oidc_payloads() {
        let payload = payload.to_string();
        n += write(&root.join("oidc_claims"), &format!("{name}.json"), payload.as_bytes())?;
        let token = fixtures::oidc_token(oidc_header.as_bytes(), payload.as_bytes());
        n += write(&root.join("oidc_token"), &format!("{name}.jwt"), token.as_bytes())?;
    }
    let ca: Vec<u8> = rustls_pemfile::certs(&mut fixtures::CA_PEM.as_bytes())
        .filter_map(Result::ok)
        .flat_map(|c| c.as_ref().to_vec())
        .collect();
    let dir = root.join("x509_chain");
    n += write(&dir, "v3.der", fixtures::CLIENT_V3_DER)?;
    n += write(&dir, "v1.der", fixtures::CLIENT_V1_DER)?;
    n += write(&dir, "v3-and-ca.der", &[fixtures::CLIENT_V3_DER, &ca].concat())?;
    n += write(&root.join("protobuf_body"), "pod.pb", &pod_envelope())?;
    Ok(n)
}

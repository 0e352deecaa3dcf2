//! Decoding tests: the body kubectl 1.33 recorded for `auth can-i list pods`, bodies of several
//! kinds built the way gogo encodes (every non-pointer field present, even when empty), every
//! decoded kind's zero value, and malformed input. The expected JSON is what Go's encoder
//! writes for the decoded object (k8s.io/api 1.35 types).

use k8s_pb::api::authentication::v1 as authn;
use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::*;

pub(crate) fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// ObjectMeta as gogo writes an unset one: fields 1–7 empty and an empty creationTimestamp.
pub(crate) fn gogo_meta() -> ObjectMeta {
    ObjectMeta {
        name: s(""),
        generate_name: s(""),
        namespace: s(""),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(Time::default()),
        ..Default::default()
    }
}

pub(crate) fn named_meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta { name: s(name), namespace: s(namespace), ..gogo_meta() }
}

pub(crate) fn roundtrip<T: Message>(api_version: &str, kind: &str, msg: &T) -> Value {
    decode_to_json(&envelope(api_version, kind, msg.encode_to_vec())).expect("decodes")
}

fn unhex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..clean.len()).step_by(2).map(|i| u8::from_str_radix(&clean[i..i + 2], 16).expect("hex")).collect()
}

/// The body kubectl 1.33 sent for `auth can-i list pods` (namespace `default`), byte for byte.
fn recorded_can_i_body() -> Vec<u8> {
    let mut body = unhex("6b387300 0a32 0a17");
    body.extend(b"authorization.k8s.io/v1");
    body.extend(unhex("1217"));
    body.extend(b"SelfSubjectAccessReview");
    body.extend(unhex("123d 0a10 0a00 1200 1a00 2200 2a00 3200 3800 4200 121f 0a1d 0a07"));
    body.extend(b"default");
    body.extend(unhex("1204"));
    body.extend(b"list");
    body.extend(unhex("1a00 2200 2a04"));
    body.extend(b"pods");
    body.extend(unhex("3200 3a00 1a08 0800 1200 1a00 2000 1a00 2200"));
    body
}

#[test]
fn recorded_can_i_body_decodes_like_kubectl_json() {
    let body = recorded_can_i_body();
    assert!(is_protobuf(&body));
    let got = decode_to_json(&body).expect("decodes");
    assert_eq!(
        got,
        json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {},
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}},
            "status": {"allowed": false},
        })
    );
}

/// k8s-pb's messages, filled the way gogo fills them, encode to the bytes kubectl sent.
#[test]
fn k8s_pb_messages_encode_the_recorded_bytes() {
    let review = authz::SelfSubjectAccessReview {
        metadata: Some(gogo_meta()),
        spec: Some(authz::SelfSubjectAccessReviewSpec {
            resource_attributes: Some(authz::ResourceAttributes {
                namespace: s("default"),
                verb: s("list"),
                group: s(""),
                version: s(""),
                resource: s("pods"),
                subresource: s(""),
                name: s(""),
                ..Default::default()
            }),
            non_resource_attributes: None,
        }),
        status: Some(authz::SubjectAccessReviewStatus {
            allowed: Some(false),
            reason: s(""),
            evaluation_error: s(""),
            denied: Some(false),
        }),
    };
    let body = envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", review.encode_to_vec());
    assert_eq!(body, recorded_can_i_body());
}

#[test]
fn rules_review_and_self_subject_review() {
    let ssrr = authz::SelfSubjectRulesReview {
        metadata: Some(gogo_meta()),
        spec: Some(authz::SelfSubjectRulesReviewSpec { namespace: s("default") }),
        status: Some(authz::SubjectRulesReviewStatus {
            incomplete: Some(false),
            evaluation_error: s(""),
            ..Default::default()
        }),
    };
    assert_eq!(
        roundtrip("authorization.k8s.io/v1", "SelfSubjectRulesReview", &ssrr),
        json!({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {},
               "spec": {"namespace": "default"},
               "status": {"resourceRules": null, "nonResourceRules": null, "incomplete": false}})
    );
    let ssr = authn::SelfSubjectReview {
        metadata: Some(gogo_meta()),
        status: Some(authn::SelfSubjectReviewStatus {
            user_info: Some(authn::UserInfo { username: s(""), uid: s(""), ..Default::default() }),
        }),
    };
    for version in
        ["authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", "authentication.k8s.io/v1alpha1"]
    {
        assert_eq!(
            roundtrip(version, "SelfSubjectReview", &ssr),
            json!({"kind": "SelfSubjectReview", "apiVersion": version, "metadata": {}, "status": {"userInfo": {}}})
        );
    }
}

#[test]
fn subject_access_review_with_user_and_extra() {
    let sar = authz::SubjectAccessReview {
        metadata: Some(gogo_meta()),
        spec: Some(authz::SubjectAccessReviewSpec {
            non_resource_attributes: Some(authz::NonResourceAttributes {
                path: s("/healthz"),
                verb: s("get"),
            }),
            user: s("jane"),
            groups: vec!["devs".into()],
            extra: [
                ("scopes".to_owned(), authz::ExtraValue { items: vec!["a".into(), "b".into()] }),
                ("none".to_owned(), authz::ExtraValue { items: vec![] }),
            ]
            .into(),
            uid: s(""),
            ..Default::default()
        }),
        status: None,
    };
    assert_eq!(
        roundtrip("authorization.k8s.io/v1", "LocalSubjectAccessReview", &sar),
        json!({"kind": "LocalSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {},
               "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}, "user": "jane",
                        "groups": ["devs"], "extra": {"none": null, "scopes": ["a", "b"]}},
               "status": {"allowed": false}})
    );
}

#[test]
fn token_request_and_review() {
    let empty = authn::TokenRequest {
        metadata: Some(gogo_meta()),
        spec: Some(authn::TokenRequestSpec::default()),
        status: Some(authn::TokenRequestStatus { token: s(""), expiration_timestamp: Some(Time::default()) }),
    };
    assert_eq!(
        roundtrip("authentication.k8s.io/v1", "TokenRequest", &empty),
        json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
               "spec": {"audiences": null, "expirationSeconds": null, "boundObjectRef": null},
               "status": {"token": "", "expirationTimestamp": null}})
    );
    let full = authn::TokenRequest {
        metadata: Some(gogo_meta()),
        spec: Some(authn::TokenRequestSpec {
            audiences: vec!["api".into()],
            expiration_seconds: Some(600),
            bound_object_ref: Some(authn::BoundObjectReference {
                kind: s("Pod"),
                api_version: s("v1"),
                name: s("web"),
                u_id: s("u"),
            }),
        }),
        status: None,
    };
    assert_eq!(
        roundtrip("authentication.k8s.io/v1", "TokenRequest", &full)["spec"],
        json!({"audiences": ["api"], "expirationSeconds": 600,
               "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "u"}})
    );
    let review = authn::TokenReview {
        metadata: Some(gogo_meta()),
        spec: Some(authn::TokenReviewSpec { token: s("abc"), audiences: vec!["vault".into()] }),
        status: Some(authn::TokenReviewStatus {
            authenticated: Some(false),
            error: s(""),
            ..Default::default()
        }),
    };
    for version in ["authentication.k8s.io/v1", "authentication.k8s.io/v1beta1"] {
        assert_eq!(
            roundtrip(version, "TokenReview", &review),
            json!({"kind": "TokenReview", "apiVersion": version, "metadata": {},
                   "spec": {"token": "abc", "audiences": ["vault"]}, "status": {"user": {}}})
        );
    }
}

#[test]
fn namespace_and_service_account() {
    let ns = core::Namespace {
        metadata: Some(named_meta("team-a", "")),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus { phase: s(""), conditions: vec![] }),
    };
    assert_eq!(
        roundtrip("v1", "Namespace", &ns),
        json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "team-a"}, "spec": {}, "status": {}})
    );
    let sa = core::ServiceAccount { metadata: Some(named_meta("robot", "default")), ..Default::default() };
    assert_eq!(
        roundtrip("v1", "ServiceAccount", &sa),
        json!({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "robot", "namespace": "default"}})
    );
}

#[test]
fn secret_bytes_become_base64() {
    let secret = core::Secret {
        metadata: Some(named_meta("creds", "default")),
        data: [("password".to_owned(), b"s3cr\xffet".to_vec()), ("empty".to_owned(), vec![])].into(),
        r#type: s("Opaque"),
        string_data: [("user".to_owned(), "admin".to_owned())].into(),
        immutable: None,
    };
    assert_eq!(
        roundtrip("v1", "Secret", &secret),
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "creds", "namespace": "default"},
               "data": {"empty": "", "password": "czNjcv9ldA=="}, "stringData": {"user": "admin"}, "type": "Opaque"})
    );
    let untyped =
        core::Secret { metadata: Some(named_meta("x", "default")), r#type: s(""), ..Default::default() };
    assert!(roundtrip("v1", "Secret", &untyped).get("type").is_none());
}

#[test]
fn config_map_data_and_binary_data() {
    let cm = core::ConfigMap {
        metadata: Some(named_meta("cfg", "default")),
        data: [("a".to_owned(), "1".to_owned())].into(),
        binary_data: [("b".to_owned(), vec![0, 1, 2])].into(),
        immutable: Some(true),
    };
    assert_eq!(
        roundtrip("v1", "ConfigMap", &cm),
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg", "namespace": "default"},
               "immutable": true, "data": {"a": "1"}, "binaryData": {"b": "AAEC"}})
    );
}

#[test]
fn rbac_roles_and_bindings() {
    let role = rbac::ClusterRole {
        metadata: Some(named_meta("view-pods", "")),
        rules: vec![rbac::PolicyRule {
            verbs: vec!["get".into(), "list".into()],
            api_groups: vec!["".into()],
            resources: vec!["pods".into()],
            ..Default::default()
        }],
        aggregation_rule: Some(rbac::AggregationRule {
            cluster_role_selectors: vec![LabelSelector {
                match_labels: [("rbac.example.com/aggregate".to_owned(), "true".to_owned())].into(),
                match_expressions: vec![],
            }],
        }),
    };
    assert_eq!(
        roundtrip("rbac.authorization.k8s.io/v1", "ClusterRole", &role),
        json!({"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "view-pods"},
               "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
               "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate": "true"}}]}})
    );
    let binding = rbac::ClusterRoleBinding {
        metadata: Some(named_meta("x", "")),
        subjects: vec![rbac::Subject {
            kind: s("ServiceAccount"),
            api_group: s(""),
            name: s("default"),
            namespace: s("default"),
        }],
        role_ref: Some(rbac::RoleRef {
            api_group: s("rbac.authorization.k8s.io"),
            kind: s("ClusterRole"),
            name: s("view"),
        }),
    };
    assert_eq!(
        roundtrip("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &binding),
        json!({"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "x"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}})
    );
    // Go writes a nil `rules` (no omitempty) as null.
    let plain = rbac::Role { metadata: Some(named_meta("r", "default")), ..Default::default() };
    assert_eq!(
        roundtrip("rbac.authorization.k8s.io/v1", "Role", &plain),
        json!({"kind": "Role", "apiVersion": "rbac.authorization.k8s.io/v1",
               "metadata": {"name": "r", "namespace": "default"}, "rules": null})
    );
}

/// Every decoded kind's empty message is Go's zero value of its type: for a Pod, the zero
/// ObjectMeta, a PodSpec whose only non-omitempty field is `containers`, and the zero status.
#[test]
fn every_kind_decodes_its_zero_value() {
    for (api_version, kind) in generated::KINDS {
        let got = decode_to_json(&envelope(api_version, kind, Vec::new()))
            .unwrap_or_else(|e| panic!("{api_version} {kind}: {e}"));
        assert_eq!(got["kind"], *kind);
        assert_eq!(got["apiVersion"], *api_version);
    }
    let pod = decode_to_json(&envelope("v1", "Pod", Vec::new())).expect("decodes");
    assert_eq!(
        pod,
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {}, "spec": {"containers": null}, "status": {}})
    );
    let job = decode_to_json(&envelope("batch/v1", "Job", Vec::new())).expect("decodes");
    assert_eq!(job["spec"], json!({"template": {"metadata": {}, "spec": {"containers": null}}}));
    let delete = decode_to_json(&envelope("apps/v1", "DeleteOptions", Vec::new())).expect("decodes");
    assert_eq!(delete, json!({"kind": "DeleteOptions", "apiVersion": "apps/v1"}));
}

#[test]
fn errors_are_clear() {
    assert!(matches!(decode_to_json(b"{\"kind\":\"Pod\"}"), Err(ProtobufError::NotProtobuf)));
    assert!(!is_protobuf(b"{}"));
    let unknown = envelope("example.com/v1", "Widget", vec![]);
    let err = decode_to_json(&unknown).expect_err("widgets are not decoded");
    assert!(matches!(&err, ProtobufError::UnsupportedKind { kind, .. } if kind == "Widget"));
    assert_eq!(err.to_string(), "protobuf is not supported for kind `Widget` in `example.com/v1`, send JSON");
    let wrong_group = envelope("extensions/v1beta1", "Deployment", vec![]);
    assert!(matches!(decode_to_json(&wrong_group), Err(ProtobufError::UnsupportedKind { .. })));
    let mut gz = MAGIC.to_vec();
    gz.extend(
        Unknown {
            type_meta: Some(TypeMeta { api_version: s("v1"), kind: s("Secret") }),
            raw: Some(vec![]),
            content_encoding: s("gzip"),
            content_type: s(""),
        }
        .encode_to_vec(),
    );
    assert!(matches!(decode_to_json(&gz), Err(ProtobufError::ContentEncoding(e)) if e == "gzip"));
    assert!(matches!(decode_to_json(MAGIC), Err(ProtobufError::MissingKind)));
    let bad_raw = envelope("v1", "Secret", vec![0x0a, 0x05, 0x01]);
    assert!(matches!(decode_to_json(&bad_raw), Err(ProtobufError::Object { .. })));
    // A quantity Go's decoder refuses.
    let limits = core::LimitRange {
        metadata: Some(named_meta("l", "default")),
        spec: Some(core::LimitRangeSpec {
            limits: vec![core::LimitRangeItem {
                r#type: s("Container"),
                max: [(
                    "cpu".to_owned(),
                    k8s_pb::apimachinery::pkg::api::resource::Quantity { string: s("lots") },
                )]
                .into(),
                ..Default::default()
            }],
        }),
    };
    let err = decode_to_json(&envelope("v1", "LimitRange", limits.encode_to_vec())).expect_err("refused");
    assert!(matches!(err, ProtobufError::Json(_)), "{err}");
}

#[test]
fn random_and_truncated_bytes_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let valid = recorded_can_i_body();
    for cut in 0..=valid.len() {
        let _ = decode_to_json(&valid[..cut]);
    }
    for round in 0..6000 {
        let len = rng.random_range(0..96);
        let mut raw: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let (api_version, kind) = generated::KINDS[round % generated::KINDS.len()];
        let _ = decode_to_json(&envelope(api_version, kind, raw.clone()));
        raw.splice(0..0, MAGIC.iter().copied());
        let _ = decode_to_json(&raw);
        let mut flipped = valid.clone();
        let at = rng.random_range(4..flipped.len());
        flipped[at] ^= 1 << rng.random_range(0..8);
        let _ = decode_to_json(&flipped);
    }
}

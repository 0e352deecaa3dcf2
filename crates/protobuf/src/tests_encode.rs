//! Encoding tests. `testdata/answers/NAME.pb` is what kube-apiserver 1.34's protobuf serializer
//! writes for the object in `NAME.json` (Go's JSON of the same typed object), and `watch.pb` a
//! protobuf watch stream as its watch handler frames it; both were written by Go
//! (`testdata/answers/main.go.txt`, see its header). The encoder must write the same bytes, and
//! decoding them must give the JSON back.
//!
//! Two differences are known and harmless, and only they are allowed (the decoded objects are
//! then compared instead): prost leaves an empty value out of a map entry where gogo writes it
//! (every decoder reads the missing value as empty), and k8s-pb's messages are Kubernetes
//! 1.35's, so a field 1.35 added is written (a 1.34 client skips it).

use serde_json::{json, Value};

use super::*;

macro_rules! answer {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../testdata/answers/", $name, ".pb")).as_slice(),
            include_str!(concat!("../testdata/answers/", $name, ".json")),
        )
    };
}

const ANSWERS: &[(&str, &[u8], &str)] = &[
    answer!("clusterrole"),
    answer!("configmap"),
    answer!("crd"),
    answer!("cronjob"),
    answer!("csr"),
    answer!("ctb-v1alpha1"),
    answer!("ctb-v1beta1"),
    answer!("ctblist-v1beta1"),
    answer!("deployment"),
    answer!("deviceclass"),
    answer!("event"),
    answer!("hpa"),
    answer!("lease"),
    answer!("namespacelist"),
    answer!("node"),
    answer!("partialobjectmetadata"),
    answer!("partialobjectmetadata-v1beta1"),
    answer!("partialobjectmetadatalist"),
    answer!("partialobjectmetadatalist-v1beta1"),
    answer!("pod"),
    answer!("podlist"),
    answer!("resourceclaim"),
    answer!("resourceclaimtemplate"),
    answer!("resourceslice"),
    answer!("resourceslicelist"),
    answer!("secret"),
    answer!("service"),
    answer!("status"),
    answer!("status-notfound"),
];

fn answer_json(name: &str) -> Value {
    let (_, _, json) = ANSWERS.iter().find(|(n, _, _)| *n == name).expect("fixture exists");
    serde_json::from_str(json).expect("fixture is JSON")
}

/// The first byte where two encodings differ, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// Fixtures whose bytes differ from Go's for the reasons in the module docs.
const EMPTY_MAP_VALUES: &[&str] = &["configmap", "partialobjectmetadata", "secret"];
const FIELDS_OF_1_35: &[&str] = &["crd"];

/// Our encoding of `json` against Go's `pb`: the same bytes, or for the known exceptions the
/// same object.
fn check_bytes(name: &str, ours: &[u8], pb: &[u8]) {
    if ours == pb {
        assert!(!EMPTY_MAP_VALUES.contains(&name) && !FIELDS_OF_1_35.contains(&name), "{name} is exact now");
        return;
    }
    let why = format!(
        "{name}: {} bytes vs Go's {}, first difference at {}",
        ours.len(),
        pb.len(),
        first_difference(ours, pb)
    );
    if EMPTY_MAP_VALUES.contains(&name) {
        assert_eq!(decode_to_json(ours).expect("decodes"), decode_to_json(pb).expect("decodes"), "{why}");
        assert!(ours.len() < pb.len(), "{why}");
    } else if FIELDS_OF_1_35.contains(&name) {
        // The CRD's conditions and status gained `observedGeneration` (zero here) in 1.35.
        assert!(ours.len() > pb.len(), "{why}");
    } else {
        panic!("{why}");
    }
}

#[test]
fn answers_are_kubes_bytes() {
    for (name, pb, json) in ANSWERS {
        let value: Value = serde_json::from_str(json).expect("fixture is JSON");
        let (api_version, kind) = (value["apiVersion"].as_str().unwrap(), value["kind"].as_str().unwrap());
        assert!(encodes(api_version, kind), "{name}");
        let ours = encode_from_json(&value).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_bytes(name, &ours, pb);
    }
}

/// The JSON a protobuf body decodes to: a PartialObjectMetadataList's items lose the kind and
/// apiVersion kube's JSON gives them (its message has no place for them; Go's decoder leaves
/// them empty too).
fn as_decoded(mut json: Value) -> Value {
    if json["kind"] == "PartialObjectMetadataList" {
        for item in json["items"].as_array_mut().into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                item.shift_remove("kind");
                item.shift_remove("apiVersion");
            }
        }
    }
    json
}

#[test]
fn kubes_answers_decode_to_its_json() {
    for (name, pb, json) in ANSWERS {
        let want: Value = as_decoded(serde_json::from_str(json).expect("fixture is JSON"));
        let got = decode_to_json(pb).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The typed lists' items carry no kind in either form; Go's JSON writes what it decoded.
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn metadata_lists_keep_their_item_kinds_only_in_json() {
    let list = answer_json("partialobjectmetadatalist");
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata", "kube's JSON names each item's kind");
    let decoded = decode_to_json(&encode_from_json(&list).expect("encodes")).expect("decodes");
    assert_eq!(decoded["items"][0].get("kind"), None);
    assert_eq!(decoded["items"][0]["metadata"], list["items"][0]["metadata"]);
    assert_eq!(decoded, as_decoded(list));
}

#[test]
fn watch_frames_are_kubes_bytes() {
    let want = include_bytes!("../testdata/answers/watch.pb");
    let mut ours = watch_event_frame("ADDED", &answer_json("pod")).expect("encodes");
    ours.extend(watch_event_frame("ERROR", &answer_json("status-notfound")).expect("encodes"));
    assert!(ours == want, "first difference at {}", first_difference(&ours, want));

    // A frame is its length, then a WatchEvent whose object is the enveloped object.
    use k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent;
    let len = u32::from_be_bytes([ours[0], ours[1], ours[2], ours[3]]) as usize;
    let event = WatchEvent::decode(&ours[4..4 + len]).expect("a WatchEvent");
    assert_eq!(event.r#type.as_deref(), Some("ADDED"));
    let raw = event.object.and_then(|o| o.raw).expect("an object");
    assert_eq!(decode_to_json(&raw).expect("decodes"), answer_json("pod"));
}

#[test]
fn client_go_and_kubectl_bodies_encode_back_to_their_bytes() {
    let bodies: &[(&str, &[u8])] = &[
        ("crd", include_bytes!("../testdata/client-go/crd.pb")),
        ("flowschema", include_bytes!("../testdata/client-go/flowschema.pb")),
        ("plc", include_bytes!("../testdata/client-go/plc.pb")),
        ("cron", include_bytes!("../testdata/kubectl/cron.1.33.pb")),
        ("dep", include_bytes!("../testdata/kubectl/dep.1.33.pb")),
        ("dep0", include_bytes!("../testdata/kubectl/dep0.1.33.pb")),
        ("dep2", include_bytes!("../testdata/kubectl/dep2.1.33.pb")),
        ("job", include_bytes!("../testdata/kubectl/job.1.33.pb")),
        ("svc-cip", include_bytes!("../testdata/kubectl/svc-cip.1.33.pb")),
        ("svc-en", include_bytes!("../testdata/kubectl/svc-en.1.33.pb")),
        ("svc-headless", include_bytes!("../testdata/kubectl/svc-headless.1.33.pb")),
        ("svc-lb", include_bytes!("../testdata/kubectl/svc-lb.1.33.pb")),
        ("svc-multi", include_bytes!("../testdata/kubectl/svc-multi.1.33.pb")),
    ];
    for (name, pb) in bodies {
        let json = decode_to_json(pb).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = encode_from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_bytes(name, &ours, pb);
    }
}

#[test]
fn every_kind_round_trips_json_through_protobuf() {
    // The JSON of each kind's zero message (what the server would write for an empty object)
    // and a populated object's JSON come back unchanged.
    for (api_version, kind) in generated::ENCODED_KINDS {
        let zero = generated::encode_kind(api_version, kind, &json!({})).expect("encoded").expect("zero");
        let json = decode_to_json(&envelope(api_version, kind, zero)).expect("decodes");
        let again = decode_to_json(&encode_from_json(&json).expect("encodes")).expect("decodes");
        assert_eq!(again, json, "{api_version} {kind}");
    }
    for (name, _, json) in ANSWERS {
        let value: Value = serde_json::from_str(json).expect("fixture is JSON");
        let decoded = decode_to_json(&encode_from_json(&value).expect("encodes")).expect("decodes");
        assert_eq!(decoded, as_decoded(value), "{name}");
    }
}

#[test]
fn unknown_members_are_dropped_as_go_drops_them() {
    let v = json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "x", "bogus": 1, "creationTimestamp": null},
        "extra": {"deep": [1, 2]}, "data": {"a": "b"}});
    let back = decode_to_json(&encode_from_json(&v).expect("encodes")).expect("decodes");
    assert_eq!(
        back,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}, "data": {"a": "b"}})
    );
}

#[test]
fn values_keep_their_meaning() {
    let v = json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}});
    let back = decode_to_json(&encode_from_json(&v).expect("encodes")).expect("decodes");
    assert_eq!(back["spec"]["ports"][0]["targetPort"], json!("http"));
    assert_eq!(back["spec"]["ports"][1]["targetPort"], json!(8081));

    let v =
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}, "data": {"k": "AAEC/w=="}});
    let back = decode_to_json(&encode_from_json(&v).expect("encodes")).expect("decodes");
    assert_eq!(back["data"]["k"], json!("AAEC/w=="));
}

#[test]
fn what_has_no_protobuf_is_refused() {
    let widget = json!({"kind": "Widget", "apiVersion": "example.com/v1", "metadata": {"name": "w"}});
    assert!(!encodes("example.com/v1", "Widget"));
    assert!(matches!(encode_from_json(&widget), Err(ProtobufError::UnsupportedKind { .. })));
    assert!(matches!(encode_from_json(&json!({"apiVersion": "v1"})), Err(ProtobufError::MissingKind)));
    assert!(watch_event_frame("ADDED", &widget).is_err());
    for bad in [
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": "no"}),
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": 5}}),
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"creationTimestamp": "yesterday"}}),
        json!({"kind": "Secret", "apiVersion": "v1", "data": {"k": "not base64!"}}),
        json!({"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"replicas": 1.5}}),
    ] {
        assert!(matches!(encode_from_json(&bad), Err(ProtobufError::Encode(_))), "{bad}");
    }
    assert!(encodes("v1", "Status"));
    assert!(encodes("v1", "PodList"));
    assert!(encodes("certificates.k8s.io/v1beta1", "ClusterTrustBundle"));
    assert!(encodes("certificates.k8s.io/v1alpha1", "ClusterTrustBundleList"));
    for version in ["meta.k8s.io/v1", "meta.k8s.io/v1beta1"] {
        assert!(encodes(version, "PartialObjectMetadata") && encodes(version, "PartialObjectMetadataList"));
    }
    assert!(!encodes("meta.k8s.io/v1", "Table"));
}

#[test]
fn kubes_answers_truncated_or_flipped_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    for (_, pb, _) in ANSWERS {
        for cut in 0..=pb.len() {
            let _ = decode_to_json(&pb[..cut]);
        }
        for _ in 0..200 {
            let mut flipped = pb.to_vec();
            let at = rng.random_range(4..flipped.len());
            flipped[at] ^= 1 << rng.random_range(0..8);
            // What decodes must encode again (or be refused), never panic.
            if let Ok(json) = decode_to_json(&flipped) {
                let _ = encode_from_json(&json);
            }
        }
    }
}

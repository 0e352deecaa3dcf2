//! Tests against client-go's own encoding: `testdata/client-go/*.pb` are the bodies client-go
//! v0.34 (Kubernetes' e2e tests, kube-controller-manager) sends for a CustomResourceDefinition,
//! a FlowSchema and a PriorityLevelConfiguration, and `*.json` Go's `json.Marshal` of the same
//! objects; decoding the first must give the second. They were written by
//! `testdata/client-go/main.go.txt` (a Go program of ours: copy it to `main.go` in a module
//! requiring k8s.io/api, k8s.io/apimachinery and k8s.io/apiextensions-apiserver v0.34.12, with
//! reference/e2e/go.sum, and `go run .` there).

use serde_json::Value;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../testdata/client-go/", $name, ".pb")).as_slice(),
            include_str!(concat!("../testdata/client-go/", $name, ".json")),
        )
    };
}

const FIXTURES: [(&str, &[u8], &str); 3] = [fixture!("crd"), fixture!("flowschema"), fixture!("plc")];

#[test]
fn client_go_bodies_decode_to_gos_json() {
    for (name, pb, json) in FIXTURES {
        let want: Value = serde_json::from_str(json).unwrap();
        let got = decode_to_json(pb).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_crd_schema_keeps_its_json_values_and_either_or_fields() {
    let (_, pb, _) = FIXTURES[0];
    let crd = decode_to_json(pb).unwrap();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(schema["properties"]["size"]["default"], 3);
    assert_eq!(schema["properties"]["color"]["enum"], serde_json::json!(["red", "blue"]));
    assert_eq!(schema["properties"]["tags"]["items"]["type"], "string");
    assert_eq!(schema["properties"]["extra"]["additionalProperties"]["type"], "string");
    assert_eq!(crd["spec"]["versions"][0]["subresources"]["status"], serde_json::json!({}));
}

#[test]
fn a_deeply_nested_schema_is_refused_not_overflowed() {
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceDefinition, CustomResourceDefinitionSpec, CustomResourceDefinitionVersion,
        CustomResourceValidation, JsonSchemaProps, JsonSchemaPropsOrArray,
    };
    use prost::Message;
    // 300 levels of `items` (prost allows 100): the body is refused before any JSON is
    // built.
    let mut schema = JsonSchemaProps { r#type: Some("string".into()), ..Default::default() };
    for _ in 0..300 {
        schema = JsonSchemaProps {
            r#type: Some("array".into()),
            items: Some(Box::new(JsonSchemaPropsOrArray {
                schema: Some(Box::new(schema)),
                j_son_schemas: vec![],
            })),
            ..Default::default()
        };
    }
    let crd = CustomResourceDefinition {
        spec: Some(CustomResourceDefinitionSpec {
            versions: vec![CustomResourceDefinitionVersion {
                schema: Some(CustomResourceValidation { open_apiv3_schema: Some(schema) }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd.encode_to_vec());
    assert!(matches!(decode_to_json(&body), Err(ProtobufError::Object { .. })));
}

//! The `/openapi/v2` answer: a gnostic `openapi.v2.Document` in protobuf, the only form kubectl
//! asks for. It carries `swagger`, `info`, per served kind the item path's PATCH operation
//! with its `x-kubernetes-group-version-kind` extension and query parameters (so that kubectl
//! 1.27–1.28 see that the server supports `fieldValidation` and leave validation to it), and
//! the definitions of every served kind (`v2_schema`), which kubectl validates a kind without
//! a PATCH operation against.
//!
//! The messages below are hand-written prost structs holding only the fields used, with the
//! field numbers of gnostic's `openapiv2/OpenAPIv2.proto`.

use prost::Message;

/// `openapi.v2.Document`.
#[derive(Clone, PartialEq, Message)]
pub struct Document {
    #[prost(string, tag = "1")]
    pub swagger: String,
    #[prost(message, optional, tag = "2")]
    pub info: Option<Info>,
    #[prost(message, optional, tag = "8")]
    pub paths: Option<Paths>,
    #[prost(message, optional, tag = "9")]
    pub definitions: Option<crate::v2_schema::Definitions>,
    #[prost(message, repeated, tag = "12")]
    pub security: Vec<SecurityRequirement>,
    #[prost(message, optional, tag = "13")]
    pub security_definitions: Option<SecurityDefinitions>,
}

/// `openapi.v2.SecurityRequirement`: scheme names, each with its scopes.
#[derive(Clone, PartialEq, Message)]
pub struct SecurityRequirement {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedStringArray>,
}

/// `openapi.v2.NamedStringArray`.
#[derive(Clone, PartialEq, Message)]
pub struct NamedStringArray {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<StringArray>,
}

/// `openapi.v2.StringArray`.
#[derive(Clone, PartialEq, Message)]
pub struct StringArray {
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

/// `openapi.v2.SecurityDefinitions`: the schemes by name.
#[derive(Clone, PartialEq, Message)]
pub struct SecurityDefinitions {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSecurityDefinitionsItem>,
}

/// `openapi.v2.NamedSecurityDefinitionsItem`.
#[derive(Clone, PartialEq, Message)]
pub struct NamedSecurityDefinitionsItem {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<SecurityDefinitionsItem>,
}

/// `openapi.v2.SecurityDefinitionsItem`, a `oneof` of which only the API-key form (field 2)
/// is used: an optional field encodes the same.
#[derive(Clone, PartialEq, Message)]
pub struct SecurityDefinitionsItem {
    #[prost(message, optional, tag = "2")]
    pub api_key_security: Option<ApiKeySecurity>,
}

/// `openapi.v2.ApiKeySecurity`: `type`, `name`, `in`, `description`.
#[derive(Clone, PartialEq, Message)]
pub struct ApiKeySecurity {
    #[prost(string, tag = "1")]
    pub kind: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub location: String,
    #[prost(string, tag = "4")]
    pub description: String,
}

/// `openapi.v2.Info`.
#[derive(Clone, PartialEq, Message)]
pub struct Info {
    #[prost(string, tag = "1")]
    pub title: String,
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `openapi.v2.Paths`.
#[derive(Clone, PartialEq, Message)]
pub struct Paths {
    #[prost(message, repeated, tag = "2")]
    pub path: Vec<NamedPathItem>,
}

/// `openapi.v2.NamedPathItem`.
#[derive(Clone, PartialEq, Message)]
pub struct NamedPathItem {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<PathItem>,
}

/// `openapi.v2.PathItem` (only `patch`).
#[derive(Clone, PartialEq, Message)]
pub struct PathItem {
    #[prost(message, optional, tag = "8")]
    pub patch: Option<Operation>,
}

/// `openapi.v2.Operation`.
#[derive(Clone, PartialEq, Message)]
pub struct Operation {
    #[prost(string, repeated, tag = "1")]
    pub tags: Vec<String>,
    #[prost(string, tag = "3")]
    pub description: String,
    #[prost(string, tag = "5")]
    pub operation_id: String,
    #[prost(string, repeated, tag = "6")]
    pub produces: Vec<String>,
    #[prost(string, repeated, tag = "7")]
    pub consumes: Vec<String>,
    #[prost(message, repeated, tag = "8")]
    pub parameters: Vec<ParametersItem>,
    #[prost(message, repeated, tag = "13")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `openapi.v2.ParametersItem` (oneof, `parameter` arm).
#[derive(Clone, PartialEq, Message)]
pub struct ParametersItem {
    #[prost(message, optional, tag = "1")]
    pub parameter: Option<Parameter>,
}

/// `openapi.v2.Parameter` (oneof, `non_body_parameter` arm).
#[derive(Clone, PartialEq, Message)]
pub struct Parameter {
    #[prost(message, optional, tag = "2")]
    pub non_body_parameter: Option<NonBodyParameter>,
}

/// `openapi.v2.NonBodyParameter` (oneof, `query_parameter_sub_schema` arm).
#[derive(Clone, PartialEq, Message)]
pub struct NonBodyParameter {
    #[prost(message, optional, tag = "3")]
    pub query_parameter_sub_schema: Option<QueryParameterSubSchema>,
}

/// `openapi.v2.QueryParameterSubSchema`.
#[derive(Clone, PartialEq, Message)]
pub struct QueryParameterSubSchema {
    #[prost(bool, tag = "1")]
    pub required: bool,
    #[prost(string, tag = "2")]
    pub r#in: String,
    #[prost(string, tag = "3")]
    pub description: String,
    #[prost(string, tag = "4")]
    pub name: String,
    #[prost(string, tag = "6")]
    pub r#type: String,
    #[prost(bool, tag = "20")]
    pub unique_items: bool,
}

/// `openapi.v2.NamedAny`.
#[derive(Clone, PartialEq, Message)]
pub struct NamedAny {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Any>,
}

/// `openapi.v2.Any` (the `yaml` form).
#[derive(Clone, PartialEq, Message)]
pub struct Any {
    #[prost(string, tag = "2")]
    pub yaml: String,
}

/// One PATCH operation of the v2 document.
#[derive(Clone)]
pub(crate) struct PatchPath {
    pub(crate) path: String,
    pub(crate) operation_id: String,
    pub(crate) tag: String,
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    /// Whether the operation lists `fieldValidation` (see [`crate::v2_patch_paths`]).
    pub(crate) field_validation: bool,
}

fn extension(name: &str, yaml: String) -> NamedAny {
    NamedAny { name: name.into(), value: Some(Any { yaml }) }
}

/// A YAML scalar for a string: quoted when empty, bare otherwise (Kubernetes names need no quoting).
fn yaml_str(s: &str) -> String {
    if s.is_empty() {
        "\"\"".into()
    } else {
        s.into()
    }
}

fn query(name: &str, ty: &str, description: &str) -> ParametersItem {
    ParametersItem {
        parameter: Some(Parameter {
            non_body_parameter: Some(NonBodyParameter {
                query_parameter_sub_schema: Some(QueryParameterSubSchema {
                    required: false,
                    r#in: "query".into(),
                    description: description.into(),
                    name: name.into(),
                    r#type: ty.into(),
                    unique_items: true,
                }),
            }),
        }),
    }
}

/// Builds the document from the PATCH operations and the definitions of the served kinds.
pub(crate) fn document(
    patches: &[PatchPath],
    version: &str,
    definitions: Option<crate::v2_schema::Definitions>,
) -> Document {
    let path = patches
        .iter()
        .map(|p| {
            let gvk = format!(
                "group: {}\nkind: {}\nversion: {}\n",
                yaml_str(&p.group),
                yaml_str(&p.kind),
                yaml_str(&p.version)
            );
            let operation = Operation {
                tags: vec![p.tag.clone()],
                description: format!("partially update the specified {}", p.kind),
                operation_id: p.operation_id.clone(),
                produces: vec![
                    "application/json".into(),
                    "application/yaml".into(),
                    "application/vnd.kubernetes.protobuf".into(),
                ],
                consumes: crate::paths::PATCH_CONTENT_TYPES.iter().map(|s| (*s).to_owned()).collect(),
                parameters: [
                    Some(query("dryRun", "string", "When present, indicates that modifications should not be persisted.")),
                    Some(query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes.")),
                    p.field_validation.then(|| query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields.")),
                    Some(query("force", "boolean", "Force is going to \"force\" Apply requests.")),
                ]
                .into_iter()
                .flatten()
                .collect(),
                vendor_extension: vec![
                    extension("x-kubernetes-action", "patch\n".into()),
                    extension("x-kubernetes-group-version-kind", gvk),
                ],
            };
            NamedPathItem { name: p.path.clone(), value: Some(PathItem { patch: Some(operation) }) }
        })
        .collect();
    Document {
        swagger: "2.0".into(),
        info: Some(Info { title: "Kubernetes".into(), version: version.into() }),
        paths: Some(Paths { path }),
        definitions,
        // kube's one scheme, a bearer token, required by every operation.
        security: vec![SecurityRequirement {
            additional_properties: vec![NamedStringArray {
                name: "BearerToken".into(),
                value: Some(StringArray::default()),
            }],
        }],
        security_definitions: Some(SecurityDefinitions {
            additional_properties: vec![NamedSecurityDefinitionsItem {
                name: "BearerToken".into(),
                value: Some(SecurityDefinitionsItem {
                    api_key_security: Some(ApiKeySecurity {
                        kind: "apiKey".into(),
                        name: "authorization".into(),
                        location: "header".into(),
                        description: "Bearer Token authentication".into(),
                    }),
                }),
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_document_bytes_are_exact() {
        let doc = document(&[], "v1.34.0", None);
        let bytes = doc.encode_to_vec();
        // field 1 "2.0", field 2 Info{1 "Kubernetes", 2 "v1.34.0"}, field 8 empty Paths.
        let mut want = vec![0x0a, 3];
        want.extend_from_slice(b"2.0");
        want.extend_from_slice(&[0x12, 21, 0x0a, 10]);
        want.extend_from_slice(b"Kubernetes");
        want.extend_from_slice(&[0x12, 7]);
        want.extend_from_slice(b"v1.34.0");
        want.extend_from_slice(&[0x42, 0]);
        // field 12 SecurityRequirement{1 NamedStringArray{1 "BearerToken", 2 empty StringArray}}
        want.extend_from_slice(&[0x62, 17, 0x0a, 15, 0x0a, 11]);
        want.extend_from_slice(b"BearerToken");
        want.extend_from_slice(&[0x12, 0]);
        // field 13 SecurityDefinitions{1 {1 "BearerToken", 2 {2 ApiKeySecurity{...}}}}
        want.extend_from_slice(&[0x6a, 79, 0x0a, 77, 0x0a, 11]);
        want.extend_from_slice(b"BearerToken");
        want.extend_from_slice(&[0x12, 62, 0x12, 60, 0x0a, 6]);
        want.extend_from_slice(b"apiKey");
        want.extend_from_slice(&[0x12, 13]);
        want.extend_from_slice(b"authorization");
        want.extend_from_slice(&[0x1a, 6]);
        want.extend_from_slice(b"header");
        want.extend_from_slice(&[0x22, 27]);
        want.extend_from_slice(b"Bearer Token authentication");
        assert_eq!(bytes, want);
    }

    #[test]
    fn core_group_is_quoted_in_gvk_yaml() {
        let doc = document(
            &[PatchPath {
                path: "/api/v1/namespaces/{namespace}/pods/{name}".into(),
                operation_id: "patchCoreV1NamespacedPod".into(),
                tag: "core_v1".into(),
                group: String::new(),
                version: "v1".into(),
                kind: "Pod".into(),
                field_validation: true,
            }],
            "v1.34.0",
            None,
        );
        let op = doc.paths.as_ref().and_then(|p| p.path[0].value.as_ref()).and_then(|v| v.patch.as_ref());
        let yaml = op.map(|o| o.vendor_extension[1].value.clone().unwrap_or_default().yaml);
        assert_eq!(yaml.as_deref(), Some("group: \"\"\nkind: Pod\nversion: v1\n"));
    }
}

//! The OpenAPI documents kube-apiserver serves, generated once from the list of served resources.
//!
//! - `/openapi/v3`: an index `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<HEX>"}}}`
//!   ([`OpenApi::v3_index`]);
//! - `/openapi/v3/<gv>`: one JSON OpenAPI 3.0 document per group-version ([`OpenApi::v3_document`]),
//!   with schemas from `k8s-openapi` (descriptions kept, so `kubectl explain` prints real docs);
//! - `/openapi/v2`: a gnostic protobuf document ([`OpenApi::v2_protobuf`]) with the PATCH
//!   operations and the definitions of every served kind, and the same in JSON
//!   ([`OpenApi::v2_json`]) for clients that do not ask for protobuf.
//!
//! Modules: `kinds` maps kinds to `k8s-openapi` types, `schema` reshapes their schemas as kube
//! does, `paths` writes the operations, `v2` encodes the protobuf document and `v2_schema` its
//! definitions, `v2_json` writes the JSON document.

mod kinds;
mod paths;
mod schema;
pub mod v2;
mod v2_json;
mod v2_schema;

use std::collections::BTreeMap;

use bytes::Bytes;
use prost::Message;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

use crate::schema::SchemaCatalog;

/// The Kubernetes version written into `info.version`, in kube's form: the binary version's
/// major.minor (kube's `strings.Split(version.String(), "-")[0]`), here of the version
/// kubeward's `/version` claims (v1.33.0).
pub const KUBERNETES_VERSION: &str = "1.33";

/// The Content-Type of the `/openapi/v2` answer. kubectl asks with the `@` form
/// (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) but fails to parse it back:
/// the answer must use this dotted form.
pub const V2_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The Content-Type of the v3 index and documents.
pub const V3_CONTENT_TYPE: &str = "application/json";

/// One served resource, as the server's catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// API group, `""` for the core group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Pod`.
    pub kind: String,
    /// Resource (plural) name, e.g. `pods`.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Verbs: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verbs: Vec<String>,
    /// Subresources, e.g. `status`, `token`, `log`, `scale`.
    pub subresources: Vec<String>,
    /// A custom resource's published schemas (from its CustomResourceDefinition), used in
    /// place of `k8s-openapi` types.
    pub custom: Option<CustomSchemas>,
}

/// The definitions of a custom resource's kind and list, as kube publishes them: `(model
/// name, schema)` pairs, kind first, in OpenAPI v3 form and in kube's v2 conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSchemas {
    pub v3: Vec<(String, Value)>,
    pub v2: Vec<(String, Value)>,
}

impl ResourceSpec {
    /// Convenience constructor from borrowed parts.
    pub fn new(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        verbs: &[&str],
        subresources: &[&str],
    ) -> Self {
        ResourceSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            subresources: subresources.iter().map(|s| (*s).to_owned()).collect(),
            custom: None,
        }
    }

    /// `api/v1` or `apis/<group>/<version>`: the key of this resource's document.
    pub fn gv_path(&self) -> String {
        gv_path(&self.group, &self.version)
    }
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A served v3 document: its bytes and hash.
#[derive(Debug, Clone)]
struct Document {
    bytes: Bytes,
    hash: String,
}

/// All OpenAPI documents, computed at construction; serving them is a clone of [`Bytes`].
#[derive(Debug, Clone)]
pub struct OpenApi {
    index: Bytes,
    documents: BTreeMap<String, Document>,
    v2: Bytes,
    v2_json: Bytes,
    /// Hashes of `v2` and `v2_json`, computed once (they are megabytes).
    v2_hash: String,
    v2_json_hash: String,
}

/// The documents of the built-in resources, built once: rebuilding the documents when custom
/// resources change ([`OpenApi::with_custom`]) reuses them and only builds the custom ones.
pub struct OpenApiBase {
    catalog: SchemaCatalog,
    documents: BTreeMap<String, Document>,
    v2_patches: Vec<v2::PatchPath>,
    v2_definitions: Vec<v2_schema::NamedSchema>,
    /// The same definitions before their protobuf encoding, for the JSON document.
    v2_json_definitions: Map<String, Value>,
    /// The index's documents of ServiceAccount issuer discovery, listed only when served.
    issuer_documents: BTreeMap<String, Document>,
    issuer_discovery: bool,
}

impl OpenApiBase {
    /// Builds the documents of `resources` (the built-in ones).
    pub fn new(resources: &[ResourceSpec]) -> Self {
        let catalog = SchemaCatalog::build(resources);
        let mut documents = documents(resources, &catalog);
        documents.extend(nonresource_documents(resources, &catalog));
        let issuer_documents = paths::issuer_discovery_paths()
            .into_iter()
            .map(|(name, p)| (name.to_string(), document(p, &catalog, false)))
            .collect();
        let v2_patches = v2_patch_paths(resources, &catalog);
        let mut v2_defs = catalog.definitions().clone();
        v2_defs.extend(catalog.v2_overrides().clone());
        let v2_definitions = v2_schema::definitions(&v2_defs).additional_properties;
        OpenApiBase {
            catalog,
            documents,
            v2_patches,
            v2_definitions,
            v2_json_definitions: v2_defs,
            issuer_documents,
            issuer_discovery: false,
        }
    }

    /// Lists ServiceAccount issuer discovery's two documents (`.well-known/openid-configuration`,
    /// `openid/v1/jwks`) in the index, as kube does when it serves those paths.
    pub fn with_issuer_discovery(mut self, served: bool) -> Self {
        self.issuer_discovery = served;
        self
    }
}

/// kube's documents of the non-resource paths: `version`, `api`, `apis` and `apis/<group>`
/// of every group with a served version.
fn nonresource_documents(resources: &[ResourceSpec], catalog: &SchemaCatalog) -> BTreeMap<String, Document> {
    let mut out = BTreeMap::new();
    out.insert("version".to_string(), document(paths::version_paths(), catalog, false));
    for (name, p) in paths::roots_paths() {
        out.insert(name.to_string(), document(p, catalog, false));
    }
    let groups: std::collections::BTreeSet<&str> =
        resources.iter().map(|s| s.group.as_str()).filter(|g| !g.is_empty()).collect();
    for group in groups {
        out.insert(format!("apis/{group}"), document(paths::group_path(group), catalog, false));
    }
    out
}

/// A document of `paths` with the schemas they reach (no `schemas` when none), keys sorted.
/// kube's group-version documents carry a top-level `security`; its non-resource ones do not.
fn document(paths: Map<String, Value>, catalog: &SchemaCatalog, security: bool) -> Document {
    let paths = Value::Object(paths);
    let schemas = catalog.closure(std::iter::empty(), &paths);
    let mut components = json!({
        "securitySchemes": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "in": "header",
                "name": "authorization",
                "type": "apiKey",
            }
        }
    });
    if !schemas.is_empty() {
        components["schemas"] = Value::Object(schemas);
    }
    let mut doc = json!({
        "components": components,
        "info": { "title": "Kubernetes", "version": KUBERNETES_VERSION },
        "openapi": "3.0.0",
        "paths": paths,
    });
    if security {
        doc["security"] = json!([{ "BearerToken": [] }]);
    }
    sort_keys(&mut doc);
    let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    let hash = hash_hex(&bytes);
    Document { bytes, hash }
}

/// The v3 document of every group-version of `resources`.
fn documents(resources: &[ResourceSpec], catalog: &SchemaCatalog) -> BTreeMap<String, Document> {
    let mut by_gv: BTreeMap<String, Vec<&ResourceSpec>> = BTreeMap::new();
    for spec in resources {
        by_gv.entry(spec.gv_path()).or_default().push(spec);
    }
    let mut documents = BTreeMap::new();
    for (gv, specs) in &by_gv {
        let Some(first) = specs.first() else { continue };
        documents.insert(gv.clone(), group_version_document(&first.group, &first.version, specs, catalog));
    }
    documents
}

fn index(documents: &BTreeMap<String, Document>) -> Bytes {
    let mut index_paths = Map::new();
    for (gv, d) in documents {
        index_paths
            .insert(gv.clone(), json!({ "serverRelativeURL": format!("/openapi/v3/{gv}?hash={}", d.hash) }));
    }
    Bytes::from(serde_json::to_vec(&json!({ "paths": index_paths })).unwrap_or_default())
}

impl OpenApi {
    /// Builds every document for `resources`. Kinds without a known schema get no paths.
    pub fn new(resources: &[ResourceSpec]) -> Self {
        Self::with_custom(&OpenApiBase::new(resources), &[])
    }

    /// The documents of the base's built-in resources and of `custom` resources (those
    /// with [`ResourceSpec::custom`] schemas), building only the custom ones.
    pub fn with_custom(base: &OpenApiBase, custom: &[ResourceSpec]) -> Self {
        let mut documents = base.documents.clone();
        if base.issuer_discovery {
            documents.extend(base.issuer_documents.clone());
        }
        let mut patches = base.v2_patches.clone();
        let mut definitions = base.v2_definitions.clone();
        let mut json_definitions = base.v2_json_definitions.clone();
        if !custom.is_empty() {
            let catalog = base.catalog.with_custom(custom);
            documents.extend(self::documents(custom, &catalog));
            patches.extend(v2_patch_paths(custom, &catalog));
            let mut custom_defs = Map::new();
            for spec in custom {
                for (name, _) in spec.custom.iter().flat_map(|c| c.v3.iter()) {
                    if let Some(d) = catalog.definitions().get(name) {
                        custom_defs.insert(name.clone(), d.clone());
                    }
                }
            }
            custom_defs.extend(catalog.v2_overrides().clone());
            let added = v2_schema::definitions(&custom_defs).additional_properties;
            definitions.retain(|d| !custom_defs.contains_key(&d.name));
            definitions.extend(added);
            definitions.sort_by(|a, b| a.name.cmp(&b.name));
            json_definitions.extend(custom_defs);
        }
        let v2_json = v2_json::document(&patches, KUBERNETES_VERSION, &json_definitions);
        let v2_json = Bytes::from(serde_json::to_vec(&v2_json).unwrap_or_default());
        let index = index(&documents);
        let definitions = v2_schema::Definitions { additional_properties: definitions };
        let v2 = Bytes::from(v2::document(&patches, KUBERNETES_VERSION, Some(definitions)).encode_to_vec());
        let (v2_hash, v2_json_hash) = (hash_hex(&v2), hash_hex(&v2_json));
        OpenApi { index, documents, v2, v2_json, v2_hash, v2_json_hash }
    }

    /// The `/openapi/v3` index.
    pub fn v3_index(&self) -> Bytes {
        self.index.clone()
    }

    /// The document of one group-version (`api/v1`, `apis/apps/v1`) and its hash, which is also
    /// its ETag (send it quoted: `ETag: "<hash>"`).
    pub fn v3_document(&self, gv_path: &str) -> Option<(Bytes, String)> {
        let gv_path = gv_path.trim_matches('/');
        self.documents.get(gv_path).map(|d| (d.bytes.clone(), d.hash.clone()))
    }

    /// The group-version paths that have a document.
    pub fn v3_group_versions(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().map(String::as_str)
    }

    /// The `/openapi/v2` answer, a gnostic `openapi.v2.Document` in protobuf; serve it with
    /// [`V2_CONTENT_TYPE`].
    pub fn v2_protobuf(&self) -> Bytes {
        self.v2.clone()
    }

    /// The hash (and ETag) of the v2 document.
    pub fn v2_hash(&self) -> String {
        self.v2_hash.clone()
    }

    /// The `/openapi/v2` answer in JSON (what kube serves unless the client asks for
    /// protobuf); serve it as `application/json`.
    pub fn v2_json(&self) -> Bytes {
        self.v2_json.clone()
    }

    /// The hash (and ETag) of the JSON v2 document.
    pub fn v2_json_hash(&self) -> String {
        self.v2_json_hash.clone()
    }
}

/// Upper-case hex SHA-512, as kube-openapi computes document hashes and ETags.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex::encode_upper(Sha512::digest(bytes))
}

/// The document of one group-version: its APIResourceList operation and its resources'.
fn group_version_document(
    group: &str,
    version: &str,
    specs: &[&ResourceSpec],
    catalog: &SchemaCatalog,
) -> Document {
    let mut paths = Map::new();
    paths::add_resource_list_path(&mut paths, group, version);
    for spec in specs {
        paths::add_resource_paths(&mut paths, spec, catalog);
    }
    document(paths, catalog, true)
}

/// Sorts object keys recursively, as Go's encoder writes maps, so documents are stable.
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The PATCH operations of the v2 document. The Namespace one does not list
/// `fieldValidation`: kubectl's legacy (v2) verifier, which kubectl 1.27+ falls back to for a
/// kind without a PATCH operation (SubjectAccessReview, TokenReview, ...), lists the CRDs
/// when Namespaces take the parameter, to find out whether the kind is one; kubeward serves
/// no CRDs, and that failed lookup refused the request. Without it kubectl validates such a
/// kind against the v2 definitions, as it does against kube-apiserver once it finds no CRD.
/// Every other kind is found in v3 first, where its PATCH operation lists the parameter.
fn v2_patch_paths(resources: &[ResourceSpec], catalog: &SchemaCatalog) -> Vec<v2::PatchPath> {
    let mut out = Vec::new();
    for spec in resources {
        if !spec.verbs.iter().any(|v| v == "patch") {
            continue;
        }
        if catalog.kind_name(&spec.group, &spec.version, &spec.kind).is_none() {
            continue;
        }
        let mut paths = Map::new();
        paths::add_resource_paths(&mut paths, spec, catalog);
        for (path, item) in paths {
            let Some(op) = item.get("patch") else { continue };
            if path.ends_with("/status") || path.ends_with("/scale") {
                continue;
            }
            out.push(v2::PatchPath {
                path,
                operation_id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                tag: op["tags"][0].as_str().unwrap_or_default().to_owned(),
                group: spec.group.clone(),
                version: spec.version.clone(),
                kind: spec.kind.clone(),
                field_validation: !(spec.group.is_empty() && spec.kind == "Namespace"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;

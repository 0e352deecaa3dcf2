//! Whole-document tests over the catalog kubeward serves.

use prost::Message;
use serde_json::{json, Value};

use super::*;

const RW: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

fn served() -> Vec<ResourceSpec> {
    let mut out = Vec::new();
    for (kind, plural, namespaced, subs) in [
        ("Namespace", "namespaces", false, &["status"][..]),
        ("ConfigMap", "configmaps", true, &[][..]),
        ("Secret", "secrets", true, &[][..]),
        ("ServiceAccount", "serviceaccounts", true, &["token"][..]),
        ("Pod", "pods", true, &["status", "log"][..]),
        ("Service", "services", true, &["status"][..]),
        ("Endpoints", "endpoints", true, &[][..]),
        ("Event", "events", true, &[][..]),
        ("Node", "nodes", false, &["status"][..]),
    ] {
        out.push(ResourceSpec::new("", "v1", kind, plural, namespaced, RW, subs));
    }
    out.push(ResourceSpec::new("apps", "v1", "Deployment", "deployments", true, RW, &["status", "scale"]));
    let rbac = "rbac.authorization.k8s.io";
    out.push(ResourceSpec::new(rbac, "v1", "Role", "roles", true, RW, &[]));
    out.push(ResourceSpec::new(rbac, "v1", "ClusterRole", "clusterroles", false, RW, &[]));
    out.push(ResourceSpec::new(rbac, "v1", "RoleBinding", "rolebindings", true, RW, &[]));
    out.push(ResourceSpec::new(rbac, "v1", "ClusterRoleBinding", "clusterrolebindings", false, RW, &[]));
    out.push(ResourceSpec::new("coordination.k8s.io", "v1", "Lease", "leases", true, RW, &[]));
    let authn = "authentication.k8s.io";
    out.push(ResourceSpec::new(authn, "v1", "TokenReview", "tokenreviews", false, &["create"], &[]));
    out.push(ResourceSpec::new(
        authn,
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
        &["create"],
        &[],
    ));
    out.push(ResourceSpec::new(
        authn,
        "v1beta1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
        &["create"],
        &[],
    ));
    let authz = "authorization.k8s.io";
    for (kind, plural, namespaced) in [
        ("SubjectAccessReview", "subjectaccessreviews", false),
        ("SelfSubjectAccessReview", "selfsubjectaccessreviews", false),
        ("LocalSubjectAccessReview", "localsubjectaccessreviews", true),
        ("SelfSubjectRulesReview", "selfsubjectrulesreviews", false),
    ] {
        out.push(ResourceSpec::new(authz, "v1", kind, plural, namespaced, &["create"], &[]));
    }
    out
}

fn doc(api: &OpenApi, gv: &str) -> Value {
    let (bytes, hash) = api.v3_document(gv).unwrap_or_else(|| panic!("no document for {gv}"));
    assert_eq!(hash, hash_hex(&bytes));
    serde_json::from_slice(&bytes).expect("document is JSON")
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn pod_schema_has_gvk_and_real_descriptions() {
    let api = OpenApi::new(&served());
    let core = doc(&api, "api/v1");
    let pod = &core["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
    assert_eq!(pod["x-kubernetes-group-version-kind"][0]["group"], "");
    assert!(pod["description"].as_str().is_some_and(|d| d.contains("collection of containers")));
    assert_eq!(
        pod["properties"]["spec"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.PodSpec"
    );
    assert_eq!(core["openapi"], "3.0.0");
}

/// kube lists `metadata` as required only in core/v1 Event (k8s-openapi does in every kind,
/// Status and more).
#[test]
fn metadata_is_required_only_in_core_events() {
    let api = OpenApi::new(&served());
    let core = doc(&api, "api/v1");
    let schemas = core["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.Status"));
    for (name, schema) in schemas {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        let event = name == "io.k8s.api.core.v1.Event";
        assert_eq!(required.contains(&Value::from("metadata")), event, "{name}: {required:?}");
    }
}

#[test]
fn every_reference_resolves_in_its_document() {
    let api = OpenApi::new(&served());
    for gv in api.v3_group_versions().map(str::to_owned).collect::<Vec<_>>() {
        let d = doc(&api, &gv);
        let mut all = Vec::new();
        refs(&d, &mut all);
        assert!(!all.is_empty(), "{gv} has no references");
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("bad ref {r}"));
            assert!(d["components"]["schemas"].get(name).is_some(), "{gv}: {r} does not resolve");
        }
    }
}

#[test]
fn patch_operations_declare_field_validation_and_gvk() {
    let api = OpenApi::new(&served());
    let core = doc(&api, "api/v1");
    let patch = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        serde_json::json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    let names: Vec<&str> =
        patch["parameters"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"fieldValidation"), "{names:?}");
    let body = &patch["requestBody"]["content"];
    for ct in [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ] {
        assert!(body.get(ct).is_some(), "missing {ct}");
    }
    let apps = doc(&api, "apis/apps/v1");
    let dp = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(dp["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    assert!(apps["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"]
        .is_object());
}

#[test]
fn every_operation_is_tagged_with_action_and_gvk() {
    let api = OpenApi::new(&served());
    let rbac = doc(&api, "apis/rbac.authorization.k8s.io/v1");
    let mut seen = 0;
    for (path, item) in rbac["paths"].as_object().into_iter().flatten() {
        if path.ends_with("/v1/") {
            continue;
        }
        for method in ["get", "put", "post", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                assert!(op["x-kubernetes-action"].is_string(), "{path} {method}");
                assert!(op["x-kubernetes-group-version-kind"]["kind"].is_string(), "{path} {method}");
                seen += 1;
            }
        }
    }
    assert!(seen > 20);
    let list = &rbac["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["get"];
    assert_eq!(list["x-kubernetes-action"], "list");
    let dc = &rbac["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["delete"];
    assert_eq!(dc["x-kubernetes-action"], "deletecollection");
}

#[test]
fn create_only_kinds_have_post_only() {
    let api = OpenApi::new(&served());
    let authz = doc(&api, "apis/authorization.k8s.io/v1");
    let ssar = &authz["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"];
    assert_eq!(ssar["post"]["x-kubernetes-group-version-kind"]["kind"], "SelfSubjectAccessReview");
    assert!(ssar.get("get").is_none());
    let lsar =
        &authz["paths"]["/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews"];
    assert_eq!(lsar["post"]["operationId"], "createAuthorizationV1NamespacedLocalSubjectAccessReview");
    let beta = doc(&api, "apis/authentication.k8s.io/v1beta1");
    let ssr = &beta["components"]["schemas"]["io.k8s.api.authentication.v1beta1.SelfSubjectReview"];
    assert_eq!(ssr["x-kubernetes-group-version-kind"][0]["version"], "v1beta1");
}

#[test]
fn index_urls_round_trip_to_documents() {
    let api = OpenApi::new(&served());
    let index: Value = serde_json::from_slice(&api.v3_index()).expect("index is JSON");
    let paths = index["paths"].as_object().expect("paths");
    for gv in [
        "api/v1",
        "apis/apps/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/coordination.k8s.io/v1",
        "apis/authentication.k8s.io/v1",
        "apis/authentication.k8s.io/v1beta1",
        "apis/authorization.k8s.io/v1",
    ] {
        assert!(paths.contains_key(gv), "index lacks {gv}");
    }
    for (gv, entry) in paths {
        let url = entry["serverRelativeURL"].as_str().expect("url");
        let (path, hash) = url.split_once("?hash=").expect("hash query");
        let requested = path.strip_prefix("/openapi/v3/").expect("prefix");
        assert_eq!(requested, gv);
        let (bytes, doc_hash) = api.v3_document(requested).expect("document");
        assert_eq!(hash, doc_hash);
        assert_eq!(hash.len(), 128);
        assert!(hash.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(hash_hex(&bytes), hash);
    }
    assert!(api.v3_document("apis/example.com/v1").is_none());
}

#[test]
fn documents_are_deterministic() {
    let a = OpenApi::new(&served());
    let b = OpenApi::new(&served());
    assert_eq!(a.v3_index(), b.v3_index());
    assert_eq!(a.v2_protobuf(), b.v2_protobuf());
}

#[test]
fn v2_decodes_back_with_patch_parameters() {
    let api = OpenApi::new(&served());
    let doc = v2::Document::decode(api.v2_protobuf()).expect("v2 decodes");
    assert_eq!(doc.swagger, "2.0");
    assert_eq!(doc.info.as_ref().map(|i| i.title.as_str()), Some("Kubernetes"));
    let paths = doc.paths.expect("paths").path;
    let pod = paths
        .iter()
        .find(|p| p.name == "/api/v1/namespaces/{namespace}/pods/{name}")
        .and_then(|p| p.value.as_ref())
        .and_then(|v| v.patch.as_ref())
        .expect("pod patch");
    let has_field_validation = pod.parameters.iter().any(|p| {
        p.parameter
            .as_ref()
            .and_then(|p| p.non_body_parameter.as_ref())
            .and_then(|n| n.query_parameter_sub_schema.as_ref())
            .is_some_and(|q| q.name == "fieldValidation")
    });
    assert!(has_field_validation);
    assert!(pod.vendor_extension.iter().any(|e| e.name == "x-kubernetes-group-version-kind"
        && e.value.as_ref().is_some_and(|v| v.yaml.contains("kind: Pod"))));
    assert!(paths.iter().all(|p| !p.name.ends_with("/status")));
}

#[test]
fn v2_carries_every_served_definition_with_its_gvk() {
    let mut specs = served();
    specs.push(ResourceSpec::new("apps", "v1", "DaemonSet", "daemonsets", true, RW, &["status"]));
    specs.push(ResourceSpec::new("batch", "v1", "CronJob", "cronjobs", true, RW, &["status"]));
    specs.push(ResourceSpec::new(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
        RW,
        &["status"],
    ));
    let api = OpenApi::new(&specs);
    let doc = v2::Document::decode(api.v2_protobuf()).expect("v2 decodes");
    let defs = doc.definitions.expect("definitions").additional_properties;
    let find = |name: &str| defs.iter().find(|d| d.name == name).and_then(|d| d.value.as_deref());
    for (name, kind) in [
        ("io.k8s.api.authorization.v1.SubjectAccessReview", "SubjectAccessReview"),
        ("io.k8s.api.apps.v1.DaemonSet", "DaemonSet"),
        ("io.k8s.api.batch.v1.CronJobList", "CronJobList"),
        ("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService", "APIService"),
    ] {
        let schema = find(name).unwrap_or_else(|| panic!("{name} missing"));
        let gvk = schema.vendor_extension.iter().find(|e| e.name == "x-kubernetes-group-version-kind");
        assert!(gvk.and_then(|e| e.value.as_ref()).is_some_and(|v| v.yaml.contains(kind)), "{name}");
    }
    // Every reference resolves among the definitions.
    fn refs(s: &v2_schema::Schema, out: &mut Vec<String>) {
        if !s.r#ref.is_empty() {
            out.push(s.r#ref.clone());
        }
        for p in s.properties.iter().flat_map(|p| &p.additional_properties) {
            if let Some(v) = &p.value {
                refs(v, out);
            }
        }
        for i in s.items.iter().flat_map(|i| &i.schema) {
            refs(i, out);
        }
        if let Some(a) = s.additional_properties.as_ref().and_then(|a| a.schema.as_deref()) {
            refs(a, out);
        }
    }
    let mut all = Vec::new();
    for d in &defs {
        if let Some(v) = &d.value {
            refs(v, &mut all);
        }
    }
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/definitions/").unwrap_or_else(|| panic!("bad ref {r}"));
        assert!(find(name).is_some(), "{r} does not resolve");
    }
    let sar = find("io.k8s.api.authorization.v1.SubjectAccessReview").expect("sar");
    assert_eq!(sar.required, vec!["spec"]);
    let spec =
        sar.properties.as_ref().and_then(|p| p.additional_properties.iter().find(|p| p.name == "spec"));
    assert_eq!(
        spec.and_then(|s| s.value.as_ref()).map(|s| s.r#ref.as_str()),
        Some("#/definitions/io.k8s.api.authorization.v1.SubjectAccessReviewSpec")
    );
}

/// kube's list types on the built-in kinds' list fields (from the field manager's schema) and
/// on the meta definitions no kind reaches.
#[test]
fn list_fields_carry_kubes_list_types() {
    let api = OpenApi::new(&served());
    let v2: Value = serde_json::from_slice(&api.v2_json()).unwrap();
    let defs = &v2["definitions"];
    let property = |def: &str, p: &str| defs[def]["properties"][p].clone();
    let containers = property("io.k8s.api.core.v1.PodSpec", "containers");
    assert_eq!(
        (&containers["x-kubernetes-list-type"], &containers["x-kubernetes-list-map-keys"]),
        (&json!("map"), &json!(["name"]))
    );
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    assert_eq!(property(meta, "finalizers")["x-kubernetes-list-type"], "set");
    assert_eq!(property(meta, "ownerReferences")["x-kubernetes-list-map-keys"], json!(["uid"]));
    assert_eq!(property("io.k8s.api.rbac.v1.ClusterRole", "rules")["x-kubernetes-list-type"], "atomic");
    assert_eq!(
        property("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "details")["x-kubernetes-list-type"],
        "atomic"
    );
    assert_eq!(defs["io.k8s.api.core.v1.ObjectReference"]["x-kubernetes-map-type"], "atomic");
    assert_eq!(property("io.k8s.api.core.v1.PodSpec", "nodeSelector")["x-kubernetes-map-type"], "atomic");
    assert_eq!(defs["io.k8s.api.core.v1.SeccompProfile"]["x-kubernetes-unions"][0]["discriminator"], "type");
    // v3 carries the same.
    let core = doc(&api, "api/v1");
    let spec = &core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"];
    assert_eq!(spec["containers"]["x-kubernetes-list-type"], "map");
}

/// kube's v3 defaults: the Go zero value of non-pointer fields, list items and map values;
/// v2 carries none.
#[test]
fn v3_carries_kubes_defaults_and_v2_none() {
    let api = OpenApi::new(&served());
    let core = doc(&api, "api/v1");
    let schemas = &core["components"]["schemas"];
    let cm = &schemas["io.k8s.api.core.v1.ConfigMap"]["properties"];
    assert_eq!(cm["metadata"]["default"], json!({}));
    assert_eq!(cm["data"]["additionalProperties"]["default"], "");
    assert!(cm["binaryData"]["additionalProperties"].get("default").is_none());
    let container = &schemas["io.k8s.api.core.v1.Container"]["properties"];
    assert_eq!(container["name"]["default"], "");
    assert_eq!(container["args"]["items"]["default"], "");
    assert_eq!(
        container["ports"]["items"],
        json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.ContainerPort"}], "default": {}})
    );
    assert!(container["image"].get("default").is_none());
    let v2: Value = serde_json::from_slice(&api.v2_json()).unwrap();
    assert!(!serde_json::to_string(&v2["definitions"]).unwrap().contains("\"default\""));
}

#[test]
fn nonresource_documents_as_kube_lists_them() {
    let base = OpenApiBase::new(&served());
    let api = OpenApi::with_custom(&base, &[]);
    let index: Value = serde_json::from_slice(&api.v3_index()).unwrap();
    for name in ["version", "api", "apis", "apis/apps", "api/v1"] {
        assert!(index["paths"].get(name).is_some(), "{name} not in the index: {index}");
    }
    assert!(index["paths"].get("openid/v1/jwks").is_none(), "issuer discovery listed while not served");

    let version = doc(&api, "version");
    let op = &version["paths"]["/version/"]["get"];
    assert_eq!(
        (op["operationId"].as_str(), op["tags"][0].as_str()),
        (Some("getCodeVersion"), Some("version"))
    );
    let info = &version["components"]["schemas"]["io.k8s.apimachinery.pkg.version.Info"];
    assert_eq!(
        info["required"].as_array().unwrap()[0..3],
        [json!("major"), json!("minor"), json!("gitVersion")]
    );
    assert!(version.get("security").is_none(), "kube's non-resource documents have no top-level security");

    let group = doc(&api, "apis/apps");
    let op = &group["paths"]["/apis/apps/"]["get"];
    assert_eq!(op["operationId"], "getAppsAPIGroup");
    let schema = &group["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"];
    assert_eq!(
        schema["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "APIGroup", "version": "v1"}])
    );
    assert_eq!(schema["required"], json!(["name", "versions"]));
    let apis = doc(&api, "apis");
    assert_eq!(apis["paths"]["/apis/"]["get"]["operationId"], "getAPIVersions");
    assert_eq!(doc(&api, "api")["paths"]["/api/"]["get"]["operationId"], "getCoreAPIVersions");

    // Served issuer discovery adds its two documents.
    let api = OpenApi::with_custom(&OpenApiBase::new(&served()).with_issuer_discovery(true), &[]);
    let jwks = doc(&api, "openid/v1/jwks");
    let op = &jwks["paths"]["/openid/v1/jwks/"]["get"];
    assert_eq!(op["operationId"], "getServiceAccountIssuerOpenIDKeyset");
    assert!(op["responses"]["200"]["content"].get("application/jwk-set+json").is_some(), "{op}");
    assert_eq!(
        doc(&api, ".well-known/openid-configuration")["paths"]["/.well-known/openid-configuration/"]["get"]
            ["tags"],
        json!(["WellKnown"])
    );
}

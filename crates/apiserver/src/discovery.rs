//! Discovery documents, computed once from the catalog: legacy `/api`, `/apis`,
//! `/api/v1`, `/apis/<g>[/<v>]`, and aggregated discovery (apidiscovery.k8s.io v2 and
//! v2beta1) for `/api` and `/apis`, each with an ETag for `If-None-Match`.

use registry::{Catalog, ResourceType};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A precomputed document and its ETag.
pub struct Doc {
    pub bytes: Vec<u8>,
    pub etag: String,
}

impl Doc {
    fn new(v: &Value) -> Self {
        let bytes = serde_json::to_vec(v).unwrap_or_default();
        let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
        Self { bytes, etag }
    }
}

pub struct Discovery {
    pub api: Doc,
    pub apis: Doc,
    /// `/api` and `/apis` aggregated, keyed by (is_core, version).
    pub aggregated: HashMap<(bool, &'static str), Doc>,
    /// `api/v1`, `apis/<g>/<v>`, `apis/<g>` paths (without leading slash).
    pub by_path: HashMap<String, Doc>,
}

/// kube's `StorageVersionHash`: the first 8 bytes of SHA-256 of `group/version/kind` as stored
/// (events.k8s.io Events are core v1 Events), base64; none for a resource without storage.
fn storage_version_hash(r: &ResourceType) -> Option<String> {
    use base64::Engine as _;
    if !r.stored {
        return None;
    }
    let (group, version) = match r.stored_as {
        Some((group, _)) if !r.storage_version.is_empty() => (group, r.storage_version),
        // autoscaling/v1 HorizontalPodAutoscalers are stored as v2; events.k8s.io Events as
        // core v1 Events.
        Some((group, _)) if group == r.group => (group, "v2"),
        Some((group, _)) => (group, "v1"),
        // kube-apiserver still stores CustomResourceDefinitions as v1beta1.
        None if r.kind == "CustomResourceDefinition" => (r.group, "v1beta1"),
        // kube 1.34 still stores these as their previous version (for a safe downgrade).
        None if r.group == "resource.k8s.io" => (r.group, "v1beta2"),
        None if r.kind == "VolumeAttributesClass" => (r.group, "v1beta1"),
        None if r.custom => (r.group, r.storage_version),
        None => (r.group, r.version),
    };
    let gvk = format!("{group}/{version}/{}", r.kind);
    Some(base64::engine::general_purpose::STANDARD.encode(&Sha256::digest(gvk.as_bytes())[..8]))
}

fn resource_entry(r: &ResourceType) -> Value {
    let mut e = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    if let Some(hash) = storage_version_hash(r) {
        e["storageVersionHash"] = json!(hash);
    }
    e
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in catalog.in_group_version(group, version) {
        resources.push(resource_entry(r));
        for s in r.subresources {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if s.group != r.group || s.version != r.version {
                e["group"] = json!(s.group);
                e["version"] = json!(s.version);
            }
            resources.push(e);
        }
    }
    // kube lists built-in resources and subresources by name; a custom resource as its CRD
    // handler does: the resource, status, scale.
    if !catalog.in_group_version(group, version).iter().any(|r| r.custom) {
        resources.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    let mut list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version(group, version), "resources": resources});
    // kube's core `/api/v1` list has no apiVersion.
    if group.is_empty() {
        if let Some(m) = list.as_object_mut() {
            m.shift_remove("apiVersion");
        }
    }
    list
}

fn aggregated_group(catalog: &Catalog, group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut in_gv = catalog.in_group_version(group, v);
            in_gv.sort_by(|a, b| a.plural.cmp(b.plural));
            let resources: Vec<Value> = in_gv
                .into_iter()
                .map(|r| {
                    // The response kind names its group and version only when they are not
                    // the resource's own (kube fills them from APIResource's group/version).
                    let kind_of = |g: &str, v: &str, kind: &str| {
                        let (g, v) = if g == r.group && v == r.version { ("", "") } else { (g, v) };
                        json!({"group": g, "version": v, "kind": kind})
                    };
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": kind_of(r.group, r.version, r.kind),
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": r.verbs,
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if !r.subresources.is_empty() {
                        let mut subs: Vec<_> = r.subresources.iter().collect();
                        subs.sort_by(|a, b| a.name.cmp(b.name));
                        e["subresources"] = Value::Array(
                            subs.into_iter()
                                .map(|s| {
                                    json!({
                                        "subresource": s.name,
                                        "responseKind": kind_of(s.group, s.version, s.kind),
                                        "verbs": s.verbs,
                                    })
                                })
                                .collect(),
                        );
                    }
                    e
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() { json!({}) } else { json!({"name": group}) };
    json!({"metadata": metadata, "versions": versions})
}

impl Discovery {
    pub fn new(catalog: &Catalog, server_address: &str) -> Self {
        let gvs = catalog.group_versions();
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (g, v) in &gvs {
            if g.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(name, _)| name == g) {
                Some((_, vs)) => vs.push(v),
                None => groups.push((g, vec![v])),
            }
        }
        let api = json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        });
        let group_entry = |g: &str, vs: &[&str]| {
            let versions: Vec<Value> =
                vs.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect();
            json!({"name": g, "versions": versions, "preferredVersion": versions[0].clone()})
        };
        let apis = json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups.iter().map(|(g, vs)| group_entry(g, vs)).collect::<Vec<_>>(),
        });
        let mut by_path = HashMap::new();
        for (g, v) in &gvs {
            let path = if g.is_empty() { format!("api/{v}") } else { format!("apis/{g}/{v}") };
            by_path.insert(path, Doc::new(&resource_list(catalog, g, v)));
        }
        for (g, vs) in &groups {
            let mut doc = group_entry(g, vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            by_path.insert(format!("apis/{g}"), Doc::new(&doc));
        }
        let mut aggregated = HashMap::new();
        for version in ["v2", "v2beta1"] {
            let list = |items: Vec<Value>| {
                json!({
                    "kind": "APIGroupDiscoveryList",
                    "apiVersion": format!("apidiscovery.k8s.io/{version}"),
                    "metadata": {},
                    "items": items,
                })
            };
            aggregated.insert((true, version), Doc::new(&list(vec![aggregated_group(catalog, "", &["v1"])])));
            let items = groups.iter().map(|(g, vs)| aggregated_group(catalog, g, vs)).collect();
            aggregated.insert((false, version), Doc::new(&list(items)));
        }
        Self { api: Doc::new(&api), apis: Doc::new(&apis), aggregated, by_path }
    }
}

/// `/version`: the Kubernetes API level kubeward serves.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": concat!("v1.33.0+kubeward-", env!("CARGO_PKG_VERSION")),
        "gitCommit": "kubeward",
        "gitTreeState": "clean",
        "buildDate": "2026-11-24T00:00:00Z",
        "goVersion": "rustc",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}

//! Resource types served for CustomResourceDefinitions (kube's apiextensions-apiserver
//! `crdHandler`): built from an established CRD, they join the catalog while the server
//! runs and leave it when the CRD goes.
//!
//! A [`ResourceType`] holds `&'static` strings so that built-in and custom types are one
//! type everywhere (routing, storage keys, discovery, RBAC). Custom ones are interned: the
//! strings and types of each distinct shape are allocated once and kept, so re-creating or
//! re-establishing a CRD reuses them, and memory grows only with the number of distinct
//! shapes ever served (names, versions, scope, subresources), not with CRD writes. What
//! changes more often (schema, printer columns, scale paths) lives in [`CustomVersion`],
//! replaced whole on every change of its CRD.
//!
//! The catalog is process-wide (`Catalog::global`): one server per process, as the binary runs.

use crate::catalog::{ResourceType, Subresource, STATUS_VERBS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// A custom resource's verbs in the order apiextensions-apiserver's discovery lists them.
const CUSTOM_RESOURCE_VERBS: &[&str] =
    &["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

/// kube's `metadata.finalizers` entry that makes a CRD's deletion wait for its objects.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// A scale subresource's paths (`spec.versions[*].subresources.scale`), as JSON pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// What one served version of a CRD needs beyond its resource type.
#[derive(Debug)]
pub struct CustomVersion {
    pub rt: &'static ResourceType,
    /// The CRD's name (`<plural>.<group>`).
    pub crd: String,
    /// The version as written in the CRD (`spec.versions[i]`), to tell changes apart.
    pub source: Value,
    /// The version compiled: validation (schema and CEL rules), defaulting, pruning,
    /// printer columns, selectable fields, published OpenAPI, list types.
    pub structural: Arc<apiextensions::Structural>,
    /// The type tree server-side apply walks (list and map types from the schema).
    pub ssa_schema: Arc<crate::custom_ssa::CrdSchema>,
    pub scale: Option<ScalePaths>,
    /// `deprecationWarning`, or kube's default text, when `deprecated`.
    pub deprecation_warning: Option<String>,
}

impl CustomVersion {
    fn same_as(&self, other: &CustomVersion) -> bool {
        std::ptr::eq(self.rt, other.rt)
            && self.crd == other.crd
            && self.source == other.source
            && self.scale == other.scale
            && self.deprecation_warning == other.deprecation_warning
    }
}

/// The resource types of every established CRD.
#[derive(Default)]
pub struct CustomTypes {
    by_crd: RwLock<BTreeMap<String, Vec<Arc<CustomVersion>>>>,
}

impl CustomTypes {
    /// Serves (or re-serves) the versions of one CRD.
    pub fn set(&self, crd: &str, versions: Vec<CustomVersion>) {
        let versions = versions.into_iter().map(Arc::new).collect();
        self.write().insert(crd.to_string(), versions);
    }

    /// Serves a CRD's versions unless exactly these are served already; says whether
    /// anything changed.
    pub fn set_if_changed(&self, crd: &str, versions: Vec<CustomVersion>) -> bool {
        let same = self.read().get(crd).is_some_and(|old| {
            old.len() == versions.len() && old.iter().zip(&versions).all(|(a, b)| a.as_ref().same_as(b))
        });
        if !same {
            self.set(crd, versions);
        }
        !same
    }

    /// The type that owns a CRD's storage keys (its first served version).
    pub fn owner_type(&self, crd: &str) -> Option<&'static ResourceType> {
        self.read().get(crd)?.iter().find(|v| v.rt.stored_as.is_none()).map(|v| v.rt)
    }

    /// Stops serving a CRD's versions.
    pub fn remove(&self, crd: &str) {
        self.write().remove(crd);
    }

    /// The names of the CRDs served now.
    pub fn crd_names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Every served custom type: by group, then version priority, then resource.
    pub fn types(&self) -> Vec<&'static ResourceType> {
        let mut out: Vec<&'static ResourceType> = self.read().values().flatten().map(|v| v.rt).collect();
        out.sort_by(|a, b| {
            (a.group, version_rank(a.version), a.plural).cmp(&(b.group, version_rank(b.version), b.plural))
        });
        out
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
        self.read()
            .values()
            .flatten()
            .find(|v| v.rt.plural == plural && v.rt.version == version && v.rt.group == group)
            .map(|v| v.rt)
    }

    /// The served version behind a custom resource type.
    pub fn version(&self, rt: &ResourceType) -> Option<Arc<CustomVersion>> {
        if !rt.custom {
            return None;
        }
        self.read()
            .values()
            .flatten()
            .find(|v| v.rt.plural == rt.plural && v.rt.version == rt.version && v.rt.group == rt.group)
            .cloned()
    }

    /// Custom group versions, groups by name and versions by kube's version priority.
    pub fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for rt in self.types() {
            if !out.contains(&(rt.group, rt.version)) {
                out.push((rt.group, rt.version));
            }
        }
        out
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<Arc<CustomVersion>>>> {
        self.by_crd.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Vec<Arc<CustomVersion>>>> {
        self.by_crd.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// kube's version priority (`version.CompareKubeAwareVersionStrings`): GA before beta before
/// alpha, higher numbers first, then versions that do not look like kube's, by name.
pub fn version_rank(v: &str) -> (u8, i64, i64, &str) {
    let parse = || -> Option<(u8, i64, i64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let major: i64 = rest[..digits].parse().ok()?;
        if major == 0 {
            return None;
        }
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        for (stage, word) in [(1u8, "beta"), (2, "alpha")] {
            if let Some(n) = tail.strip_prefix(word) {
                let minor: i64 = n.parse().ok().filter(|m| *m > 0)?;
                return Some((stage, -major, -minor));
            }
        }
        None
    };
    match parse() {
        Some((stage, major, minor)) => (stage, major, minor, ""),
        None => (3, 0, 0, v),
    }
}

/// One served version's shape, from which its resource type is interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status: bool,
    pub scale: bool,
    /// Stored under another version's resource type (every served version but the first
    /// owns no keys of its own: walks over stored objects visit each object once).
    pub stored_as: bool,
    pub storage_version: String,
    pub selectable_fields: Vec<String>,
}

fn leak(s: &str) -> &'static str {
    static STRINGS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = STRINGS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

fn leak_list(items: &[String]) -> &'static [&'static str] {
    if items.is_empty() {
        return &[];
    }
    Box::leak(items.iter().map(|s| leak(s)).collect::<Vec<_>>().into_boxed_slice())
}

fn passthrough(v: &Value) -> Result<Value, String> {
    Ok(v.clone())
}

const SCALE_VERBS: &[&str] = &["get", "patch", "update"];

/// The resource type of a shape, allocated once per distinct shape.
pub fn intern(shape: &Shape) -> &'static ResourceType {
    static TYPES: OnceLock<Mutex<HashMap<Shape, &'static ResourceType>>> = OnceLock::new();
    let mut types = TYPES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = types.get(shape) {
        return rt;
    }
    let (group, version, kind) = (leak(&shape.group), leak(&shape.version), leak(&shape.kind));
    let mut subresources = Vec::new();
    if shape.status {
        subresources.push(Subresource { name: "status", group, version, kind, verbs: STATUS_VERBS });
    }
    if shape.scale {
        subresources.push(Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: SCALE_VERBS,
        });
    }
    let plural = leak(&shape.plural);
    let rt: &'static ResourceType = Box::leak(Box::new(ResourceType {
        group,
        version,
        kind,
        plural,
        singular: leak(&shape.singular),
        namespaced: shape.namespaced,
        short_names: leak_list(&shape.short_names),
        categories: leak_list(&shape.categories),
        verbs: CUSTOM_RESOURCE_VERBS,
        subresources: Box::leak(subresources.into_boxed_slice()),
        stored: true,
        has_status: shape.status,
        stored_as: shape.stored_as.then_some((group, plural)),
        custom: true,
        storage_version: leak(&shape.storage_version),
        selectable_fields: leak_list(&shape.selectable_fields),
        round_trip: passthrough,
    }));
    types.insert(shape.clone(), rt);
    rt
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

/// A JSONPath of kube's simple form (`.spec.replicas`) as a JSON pointer.
pub fn json_path_to_pointer(path: &str) -> Option<String> {
    let rest = path.strip_prefix('.')?;
    if rest.is_empty() || rest.contains(['[', ']', '*', '@', '?']) {
        return None;
    }
    Some(rest.split('.').map(|seg| format!("/{}", seg.replace('~', "~0").replace('/', "~1"))).collect())
}

/// The served versions of a CRD, from its spec and the names it was accepted with: what
/// the catalog serves once the CRD is established. The first served version by kube's
/// priority owns the storage keys; the others are stored as it.
pub fn versions_from_crd(crd: &Value) -> Result<Vec<CustomVersion>, String> {
    let s = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let crd_name = s("/metadata/name");
    let group = s("/spec/group");
    let names = crd.pointer("/status/acceptedNames").filter(|n| n.get("plural").is_some());
    let names = names.or_else(|| crd.pointer("/spec/names")).ok_or("the CRD has no names")?;
    let name = |k: &str| names.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (kind, plural) = (name("kind"), name("plural"));
    if group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Err("the CRD has no group, kind or plural".into());
    }
    let singular = match name("singular") {
        s if s.is_empty() => kind.to_lowercase(),
        s => s,
    };
    let versions =
        crd.pointer("/spec/versions").and_then(Value::as_array).ok_or("the CRD has no versions")?;
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .ok_or("the CRD has no storage version")?
        .to_string();
    let mut served: Vec<&Value> =
        versions.iter().filter(|v| v.get("served").and_then(Value::as_bool) == Some(true)).collect();
    served.sort_by_key(|v| version_rank(v.get("name").and_then(Value::as_str).unwrap_or_default()));
    let mut out = Vec::new();
    for (i, v) in served.iter().enumerate() {
        let version = v.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let scale = v.pointer("/subresources/scale").map(|sc| {
            let path = |k: &str| sc.get(k).and_then(Value::as_str).and_then(json_path_to_pointer);
            ScalePaths {
                spec_replicas: path("specReplicasPath").unwrap_or_else(|| "/spec/replicas".into()),
                status_replicas: path("statusReplicasPath").unwrap_or_else(|| "/status/replicas".into()),
                label_selector: path("labelSelectorPath"),
            }
        });
        let shape = Shape {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced: crd.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster"),
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            status: v.pointer("/subresources/status").is_some(),
            scale: scale.is_some(),
            stored_as: i > 0,
            storage_version: storage_version.clone(),
            // kube's field selectors on custom resources: the metadata ones, then these.
            selectable_fields: ["metadata.name", "metadata.namespace"]
                .into_iter()
                .map(str::to_string)
                .take(if crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster") {
                    1
                } else {
                    2
                })
                .chain(
                    v.get("selectableFields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_string()),
                )
                .collect(),
        };
        let deprecation_warning = (v.get("deprecated").and_then(Value::as_bool) == Some(true)).then(|| {
            v.get("deprecationWarning")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{group}/{version} {kind} is deprecated"))
        });
        let structural = apiextensions::Structural::from_crd(crd, &version)?;
        out.push(CustomVersion {
            rt: intern(&shape),
            crd: crd_name.clone(),
            source: json!({"group": group, "names": names, "version": v}),
            ssa_schema: Arc::new(crate::custom_ssa::CrdSchema::new(structural.schema.as_ref())),
            structural: Arc::new(structural),
            scale,
            deprecation_warning,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(version: &str) -> Shape {
        Shape {
            group: "example.com".into(),
            version: version.into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
            singular: "widget".into(),
            namespaced: true,
            short_names: vec!["wd".into()],
            categories: vec!["all".into()],
            status: true,
            scale: false,
            stored_as: false,
            storage_version: "v1".into(),
            selectable_fields: vec![],
        }
    }

    #[test]
    fn shapes_are_interned_once() {
        let a = intern(&shape("v1"));
        let b = intern(&shape("v1"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.short_names, &["wd"]);
        assert_eq!(a.subresource("status").map(|s| s.kind), Some("Widget"));
        assert!(!std::ptr::eq(a, intern(&shape("v2"))));
    }

    #[test]
    fn custom_resources_in_their_storage_version_are_stored_as_they_are() {
        let v1 = intern(&shape("v1"));
        let v2 = intern(&Shape { stored_as: true, ..shape("v2") });
        let obj = |v: &str| json!({"apiVersion": v, "kind": "Widget", "spec": {"a": 1}});
        assert!(crate::convert::stored_as_is(v1, &obj("example.com/v1")));
        assert!(!crate::convert::stored_as_is(v2, &obj("example.com/v2")));
        assert!(!crate::convert::stored_as_is(v1, &obj("example.org/v1")));
        assert!(!crate::convert::stored_as_is(v1, &json!({"kind": "Widget"})));
        assert_eq!(crate::convert::to_storage(v1, obj("example.com/v1")), obj("example.com/v1"));
        assert_eq!(crate::convert::to_storage(v2, obj("example.com/v2")), obj("example.com/v1"));
        let plain = crate::Catalog::builtin();
        let cms = plain.lookup("", "v1", "configmaps").unwrap();
        assert!(!crate::convert::stored_as_is(cms, &json!({"apiVersion": "v1"})));
        // No typed round trip for a custom resource: returned as is, nothing reported.
        let odd = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": {"y": [1]}}});
        assert_eq!(v1.normalize(&odd), Ok((odd.clone(), vec![])));
    }

    #[test]
    fn versions_sort_as_kube_does() {
        let mut vs = vec![
            "v1beta1",
            "foo1",
            "v1",
            "v2alpha1",
            "v10",
            "v11alpha2",
            "v3beta2",
            "v12alpha1",
            "foo10",
            "v2",
        ];
        vs.sort_by_key(|v| version_rank(v));
        assert_eq!(
            vs,
            ["v10", "v2", "v1", "v3beta2", "v1beta1", "v12alpha1", "v11alpha2", "v2alpha1", "foo1", "foo10"]
        );
    }
}

//! Which resources exist: group, version, kind, plural, scope, short names, verbs.

use crate::typed::{self, RoundTrip};

pub const STANDARD_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
pub const CREATE_ONLY: &[&str] = &["create"];

/// One served resource type.
#[derive(Debug)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Subresources served as `<plural>/<sub>`, with the kind they take and their verbs.
    pub subresources: &'static [Subresource],
    /// False for virtual, create-only kinds (reviews) that are answered, never stored.
    pub stored: bool,
    /// The main resource ignores status changes; `<plural>/status` changes only status.
    pub has_status: bool,
    /// Objects kept under another resource's keys, in that resource's serialization (kube's
    /// events.k8s.io/v1 Events are core v1 Events in storage): `(group, plural)`.
    pub stored_as: Option<(&'static str, &'static str)>,
    /// Served for a CustomResourceDefinition (see [`crate::custom`]): objects are checked
    /// against the definition's schema, not a k8s-openapi struct.
    pub custom: bool,
    /// A custom resource's storage version (objects are stored in it and served in the
    /// version asked for); for a built-in kind stored as another version of itself
    /// (`stored_as`), that version; empty for other built-in kinds.
    pub storage_version: &'static str,
    /// Fields a field selector may use beyond the metadata ones (a CRD's `selectableFields`).
    pub selectable_fields: &'static [&'static str],
    pub(crate) round_trip: RoundTrip,
}

#[derive(Debug)]
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

pub(crate) const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn group_resource(&self) -> apimachinery::GroupResource {
        apimachinery::GroupResource::new(self.group, self.plural)
    }

    pub fn group_kind(&self) -> apimachinery::gvr::GroupKind {
        apimachinery::gvr::GroupKind { group: self.group.to_string(), kind: self.kind.to_string() }
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Decodes into the typed k8s-openapi struct and back: types are checked, unknown
    /// fields dropped. Returns the normalized object and the paths of dropped fields. A custom
    /// resource has no typed form: it is returned as is (its schema prunes and types it,
    /// `strategy::prune_and_default` and validation), without comparing it to itself.
    pub fn normalize(&self, obj: &serde_json::Value) -> Result<(serde_json::Value, Vec<String>), String> {
        if self.custom {
            return Ok((obj.clone(), Vec::new()));
        }
        typed::round_trip(self.round_trip, obj)
    }

    /// Whether objects change form between this resource and its storage (a resource stored
    /// as another, or a custom resource served in a version other than the stored one).
    pub fn converts(&self) -> bool {
        self.stored_as.is_some() || self.custom
    }

    /// The API group whose storage keys hold this resource's objects.
    pub fn storage_group(&self) -> &'static str {
        self.stored_as.map_or(self.group, |(g, _)| g)
    }

    /// The resource (plural) whose storage keys hold this resource's objects.
    pub fn storage_plural(&self) -> &'static str {
        self.stored_as.map_or(self.plural, |(_, p)| p)
    }
}

/// All served resources: the built-in ones, fixed at start, and those of the established
/// CustomResourceDefinitions, which change while the server runs.
pub struct Catalog {
    resources: Vec<ResourceType>,
    custom: crate::custom::CustomTypes,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

static GLOBAL: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();

impl Catalog {
    /// The process-wide built-in catalog (resource types live as long as the server).
    pub fn global() -> &'static Catalog {
        GLOBAL.get_or_init(Catalog::builtin)
    }

    pub fn builtin() -> Self {
        Self { resources: crate::resources::builtin(), custom: Default::default() }
    }

    /// The built-in resources, then the custom ones (a snapshot).
    pub fn all(&self) -> Vec<&ResourceType> {
        let mut out: Vec<&ResourceType> = self.resources.iter().collect();
        out.extend(self.custom.types());
        out
    }

    /// The resource served at `/<prefix>/<group>/<version>/<plural>`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.resources
            .iter()
            .find(|r| r.plural == plural && r.version == version && r.group == group)
            .or_else(|| self.custom.lookup(group, version, plural))
    }

    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&ResourceType> {
        self.resources
            .iter()
            .find(|r| r.kind == kind && r.group == group && r.stored)
            .or_else(|| self.custom.types().into_iter().find(|r| r.kind == kind && r.group == group))
    }

    /// Group versions in the order discovery lists them (core first, then the built-in
    /// groups, then custom ones by name, as kube's CRD APIServices sort).
    pub fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for r in &self.resources {
            if !out.contains(&(r.group, r.version)) {
                out.push((r.group, r.version));
            }
        }
        for gv in self.custom.group_versions() {
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }

    pub fn in_group_version<'a>(&'a self, group: &'a str, version: &'a str) -> Vec<&'a ResourceType> {
        self.all().into_iter().filter(move |r| r.group == group && r.version == version).collect()
    }

    /// The custom resource types (CustomResourceDefinitions) this catalog serves.
    pub fn custom(&self) -> &crate::custom::CustomTypes {
        &self.custom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_group_versions() {
        let c = Catalog::builtin();
        assert_eq!(c.lookup("", "v1", "pods").map(|r| r.kind), Some("Pod"));
        assert_eq!(c.lookup("apps", "v1", "deployments").map(|r| r.kind), Some("Deployment"));
        assert!(c.lookup("apps", "v1", "pods").is_none());
        let gvs = c.group_versions();
        assert_eq!(gvs[0], ("", "v1"));
        assert!(gvs.contains(&("authentication.k8s.io", "v1beta1")));
    }
}

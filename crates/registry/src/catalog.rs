//! Which resources exist: group, version, kind, plural, scope, short names, verbs.

use crate::typed::{self, Typed};

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
    pub(crate) typed: Typed,
}

#[derive(Debug)]
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

macro_rules! status_sub {
    ($g:expr, $v:expr, $k:expr) => {
        Subresource { name: "status", group: $g, version: $v, kind: $k, verbs: STATUS_VERBS }
    };
}

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
    /// fields dropped. Returns the normalized object and the paths of dropped fields.
    pub fn normalize(&self, obj: &serde_json::Value) -> Result<(serde_json::Value, Vec<String>), String> {
        typed::round_trip(self.typed, obj)
    }
}

/// All served resources.
pub struct Catalog {
    resources: Vec<ResourceType>,
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
        use Typed as T;
        let r = |group, version, kind, plural, singular, namespaced, short_names, typed| ResourceType {
            group,
            version,
            kind,
            plural,
            singular,
            namespaced,
            short_names,
            categories: &[],
            verbs: STANDARD_VERBS,
            subresources: &[],
            stored: true,
            has_status: false,
            typed,
        };
        let review = |group, kind, plural, singular, namespaced, typed| ResourceType {
            verbs: CREATE_ONLY,
            stored: false,
            ..r(group, "v1", kind, plural, singular, namespaced, &[], typed)
        };
        let resources = vec![
            ResourceType {
                subresources: &[
                    status_sub!("", "v1", "Namespace"),
                    Subresource {
                        name: "finalize",
                        group: "",
                        version: "v1",
                        kind: "Namespace",
                        verbs: &["update"],
                    },
                ],
                has_status: true,
                verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
                ..r("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"], T::Namespace)
            },
            r("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"], T::ConfigMap),
            r("", "v1", "Secret", "secrets", "secret", true, &[], T::Secret),
            ResourceType {
                subresources: &[Subresource {
                    name: "token",
                    group: "authentication.k8s.io",
                    version: "v1",
                    kind: "TokenRequest",
                    verbs: &["create"],
                }],
                ..r(
                    "",
                    "v1",
                    "ServiceAccount",
                    "serviceaccounts",
                    "serviceaccount",
                    true,
                    &["sa"],
                    T::ServiceAccount,
                )
            },
            ResourceType {
                categories: &["all"],
                subresources: &[status_sub!("", "v1", "Pod")],
                has_status: true,
                ..r("", "v1", "Pod", "pods", "pod", true, &["po"], T::Pod)
            },
            ResourceType {
                categories: &["all"],
                subresources: &[status_sub!("", "v1", "Service")],
                has_status: true,
                ..r("", "v1", "Service", "services", "service", true, &["svc"], T::Service)
            },
            r("", "v1", "Endpoints", "endpoints", "endpoints", true, &["ep"], T::Endpoints),
            r("", "v1", "Event", "events", "event", true, &["ev"], T::Event),
            ResourceType {
                subresources: &[status_sub!("", "v1", "Node")],
                has_status: true,
                ..r("", "v1", "Node", "nodes", "node", false, &["no"], T::Node)
            },
            ResourceType {
                categories: &["all"],
                subresources: &[status_sub!("apps", "v1", "Deployment")],
                has_status: true,
                ..r("apps", "v1", "Deployment", "deployments", "deployment", true, &["deploy"], T::Deployment)
            },
            r(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
                "clusterrole",
                false,
                &[],
                T::ClusterRole,
            ),
            r(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
                "clusterrolebinding",
                false,
                &[],
                T::ClusterRoleBinding,
            ),
            r("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, &[], T::Role),
            r(
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                "rolebindings",
                "rolebinding",
                true,
                &[],
                T::RoleBinding,
            ),
            r("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, &[], T::Lease),
            r("", "v1", "LimitRange", "limitranges", "limitrange", true, &["limits"], T::LimitRange),
            ResourceType {
                subresources: &[status_sub!("", "v1", "ResourceQuota")],
                has_status: true,
                ..r(
                    "",
                    "v1",
                    "ResourceQuota",
                    "resourcequotas",
                    "resourcequota",
                    true,
                    &["quota"],
                    T::ResourceQuota,
                )
            },
            r(
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfigurations",
                "mutatingwebhookconfiguration",
                false,
                &[],
                T::MutatingWebhookConfiguration,
            ),
            r(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                "validatingwebhookconfiguration",
                false,
                &[],
                T::ValidatingWebhookConfiguration,
            ),
            review(
                "authentication.k8s.io",
                "TokenReview",
                "tokenreviews",
                "tokenreview",
                false,
                T::TokenReview,
            ),
            review(
                "authentication.k8s.io",
                "SelfSubjectReview",
                "selfsubjectreviews",
                "selfsubjectreview",
                false,
                T::SelfSubjectReview,
            ),
            ResourceType {
                version: "v1beta1",
                ..review(
                    "authentication.k8s.io",
                    "SelfSubjectReview",
                    "selfsubjectreviews",
                    "selfsubjectreview",
                    false,
                    T::SelfSubjectReview,
                )
            },
            review(
                "authorization.k8s.io",
                "SubjectAccessReview",
                "subjectaccessreviews",
                "subjectaccessreview",
                false,
                T::SubjectAccessReview,
            ),
            review(
                "authorization.k8s.io",
                "SelfSubjectAccessReview",
                "selfsubjectaccessreviews",
                "selfsubjectaccessreview",
                false,
                T::SelfSubjectAccessReview,
            ),
            review(
                "authorization.k8s.io",
                "LocalSubjectAccessReview",
                "localsubjectaccessreviews",
                "localsubjectaccessreview",
                true,
                T::LocalSubjectAccessReview,
            ),
            review(
                "authorization.k8s.io",
                "SelfSubjectRulesReview",
                "selfsubjectrulesreviews",
                "selfsubjectrulesreview",
                false,
                T::SelfSubjectRulesReview,
            ),
        ];
        Self { resources }
    }

    pub fn all(&self) -> &[ResourceType] {
        &self.resources
    }

    /// The resource served at `/<prefix>/<group>/<version>/<plural>`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.resources.iter().find(|r| r.plural == plural && r.version == version && r.group == group)
    }

    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&ResourceType> {
        self.resources.iter().find(|r| r.kind == kind && r.group == group && r.stored)
    }

    /// Group versions in the order discovery lists them (core first, then groups).
    pub fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for r in &self.resources {
            if !out.contains(&(r.group, r.version)) {
                out.push((r.group, r.version));
            }
        }
        out
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceType> {
        self.resources.iter().filter(move |r| r.group == group && r.version == version)
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

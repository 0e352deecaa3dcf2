//! The schema catalog: every `components/schemas` entry the documents can use, built once from
//! `k8s-openapi`'s schemars schemas and reshaped the way kube-apiserver serves them in OpenAPI v3:
//! `$ref` with siblings wrapped in `allOf`, `x-kubernetes-group-version-kind` on each kind and its
//! List, strategic-merge-patch extensions, and kube's representation of IntOrString and Quantity.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use fieldmanager::schema::builtin::Builtin;
use fieldmanager::schema::{ListKind, Node, Schema};

use crate::kinds::{definition_name, register_kind};
use crate::ResourceSpec;

/// Prefix of every schema reference in an OpenAPI v3 document.
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";

pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
pub(crate) const API_VERSIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions";
pub(crate) const API_GROUP: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup";
pub(crate) const API_GROUP_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList";
pub(crate) const VERSION_INFO: &str = "io.k8s.apimachinery.pkg.version.Info";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// A group/version/kind triple, as used for lookups.
pub(crate) type Gvk = (String, String, String);

/// All definitions, reshaped, with the definition name of every served kind and list.
pub(crate) struct SchemaCatalog {
    definitions: Map<String, Value>,
    kinds: BTreeMap<Gvk, String>,
    /// Custom resources' definitions in kube's v2 conversion, in place of the converted v3 ones.
    v2_overrides: Map<String, Value>,
}

impl SchemaCatalog {
    /// Builds the catalog for `resources` (kinds `k8s-openapi` does not know are left out).
    pub(crate) fn build(resources: &[ResourceSpec]) -> Self {
        let mut generator = SchemaSettings::openapi3()
            .with(|s| {
                s.transforms.clear();
                s.meta_schema = None;
            })
            .into_generator();
        for register in [
            SchemaGenerator::subschema_for::<meta::ObjectMeta>,
            SchemaGenerator::subschema_for::<meta::ListMeta>,
            SchemaGenerator::subschema_for::<meta::Status>,
            SchemaGenerator::subschema_for::<meta::DeleteOptions>,
            SchemaGenerator::subschema_for::<meta::Patch>,
            SchemaGenerator::subschema_for::<meta::WatchEvent<Pod>>,
            SchemaGenerator::subschema_for::<meta::APIResourceList>,
            // The discovery roots' and /version's documents (nonresource documents, lib.rs).
            SchemaGenerator::subschema_for::<meta::APIVersions>,
            SchemaGenerator::subschema_for::<meta::APIGroupList>,
            SchemaGenerator::subschema_for::<k8s_openapi::apimachinery::pkg::version::Info>,
        ] {
            register(&mut generator);
        }

        let mut kinds: BTreeMap<Gvk, String> = BTreeMap::new();
        let mut aliases: Vec<(String, String, Gvk)> = Vec::new();
        let mut with_list: BTreeSet<Gvk> = BTreeSet::new();
        let mut custom: Vec<(String, Value)> = Vec::new();
        let mut v2_overrides = Map::new();
        for spec in resources {
            if let Some(c) = &spec.custom {
                let gv = (spec.group.clone(), spec.version.clone());
                for ((name, schema), kind) in
                    c.v3.iter().zip([spec.kind.clone(), format!("{}List", spec.kind)])
                {
                    kinds.insert((gv.0.clone(), gv.1.clone(), kind), name.clone());
                    custom.push((name.clone(), schema.clone()));
                }
                v2_overrides.extend(c.v2.iter().cloned());
                continue;
            }
            for (g, v, k) in crate::paths::kinds_of(spec) {
                let key = (g.clone(), v.clone(), k.clone());
                if kinds.contains_key(&key) {
                    continue;
                }
                if let Some(name) = register_kind(&mut generator, &g, &v, &k) {
                    kinds.insert(key.clone(), name);
                } else if let Some(source) = register_kind(&mut generator, &g, "v1", &k) {
                    // A kind served in an older version whose shape equals v1's (e.g.
                    // authentication.k8s.io/v1beta1 SelfSubjectReview): copy v1's schema.
                    let name = definition_name(&g, &v, &k);
                    kinds.insert(key.clone(), name.clone());
                    aliases.push((source, name, key.clone()));
                }
            }
            if spec.verbs.iter().any(|v| v == "list") {
                with_list.insert((spec.group.clone(), spec.version.clone(), spec.kind.clone()));
            }
        }

        let mut definitions = generator.take_definitions(false);
        for (source, name, _) in &aliases {
            if let Some(schema) = definitions.get(source).cloned() {
                definitions.insert(name.clone(), schema);
            }
        }
        for (name, schema) in definitions.iter_mut() {
            normalize_schema(schema);
            if let Value::Object(schema) = schema {
                if name != CORE_EVENT {
                    drop_required_metadata(schema);
                }
            }
        }
        kube_scalar_shapes(&mut definitions);
        discovery_shapes(&mut definitions);
        add_patch_extensions(&mut definitions);
        add_list_extensions(&mut definitions, &kinds);
        add_element_defaults(&mut definitions);
        // Custom resources' schemas are published as kube's CRD builder writes them.
        definitions.extend(custom);

        let mut group_versions = BTreeSet::new();
        for ((g, v, k), name) in &kinds {
            group_versions.insert((g.clone(), v.clone()));
            if let Some(Value::Object(schema)) = definitions.get_mut(name) {
                schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk_value(g, v, k)]));
                if name != CORE_EVENT {
                    drop_required_metadata(schema);
                }
            }
        }
        for (g, v, k) in &with_list {
            if let Some(item) = kinds.get(&(g.clone(), v.clone(), k.clone())) {
                let list_name = format!("{item}List");
                definitions.insert(list_name.clone(), list_schema(item, g, v, k));
                kinds.insert((g.clone(), v.clone(), format!("{k}List")), list_name);
            }
        }
        for (name, kind) in [(DELETE_OPTIONS, "DeleteOptions"), (WATCH_EVENT, "WatchEvent")] {
            let gvks: Vec<Value> = group_versions.iter().map(|(g, v)| gvk_value(g, v, kind)).collect();
            if let Some(Value::Object(schema)) = definitions.get_mut(name) {
                schema.insert("x-kubernetes-group-version-kind".into(), Value::Array(gvks));
            }
        }
        if let Some(Value::Object(schema)) = definitions.get_mut(STATUS) {
            schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk_value("", "v1", "Status")]));
        }
        SchemaCatalog { definitions, kinds, v2_overrides }
    }

    /// This catalog with custom resources' definitions added (their kinds and lists, in v3
    /// form, and their v2 forms).
    pub(crate) fn with_custom(&self, custom: &[ResourceSpec]) -> SchemaCatalog {
        let mut out = SchemaCatalog {
            definitions: self.definitions.clone(),
            kinds: self.kinds.clone(),
            v2_overrides: self.v2_overrides.clone(),
        };
        for spec in custom {
            let Some(c) = &spec.custom else { continue };
            for ((name, schema), kind) in c.v3.iter().zip([spec.kind.clone(), format!("{}List", spec.kind)]) {
                out.kinds.insert((spec.group.clone(), spec.version.clone(), kind), name.clone());
                out.definitions.insert(name.clone(), schema.clone());
            }
            out.v2_overrides.extend(c.v2.iter().cloned());
        }
        out
    }

    /// Custom resources' v2 definitions.
    pub(crate) fn v2_overrides(&self) -> &Map<String, Value> {
        &self.v2_overrides
    }

    /// The definition name of a kind (or `<Kind>List`), when known.
    pub(crate) fn kind_name(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds.get(&(group.to_owned(), version.to_owned(), kind.to_owned())).map(String::as_str)
    }

    /// The definitions referenced, directly or not, from `roots` and from any `$ref` inside `doc`.
    pub(crate) fn closure<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a str>,
        doc: &Value,
    ) -> Map<String, Value> {
        let mut pending: Vec<String> = roots.into_iter().map(str::to_owned).collect();
        collect_refs(doc, &mut pending);
        let mut seen = BTreeMap::new();
        while let Some(name) = pending.pop() {
            if seen.contains_key(&name) {
                continue;
            }
            if let Some(schema) = self.definitions.get(&name) {
                collect_refs(schema, &mut pending);
                seen.insert(name, schema.clone());
            }
        }
        seen.into_iter().collect()
    }

    /// Every definition, for tests and the v2 document.
    pub(crate) fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }
}

/// The one definition whose `metadata` kube lists as required.
const CORE_EVENT: &str = "io.k8s.api.core.v1.Event";

/// k8s-openapi lists `metadata` as required (its Rust field is not optional) in every kind and
/// in Status, Scale, Eviction, ...; kube does only in core/v1 Event ([`CORE_EVENT`]), and
/// `kubectl explain` would print `-required-` beside it.
fn drop_required_metadata(schema: &mut Map<String, Value>) {
    let now_empty = match schema.get_mut("required") {
        Some(Value::Array(required)) => {
            required.retain(|r| r != "metadata");
            required.is_empty()
        }
        _ => false,
    };
    if now_empty {
        schema.remove("required");
    }
}

/// `{"group": g, "kind": k, "version": v}` as kube writes it.
pub(crate) fn gvk_value(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// A `$ref` to a definition.
pub(crate) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

/// Pushes the definition name of every `$ref` found anywhere in `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                if let Some(name) = r.strip_prefix(REF_PREFIX) {
                    out.push(name.to_owned());
                }
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Rewrites `{"$ref": r, "description": d}` into kube's `{"allOf": [{"$ref": r}], "description": d}`
/// (OpenAPI 3.0 ignores siblings of `$ref`), walking only schema positions so a property that
/// happens to be named `$ref` is left alone.
fn normalize_schema(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if map.len() > 1 {
        if let Some(reference) = map.remove("$ref") {
            map.insert("allOf".into(), json!([{ "$ref": reference }]));
        }
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(normalize_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            normalize_schema(child);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(normalize_schema);
        }
    }
}

/// IntOrString and Quantity as kube-apiserver serves them in v3.
fn kube_scalar_shapes(definitions: &mut Map<String, Value>) {
    let shapes = [
        (
            INT_OR_STRING,
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
        ),
        (QUANTITY, json!({"oneOf": [{"type": "string"}, {"type": "number"}]})),
    ];
    for (name, mut shape) in shapes {
        let Some(Value::Object(existing)) = definitions.get(name) else { continue };
        if let (Some(description), Value::Object(shape_map)) = (existing.get("description"), &mut shape) {
            shape_map.insert("description".into(), description.clone());
        }
        definitions.insert(name.to_owned(), shape);
    }
}

/// `(definition, property, patch strategy, merge key)` as declared by kube's Go struct tags (every
/// one of kube 1.34's api/openapi-spec/swagger.json but a List's).
const PATCH_EXTENSIONS: &[(&str, &str, &str, Option<&str>)] = &[
    (OBJECT_META, "finalizers", "merge", None),
    (OBJECT_META, "ownerReferences", "merge", Some("uid")),
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", "merge", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", "merge", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", "merge", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", "merge", Some("ip")),
    ("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", "merge", Some("topologyKey")),
    ("io.k8s.api.core.v1.PodSpec", "resourceClaims", "merge,retainKeys", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "schedulingGates", "merge", Some("name")),
    ("io.k8s.api.core.v1.Container", "ports", "merge", Some("containerPort")),
    ("io.k8s.api.core.v1.Container", "env", "merge", Some("name")),
    ("io.k8s.api.core.v1.Container", "volumeMounts", "merge", Some("mountPath")),
    ("io.k8s.api.core.v1.Container", "volumeDevices", "merge", Some("devicePath")),
    ("io.k8s.api.core.v1.EphemeralContainer", "env", "merge", Some("name")),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts", "merge", Some("mountPath")),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices", "merge", Some("devicePath")),
    ("io.k8s.api.core.v1.PodStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", "merge", Some("ip")),
    ("io.k8s.api.core.v1.PodStatus", "hostIPs", "merge", Some("ip")),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", Some("port")),
    ("io.k8s.api.core.v1.ServiceAccount", "secrets", "merge", Some("name")),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", None),
    ("io.k8s.api.core.v1.NodeStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.NodeStatus", "addresses", "merge", Some("type")),
    ("io.k8s.api.core.v1.NamespaceStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy", "retainKeys", None),
    ("io.k8s.api.apps.v1.DeploymentStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.ReplicationControllerStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.ServiceStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.batch.v1.JobStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.storage.v1.CSINodeSpec", "drivers", "merge", Some("name")),
    (
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhook", "matchConditions", "merge", Some("name")),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", "webhooks", "merge", Some("name")),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec",
        "matchConditions",
        "merge",
        Some("name"),
    ),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "variables", "merge", Some("name")),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "matchConditions", "merge", Some("name")),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", "webhooks", "merge", Some("name")),
    (
        "io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec",
        "matchConditions",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.admissionregistration.v1beta1.MutatingAdmissionPolicySpec",
        "matchConditions",
        "merge",
        Some("name"),
    ),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.certificates.v1alpha1.PodCertificateRequestStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.ComponentStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.core.v1.ContainerStatus", "allocatedResourcesStatus", "merge", Some("name")),
    ("io.k8s.api.core.v1.ContainerStatus", "volumeMounts", "merge", Some("mountPath")),
    ("io.k8s.api.core.v1.EphemeralContainer", "ports", "merge", Some("containerPort")),
    ("io.k8s.api.core.v1.PodStatus", "resourceClaimStatuses", "merge,retainKeys", Some("name")),
    ("io.k8s.api.flowcontrol.v1.FlowSchemaStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.networking.v1.ServiceCIDRStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.networking.v1beta1.ServiceCIDRStatus", "conditions", "merge", Some("type")),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector", "replace", None),
    ("io.k8s.api.resource.v1.ResourceClaimStatus", "reservedFor", "merge", Some("uid")),
    ("io.k8s.api.resource.v1beta1.ResourceClaimStatus", "reservedFor", "merge", Some("uid")),
    ("io.k8s.api.resource.v1beta2.ResourceClaimStatus", "reservedFor", "merge", Some("uid")),
    (
        "io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-validations",
        "merge",
        Some("rule"),
    ),
    (
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
];

fn add_patch_extensions(definitions: &mut Map<String, Value>) {
    for (definition, property, strategy, key) in PATCH_EXTENSIONS {
        let Some(Value::Object(prop)) = definitions
            .get_mut(*definition)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*property))
        else {
            continue;
        };
        prop.insert("x-kubernetes-patch-strategy".into(), Value::from(*strategy));
        if let Some(key) = key {
            prop.insert("x-kubernetes-patch-merge-key".into(), Value::from(*key));
        }
    }
}

/// kube's `x-kubernetes-list-type` (and `x-kubernetes-list-map-keys`) on every list field of
/// the built-in kinds and `x-kubernetes-map-type: atomic` on their atomic structs and maps,
/// read from the field manager's schema of them (generated from kube's OpenAPI): each kind's
/// definition is walked from its root node, along `$ref`s, once.
fn add_list_extensions(definitions: &mut Map<String, Value>, kinds: &BTreeMap<Gvk, String>) {
    let mut seen = BTreeSet::new();
    for ((group, version, kind), name) in kinds {
        if let Some(root) = Builtin::root(group, version, kind) {
            list_extensions_of(definitions, name, root, &mut seen);
        }
    }
    for (definition, discriminator, fields) in UNIONS {
        if let Some(Value::Object(d)) = definitions.get_mut(*definition) {
            let fields: Map<String, Value> =
                fields.iter().map(|(f, v)| ((*f).to_owned(), json!(v))).collect();
            let union = json!([{"discriminator": discriminator, "fields-to-discriminateBy": fields}]);
            d.insert("x-kubernetes-unions".into(), union);
        }
    }
    for (definition, property) in META_ATOMIC_LISTS {
        if let Some(Value::Object(p)) =
            definitions.get_mut(*definition).and_then(|d| d.pointer_mut(&format!("/properties/{property}")))
        {
            p.insert("x-kubernetes-list-type".into(), json!("atomic"));
        }
    }
}

/// The fields of a union, each with the discriminator's value that selects it.
type Discriminated = &'static [(&'static str, &'static str)];

/// kube's `x-kubernetes-unions`: the definitions whose fields a discriminator chooses between,
/// `(definition, discriminator, [(field, discriminator value)])`.
const UNIONS: &[(&str, &str, Discriminated)] = &[
    ("io.k8s.api.core.v1.AppArmorProfile", "type", &[("localhostProfile", "LocalhostProfile")]),
    ("io.k8s.api.core.v1.SeccompProfile", "type", &[("localhostProfile", "LocalhostProfile")]),
    ("io.k8s.api.flowcontrol.v1.LimitResponse", "type", &[("queuing", "Queuing")]),
    (
        "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationSpec",
        "type",
        &[("exempt", "Exempt"), ("limited", "Limited")],
    ),
    (
        "io.k8s.api.flowcontrol.v1.Subject",
        "kind",
        &[("group", "Group"), ("serviceAccount", "ServiceAccount"), ("user", "User")],
    ),
];

/// The list types of meta.k8s.io definitions no kind reaches, all atomic in kube (Status's
/// `details` too, a struct kube marks so).
const META_ATOMIC_LISTS: &[(&str, &str)] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "categories"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "shortNames"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", "resources"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "dryRun"),
    (STATUS, "details"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", "causes"),
];

fn list_extensions_of(
    definitions: &mut Map<String, Value>,
    name: &str,
    node: Node,
    seen: &mut BTreeSet<String>,
) {
    // A struct kube marks atomic (`x-kubernetes-map-type` on the definition), from any path.
    if Builtin.map(node).is_some_and(|m| m.atomic) {
        if let Some(Value::Object(definition)) = definitions.get_mut(name) {
            definition.insert("x-kubernetes-map-type".into(), json!("atomic"));
        }
    }
    if !seen.insert(name.to_owned()) {
        return;
    }
    let Some(Value::Object(properties)) = definitions.get_mut(name).and_then(|d| d.get_mut("properties"))
    else {
        return;
    };
    let mut next: Vec<(String, Node)> = Vec::new();
    for (field, property) in properties.iter_mut() {
        let Some(field_node) = Builtin.field(node, field) else { continue };
        let Value::Object(property) = property else { continue };
        // kube's v3 `default` of a field (the Go zero value of a non-pointer field, or its
        // declared default); v2 carries none.
        if let Some(default) = Builtin.field_default(node, field) {
            with_sibling(property, "default", default);
        }
        if property.get("type").and_then(Value::as_str) == Some("array") {
            let Some(list) = Builtin.list(field_node) else { continue };
            let kind = match list.kind {
                ListKind::Atomic => "atomic",
                ListKind::Set => "set",
                ListKind::Map(keys) => {
                    property
                        .insert("x-kubernetes-list-map-keys".into(), json!(keys.iter().collect::<Vec<_>>()));
                    "map"
                }
            };
            property.insert("x-kubernetes-list-type".into(), json!(kind));
            if let Some(item) = property.get("items").and_then(referenced) {
                next.push((item, list.element));
            }
        } else if let Some(target) = referenced(&Value::Object(property.clone())) {
            next.push((target, field_node));
        } else if property.contains_key("additionalProperties")
            && Builtin.map(field_node).is_some_and(|m| m.atomic)
        {
            property.insert("x-kubernetes-map-type".into(), json!("atomic"));
        }
    }
    for (target, node) in next {
        list_extensions_of(definitions, &target, node, seen);
    }
}

/// Puts `key` beside a schema, wrapping a bare `$ref` in `allOf` as kube does when it has
/// siblings.
fn with_sibling(schema: &mut Map<String, Value>, key: &str, value: Value) {
    if let Some(reference) = schema.remove("$ref") {
        schema.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
    schema.insert(key.into(), value);
}

/// kube's v3 `default` of list items and map values: the Go zero value of a non-pointer
/// element: `""` for strings (not bytes), `0` for integers, `{}` for structs.
fn add_element_defaults(definitions: &mut Map<String, Value>) {
    let structs: BTreeSet<String> = definitions
        .iter()
        .filter(|(_, d)| d.get("type").and_then(Value::as_str) == Some("object"))
        .map(|(name, _)| name.clone())
        .collect();
    for definition in definitions.values_mut() {
        let Some(Value::Object(properties)) = definition.get_mut("properties") else { continue };
        for property in properties.values_mut() {
            for key in ["items", "additionalProperties"] {
                let Some(Value::Object(element)) = property.get_mut(key) else { continue };
                let zero = match (element.get("type").and_then(Value::as_str), element.get("format")) {
                    (Some("string"), None) => Some(json!("")),
                    (Some("integer"), _) if key == "items" => Some(json!(0)),
                    (None, _) => referenced(&Value::Object(element.clone()))
                        .filter(|target| structs.contains(target))
                        .map(|_| json!({})),
                    _ => None,
                };
                if let Some(zero) = zero {
                    with_sibling(element, "default", zero);
                }
            }
        }
    }
}

/// The definition a schema names, bare (`$ref`) or wrapped (`allOf: [{$ref}]`).
fn referenced(schema: &Value) -> Option<String> {
    let reference = schema.get("$ref").or_else(|| schema.pointer("/allOf/0/$ref"))?;
    reference.as_str()?.strip_prefix(REF_PREFIX).map(str::to_owned)
}

/// The `<Kind>List` schema kube generates for a listable kind.
fn list_schema(item: &str, group: &str, version: &str, kind: &str) -> Value {
    let type_meta = json!({
        "apiVersion": {"description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources", "type": "string"},
        "kind": {"description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "type": "string"},
    });
    let mut properties = Map::new();
    if let Value::Object(tm) = type_meta {
        properties.extend(tm);
    }
    properties.insert(
        "items".into(),
        json!({"description": format!("List of {kind} objects."), "items": {"allOf": [schema_ref(item)], "default": {}}, "type": "array"}),
    );
    properties.insert(
        "metadata".into(),
        json!({"allOf": [schema_ref(LIST_META)], "default": {}, "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"}),
    );
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "properties": properties,
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [gvk_value(group, version, &format!("{kind}List"))],
    })
}

/// The discovery kinds and version.Info as kube publishes them: the meta/v1 kinds tagged with
/// the core group's version (they are served at /api and /apis), and required fields in Go's
/// field order rather than schemars' alphabetical one.
fn discovery_shapes(definitions: &mut Map<String, Value>) {
    let shapes: [(&str, Option<&str>, &[&str]); 4] = [
        (API_VERSIONS, Some("APIVersions"), &["versions", "serverAddressByClientCIDRs"]),
        (API_GROUP, Some("APIGroup"), &["name", "versions"]),
        (API_GROUP_LIST, Some("APIGroupList"), &["groups"]),
        (
            VERSION_INFO,
            None,
            &[
                "major",
                "minor",
                "gitVersion",
                "gitCommit",
                "gitTreeState",
                "buildDate",
                "goVersion",
                "compiler",
                "platform",
            ],
        ),
    ];
    for (name, kind, required) in shapes {
        let Some(Value::Object(schema)) = definitions.get_mut(name) else { continue };
        if let Some(kind) = kind {
            schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk_value("", "v1", kind)]));
        }
        // Only a reorder: the same fields, or the schema is left as generated.
        let mut have: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        have.sort_unstable();
        let mut want = required.to_vec();
        want.sort_unstable();
        if have == want {
            schema.insert("required".into(), json!(required));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_only() -> Vec<ResourceSpec> {
        vec![ResourceSpec::new("", "v1", "Pod", "pods", true, &["get", "list", "create", "patch"], &[])]
    }

    #[test]
    fn ref_with_description_becomes_all_of() {
        let catalog = SchemaCatalog::build(&pod_only());
        let pod = &catalog.definitions()["io.k8s.api.core.v1.Pod"];
        let metadata = &pod["properties"]["metadata"];
        assert_eq!(metadata["allOf"][0]["$ref"], format!("{REF_PREFIX}{OBJECT_META}"));
        assert!(metadata.get("$ref").is_none());
        assert!(metadata["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Standard object's metadata")));
    }

    #[test]
    fn gvk_and_patch_extensions_are_set() {
        let catalog = SchemaCatalog::build(&pod_only());
        let defs = catalog.definitions();
        assert_eq!(
            defs["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        assert_eq!(
            defs["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"][0]["kind"],
            "PodList"
        );
        let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert!(defs["io.k8s.api.core.v1.Pod"].get("required").is_none());
        assert_eq!(defs[INT_OR_STRING]["format"], "int-or-string");
        assert_eq!(defs[QUANTITY]["oneOf"][1]["type"], "number");
    }

    #[test]
    fn closure_contains_every_reference() {
        let catalog = SchemaCatalog::build(&pod_only());
        let closure = catalog.closure(["io.k8s.api.core.v1.Pod"], &Value::Null);
        let mut refs = Vec::new();
        collect_refs(&Value::Object(closure.clone()), &mut refs);
        assert!(!refs.is_empty());
        for name in refs {
            assert!(closure.contains_key(&name), "{name} is referenced but missing");
        }
        assert!(closure.contains_key("io.k8s.api.core.v1.Container"));
    }
}

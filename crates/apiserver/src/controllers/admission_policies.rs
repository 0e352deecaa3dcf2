//! ValidatingAdmissionPolicies and their bindings: fed to the ValidatingAdmissionPolicy
//! admission plugin (a re-list replaces them all; a policy is compiled again only when its
//! generation changes), and each policy's status kept as kube's
//! validatingadmissionpolicy-status controller keeps it: once per generation, the type
//! checking warnings of its expressions against the schemas of the kinds it matches
//! (`status.typeChecking`) and `status.observedGeneration`.

use super::Controller;
use crate::informer::{name_of, Event, Informer, InitBuffer};
use crate::objects::Objects;
use crate::state::State;
use admission::policy::typecheck::{self, Gvk, SchemaResolver};
use admission::policy::PolicySet;
use registry::{Catalog, ResourceType};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

const GROUP: &str = "admissionregistration.k8s.io";
const RESOURCES: &[&str] = &["validatingadmissionpolicies", "validatingadmissionpolicybindings"];

struct AdmissionPolicies {
    state: State,
    policies_rt: &'static ResourceType,
    /// The plugin's policies, when the plugin is enabled.
    set: Option<Arc<PolicySet>>,
    init: InitBuffer,
}

fn is_policy(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("ValidatingAdmissionPolicy")
}

#[async_trait::async_trait]
impl Controller for AdmissionPolicies {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            if let Some(set) = &self.set {
                set.replace_all(listed.iter());
            }
            for obj in listed.iter().filter(|o| is_policy(o)) {
                self.check_types(obj).await;
            }
            return;
        }
        match event {
            Event::Apply(obj) => {
                if let Some(set) = &self.set {
                    set.apply(&obj);
                }
                if is_policy(&obj) {
                    self.check_types(&obj).await;
                }
            }
            Event::Delete(obj) => {
                if let Some(set) = &self.set {
                    set.remove(&obj);
                }
            }
            _ => {}
        }
    }
}

impl AdmissionPolicies {
    /// Writes the type checking status of a policy whose generation was not checked yet.
    async fn check_types(&self, policy: &Value) {
        let generation = policy.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        let observed = policy.pointer("/status/observedGeneration").and_then(Value::as_i64).unwrap_or(0);
        if generation <= observed {
            return;
        }
        let openapi = crate::state::openapi(&self.state).await;
        let warnings = {
            let resolver = ServedSchemas::new(&self.state, openapi);
            typecheck::check(policy, &resolver)
        };
        let (_, name) = name_of(policy);
        if let Err(e) = write_status(&self.state.objects, self.policies_rt, name, policy, &warnings).await {
            tracing::debug!(policy = name, error = %e.message, "type checking status not written; the next change retries");
        }
    }
}

/// Replaces the policy's status, if it is still at the revision checked.
async fn write_status(
    objects: &Objects,
    rt: &ResourceType,
    name: &str,
    policy: &Value,
    warnings: &[(String, String)],
) -> Result<(), apimachinery::StatusError> {
    let expected = policy
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|r| r.parse::<u64>().ok());
    let status = typecheck::status(policy, warnings);
    // kube's type checking controller applies the status as `validatingadmissionpolicy-status`.
    let applied = serde_json::json!({
        "apiVersion": policy.get("apiVersion").cloned().unwrap_or_else(|| Value::String(format!("{}/{}", rt.group, rt.version))),
        "kind": rt.kind,
        "metadata": {"name": name},
        "status": status,
    });
    let mut updated = crate::rest::field_manager::record_internal_apply(
        rt,
        policy,
        &applied,
        "validatingadmissionpolicy-status",
        "status",
    )
    .unwrap_or_else(|| {
        let mut updated = policy.clone();
        updated["status"] = status;
        updated
    });
    if let Some(m) = updated.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    objects.update(rt, "", name, &updated, expected).await.map(|_| ())
}

/// Kinds from the catalog and schemas from the served OpenAPI v3 documents (built-in
/// kinds and established custom resources alike).
struct ServedSchemas {
    catalog: &'static Catalog,
    /// `None`: the documents could not be built (no schema is found).
    openapi: Option<Arc<openapi::OpenApi>>,
    /// `components.schemas` of the documents read so far, by group-version path.
    documents: RefCell<HashMap<String, Option<Map<String, Value>>>>,
}

impl ServedSchemas {
    fn new(state: &State, openapi: Option<Arc<openapi::OpenApi>>) -> Self {
        Self { catalog: state.catalog, openapi, documents: RefCell::default() }
    }

    fn schemas(&self, group: &str, version: &str) -> Option<Map<String, Value>> {
        let path =
            if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") };
        let mut docs = self.documents.borrow_mut();
        docs.entry(path.clone())
            .or_insert_with(|| {
                let (bytes, _) = self.openapi.as_ref()?.v3_document(&path)?;
                let doc: Value = serde_json::from_slice(&bytes).ok()?;
                doc.pointer("/components/schemas").and_then(Value::as_object).cloned()
            })
            .clone()
    }
}

impl SchemaResolver for ServedSchemas {
    fn kinds_for(&self, group: &str, version: &str, resource: &str) -> Vec<Gvk> {
        self.catalog
            .lookup(group, version, resource)
            .filter(|r| r.stored)
            .map(|r| vec![(r.group.to_string(), r.version.to_string(), r.kind.to_string())])
            .unwrap_or_default()
    }

    fn shape_of(&self, (group, version, kind): &Gvk) -> Option<kcel::Shape> {
        let schemas = self.schemas(group, version)?;
        let root = schemas.values().find(|s| {
            s.get("x-kubernetes-group-version-kind").and_then(Value::as_array).is_some_and(|gvks| {
                gvks.iter().any(|g| {
                    g.get("group").and_then(Value::as_str) == Some(group)
                        && g.get("version").and_then(Value::as_str) == Some(version)
                        && g.get("kind").and_then(Value::as_str) == Some(kind)
                })
            })
        })?;
        let mut stack = Vec::new();
        Some(kcel::Shape::from_openapi_schema(&inline(root, &schemas, &mut stack)))
    }
}

/// Deepest nesting of references followed (kube's types nest far less; a recursive type
/// is cut where it repeats).
const MAX_REF_DEPTH: usize = 64;

/// `schema` with its `$ref`s (and kube's `allOf: [{$ref}]` wrappers) replaced by what
/// they name; a reference already being inlined (recursion) becomes `{}` (anything).
fn inline(schema: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Some(obj) = schema.as_object() else { return schema.clone() };
    let target = obj.get("$ref").and_then(Value::as_str).or_else(|| {
        match obj.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([one]) => one.get("$ref").and_then(Value::as_str),
            _ => None,
        }
    });
    if let Some(r) = target {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        if stack.contains(&name) || stack.len() >= MAX_REF_DEPTH {
            return Value::Object(Map::new());
        }
        let Some(def) = defs.get(&name) else { return Value::Object(Map::new()) };
        stack.push(name);
        let out = inline(def, defs, stack);
        stack.pop();
        return out;
    }
    let mut out = Map::new();
    for (k, v) in obj {
        let inlined = match k.as_str() {
            "properties" => Value::Object(
                v.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(p, s)| (p.clone(), inline(s, defs, stack)))
                    .collect(),
            ),
            "items" | "additionalProperties" => inline(v, defs, stack),
            _ => v.clone(),
        };
        out.insert(k.clone(), inlined);
    }
    Value::Object(out)
}

/// Feeds the plugin (when enabled) and checks types (always), from the first list on.
pub async fn start(state: &State) -> Result<(), String> {
    let types: Vec<_> = RESOURCES.iter().filter_map(|r| state.catalog.lookup(GROUP, "v1", r)).collect();
    let policies_rt = types.first().copied().ok_or("the catalog serves no ValidatingAdmissionPolicies")?;
    let informer = Informer::new(state.objects.clone(), "admission-policies", types);
    let controller = AdmissionPolicies {
        state: state.clone(),
        policies_rt,
        set: state.admission.validating_policies(),
        init: InitBuffer::default(),
    };
    super::run(informer, controller).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_inlined_and_recursion_is_cut() {
        let defs = json!({
            "A": {"type": "object", "properties": {"b": {"allOf": [{"$ref": "#/components/schemas/B"}], "default": {}}}},
            "B": {"type": "object", "properties": {"n": {"type": "integer"}, "again": {"$ref": "#/components/schemas/B"}}}
        });
        let defs = defs.as_object().unwrap();
        let out = inline(&json!({"$ref": "#/components/schemas/A"}), defs, &mut Vec::new());
        assert_eq!(out["properties"]["b"]["properties"]["n"]["type"], "integer");
        assert_eq!(out["properties"]["b"]["properties"]["again"], json!({}));
    }
}

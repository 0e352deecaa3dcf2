//! An in-memory `AdmissionContext` for tests: objects keyed by group, resource, namespace and
//! name, with a resourceVersion counter so `update_status` can compare-and-swap like a store.
//! A resource can be marked unserved: its lookups then fail as the server's do for a resource
//! missing from its catalog.

use crate::types::{AdmissionContext, KindResource};
use apimachinery::{GroupResource, StatusError};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

type Key = (String, String, String, String);

/// Objects held in memory.
#[derive(Default)]
pub struct MemoryContext {
    objects: Mutex<BTreeMap<Key, Value>>,
    revision: Mutex<u64>,
    unserved: Mutex<Vec<(String, String)>>,
    /// What `authorize` allows: (user, verb, group, resource, name).
    allowed: Mutex<Vec<[String; 5]>>,
    /// The kinds `resource_for_kind` and `resources_for_kind` know beside ConfigMaps.
    kinds: Mutex<Vec<KindResource>>,
    /// Resources holding the same objects (`equivalent_resources`; `convert` between them
    /// changes `apiVersion` only, as a custom resource's `None` conversion).
    equivalents: Mutex<Vec<KindResource>>,
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get("metadata").and_then(|m| m.get(key)).and_then(Value::as_str).unwrap_or("")
}

fn internal(e: impl std::fmt::Display) -> StatusError {
    StatusError::internal(&e.to_string())
}

impl MemoryContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets `authorize` allow `verb` on `resource` named `name` in `group` for `user`
    /// (everything else is denied).
    pub fn allow(&self, user: &str, verb: &str, group: &str, resource: &str, name: &str) {
        if let Ok(mut a) = self.allowed.lock() {
            a.push([user, verb, group, resource, name].map(str::to_string));
        }
    }

    /// Serves `kind` of `group`/`version` as the namespaced `resource` (for
    /// `resource_for_kind` and `resources_for_kind`).
    pub fn serve_kind(&self, group: &str, version: &str, kind: &str, resource: &str) {
        self.serve_kind_scoped(group, version, kind, resource, true);
    }

    /// Serves `kind` as `resource`, namespaced or cluster-scoped.
    pub fn serve_kind_scoped(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        resource: &str,
        namespaced: bool,
    ) {
        if let Ok(mut k) = self.kinds.lock() {
            k.push(KindResource {
                group: group.into(),
                version: version.into(),
                resource: resource.into(),
                kind: kind.into(),
                namespaced,
            });
        }
    }

    /// Declares `resources` as one set of equivalent resources.
    pub fn equivalent(&self, resources: Vec<KindResource>) {
        if let Ok(mut e) = self.equivalents.lock() {
            *e = resources;
        }
    }

    fn next_rv(&self) -> Result<String, StatusError> {
        let mut r = self.revision.lock().map_err(internal)?;
        *r += 1;
        Ok(r.to_string())
    }

    /// Stores (or replaces) an object, giving it a new resourceVersion; returns the stored copy.
    pub fn put(&self, group: &str, resource: &str, mut obj: Value) -> Value {
        let rv = self.next_rv().unwrap_or_default();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv));
        }
        let key = (
            group.to_string(),
            resource.to_string(),
            meta_str(&obj, "namespace").to_string(),
            meta_str(&obj, "name").to_string(),
        );
        if let Ok(mut m) = self.objects.lock() {
            m.insert(key, obj.clone());
        }
        obj
    }

    /// A namespace object with optional labels and phase.
    pub fn put_namespace(&self, name: &str, labels: Value, phase: &str) -> Value {
        self.put(
            "",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels},
                   "status": {"phase": phase}}),
        )
    }

    /// The stored object, if any.
    pub fn object(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (group.to_string(), resource.to_string(), namespace.to_string(), name.to_string());
        self.objects.lock().ok()?.get(&key).cloned()
    }

    pub fn remove(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (group.to_string(), resource.to_string(), namespace.to_string(), name.to_string());
        self.objects.lock().ok()?.remove(&key)
    }

    /// Makes every lookup of `group`/`resource` fail with the internal error the server's
    /// context gives for a resource it does not serve.
    pub fn unserve(&self, group: &str, resource: &str) {
        if let Ok(mut u) = self.unserved.lock() {
            u.push((group.to_string(), resource.to_string()));
        }
    }

    fn check_served(&self, group: &str, resource: &str) -> Result<(), StatusError> {
        let u = self.unserved.lock().map_err(internal)?;
        if u.iter().any(|(g, r)| g == group && r == resource) {
            let gr = GroupResource::new(group, resource);
            return Err(internal(format!("admission asked for unknown resource {gr}")));
        }
        Ok(())
    }
}

#[async_trait]
impl AdmissionContext for MemoryContext {
    fn resource_for_kind(&self, group: &str, version: &str, kind: &str) -> Option<KindResource> {
        if (group, version, kind) == ("", "v1", "ConfigMap") {
            return Some(KindResource {
                group: String::new(),
                version: "v1".into(),
                resource: "configmaps".into(),
                kind: "ConfigMap".into(),
                namespaced: true,
            });
        }
        let k = self.kinds.lock().ok()?;
        k.iter().find(|k| k.group == group && k.version == version && k.kind == kind).cloned()
    }

    fn equivalent_resources(&self, group: &str, resource: &str) -> Vec<KindResource> {
        let e = self.equivalents.lock().map(|e| e.clone()).unwrap_or_default();
        if e.iter().any(|k| k.group == group && k.resource == resource) {
            e
        } else {
            Vec::new()
        }
    }

    fn convert(&self, object: &Value, to: &KindResource) -> Option<Value> {
        let mut o = object.clone();
        let api_version =
            if to.group.is_empty() { to.version.clone() } else { format!("{}/{}", to.group, to.version) };
        o.as_object_mut()?.insert("apiVersion".into(), json!(api_version));
        Some(o)
    }

    async fn authorize(&self, attrs: &apimachinery::Attributes) -> bool {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let asked = [&attrs.user.name, &attrs.verb, &attrs.api_group, &resource, &attrs.name];
        self.allowed.lock().is_ok_and(|a| a.iter().any(|r| r.iter().zip(asked).all(|(x, y)| x == y)))
    }

    fn resources_for_kind(&self, group: &str, version: &str, kind: &str) -> Vec<String> {
        let Ok(kinds) = self.kinds.lock() else { return Vec::new() };
        kinds
            .iter()
            .filter(|k| k.group == group && k.version == version && k.kind == kind)
            .map(|k| k.resource.clone())
            .collect()
    }

    async fn get(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, StatusError> {
        self.check_served(group, resource)?;
        Ok(self.object(group, resource, namespace, name))
    }

    async fn list(&self, group: &str, resource: &str, namespace: &str) -> Result<Vec<Value>, StatusError> {
        self.check_served(group, resource)?;
        let m = self.objects.lock().map_err(internal)?;
        Ok(m.iter()
            .filter(|((g, r, ns, _), _)| {
                g == group && r == resource && (namespace.is_empty() || ns == namespace)
            })
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn update_status(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        object: Value,
    ) -> Result<Value, StatusError> {
        let name = meta_str(&object, "name").to_string();
        let gr = GroupResource::new(group, resource);
        let key = (group.to_string(), resource.to_string(), namespace.to_string(), name.clone());
        let rv = self.next_rv()?;
        let mut m = self.objects.lock().map_err(internal)?;
        let Some(stored) = m.get_mut(&key) else {
            return Err(StatusError::not_found(&gr, &name));
        };
        if meta_str(stored, "resourceVersion") != meta_str(&object, "resourceVersion") {
            return Err(StatusError::stale_update(&gr, &name));
        }
        if let Some(o) = stored.as_object_mut() {
            o.insert("status".into(), object.get("status").cloned().unwrap_or(Value::Null));
        }
        if let Some(meta) = stored.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv));
        }
        Ok(stored.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn update_status_is_compare_and_swap() {
        let ctx = MemoryContext::new();
        let obj = ctx.put("", "resourcequotas", json!({"metadata": {"name": "q", "namespace": "ns"}}));
        let mut next = obj.clone();
        next["status"] = json!({"used": {"pods": "1"}});
        let stored = ctx.update_status("", "resourcequotas", "ns", next.clone()).await.unwrap();
        assert_eq!(stored["status"]["used"]["pods"], "1");
        // the same stale version again conflicts
        let e = ctx.update_status("", "resourcequotas", "ns", next).await.unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(ctx.list("", "resourcequotas", "").await.unwrap().len(), 1);
        assert!(ctx.get("", "resourcequotas", "other", "q").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unserved_resources_fail_like_the_server() {
        let ctx = MemoryContext::new();
        ctx.unserve("scheduling.k8s.io", "priorityclasses");
        let e = ctx.list("scheduling.k8s.io", "priorityclasses", "").await.unwrap_err();
        assert_eq!(e.code, 500);
        assert_eq!(
            e.message,
            "Internal error occurred: admission asked for unknown resource priorityclasses.scheduling.k8s.io"
        );
        assert!(ctx.get("scheduling.k8s.io", "priorityclasses", "", "x").await.is_err());
        assert!(ctx.list("", "pods", "").await.unwrap().is_empty());
    }
}

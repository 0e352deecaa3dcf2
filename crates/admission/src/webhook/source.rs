//! The webhook configurations a webhook plugin reads (kube's webhook configuration
//! manager): written by the server's informer, read by every request as a snapshot swapped
//! whole on each change, each webhook's rules and selectors parsed once. Until the informer
//! has fed a first list (and in tests and embedders that never feed one) the plugin lists
//! the configurations from its [`AdmissionContext`](crate::types::AdmissionContext) per
//! request instead.

use super::match_resources;
use crate::policy::spec::MatchResources;
use crate::types::{array_at, str_at};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// One webhook of a configuration, parsed for matching.
#[derive(Debug)]
pub(crate) struct Hook {
    /// The webhook as stored (client config, policies, conditions).
    pub value: Value,
    /// `configuration/webhook`: what reinvocation is tracked by.
    pub id: String,
    pub rules: MatchResources,
}

/// The webhooks of one configuration object, in order; a webhook without rules applies to
/// nothing and is left out.
pub(crate) fn hooks_of(config: &Value) -> Vec<Arc<Hook>> {
    let name = str_at(config, &["metadata", "name"]).unwrap_or("");
    array_at(config, &["webhooks"])
        .iter()
        .filter_map(|wh| {
            let rules = match_resources(wh);
            if rules.resource_rules.is_empty() {
                return None;
            }
            let id = format!("{name}/{}", str_at(wh, &["name"]).unwrap_or(""));
            Some(Arc::new(Hook { value: wh.clone(), id, rules }))
        })
        .collect()
}

/// The webhooks of `configs` in kube's order: configurations sorted by name, each one's
/// webhooks in order.
pub(crate) fn hooks_in_order(configs: &[Value]) -> Vec<Arc<Hook>> {
    let mut sorted: Vec<&Value> = configs.iter().collect();
    sorted.sort_by(|a, b| str_at(a, &["metadata", "name"]).cmp(&str_at(b, &["metadata", "name"])));
    sorted.into_iter().flat_map(hooks_of).collect()
}

/// What a request reads: every webhook of the plugin's configurations, in kube's order.
pub(crate) type Snapshot = Arc<[Arc<Hook>]>;

/// The configurations of one kind (`MutatingWebhookConfiguration` or
/// `ValidatingWebhookConfiguration`) as the server's informer last saw them.
#[derive(Debug)]
pub struct WebhookSource {
    kind: &'static str,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `None` until the first list was fed.
    configs: Option<BTreeMap<String, Vec<Arc<Hook>>>>,
    snapshot: Option<Snapshot>,
}

impl WebhookSource {
    /// An empty source for configurations of `kind`, not fed yet.
    pub fn new(kind: &'static str) -> Self {
        Self { kind, inner: RwLock::new(Inner::default()) }
    }

    /// The kind of configuration this source holds.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The current webhooks, or `None` when no list was fed yet.
    pub(crate) fn current(&self) -> Option<Snapshot> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).snapshot.clone()
    }

    /// Whether a first list was fed.
    pub fn is_fed(&self) -> bool {
        self.current().is_some()
    }

    fn is_mine(&self, obj: &Value) -> bool {
        obj.get("kind").and_then(Value::as_str) == Some(self.kind)
    }

    /// Replaces every configuration with those of `objects` of this source's kind (after a
    /// (re-)list); from now on requests read them from here.
    pub fn replace_all<'a>(&self, objects: impl IntoIterator<Item = &'a Value>) {
        let configs: BTreeMap<String, Vec<Arc<Hook>>> = objects
            .into_iter()
            .filter(|o| self.is_mine(o))
            .map(|o| (str_at(o, &["metadata", "name"]).unwrap_or("").to_string(), hooks_of(o)))
            .collect();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.configs = Some(configs);
        inner.rebuild();
    }

    /// A configuration was added or changed (ignored before the first list: that list
    /// brings it).
    pub fn apply(&self, obj: &Value) {
        if !self.is_mine(obj) {
            return;
        }
        let name = str_at(obj, &["metadata", "name"]).unwrap_or("").to_string();
        let hooks = hooks_of(obj);
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(configs) = inner.configs.as_mut() {
            configs.insert(name, hooks);
            inner.rebuild();
        }
    }

    /// A configuration was deleted.
    pub fn remove(&self, obj: &Value) {
        if !self.is_mine(obj) {
            return;
        }
        let name = str_at(obj, &["metadata", "name"]).unwrap_or("");
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(configs) = inner.configs.as_mut() {
            configs.remove(name);
            inner.rebuild();
        }
    }
}

impl Inner {
    fn rebuild(&mut self) {
        self.snapshot =
            self.configs.as_ref().map(|c| c.values().flat_map(|hooks| hooks.iter().cloned()).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(name: &str, hooks: &[&str]) -> Value {
        let webhooks: Vec<Value> = hooks
            .iter()
            .map(|h| json!({"name": h, "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]}))
            .collect();
        json!({"kind": "ValidatingWebhookConfiguration", "metadata": {"name": name}, "webhooks": webhooks})
    }

    fn ids(s: &WebhookSource) -> Option<Vec<String>> {
        s.current().map(|hooks| hooks.iter().map(|h| h.id.clone()).collect())
    }

    #[test]
    fn a_source_is_unfed_until_its_first_list_and_keeps_kube_order() {
        let s = WebhookSource::new("ValidatingWebhookConfiguration");
        s.apply(&config("early", &["x"]));
        assert_eq!(ids(&s), None, "an event before the first list is not a state");
        s.replace_all([&config("b", &["b1", "b2"]), &config("a", &["a1"])]);
        assert_eq!(ids(&s).unwrap(), ["a/a1", "b/b1", "b/b2"]);
        s.apply(&config("a", &["a2"]));
        s.apply(&config("0", &["z"]));
        assert_eq!(ids(&s).unwrap(), ["0/z", "a/a2", "b/b1", "b/b2"]);
        s.remove(&config("b", &[]));
        assert_eq!(ids(&s).unwrap(), ["0/z", "a/a2"]);
        let mut other = config("m", &["m1"]);
        other["kind"] = json!("MutatingWebhookConfiguration");
        s.apply(&other);
        assert_eq!(ids(&s).unwrap(), ["0/z", "a/a2"], "another kind's configuration is not held");
        s.replace_all(std::iter::empty());
        assert_eq!(ids(&s).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn webhooks_without_rules_are_left_out() {
        let mut c = config("c", &["with", "without"]);
        c["webhooks"][1]["rules"] = json!([]);
        assert_eq!(hooks_in_order(&[c]).iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["c/with"]);
    }
}

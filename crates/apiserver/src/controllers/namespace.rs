//! Namespace deletion: a namespace marked for deletion (Terminating) is emptied of every
//! namespaced object, then removed (kube's namespace controller and its `kubernetes`
//! finalizer).

use super::Controller;
use crate::informer::{Event, Informer};
use crate::objects::{namespace_and_name, Objects};
use crate::state::State;
use registry::{Catalog, ResourceType};
use serde_json::Value;

struct Namespaces {
    objects: Objects,
    catalog: &'static Catalog,
    namespaces: &'static ResourceType,
}

#[async_trait::async_trait]
impl Controller for Namespaces {
    async fn handle(&mut self, event: Event) {
        if let Event::Apply(ns) | Event::InitApply(ns) = event {
            self.finalize_if_terminating(&ns).await;
        }
    }
}

impl Namespaces {
    async fn finalize_if_terminating(&self, ns: &Value) {
        if ns.pointer("/metadata/deletionTimestamp").is_none() {
            return;
        }
        let Some(name) = ns.pointer("/metadata/name").and_then(Value::as_str) else { return };
        // A resource stored as another (events.k8s.io Events) goes with that one.
        for rt in self.catalog.all().into_iter().filter(|r| r.namespaced && r.stored && r.stored_as.is_none())
        {
            loop {
                let Ok(page) = self.objects.list(rt, name, None, 500).await else { return };
                let mut deleted = 0;
                for kv in &page.items {
                    if let Some((ns, obj)) = namespace_and_name(rt, kv) {
                        deleted += usize::from(self.objects.delete(rt, &ns, &obj, None).await.is_ok());
                    }
                }
                // Done, or stuck: the next change of the namespace tries again.
                if page.continue_token.is_none() || deleted == 0 {
                    break;
                }
            }
        }
        match self.objects.delete(self.namespaces, "", name, None).await {
            Ok(_) => tracing::info!(namespace = name, "namespace deleted"),
            Err(e) => tracing::debug!(namespace = name, error = %e.message, "namespace already gone"),
        }
    }
}

pub async fn start(state: &State) -> Result<(), String> {
    let namespaces =
        state.catalog.lookup("", "v1", "namespaces").ok_or("the catalog serves no Namespaces")?;
    let informer = Informer::new(state.objects.clone(), "namespace", vec![namespaces]);
    let controller = Namespaces { objects: state.objects.clone(), catalog: state.catalog, namespaces };
    super::run(informer, controller).await;
    Ok(())
}

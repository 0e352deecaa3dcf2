//! Mutating and ValidatingWebhookConfigurations, fed to the webhook admission plugins that
//! are enabled (kube's webhook configuration manager): a re-list replaces them all, each
//! change replaces one configuration, so a request reads them from memory instead of
//! listing them from the store. A configuration is used as soon as its watch event arrives.

use super::Controller;
use crate::informer::{Event, Informer, InitBuffer};
use crate::state::State;
use admission::webhook::WebhookSource;
use std::sync::Arc;

const GROUP: &str = "admissionregistration.k8s.io";
const RESOURCES: &[&str] = &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"];

struct WebhookConfigurations {
    sources: Vec<Arc<WebhookSource>>,
    init: InitBuffer,
}

#[async_trait::async_trait]
impl Controller for WebhookConfigurations {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            for s in &self.sources {
                s.replace_all(listed.iter());
            }
            return;
        }
        match event {
            Event::Apply(obj) => self.sources.iter().for_each(|s| s.apply(&obj)),
            Event::Delete(obj) => self.sources.iter().for_each(|s| s.remove(&obj)),
            _ => {}
        }
    }
}

/// Feeds the enabled webhook plugins from the first list on; nothing to do when neither is
/// enabled.
pub async fn start(state: &State) -> Result<(), String> {
    let sources = state.admission.webhook_sources().to_vec();
    if sources.is_empty() {
        return Ok(());
    }
    let types: Vec<_> = RESOURCES.iter().filter_map(|r| state.catalog.lookup(GROUP, "v1", r)).collect();
    if types.len() != RESOURCES.len() {
        return Err("the catalog serves no webhook configurations".into());
    }
    let informer = Informer::new(state.objects.clone(), "webhook-configurations", types);
    super::run(informer, WebhookConfigurations { sources, init: InitBuffer::default() }).await;
    Ok(())
}

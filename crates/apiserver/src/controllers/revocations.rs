//! OIDC revocations (`kubeward oidc revoke`): the ConfigMap
//! `kube-system/kubeward-oidc-revocations` maps users to a time; tokens of that user issued
//! at or before it are refused. Every server follows the ConfigMap through an informer, so
//! a revocation takes effect at once everywhere, unexpired tokens included.

use super::Controller;
use crate::informer::{name_of, Event, Informer, InitBuffer};
use crate::state::State;
use authn::oidc::{RevocationTable, REVOCATION_CONFIGMAP, REVOCATION_NAMESPACE};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

fn data_of(obj: Option<&Value>) -> BTreeMap<String, String> {
    obj.and_then(|o| o.get("data"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

fn is_revocations(obj: &Value) -> bool {
    name_of(obj).1 == REVOCATION_CONFIGMAP
}

struct Revocations {
    table: Arc<RevocationTable>,
    init: InitBuffer,
}

impl Revocations {
    fn set(&self, data: BTreeMap<String, String>) {
        tracing::info!(users = data.len(), "OIDC revocations updated");
        self.table.update_from_configmap_data(&data);
    }
}

#[async_trait::async_trait]
impl Controller for Revocations {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            self.table.update_from_configmap_data(&data_of(listed.iter().find(|o| is_revocations(o))));
            return;
        }
        match event {
            Event::Apply(obj) if is_revocations(&obj) => self.set(data_of(Some(&obj))),
            Event::Delete(obj) if is_revocations(&obj) => self.set(BTreeMap::new()),
            _ => {}
        }
    }
}

pub async fn start(state: &State, table: Arc<RevocationTable>) -> Result<(), String> {
    let config_maps =
        state.catalog.lookup("", "v1", "configmaps").ok_or("the catalog serves no ConfigMaps")?;
    let informer = Informer::new(state.objects.clone(), "oidc-revocations", vec![config_maps])
        .in_namespace(REVOCATION_NAMESPACE);
    super::run(informer, Revocations { table, init: InitBuffer::default() }).await;
    Ok(())
}

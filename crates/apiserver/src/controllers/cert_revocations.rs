//! Certificate revocations (`kubeward revoke cert`, `kubeward offboard`): follows the
//! ConfigMap `kube-system/kubeward-cert-revocations` (`authn::x509_revocation`) and keeps the
//! x509 authenticator's table current. The first list is handled before the server serves,
//! so a revoked certificate is refused after a restart too; later changes arrive by watch.

use super::Controller;
use crate::informer::{name_of, Event, Informer, InitBuffer};
use crate::state::State;
use authn::x509_revocation::{CertRevocations, CERT_REVOCATION_CONFIGMAP, CERT_REVOCATION_NAMESPACE};
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
    name_of(obj).1 == CERT_REVOCATION_CONFIGMAP
}

struct Revocations {
    table: Arc<CertRevocations>,
    init: InitBuffer,
}

impl Revocations {
    fn set(&self, data: BTreeMap<String, String>) {
        self.table.update_from_configmap_data(&data);
        let (serials, subjects) = self.table.len();
        tracing::info!(serials, subjects, "certificate revocations updated");
    }
}

#[async_trait::async_trait]
impl Controller for Revocations {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            self.set(data_of(listed.iter().find(|o| is_revocations(o))));
            return;
        }
        match event {
            Event::Apply(obj) if is_revocations(&obj) => self.set(data_of(Some(&obj))),
            Event::Delete(obj) if is_revocations(&obj) => self.set(BTreeMap::new()),
            _ => {}
        }
    }
}

pub async fn start(state: &State, table: Arc<CertRevocations>) -> Result<(), String> {
    let config_maps =
        state.catalog.lookup("", "v1", "configmaps").ok_or("the catalog serves no ConfigMaps")?;
    let informer = Informer::new(state.objects.clone(), "cert-revocations", vec![config_maps])
        .in_namespace(CERT_REVOCATION_NAMESPACE);
    super::run(informer, Revocations { table, init: InitBuffer::default() }).await;
    Ok(())
}

//! Writing the record of issued client certificates (`pki::records`: the ConfigMap
//! `kube-system/kubeward-issued-certs`) from inside the server: the CSR signer records each
//! certificate before handing it out, `kubeward up` records its admin certificate. A
//! read-modify-write at the stored revision, retried on conflict, so servers sharing a
//! store never lose each other's entries.

use crate::objects::{now_rfc3339, Objects};
use apimachinery::StatusError;
use pki::records::{add_record, IssuedRecord, ISSUED_CONFIGMAP, ISSUED_NAMESPACE};
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Conflicting writers are retried this many times.
const ATTEMPTS: usize = 8;

fn config_maps() -> Result<&'static ResourceType, StatusError> {
    registry::Catalog::global()
        .lookup("", "v1", "configmaps")
        .ok_or_else(|| StatusError::internal("the catalog serves no ConfigMaps"))
}

/// Changes the `data` of ConfigMap `namespace/name` with `change`, creating it when absent.
pub async fn update_configmap_data(
    objects: &Objects,
    namespace: &str,
    name: &str,
    mut change: impl FnMut(&mut BTreeMap<String, String>),
) -> Result<(), StatusError> {
    let rt = config_maps()?;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let current = objects.find(rt, namespace, name).await?;
        let mut data: BTreeMap<String, String> = current
            .as_ref()
            .and_then(|c| c.get("data"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect();
        change(&mut data);
        let written = match current {
            Some(mut cm) => {
                let revision = cm
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse().ok());
                if let Some(meta) = cm.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                }
                cm["data"] = json!(data);
                objects.update(rt, namespace, name, &cm, revision).await
            }
            None => {
                let cm = json!({
                    "kind": "ConfigMap",
                    "apiVersion": "v1",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "uid": uuid::Uuid::new_v4().to_string(),
                        "creationTimestamp": now_rfc3339(),
                    },
                    "data": data,
                });
                objects.create(rt, namespace, name, &cm).await
            }
        };
        match written {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() || e.is_already_exists() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| StatusError::internal("no attempt made")))
}

/// Adds `record` to the cluster's record of issued certificates (expired entries go).
pub async fn record(objects: &Objects, record: &IssuedRecord) -> Result<(), StatusError> {
    let now = pki::time::OffsetDateTime::now_utc();
    update_configmap_data(objects, ISSUED_NAMESPACE, ISSUED_CONFIGMAP, |data| add_record(data, record, now))
        .await
}

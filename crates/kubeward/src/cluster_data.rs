//! The kube-system ConfigMaps the credential commands keep (issued certificates, certificate
//! and OIDC revocations), read and changed through the API with the caller's credentials,
//! so each change is authorized and audited by the server like any other write.

use crate::cli::CliError;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;
use std::collections::BTreeMap;

const ATTEMPTS: usize = 8;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// The `data` of ConfigMap `namespace/name` (empty when it does not exist).
pub async fn read(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, CliError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api.get_opt(name).await.map_err(|e| CliError(format!("reading {namespace}/{name}: {e}")))?;
    Ok(cm.and_then(|c| c.data).unwrap_or_default())
}

/// Changes the `data` of ConfigMap `namespace/name` with `change` (which says whether it
/// changed anything), creating the ConfigMap when absent; retried on conflict. A dry run
/// is sent as one (`dryRun=All`): the server checks it and stores nothing.
pub async fn edit(
    client: &Client,
    namespace: &str,
    name: &str,
    dry_run: bool,
    mut change: impl FnMut(&mut BTreeMap<String, String>) -> bool,
) -> Result<(), CliError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let params = PostParams { dry_run, field_manager: Some("kubeward".into()) };
    for _ in 0..ATTEMPTS {
        let current =
            api.get_opt(name).await.map_err(|e| CliError(format!("reading {namespace}/{name}: {e}")))?;
        let written = match current {
            Some(mut cm) => {
                let mut data = cm.data.take().unwrap_or_default();
                if !change(&mut data) {
                    return Ok(());
                }
                cm.data = Some(data);
                api.replace(name, &params, &cm).await
            }
            None => {
                let mut data = BTreeMap::new();
                if !change(&mut data) {
                    return Ok(());
                }
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.into()),
                        namespace: Some(namespace.into()),
                        ..Default::default()
                    },
                    data: Some(data),
                    ..Default::default()
                };
                api.create(&params, &cm).await
            }
        };
        match written {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(CliError(format!("writing {namespace}/{name}: {e}"))),
        }
    }
    Err(err(format!("writing {namespace}/{name}: conflicting writers, giving up after {ATTEMPTS} attempts")))
}

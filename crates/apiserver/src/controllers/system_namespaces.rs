//! kube-apiserver's system namespaces controller
//! (`pkg/controlplane/controller/systemnamespaces`): every minute, on every server,
//! `kube-system`, `kube-public` and `kube-node-lease` are created when missing, so a deleted
//! one comes back without a restart. A namespace that is terminating still exists and is
//! left alone, as kube's lister finds it.

use crate::objects::Objects;
use crate::state::State;
use registry::ResourceType;
use serde_json::json;
use std::time::Duration;

/// The namespaces kube's controller keeps (`default` is the bootstrap controller's).
pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Creates namespace `name` when it does not exist (written by `kube-apiserver`).
pub(crate) async fn create_if_missing(
    objects: &Objects,
    namespaces: &ResourceType,
    name: &str,
) -> Result<(), String> {
    if objects.find(namespaces, "", name).await.map_err(|e| e.message)?.is_some() {
        return Ok(());
    }
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    crate::rest::field_manager::prepare_internal_create(namespaces, &mut ns, "kube-apiserver");
    match objects.create(namespaces, "", name, &ns).await {
        Ok(_) => {
            tracing::info!(namespace = name, "system namespace created");
            Ok(())
        }
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(e.message),
    }
}

async fn sync(objects: &Objects, namespaces: &ResourceType) {
    for name in SYSTEM_NAMESPACES {
        if let Err(e) = create_if_missing(objects, namespaces, name).await {
            tracing::warn!(namespace = name, error = %e, "unable to create a required system namespace");
        }
    }
}

/// Starts the loop; its first pass is done before this returns.
pub async fn start(state: &State, every: Duration) -> Result<(), String> {
    let namespaces =
        state.catalog.lookup("", "v1", "namespaces").ok_or("the catalog serves no namespaces")?;
    let objects = state.objects.clone();
    sync(&objects, namespaces).await;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            sync(&objects, namespaces).await;
        }
    });
    Ok(())
}

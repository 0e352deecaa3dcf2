//! `kubeward who-can` and `kubeward explain`: answers kube lacks. Both fetch the RBAC
//! policy through the API with the caller's own kubeconfig (so they show only what the
//! caller may read) and evaluate it with the same authorizer the server runs.

use crate::cli::CliError;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::{ApiResource, Discovery};
use kube::Client;
use serde_json::Value;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

pub async fn client(kubeconfig: Option<&str>) -> Result<Client, CliError> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).map_err(err)?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.map_err(err)?
        }
        None => kube::Config::infer().await.map_err(err)?,
    };
    Client::try_from(config).map_err(err)
}

pub use authz::tools::{explain, who_can, Target};

/// Resolves `pods`, `pod`, `deployments.apps`, `pods/log` or `/healthz` as kubectl does.
pub async fn resolve(client: &Client, spec: &str) -> Result<Target, CliError> {
    if spec.starts_with('/') {
        return Ok(Target {
            group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            non_resource_path: Some(spec.to_string()),
        });
    }
    let (res, sub) = spec.split_once('/').unwrap_or((spec, ""));
    let (name, group) = res.split_once('.').map(|(n, g)| (n, Some(g))).unwrap_or((res, None));
    let name = name.to_ascii_lowercase();
    let discovery = Discovery::new(client.clone()).run().await.map_err(err)?;
    for g in discovery.groups() {
        if group.is_some_and(|want| want != g.name()) {
            continue;
        }
        for (ar, _) in g.recommended_resources() {
            if ar.plural == name || ar.kind.to_ascii_lowercase() == name {
                return Ok(Target {
                    group: ar.group.clone(),
                    resource: ar.plural.clone(),
                    subresource: sub.to_string(),
                    non_resource_path: None,
                });
            }
        }
    }
    Err(CliError(format!("the server doesn't have a resource type `{spec}`")))
}

fn rbac_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "rbac.authorization.k8s.io".into(),
        version: "v1".into(),
        api_version: "rbac.authorization.k8s.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Every Role/ClusterRole/RoleBinding/ClusterRoleBinding the caller can list
/// (namespaced kinds in `namespace`, or all namespaces when empty).
pub async fn fetch_policy(client: &Client, namespace: &str) -> Result<Vec<Value>, CliError> {
    let mut out = Vec::new();
    for (kind, plural, namespaced) in [
        ("ClusterRole", "clusterroles", false),
        ("ClusterRoleBinding", "clusterrolebindings", false),
        ("Role", "roles", true),
        ("RoleBinding", "rolebindings", true),
    ] {
        let ar = rbac_resource(kind, plural);
        let api: Api<DynamicObject> = if namespaced && !namespace.is_empty() {
            Api::namespaced_with(client.clone(), namespace, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let list =
            api.list(&ListParams::default()).await.map_err(|e| CliError(format!("listing {plural}: {e}")))?;
        for item in list.items {
            let mut v = serde_json::to_value(&item).map_err(err)?;
            v["apiVersion"] = Value::from("rbac.authorization.k8s.io/v1");
            v["kind"] = Value::from(kind);
            out.push(v);
        }
    }
    Ok(out)
}

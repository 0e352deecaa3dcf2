//! `kubeward offboard USER [--dry-run]`: everything a person could use, ended in one go and
//! each change printed:
//! - RoleBindings and ClusterRoleBindings naming the user: deleted when the user is their
//!   only subject, otherwise the user's subject is removed and the others stay;
//! - client certificates: every recorded one revoked by serial, and every one of the
//!   user's common name valid from now or before revoked by subject (`kubeward revoke`);
//! - OIDC sign-ins issued up to now refused (`kubeward oidc revoke`);
//! - the user's tokens removed from the token file when the server owns it (the data
//!   directory's `tokens.csv`, or `--token-auth-file`); the server re-reads it within a
//!   second.
//!
//! API writes go through the server with the caller's credentials (authorized and audited
//! there); a dry run sends them as server dry runs and leaves the token file alone.

use crate::cli::CliError;
use crate::cluster_data;
use clap::Args;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, Subject};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Client;
use std::path::PathBuf;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

#[derive(Args)]
pub struct OffboardArgs {
    /// The user name as the server sees it (a certificate's CN, an OIDC user with its prefix).
    user: String,
    /// Show what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    kubeconfig: Option<String>,
    /// The token file the server reads (default: `tokens.csv` of the data directory, when
    /// it exists).
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
    data_dir: PathBuf,
}

/// Whether `s` names `user` (a User subject, or the ServiceAccount a
/// `system:serviceaccount:NS:NAME` user is).
fn names_user(s: &Subject, user: &str, binding_ns: &str) -> bool {
    match s.kind.as_str() {
        "User" => s.name == user,
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(binding_ns);
            user == format!("system:serviceaccount:{ns}:{}", s.name)
        }
        _ => false,
    }
}

pub async fn offboard(a: OffboardArgs) -> Result<(), CliError> {
    let client = crate::rbac_tools::client(a.kubeconfig.as_deref()).await?;
    if caller(&client).await?.as_deref() == Some(a.user.as_str()) {
        return Err(CliError(format!("refusing to offboard {}: that is who this command runs as", a.user)));
    }
    let suffix = if a.dry_run { " (dry run)" } else { "" };
    let mut changes = 0;
    for line in bindings(&client, &a.user, a.dry_run).await? {
        println!("{line}{suffix}");
        changes += 1;
    }
    for line in crate::cert_cmds::revoke_subject(&client, &a.user, a.dry_run).await? {
        println!("{line}{suffix}");
        changes += 1;
    }
    let now = chrono::Utc::now();
    let key = authn::oidc::revocation_key(&a.user);
    let at = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (ns, cm) = (authn::oidc::REVOCATION_NAMESPACE, authn::oidc::REVOCATION_CONFIGMAP);
    cluster_data::edit(&client, ns, cm, a.dry_run, |data| {
        data.insert(key.clone(), at.clone());
        true
    })
    .await?;
    println!("OIDC sign-ins of {} issued at or before {at} are refused{suffix}", a.user);
    changes += 1;
    if let Some(line) = tokens(&a)? {
        println!("{line}{suffix}");
        changes += 1;
    }
    println!("{} offboarded: {changes} changes{suffix}", a.user);
    Ok(())
}

/// Who the client is (SelfSubjectReview), when the server says.
async fn caller(client: &Client) -> Result<Option<String>, CliError> {
    use k8s_openapi::api::authentication::v1::SelfSubjectReview;
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api.create(&PostParams::default(), &SelfSubjectReview::default()).await.map_err(err)?;
    Ok(review.status.and_then(|s| s.user_info).and_then(|u| u.username))
}

/// Deletes or trims every binding naming `user`; one line per binding.
async fn bindings(client: &Client, user: &str, dry_run: bool) -> Result<Vec<String>, CliError> {
    let mut lines = Vec::new();
    let delete = DeleteParams { dry_run, ..Default::default() };
    let post = PostParams { dry_run, field_manager: Some("kubeward".into()) };
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    for mut b in crbs.list(&ListParams::default()).await.map_err(err)?.items {
        let name = b.metadata.name.clone().unwrap_or_default();
        let subjects = b.subjects.take().unwrap_or_default();
        let (mine, others): (Vec<Subject>, Vec<Subject>) =
            subjects.into_iter().partition(|s| names_user(s, user, ""));
        if mine.is_empty() {
            continue;
        }
        let what = format!("clusterrolebinding.rbac.authorization.k8s.io/{name}");
        if others.is_empty() {
            crbs.delete(&name, &delete).await.map_err(err)?;
            lines.push(format!("{what} deleted (it named only {user})"));
        } else {
            let left = others.len();
            b.subjects = Some(others);
            crbs.replace(&name, &post, &b).await.map_err(err)?;
            lines.push(format!("{what}: {user} removed, {left} other subject(s) kept"));
        }
    }
    let rbs: Api<RoleBinding> = Api::all(client.clone());
    for mut b in rbs.list(&ListParams::default()).await.map_err(err)?.items {
        let name = b.metadata.name.clone().unwrap_or_default();
        let ns = b.metadata.namespace.clone().unwrap_or_default();
        let subjects = b.subjects.take().unwrap_or_default();
        let (mine, others): (Vec<Subject>, Vec<Subject>) =
            subjects.into_iter().partition(|s| names_user(s, user, &ns));
        if mine.is_empty() {
            continue;
        }
        let api: Api<RoleBinding> = Api::namespaced(client.clone(), &ns);
        let what = format!("rolebinding.rbac.authorization.k8s.io/{name} in namespace {ns}");
        if others.is_empty() {
            api.delete(&name, &delete).await.map_err(err)?;
            lines.push(format!("{what} deleted (it named only {user})"));
        } else {
            let left = others.len();
            b.subjects = Some(others);
            api.replace(&name, &post, &b).await.map_err(err)?;
            lines.push(format!("{what}: {user} removed, {left} other subject(s) kept"));
        }
    }
    Ok(lines)
}

/// Removes the user's lines from the token file the server owns; `None` when there is no
/// such file or it names no token of the user.
fn tokens(a: &OffboardArgs) -> Result<Option<String>, CliError> {
    let path = match &a.token_auth_file {
        Some(p) => p.clone(),
        None => {
            let p = a.data_dir.join(crate::cli::TOKEN_FILE);
            if !p.exists() {
                return Ok(None);
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    let (kept, removed) = authn::token_file::without_user(&text, &a.user)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    if removed == 0 {
        return Ok(None);
    }
    if !a.dry_run {
        pki::write_private(&path, &kept).map_err(err)?;
        tracing::info!(path = %path.display(), user = %a.user, tokens = removed, "tokens removed from the token file");
    }
    Ok(Some(format!("{removed} token(s) of {} removed from {}", a.user, path.display())))
}

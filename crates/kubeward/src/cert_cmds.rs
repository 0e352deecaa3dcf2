//! Client certificates people get and lose: `kubeward kubeconfig` (a kubeconfig with a
//! short-lived certificate from the client CA, recorded in the cluster before it is handed
//! out), `kubeward revoke cert` (by serial or subject, onto the revocation list every
//! server enforces) and `kubeward certs issued` (the record). The revocation helpers are
//! shared with `kubeward offboard`.

use crate::cli::CliError;
use crate::cluster_data;
use authn::x509_revocation::{self as rev, CERT_REVOCATION_CONFIGMAP, CERT_REVOCATION_NAMESPACE};
use clap::Args;
use kube::Client;
use pki::records::{self, IssuedRecord, ISSUED_CONFIGMAP, ISSUED_NAMESPACE};
use pki::time::{Duration, OffsetDateTime};
use std::path::{Path, PathBuf};

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

#[derive(Args)]
pub struct KubeconfigArgs {
    /// The user name (the certificate's CN).
    #[arg(long)]
    user: String,
    /// A group (an O of the certificate); repeatable.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// How long the certificate is valid (not beyond the CA).
    #[arg(long, default_value = "8h", value_parser = crate::flags::parse_duration)]
    ttl: std::time::Duration,
    /// Write the kubeconfig here (mode 0600) instead of to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The data directory of `kubeward up` (its client CA signs the certificate).
    #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
    data_dir: PathBuf,
    /// The kubeconfig that records the certificate in the cluster (default: the admin
    /// kubeconfig of the data directory).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The server the new kubeconfig names (default: that of the admin kubeconfig).
    #[arg(long)]
    server: Option<String>,
}

/// The server URL of a kubeconfig's current context (or its first cluster).
pub(crate) fn server_of(kubeconfig: &Path) -> Result<String, CliError> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).map_err(err)?;
    let cluster_name = kc
        .current_context
        .as_ref()
        .and_then(|c| kc.contexts.iter().find(|n| &n.name == c))
        .and_then(|n| n.context.as_ref())
        .map(|c| c.cluster.clone());
    let cluster = match cluster_name {
        Some(name) => kc.clusters.iter().find(|c| c.name == name),
        None => kc.clusters.first(),
    };
    cluster
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .ok_or_else(|| CliError(format!("{}: no server", kubeconfig.display())))
}

pub async fn kubeconfig(a: KubeconfigArgs) -> Result<(), CliError> {
    if a.user.is_empty() {
        return Err(CliError("--user must not be empty".into()));
    }
    if a.groups.iter().any(|g| g == "system:masters") {
        return Err(CliError(
            "system:masters is not handed out (its members bypass authorization): bind the user to \
             cluster-admin instead"
                .into(),
        ));
    }
    let cluster = pki::ClusterPki::at(&a.data_dir);
    let read = |p: &Path| pki::read_to_string(p).map_err(err);
    let ca = pki::Ca::load(&read(&cluster.ca_cert)?, &read(&cluster.ca_key)?).map_err(err)?;
    let admin = a.kubeconfig.clone().unwrap_or_else(|| a.data_dir.join("admin.kubeconfig"));
    let server = match &a.server {
        Some(s) => s.clone(),
        None => server_of(&admin)?,
    };
    let client = crate::rbac_tools::client(Some(&admin.display().to_string())).await?;
    // A subject revocation refuses certificates valid from before it; start after it.
    let now = OffsetDateTime::now_utc();
    let mut not_before = now - Duration::minutes(5);
    let revoked = cluster_data::read(&client, CERT_REVOCATION_NAMESPACE, CERT_REVOCATION_CONFIGMAP).await?;
    if let Some(at) = revoked.get(&rev::subject_key(&a.user)).and_then(|v| revoked_at(v)) {
        not_before = not_before.max(at + Duration::seconds(1));
    }
    // Revoked within this very second: wait for the next one, so the certificate is valid
    // when it is handed out (X.509 times are whole seconds).
    let now = match not_before - now {
        wait if wait.is_positive() => {
            tokio::time::sleep(std::time::Duration::try_from(wait).unwrap_or_default()).await;
            OffsetDateTime::now_utc()
        }
        _ => now,
    };
    let ttl = Duration::try_from(a.ttl).map_err(err)?;
    let (signed, key_pem) = ca
        .issue_client_between(&a.user, &a.groups, not_before, now.checked_add(ttl).unwrap_or(ca.not_after))
        .map_err(err)?;
    let record = IssuedRecord::of(&signed, &a.user, &a.groups, "kubeward kubeconfig");
    cluster_data::edit(&client, ISSUED_NAMESPACE, ISSUED_CONFIGMAP, false, |data| {
        records::add_record(data, &record, now);
        true
    })
    .await
    .map_err(|e| CliError(format!("the certificate was not recorded, so it is not handed out: {e}")))?;
    tracing::info!(
        user = %a.user,
        groups = ?a.groups,
        serial = %signed.serial,
        not_after = %record.not_after,
        "issued a client certificate"
    );
    let kc = pki::Kubeconfig {
        cluster_name: "kubeward".into(),
        server,
        ca_pem: ca.cert_pem.clone(),
        user_name: a.user.clone(),
        client_cert_pem: Some(signed.cert_pem),
        client_key_pem: Some(key_pem),
        token: None,
    };
    match &a.out {
        Some(path) => {
            pki::write_private(path, &kc.to_yaml()).map_err(err)?;
            eprintln!(
                "kubeconfig for {} written to {} (certificate {} valid until {})",
                a.user,
                path.display(),
                signed.serial,
                record.not_after
            );
        }
        None => print!("{}", kc.to_yaml()),
    }
    Ok(())
}

fn revoked_at(value: &str) -> Option<OffsetDateTime> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(v.get("revokedAt")?.as_str()?).ok()?;
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

#[derive(Args)]
pub struct RevokeCertArgs {
    /// The certificate's serial number, hex as `openssl x509 -serial` prints it.
    #[arg(long, required_unless_present = "subject", conflicts_with = "subject")]
    serial: Option<String>,
    /// Every certificate of this common name (user) valid from now or before.
    #[arg(long)]
    subject: Option<String>,
    /// Revoke a serial this cluster has no record of.
    #[arg(long)]
    force: bool,
    #[arg(long)]
    kubeconfig: Option<String>,
}

pub async fn revoke_cert(a: RevokeCertArgs) -> Result<(), CliError> {
    let client = crate::rbac_tools::client(a.kubeconfig.as_deref()).await?;
    let lines = match (&a.serial, &a.subject) {
        (Some(serial), _) => revoke_serial(&client, serial, a.force).await?,
        (None, Some(subject)) => revoke_subject(&client, subject, false).await?,
        (None, None) => return Err(CliError("--serial or --subject is required".into())),
    };
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

/// The issued certificates the cluster recorded.
pub async fn issued(client: &Client) -> Result<Vec<IssuedRecord>, CliError> {
    let data = cluster_data::read(client, ISSUED_NAMESPACE, ISSUED_CONFIGMAP).await?;
    Ok(records::parse_records(&data))
}

async fn revoke_serial(client: &Client, input: &str, force: bool) -> Result<Vec<String>, CliError> {
    let serial = pki::normalize_serial(input)
        .ok_or_else(|| CliError(format!("`{input}` is not a serial number (hex, as openssl prints it)")))?;
    let record = issued(client).await?.into_iter().find(|r| r.serial == serial);
    if record.is_none() && !force {
        return Err(CliError(format!(
            "no certificate with serial {serial} was issued by this cluster (`kubeward certs issued` lists \
             them); --force revokes it anyway"
        )));
    }
    let now = records::rfc3339(OffsetDateTime::now_utc());
    let key = rev::serial_key(&serial);
    let mut already = false;
    cluster_data::edit(client, CERT_REVOCATION_NAMESPACE, CERT_REVOCATION_CONFIGMAP, false, |data| {
        already = data.contains_key(&key);
        if already {
            return false;
        }
        let (subject, not_after) =
            record.as_ref().map_or(("", None), |r| (r.subject.as_str(), Some(r.not_after.as_str())));
        data.insert(key.clone(), rev::entry_value(&now, subject, not_after));
        rev::drop_expired(data, chrono::Utc::now().timestamp());
        true
    })
    .await?;
    let what = match &record {
        Some(r) => format!("certificate {serial} (subject {}, valid until {})", r.subject, r.not_after),
        None => format!("certificate {serial} (not recorded)"),
    };
    Ok(vec![if already { format!("{what} was already revoked") } else { format!("{what} revoked") }])
}

/// Revokes every recorded certificate of `subject` by serial, and every certificate of it
/// valid from now or before by subject (those nobody recorded); one line per change.
pub async fn revoke_subject(client: &Client, subject: &str, dry_run: bool) -> Result<Vec<String>, CliError> {
    let now = OffsetDateTime::now_utc();
    let now_text = records::rfc3339(now);
    let mine: Vec<IssuedRecord> =
        issued(client).await?.into_iter().filter(|r| r.subject == subject && !r.expired(now)).collect();
    let mut lines = Vec::new();
    cluster_data::edit(client, CERT_REVOCATION_NAMESPACE, CERT_REVOCATION_CONFIGMAP, dry_run, |data| {
        lines.clear();
        for r in &mine {
            if let std::collections::btree_map::Entry::Vacant(e) = data.entry(rev::serial_key(&r.serial)) {
                e.insert(rev::entry_value(&now_text, subject, Some(&r.not_after)));
                lines.push(format!(
                    "certificate {} of {subject} (valid until {}) revoked",
                    r.serial, r.not_after
                ));
            }
        }
        data.insert(rev::subject_key(subject), rev::entry_value(&now_text, subject, None));
        rev::drop_expired(data, now.unix_timestamp());
        lines.push(format!("every certificate of {subject} valid from {now_text} or before is refused"));
        true
    })
    .await?;
    Ok(lines)
}

/// `kubeward certs issued`: the record, newest expiry last, with what is revoked.
pub async fn print_issued(kubeconfig: Option<&str>, user: Option<&str>) -> Result<(), CliError> {
    let client = crate::rbac_tools::client(kubeconfig).await?;
    let mut recs: Vec<IssuedRecord> =
        issued(&client).await?.into_iter().filter(|r| user.is_none_or(|u| r.subject == u)).collect();
    recs.sort_by(|a, b| a.not_after.cmp(&b.not_after));
    let revoked = cluster_data::read(&client, CERT_REVOCATION_NAMESPACE, CERT_REVOCATION_CONFIGMAP).await?;
    let table = authn::x509_revocation::CertRevocations::default();
    table.update_from_configmap_data(&revoked);
    let rows: Vec<[String; 6]> = recs
        .iter()
        .map(|r| {
            let not_before = chrono::DateTime::parse_from_rfc3339(&r.not_before).map_or(0, |t| t.timestamp());
            let is_revoked = table.is_revoked(&r.serial, &r.subject, not_before);
            [
                r.serial.clone(),
                r.subject.clone(),
                if r.groups.is_empty() { "<none>".into() } else { r.groups.join(",") },
                r.not_after.clone(),
                r.issued_by.clone(),
                if is_revoked { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    crate::table::print(&["SERIAL", "SUBJECT", "GROUPS", "EXPIRES", "ISSUED BY", "REVOKED"], &rows);
    Ok(())
}

//! `kubeward certs`: the server's own certificates under kubeadm's names and table
//! (`kubeadm certs check-expiration`, `kubeadm certs renew`): `admin.conf` (the client
//! certificate of the admin kubeconfig), `apiserver` (serving), `front-proxy-client`, and
//! the CAs `ca` and `front-proxy-ca`. A renewed serving certificate is picked up by the
//! running server within a second (it watches the files), so no restart is needed.
//! `kubeward certs issued` lists the client certificates the cluster handed out.

use crate::cli::CliError;
use clap::{Args, Subcommand};
use pki::time::OffsetDateTime;
use pki::ClusterPki;
use std::path::{Path, PathBuf};

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

#[derive(Args)]
pub struct CertsArgs {
    #[command(subcommand)]
    command: CertsCommand,
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Show when the server's certificates and CAs expire (kubeadm's table).
    CheckExpiration {
        #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Issue again `apiserver`, `front-proxy-client`, `admin.conf`, or `all` of them.
    Renew {
        name: String,
        #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The client certificates the cluster issued (CSR signer, `kubeward kubeconfig`,
    /// `kubeward up`) and whether each is revoked.
    Issued {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        kubeconfig: Option<String>,
    },
}

pub async fn certs(a: CertsArgs) -> Result<(), CliError> {
    match a.command {
        CertsCommand::CheckExpiration { data_dir } => {
            print!("{}", check_expiration(&ClusterPki::at(&data_dir), &data_dir, OffsetDateTime::now_utc()));
            Ok(())
        }
        CertsCommand::Renew { name, data_dir } => renew(&data_dir, &name).await,
        CertsCommand::Issued { user, kubeconfig } => {
            crate::cert_cmds::print_issued(kubeconfig.as_deref(), user.as_deref()).await
        }
    }
}

/// The names `renew` knows, in kubeadm's order.
const RENEWABLE: [&str; 4] = ["admin.conf", "apiserver", "apiserver-kubelet-client", "front-proxy-client"];

/// The first certificate's expiry in a PEM file.
fn not_after(pem: &str) -> Option<OffsetDateTime> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = block.parse_x509().ok()?;
    Some(cert.validity().not_after.to_datetime())
}

/// The client certificate embedded in a kubeconfig (its current user's).
fn kubeconfig_cert(path: &Path) -> Option<String> {
    let kc = kube::config::Kubeconfig::read_from(path).ok()?;
    let user = kc.auth_infos.first()?.auth_info.as_ref()?;
    if let Some(data) = &user.client_certificate_data {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
        return String::from_utf8(bytes).ok();
    }
    std::fs::read_to_string(user.client_certificate.as_ref()?).ok()
}

/// kube's `duration.ShortHumanDuration`.
fn short_human_duration(secs: i64) -> String {
    match secs {
        s if s < -1 => "<invalid>".into(),
        s if s < 0 => "0s".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s if s < 86_400 * 365 => format!("{}d", s / 86_400),
        s => format!("{}y", s / 86_400 / 365),
    }
}

/// Go's `Jan 02, 2006 15:04 MST` in UTC.
fn kubeadm_date(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = t.to_offset(pki::time::UtcOffset::UTC);
    let month = MONTHS.get(usize::from(u8::from(t.month())) - 1).copied().unwrap_or("???");
    format!("{month} {:02}, {:04} {:02}:{:02} UTC", t.day(), t.year(), t.hour(), t.minute())
}

/// Go's tabwriter with kubeadm's settings (minimum cell width 10, padding 3): every column
/// but the last padded; rows with a missing cell are printed as kubeadm prints them.
fn tabwrite(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns.saturating_sub(1)];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max((cell.chars().count() + 3).max(10));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get(i) {
                Some(w) if i + 1 < row.len() => out.push_str(&format!("{cell:<w$}")),
                _ => out.push_str(cell),
            }
        }
        out.push('\n');
    }
    out
}

/// kubeadm's `certs check-expiration` table for the data directory's PKI.
pub fn check_expiration(pki: &ClusterPki, data_dir: &Path, now: OffsetDateTime) -> String {
    let expiry = |pem: Option<String>| pem.as_deref().and_then(not_after);
    let file = |p: &Path| std::fs::read_to_string(p).ok();
    let admin = kubeconfig_cert(&data_dir.join("admin.kubeconfig")).or_else(|| file(&pki.admin_cert));
    let leaves = [
        ("admin.conf", expiry(admin), "ca"),
        ("apiserver", expiry(file(&pki.serving_cert)), "ca"),
        ("apiserver-kubelet-client", expiry(file(&pki.kubelet_client_cert)), "ca"),
        ("front-proxy-client", expiry(file(&pki.front_proxy_client_cert)), "front-proxy-ca"),
    ];
    let mut rows = vec![vec![
        "CERTIFICATE".to_string(),
        "EXPIRES".into(),
        "RESIDUAL TIME".into(),
        "CERTIFICATE AUTHORITY".into(),
        "EXTERNALLY MANAGED".into(),
    ]];
    for (name, exp, ca) in leaves {
        rows.push(match exp {
            Some(t) => vec![
                name.into(),
                kubeadm_date(t),
                short_human_duration((t - now).whole_seconds()),
                ca.into(),
                format!("{:<8}", "no"),
            ],
            None => {
                vec![format!("!MISSING! {name}"), String::new(), String::new(), String::new(), String::new()]
            }
        });
    }
    let mut out = tabwrite(&rows);
    out.push('\n');
    let cas =
        [("ca", expiry(file(&pki.ca_cert))), ("front-proxy-ca", expiry(file(&pki.front_proxy_ca_cert)))];
    let mut rows = vec![vec![
        "CERTIFICATE AUTHORITY".to_string(),
        "EXPIRES".into(),
        "RESIDUAL TIME".into(),
        "EXTERNALLY MANAGED".into(),
    ]];
    for (name, exp) in cas {
        rows.push(match exp {
            Some(t) => vec![
                name.into(),
                kubeadm_date(t),
                short_human_duration((t - now).whole_seconds()),
                format!("{:<8}", "no"),
            ],
            None => vec![format!("!MISSING! {name}"), String::new(), String::new(), String::new()],
        });
    }
    out.push_str(&tabwrite(&rows));
    out
}

/// DNS names and IP addresses of a certificate, as text, and its CN.
fn names_of(pem: &str) -> Option<(String, Vec<String>)> {
    use x509_parser::extensions::GeneralName;
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = block.parse_x509().ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .last()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress([a, b, c, d]) => {
                    sans.push(std::net::Ipv4Addr::new(*a, *b, *c, *d).to_string())
                }
                GeneralName::IPAddress(b) => {
                    if let Ok(v6) = <[u8; 16]>::try_from(*b) {
                        sans.push(std::net::Ipv6Addr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Some((cn, sans))
}

async fn renew(data_dir: &Path, name: &str) -> Result<(), CliError> {
    let names: Vec<&str> = match name {
        "all" => RENEWABLE.to_vec(),
        n if RENEWABLE.contains(&n) => vec![n],
        n => {
            return Err(CliError(format!(
                "unknown certificate `{n}`: one of {}, or all",
                RENEWABLE.join(", ")
            )))
        }
    };
    let pki = ClusterPki::at(data_dir);
    let read = |p: &Path| pki::read_to_string(p).map_err(err);
    for n in names {
        match n {
            "apiserver" => {
                let ca = pki::Ca::load(&read(&pki.ca_cert)?, &read(&pki.ca_key)?).map_err(err)?;
                let (cn, sans) = names_of(&read(&pki.serving_cert)?)
                    .ok_or_else(|| CliError(format!("{}: not a certificate", pki.serving_cert.display())))?;
                let issued = ca.issue_serving(&cn, &sans).map_err(err)?;
                // The key first: the server takes a pair only once the certificate matches it.
                pki::write_private(&pki.serving_key, &issued.key_pem).map_err(err)?;
                pki::write_public(&pki.serving_cert, &issued.cert_pem).map_err(err)?;
                println!("certificate for serving the Kubernetes API renewed");
            }
            "apiserver-kubelet-client" => {
                let ca = pki::Ca::load(&read(&pki.ca_cert)?, &read(&pki.ca_key)?).map_err(err)?;
                let issued = ca.issue_client(pki::KUBELET_CLIENT, &[]).map_err(err)?;
                pki::write_private(&pki.kubelet_client_key, &issued.key_pem).map_err(err)?;
                pki::write_public(&pki.kubelet_client_cert, &issued.cert_pem).map_err(err)?;
                println!("certificate for the API server to connect to kubelet renewed");
            }
            "front-proxy-client" => {
                let fp = pki::Ca::load(&read(&pki.front_proxy_ca_cert)?, &read(&pki.front_proxy_ca_key)?)
                    .map_err(err)?;
                let issued = fp.issue_client(pki::FRONT_PROXY_CLIENT, &[]).map_err(err)?;
                pki::write_private(&pki.front_proxy_client_key, &issued.key_pem).map_err(err)?;
                pki::write_public(&pki.front_proxy_client_cert, &issued.cert_pem).map_err(err)?;
                println!("certificate for the front proxy client renewed");
            }
            _ => renew_admin(&pki, data_dir).await?,
        }
    }
    println!();
    println!("Done renewing certificates. The running server uses them as they are: no restart needed.");
    Ok(())
}

/// A new admin certificate in `admin.crt`/`admin.key` and `admin.kubeconfig` (same server),
/// recorded in the cluster when it answers.
async fn renew_admin(pki: &ClusterPki, data_dir: &Path) -> Result<(), CliError> {
    let read = |p: &Path| pki::read_to_string(p).map_err(err);
    let ca = pki::Ca::load(&read(&pki.ca_cert)?, &read(&pki.ca_key)?).map_err(err)?;
    let (signed, key_pem) = ca
        .issue_client_for(pki::ADMIN_USER, &[pki::ADMIN_GROUP.to_string()], pki::time::Duration::days(365))
        .map_err(err)?;
    pki::write_private(&pki.admin_key, &key_pem).map_err(err)?;
    pki::write_public(&pki.admin_cert, &signed.cert_pem).map_err(err)?;
    let kubeconfig = data_dir.join("admin.kubeconfig");
    if let Ok(server) = crate::cert_cmds::server_of(&kubeconfig) {
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server,
            ca_pem: ca.cert_pem.clone(),
            user_name: pki::ADMIN_USER.into(),
            client_cert_pem: Some(signed.cert_pem.clone()),
            client_key_pem: Some(key_pem),
            token: None,
        };
        pki::write_private(&kubeconfig, &kc.to_yaml()).map_err(err)?;
    }
    println!(
        "certificate embedded in the kubeconfig file for the admin to use and for kubeward itself renewed"
    );
    let record = pki::records::IssuedRecord::of(
        &signed,
        pki::ADMIN_USER,
        &[pki::ADMIN_GROUP.into()],
        "kubeward certs renew",
    );
    let recorded = async {
        let client = crate::rbac_tools::client(Some(&kubeconfig.display().to_string())).await?;
        let now = OffsetDateTime::now_utc();
        crate::cluster_data::edit(
            &client,
            pki::records::ISSUED_NAMESPACE,
            pki::records::ISSUED_CONFIGMAP,
            false,
            |d| {
                pki::records::add_record(d, &record, now);
                true
            },
        )
        .await
    };
    if let Err(e) = recorded.await {
        eprintln!("warning: the new admin certificate {} is not recorded in the cluster ({e}); `kubeward up` records it at its next start", signed.serial);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_kubeadms() {
        let dir = tempfile::tempdir().unwrap();
        let pki = ClusterPki::at(dir.path());
        pki.ensure(&[]).unwrap();
        let now = OffsetDateTime::now_utc();
        let table = check_expiration(&pki, dir.path(), now);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED"
        );
        assert!(lines[1].starts_with("admin.conf                 "), "{table}");
        assert!(lines[1].ends_with(" UTC   364d            ca                      no      "), "{table}");
        assert!(lines[2].starts_with("apiserver                  "), "{table}");
        assert!(lines[3].starts_with("apiserver-kubelet-client   "), "{table}");
        assert!(lines[4].starts_with("front-proxy-client         "), "{table}");
        assert!(lines[4].contains("   front-proxy-ca          no"), "{table}");
        assert_eq!(lines[5], "");
        assert_eq!(
            lines[6],
            "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED"
        );
        assert!(lines[7].starts_with("ca                      "), "{table}");
        assert!(lines[7].contains("   9y              no      "), "{table}");
        assert!(lines[8].starts_with("front-proxy-ca          "), "{table}");

        // A missing file is kubeadm's `!MISSING!` row (its name widens the column).
        std::fs::remove_file(&pki.front_proxy_client_cert).unwrap();
        let table = check_expiration(&pki, dir.path(), now);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[4].trim_end(), "!MISSING! front-proxy-client");
        assert!(lines[0].starts_with("CERTIFICATE                    EXPIRES"), "{table}");
    }

    #[test]
    fn durations_and_dates_print_as_kubeadm_prints_them() {
        assert_eq!(short_human_duration(-5), "<invalid>");
        assert_eq!(short_human_duration(59), "59s");
        assert_eq!(short_human_duration(3599), "59m");
        assert_eq!(short_human_duration(86_399), "23h");
        assert_eq!(short_human_duration(86_400 * 364), "364d");
        assert_eq!(short_human_duration(86_400 * 3650), "10y");
        let t = OffsetDateTime::from_unix_timestamp(1_609_371_360).unwrap();
        assert_eq!(kubeadm_date(t), "Dec 30, 2020 23:36 UTC");
    }
}

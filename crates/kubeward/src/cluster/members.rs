//! Membership in one command: `kubeward member list` (every control plane: etcd member
//! id, peer URL, voter or learner, etcd health, its API server and whether that is ready)
//! and `kubeward member remove NAME` (from any healthy member, while the dead one is
//! unreachable: the quorum check first, then the etcd member, the control plane's record
//! and its API server identity Lease, which takes it out of the `kubernetes` endpoints).
//! Besides, the watch a running control plane keeps on the others: a member unreachable
//! for a while is named in the log with the command that removes it.

use super::join::{admin_client, read_records, write_record, Record};
use super::{admin, member_id, NodeConfig};
use crate::cli::CliError;
use clap::{Args, Subcommand};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use storage::etcd::admin::Member;

/// How long a member may be unreachable before the survivors name it.
pub const UNREACHABLE_AFTER: Duration = Duration::from_secs(30);
/// How often the survivors look.
const WATCH_PERIOD: Duration = Duration::from_secs(10);
/// How long one member's health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// An API server whose identity Lease is older than this is not ready.
const API_SERVER_TTL: Duration = Duration::from_secs(15);

#[derive(Args)]
pub struct MemberArgs {
    #[command(subcommand)]
    command: MemberCommand,
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Every control plane of the cluster and its health.
    List {
        #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Remove control plane NAME (its etcd member, its record, its endpoint), refused when the
    /// healthy members would be left without quorum.
    Remove {
        name: String,
        #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub async fn member(a: MemberArgs) -> Result<(), CliError> {
    match a.command {
        MemberCommand::List { data_dir } => list(&dir(&data_dir)?).await,
        MemberCommand::Remove { name, data_dir } => remove(&dir(&data_dir)?, &name).await,
    }
}

fn dir(data_dir: &Path) -> Result<PathBuf, CliError> {
    data_dir.canonicalize().map_err(|e| CliError(format!("{}: {e}", data_dir.display())))
}

fn node_of(data_dir: &Path) -> Result<NodeConfig, CliError> {
    NodeConfig::load(data_dir)?.ok_or_else(|| {
        CliError(format!(
            "{} is not a control plane on a managed etcd (no {}): start one with `kubeward up --cluster-init`",
            data_dir.display(),
            super::NODE_FILE
        ))
    })
}

/// The members, asked of this node's etcd first, then of the peers it knows.
async fn members(data_dir: &Path, node: &NodeConfig) -> Result<Vec<Member>, CliError> {
    let mut endpoints = vec![node.client_url()];
    endpoints.extend(node.peers.iter().cloned());
    let mut last = String::new();
    for endpoint in endpoints {
        match admin(data_dir, std::slice::from_ref(&endpoint), Duration::from_secs(3))?.members().await {
            Ok(m) => return Ok(m),
            Err(e) => last = e.to_string(),
        }
    }
    Err(CliError(format!("no etcd member answers: {last}")))
}

/// Whether each member answers on one of its client URLs (learners too).
async fn health(data_dir: &Path, members: &[Member]) -> BTreeMap<u64, bool> {
    let mut checks = tokio::task::JoinSet::new();
    for m in members {
        let (data_dir, m) = (data_dir.to_path_buf(), m.clone());
        checks.spawn(async move {
            for url in &m.client_urls {
                if let Ok(client) = admin(&data_dir, std::slice::from_ref(url), HEALTH_TIMEOUT) {
                    if client.status().await.is_ok() {
                        return (m.id, true);
                    }
                }
            }
            (m.id, false)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(done) = checks.join_next().await {
        if let Ok((id, healthy)) = done {
            out.insert(id, healthy);
        }
    }
    out
}

/// Which API servers have renewed their identity Lease lately, by node name.
async fn ready_api_servers(client: &kube::Client) -> BTreeMap<String, bool> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let params = kube::api::ListParams::default()
        .labels(&format!("{}=kube-apiserver", apiserver::controllers::kubernetes_service::IDENTITY_LABEL));
    let Ok(leases) = api.list(&params).await else { return BTreeMap::new() };
    let now = std::time::SystemTime::now();
    leases
        .items
        .into_iter()
        .filter_map(|l| {
            let host = l.metadata.labels.as_ref()?.get("kubernetes.io/hostname")?.clone();
            let renewed = l.spec.and_then(|s| s.renew_time).map(|t| std::time::SystemTime::from(t.0));
            let fresh =
                renewed.is_some_and(|t| now.duration_since(t).map_or(true, |age| age <= API_SERVER_TTL));
            Some((host, fresh))
        })
        .collect()
}

async fn list(data_dir: &Path) -> Result<(), CliError> {
    let node = node_of(data_dir)?;
    let members = members(data_dir, &node).await?;
    let health = health(data_dir, &members).await;
    let (records, ready) = match admin_client(data_dir).await {
        Ok((client, _)) => {
            (read_records(&client).await.unwrap_or_default(), ready_api_servers(&client).await)
        }
        Err(_) => (Vec::new(), BTreeMap::new()),
    };
    let mut rows = vec![vec![
        "NAME".to_string(),
        "MEMBER ID".into(),
        "PEER URL".into(),
        "ROLE".into(),
        "ETCD".into(),
        "API SERVER".into(),
    ]];
    let mut dead = Vec::new();
    for m in &members {
        let name = if m.name.is_empty() { "(not started)".to_string() } else { m.name.clone() };
        let healthy = health.get(&m.id).copied().unwrap_or(false);
        if !healthy {
            dead.push(name.clone());
        }
        let api = records.iter().find(|r| r.name == m.name).map(|r| {
            let state = match ready.get(&r.name) {
                Some(true) => "ready",
                _ => "not ready",
            };
            format!("{} ({state})", r.api_server)
        });
        rows.push(vec![
            name,
            member_id(m.id),
            m.peer_urls.first().cloned().unwrap_or_default(),
            if m.is_learner { "learner" } else { "voter" }.into(),
            if healthy { "healthy" } else { "unreachable" }.into(),
            api.unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", table(&rows));
    for name in dead {
        println!("control plane `{name}` is unreachable; if it is gone for good, remove it: kubeward member remove {name}");
    }
    Ok(())
}

fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| if i + 1 == row.len() { c.clone() } else { format!("{c:<w$}", w = widths[i] + 3) })
            .collect();
        out.push_str(cells.concat().trim_end());
        out.push('\n');
    }
    out
}

/// Why a removal would cost the healthy members their quorum, if it would (etcd's strict
/// reconfiguration check: the voters left must have a healthy majority).
pub fn quorum_refusal(members: &[Member], health: &BTreeMap<u64, bool>, target: &Member) -> Option<String> {
    let voters: Vec<&Member> = members.iter().filter(|m| !m.is_learner).collect();
    if !target.is_learner && voters.len() == 1 {
        return Some(format!(
            "refusing to remove `{}`: it is the last voting member of the cluster",
            target.name
        ));
    }
    // The change itself is a raft proposal: the voters as they are must have a quorum.
    let healthy_now = voters.iter().filter(|m| health.get(&m.id).copied().unwrap_or(false)).count();
    if healthy_now < voters.len() / 2 + 1 {
        return Some(format!(
            "refusing to remove `{}`: the cluster has lost quorum ({healthy_now} of {} voting members healthy), so etcd cannot change its membership; \
             recover with `kubeward up --cluster-reset` on one survivor, then wipe the others' data and join them again",
            target.name,
            voters.len()
        ));
    }
    let left: Vec<&&Member> = voters.iter().filter(|m| m.id != target.id).collect();
    let healthy = left.iter().filter(|m| health.get(&m.id).copied().unwrap_or(false)).count();
    let quorum = left.len() / 2 + 1;
    (healthy < quorum).then(|| {
        format!(
            "refusing to remove `{}`: the {} voting members left need {quorum} healthy for quorum, and {healthy} are healthy",
            target.name,
            left.len()
        )
    })
}

async fn remove(data_dir: &Path, name: &str) -> Result<(), CliError> {
    let node = node_of(data_dir)?;
    let members = members(data_dir, &node).await?;
    let Some(target) = members.iter().find(|m| m.name == name || member_id(m.id) == name).cloned() else {
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        return Err(CliError(format!(
            "no control plane named `{name}` in the cluster (members: {}); `kubeward member list` shows them",
            names.join(", ")
        )));
    };
    if Some(target.id) == node.member_id {
        return Err(CliError(format!(
            "`{name}` is this control plane: run `kubeward member remove {name}` on another one"
        )));
    }
    let health = health(data_dir, &members).await;
    if let Some(refusal) = quorum_refusal(&members, &health, &target) {
        return Err(CliError(refusal));
    }
    let healthy: Vec<String> = members
        .iter()
        .filter(|m| health.get(&m.id).copied().unwrap_or(false))
        .flat_map(|m| m.client_urls.iter().cloned())
        .collect();
    let left = admin(data_dir, &healthy, Duration::from_secs(10))?
        .remove(target.id)
        .await
        .map_err(|e| CliError(format!("etcd refused to remove `{name}`: {e}")))?;
    println!(
        "removed etcd member {} (`{}`, {}); {} members left",
        member_id(target.id),
        target.name,
        target.peer_urls.first().cloned().unwrap_or_default(),
        left.len()
    );
    match admin_client(data_dir).await {
        Ok((client, _)) => {
            match write_record(&client, &target.name, None).await {
                Ok(()) => {
                    println!("removed the control plane's record from kube-system/{}", super::join::RECORDS)
                }
                Err(e) => println!("the control plane's record was not removed: {e}"),
            }
            let lease = apiserver::controllers::kubernetes_service::identity_lease_name(&target.name);
            let api: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
            match api.delete(&lease, &Default::default()).await {
                Ok(_) => println!(
                    "removed its API server identity Lease kube-system/{lease}: the kubernetes Service's endpoints drop it within 10s"
                ),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => println!("its identity Lease kube-system/{lease} was not removed: {e}"),
            }
        }
        Err(e) => {
            println!("the API server is not reachable ({e}): the record and identity Lease of `{name}` stay")
        }
    }
    Ok(())
}

/// Records this control plane (so joining nodes and `member list` find it), then watches
/// the other members: one unreachable for [`UNREACHABLE_AFTER`] is logged with the
/// command that removes it (again every minute), and the peers this node knows are kept
/// current.
pub fn watch(data_dir: PathBuf, api_server: String) {
    tokio::spawn(async move {
        let mut recorded = false;
        let mut down_since: BTreeMap<u64, Instant> = BTreeMap::new();
        let mut said: BTreeMap<u64, Instant> = BTreeMap::new();
        loop {
            let Ok(Some(mut node)) = NodeConfig::load(&data_dir) else { return };
            if !recorded {
                if let Ok((client, _)) = admin_client(&data_dir).await {
                    recorded = write_record(&client, &node.node_name, Some(&Record::of(&node, &api_server)))
                        .await
                        .is_ok();
                }
            }
            if let Ok(members) = members(&data_dir, &node).await {
                let health = health(&data_dir, &members).await;
                for m in members.iter().filter(|m| Some(m.id) != node.member_id) {
                    if health.get(&m.id).copied().unwrap_or(false) {
                        down_since.remove(&m.id);
                        said.remove(&m.id);
                        continue;
                    }
                    let since = *down_since.entry(m.id).or_insert_with(Instant::now);
                    let due = said.get(&m.id).is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
                    if since.elapsed() >= UNREACHABLE_AFTER && due {
                        let remove = format!("kubeward member remove {}", m.name);
                        tracing::warn!(
                            member = %m.name,
                            id = %member_id(m.id),
                            peer = %m.peer_urls.first().cloned().unwrap_or_default(),
                            unreachable_for = ?since.elapsed(),
                            command = %remove,
                            "control plane `{}` has been unreachable for {}s; if it is gone for good, remove it: {remove}",
                            m.name,
                            since.elapsed().as_secs()
                        );
                        said.insert(m.id, Instant::now());
                    }
                }
                down_since.retain(|id, _| members.iter().any(|m| m.id == *id));
                // Records of control planes etcd no longer has (removed while this one was
                // away, or forgotten by a --cluster-reset) go.
                if recorded {
                    if let Ok((client, _)) = admin_client(&data_dir).await {
                        for r in read_records(&client).await.unwrap_or_default() {
                            if !members.iter().any(|m| m.name == r.name) {
                                tracing::info!(member = %r.name, "forgetting the record of a control plane etcd no longer lists");
                                let _ = write_record(&client, &r.name, None).await;
                            }
                        }
                    }
                }
                let peers: Vec<String> = members
                    .iter()
                    .filter(|m| Some(m.id) != node.member_id)
                    .flat_map(|m| m.client_urls.iter().cloned())
                    .collect();
                if peers != node.peers && !peers.is_empty() {
                    node.peers = peers;
                    let _ = node.save(&data_dir);
                }
            }
            tokio::time::sleep(WATCH_PERIOD).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64, learner: bool) -> Member {
        Member { id, name: format!("n{id}"), peer_urls: vec![], client_urls: vec![], is_learner: learner }
    }

    #[test]
    fn quorum_is_checked_as_etcd_does() {
        let three = [m(1, false), m(2, false), m(3, false)];
        let all_but_3: BTreeMap<u64, bool> = [(1, true), (2, true), (3, false)].into();
        assert_eq!(
            quorum_refusal(&three, &all_but_3, &three[2]),
            None,
            "removing the dead one leaves 2 of 2"
        );
        // Removing a healthy member while another is dead leaves 1 healthy of 2.
        let refusal = quorum_refusal(&three, &all_but_3, &three[0]).unwrap();
        assert!(refusal.contains("need 2 healthy") && refusal.contains("1 are healthy"), "{refusal}");
        let only_1: BTreeMap<u64, bool> = [(1, true), (2, false), (3, false)].into();
        assert!(quorum_refusal(&three, &only_1, &three[2]).unwrap().contains("lost quorum"));
        let two = [m(1, false), m(2, false)];
        let lost = quorum_refusal(&two, &[(1, true), (2, false)].into(), &two[1]).unwrap();
        assert!(lost.contains("lost quorum") && lost.contains("--cluster-reset"), "{lost}");
        let one = [m(1, false), m(2, true)];
        assert!(quorum_refusal(&one, &[(1, true), (2, true)].into(), &one[0])
            .unwrap()
            .contains("last voting member"));
        assert_eq!(
            quorum_refusal(&one, &[(1, true), (2, false)].into(), &one[1]),
            None,
            "a learner goes freely"
        );
    }
}

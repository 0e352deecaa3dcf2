//! etcd's Cluster and Maintenance APIs for the control planes kubeward manages: members
//! (list, add as learner, promote, remove), one member's status (its leader, whether it is a
//! learner, its raft index) and the snapshot stream.
//!
//! Beside the object store, not part of it: an [`EtcdAdmin`] talks to the endpoints it is
//! given, one at a time, never requiring a leader (a member list must answer while the
//! cluster is without quorum, to say so).

use std::time::Duration;

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::{
    MemberAddRequest, MemberListRequest, MemberPromoteRequest, MemberRemoveRequest, SnapshotRequest,
    StatusRequest,
};
use tonic::transport::{Channel, Endpoint};

use super::{EtcdOptions, EtcdTls};
use crate::store::StoreError;

/// One etcd member as the cluster lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// etcd's member id.
    pub id: u64,
    /// The member's name (kubeward names members after their control plane's node name);
    /// empty for a member added but not started yet.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    /// A learner receives the log but does not vote.
    pub is_learner: bool,
}

/// What one member says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// The id of the member answering.
    pub member_id: u64,
    /// The leader it follows; 0 when it has none.
    pub leader: u64,
    pub is_learner: bool,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub version: String,
    /// Alarms and errors the member reports.
    pub errors: Vec<String>,
}

/// An administrative client of an etcd cluster.
#[derive(Clone)]
pub struct EtcdAdmin {
    cluster: ClusterClient<Channel>,
    maintenance: MaintenanceClient<Channel>,
    endpoints: String,
    timeout: Duration,
}

/// An error of an administrative request, with etcd's own words.
fn failed(what: &str, endpoints: &str, status: &tonic::Status) -> StoreError {
    StoreError::Unavailable(format!("etcd at {endpoints}: {what}: {}", status.message()))
}

impl EtcdAdmin {
    /// A client of the member(s) at `endpoints`, with the TLS and timeouts of `options`
    /// (`request_timeout` bounds each request). Connections are made on the first request.
    pub fn new(endpoints: &[String], options: &EtcdOptions) -> Result<EtcdAdmin, StoreError> {
        if endpoints.is_empty() {
            return Err(StoreError::Unavailable("no etcd endpoints given".into()));
        }
        let listed = endpoints.join(",");
        let tls = options.tls.as_ref().map(super::client::tls_config).transpose().map_err(|reason| {
            StoreError::Unavailable(format!("cannot connect to etcd at {listed}: {reason}"))
        })?;
        let mut list = Vec::new();
        for url in endpoints {
            let mut endpoint = Endpoint::from_shared(url.clone())
                .map_err(|err| StoreError::Unavailable(format!("`{url}`: {err}")))?
                .connect_timeout(options.dial_timeout);
            if url.starts_with("https://") {
                let config = tls.clone().unwrap_or_default();
                endpoint = endpoint
                    .tls_config(config)
                    .map_err(|err| StoreError::Unavailable(format!("`{url}`: TLS: {err}")))?;
            }
            list.push(endpoint);
        }
        let channel = Channel::balance_list(list.into_iter());
        Ok(EtcdAdmin {
            cluster: ClusterClient::new(channel.clone()),
            maintenance: MaintenanceClient::new(channel).max_decoding_message_size(64 << 20),
            endpoints: listed,
            timeout: options.request_timeout,
        })
    }

    async fn bounded<T>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(answer)) => Ok(answer.into_inner()),
            Ok(Err(status)) => Err(failed(what, &self.endpoints, &status)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "etcd at {}: {what}: no answer within {:?}",
                self.endpoints, self.timeout
            ))),
        }
    }

    /// Every member of the cluster.
    pub async fn members(&self) -> Result<Vec<Member>, StoreError> {
        let mut client = self.cluster.clone();
        let answer = self.bounded("list members", client.member_list(MemberListRequest::default())).await?;
        Ok(answer.members.into_iter().map(member).collect())
    }

    /// Adds a member at `peer_url` (a learner when asked); answers it and every member
    /// after the change.
    pub async fn add(&self, peer_url: &str, learner: bool) -> Result<(Member, Vec<Member>), StoreError> {
        let mut client = self.cluster.clone();
        let request = MemberAddRequest { peer_ur_ls: vec![peer_url.to_owned()], is_learner: learner };
        let answer = self.bounded("add a member", client.member_add(request)).await?;
        let added = answer
            .member
            .map(member)
            .ok_or_else(|| StoreError::Internal("etcd added a member without saying which".into()))?;
        Ok((added, answer.members.into_iter().map(member).collect()))
    }

    /// Promotes a learner to a voting member; etcd refuses until it has caught up.
    pub async fn promote(&self, id: u64) -> Result<(), StoreError> {
        let mut client = self.cluster.clone();
        self.bounded("promote the learner", client.member_promote(MemberPromoteRequest { id })).await?;
        Ok(())
    }

    /// Removes a member (etcd refuses when that would cost the cluster its quorum).
    pub async fn remove(&self, id: u64) -> Result<Vec<Member>, StoreError> {
        let mut client = self.cluster.clone();
        let answer =
            self.bounded("remove the member", client.member_remove(MemberRemoveRequest { id })).await?;
        Ok(answer.members.into_iter().map(member).collect())
    }

    /// The status of the member this client reaches (give one endpoint to ask one member).
    pub async fn status(&self) -> Result<MemberStatus, StoreError> {
        let mut client = self.maintenance.clone();
        let answer = self.bounded("read the status", client.status(StatusRequest::default())).await?;
        Ok(MemberStatus {
            member_id: answer.header.map(|h| h.member_id).unwrap_or_default(),
            leader: answer.leader,
            is_learner: answer.is_learner,
            raft_index: answer.raft_index,
            raft_applied_index: answer.raft_applied_index,
            version: answer.version,
            errors: answer.errors,
        })
    }

    /// Streams a snapshot of the member's database (etcd's snapshot file format, which
    /// `etcdutl snapshot restore` reads) into `out`; answers its size in bytes. The time
    /// bound is per message, not for the whole stream.
    pub async fn snapshot(&self, out: &mut (impl std::io::Write + Send)) -> Result<u64, StoreError> {
        let mut client = self.maintenance.clone();
        let mut stream = self.bounded("take a snapshot", client.snapshot(SnapshotRequest {})).await?;
        let mut written = 0u64;
        loop {
            let next = tokio::time::timeout(self.timeout, stream.message()).await.map_err(|_| {
                StoreError::Unavailable(format!("etcd at {}: snapshot: stalled", self.endpoints))
            })?;
            match next {
                Ok(Some(part)) => {
                    out.write_all(&part.blob)
                        .map_err(|e| StoreError::Internal(format!("writing the snapshot: {e}")))?;
                    written += part.blob.len() as u64;
                }
                Ok(None) => return Ok(written),
                Err(status) => return Err(failed("snapshot", &self.endpoints, &status)),
            }
        }
    }
}

fn member(m: etcd_proto::etcdserverpb::Member) -> Member {
    Member {
        id: m.id,
        name: m.name,
        peer_urls: m.peer_ur_ls,
        client_urls: m.client_ur_ls,
        is_learner: m.is_learner,
    }
}

/// TLS options for a client of kubeward's managed etcd.
pub fn tls(
    ca_file: std::path::PathBuf,
    cert_file: std::path::PathBuf,
    key_file: std::path::PathBuf,
) -> EtcdTls {
    EtcdTls { ca_file, cert_file: Some(cert_file), key_file: Some(key_file) }
}

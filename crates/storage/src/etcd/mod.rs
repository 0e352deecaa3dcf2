//! The etcd backend: the [`Store`] trait over an etcd v3 cluster, so several kubeward servers can
//! share one etcd (kube-apiserver's `--etcd-servers` model).
//!
//! etcd's revision is the store's revision: a key's `mod_revision` is the object's
//! `resourceVersion`, as in kube. Every key is stored under [`EtcdOptions::prefix`].
//!
//! - Reads are linearizable range requests (a prefix is the range `[prefix, prefix_end)`); a
//!   list at a past revision is a range at that revision.
//! - Writes are transactions whose compare decides the precondition (`create_revision == 0` for
//!   create, `mod_revision == expected` for compare-and-swap); the failure branch reads the key so
//!   `Conflict` carries its current value. etcd acknowledges a write once it is in a quorum's
//!   fsync'd log, which is the store's durability rule.
//! - Watches (module `watch`) are etcd watches from `after + 1` with previous values.
//! - Module `client` owns the gRPC plumbing (over the generated code of the `etcd-proto` crate),
//!   `keys` the key mapping, `convert` the mapping of etcd's answers and errors.
//! - `TestEtcd` (feature `testing`, module `process`) runs a throwaway etcd for tests.

mod client;
mod convert;
mod keys;
#[cfg(feature = "testing")]
mod process;
mod watch;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget};
use etcd_proto::etcdserverpb::response_op::Response as OpResponse;
use etcd_proto::etcdserverpb::{CompactionRequest, RangeRequest, RequestOp, TxnRequest, TxnResponse};
use futures::TryFutureExt;

use self::client::{Kv, Watch};
use self::convert::{etcd_revision, header_revision, key_value, Fault};
use self::keys::KeySpace;
use crate::store::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

#[cfg(feature = "testing")]
pub use self::process::TestEtcd;

/// TLS towards etcd (kube-apiserver's `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTls {
    /// PEM bundle of the CA(s) that sign etcd's serving certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate, for etcd's `--client-cert-auth`; together with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// Prepended to every key in etcd (kube's `--etcd-prefix` lives above this layer; this one
    /// lets several independent stores share a cluster). Default: empty.
    pub prefix: String,
    /// TLS settings; endpoints without a scheme then use `https`. Default: none (plain HTTP/2).
    pub tls: Option<EtcdTls>,
    /// The most time to establish a connection, and for [`EtcdStore::connect`]'s first request.
    pub dial_timeout: Duration,
    /// The most time one request (not a watch) may take before it fails with `Unavailable`.
    pub request_timeout: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            prefix: String::new(),
            tls: None,
            dial_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every clone of the store's handles shares.
#[derive(Clone)]
pub(crate) struct Conn {
    kv: Kv,
    watch: Watch,
    keys: KeySpace,
    /// The endpoints, for error messages.
    endpoints: Arc<str>,
    request_timeout: Duration,
}

impl Conn {
    /// Runs one etcd request within the request timeout, classifying its failure.
    async fn bounded<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, Fault> {
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => Err(convert::fault(what, &self.endpoints, err)),
            Err(_) => Err(Fault::Other(StoreError::Unavailable(format!(
                "etcd at {}: {what}: no answer within {:?}",
                self.endpoints, self.request_timeout
            )))),
        }
    }

    /// [`Conn::bounded`] for requests where compaction and future revisions are not expected.
    async fn request<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, StoreError> {
        self.bounded(what, request).await.map_err(|fault| fault.into_store_error(what, &self.endpoints))
    }

    /// A cheap linearizable read of one key, for its header: the current revision, or (with
    /// `at`) whether that revision is still in history.
    async fn probe(&self, at: Option<i64>) -> Result<Revision, Fault> {
        let request = RangeRequest {
            count_only: true,
            revision: at.unwrap_or(0),
            ..client::range(self.keys.probe_key(), Vec::new())
        };
        let mut kv = self.kv.clone();
        let answer =
            self.bounded("read the revision", kv.range(request).map_ok(tonic::Response::into_inner)).await?;
        header_revision(answer.header.as_ref()).map_err(Fault::Other)
    }

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.probe(None).await.map_err(|fault| fault.into_store_error("read the revision", &self.endpoints))
    }

    async fn txn(&self, what: &str, txn: TxnRequest) -> Result<TxnResponse, StoreError> {
        let mut kv = self.kv.clone();
        self.request(what, kv.txn(txn).map_ok(tonic::Response::into_inner)).await
    }

    /// The key as the failure branch of a write transaction read it.
    fn read_back(&self, answer: TxnResponse) -> Result<Option<KeyValue>, StoreError> {
        for op in answer.responses {
            if let Some(OpResponse::ResponseRange(get)) = op.response {
                return get.kvs.into_iter().next().map(|kv| key_value(&self.keys, kv)).transpose();
            }
        }
        Err(StoreError::Internal("etcd answered a failed transaction without the key's value".into()))
    }
}

/// The [`Store`] over an etcd v3 cluster. Cheap to share behind an `Arc`; every request is
/// bounded by [`EtcdOptions::request_timeout`].
pub struct EtcdStore {
    conn: Conn,
}

impl EtcdStore {
    /// Connects to the etcd cluster at `endpoints` (`host:port`, `http://host:port` or
    /// `https://host:port`) and checks that it answers within [`EtcdOptions::dial_timeout`].
    /// Every failure is [`StoreError::Unavailable`] with the reason.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<EtcdStore, StoreError> {
        let listed = endpoints.join(",");
        if endpoints.is_empty() {
            return Err(StoreError::Unavailable("no etcd endpoints given".into()));
        }
        // Require a leader, as kube-apiserver does for watches (module `client`).
        let unreachable =
            |reason: String| StoreError::Unavailable(format!("cannot connect to etcd at {listed}: {reason}"));
        let (kv, watch) = client::connect(endpoints, &options).map_err(unreachable)?;
        let conn = Conn {
            kv,
            watch,
            keys: KeySpace::new(&options.prefix),
            endpoints: Arc::from(listed.as_str()),
            request_timeout: options.dial_timeout,
        };
        let revision = conn.probe(None).await.map_err(|fault| match fault {
            Fault::Other(StoreError::Unavailable(reason)) => StoreError::Unavailable(reason),
            Fault::Other(err) => unreachable(err.to_string()),
            Fault::Compacted | Fault::FutureRevision => unreachable("unexpected answer".into()),
        })?;
        tracing::info!(endpoints = %listed, prefix = %options.prefix, revision, "connected to etcd");
        Ok(EtcdStore { conn: Conn { request_timeout: options.request_timeout, ..conn } })
    }

    /// The endpoints this store talks to, comma-separated.
    pub fn endpoints(&self) -> &str {
        &self.conn.endpoints
    }
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let conn = &self.conn;
        let mut kv = conn.kv.clone();
        let answer = conn
            .request(
                "get",
                kv.range(client::range(conn.keys.key(key), Vec::new())).map_ok(tonic::Response::into_inner),
            )
            .await?;
        answer.kvs.into_iter().next().map(|kv| key_value(&conn.keys, kv)).transpose()
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        let conn = &self.conn;
        let range = conn.keys.list_range(prefix, start_after);
        if range.is_empty() {
            let revision = conn.current_revision().await?;
            return Ok(ListResult { items: Vec::new(), revision, remaining: false, remaining_count: 0 });
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let request = RangeRequest { limit, ..client::range(range.key, range.end) };
        let mut kv = conn.kv.clone();
        let answer = conn.request("list", kv.range(request).map_ok(tonic::Response::into_inner)).await?;
        let revision = header_revision(answer.header.as_ref())?;
        let remaining = answer.more;
        let remaining_count = remaining_count(answer.count, answer.kvs.len(), remaining);
        let items = answer.kvs.into_iter().map(|kv| key_value(&conn.keys, kv)).collect::<Result<_, _>>()?;
        Ok(ListResult { items, revision, remaining, remaining_count })
    }

    async fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        let conn = &self.conn;
        if rev == 0 {
            // etcd reads revision 0 as "the latest"; nothing before its first write is kept.
            let current = conn.current_revision().await?;
            return Err(StoreError::Compacted { compacted: 0, current });
        }
        let range = conn.keys.list_range(prefix, start_after);
        // An empty range reads only the header, which still checks the revision.
        let empty = range.is_empty();
        let (key, end) = if empty { (conn.keys.probe_key(), Vec::new()) } else { (range.key, range.end) };
        let request = RangeRequest {
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            revision: etcd_revision(rev)?,
            count_only: empty,
            ..client::range(key, end)
        };
        let mut kv = conn.kv.clone();
        let answer = match conn.bounded("list", kv.range(request).map_ok(tonic::Response::into_inner)).await {
            Ok(answer) => answer,
            Err(Fault::Compacted) => return Err(watch::compacted(conn, rev).await),
            Err(Fault::FutureRevision) => {
                let current = conn.current_revision().await?;
                return Err(StoreError::FutureRevision { requested: rev, current });
            }
            Err(Fault::Other(err)) => return Err(err),
        };
        if empty {
            return Ok(ListResult { items: Vec::new(), revision: rev, remaining: false, remaining_count: 0 });
        }
        let remaining_count = remaining_count(answer.count, answer.kvs.len(), answer.more);
        let items = answer.kvs.into_iter().map(|kv| key_value(&conn.keys, kv)).collect::<Result<_, _>>()?;
        Ok(ListResult { items, revision: rev, remaining: answer.more, remaining_count })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        let conn = &self.conn;
        let etcd_key = conn.keys.key(key);
        let txn = TxnRequest {
            compare: vec![client::compare(&etcd_key, CompareTarget::Create, CompareResult::Equal, 0)],
            success: vec![client::put(etcd_key, Vec::from(value.clone()), false)],
            failure: Vec::new(),
        };
        let answer = conn.txn("create", txn).await?;
        if !answer.succeeded {
            return Err(StoreError::AlreadyExists);
        }
        let revision = header_revision(answer.header.as_ref())?;
        Ok(KeyValue { key: key.to_owned(), value, create_revision: revision, mod_revision: revision })
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StoreError> {
        let conn = &self.conn;
        let etcd_key = conn.keys.key(key);
        let put = client::put(etcd_key.clone(), Vec::from(value.clone()), true);
        let answer = conn.txn("update", guarded(&etcd_key, expected, put)?).await?;
        if !answer.succeeded {
            return Err(failed_precondition(conn.read_back(answer)?));
        }
        let revision = header_revision(answer.header.as_ref())?;
        let previous = answer.responses.into_iter().find_map(|op| match op.response {
            Some(OpResponse::ResponsePut(put)) => put.prev_kv,
            _ => None,
        });
        let Some(previous) = previous else {
            return Err(StoreError::Internal("etcd answered an update without the previous value".into()));
        };
        let create_revision = convert::revision(previous.create_revision)?;
        Ok(KeyValue { key: key.to_owned(), value, create_revision, mod_revision: revision })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError> {
        let conn = &self.conn;
        let etcd_key = conn.keys.key(key);
        let delete = client::delete(etcd_key.clone());
        let answer = conn.txn("delete", guarded(&etcd_key, expected, delete)?).await?;
        if !answer.succeeded {
            return Err(failed_precondition(conn.read_back(answer)?));
        }
        let revision = header_revision(answer.header.as_ref())?;
        let deleted = answer.responses.into_iter().find_map(|op| match op.response {
            Some(OpResponse::ResponseDeleteRange(delete)) => delete.prev_kvs.into_iter().next(),
            _ => None,
        });
        let Some(deleted) = deleted else {
            return Err(StoreError::Internal("etcd answered a delete without the deleted value".into()));
        };
        let mut kv = key_value(&conn.keys, deleted)?;
        kv.mod_revision = revision;
        Ok(kv)
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        watch::open(self.conn.clone(), prefix, after).await
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.conn.current_revision().await
    }

    async fn compact(&self, rev: Revision) -> Result<(), StoreError> {
        if rev == 0 {
            return Ok(());
        }
        let conn = &self.conn;
        let mut kv = conn.kv.clone();
        let request = CompactionRequest { revision: etcd_revision(rev)?, physical: false };
        match conn.bounded("compact", kv.compact(request).map_ok(tonic::Response::into_inner)).await {
            Ok(_) => {
                tracing::debug!(revision = rev, "etcd compacted");
                Ok(())
            }
            // At or below an earlier compaction: nothing to do.
            Err(Fault::Compacted) => Ok(()),
            Err(Fault::FutureRevision) => {
                let current = self.current_revision().await?;
                Err(StoreError::FutureRevision { requested: rev, current })
            }
            Err(Fault::Other(err)) => Err(err),
        }
    }
}

/// A transaction that does `write` if the key exists and (with `expected`) is at that revision,
/// and otherwise reads the key.
fn guarded(etcd_key: &[u8], expected: Option<Revision>, write: RequestOp) -> Result<TxnRequest, StoreError> {
    let mut compare = vec![client::compare(etcd_key, CompareTarget::Create, CompareResult::Greater, 0)];
    if let Some(rev) = expected {
        compare.push(client::compare(
            etcd_key,
            CompareTarget::Mod,
            CompareResult::Equal,
            etcd_revision(rev)?,
        ));
    }
    Ok(TxnRequest { compare, success: vec![write], failure: vec![client::get(etcd_key.to_vec())] })
}

/// Why a guarded write failed, from the key as it is now.
/// Keys after a page: etcd's `count` is every key of the range, the page included.
fn remaining_count(count: i64, returned: usize, more: bool) -> u64 {
    if !more {
        return 0;
    }
    u64::try_from(count).unwrap_or(0).saturating_sub(returned as u64)
}

fn failed_precondition(current: Option<KeyValue>) -> StoreError {
    match current {
        None => StoreError::NotFound,
        Some(current) => StoreError::Conflict { current },
    }
}

//! The etcd backend: the [`Store`] trait over an etcd v3 cluster, so several kubeward servers can
//! share one etcd (kube-apiserver's `--etcd-servers` model).
//!
//! etcd's revision is the store's revision: a key's `mod_revision` is the object's
//! `resourceVersion`, as in kube. Every key is stored under [`EtcdOptions::prefix`].
//!
//! - Reads are answered by a watch cache (module `cache`, kube's cacher; on by default,
//!   [`EtcdOptions::watch_cache`]): `get`, `list` and `current_revision` are consistent, once
//!   the cache has applied every event up to a revision read from etcd by a quorum read that
//!   concurrent readers share (module `fresh`); `get_cached` and `list_cached` take the cache as
//!   it is; `list_at` reads the cache's history. Whatever the cache cannot answer goes to etcd
//!   (module `reads`): linearizable ranges (a prefix is the range `[prefix, prefix_end)`), and
//!   ranges at a past revision.
//! - Writes are transactions whose compare decides the precondition (`create_revision == 0` for
//!   create, `mod_revision == expected` for compare-and-swap); the failure branch reads the key so
//!   `Conflict` carries its current value. etcd acknowledges a write once it is in a quorum's
//!   fsync'd log, which is the store's durability rule.
//! - Watches (module `watch`) are etcd watches from `after + 1` with previous values.
//! - Module `client` owns the gRPC plumbing (over the generated code of the `etcd-proto` crate),
//!   `keys` the key mapping, `convert` the mapping of etcd's answers and errors.
//! - `TestEtcd` (feature `testing`, module `process`) runs a throwaway etcd for tests.
//! - Module `admin` (beside the store, not under it): etcd's Cluster and Maintenance APIs for
//!   the control planes kubeward manages (members, status, snapshots).

pub mod admin;
mod cache;
mod client;
mod convert;
mod fresh;
mod keys;
#[cfg(feature = "testing")]
mod process;
mod reads;
mod watch;
mod writes;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use etcd_proto::etcdserverpb::{CompactionRequest, RangeRequest};
use futures::TryFutureExt;

use self::cache::Cache;
use self::client::{Kv, Watch};
use self::convert::{etcd_revision, header_revision, Fault};
use self::fresh::FreshRevision;
use self::keys::KeySpace;
use crate::store::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

pub use self::cache::CacheStats;
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
    /// Serve reads from a watch cache (kube-apiserver's `--watch-cache`, on by default; module
    /// `cache`): every key of the key space in memory, kept by one watch.
    pub watch_cache: bool,
    /// The most events the watch cache keeps for watches and lists at a past revision (and at
    /// most 128 MiB of them); older ones are read from etcd. Default 100,000.
    pub watch_cache_history: usize,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            prefix: String::new(),
            tls: None,
            dial_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            watch_cache: true,
            watch_cache_history: 100_000,
        }
    }
}

/// What every clone of the store's handles shares.
#[derive(Clone)]
pub(crate) struct Conn {
    kv: Kv,
    watch: Watch,
    keys: KeySpace,
    /// Member status (raft term, leader) for writes that wait suspiciously long (module
    /// `writes`).
    maintenance: client::Maintenance,
    /// The highest raft term and revision seen in etcd's answers.
    seen: Arc<writes::Seen>,
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
        let answer = self
            .idempotent("read the revision", || {
                let mut kv = self.kv.clone();
                let request = request.clone();
                async move { kv.range(request).await.map(tonic::Response::into_inner) }
            })
            .await?;
        self.seen.header(answer.header.as_ref());
        header_revision(answer.header.as_ref()).map_err(Fault::Other)
    }

    /// Fails as a range at revision `rev` would: `Compacted` below etcd's compaction,
    /// `FutureRevision` after its current revision.
    async fn check_past(&self, rev: Revision) -> Result<(), StoreError> {
        match self.probe(Some(etcd_revision(rev)?)).await {
            Ok(_) => Ok(()),
            Err(Fault::Compacted) => Err(watch::compacted(self, rev).await),
            Err(Fault::FutureRevision) => {
                let current = self.current_revision().await?;
                Err(StoreError::FutureRevision { requested: rev, current })
            }
            Err(Fault::Other(err)) => Err(err),
        }
    }

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.probe(None).await.map_err(|fault| fault.into_store_error("read the revision", &self.endpoints))
    }
}

/// The [`Store`] over an etcd v3 cluster. Cheap to share behind an `Arc`; every request is
/// bounded by [`EtcdOptions::request_timeout`].
pub struct EtcdStore {
    conn: Conn,
    /// Revisions for consistent reads, one etcd read shared by concurrent callers.
    fresh: FreshRevision,
    /// The watch cache (kube's cacher), unless [`EtcdOptions::watch_cache`] is off.
    cache: Option<Cache>,
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
        let (kv, watch, maintenance) = client::connect(endpoints, &options).map_err(unreachable)?;
        let conn = Conn {
            kv,
            watch,
            maintenance,
            seen: Arc::default(),
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
        let conn = Conn { request_timeout: options.request_timeout, ..conn };
        let cache = options.watch_cache.then(|| Cache::start(conn.clone(), options.watch_cache_history));
        Ok(EtcdStore { conn, fresh: FreshRevision::default(), cache })
    }

    /// `read` on the watch cache as it is, when it is on and ready.
    async fn cached<T>(&self, read: impl FnOnce(&crate::memory::State) -> T) -> Option<T> {
        // Revision 1: any state of a ready cache.
        self.cache.as_ref()?.read(1, read).await
    }

    /// What the watch cache did so far; `None` when it is off ([`EtcdOptions::watch_cache`]).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(Cache::stats)
    }

    /// The endpoints this store talks to, comma-separated.
    pub fn endpoints(&self) -> &str {
        &self.conn.endpoints
    }
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        if let Some(cache) = &self.cache {
            let rev = self.fresh.get(&self.conn).await?;
            if let Some(found) = cache.read(rev, |state| state.get(key)).await {
                return Ok(found);
            }
        }
        self.conn.get(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        if let Some(cache) = &self.cache {
            let rev = self.fresh.get(&self.conn).await?;
            if let Some(listed) = cache.read(rev, |state| state.list(prefix, start_after, limit)).await {
                return Ok(listed);
            }
        }
        self.conn.list(prefix, start_after, limit).await
    }

    async fn get_cached(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        if let Some(found) = self.cached(|state| state.get(key)).await {
            return Ok(found);
        }
        self.conn.get(key).await
    }

    async fn list_cached(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        if let Some(listed) = self.cached(|state| state.list(prefix, start_after, limit)).await {
            return Ok(listed);
        }
        self.conn.list(prefix, start_after, limit).await
    }

    async fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        if let Some(cache) = self.cache.as_ref().filter(|_| rev != 0) {
            // etcd says whether `rev` is compacted or in the future, as without the cache.
            self.conn.check_past(rev).await?;
            let listed = cache.read_at(rev, |state| state.list_at(prefix, start_after, limit, rev)).await;
            if let Some(listed) = listed {
                return listed;
            }
        }
        self.conn.list_at(prefix, start_after, limit, rev).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        self.conn.create(key, value).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StoreError> {
        self.conn.update(key, value, expected).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError> {
        self.conn.delete(key, expected).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        if let Some(cache) = &self.cache {
            // etcd says whether `after` is compacted, as without the cache.
            watch::check_start(&self.conn, after).await?;
            if let Some(stream) = cache.watch(prefix, after).await {
                return Ok(stream);
            }
        }
        watch::open(self.conn.clone(), prefix, after).await
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.fresh.get(&self.conn).await
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
                if let Some(cache) = &self.cache {
                    cache.compacted(rev);
                }
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

/// Keys after a page: etcd's `count` is every key of the range, the page included.
fn remaining_count(count: i64, returned: usize, more: bool) -> u64 {
    if !more {
        return 0;
    }
    u64::try_from(count).unwrap_or(0).saturating_sub(returned as u64)
}

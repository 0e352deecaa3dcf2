//! The reads that go to etcd itself: linearizable ranges (a prefix is the range
//! `[prefix, prefix_end)`), and ranges at a past revision. The watch cache (module `cache`)
//! answers most reads; these serve the rest, and every read while the cache is not ready.

use etcd_proto::etcdserverpb::RangeRequest;
use futures::TryFutureExt;

use super::convert::{etcd_revision, header_revision, key_value, Fault};
use super::{client, remaining_count, watch, Conn};
use crate::store::{KeyValue, ListResult, Revision, StoreError};

impl Conn {
    /// The key's current value, read from etcd.
    pub(super) async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let conn = self;
        let mut kv = conn.kv.clone();
        let answer = conn
            .request(
                "get",
                kv.range(client::range(conn.keys.key(key), Vec::new())).map_ok(tonic::Response::into_inner),
            )
            .await?;
        answer.kvs.into_iter().next().map(|kv| key_value(&conn.keys, kv)).transpose()
    }

    /// `Store::list` read from etcd.
    pub(super) async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        let conn = self;
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

    /// `Store::list_at` read from etcd.
    pub(super) async fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        let conn = self;
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
}

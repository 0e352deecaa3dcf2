//! Writes to etcd (create, update, delete as transactions) and what happens to them when etcd's
//! leader fails while they are in flight.
//!
//! A member that is not the leader forwards a proposal to the leader it knows. When that leader
//! dies, the proposal is lost without an answer: etcd answers it only after its own request
//! timeout (5 s + two election timeouts), long after a new leader took over. So a write that
//! has waited [`SUSPECT_AFTER`] asks the member for its raft term and leader every
//! [`POLL_EVERY`]; once the term moved past the one known when the write was sent (an election
//! happened), or the member has no leader, the write is sent again instead of waiting. Writes
//! the member refuses for want of a leader (`etcdserver: no leader`, checked before anything
//! is proposed) are sent again after a short backoff; so are writes etcd answers with a
//! retryable failure (`leader changed`, `request timed out`). All of it within the store's
//! request timeout.
//!
//! A write sent again after an attempt whose outcome is unknown (lost with a dead leader,
//! timed out) must neither apply twice nor be lost. Only writes guarded by a revision are sent
//! again, and their answer is read with the first attempt in mind:
//! - create (`create_revision == 0`): a key that exists now with exactly the bytes written is
//!   the first attempt's success (the value holds the object's uid, so another client cannot
//!   have written the same bytes); one created at or before the last revision this client had
//!   seen before sending existed before: `AlreadyExists`; anything else is unknown.
//! - update with an expected revision, delete with an expected revision: a conflict with a
//!   key last modified before the write was sent is a real conflict; the update's own bytes
//!   at a later revision are its success; anything else is unknown.
//! - unconditional updates and deletes are not sent again.
//!
//! An unknown outcome is [`StoreError::Timeout`]: kube's 504 "request did not complete within
//! requested timeout"; the client reads the object to learn what happened.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget};
use etcd_proto::etcdserverpb::response_op::Response as OpResponse;
use etcd_proto::etcdserverpb::{ResponseHeader, StatusRequest, TxnRequest, TxnResponse};
use tonic::Code;

use super::convert::{self, etcd_revision, header_revision, key_value};
use super::{client, Conn};
use crate::store::{KeyValue, Revision, StoreError};

/// How long a write waits before it starts asking whether etcd's leader changed under it.
const SUSPECT_AFTER: Duration = Duration::from_millis(250);
/// How often a suspect write asks.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// The first and the longest pause before a write is sent again.
const MIN_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(400);

/// Why a write's outcome is unknown, mostly.
const LOST: &str = "the leader changed while the write was in flight";

/// The highest raft term and store revision this client has seen in etcd's answers.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    term: AtomicU64,
    revision: AtomicU64,
}

impl Seen {
    /// Notes what an answer's header says.
    pub(crate) fn header(&self, header: Option<&ResponseHeader>) {
        if let Some(header) = header {
            self.term.fetch_max(header.raft_term, Ordering::Relaxed);
            self.revision.fetch_max(u64::try_from(header.revision).unwrap_or(0), Ordering::Relaxed);
        }
    }

    fn term(&self) -> u64 {
        self.term.load(Ordering::Relaxed)
    }

    fn revision(&self) -> Revision {
        self.revision.load(Ordering::Relaxed)
    }
}

/// How a write's transaction was answered.
enum Sent {
    /// The answer of the first attempt, or of one after attempts that were surely not applied.
    Answer(TxnResponse),
    /// The answer of an attempt sent after one whose outcome is unknown.
    AfterUnknown(TxnResponse),
}

/// The etcd errors that say a request was not applied and may be sent again: a member without
/// a leader refuses before proposing.
fn not_applied(status: &tonic::Status) -> bool {
    status.code() == Code::Unavailable && status.message().contains("no leader")
}

/// The etcd errors after which a write's outcome is unknown but sending it again may succeed:
/// the leader changed or failed while it was proposed, or the proposal timed out.
fn retryable(status: &tonic::Status) -> bool {
    let message = status.message();
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded | Code::Unknown)
        && (message.contains("leader changed")
            || message.contains("request timed out")
            || message.contains("leader failure")
            || message.contains("connection lost"))
}

/// An outcome the store cannot know.
fn unknown(conn: &Conn, what: &str, why: &str) -> StoreError {
    StoreError::Timeout(format!("etcd at {}: {what}: {why}; the write's outcome is unknown", conn.endpoints))
}

impl Conn {
    /// Whether the member this client talks to has a leader other than the one of `term`:
    /// answers once it has been elected away (or the member has none), else never.
    async fn leader_lost(&self, term: u64) {
        tokio::time::sleep(SUSPECT_AFTER).await;
        loop {
            let mut maintenance = self.maintenance.clone();
            let asked = tokio::time::timeout(POLL_EVERY * 5, maintenance.status(StatusRequest {})).await;
            if let Ok(Ok(status)) = asked {
                let status = status.into_inner();
                self.seen.term.fetch_max(status.raft_term, Ordering::Relaxed);
                if status.leader == 0 || status.raft_term > term {
                    return;
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Runs an idempotent request (a read) until etcd answers it, within the request timeout:
    /// sent again after a refusal for want of a leader, a retryable failure, or a leader
    /// change while it waited (a linearizable read on a follower waits for the leader too).
    pub(super) async fn idempotent<T, F>(
        &self,
        what: &str,
        request: impl Fn() -> F,
    ) -> Result<T, super::convert::Fault>
    where
        F: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let deadline = Instant::now() + self.request_timeout;
        let mut backoff = MIN_BACKOFF;
        loop {
            let term = self.seen.term();
            let attempt = tokio::time::timeout_at(deadline.into(), async {
                tokio::select! {
                    answer = request() => Some(answer),
                    () = self.leader_lost(term) => None,
                }
            });
            let failure = match attempt.await {
                Err(_) => {
                    return Err(super::convert::Fault::Other(StoreError::Unavailable(format!(
                        "etcd at {}: {what}: no answer within {:?}",
                        self.endpoints, self.request_timeout
                    ))))
                }
                Ok(Some(Ok(answer))) => return Ok(answer),
                Ok(Some(Err(status))) if not_applied(&status) || retryable(&status) => {
                    status.message().to_owned()
                }
                Ok(Some(Err(status))) => return Err(convert::fault(what, &self.endpoints, status)),
                Ok(None) => {
                    backoff = MIN_BACKOFF;
                    "the leader changed while the read waited".to_owned()
                }
            };
            if Instant::now() + backoff >= deadline {
                return Err(super::convert::Fault::Other(StoreError::Unavailable(format!(
                    "etcd at {}: {what}: {failure}",
                    self.endpoints
                ))));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Sends `txn` until etcd answers it, within the request timeout; sends it again after a
    /// lost leader only when `resend` (see the module docs).
    async fn send(&self, what: &str, txn: &TxnRequest, resend: bool) -> Result<Sent, StoreError> {
        let deadline = Instant::now() + self.request_timeout;
        let mut outcome_unknown = false;
        let mut backoff = MIN_BACKOFF;
        loop {
            let term = self.seen.term();
            let mut kv = self.kv.clone();
            let attempt = tokio::time::timeout_at(deadline.into(), async {
                tokio::select! {
                    answer = kv.txn(txn.clone()) => Some(answer),
                    () = self.leader_lost(term) => None,
                }
            });
            let failure = match attempt.await {
                Err(_) => {
                    return Err(unknown(self, what, &format!("no answer within {:?}", self.request_timeout)))
                }
                Ok(Some(Ok(answer))) => {
                    let answer = answer.into_inner();
                    self.seen.header(answer.header.as_ref());
                    return Ok(if outcome_unknown {
                        Sent::AfterUnknown(answer)
                    } else {
                        Sent::Answer(answer)
                    });
                }
                Ok(Some(Err(status))) if not_applied(&status) => status.message().to_owned(),
                Ok(Some(Err(status))) if retryable(&status) => {
                    outcome_unknown = true;
                    status.message().to_owned()
                }
                Ok(Some(Err(status))) if outcome_unknown => {
                    return Err(unknown(self, what, status.message()));
                }
                Ok(Some(Err(status))) => {
                    return Err(
                        convert::fault(what, &self.endpoints, status).into_store_error(what, &self.endpoints)
                    );
                }
                Ok(None) => {
                    outcome_unknown = true;
                    tracing::debug!(
                        what,
                        "etcd's leader changed while a write was in flight; sending it again"
                    );
                    backoff = MIN_BACKOFF;
                    LOST.to_owned()
                }
            };
            if outcome_unknown && !resend {
                return Err(unknown(self, what, &failure));
            }
            if Instant::now() + backoff >= deadline {
                return Err(if outcome_unknown {
                    unknown(self, what, &failure)
                } else {
                    StoreError::Unavailable(format!("etcd at {}: {what}: {failure}", self.endpoints))
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// `Store::create`: a transaction putting the key if it does not exist, reading it if it
    /// does.
    pub(super) async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        let etcd_key = self.keys.key(key);
        let before = self.seen.revision();
        let txn = TxnRequest {
            compare: vec![client::compare(&etcd_key, CompareTarget::Create, CompareResult::Equal, 0)],
            success: vec![client::put(etcd_key.clone(), Vec::from(value.clone()), false)],
            failure: vec![client::get(etcd_key)],
        };
        let created = |revision| KeyValue {
            key: key.to_owned(),
            value: value.clone(),
            create_revision: revision,
            mod_revision: revision,
        };
        match self.send("create", &txn, true).await? {
            Sent::Answer(answer) if answer.succeeded => Ok(created(header_revision(answer.header.as_ref())?)),
            Sent::Answer(_) => Err(StoreError::AlreadyExists),
            Sent::AfterUnknown(answer) if answer.succeeded => {
                Ok(created(header_revision(answer.header.as_ref())?))
            }
            Sent::AfterUnknown(answer) => {
                match after_unknown(Op::Create, self.read_back(answer)?, &value, before) {
                    Resolved::Ours(current) => Ok(created(current.create_revision)),
                    Resolved::Failed(err) => Err(err),
                    Resolved::Unknown => Err(unknown(self, "create", LOST)),
                }
            }
        }
    }

    /// `Store::update`: a transaction putting the key if it exists (at `expected`), reading it
    /// otherwise.
    pub(super) async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StoreError> {
        let etcd_key = self.keys.key(key);
        let before = self.seen.revision();
        let put = client::put(etcd_key.clone(), Vec::from(value.clone()), true);
        let txn = guarded(&etcd_key, expected, put)?;
        let answer = match self.send("update", &txn, expected.is_some()).await? {
            Sent::Answer(answer) if !answer.succeeded => {
                return Err(failed_precondition(self.read_back(answer)?));
            }
            Sent::AfterUnknown(answer) if !answer.succeeded => {
                return match after_unknown(Op::Update, self.read_back(answer)?, &value, before) {
                    Resolved::Ours(current) => Ok(KeyValue { key: key.to_owned(), value, ..current }),
                    Resolved::Failed(err) => Err(err),
                    Resolved::Unknown => Err(unknown(self, "update", LOST)),
                };
            }
            Sent::Answer(answer) | Sent::AfterUnknown(answer) => answer,
        };
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

    /// `Store::delete`: a transaction deleting the key if it exists (at `expected`), reading it
    /// otherwise.
    pub(super) async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError> {
        let etcd_key = self.keys.key(key);
        let before = self.seen.revision();
        let txn = guarded(&etcd_key, expected, client::delete(etcd_key.clone()))?;
        let answer = match self.send("delete", &txn, expected.is_some()).await? {
            Sent::Answer(answer) if !answer.succeeded => {
                return Err(failed_precondition(self.read_back(answer)?));
            }
            Sent::AfterUnknown(answer) if !answer.succeeded => {
                return match after_unknown(Op::Delete, self.read_back(answer)?, &Bytes::new(), before) {
                    Resolved::Failed(err) => Err(err),
                    Resolved::Ours(_) | Resolved::Unknown => Err(unknown(self, "delete", LOST)),
                };
            }
            Sent::Answer(answer) | Sent::AfterUnknown(answer) => answer,
        };
        let revision = header_revision(answer.header.as_ref())?;
        let deleted = answer.responses.into_iter().find_map(|op| match op.response {
            Some(OpResponse::ResponseDeleteRange(delete)) => delete.prev_kvs.into_iter().next(),
            _ => None,
        });
        let Some(deleted) = deleted else {
            return Err(StoreError::Internal("etcd answered a delete without the deleted value".into()));
        };
        let mut kv = key_value(&self.keys, deleted)?;
        kv.mod_revision = revision;
        Ok(kv)
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

/// A guarded write sent again after an attempt whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Delete,
}

/// What a failed resend says about the first attempt.
#[derive(Debug)]
enum Resolved {
    /// The key holds the write's own bytes: an earlier attempt was applied.
    Ours(KeyValue),
    /// The precondition failed before the write was first sent: a real failure.
    Failed(StoreError),
    /// Cannot tell.
    Unknown,
}

/// Reads a resend's failure (the key as it is now, `current`) in the light of an earlier
/// attempt whose outcome is unknown; `value` is what the write put, `before` the latest
/// revision this client had seen before the first attempt was sent (module docs).
fn after_unknown(op: Op, current: Option<KeyValue>, value: &Bytes, before: Revision) -> Resolved {
    let Some(current) = current else {
        // Create: the compare failed, so the key existed. Update, delete: deleted by us or
        // by someone else.
        return Resolved::Unknown;
    };
    match op {
        // The object's bytes hold its uid: nobody else writes the same ones.
        Op::Create if current.value == *value => Resolved::Ours(current),
        Op::Create if current.create_revision <= before => Resolved::Failed(StoreError::AlreadyExists),
        Op::Update if current.value == *value && current.mod_revision > before => Resolved::Ours(current),
        Op::Update | Op::Delete if current.mod_revision <= before => {
            Resolved::Failed(StoreError::Conflict { current })
        }
        _ => Resolved::Unknown,
    }
}

/// A transaction that does `write` if the key exists and (with `expected`) is at that revision,
/// and otherwise reads the key.
fn guarded(
    etcd_key: &[u8],
    expected: Option<Revision>,
    write: etcd_proto::etcdserverpb::RequestOp,
) -> Result<TxnRequest, StoreError> {
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
fn failed_precondition(current: Option<KeyValue>) -> StoreError {
    match current {
        None => StoreError::NotFound,
        Some(current) => StoreError::Conflict { current },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(value: &'static str, create_revision: Revision, mod_revision: Revision) -> KeyValue {
        KeyValue {
            key: "k".into(),
            value: Bytes::from_static(value.as_bytes()),
            create_revision,
            mod_revision,
        }
    }

    #[test]
    fn a_create_resent_after_an_unknown_outcome_finds_its_own_bytes() {
        let mine = Bytes::from_static(b"mine");
        assert!(
            matches!(after_unknown(Op::Create, Some(kv("mine", 12, 12)), &mine, 10), Resolved::Ours(k) if k == kv("mine", 12, 12))
        );
        // Older than anything this client had seen before sending: someone else's, before.
        assert!(matches!(
            after_unknown(Op::Create, Some(kv("theirs", 9, 11)), &mine, 10),
            Resolved::Failed(StoreError::AlreadyExists)
        ));
        // Created after the first attempt was sent with other bytes: ours, changed since, or
        // theirs; never a silent AlreadyExists nor a second object.
        assert!(matches!(
            after_unknown(Op::Create, Some(kv("theirs", 11, 11)), &mine, 10),
            Resolved::Unknown
        ));
        assert!(matches!(after_unknown(Op::Create, None, &mine, 10), Resolved::Unknown));
    }

    #[test]
    fn an_update_resent_after_an_unknown_outcome() {
        let mine = Bytes::from_static(b"mine");
        assert!(
            matches!(after_unknown(Op::Update, Some(kv("mine", 3, 12)), &mine, 10), Resolved::Ours(k) if k == kv("mine", 3, 12))
        );
        assert!(matches!(
            after_unknown(Op::Update, Some(kv("old", 3, 8)), &mine, 10),
            Resolved::Failed(StoreError::Conflict { current }) if current == kv("old", 3, 8)
        ));
        assert!(matches!(after_unknown(Op::Update, Some(kv("theirs", 3, 12)), &mine, 10), Resolved::Unknown));
        assert!(matches!(after_unknown(Op::Update, None, &mine, 10), Resolved::Unknown));
    }

    #[test]
    fn a_delete_resent_after_an_unknown_outcome() {
        assert!(matches!(after_unknown(Op::Delete, None, &Bytes::new(), 10), Resolved::Unknown));
        assert!(matches!(
            after_unknown(Op::Delete, Some(kv("old", 3, 8)), &Bytes::new(), 10),
            Resolved::Failed(StoreError::Conflict { current }) if current == kv("old", 3, 8)
        ));
        assert!(matches!(
            after_unknown(Op::Delete, Some(kv("x", 3, 12)), &Bytes::new(), 10),
            Resolved::Unknown
        ));
    }

    #[test]
    fn which_etcd_failures_are_sent_again() {
        assert!(not_applied(&tonic::Status::unavailable("etcdserver: no leader")));
        assert!(!not_applied(&tonic::Status::unavailable("etcdserver: leader changed")));
        assert!(retryable(&tonic::Status::unavailable("etcdserver: leader changed")));
        assert!(retryable(&tonic::Status::unavailable(
            "etcdserver: request timed out, possibly due to previous leader failure"
        )));
        assert!(!retryable(&tonic::Status::invalid_argument("etcdserver: request is too large")));
        assert!(!retryable(&tonic::Status::unavailable("tcp connect error")));
    }
}

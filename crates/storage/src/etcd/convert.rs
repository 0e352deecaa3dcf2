//! Conversions from etcd's answers to the store's values and errors: key-values, revisions, and
//! the one place where a gRPC status from etcd becomes a [`StoreError`].

use bytes::Bytes;
use etcd_proto::etcdserverpb::ResponseHeader;
use tonic::{Code, Status};

use super::keys::KeySpace;
use crate::store::{KeyValue, Revision, StoreError};

/// What an etcd failure means to the store.
#[derive(Debug)]
pub(crate) enum Fault {
    /// etcd answered `mvcc: required revision has been compacted`.
    Compacted,
    /// etcd answered `mvcc: required revision is a future revision`.
    FutureRevision,
    /// Anything else, already mapped.
    Other(StoreError),
}

/// Classifies a failed etcd request: etcd's answer, or the transport's failure (which tonic
/// reports as a status too, `Unavailable` or `Unknown`). `what` names the operation for the
/// message.
pub(crate) fn fault(what: &str, endpoints: &str, status: Status) -> Fault {
    // etcd reports these two as OutOfRange and tells them apart only by the message;
    // its own Go client matches the same strings (rpctypes.ErrGRPCCompacted / FutureRev).
    if status.code() == Code::OutOfRange {
        if status.message().contains("required revision has been compacted") {
            return Fault::Compacted;
        }
        if status.message().contains("required revision is a future revision") {
            return Fault::FutureRevision;
        }
    }
    let message = format!("etcd at {endpoints}: {what}: {}: {}", code_name(status.code()), status.message());
    match status.code() {
        // The request itself is wrong (too large, malformed): retrying cannot help.
        Code::InvalidArgument | Code::Unimplemented | Code::DataLoss => {
            Fault::Other(StoreError::Internal(message))
        }
        _ => Fault::Other(StoreError::Unavailable(message)),
    }
}

impl Fault {
    /// The store error for a request that expects neither compaction nor a future revision.
    pub(crate) fn into_store_error(self, what: &str, endpoints: &str) -> StoreError {
        match self {
            Fault::Other(err) => err,
            Fault::Compacted => StoreError::Unavailable(format!(
                "etcd at {endpoints}: {what}: unexpected answer: required revision has been compacted"
            )),
            Fault::FutureRevision => StoreError::Unavailable(format!(
                "etcd at {endpoints}: {what}: unexpected answer: required revision is in the future"
            )),
        }
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A revision etcd sent (an `int64`) as a store revision.
pub(crate) fn revision(rev: i64) -> Result<Revision, StoreError> {
    Revision::try_from(rev).map_err(|_| StoreError::Internal(format!("etcd sent a negative revision {rev}")))
}

/// A store revision as etcd's `int64`.
pub(crate) fn etcd_revision(rev: Revision) -> Result<i64, StoreError> {
    i64::try_from(rev).map_err(|_| StoreError::Internal(format!("revision {rev} is beyond etcd's range")))
}

/// The revision in a response header, which etcd always sends.
pub(crate) fn header_revision(header: Option<&ResponseHeader>) -> Result<Revision, StoreError> {
    match header {
        Some(header) => revision(header.revision),
        None => Err(StoreError::Internal("etcd sent a response without a header".into())),
    }
}

/// An etcd key-value as the store's, with the key prefix stripped.
pub(crate) fn key_value(keys: &KeySpace, kv: etcd_proto::mvccpb::KeyValue) -> Result<KeyValue, StoreError> {
    let create_revision = revision(kv.create_revision)?;
    let mod_revision = revision(kv.mod_revision)?;
    Ok(KeyValue { key: keys.strip(kv.key)?, value: Bytes::from(kv.value), create_revision, mod_revision })
}

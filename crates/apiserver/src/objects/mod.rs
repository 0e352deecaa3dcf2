//! The object layer: the only place that knows storage keys, the stored byte layout and
//! how a `StoreError` becomes a Kubernetes Status (kube's `registry/generic/registry.Store`
//! over `storage.Interface`). REST handlers, admission lookups, bootstrap and controllers
//! all read and write objects through [`Objects`], by resource type, namespace and name.
//! A resource stored as another (events.k8s.io/v1 Events are core v1 Events in storage)
//! is converted here, both ways, so every reader gets the serialization it asked for.

mod codec;
mod keys;

pub(crate) use codec::{decode_kv, json_bytes, raw_with_rv};

use apimachinery::StatusError;
use futures::StreamExt;
use registry::ResourceType;
use serde_json::Value;
use std::sync::Arc;
use storage::{KeyValue, Store, StoreError, WatchEvent, WatchStream};

/// kube's timestamp format (`metav1.Time`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One page of a list: the stored objects, the list's revision and kube's continue token.
pub struct Page {
    pub items: Vec<KeyValue>,
    pub revision: u64,
    pub continue_token: Option<String>,
}

/// Typed access to stored objects; see the module docs.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn Store>,
}

impl Objects {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store underneath, for what is not about objects (compaction, revisions).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The stored object with its revision, or 404.
    pub async fn get_raw(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<KeyValue, StatusError> {
        self.store
            .get(&keys::key(rt, ns, name))
            .await
            .map_err(|e| status(rt, name, e))?
            .map(|kv| outgoing(rt, kv))
            .ok_or_else(|| StatusError::not_found(&rt.group_resource(), name))
    }

    /// The object with its resourceVersion, or 404.
    pub async fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, StatusError> {
        decode(&self.get_raw(rt, ns, name).await?)
    }

    /// The object, or `None` when it does not exist.
    pub async fn find(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Option<Value>, StatusError> {
        match self.store.get(&keys::key(rt, ns, name)).await.map_err(|e| status(rt, name, e))? {
            Some(kv) => decode(&outgoing(rt, kv)).map(Some),
            None => Ok(None),
        }
    }

    /// One page of objects in `ns` (every namespace when empty), from a continue token;
    /// `limit` 0 lists everything.
    pub async fn list(
        &self,
        rt: &ResourceType,
        ns: &str,
        continue_token: Option<&str>,
        limit: usize,
    ) -> Result<Page, StatusError> {
        let pfx = keys::prefix(rt, ns);
        let (rv, start_after) = match continue_token.filter(|c| !c.is_empty()) {
            Some(c) => {
                let (rv, start) = keys::decode_continue(c, &pfx)?;
                (Some(rv), Some(start))
            }
            None => (None, None),
        };
        let page =
            self.store.list(&pfx, start_after.as_deref(), limit).await.map_err(|e| status(rt, "", e))?;
        let revision = rv.unwrap_or(page.revision);
        let continue_token = match (page.remaining, page.items.last()) {
            (true, Some(last)) => Some(keys::encode_continue(revision, &last.key)),
            _ => None,
        };
        let items = page.items.into_iter().map(|kv| outgoing(rt, kv)).collect();
        Ok(Page { items, revision, continue_token })
    }

    /// Every object in `ns` (every namespace when empty), decoded, and the list's revision.
    pub async fn list_all(&self, rt: &ResourceType, ns: &str) -> Result<(Vec<Value>, u64), StatusError> {
        let page = self.list(rt, ns, None, 0).await?;
        Ok((page.items.iter().filter_map(decode_kv).collect(), page.revision))
    }

    /// Stores a new object; 409 AlreadyExists when the name is taken.
    pub async fn create(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: &Value,
    ) -> Result<Value, StatusError> {
        let kv = self
            .store
            .create(&keys::key(rt, ns, name), codec::encode_for_store(&incoming(rt, obj)))
            .await
            .map_err(|e| status(rt, name, e))?;
        decode(&outgoing(rt, kv))
    }

    /// Replaces an object, at revision `expected` when given (409 Conflict otherwise).
    pub async fn update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: &Value,
        expected: Option<u64>,
    ) -> Result<Value, StatusError> {
        let kv = self
            .store
            .update(&keys::key(rt, ns, name), codec::encode_for_store(&incoming(rt, obj)), expected)
            .await
            .map_err(|e| status(rt, name, e))?;
        decode(&outgoing(rt, kv))
    }

    /// Removes an object, at revision `expected` when given; returns the revision of the deletion.
    pub async fn delete(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        expected: Option<u64>,
    ) -> Result<u64, StatusError> {
        let kv =
            self.store.delete(&keys::key(rt, ns, name), expected).await.map_err(|e| status(rt, name, e))?;
        Ok(kv.mod_revision)
    }

    /// Changes to objects in `ns` (every namespace when empty) after revision `after`;
    /// 410 Expired when that revision was compacted.
    pub async fn watch(
        &self,
        rt: &'static ResourceType,
        ns: &str,
        after: u64,
    ) -> Result<WatchStream, StatusError> {
        let stream =
            self.store.watch(&keys::prefix(rt, ns), after).await.map_err(|e| watch_status(after, e))?;
        if rt.stored_as.is_none() {
            return Ok(stream);
        }
        Ok(stream
            .map(move |ev| {
                ev.map(|ev| WatchEvent {
                    event_type: ev.event_type,
                    kv: outgoing(rt, ev.kv),
                    prev: ev.prev.map(|kv| outgoing(rt, kv)),
                })
            })
            .boxed())
    }

    /// The store's current revision.
    pub async fn current_revision(&self) -> Result<u64, StatusError> {
        self.store.current_revision().await.map_err(|e| status_internal(&e))
    }
}

/// A stored object in `rt`'s serialization, in the stored byte layout.
fn outgoing(rt: &ResourceType, kv: KeyValue) -> KeyValue {
    if rt.stored_as.is_none() {
        return kv;
    }
    match serde_json::from_slice::<Value>(&kv.value) {
        Ok(v) => KeyValue { value: codec::encode_for_store(&registry::convert::from_storage(rt, v)), ..kv },
        Err(_) => kv,
    }
}

/// An object of `rt` in the serialization its storage holds.
fn incoming(rt: &ResourceType, obj: &Value) -> Value {
    if rt.stored_as.is_none() {
        return obj.clone();
    }
    registry::convert::to_storage(rt, obj.clone())
}

/// The namespace and name of a stored object of `rt` from its key.
pub(crate) fn namespace_and_name(rt: &ResourceType, kv: &KeyValue) -> Option<(String, String)> {
    keys::split(rt, &kv.key)
}

fn decode(kv: &KeyValue) -> Result<Value, StatusError> {
    decode_kv(kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))
}

fn status_internal(e: &StoreError) -> StatusError {
    tracing::error!(error = %e, "storage error");
    StatusError::internal(&e.to_string())
}

/// Maps a storage error to the Status kube gives for it.
pub(crate) fn status(rt: &ResourceType, name: &str, e: StoreError) -> StatusError {
    match e {
        StoreError::NotFound => StatusError::not_found(&rt.group_resource(), name),
        StoreError::AlreadyExists => StatusError::already_exists(&rt.group_resource(), name),
        StoreError::Conflict { .. } => StatusError::stale_update(&rt.group_resource(), name),
        StoreError::Compacted { compacted, .. } => {
            StatusError::resource_expired(format!("too old resource version: {compacted}"))
        }
        other => status_internal(&other),
    }
}

/// A watch that cannot start or continue from `after`: 410 Expired once compacted.
pub(crate) fn watch_status(after: u64, e: StoreError) -> StatusError {
    match e {
        StoreError::Compacted { compacted, .. } => {
            StatusError::resource_expired(format!("too old resource version: {after} ({compacted})"))
        }
        other => status_internal(&other),
    }
}

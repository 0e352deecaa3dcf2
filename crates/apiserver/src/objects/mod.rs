//! The object layer: the only place that knows storage keys, the stored byte layout and
//! how a `StoreError` becomes a Kubernetes Status (kube's `registry/generic/registry.Store`
//! over `storage.Interface`). REST handlers, admission lookups, bootstrap and controllers
//! all read and write objects through [`Objects`], by resource type, namespace and name.
//! A resource stored as another (events.k8s.io/v1 Events are core v1 Events in storage)
//! is converted here, both ways, so every reader gets the serialization it asked for.

mod codec;
mod keys;

pub(crate) use codec::{
    append_raw_with_rv, decode_kv, decode_kv_metadata, json_bytes, kube_field_order, metadata_bytes,
    raw_with_rv,
};
pub use keys::decode_continue;
pub(crate) use keys::name_in_key;

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
    /// How many objects follow this page (kube's `remainingItemCount`), when there is a next.
    pub remaining: Option<u64>,
}

/// kube's 410 for a list at a compacted revision (k8s.io/apiserver `storage/etcd3/errors.go`).
const LIST_EXPIRED: &str = "The resourceVersion for the provided list is too old.";

/// kube's 410 for a continue token whose revision is compacted; the Status carries a token
/// that goes on at the latest revision.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list \
     result. You can start a new list without the continue parameter, or use the continue token in this \
     response to retrieve the remainder of the results. Continuing with the provided token results in an \
     inconsistent list - objects that were created, modified, or deleted between the time the first chunk \
     was returned and now may show up in the list.";

/// Where a LIST reads (kube's storage `ListOptions`, once the request's `resourceVersion` and
/// `resourceVersionMatch` are validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFrom {
    /// The latest state (no `resourceVersion`): a consistent read.
    Latest,
    /// Any state the store holds, however recent (`resourceVersion=0`): a watch cache's
    /// current state, without making sure first that it is the latest.
    Any,
    /// The latest state, which must be at least this revision (`NotOlderThan`, and an
    /// unpaginated list with a `resourceVersion`); 504 "Too large resource version" otherwise.
    NotOlderThan(u64),
    /// The state at this revision (`Exact`, and a paginated list with a `resourceVersion`);
    /// 410 once compacted.
    Exact(u64),
}

/// Typed access to stored objects; see the module docs.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn Store>,
    namespaces: Arc<NamespaceMemo>,
}

/// The Namespaces admission looks up, decoded once per revision: every namespaced write
/// reads its Namespace (NamespaceLifecycle, policies reading `namespaceObject`), and the
/// decode was about 5% of a ConfigMap create. Keyed by storage key; a revision that differs
/// is decoded again. Bounded: emptied when it reaches [`NamespaceMemo::MAX`] entries.
#[derive(Default)]
struct NamespaceMemo(std::sync::Mutex<std::collections::HashMap<String, (u64, Arc<Value>)>>);

impl NamespaceMemo {
    const MAX: usize = 4096;

    fn get(&self, kv: &KeyValue) -> Option<Arc<Value>> {
        let memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(&kv.key).filter(|(rev, _)| *rev == kv.mod_revision).map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, revision: u64, v: Arc<Value>) {
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= Self::MAX && !memo.contains_key(&key) {
            memo.clear();
        }
        memo.insert(key, (revision, v));
    }
}

impl Objects {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, namespaces: Arc::default() }
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
            Some(kv) => decode_outgoing(rt, kv).map(Some),
            None => Ok(None),
        }
    }

    /// [`Objects::find`] from what the store holds now, which can miss writes acknowledged
    /// moments before (kube's informer listers, for admission lookups).
    pub async fn find_cached(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
    ) -> Result<Option<Value>, StatusError> {
        let Some(kv) =
            self.store.get_cached(&keys::key(rt, ns, name)).await.map_err(|e| status(rt, name, e))?
        else {
            return Ok(None);
        };
        if !(rt.group.is_empty() && rt.plural == "namespaces") {
            return decode_outgoing(rt, kv).map(Some);
        }
        if let Some(v) = self.namespaces.get(&kv) {
            return Ok(Some(Value::clone(&v)));
        }
        let (key, revision) = (kv.key.clone(), kv.mod_revision);
        let v = decode_outgoing(rt, kv)?;
        self.namespaces.put(key, revision, Arc::new(v.clone()));
        Ok(Some(v))
    }

    /// The first page of objects in `ns` (every namespace when empty), read as `from` says;
    /// `limit` 0 lists everything. The continue token of the page reads the next one at the
    /// same revision.
    pub async fn list_from(
        &self,
        rt: &ResourceType,
        ns: &str,
        from: ListFrom,
        limit: usize,
    ) -> Result<Page, StatusError> {
        let pfx = keys::prefix(rt, ns);
        let result = match from {
            ListFrom::Latest => self.store.list(&pfx, None, limit).await,
            ListFrom::Any => self.store.list_cached(&pfx, None, limit).await,
            ListFrom::NotOlderThan(min) => match self.store.list(&pfx, None, limit).await {
                // kube's "not older than" guarantee (etcd3 `validateMinimumResourceVersion`).
                Ok(page) if page.revision < min => {
                    return Err(StatusError::too_large_resource_version(min, page.revision, 1))
                }
                other => other,
            },
            ListFrom::Exact(rev) => self.store.list_at(&pfx, None, limit, rev).await,
        };
        let result = result.map_err(|e| match e {
            StoreError::Compacted { .. } => StatusError::resource_expired(LIST_EXPIRED),
            e => list_status(rt, e),
        })?;
        Ok(page(rt, result, &pfx))
    }

    /// One page of objects in `ns` (every namespace when empty) from a continue token, at the
    /// token's revision (the latest for kube's `rv: -1` tokens), or the first page without
    /// one; `limit` 0 lists everything. Once the token's revision is compacted: 410 with a
    /// token that continues at the latest revision (kube's `handleCompactedErrorForPaging`).
    pub async fn list(
        &self,
        rt: &ResourceType,
        ns: &str,
        continue_token: Option<&str>,
        limit: usize,
    ) -> Result<Page, StatusError> {
        let Some(token) = continue_token.filter(|c| !c.is_empty()) else {
            return self.list_from(rt, ns, ListFrom::Latest, limit).await;
        };
        let pfx = keys::prefix(rt, ns);
        let (rv, start_after) = keys::decode_continue(token, &pfx)?;
        let result = match u64::try_from(rv) {
            Ok(rev) => self.store.list_at(&pfx, Some(&start_after), limit, rev).await,
            Err(_) => self.store.list(&pfx, Some(&start_after), limit).await,
        };
        let result = result.map_err(|e| match e {
            StoreError::Compacted { .. } => StatusError::resource_expired(CONTINUE_EXPIRED)
                .with_continue(keys::encode_continue(-1, &start_after, &pfx)),
            e => list_status(rt, e),
        })?;
        Ok(page(rt, result, &pfx))
    }

    /// Every object in `ns` (every namespace when empty), decoded, from what the store holds
    /// now (see [`Objects::find_cached`]).
    pub async fn list_all_cached(&self, rt: &ResourceType, ns: &str) -> Result<Vec<Value>, StatusError> {
        let page = self.list_from(rt, ns, ListFrom::Any, 0).await?;
        Ok(page.items.iter().filter_map(decode_kv).collect())
    }

    /// Every object in `ns` (every namespace when empty), decoded, and the list's revision.
    pub async fn list_all(&self, rt: &ResourceType, ns: &str) -> Result<(Vec<Value>, u64), StatusError> {
        let page = self.list(rt, ns, None, 0).await?;
        Ok((page.items.iter().filter_map(decode_kv).collect(), page.revision))
    }

    /// Every object in `ns` (every namespace when empty) as stored (the values shared with
    /// the store, not copied), and the list's revision: for a reader that decodes one object
    /// at a time.
    pub async fn list_all_raw(
        &self,
        rt: &ResourceType,
        ns: &str,
    ) -> Result<(Vec<KeyValue>, u64), StatusError> {
        let page = self.list(rt, ns, None, 0).await?;
        Ok((page.items, page.revision))
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
        decode_outgoing(rt, kv)
    }

    /// Stores a new object taken from `obj` (409 AlreadyExists when the name is taken, and
    /// `obj` left as it was) and returns it as [`Objects::create`] would, without parsing
    /// the stored bytes back: the value itself in kube's field order with its resourceVersion
    /// (the stored bytes are that value's encoding). Objects converted for storage are parsed
    /// back as `create` does. A custom resource comes defaulted by its schema (a write's
    /// decoding defaults it, and admission defaults again what it mutates) and is not defaulted
    /// a second time, as kube's storage decodes it with the schema the request started with.
    pub async fn create_from(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: &mut Value,
    ) -> Result<Value, StatusError> {
        let kv = self
            .store
            .create(&keys::key(rt, ns, name), codec::encode_for_store(&incoming(rt, obj)))
            .await
            .map_err(|e| status(rt, name, e))?;
        let as_is = !rt.converts() || registry::convert::stored_as_is(rt, obj);
        if !as_is || !obj.is_object() {
            return decode_outgoing(rt, kv);
        }
        // Stored as is: a custom resource is in the version it is served as, so its
        // conversion would only default it again.
        Ok(codec::into_stored_form(std::mem::take(obj), kv.mod_revision))
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
        decode_outgoing(rt, kv)
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
        if !rt.converts() {
            return Ok(stream);
        }
        Ok(stream.map(move |ev| ev.map(|ev| converted(rt, ev))).boxed())
    }

    /// [`Objects::watch`] for a consumer that reads only what [`decode_kv_metadata`] reads
    /// (kind, apiVersion, name, namespace, uid, deletionTimestamp, finalizers,
    /// ownerReferences): a custom resource's events carry those alone, with the type's
    /// apiVersion, instead of the object converted whole (parsed, defaulted and encoded again
    /// per event, the largest cost the garbage collector's informers added to a create). A
    /// custom resource's conversion changes nothing else of them: its schema cannot default
    /// metadata.
    pub async fn watch_metadata(
        &self,
        rt: &'static ResourceType,
        ns: &str,
        after: u64,
    ) -> Result<WatchStream, StatusError> {
        if !rt.custom {
            return self.watch(rt, ns, after).await;
        }
        let stream =
            self.store.watch(&keys::prefix(rt, ns), after).await.map_err(|e| watch_status(after, e))?;
        Ok(stream.map(move |ev| ev.map(|ev| metadata_of(rt, ev))).boxed())
    }

    /// The store's current revision.
    pub async fn current_revision(&self) -> Result<u64, StatusError> {
        self.store.current_revision().await.map_err(|e| status_internal(&e))
    }
}

/// A store event with its objects in `rt`'s serialization: converted once per event and
/// resource type, the result kept in the event's cache for every other watcher of `rt`.
fn converted(rt: &ResourceType, ev: WatchEvent) -> WatchEvent {
    derived(rt, ev, (Derived::Converted, Derived::ConvertedPrev), outgoing)
}

/// A store event with its objects reduced to what [`decode_kv_metadata`] reads, in `rt`'s
/// apiVersion; kept in the event's cache like [`converted`].
fn metadata_of(rt: &ResourceType, ev: WatchEvent) -> WatchEvent {
    derived(rt, ev, (Derived::Metadata, Derived::MetadataPrev), metadata_only)
}

/// `ev` with `derive` applied to its object and previous object, each kept in the event's
/// cache under `keys` (object, previous) for `rt`.
fn derived(
    rt: &ResourceType,
    ev: WatchEvent,
    keys: (Derived, Derived),
    derive: fn(&ResourceType, KeyValue) -> KeyValue,
) -> WatchEvent {
    let kv = ev.cache.get_or_insert_with(derived_key(rt, keys.0), || derive(rt, ev.kv.clone()));
    let prev = ev
        .prev
        .as_ref()
        .map(|prev| ev.cache.get_or_insert_with(derived_key(rt, keys.1), || derive(rt, prev.clone())));
    WatchEvent {
        event_type: ev.event_type,
        kv: KeyValue::clone(&kv),
        prev: prev.map(|p| KeyValue::clone(&p)),
        cache: ev.cache,
    }
}

/// A stored object as the bytes of its metadata-only form with `rt`'s apiVersion; the stored
/// bytes as they are when they begin with that apiVersion (an object written in the version
/// `rt` serves: what [`decode_kv_metadata`] reads of them is the same, and neither parsing
/// nor encoding is paid per event).
fn metadata_only(rt: &ResourceType, kv: KeyValue) -> KeyValue {
    if codec::starts_with_api_version(&kv.value, &rt.api_version()) {
        return kv;
    }
    let Some(mut head) = decode_kv_metadata(&kv) else { return kv };
    if let Some(m) = head.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(rt.api_version()));
    }
    match serde_json::to_vec(&head) {
        Ok(bytes) => KeyValue { value: bytes.into(), ..kv },
        Err(_) => kv,
    }
}

/// What the apiserver derives from a watch event and keeps in its cache
/// ([`storage::EventCache`]), for one resource type: every watcher of that type then shares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derived {
    /// The object converted to the type's version (`outgoing`).
    Converted,
    /// The previous object, converted.
    ConvertedPrev,
    /// The object decoded (with its resourceVersion), for selectors and Tables.
    Decoded,
    /// The previous object decoded.
    DecodedPrev,
    /// The object's metadata-only form ([`Objects::watch_metadata`]).
    Metadata,
    /// The previous object's.
    MetadataPrev,
    /// One line of a watch response, as `rest/watch.rs` numbers its wire shapes (below 2^32).
    Line(u32),
}

/// The cache key of `what` for `rt`. A resource type lives as long as the server (the catalog
/// holds `'static` ones), so its address names it; the shapes of `Derived` never collide.
pub(crate) fn derived_key(rt: &ResourceType, what: Derived) -> storage::CacheKey {
    let shape = match what {
        Derived::Line(code) => u64::from(code),
        Derived::Converted => 1 << 32,
        Derived::ConvertedPrev => 2 << 32,
        Derived::Decoded => 3 << 32,
        Derived::DecodedPrev => 4 << 32,
        Derived::Metadata => 5 << 32,
        Derived::MetadataPrev => 6 << 32,
    };
    storage::CacheKey { owner: std::ptr::from_ref(rt) as usize, shape }
}

/// A stored object in `rt`'s serialization, in the stored byte layout.
fn outgoing(rt: &ResourceType, kv: KeyValue) -> KeyValue {
    if !rt.converts() {
        return kv;
    }
    match serde_json::from_slice::<Value>(&kv.value) {
        Ok(v) => KeyValue { value: codec::encode_for_store(&registry::convert::from_storage(rt, v)), ..kv },
        Err(_) => kv,
    }
}

/// A stored object as a value in `rt`'s serialization, with its resourceVersion. A custom
/// resource is parsed once and converted as a value (`outgoing` would parse, convert,
/// re-encode, and `decode` parse again); the stored bytes are in kube's field order already
/// and the conversion keeps `apiVersion` where it is, so the result is the same.
fn decode_outgoing(rt: &ResourceType, kv: KeyValue) -> Result<Value, StatusError> {
    if rt.custom {
        return Ok(registry::convert::from_storage(rt, decode(&kv)?));
    }
    decode(&outgoing(rt, kv))
}

/// An object of `rt` in the serialization its storage holds (borrowed when it is the same,
/// as for every kind but those stored as another, and custom resources written in their
/// storage version: no copy on the write path).
fn incoming<'a>(rt: &ResourceType, obj: &'a Value) -> std::borrow::Cow<'a, Value> {
    if !rt.converts() || registry::convert::stored_as_is(rt, obj) {
        return std::borrow::Cow::Borrowed(obj);
    }
    std::borrow::Cow::Owned(registry::convert::to_storage(rt, obj.clone()))
}

/// A page of the store as the object layer answers it, with kube's continue token.
fn page(rt: &ResourceType, result: storage::ListResult, pfx: &str) -> Page {
    let continue_token = match (result.remaining, result.items.last()) {
        (true, Some(last)) => {
            Some(keys::encode_continue(i64::try_from(result.revision).unwrap_or(i64::MAX), &last.key, pfx))
        }
        _ => None,
    };
    let remaining = continue_token.as_ref().map(|_| result.remaining_count);
    let items = result.items.into_iter().map(|kv| outgoing(rt, kv)).collect();
    Page { items, revision: result.revision, continue_token, remaining }
}

/// A list that asks for a revision the store has not reached: kube's "Too large resource
/// version" (504, retry after 1 s, as its watch cache answers).
fn list_status(rt: &ResourceType, e: StoreError) -> StatusError {
    match e {
        StoreError::FutureRevision { requested, current } => {
            StatusError::too_large_resource_version(requested, current, 1)
        }
        e => status(rt, "", e),
    }
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
    match &e {
        StoreError::NotFound => StatusError::not_found(&rt.group_resource(), name),
        StoreError::AlreadyExists => StatusError::already_exists(&rt.group_resource(), name),
        StoreError::Conflict { .. } => StatusError::stale_update(&rt.group_resource(), name),
        StoreError::Compacted { compacted, .. } => {
            StatusError::resource_expired(format!("too old resource version: {compacted}"))
        }
        // A write whose outcome the store cannot know: kube's 504 for a request that did not
        // complete (the Display text is kube's "request did not complete within requested
        // timeout - ..."); the client reads the object to learn what happened.
        StoreError::Timeout(_) => {
            tracing::warn!(error = %e, "storage write with an unknown outcome");
            StatusError::timeout(&e.to_string(), 0)
        }
        _ => status_internal(&e),
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

#[cfg(test)]
mod tests;

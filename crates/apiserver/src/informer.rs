//! One informer for every controller, in kube-runtime's watcher/reflector model: list,
//! then watch from the list's revision; when the watch ends or fails, back off and list
//! again. Events say what changed ([`Event::Apply`], [`Event::Delete`]) and, around every
//! (re-)list, [`Event::Init`], one [`Event::InitApply`] per listed object and
//! [`Event::InitDone`]: at `InitDone` the listed objects are the whole state, so a
//! consumer replaces everything it knew (objects deleted while the watch was down are
//! gone). Failures are logged once per outage, not once per retry.

use crate::objects::Objects;
use apimachinery::StatusError;
use futures::stream::{self, SelectAll, StreamExt};
use registry::ResourceType;
use serde_json::Value;
use std::time::Duration;
use storage::{EventType, KeyValue, WatchStream};

/// What an informer tells its consumer.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An object was added or changed.
    Apply(Value),
    /// An object was deleted (its last state).
    Delete(Value),
    /// A (re-)list begins.
    Init,
    /// One object of the list.
    InitApply(Value),
    /// The list is complete: the objects since `Init` are the whole state.
    InitDone,
}

/// Wait before the first re-list; doubled after each failure up to [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

enum Phase {
    /// List next (after waiting `backoff` when set).
    List {
        backoff: Option<Duration>,
    },
    /// Listed objects still to hand out (decoded one at a time as they are handed out, so a
    /// list of 100,000 objects never holds 100,000 decoded ones), then the watches to follow.
    Initial {
        items: std::vec::IntoIter<KeyValue>,
        watches: SelectAll<WatchStream>,
    },
    Watching(SelectAll<WatchStream>),
}

/// Lists and watches objects of one or more resource types (in one namespace, or all).
pub struct Informer {
    objects: Objects,
    types: Vec<&'static ResourceType>,
    namespace: String,
    name: &'static str,
    phase: Phase,
    backoff: Duration,
    /// Whether the current outage was already logged.
    failing: bool,
    /// Changes only: every (re-)list is empty and watches start at the current revision.
    changes_only: bool,
    /// Only objects with one of these names (empty: every object), as a `metadata.name`
    /// field selector: the others' watch events are skipped before they are decoded.
    names: &'static [&'static str],
    /// Objects as [`crate::objects::decode_kv_metadata`] reads them: kind, apiVersion and
    /// the identity and lifecycle part of metadata only.
    metadata_only: bool,
}

impl Informer {
    /// An informer over `types` in every namespace; `name` appears in its log lines.
    pub fn new(objects: Objects, name: &'static str, types: Vec<&'static ResourceType>) -> Self {
        Self {
            objects,
            types,
            namespace: String::new(),
            name,
            phase: Phase::List { backoff: None },
            backoff: INITIAL_BACKOFF,
            failing: false,
            changes_only: false,
            names: &[],
            metadata_only: false,
        }
    }

    /// Only `kind`, `apiVersion` and the metadata that says who an object is and where it is
    /// in its life (name, namespace, uid, resourceVersion, deletionTimestamp, finalizers,
    /// ownerReferences), as kube's metadata informers: for consumers that act on those alone
    /// (the garbage collector follows every write of every type), the rest of each object
    /// is skipped unparsed.
    pub fn metadata_only(mut self) -> Self {
        self.metadata_only = true;
        self
    }

    /// Only objects named one of `names` (kube's `metadata.name` field selector): a consumer
    /// that cares about a few well-known objects of a busy collection (every namespace's
    /// `kube-root-ca.crt` among all ConfigMaps) does not pay for decoding the rest.
    pub fn named(mut self, names: &'static [&'static str]) -> Self {
        self.names = names;
        self
    }

    /// Only changes from now on, no listed state: for consumers that act on events alone
    /// (putting back deleted defaults) and have their own resync, over collections too large
    /// to list at every start.
    pub fn changes_only(mut self) -> Self {
        self.changes_only = true;
        self
    }

    /// Only objects in `namespace`.
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_string();
        self
    }

    /// The next event; waits for one. Never ends: failures are retried with backoff.
    pub async fn next(&mut self) -> Event {
        loop {
            match &mut self.phase {
                Phase::List { backoff } => {
                    if let Some(wait) = backoff.take() {
                        tokio::time::sleep(wait).await;
                    }
                    let mode = if self.changes_only {
                        ListMode::ChangesOnly
                    } else if self.metadata_only {
                        ListMode::Metadata
                    } else {
                        ListMode::Objects
                    };
                    match list(&self.objects, &self.types, &self.namespace, mode).await {
                        Ok((items, watches)) => {
                            self.recovered();
                            self.phase = Phase::Initial { items: items.into_iter(), watches };
                            return Event::Init;
                        }
                        Err(e) => self.failed("list", &e.message),
                    }
                }
                Phase::Initial { items, watches } => match items.next() {
                    Some(kv) => {
                        if !self.names.is_empty()
                            && !self.names.contains(&crate::objects::name_in_key(&kv.key))
                        {
                            continue;
                        }
                        let decoded = if self.metadata_only {
                            crate::objects::decode_kv_metadata(&kv)
                        } else {
                            crate::objects::decode_kv(&kv)
                        };
                        if let Some(obj) = decoded {
                            return Event::InitApply(obj);
                        }
                    }
                    None => {
                        let watches = std::mem::take(watches);
                        self.phase = Phase::Watching(watches);
                        return Event::InitDone;
                    }
                },
                Phase::Watching(watches) => match watches.next().await {
                    Some(Ok(ev)) => {
                        let named = crate::objects::name_in_key(&ev.kv.key);
                        if !self.names.is_empty() && !self.names.contains(&named) {
                            continue;
                        }
                        let decoded = if self.metadata_only {
                            crate::objects::decode_kv_metadata(&ev.kv)
                        } else {
                            crate::objects::decode_kv(&ev.kv)
                        };
                        let Some(obj) = decoded else { continue };
                        self.recovered();
                        return match ev.event_type {
                            EventType::Deleted => Event::Delete(obj),
                            EventType::Added | EventType::Modified => Event::Apply(obj),
                        };
                    }
                    Some(Err(e)) => self.failed("watch", &e.to_string()),
                    None => {
                        // A watch that ends (the store closed it) is followed by a re-list.
                        tracing::debug!(informer = self.name, "watch ended; re-listing");
                        self.phase = Phase::List { backoff: Some(INITIAL_BACKOFF) };
                    }
                },
            }
        }
    }

    fn failed(&mut self, what: &str, error: &str) {
        if !self.failing {
            tracing::warn!(informer = self.name, error, "{what} failed; retrying with backoff");
            self.failing = true;
        } else {
            tracing::debug!(informer = self.name, error, "{what} failed again");
        }
        self.phase = Phase::List { backoff: Some(self.backoff) };
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn recovered(&mut self) {
        if self.failing {
            tracing::info!(informer = self.name, "watching again");
            self.failing = false;
        }
        self.backoff = INITIAL_BACKOFF;
    }
}

/// What a (re-)list reads.
#[derive(Clone, Copy)]
enum ListMode {
    /// Whole objects.
    Objects,
    /// Objects as [`Informer::metadata_only`] says.
    Metadata,
    /// Nothing: watches start at the current revision ([`Informer::changes_only`]).
    ChangesOnly,
}

/// Lists every type, then opens a watch for each from its list's revision (from the
/// current revision, listing nothing, for [`ListMode::ChangesOnly`]).
async fn list(
    objects: &Objects,
    types: &[&'static ResourceType],
    namespace: &str,
    mode: ListMode,
) -> Result<(Vec<KeyValue>, SelectAll<WatchStream>), StatusError> {
    let mut items = Vec::new();
    let mut watches = Vec::new();
    for rt in types {
        let listed = match mode {
            ListMode::ChangesOnly => None,
            ListMode::Objects | ListMode::Metadata => Some(objects.list_all_raw(rt, namespace).await?),
        };
        let rev = match listed {
            None => objects.current_revision().await?,
            Some((objs, rev)) => {
                items.extend(objs);
                rev
            }
        };
        watches.push(match mode {
            ListMode::Metadata => objects.watch_metadata(rt, namespace, rev).await?,
            ListMode::Objects | ListMode::ChangesOnly => objects.watch(rt, namespace, rev).await?,
        });
    }
    Ok((items, stream::select_all(watches)))
}

/// The name and namespace of an object from its metadata.
pub fn name_of(obj: &Value) -> (&str, &str) {
    let s = |f: &str| obj.get("metadata").and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or_default();
    (s("namespace"), s("name"))
}

/// Collects the events of one (re-)list: `Some(objects)` at `InitDone`.
#[derive(Default)]
pub struct InitBuffer(Vec<Value>);

impl InitBuffer {
    /// Feeds an event; returns the complete list at `InitDone`.
    pub fn feed(&mut self, ev: &Event) -> Option<Vec<Value>> {
        match ev {
            Event::Init => {
                self.0.clear();
                None
            }
            Event::InitApply(o) => {
                self.0.push(o.clone());
                None
            }
            Event::InitDone => Some(std::mem::take(&mut self.0)),
            _ => None,
        }
    }
}

//! The embedded store's single writer: a thread that takes every write request waiting on its
//! channel, checks preconditions in arrival order against memory plus the batch so far, commits
//! the batch as one redb transaction (one fsync), then publishes it to memory and watchers and
//! answers each request.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::disk::Disk;
use super::Shared;
use crate::memory::{Entry, State};
use crate::store::{EventType, KeyValue, Revision, StoreError, WatchEvent};

/// The most requests folded into one transaction.
pub(crate) const MAX_BATCH: usize = 1024;

/// One write.
#[derive(Debug)]
pub(crate) enum Op {
    Create { key: String, value: Bytes },
    Update { key: String, value: Bytes, expected: Option<Revision> },
    Delete { key: String, expected: Option<Revision> },
    Compact { rev: Revision },
}

/// A write and where to send its answer: the written (or deleted) key, `None` for compaction.
pub(crate) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Option<KeyValue>, StoreError>>,
}

/// Runs until every sender is dropped and the channel is drained.
pub(crate) fn run(disk: Disk, shared: Arc<Shared>, mut rx: mpsc::Receiver<Request>) {
    /// Open watches end with the writer, also when it panics.
    struct CloseWatches<'a>(&'a Shared);
    impl Drop for CloseWatches<'_> {
        fn drop(&mut self) {
            self.0.wakers.close();
        }
    }
    let _close = CloseWatches(&shared);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        commit_batch(&disk, &shared, &mut batch);
    }
    tracing::debug!("storage writer stopped");
}

/// The outcome of one request before commit.
type Outcome = Result<Option<KeyValue>, StoreError>;

/// A batch evaluated against memory: the changes to write and what to publish.
#[derive(Default)]
struct Plan {
    /// Keys changed by the batch, their final state (`None` = deleted), in first-touch order.
    changes: Vec<(String, Option<Entry>)>,
    index: HashMap<String, usize>,
    events: Vec<WatchEvent>,
    revision: Revision,
    compact_to: Option<Revision>,
}

impl Plan {
    fn current<'a>(&'a self, state: &'a State, key: &str) -> Option<&'a Entry> {
        match self.index.get(key) {
            Some(&i) => self.changes.get(i).and_then(|(_, e)| e.as_ref()),
            None => state.objects.get(key),
        }
    }

    fn set(&mut self, key: &str, entry: Option<Entry>) {
        match self.index.get(key) {
            Some(&i) => {
                if let Some(slot) = self.changes.get_mut(i) {
                    slot.1 = entry;
                }
            }
            None => {
                self.index.insert(key.to_owned(), self.changes.len());
                self.changes.push((key.to_owned(), entry));
            }
        }
    }

    /// Evaluates one request in order; a successful write takes the next revision.
    fn apply(&mut self, state: &State, op: &Op) -> Outcome {
        let revision = self.revision + 1;
        let (key, event_type, entry, prev) = match op {
            Op::Compact { rev } => {
                if *rev > self.revision {
                    return Err(StoreError::FutureRevision { requested: *rev, current: self.revision });
                }
                self.compact_to = Some(self.compact_to.map_or(*rev, |c| c.max(*rev)));
                return Ok(None);
            }
            Op::Create { key, value } => {
                if self.current(state, key).is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                let entry = Entry { value: value.clone(), create_revision: revision, mod_revision: revision };
                (key, EventType::Added, entry, None)
            }
            Op::Update { key, value, expected } => {
                let prev = checked(self.current(state, key), key, *expected)?;
                let entry = Entry {
                    value: value.clone(),
                    create_revision: prev.create_revision,
                    mod_revision: revision,
                };
                (key, EventType::Modified, entry, Some(prev))
            }
            Op::Delete { key, expected } => {
                let prev = checked(self.current(state, key), key, *expected)?;
                let entry = Entry {
                    value: prev.value.clone(),
                    create_revision: prev.create_revision,
                    mod_revision: revision,
                };
                (key, EventType::Deleted, entry, Some(prev))
            }
        };
        let kv = entry.to_kv(key);
        self.set(key, if event_type == EventType::Deleted { None } else { Some(entry) });
        self.revision = revision;
        self.events.push(WatchEvent::new(event_type, kv.clone(), prev));
        Ok(Some(kv))
    }
}

/// The key's current value if it exists and matches the expected revision.
fn checked(current: Option<&Entry>, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError> {
    let current = current.ok_or(StoreError::NotFound)?.to_kv(key);
    match expected {
        Some(rev) if rev != current.mod_revision => Err(StoreError::Conflict { current }),
        _ => Ok(current),
    }
}

/// Evaluates, commits and publishes one batch, then answers every request in it.
fn commit_batch(disk: &Disk, shared: &Shared, batch: &mut Vec<Request>) {
    let (plan, outcomes) = {
        let state = shared.read();
        if let Some(reason) = &state.failed {
            let reason = reason.clone();
            drop(state);
            for req in batch.drain(..) {
                let _ = req.reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
            return;
        }
        let mut plan = Plan { revision: state.revision, ..Plan::default() };
        let outcomes: Vec<Outcome> = batch.iter().map(|req| plan.apply(&state, &req.op)).collect();
        (plan, outcomes)
    };

    if !plan.changes.is_empty() || plan.compact_to.is_some() {
        let changes: Vec<_> = plan.changes.iter().map(|(k, e)| (k.as_str(), e.as_ref())).collect();
        if let Err(err) = disk.commit(&changes, plan.revision, plan.compact_to) {
            // The disk state is now uncertain: refuse further writes until the store is reopened.
            let reason = format!("commit failed, reopen the store: {err}");
            tracing::error!(error = %err, writes = batch.len(), "storage commit failed");
            shared.write().failed = Some(reason.clone());
            for req in batch.drain(..) {
                let _ = req.reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
            return;
        }
        shared.commits.fetch_add(1, Ordering::Relaxed);
        shared.writes.fetch_add(plan.events.len() as u64, Ordering::Relaxed);
    }

    // The keys to wake watchers for, once the commit is visible.
    let keys: Vec<String> = plan.events.iter().map(|e| e.kv.key.clone()).collect();
    {
        let mut state = shared.write();
        for (key, entry) in plan.changes {
            match entry {
                Some(entry) => {
                    state.objects.insert(key, entry);
                }
                None => {
                    state.objects.remove(&key);
                }
            }
        }
        state.push_events(plan.events);
        if let Some(rev) = plan.compact_to {
            state.compact(rev);
        }
    }
    shared.wakers.wake(keys.iter().map(String::as_str));
    for (req, outcome) in batch.drain(..).zip(outcomes) {
        // A caller that gave up waiting is no reason to fail the others.
        let _ = req.reply.send(outcome);
    }
}

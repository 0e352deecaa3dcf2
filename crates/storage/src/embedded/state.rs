//! The embedded store's memory: every current object (serves get and list without touching
//! disk) and the recent history of events (serves watch). Only the writer changes it, and only
//! after the change is committed to disk, so readers never see an unacknowledged write.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use bytes::Bytes;

use crate::store::{KeyValue, ListResult, Revision, StoreError, WatchEvent};

/// One current object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub value: Bytes,
    pub create_revision: Revision,
    pub mod_revision: Revision,
}

impl Entry {
    pub fn to_kv(&self, key: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: self.value.clone(),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
        }
    }
}

/// How much history to keep in memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimits {
    pub events: usize,
    pub bytes: usize,
}

/// The committed state.
///
/// Invariant: `history` holds exactly the events of revisions `compacted + 1 ..= revision`, one
/// per revision, in order; so the event of revision `r` sits at index `r - compacted - 1`.
#[derive(Debug)]
pub(crate) struct State {
    pub objects: BTreeMap<String, Entry>,
    pub revision: Revision,
    pub compacted: Revision,
    history: VecDeque<WatchEvent>,
    history_bytes: usize,
    limits: HistoryLimits,
    /// Set when a commit failed: the disk state is then uncertain and writes are refused.
    pub failed: Option<String>,
}

impl State {
    /// State after opening: history starts empty, compacted at the current revision.
    pub fn new(objects: BTreeMap<String, Entry>, revision: Revision, limits: HistoryLimits) -> State {
        State {
            objects,
            revision,
            compacted: revision,
            history: VecDeque::new(),
            history_bytes: 0,
            limits,
            failed: None,
        }
    }

    pub fn get(&self, key: &str) -> Option<KeyValue> {
        self.objects.get(key).map(|e| e.to_kv(key))
    }

    pub fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> ListResult {
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut matching = self
            .objects
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix));
        let mut items = Vec::new();
        let mut remaining_count = 0u64;
        for (key, entry) in matching.by_ref() {
            if limit != 0 && items.len() == limit {
                // This key and every one after it in the prefix.
                remaining_count = 1 + matching.count() as u64;
                break;
            }
            items.push(entry.to_kv(key));
        }
        ListResult { items, revision: self.revision, remaining: remaining_count > 0, remaining_count }
    }

    /// [`State::list`] as the keys were at `rev`: the current objects, except that a key the
    /// history after `rev` touches has the value its first such event replaced (none for a
    /// key created after `rev`). Needs every event after `rev`, so `rev` >= `compacted`.
    pub fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        if rev > self.revision {
            return Err(StoreError::FutureRevision { requested: rev, current: self.revision });
        }
        if rev < self.compacted || rev == 0 {
            return Err(StoreError::Compacted { compacted: self.compacted, current: self.revision });
        }
        // `rev >= compacted`: the events after `rev` start at this index.
        let first = usize::try_from(rev - self.compacted).unwrap_or(usize::MAX);
        let mut then: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        for event in self.history.iter().skip(first) {
            if event.kv.key.starts_with(prefix) {
                // Added: absent at `rev`; Modified or Deleted: the value it replaced.
                then.entry(event.kv.key.as_str()).or_insert(event.prev.as_ref());
            }
        }
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut now = self
            .objects
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .peekable();
        let mut past = then.range::<str, _>((lower, Bound::Unbounded)).peekable();
        let mut items = Vec::new();
        let mut remaining_count = 0u64;
        loop {
            // The next key in order from either side; the history's view of a key wins.
            let next = match (now.peek(), past.peek()) {
                (None, None) => break,
                (Some((k, _)), Some((p, _))) if k.as_str() < **p => now.next().map(|(k, e)| Some(e.to_kv(k))),
                (Some(_), None) => now.next().map(|(k, e)| Some(e.to_kv(k))),
                (now_key, Some((p, _))) => {
                    if now_key.is_some_and(|(k, _)| k.as_str() == **p) {
                        now.next();
                    }
                    past.next().map(|(_, kv)| kv.cloned())
                }
            };
            let Some(Some(kv)) = next else { continue };
            if limit != 0 && items.len() >= limit {
                // Counted to the end of the prefix: kube's remainingItemCount.
                remaining_count += 1;
                continue;
            }
            items.push(kv);
        }
        Ok(ListResult { items, revision: rev, remaining: remaining_count > 0, remaining_count })
    }

    /// Appends the events of one commit (revisions `revision + 1 ..`), then trims history to
    /// its limits.
    pub fn push_events(&mut self, events: Vec<WatchEvent>) {
        for event in events {
            self.revision = event.kv.mod_revision;
            self.history_bytes += event_size(&event);
            self.history.push_back(event);
        }
        while self.history.len() > self.limits.events || self.history_bytes > self.limits.bytes {
            self.drop_oldest();
        }
    }

    /// Drops history at or below `rev` (never past the current revision).
    pub fn compact(&mut self, rev: Revision) {
        while self.compacted < rev.min(self.revision) {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(event) = self.history.pop_front() {
            self.history_bytes = self.history_bytes.saturating_sub(event_size(&event));
        }
        self.compacted += 1;
    }

    /// Up to `max_scan` events after `after` whose key starts with `prefix`, and the last
    /// revision scanned (so the caller resumes after it even when nothing matched).
    pub fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        max_scan: usize,
    ) -> Result<(Vec<WatchEvent>, Revision), StoreError> {
        if after < self.compacted {
            return Err(StoreError::Compacted { compacted: self.compacted, current: self.revision });
        }
        // `after >= compacted`, so the difference is the index of the first event wanted.
        let start = usize::try_from(after - self.compacted).unwrap_or(usize::MAX);
        let mut last = after;
        let mut out = Vec::new();
        for event in self.history.iter().skip(start).take(max_scan) {
            last = event.kv.mod_revision;
            if event.kv.key.starts_with(prefix) {
                out.push(event.clone());
            }
        }
        Ok((out, last))
    }

    #[cfg(test)]
    pub fn history_len(&self) -> usize {
        self.history.len()
    }
}

/// What an event costs in memory, roughly: its bytes plus a fixed overhead.
fn event_size(event: &WatchEvent) -> usize {
    let prev = event.prev.as_ref().map_or(0, |p| p.value.len());
    2 * event.kv.key.len() + event.kv.value.len() + prev + 128
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::EventType;

    fn added(key: &str, rev: Revision) -> WatchEvent {
        WatchEvent {
            event_type: EventType::Added,
            kv: KeyValue {
                key: key.into(),
                value: Bytes::from_static(b"{}"),
                create_revision: rev,
                mod_revision: rev,
            },
            prev: None,
        }
    }

    #[test]
    fn history_is_trimmed_to_the_event_limit() {
        let mut state = State::new(BTreeMap::new(), 10, HistoryLimits { events: 3, bytes: usize::MAX });
        state.push_events((11..=15).map(|r| added("/a", r)).collect());
        assert_eq!(state.revision, 15);
        assert_eq!(state.compacted, 12);
        assert_eq!(state.history_len(), 3);
        let (events, last) = state.events_after("/", 12, 10).unwrap();
        assert_eq!(events.iter().map(|e| e.revision()).collect::<Vec<_>>(), vec![13, 14, 15]);
        assert_eq!(last, 15);
        assert!(matches!(state.events_after("/", 11, 10), Err(StoreError::Compacted { compacted: 12, .. })));
    }

    #[test]
    fn history_is_trimmed_to_the_byte_limit() {
        let mut state = State::new(BTreeMap::new(), 0, HistoryLimits { events: 100, bytes: 400 });
        state.push_events((1..=10).map(|r| added("/a", r)).collect());
        assert!(state.history_len() <= 400 / 128);
        assert_eq!(state.compacted + state.history_len() as u64, 10);
    }

    #[test]
    fn events_after_scans_at_most_max_scan_and_reports_the_last_revision() {
        let mut state = State::new(BTreeMap::new(), 0, HistoryLimits { events: 100, bytes: usize::MAX });
        state.push_events(vec![added("/a/1", 1), added("/b/1", 2), added("/b/2", 3), added("/a/2", 4)]);
        let (events, last) = state.events_after("/a/", 0, 3).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(last, 3);
        let (events, last) = state.events_after("/a/", 3, 3).unwrap();
        assert_eq!(events[0].kv.key, "/a/2");
        assert_eq!(last, 4);
        let (events, last) = state.events_after("/a/", 9, 3).unwrap();
        assert!(events.is_empty());
        assert_eq!(last, 9);
    }

    #[test]
    fn compact_never_passes_the_current_revision() {
        let mut state = State::new(BTreeMap::new(), 0, HistoryLimits { events: 100, bytes: usize::MAX });
        state.push_events(vec![added("/a", 1), added("/b", 2)]);
        state.compact(1);
        assert_eq!(state.compacted, 1);
        state.compact(50);
        assert_eq!(state.compacted, 2);
        assert_eq!(state.history_len(), 0);
    }
}

//! The in-memory state both backends keep: every current object (serves get and list) and the
//! recent history of events (serves watch and lists at a past revision).
//!
//! The embedded store's writer changes it only after a change is committed to disk, so readers
//! never see an unacknowledged write; there, every revision has exactly one event. The etcd
//! backend's watch cache (`etcd::cache`) fills it from a watch of its key space, where
//! revisions can have gaps (writes outside the key space) and one revision can hold several
//! events (a transaction of several writes), so nothing here assumes one event per revision.

use std::collections::{BTreeMap, HashMap, VecDeque};
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

/// How many of the newest events keep what watchers derive from them (their encodings,
/// [`crate::EventCache`]); older ones are retired: their results dropped, none kept again.
const CACHED_EVENTS: usize = 1024;
/// And at most about this many bytes of those events' values (the encodings kept are some
/// small multiple of them).
const CACHED_VALUE_BYTES: usize = 8 << 20;

/// How much history to keep in memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimits {
    pub events: usize,
    pub bytes: usize,
}

/// The committed state.
///
/// Invariant: `history` holds every event of the revisions `compacted + 1 ..= revision`, in
/// revision order; so the state at any revision from `compacted` to `revision` is the current
/// objects with the history after it undone.
#[derive(Debug)]
pub(crate) struct State {
    pub objects: BTreeMap<String, Entry>,
    pub revision: Revision,
    pub compacted: Revision,
    history: VecDeque<WatchEvent>,
    history_bytes: usize,
    /// The index in `history` of the oldest event whose cache is kept (those before it are
    /// retired), and the value bytes of the events from it on.
    cached_from: usize,
    cached_bytes: usize,
    limits: HistoryLimits,
    /// Set when a commit failed: the disk state is then uncertain and writes are refused
    /// (the embedded store's writer; the etcd cache never sets it).
    pub failed: Option<String>,
    /// The revision this state started at, and for each resource ([`wake_bucket`]) the
    /// newest revision of its events dropped from history since: a watcher woken only for
    /// its resource's events ([`State::quiet_since`]) knows whether it missed any while
    /// history moved past its cursor.
    opened_at: Revision,
    dropped_last: HashMap<String, Revision>,
}

/// The resource part of a key or watch prefix, `/registry/<group>/<resource>/` (everything
/// up to its fourth `/`), or `None` for a shorter one.
pub(crate) fn wake_bucket(key: &str) -> Option<&str> {
    let end = key.match_indices('/').nth(3)?.0;
    key.get(..=end)
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
            cached_from: 0,
            cached_bytes: 0,
            limits,
            failed: None,
            opened_at: revision,
            dropped_last: HashMap::new(),
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
        let first = self.first_after(rev);
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

    /// The index in `history` of the first event after `rev`.
    fn first_after(&self, rev: Revision) -> usize {
        self.history.partition_point(|event| event.kv.mod_revision <= rev)
    }

    /// Appends the events of one commit (revisions after `revision`, in order), then trims
    /// history to its limits.
    pub fn push_events(&mut self, events: Vec<WatchEvent>) {
        for event in events {
            self.revision = event.kv.mod_revision;
            self.history_bytes += event_size(&event);
            self.cached_bytes += event.kv.value.len();
            self.history.push_back(event);
        }
        self.retire_caches();
        while self.history.len() > self.limits.events || self.history_bytes > self.limits.bytes {
            self.drop_oldest();
        }
    }

    /// Notes that every event up to `rev` is in: a revision with no event of this state's key
    /// space (the etcd cache watches writes outside it for their revision alone).
    pub fn advance(&mut self, rev: Revision) {
        self.revision = self.revision.max(rev);
    }

    /// Retires the caches of the events past the newest [`CACHED_EVENTS`] and
    /// [`CACHED_VALUE_BYTES`] (the newest event's is always kept).
    fn retire_caches(&mut self) {
        while self.history.len().saturating_sub(self.cached_from) > 1 {
            let kept = self.history.len() - self.cached_from;
            if kept <= CACHED_EVENTS && self.cached_bytes <= CACHED_VALUE_BYTES {
                break;
            }
            let Some(event) = self.history.get(self.cached_from) else { break };
            event.cache.retire();
            self.cached_bytes = self.cached_bytes.saturating_sub(event.kv.value.len());
            self.cached_from += 1;
        }
    }

    /// Drops history at or below `rev` (never past the current revision).
    pub fn compact(&mut self, rev: Revision) {
        let rev = rev.min(self.revision);
        while self.history.front().is_some_and(|event| event.kv.mod_revision <= rev) {
            self.drop_oldest();
        }
        self.compacted = self.compacted.max(rev);
    }

    /// Drops the oldest revision's events (all of them: a revision is kept whole or not at all).
    fn drop_oldest(&mut self) {
        let Some(rev) = self.history.front().map(|event| event.kv.mod_revision) else { return };
        while self.history.front().is_some_and(|event| event.kv.mod_revision == rev) {
            if let Some(event) = self.history.pop_front() {
                if let Some(bucket) = wake_bucket(&event.kv.key) {
                    match self.dropped_last.get_mut(bucket) {
                        Some(last) => *last = rev,
                        None => {
                            self.dropped_last.insert(bucket.to_owned(), rev);
                        }
                    }
                }
                self.history_bytes = self.history_bytes.saturating_sub(event_size(&event));
                match self.cached_from.checked_sub(1) {
                    Some(from) => self.cached_from = from,
                    None => self.cached_bytes = self.cached_bytes.saturating_sub(event.kv.value.len()),
                }
            }
        }
        self.compacted = rev;
    }

    /// Whether no event under `prefix` after `after` has been dropped from history (known
    /// only for a prefix within one resource, and for revisions since this state started):
    /// a watcher of `prefix` at `after` then misses nothing by going on from `compacted`.
    pub fn quiet_since(&self, prefix: &str, after: Revision) -> bool {
        after >= self.opened_at
            && wake_bucket(prefix).is_some_and(|b| self.dropped_last.get(b).is_none_or(|&last| last <= after))
    }

    /// The events after `after` whose key starts with `prefix`, scanning about `max_scan`
    /// events (more only to finish the last revision scanned), and the last revision scanned
    /// (so the caller resumes after it even when nothing matched).
    pub fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        max_scan: usize,
    ) -> Result<(Vec<WatchEvent>, Revision), StoreError> {
        if after < self.compacted {
            return Err(StoreError::Compacted { compacted: self.compacted, current: self.revision });
        }
        let start = self.first_after(after);
        let mut last = after;
        let mut out = Vec::new();
        for (scanned, event) in self.history.iter().skip(start).enumerate() {
            if scanned >= max_scan && event.kv.mod_revision != last {
                break;
            }
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
        let kv = KeyValue {
            key: key.into(),
            value: Bytes::from_static(b"{}"),
            create_revision: rev,
            mod_revision: rev,
        };
        WatchEvent::new(EventType::Added, kv, None)
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
    fn watchers_share_an_event_cache_kept_for_the_newest_events_only() {
        use crate::event_cache::CacheKey;
        let key = CacheKey { owner: 0, shape: 0 };
        let mut state = State::new(BTreeMap::new(), 0, HistoryLimits { events: 10_000, bytes: usize::MAX });
        state.push_events(vec![added("/a/0", 1)]);
        let (first, _) = state.events_after("/a/", 0, 10).unwrap();
        let (second, _) = state.events_after("/a/", 0, 10).unwrap();
        let made = first[0].cache.get_or_insert_with(key, || Bytes::from_static(b"line"));
        assert!(std::sync::Arc::ptr_eq(&made, &second[0].cache.get::<Bytes>(key).unwrap()));
        // Once CACHED_EVENTS newer events are in, the first one's results are dropped.
        let n = CACHED_EVENTS as u64;
        state.push_events((2..=n + 1).map(|r| added("/a/x", r)).collect());
        assert!(first[0].cache.is_empty());
        assert_eq!(*first[0].cache.get_or_insert_with(key, || 5u8), 5);
        assert!(first[0].cache.is_empty(), "a retired cache keeps nothing");
        let (newest, _) = state.events_after("/a/", n, 10).unwrap();
        newest[0].cache.get_or_insert_with(key, || 1u8);
        assert_eq!(newest[0].cache.len(), 1);
        // Trimming retired events keeps the window's bookkeeping in step.
        state.compact(n);
        assert_eq!((state.cached_from, state.history_len()), (0, 1));
        assert_eq!(state.cached_bytes, 2);
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

    fn modified(key: &str, create: Revision, rev: Revision, prev_rev: Revision) -> WatchEvent {
        let kv = |mod_revision| KeyValue {
            key: key.into(),
            value: Bytes::from(format!("{mod_revision}")),
            create_revision: create,
            mod_revision,
        };
        WatchEvent::new(EventType::Modified, kv(rev), Some(kv(prev_rev)))
    }

    /// Objects at revision 15 and the history that led there from 10 (the history's events
    /// are pushed, the objects set as they end up). The etcd cache's history: revisions with gaps (writes outside the key space) and
    /// several events in one revision (a transaction).
    fn gapped() -> State {
        let mut objects = BTreeMap::new();
        objects.insert(
            "/a".to_owned(),
            Entry { value: Bytes::from("12"), create_revision: 1, mod_revision: 12 },
        );
        objects.insert(
            "/b".to_owned(),
            Entry { value: Bytes::from("12"), create_revision: 2, mod_revision: 12 },
        );
        objects.insert(
            "/c".to_owned(),
            Entry { value: Bytes::from("11"), create_revision: 11, mod_revision: 11 },
        );
        let mut state = State::new(objects, 10, HistoryLimits { events: 100, bytes: usize::MAX });
        let mut created = added("/c", 11);
        created.kv.value = Bytes::from("11");
        state.push_events(vec![created]);
        state.push_events(vec![modified("/a", 1, 12, 5), modified("/b", 2, 12, 6)]);
        state.advance(15);
        state
    }

    #[test]
    fn a_past_revision_reads_across_gaps_and_shared_revisions() {
        let state = gapped();
        assert_eq!(state.revision, 15);
        let values = |rev| {
            let listed = state.list_at("/", None, 0, rev).unwrap();
            listed.items.iter().map(|kv| (kv.key.clone(), kv.mod_revision)).collect::<Vec<_>>()
        };
        let at =
            |pairs: &[(&str, Revision)]| pairs.iter().map(|(k, r)| ((*k).to_owned(), *r)).collect::<Vec<_>>();
        assert_eq!(values(10), at(&[("/a", 5), ("/b", 6)]));
        assert_eq!(values(11), at(&[("/a", 5), ("/b", 6), ("/c", 11)]));
        // Revision 12 changed both keys: never one without the other.
        assert_eq!(values(12), at(&[("/a", 12), ("/b", 12), ("/c", 11)]));
        assert_eq!(values(14), values(15));
        assert!(matches!(state.list_at("/", None, 0, 9), Err(StoreError::Compacted { compacted: 10, .. })));
        assert!(matches!(
            state.list_at("/", None, 0, 16),
            Err(StoreError::FutureRevision { current: 15, .. })
        ));
    }

    #[test]
    fn a_revision_is_scanned_and_trimmed_whole() {
        let mut state = gapped();
        // A scan of one event still finishes revision 12.
        let (events, last) = state.events_after("/", 11, 1).unwrap();
        assert_eq!((events.len(), last), (2, 12));
        let (events, last) = state.events_after("/", 12, 10).unwrap();
        assert_eq!((events.len(), last), (0, 12));
        state.compact(11);
        assert_eq!((state.compacted, state.history_len()), (11, 2));
        state.limits.events = 1;
        state.push_events(vec![modified("/c", 11, 16, 11)]);
        assert_eq!((state.compacted, state.history_len()), (12, 1));
        assert!(state.list_at("/", None, 0, 11).is_err());
        assert_eq!(state.list_at("/", None, 0, 12).unwrap().items[2].mod_revision, 11);
    }
}

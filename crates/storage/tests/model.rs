//! Property test: random operation sequences against the embedded store and a `BTreeMap`
//! reference model agree on every answer, on the final contents, and on the watch history.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;
use storage::{EmbeddedStore, EventType, KeyValue, Revision, Store, StoreError};

const KEYS: &[&str] = &["/a/0", "/a/1", "/a/2", "/ab", "/b/0", "/b/1"];
const PREFIXES: &[&str] = &["/", "/a/", "/a", "/b/", "/c/"];

#[derive(Debug, Clone, Copy)]
enum Expect {
    Any,
    Current,
    Stale,
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize, u8),
    Update(usize, u8, Expect),
    Delete(usize, Expect),
    Get(usize),
    List(usize, Option<usize>, usize),
    Compact(u8),
    Reopen,
}

fn expect() -> impl Strategy<Value = Expect> {
    prop_oneof![Just(Expect::Any), Just(Expect::Current), Just(Expect::Stale)]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        4 => (key.clone(), any::<u8>()).prop_map(|(k, v)| Op::Create(k, v)),
        3 => (key.clone(), any::<u8>(), expect()).prop_map(|(k, v, e)| Op::Update(k, v, e)),
        2 => (key.clone(), expect()).prop_map(|(k, e)| Op::Delete(k, e)),
        1 => key.clone().prop_map(Op::Get),
        2 => (0..PREFIXES.len(), proptest::option::of(key), 0usize..4).prop_map(|(p, s, l)| Op::List(p, s, l)),
        1 => any::<u8>().prop_map(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    objects: BTreeMap<String, KeyValue>,
    revision: Revision,
    compacted: Revision,
    events: Vec<(EventType, KeyValue)>,
}

impl Model {
    fn expected_rev(&self, key: &str, expect: Expect) -> Option<Revision> {
        let current = self.objects.get(key).map_or(1, |kv| kv.mod_revision);
        match expect {
            Expect::Any => None,
            Expect::Current => Some(current),
            Expect::Stale => Some(current + 1000),
        }
    }

    fn check(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, String> {
        let cur = self.objects.get(key).ok_or("NotFound")?;
        match expected {
            Some(rev) if rev != cur.mod_revision => Err("Conflict".into()),
            _ => Ok(cur.clone()),
        }
    }

    fn write(&mut self, event_type: EventType, kv: KeyValue) -> KeyValue {
        self.revision = kv.mod_revision;
        if event_type == EventType::Deleted {
            self.objects.remove(&kv.key);
        } else {
            self.objects.insert(kv.key.clone(), kv.clone());
        }
        self.events.push((event_type, kv.clone()));
        kv
    }
}

fn outcome(result: Result<KeyValue, StoreError>) -> Result<KeyValue, String> {
    result.map_err(|e| match e {
        StoreError::NotFound => "NotFound".into(),
        StoreError::AlreadyExists => "AlreadyExists".into(),
        StoreError::Conflict { .. } => "Conflict".into(),
        other => format!("{other:?}"),
    })
}

async fn run(ops: Vec<Op>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Some(EmbeddedStore::open(tmp.path()).unwrap());
    let mut m = Model::default();
    for op in ops {
        let s = store.as_ref().unwrap();
        let next = m.revision + 1;
        match op {
            Op::Create(k, v) => {
                let key = KEYS[k];
                let got = outcome(s.create(key, Bytes::from(vec![v])).await);
                let want = if m.objects.contains_key(key) {
                    Err("AlreadyExists".into())
                } else {
                    let kv = KeyValue {
                        key: key.into(),
                        value: Bytes::from(vec![v]),
                        create_revision: next,
                        mod_revision: next,
                    };
                    Ok(m.write(EventType::Added, kv))
                };
                assert_eq!(got, want, "create {key}");
            }
            Op::Update(k, v, e) => {
                let key = KEYS[k];
                let expected = m.expected_rev(key, e);
                let got = outcome(s.update(key, Bytes::from(vec![v]), expected).await);
                let want = m.check(key, expected).map(|cur| {
                    let kv = KeyValue { value: Bytes::from(vec![v]), mod_revision: next, ..cur };
                    m.write(EventType::Modified, kv)
                });
                assert_eq!(got, want, "update {key} {expected:?}");
            }
            Op::Delete(k, e) => {
                let key = KEYS[k];
                let expected = m.expected_rev(key, e);
                let got = outcome(s.delete(key, expected).await);
                let want = m
                    .check(key, expected)
                    .map(|cur| m.write(EventType::Deleted, KeyValue { mod_revision: next, ..cur }));
                assert_eq!(got, want, "delete {key} {expected:?}");
            }
            Op::Get(k) => assert_eq!(s.get(KEYS[k]).await.unwrap().as_ref(), m.objects.get(KEYS[k])),
            Op::List(p, start, limit) => {
                let prefix = PREFIXES[p];
                let start_after = start.map(|i| KEYS[i]);
                let got = s.list(prefix, start_after, limit).await.unwrap();
                let all: Vec<_> = m
                    .objects
                    .values()
                    .filter(|kv| {
                        kv.key.starts_with(prefix) && start_after.is_none_or(|a| kv.key.as_str() > a)
                    })
                    .cloned()
                    .collect();
                let take = if limit == 0 { all.len() } else { limit.min(all.len()) };
                assert_eq!(got.items, all[..take]);
                assert_eq!(got.remaining, take < all.len());
                assert_eq!(got.revision, m.revision);
            }
            Op::Compact(back) => {
                let rev = m.revision.saturating_sub(Revision::from(back % 8));
                s.compact(rev).await.unwrap();
                m.compacted = m.compacted.max(rev);
                assert_eq!(s.compacted_revision(), m.compacted);
            }
            Op::Reopen => {
                drop(store.take());
                store = Some(EmbeddedStore::open(tmp.path()).unwrap());
                m.compacted = m.revision;
            }
        }
    }
    let s = store.as_ref().unwrap();
    assert_eq!(s.current_revision().await.unwrap(), m.revision);
    assert_eq!(s.list("", None, 0).await.unwrap().items, m.objects.values().cloned().collect::<Vec<_>>());

    // The watch history kept is exactly the model's events after the compacted revision.
    if m.compacted > 0 {
        assert!(matches!(s.watch("/", m.compacted - 1).await, Err(StoreError::Compacted { .. })));
    }
    let mut watch = s.watch("/", m.compacted).await.unwrap();
    for (event_type, kv) in m.events.iter().filter(|(_, kv)| kv.mod_revision > m.compacted) {
        let event =
            tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
        assert_eq!((event.event_type, &event.kv), (*event_type, kv));
    }
    assert!(tokio::time::timeout(Duration::from_millis(20), watch.next()).await.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn embedded_store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}

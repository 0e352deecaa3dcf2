//! kube-controller-manager's garbage collector (kube's `pkg/controller/garbagecollector`):
//! dependents whose owners are all gone are deleted (a dependent keeping an owner only loses
//! the dangling references), an owner deleted in the foreground (`foregroundDeletion`)
//! goes once no dependent blocks it, an orphaning owner (`orphan`) goes once its
//! dependents no longer name it.
//!
//! One metadata-only informer per served resource type that can be listed, watched and deleted (custom
//! resources too, picked up when their CRD is served; Events are ignored, as kube ignores
//! them) feeds the owner graph (`graph.rs`) on one task; the work the graph queues is done
//! by `collector.rs` on the same task, retried with backoff when it fails. Runs under the
//! controllers' Lease.

mod collector;
pub mod graph;

use crate::informer::{Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use graph::{Graph, Node, Work};
use registry::{Catalog, ResourceType};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often the catalog is looked at for resource types to follow (custom resources
/// served since), and retries fall due.
const TICK: Duration = Duration::from_secs(1);
/// The first wait before a failed item is tried again; doubled per failure up to
/// [`MAX_RETRY`] (kube's rate-limited queue).
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// The informers' events waiting for the collector's task.
const EVENT_BUFFER: usize = 1024;

/// Resource types the collector never follows (kube's `DefaultIgnoredResources`).
fn ignored(rt: &ResourceType) -> bool {
    matches!((rt.group, rt.plural), ("", "events") | ("events.k8s.io", "events"))
}

fn followed(rt: &ResourceType) -> bool {
    rt.stored
        && rt.stored_as.is_none()
        && ["delete", "list", "watch"].iter().all(|v| rt.has_verb(v))
        && !ignored(rt)
}

type TypeKey = (&'static str, &'static str);

fn key(rt: &ResourceType) -> TypeKey {
    (rt.storage_group(), rt.storage_plural())
}

pub(crate) struct Collector {
    objects: Objects,
    catalog: &'static Catalog,
    graph: Graph,
    queue: VecDeque<Work>,
    queued: HashSet<Work>,
    /// Failed items: when each is due again (`None` once queued again), and its failures.
    retries: HashMap<Work, (Option<Instant>, u32)>,
    watched: HashSet<TypeKey>,
    /// The uids listed so far by each type's (re-)list in progress.
    listing: HashMap<TypeKey, HashSet<String>>,
    events: mpsc::Sender<(&'static ResourceType, Event)>,
}

pub async fn start(state: &State) {
    let (tx, mut rx) = mpsc::channel(EVENT_BUFFER);
    let mut gc = Collector {
        objects: state.objects.clone(),
        catalog: state.catalog,
        graph: Graph::default(),
        queue: VecDeque::new(),
        queued: HashSet::new(),
        retries: HashMap::new(),
        watched: HashSet::new(),
        listing: HashMap::new(),
        events: tx,
    };
    let task = tokio::spawn(async move {
        gc.follow_new_types();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                Some((rt, ev)) = rx.recv() => gc.handle(rt, ev),
                _ = tick.tick() => {
                    gc.follow_new_types();
                    gc.requeue_due();
                }
                _ = std::future::ready(()), if !gc.queue.is_empty() => gc.work_one().await,
            }
        }
    });
    // Under leader election, stopped when leadership is lost; the informers' tasks end with
    // it (their channel closes).
    super::leader_election::record(task.abort_handle());
}

impl Collector {
    /// Starts an informer for every followed type not followed yet.
    fn follow_new_types(&mut self) {
        for rt in self.catalog.all() {
            if !followed(rt) || !self.watched.insert(key(rt)) {
                continue;
            }
            let informer = Informer::new(self.objects.clone(), "garbage-collector", vec![rt]).metadata_only();
            tokio::spawn(feed(rt, informer, self.events.clone()));
        }
    }

    fn handle(&mut self, rt: &'static ResourceType, ev: Event) {
        let work = match ev {
            Event::Init => {
                self.listing.insert(key(rt), HashSet::new());
                Vec::new()
            }
            Event::InitApply(obj) => {
                if let (Some(set), Some(uid)) = (self.listing.get_mut(&key(rt)), graph::uid_of(&obj)) {
                    set.insert(uid.to_string());
                }
                Node::of(rt, &obj).map(|n| self.graph.observe(n)).unwrap_or_default()
            }
            Event::InitDone => {
                let listed = self.listing.remove(&key(rt)).unwrap_or_default();
                self.graph.relisted(rt, &listed)
            }
            Event::Apply(obj) => Node::of(rt, &obj).map(|n| self.graph.observe(n)).unwrap_or_default(),
            Event::Delete(obj) => graph::uid_of(&obj).map(|u| self.graph.forget(u)).unwrap_or_default(),
        };
        self.enqueue(work);
    }

    fn enqueue(&mut self, work: Vec<Work>) {
        for w in work {
            if self.queued.insert(w.clone()) {
                self.queue.push_back(w);
            }
        }
    }

    /// Failed items whose wait is over go back to the queue (their failure count kept).
    fn requeue_due(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        for (w, (at, _)) in self.retries.iter_mut() {
            if at.is_some_and(|t| t <= now) {
                *at = None;
                due.push(w.clone());
            }
        }
        self.enqueue(due);
    }

    async fn work_one(&mut self) {
        let Some(w) = self.queue.pop_front() else { return };
        self.queued.remove(&w);
        let result = match &w {
            Work::AttemptToDelete(uid) => self.attempt_to_delete(uid).await,
            Work::Orphan(uid) => self.orphan(uid).await,
        };
        match result {
            Ok(()) => {
                self.retries.remove(&w);
            }
            Err(e) => {
                let failures = self.retries.get(&w).map_or(0, |(_, n)| *n);
                let wait = FIRST_RETRY.saturating_mul(1 << failures.min(8)).min(MAX_RETRY);
                tracing::debug!(work = ?w, error = %e.message, retry_in = ?wait, "garbage collector: will retry");
                self.retries.insert(w, (Some(Instant::now() + wait), failures.saturating_add(1)));
            }
        }
    }
}

/// Hands one informer's events to the collector until the collector's task ends.
async fn feed(
    rt: &'static ResourceType,
    mut informer: Informer,
    events: mpsc::Sender<(&'static ResourceType, Event)>,
) {
    loop {
        tokio::select! {
            ev = informer.next() => {
                if events.send((rt, ev)).await.is_err() {
                    return;
                }
            }
            _ = events.closed() => return,
        }
    }
}

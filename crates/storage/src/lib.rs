//! kubeward's storage layer.
//!
//! - [`store`]: the [`Store`] trait every backend implements (etcd v3 semantics: global
//!   revisions, compare-and-swap on `mod_revision`, watches resumable from a revision).
//! - [`embedded`]: the default backend, one data directory on redb with group commit.
//! - [`etcd`]: the same contract over an etcd v3 cluster, shared by several servers.
//! - [`event_cache`]: what watchers derive from one event (its wire encodings), computed once
//!   and shared by every watcher that receives it.
//! - `wake` (private): which watchers a change wakes, by resource; both backends' watchers
//!   sleep on it.
//! - `conformance` (feature `testing`): the suite every backend must pass, for use from tests;
//!   with it, `etcd::TestEtcd` runs a throwaway etcd.
//!
//! The crate's README describes the embedded on-disk format and commit protocol, and how the
//! etcd backend maps the contract onto etcd.

pub mod embedded;
pub mod etcd;
pub mod event_cache;
mod memory;
pub mod store;
mod wake;

#[cfg(feature = "testing")]
pub mod conformance;

pub use embedded::{EmbeddedOptions, EmbeddedStats, EmbeddedStore};
pub use etcd::{EtcdOptions, EtcdStore, EtcdTls};
pub use event_cache::{CacheKey, EventCache};
pub use store::{EventType, KeyValue, ListResult, Revision, Store, StoreError, WatchEvent, WatchStream};

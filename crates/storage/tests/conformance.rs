//! The conformance suite against the embedded store, each case in a fresh temporary directory.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use storage::{conformance, EmbeddedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_passes_the_conformance_suite() {
    let dirs = Mutex::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        store
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_passes_the_conformance_suite_when_shared() {
    // One store for every case, as with a shared etcd cluster.
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    for (name, case) in conformance::CASES {
        eprintln!("shared: {name}");
        case(store.clone()).await;
    }
}

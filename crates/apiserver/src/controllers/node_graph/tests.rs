use super::*;
use apimachinery::{Attributes, UserInfo};
use authz::Authorizer;
use futures::StreamExt;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use storage::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

/// The embedded store, with a switch that cuts every watch and refuses lists and new
/// watches while it is on (writes still go through), as an unreachable store would.
struct Cuttable {
    inner: storage::EmbeddedStore,
    cut: Arc<AtomicBool>,
    cut_now: tokio::sync::watch::Sender<bool>,
}

impl Cuttable {
    fn set_cut(&self, on: bool) {
        self.cut.store(on, Ordering::SeqCst);
        let _ = self.cut_now.send(on);
    }

    fn refuse(&self) -> Result<(), StoreError> {
        if self.cut.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("cut by the test".into()));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for Cuttable {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str, start: Option<&str>, limit: usize) -> Result<ListResult, StoreError> {
        self.refuse()?;
        self.inner.list(prefix, start, limit).await
    }
    async fn list_at(
        &self,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        self.refuse()?;
        self.inner.list_at(prefix, start, limit, rev).await
    }
    async fn create(&self, key: &str, value: bytes::Bytes) -> Result<KeyValue, StoreError> {
        self.inner.create(key, value).await
    }
    async fn update(
        &self,
        key: &str,
        value: bytes::Bytes,
        e: Option<Revision>,
    ) -> Result<KeyValue, StoreError> {
        self.inner.update(key, value, e).await
    }
    async fn delete(&self, key: &str, e: Option<Revision>) -> Result<KeyValue, StoreError> {
        self.inner.delete(key, e).await
    }
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        self.refuse()?;
        let mut cut = self.cut_now.subscribe();
        let until_cut = async move {
            let _ = cut.wait_for(|on| *on).await;
        };
        Ok(self.inner.watch(prefix, after).await?.take_until(Box::pin(until_cut)).boxed())
    }
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.inner.current_revision().await
    }
    async fn compact(&self, rev: Revision) -> Result<(), StoreError> {
        self.inner.compact(rev).await
    }
}

fn read_secret(node: &str) -> Attributes {
    Attributes {
        user: UserInfo::new(format!("system:node:{node}"), vec!["system:nodes".into()]),
        verb: "get".into(),
        resource_request: true,
        api_version: "v1".into(),
        resource: "secrets".into(),
        namespace: "prod".into(),
        name: "db".into(),
        ..Default::default()
    }
}

/// Polls `f` every 20 ms for at most 10 s.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_while_the_watch_is_cut_leaves_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let (cut_now, _) = tokio::sync::watch::channel(false);
    let store = Arc::new(Cuttable {
        inner: storage::EmbeddedStore::open(dir.path()).unwrap(),
        cut: Arc::new(AtomicBool::new(false)),
        cut_now,
    });
    let objects = Objects::new(store.clone());
    let catalog = registry::Catalog::global();
    let pods = catalog.lookup("", "v1", "pods").unwrap();
    let node = Arc::new(authz::NodeAuthorizer::new());
    run(objects.clone(), catalog, node.clone()).await;

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "prod", "name": "web"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c"}], "volumes": [{"name": "s", "secret": {"secretName": "db"}}]}});
    objects.create(pods, "prod", "web", &pod).await.unwrap();
    eventually("the watch brings the pod", || node.authorize(&read_secret("n1")).is_allowed()).await;

    store.set_cut(true);
    objects.delete(pods, "prod", "web", None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Nothing could tell the graph yet: the pod's access outlives it while the store is cut.
    assert!(node.authorize(&read_secret("n1")).is_allowed());

    store.set_cut(false);
    eventually("the re-list drops the deleted pod", || !node.authorize(&read_secret("n1")).is_allowed())
        .await;
    assert_eq!(node.pods(), 0);
}

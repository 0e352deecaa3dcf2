//! etcd's Cluster and Maintenance APIs (`storage::etcd::admin`) against a real etcd: the
//! member list, a member's status, a learner added and removed, a snapshot streamed.

use std::time::Duration;
use storage::etcd::admin::EtcdAdmin;
use storage::etcd::{EtcdOptions, TestEtcd};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_status_learners_and_snapshots() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let options = EtcdOptions { request_timeout: Duration::from_secs(10), ..EtcdOptions::default() };
    let admin = EtcdAdmin::new(&[etcd.endpoint()], &options).expect("client");
    let members = admin.members().await.expect("members");
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0].name, "test");
    assert!(!members[0].is_learner);
    let status = admin.status().await.expect("status");
    assert_eq!(status.leader, members[0].id, "a one-member cluster leads itself");
    assert_eq!(status.member_id, members[0].id);

    // A learner (never started) does not cost the cluster its quorum, and goes again.
    let (learner, all) = admin.add("http://127.0.0.1:1", true).await.expect("add a learner");
    assert!(learner.is_learner && all.len() == 2, "{all:?}");
    let err = admin.promote(learner.id).await.expect_err("a learner that never started is not in sync");
    assert!(err.to_string().contains("promote"), "{err}");
    let left = admin.remove(learner.id).await.expect("remove the learner");
    assert_eq!(left.len(), 1);

    let mut snapshot = Vec::new();
    let bytes = admin.snapshot(&mut snapshot).await.expect("snapshot");
    assert_eq!(bytes as usize, snapshot.len());
    assert!(bytes > 1024, "a bbolt database of {bytes} bytes");
}

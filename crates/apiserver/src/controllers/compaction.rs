//! Periodic compaction, as kube-apiserver does against etcd: every interval, history older
//! than the revision seen one interval ago is dropped, so watches can resume from any
//! revision of the last few minutes and storage does not grow without bound.

use crate::state::State;
use std::time::Duration;

pub const INTERVAL: Duration = Duration::from_secs(300);

pub fn start(state: State) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.tick().await;
        let mut previous: Option<u64> = None;
        loop {
            tick.tick().await;
            if let Some(rev) = previous.filter(|r| *r > 0) {
                match state.objects.store().compact(rev).await {
                    Ok(()) => tracing::debug!(revision = rev, "compacted"),
                    Err(e) => tracing::warn!(revision = rev, error = %e, "compaction failed"),
                }
            }
            previous = state.objects.store().current_revision().await.ok();
        }
    });
}

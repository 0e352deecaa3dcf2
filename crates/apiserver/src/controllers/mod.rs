//! Loops that watch the store and keep derived state current: the RBAC authorizer's
//! policy (and ClusterRole aggregation), and namespace deletion.

pub mod compaction;
pub mod namespace;
pub mod node_graph;
pub mod rbac;
pub mod revocations;
pub mod serviceaccounts;
pub mod tokens;

use std::time::Duration;

/// Pause before re-listing after a watch ends or fails.
pub(crate) const RELIST_BACKOFF: Duration = Duration::from_millis(200);

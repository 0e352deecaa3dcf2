//! Fresh revisions for consistent reads, with the quorum reads shared between callers (as
//! etcd's own read loop batches ReadIndex requests).
//!
//! A consistent read needs a revision read from etcd *after* the read was asked for: every
//! write acknowledged before that moment is at or below it. Concurrent readers share one
//! linearizable etcd read, under one rule: a caller may only join a read that starts after it
//! arrived. So at most one read is in flight; callers that arrive while it is join the next
//! one, which starts when it answers. Under load that is one etcd round trip for every
//! caller of a round trip's time, whatever their number.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::Conn;
use crate::store::{Revision, StoreError};

/// What one shared read answered: the revision, or why it failed (kept as the error's kind
/// and text, as every caller gets its own [`StoreError`]).
#[derive(Debug, Clone)]
enum Answer {
    Revision(Revision),
    Unavailable(String),
    Internal(String),
}

/// One round: its callers wait on the receiver until the read is done.
type Round = watch::Receiver<Option<Answer>>;

#[derive(Default)]
struct Rounds {
    /// The read in flight: callers may not join it any more.
    running: bool,
    /// The next read, started when the running one answers; callers join it.
    queued: Option<(watch::Sender<Option<Answer>>, Round)>,
}

/// Shares linearizable revision reads between concurrent callers; see the module docs.
#[derive(Clone, Default)]
pub(crate) struct FreshRevision {
    rounds: Arc<Mutex<Rounds>>,
}

impl FreshRevision {
    /// A revision read from etcd after this call began: at or above every write acknowledged
    /// before it.
    pub(crate) async fn get(&self, conn: &Conn) -> Result<Revision, StoreError> {
        let (start, mut round) = {
            let mut rounds = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
            let round = match &rounds.queued {
                Some((_, round)) => round.clone(),
                None => {
                    let (sender, round) = watch::channel(None);
                    rounds.queued = Some((sender, round.clone()));
                    round
                }
            };
            let start = if rounds.running {
                None
            } else {
                rounds.running = true;
                rounds.queued.take().map(|(sender, _)| sender)
            };
            (start, round)
        };
        if let Some(sender) = start {
            // The rounds run on a task of their own, so a caller that goes away does not
            // strand the others.
            tokio::spawn(drive(self.rounds.clone(), conn.clone(), sender));
        }
        // `None`: the driver ended without answering, only when the runtime shuts down.
        let answer = round.wait_for(Option::is_some).await.ok().and_then(|answer| answer.clone());
        match answer {
            Some(Answer::Revision(rev)) => Ok(rev),
            Some(Answer::Internal(message)) => Err(StoreError::Internal(message)),
            Some(Answer::Unavailable(message)) => Err(StoreError::Unavailable(message)),
            None => Err(StoreError::Unavailable("the revision read was abandoned".into())),
        }
    }
}

/// Runs reads while callers queue for them: the first for `sender`'s round, then each queued
/// round in turn.
async fn drive(rounds: Arc<Mutex<Rounds>>, conn: Conn, mut sender: watch::Sender<Option<Answer>>) {
    loop {
        let answer = match conn.current_revision().await {
            Ok(rev) => Answer::Revision(rev),
            Err(StoreError::Internal(message)) => Answer::Internal(message),
            Err(err) => Answer::Unavailable(unavailable_text(err)),
        };
        sender.send_replace(Some(answer));
        let mut rounds = rounds.lock().unwrap_or_else(PoisonError::into_inner);
        match rounds.queued.take() {
            Some((next, _)) => sender = next,
            None => {
                rounds.running = false;
                return;
            }
        }
    }
}

/// The text of a failed read, without the variant's own prefix (the caller's
/// `StoreError::Unavailable` adds it again).
fn unavailable_text(err: StoreError) -> String {
    match err {
        StoreError::Unavailable(message) => message,
        other => other.to_string(),
    }
}

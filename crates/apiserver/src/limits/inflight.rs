//! Fair seats for requests in flight: kube's `--max-requests-inflight` and
//! `--max-mutating-requests-inflight` pools with the idea of API Priority and Fairness
//! behind them, so one user's flood cannot starve another user's requests.
//!
//! A [`FairPool`] has `limit` seats. While seats are free and nobody waits, a request takes
//! one with a compare-and-swap and no lock. Otherwise it waits in its user's queue (at most
//! [`QUEUE_PER_USER`] waiting per user, [`FairPool::max_queued`] in all, each for at most the
//! queue wait); a freed seat goes to the users with waiters in turn (round robin, the fair
//! queuing of APF with one queue per user), so a user with one request waiting gets the next
//! seat even when another user has hundreds queued. A request that finds its user's queue
//! full, or that waits too long, is refused (the caller answers 429 with Retry-After).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// How many requests of one user may wait for a seat (APF's default queue length).
pub const QUEUE_PER_USER: usize = 50;

/// A pool of seats shared fairly between users.
pub struct FairPool {
    limit: usize,
    max_queued: usize,
    in_use: AtomicUsize,
    /// Waiters in all queues; read without the lock on the fast paths.
    queued: AtomicUsize,
    queues: Mutex<Queues>,
}

#[derive(Default)]
struct Queues {
    by_user: HashMap<Arc<str>, VecDeque<Waiter>>,
    /// Users with waiters, in the order their next waiter is served.
    turn: VecDeque<Arc<str>>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    tx: oneshot::Sender<Seat>,
}

/// A seat held; dropping it frees the seat (and hands it to the next waiter).
pub struct Seat {
    pool: Option<Arc<FairPool>>,
}

/// Why no seat was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The user's queue (or all queues) were full.
    QueueFull,
    /// The request waited its longest without a seat.
    Timeout,
}

impl FairPool {
    /// A pool of `limit` seats (at least one) whose queues hold at most `max_queued` waiters.
    pub fn new(limit: usize, max_queued: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            max_queued,
            in_use: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            queues: Mutex::new(Queues::default()),
        })
    }

    /// Seats.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Seats taken now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Most requests that may wait at once.
    pub fn max_queued(&self) -> usize {
        self.max_queued
    }

    /// A seat for one request of `user`, waiting at most `wait` in the user's queue.
    pub async fn acquire(self: &Arc<Self>, user: &str, wait: Duration) -> Result<Seat, Refused> {
        if self.queued.load(Ordering::SeqCst) == 0 && self.try_take() {
            return Ok(self.seat());
        }
        let (id, user, rx) = {
            let mut q = self.lock();
            // A seat goes straight to a newcomer only while nobody waits: a seat freed while
            // others wait is theirs, handed out in turn by `dispatch_locked`.
            if self.queued.load(Ordering::SeqCst) == 0 && self.try_take() {
                return Ok(self.seat());
            }
            let waiting_for_user = q.by_user.get(user).map_or(0, VecDeque::len);
            if waiting_for_user >= QUEUE_PER_USER || self.queued.load(Ordering::SeqCst) >= self.max_queued {
                return Err(Refused::QueueFull);
            }
            let (tx, rx) = oneshot::channel();
            q.next_id += 1;
            let id = q.next_id;
            let user: Arc<str> = match q.by_user.get_key_value(user) {
                Some((k, _)) => k.clone(),
                None => {
                    let k: Arc<str> = Arc::from(user);
                    q.turn.push_back(k.clone());
                    k
                }
            };
            q.by_user.entry(user.clone()).or_default().push_back(Waiter { id, tx });
            // Counted before the seats are looked at again: a seat freed meanwhile is either
            // seen by this dispatch or handed out by its releaser (which reads `queued` after
            // freeing it).
            self.queued.fetch_add(1, Ordering::SeqCst);
            self.dispatch_locked(&mut q);
            (id, user, rx)
        };
        // Leaves the queue however this wait ends (seat, timeout, or the request dropped).
        let mut guard = Leave { pool: self, user, id, armed: true };
        let mut rx = rx;
        match tokio::time::timeout(wait, &mut rx).await {
            Ok(Ok(seat)) => {
                guard.armed = false;
                Ok(seat)
            }
            _ => {
                guard.leave();
                // Granted just as the wait ended: use it.
                rx.try_recv().map_err(|_| Refused::Timeout)
            }
        }
    }

    fn seat(self: &Arc<Self>) -> Seat {
        Seat { pool: Some(self.clone()) }
    }

    fn try_take(&self) -> bool {
        self.in_use
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.limit).then_some(n + 1))
            .is_ok()
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        // Every change under this lock leaves the queues consistent before any call that
        // could panic, so a poisoned lock holds usable data.
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(self: &Arc<Self>) {
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        if self.queued.load(Ordering::SeqCst) > 0 {
            self.dispatch();
        }
    }

    /// Hands free seats to waiters, one user after another.
    fn dispatch(self: &Arc<Self>) {
        let mut q = self.lock();
        self.dispatch_locked(&mut q);
    }

    fn dispatch_locked(self: &Arc<Self>, q: &mut Queues) {
        while self.queued.load(Ordering::SeqCst) > 0 {
            if !self.try_take() {
                break;
            }
            let Some(waiter) = q.pop_next() else {
                self.in_use.fetch_sub(1, Ordering::SeqCst);
                break;
            };
            self.queued.fetch_sub(1, Ordering::SeqCst);
            if let Err(mut seat) = waiter.tx.send(self.seat()) {
                // The waiter is gone: take the seat back without re-entering dispatch.
                seat.pool = None;
                self.in_use.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl Queues {
    /// The first waiter of the user whose turn it is; that user goes to the back of the turn.
    fn pop_next(&mut self) -> Option<Waiter> {
        let user = self.turn.pop_front()?;
        let queue = self.by_user.get_mut(&user)?;
        let waiter = queue.pop_front()?;
        if queue.is_empty() {
            self.by_user.remove(&user);
        } else {
            self.turn.push_back(user);
        }
        Some(waiter)
    }

    /// Removes one waiter; whether it was still queued.
    fn remove(&mut self, user: &Arc<str>, id: u64) -> bool {
        let Some(queue) = self.by_user.get_mut(user) else { return false };
        let Some(at) = queue.iter().position(|w| w.id == id) else { return false };
        queue.remove(at);
        if queue.is_empty() {
            self.by_user.remove(user);
            self.turn.retain(|u| u != user);
        }
        true
    }
}

/// Removes a waiter from its queue when its wait ends without a seat.
struct Leave<'a> {
    pool: &'a Arc<FairPool>,
    user: Arc<str>,
    id: u64,
    armed: bool,
}

impl Leave<'_> {
    fn leave(&mut self) {
        if std::mem::take(&mut self.armed) && self.pool.lock().remove(&self.user, self.id) {
            self.pool.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn seats_are_taken_and_freed() {
        let pool = FairPool::new(2, 10);
        let a = pool.acquire("a", LONG).await.unwrap();
        let b = pool.acquire("a", LONG).await.unwrap();
        assert_eq!(pool.in_use(), 2);
        let started = Instant::now();
        let refused = pool.acquire("a", Duration::from_millis(50)).await;
        assert_eq!(refused.err(), Some(Refused::Timeout));
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(pool.waiting(), 0, "a waiter that timed out leaves its queue");
        drop(a);
        drop(b);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn a_freed_seat_goes_to_the_other_user_before_the_flooding_one() {
        let pool = FairPool::new(1, 1000);
        let held = pool.acquire("flood", LONG).await.unwrap();
        let mut flood = Vec::new();
        for _ in 0..20 {
            let p = pool.clone();
            flood.push(tokio::spawn(async move { p.acquire("flood", LONG).await.map(drop) }));
        }
        while pool.waiting() < 20 {
            tokio::task::yield_now().await;
        }
        let p = pool.clone();
        let other = tokio::spawn(async move { p.acquire("other", LONG).await });
        while pool.waiting() < 21 {
            tokio::task::yield_now().await;
        }
        drop(held);
        // The other user's one waiter is second in turn: the flood gets one seat first.
        let seat = tokio::time::timeout(Duration::from_secs(2), other).await.unwrap().unwrap().unwrap();
        assert!(pool.waiting() >= 18, "most of the flood still waits: {}", pool.waiting());
        drop(seat);
        for f in flood {
            f.await.unwrap().unwrap();
        }
        assert_eq!((pool.in_use(), pool.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = FairPool::new(1, 1000);
        let _held = pool.acquire("a", LONG).await.unwrap();
        let mut waiting = Vec::new();
        for _ in 0..QUEUE_PER_USER {
            let p = pool.clone();
            waiting.push(tokio::spawn(async move { p.acquire("a", LONG).await.map(drop) }));
        }
        while pool.waiting() < QUEUE_PER_USER {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.acquire("a", LONG).await.err(), Some(Refused::QueueFull));
        // Another user still queues.
        let p = pool.clone();
        let b = tokio::spawn(async move { p.acquire("b", Duration::from_millis(20)).await.map(drop) });
        assert_eq!(b.await.unwrap(), Err(Refused::Timeout));
        for w in waiting {
            w.abort();
        }
    }

    #[tokio::test]
    async fn dropped_waiters_leave_and_seats_are_never_lost() {
        let pool = FairPool::new(3, 1000);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let p = pool.clone();
            tasks.push(tokio::spawn(async move {
                let user = format!("u{}", i % 7);
                if let Ok(seat) = p.acquire(&user, Duration::from_millis(200)).await {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    drop(seat);
                }
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            if i % 5 == 0 {
                t.abort();
            } else {
                let _ = t.await;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((pool.in_use(), pool.waiting()), (0, 0));
        let _all: Vec<Seat> = [
            pool.acquire("x", LONG).await.unwrap(),
            pool.acquire("y", LONG).await.unwrap(),
            pool.acquire("z", LONG).await.unwrap(),
        ]
        .into();
    }
}

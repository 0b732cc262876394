//! Request → reducer-outcome correlation for one SDK connection.
//!
//! The 1.2 SDK has no call ids, but a connection's own reducer results come back in request
//! order, so each reducer keeps a FIFO of waiters. A connection's `Pending` dies with it: when the
//! connection drops, every waiter is told it is unavailable.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// A reducer's outcome: `Ok` when committed, `Err(text)` with the module's error otherwise.
pub type Outcome = Result<(), String>;

#[derive(Default)]
pub struct Pending {
    queues: Mutex<HashMap<&'static str, VecDeque<oneshot::Sender<Outcome>>>>,
    closed: std::sync::atomic::AtomicBool,
}

impl Pending {
    /// Registers a waiter for `reducer` and runs `send` under the same lock, so the queue order
    /// is the order in which calls went out. Returns `None` if `send` failed or the connection
    /// is closed.
    pub fn enqueue(
        &self,
        reducer: &'static str,
        send: impl FnOnce() -> bool,
    ) -> Option<oneshot::Receiver<Outcome>> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let mut q = self.queues.lock().ok()?;
        let (tx, rx) = oneshot::channel();
        let queue = q.entry(reducer).or_default();
        queue.push_back(tx);
        if send() {
            Some(rx)
        } else {
            queue.pop_back();
            None
        }
    }

    /// Delivers the outcome of our own oldest outstanding call of `reducer`.
    pub fn complete(&self, reducer: &'static str, outcome: Outcome) {
        let waiter = self
            .queues
            .lock()
            .ok()
            .and_then(|mut q| q.get_mut(reducer).and_then(VecDeque::pop_front));
        match waiter {
            Some(tx) => {
                let _ = tx.send(outcome); // the caller may have timed out; that's fine
            }
            None => tracing::warn!(reducer, "reducer outcome without a waiter"),
        }
    }

    /// Drops every waiter (they observe "unavailable") and refuses new ones.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut q) = self.queues.lock() {
            q.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outcomes_are_delivered_in_order_per_reducer() {
        let p = Pending::default();
        let a = p.enqueue("r", || true).unwrap();
        let b = p.enqueue("r", || true).unwrap();
        let c = p.enqueue("other", || true).unwrap();
        p.complete("other", Ok(()));
        p.complete("r", Err("E_CONFLICT: x".into()));
        p.complete("r", Ok(()));
        assert_eq!(a.await.unwrap(), Err("E_CONFLICT: x".to_string()));
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(c.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn failed_send_leaves_no_waiter_and_close_fails_all() {
        let p = Pending::default();
        assert!(p.enqueue("r", || false).is_none());
        let a = p.enqueue("r", || true).unwrap();
        p.close();
        assert!(a.await.is_err());
        assert!(p.enqueue("r", || true).is_none());
    }
}

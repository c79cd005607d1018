//! A single-threaded, FIFO async lock: one log operation at a time owns the active segment's
//! file.
//!
//! Appends never take it (they only touch the in-memory buffer), so a shard keeps appending
//! while a sync waits on the disk. It is a ticket lock, served in call order: a group-commit
//! driver that calls `sync()` again the moment the previous one returns must not starve a
//! `rotate()` or `start_rewrite()` that was waiting, which a plain wake-everyone lock allows
//! (the driver would re-take it before the woken task runs). A waiter dropped before its turn
//! (a cancelled future) gives its ticket up, so it never blocks the queue.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct IoLock {
    next_ticket: Cell<u64>,
    serving: Cell<u64>,
    /// Tickets whose waiters were dropped before their turn.
    abandoned: RefCell<BTreeSet<u64>>,
    waiters: RefCell<Vec<Waker>>,
}

/// Holding it means owning the lock; dropping it serves the next ticket.
pub struct IoGuard<'a>(&'a IoLock);

/// The future of [`IoLock::lock`].
pub struct Acquire<'a> {
    lock: &'a IoLock,
    ticket: u64,
    acquired: bool,
}

impl IoLock {
    /// Takes a ticket now; the returned future resolves when it is served.
    pub fn lock(&self) -> Acquire<'_> {
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        Acquire {
            lock: self,
            ticket,
            acquired: false,
        }
    }

    /// Serves the next ticket still wanted and wakes the waiters to check.
    fn advance(&self) {
        let mut next = self.serving.get() + 1;
        {
            let mut abandoned = self.abandoned.borrow_mut();
            while abandoned.remove(&next) {
                next += 1;
            }
        }
        self.serving.set(next);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = IoGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<IoGuard<'a>> {
        if self.lock.serving.get() == self.ticket {
            self.acquired = true;
            Poll::Ready(IoGuard(self.lock))
        } else {
            self.lock.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.acquired {
            return; // the guard owns the turn now
        }
        if self.lock.serving.get() == self.ticket {
            self.lock.advance();
        } else {
            self.lock.abandoned.borrow_mut().insert(self.ticket);
        }
    }
}

impl Drop for IoGuard<'_> {
    fn drop(&mut self) {
        self.0.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once, yield_now, zip};

    #[test]
    fn lock_serializes_tasks() {
        let lock = IoLock::default();
        let log = RefCell::new(Vec::new());
        let task = |name: &'static str| {
            let (lock, log) = (&lock, &log);
            async move {
                let _g = lock.lock().await;
                log.borrow_mut().push((name, "in"));
                yield_now().await;
                log.borrow_mut().push((name, "out"));
            }
        };
        block_on(zip(task("a"), task("b")));
        let log = log.into_inner();
        assert_eq!(log[0].0, log[1].0, "no interleaving: {log:?}");
        assert_eq!(log[2].0, log[3].0, "no interleaving: {log:?}");
    }

    #[test]
    fn waiters_are_served_in_order_and_a_greedy_holder_cannot_starve_them() {
        let lock = IoLock::default();
        let order = RefCell::new(Vec::new());
        let greedy = async {
            for i in 0..5 {
                let _g = lock.lock().await;
                order.borrow_mut().push(format!("greedy{i}"));
                for _ in 0..3 {
                    yield_now().await; // patient takes its ticket meanwhile
                }
            }
        };
        let patient = async {
            yield_now().await; // arrives while greedy holds the lock
            let _g = lock.lock().await;
            order.borrow_mut().push("patient".to_string());
        };
        block_on(zip(greedy, patient));
        assert_eq!(order.into_inner()[..2], ["greedy0", "patient"]);
    }

    #[test]
    fn a_dropped_waiter_does_not_block_the_queue() {
        let lock = IoLock::default();
        block_on(async {
            let held = lock.lock().await;
            let mut cancelled = Box::pin(lock.lock());
            assert!(poll_once(&mut cancelled).await.is_none());
            let behind = lock.lock();
            drop(cancelled);
            drop(held);
            let _g = behind.await; // would hang if the dropped ticket were still in line
            let granted_then_dropped = lock.lock();
            drop(_g);
            drop(granted_then_dropped); // served but never polled: passes the turn on
            let _last = lock.lock().await;
        });
    }
}

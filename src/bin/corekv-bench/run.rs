//! The clock every thread reads, and when to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Nanoseconds since one `Instant` taken at start: every thread reads the same monotonic
/// clock, so a send time taken on a publisher thread and a receive time taken on a reader
/// thread subtract.
#[derive(Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            base: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What every thread reads to know when to stop.
pub struct Control {
    pub clock: Clock,
    deadline_ns: u64,
    /// Set when the publishers are done: readers give up on missing messages after it.
    drain_deadline_ns: AtomicU64,
    abort: AtomicBool,
}

impl Control {
    pub fn new(clock: Clock, timeout: Duration) -> Control {
        let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Control {
            clock,
            deadline_ns: clock.now_ns().saturating_add(timeout_ns),
            drain_deadline_ns: AtomicU64::new(u64::MAX),
            abort: AtomicBool::new(false),
        }
    }

    /// Time left before the run's deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        Duration::from_nanos(self.deadline_ns.saturating_sub(self.clock.now_ns()))
    }

    /// Readers stop waiting `grace` from now.
    pub fn start_drain(&self, grace: Duration) {
        let grace_ns = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
        let at = self.clock.now_ns().saturating_add(grace_ns);
        self.drain_deadline_ns.store(at, Ordering::Relaxed);
    }

    /// Something failed: every thread stops as soon as it looks.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Relaxed);
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Past the deadline, past the drain deadline, or aborted.
    pub fn expired(&self) -> bool {
        let now = self.clock.now_ns();
        now > self.deadline_ns
            || now > self.drain_deadline_ns.load(Ordering::Relaxed)
            || self.aborted()
    }
}

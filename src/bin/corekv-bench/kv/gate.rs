//! A start line for threads that may never arrive: every generator thread and the main thread
//! hold a [`Ticket`]; [`Ticket::wait`] returns once all tickets arrived (`true`), or as soon as
//! one is dropped unused or the gate is closed (`false`). A thread whose executor failed to
//! start drops its ticket with the closure it never ran, so nobody waits forever (a plain
//! `std::sync::Barrier` would).

use std::sync::{Arc, Condvar, Mutex};

struct State {
    arrived: usize,
    parties: usize,
    broken: bool,
}

pub struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

/// One party's right to arrive at the gate.
pub struct Ticket {
    gate: Arc<Gate>,
    used: bool,
}

impl Gate {
    /// A gate and its `parties` tickets.
    pub fn new(parties: usize) -> (Arc<Gate>, Vec<Ticket>) {
        let gate = Arc::new(Gate {
            state: Mutex::new(State {
                arrived: 0,
                parties,
                broken: false,
            }),
            changed: Condvar::new(),
        });
        let tickets = (0..parties)
            .map(|_| Ticket {
                gate: Arc::clone(&gate),
                used: false,
            })
            .collect();
        (gate, tickets)
    }

    /// Releases every waiter with `false`.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.broken = true;
        self.changed.notify_all();
    }
}

impl Ticket {
    /// Arrives and waits for the others: `true` when all arrived, `false` when the gate broke.
    pub fn wait(mut self) -> bool {
        self.used = true;
        let gate = &self.gate;
        let mut state = gate.state.lock().unwrap_or_else(|e| e.into_inner());
        state.arrived += 1;
        gate.changed.notify_all();
        while !state.broken && state.arrived < state.parties {
            state = gate.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        !state.broken
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.used {
            self.gate.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_arrive_or_nobody_waits_forever() {
        let (_, mut tickets) = Gate::new(3);
        let handles: Vec<_> = tickets
            .drain(1..)
            .map(|t| std::thread::spawn(move || t.wait()))
            .collect();
        assert!(tickets.pop().expect("one left").wait());
        assert!(handles.into_iter().all(|h| h.join().expect("joined")));

        let (_, mut tickets) = Gate::new(2);
        let waiter = tickets.pop().expect("two");
        let handle = std::thread::spawn(move || waiter.wait());
        drop(tickets);
        assert!(
            !handle.join().expect("joined"),
            "a dropped ticket breaks the gate"
        );
    }
}

//! The open-loop schedule of one connection: when each request is *meant* to be sent. Pure.
//!
//! At `--rate R` over `C` connections each connection sends one request every `C / R`
//! seconds, whether or not earlier replies came back (up to `--pipeline` in flight). Request
//! `i` of a connection is due at `start + offset + i * interval`, computed from `i` rather than
//! accumulated, so rounding never drifts. Connections are staggered by `offset =
//! interval * index / C`, so the server sees one request every `1 / R` seconds in all rather
//! than `C` at once.
//!
//! Latency is measured from the due time, not from when the request was actually written:
//! when the server (or this client) falls behind, the requests that wait count their waiting
//! (Gil Tene's coordinated omission correction). How late the writes were is the *lag*,
//! reported apart, so a reader can tell a slow server from a late generator.

/// Due times of one connection's requests, in nanoseconds on the run's clock.
#[derive(Clone, Debug)]
pub struct Schedule {
    start_ns: u64,
    interval_ns: f64,
    next: u64,
}

impl Schedule {
    /// `rate_per_s` is the whole run's rate; this connection is `index` of `connections`.
    pub fn new(start_ns: u64, rate_per_s: f64, index: usize, connections: usize) -> Schedule {
        debug_assert!(rate_per_s > 0.0 && index < connections);
        let interval_ns = connections as f64 * 1e9 / rate_per_s;
        let offset_ns = interval_ns * index as f64 / connections as f64;
        Schedule {
            start_ns: start_ns + offset_ns as u64,
            interval_ns,
            next: 0,
        }
    }

    /// When request `i` is due.
    pub fn due_ns(&self, i: u64) -> u64 {
        self.start_ns
            .saturating_add((i as f64 * self.interval_ns).round() as u64)
    }

    /// When the next unsent request is due.
    pub fn peek_ns(&self) -> u64 {
        self.due_ns(self.next)
    }

    /// Takes the next request's due time.
    pub fn advance(&mut self) -> u64 {
        let due = self.peek_ns();
        self.next += 1;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_evenly_spaced_and_never_drift() {
        // 3 requests per second on one connection: 333,333,333.3 ns apart.
        let mut s = Schedule::new(1_000, 3.0, 0, 1);
        let due: Vec<u64> = (0..4).map(|_| s.advance()).collect();
        assert_eq!(due, [1_000, 333_334_333, 666_667_667, 1_000_001_000]);
        // Request 3,000,000 is due exactly 1,000,000 s later: no accumulated rounding.
        assert_eq!(s.due_ns(3_000_000), 1_000 + 1_000_000_000_000_000);
    }

    #[test]
    fn connections_are_staggered_to_the_total_rate() {
        // 4 connections at 4000/s in all: each one every 1 ms, the four 250 µs apart.
        let mut all: Vec<u64> = (0..4)
            .flat_map(|c| {
                let mut s = Schedule::new(0, 4000.0, c, 4);
                (0..3).map(move |_| s.advance()).collect::<Vec<_>>()
            })
            .collect();
        all.sort_unstable();
        let gaps: Vec<u64> = all.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 250_000), "{gaps:?}");
    }

    #[test]
    fn peek_does_not_consume() {
        let mut s = Schedule::new(10, 1000.0, 0, 1);
        assert_eq!(s.peek_ns(), 10);
        assert_eq!(s.peek_ns(), 10);
        assert_eq!(s.advance(), 10);
        assert_eq!(s.peek_ns(), 1_000_010);
    }
}

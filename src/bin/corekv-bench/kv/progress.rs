//! The live progress line: once a second on stderr, what the threads did in the last second.
//!
//! Threads send a [`Tick`] at whole seconds after their start; this loop prints at half
//! seconds, so each printed second holds exactly one tick from every running thread. It ends
//! when every thread has dropped its sender (the run is over).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::stats::latency_histogram;
use super::worker::Tick;
use crate::latency::Percentiles;
use crate::run::Clock;

/// One printed second.
struct Second {
    ops: u64,
    errors: u64,
    latency_ns: hdrhistogram::Histogram<u64>,
    lag_ns: hdrhistogram::Histogram<u64>,
    /// The busiest thread's share of this second on CPU.
    busiest: f64,
}

impl Second {
    fn new() -> Second {
        Second {
            ops: 0,
            errors: 0,
            latency_ns: latency_histogram(),
            lag_ns: latency_histogram(),
            busiest: 0.0,
        }
    }
}

/// Prints a line per second until the threads are gone. `start_ns` is when the load started.
pub fn run(ticks: Receiver<Tick>, threads: usize, clock: Clock, start_ns: u64, open_loop: bool) {
    // (cpu_ns, wall_ns) of each thread's previous tick.
    let mut previous = vec![(0u64, 0u64); threads];
    let mut second = Second::new();
    let mut total_ops = 0u64;
    let mut n = 1u64;
    loop {
        let print_at_ns = start_ns + n * 1_000_000_000 + 500_000_000;
        let wait = Duration::from_nanos(print_at_ns.saturating_sub(clock.now_ns()));
        match ticks.recv_timeout(wait) {
            Ok(tick) => {
                let (cpu0, wall0) = previous[tick.thread];
                let busy = (tick.cpu_ns - cpu0) as f64 / (tick.wall_ns - wall0).max(1) as f64;
                previous[tick.thread] = (tick.cpu_ns, tick.wall_ns);
                second.busiest = second.busiest.max(busy);
                second.ops += tick.interval.ops;
                second.errors += tick.interval.errors;
                // Same bounds on both sides: adding cannot fail.
                let _ = second.latency_ns.add(&tick.interval.latency_ns);
                let _ = second.lag_ns.add(&tick.interval.lag_ns);
            }
            Err(RecvTimeoutError::Timeout) => {
                total_ops += second.ops;
                eprintln!("{}", line(n, &second, total_ops, open_loop));
                second = Second::new();
                n += 1;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn line(n: u64, s: &Second, total_ops: u64, open_loop: bool) -> String {
    let p99 = Percentiles::of(&s.latency_ns).p99_ns as f64 / 1e3;
    let mut line = format!(
        "[{n:>4}s] {:>9} ops/s  p99 {p99:>8.1} us  errors {}  client cpu {:>3.0}%  (so far {total_ops} ops, {:.0} ops/s)",
        s.ops,
        s.errors,
        s.busiest * 100.0,
        total_ops as f64 / n as f64
    );
    if open_loop {
        let lag = Percentiles::of(&s.lag_ns).p99_ns as f64 / 1e3;
        line += &format!("  lag p99 {lag:.1} us");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_prints_rate_p99_and_cpu() {
        let mut s = Second::new();
        s.ops = 1234;
        s.busiest = 0.5;
        s.latency_ns.record(250_000).expect("in range");
        let text = line(3, &s, 3000, true);
        assert!(
            text.starts_with("[   3s]      1234 ops/s  p99    250.1 us"),
            "{text}"
        );
        assert!(text.contains("client cpu  50%"), "{text}");
        assert!(text.contains("(so far 3000 ops, 1000 ops/s)"), "{text}");
        assert!(text.ends_with("lag p99 0.0 us"), "{text}");
    }
}

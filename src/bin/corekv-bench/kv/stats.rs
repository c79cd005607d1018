//! What a generator thread counts: per-command latency histograms, errors and misses for the
//! final report, an interval histogram for the live progress line, the open-loop lag, and the
//! thread's own CPU time.
//!
//! One [`ThreadStats`] per executor thread, shared by its connection tasks through an
//! `Rc<RefCell<_>>` that is never borrowed across an `.await`: no locks, no atomics on the
//! hot path. Threads merge only at the end ([`Totals::add`]).

use hdrhistogram::Histogram;

use super::verify::Verdict;

/// Latency histograms: 1 ns to 100 s at 3 significant digits (0.1% resolution).
const LATENCY_MAX_NS: u64 = 100_000_000_000;

pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("constant bounds are valid")
}

/// One command's measured requests.
#[derive(Clone)]
pub struct CommandStats {
    pub latency_ns: Histogram<u64>,
    pub errors: u64,
    pub misses: u64,
}

impl CommandStats {
    fn new() -> CommandStats {
        CommandStats {
            latency_ns: latency_histogram(),
            errors: 0,
            misses: 0,
        }
    }
}

/// Since the last progress tick.
pub struct Interval {
    pub ops: u64,
    pub errors: u64,
    pub latency_ns: Histogram<u64>,
    pub lag_ns: Histogram<u64>,
}

impl Interval {
    fn new() -> Interval {
        Interval {
            ops: 0,
            errors: 0,
            latency_ns: latency_histogram(),
            lag_ns: latency_histogram(),
        }
    }
}

pub struct ThreadStats {
    pub commands: Vec<CommandStats>,
    /// Open loop: how late each measured request was written.
    pub lag_ns: Histogram<u64>,
    pub interval: Interval,
    /// The first error reply's text.
    pub first_error: Option<String>,
    /// When the last reply of a measured request arrived.
    pub last_reply_ns: u64,
    /// When any reply last arrived, and requests now waiting: the watchdog's inputs.
    pub progress_ns: u64,
    pub in_flight: u64,
}

impl ThreadStats {
    pub fn new(commands: usize) -> ThreadStats {
        ThreadStats {
            commands: (0..commands).map(|_| CommandStats::new()).collect(),
            lag_ns: latency_histogram(),
            interval: Interval::new(),
            first_error: None,
            last_reply_ns: 0,
            progress_ns: 0,
            in_flight: 0,
        }
    }

    /// A reply to `command` arrived `latency_ns` after it was sent (closed loop) or due
    /// (open loop). `Verdict::Wrong` is the caller's to handle. Warmup requests
    /// (`measured == false`) only show in the progress line.
    pub fn record(
        &mut self,
        command: usize,
        latency_ns: u64,
        measured: bool,
        verdict: Verdict,
        now_ns: u64,
    ) {
        let latency_ns = latency_ns.max(1);
        self.interval.ops += 1;
        self.interval.latency_ns.saturating_record(latency_ns);
        self.progress_ns = now_ns;
        self.in_flight = self.in_flight.saturating_sub(1);
        let error = matches!(verdict, Verdict::Error(_));
        self.interval.errors += u64::from(error);
        if !measured {
            return;
        }
        let stats = &mut self.commands[command];
        stats.latency_ns.saturating_record(latency_ns);
        match verdict {
            Verdict::Miss => stats.misses += 1,
            Verdict::Error(text) => {
                stats.errors += 1;
                self.first_error.get_or_insert(text);
            }
            Verdict::Ok | Verdict::Wrong(_) => {}
        }
        self.last_reply_ns = now_ns;
    }

    /// Open loop: a request was written `lag_ns` after it was due.
    pub fn record_lag(&mut self, lag_ns: u64, measured: bool) {
        self.interval.lag_ns.saturating_record(lag_ns.max(1));
        if measured {
            self.lag_ns.saturating_record(lag_ns.max(1));
        }
    }

    /// Takes the interval's counts, leaving an empty interval.
    pub fn take_interval(&mut self) -> Interval {
        std::mem::replace(&mut self.interval, Interval::new())
    }
}

/// Every thread's measured requests, merged.
pub struct Totals {
    pub commands: Vec<CommandStats>,
    pub lag_ns: Histogram<u64>,
    pub first_error: Option<String>,
}

impl Totals {
    pub fn new(commands: usize) -> Totals {
        Totals {
            commands: (0..commands).map(|_| CommandStats::new()).collect(),
            lag_ns: latency_histogram(),
            first_error: None,
        }
    }

    pub fn add(&mut self, thread: &ThreadStats) {
        for (total, part) in self.commands.iter_mut().zip(&thread.commands) {
            total
                .latency_ns
                .add(&part.latency_ns)
                .expect("same histogram bounds");
            total.errors += part.errors;
            total.misses += part.misses;
        }
        self.lag_ns
            .add(&thread.lag_ns)
            .expect("same histogram bounds");
        if self.first_error.is_none() {
            self.first_error.clone_from(&thread.first_error);
        }
    }

    /// All commands together.
    pub fn all(&self) -> CommandStats {
        let mut all = CommandStats::new();
        for part in &self.commands {
            all.latency_ns
                .add(&part.latency_ns)
                .expect("same histogram bounds");
            all.errors += part.errors;
            all.misses += part.misses;
        }
        all
    }
}

/// CPU time used so far by the calling thread (`whole_process == false`) or by the whole
/// process, in nanoseconds: user and system together, from `clock_gettime` with
/// `CLOCK_THREAD_CPUTIME_ID` / `CLOCK_PROCESS_CPUTIME_ID`, which count the running slice up to
/// now. (`getrusage(RUSAGE_THREAD)` splits the time by tick samples and holds parts back to
/// stay monotonic, and `/proc/thread-self/schedstat` lags by up to a tick for the running
/// thread: differences of either over a short run were seen above the wall time.)
pub fn cpu_ns(whole_process: bool) -> u64 {
    let clock = if whole_process {
        libc::CLOCK_PROCESS_CPUTIME_ID
    } else {
        libc::CLOCK_THREAD_CPUTIME_ID
    };
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into `t`, which we own.
    if unsafe { libc::clock_gettime(clock, &mut t) } != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_requests_only_reach_the_interval() {
        let mut stats = ThreadStats::new(2);
        stats.in_flight = 3;
        stats.record(0, 1_000, false, Verdict::Ok, 10);
        stats.record(1, 2_000, true, Verdict::Miss, 20);
        stats.record(1, 3_000, true, Verdict::Error("ERR x".into()), 30);
        assert_eq!(stats.commands[0].latency_ns.len(), 0);
        assert_eq!(stats.commands[1].latency_ns.len(), 2);
        assert_eq!((stats.commands[1].misses, stats.commands[1].errors), (1, 1));
        assert_eq!(stats.first_error.as_deref(), Some("ERR x"));
        assert_eq!(
            (stats.last_reply_ns, stats.progress_ns, stats.in_flight),
            (30, 30, 0)
        );
        let interval = stats.take_interval();
        assert_eq!(
            (interval.ops, interval.errors, interval.latency_ns.len()),
            (3, 1, 3)
        );
        assert_eq!(stats.interval.ops, 0);

        let mut totals = Totals::new(2);
        totals.add(&stats);
        totals.add(&stats);
        let all = totals.all();
        assert_eq!((all.latency_ns.len(), all.errors, all.misses), (4, 2, 2));
    }

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let before = cpu_ns(false);
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_ns(false) > before, "a busy thread uses CPU");
        assert!(cpu_ns(true) >= cpu_ns(false));
    }
}

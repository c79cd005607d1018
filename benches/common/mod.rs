//! What every microbenchmark shares: the run mode, a calibrated timing loop, latency
//! histograms and table printing. Hand-rolled (std `Instant` + hdrhistogram) rather than a
//! framework, because the hop and log benches must drive glommio executors themselves.
//!
//! # Modes
//! - **Full** (`cargo bench`, which passes `--bench` to `harness = false` targets): every case
//!   is calibrated to ~20 ms per round and run for 15 rounds; the median round is reported.
//! - **Quick** (no `--bench`: `cargo test --benches`, `cargo test --all-targets`, which is what
//!   `tests/run.sh` runs): one short round per case, so CI keeps every bench compiling and
//!   running (and its correctness checks passing) in about a second. Quick timings mean
//!   nothing and nothing asserts on them; the header says which mode ran.
//!
//! Arguments that do not start with `-` filter cases by substring, as libtest does:
//! `cargo bench --bench resp -- encode`.

// Each bench binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Rounds per case in a full run; the median round is reported, the fastest beside it.
const FULL_ROUNDS: usize = 15;
/// Wall time one round of a full run aims for.
const FULL_ROUND: Duration = Duration::from_millis(20);
/// Wall time of the single round of a quick run.
const QUICK_ROUND: Duration = Duration::from_micros(500);

/// How this process was asked to run.
pub struct Run {
    pub full: bool,
    filter: Vec<String>,
}

impl Run {
    /// Reads the mode from the arguments and prints the header naming the bench and the mode.
    pub fn start(name: &str, what: &str) -> Run {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--bench");
        let filter = args.into_iter().filter(|a| !a.starts_with('-')).collect();
        let mode = if full {
            "full run (cargo bench)"
        } else {
            "QUICK MODE (no --bench: tiny counts, timings not meaningful; `cargo bench` for numbers)"
        };
        println!("== corekv microbenchmark `{name}`: {what}");
        println!("== {mode}");
        Run { full, filter }
    }

    /// Whether case `name` passes the command-line filter (no filter: every case).
    pub fn wants(&self, name: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| name.contains(f.as_str()))
    }

    /// Chooses between a full-run and a quick-run count.
    pub fn count(&self, full: u64, quick: u64) -> u64 {
        if self.full { full } else { quick }
    }

    /// Times `op`, called back to back: calibrates a batch to the round length, then runs
    /// the rounds. The result of `op` goes through `black_box` so it is not optimised away.
    pub fn per_op<R>(&self, mut op: impl FnMut() -> R) -> PerOp {
        let round = if self.full { FULL_ROUND } else { QUICK_ROUND };
        let rounds = if self.full { FULL_ROUNDS } else { 1 };
        // Calibrate (and warm caches): double the batch until it takes a tenth of a round.
        let mut batch: u64 = 1;
        let per_op_ns = loop {
            let ns = time_batch(batch, &mut op);
            if ns >= round.as_nanos() as u64 / 10 || batch >= 1 << 30 {
                break ns as f64 / batch as f64;
            }
            batch *= 2;
        };
        let batch = ((round.as_nanos() as f64 / per_op_ns.max(0.1)) as u64).max(1);
        let mut samples: Vec<f64> = (0..rounds)
            .map(|_| time_batch(batch, &mut op) as f64 / batch as f64)
            .collect();
        samples.sort_by(f64::total_cmp);
        PerOp {
            median_ns: samples[samples.len() / 2],
            min_ns: samples[0],
            ops: batch * rounds as u64,
        }
    }
}

fn time_batch<R>(batch: u64, op: &mut impl FnMut() -> R) -> u64 {
    let t = Instant::now();
    for _ in 0..batch {
        std::hint::black_box(op());
    }
    t.elapsed().as_nanos() as u64
}

/// The outcome of [`Run::per_op`].
pub struct PerOp {
    pub median_ns: f64,
    pub min_ns: f64,
    /// Operations timed (all rounds).
    pub ops: u64,
}

impl PerOp {
    /// A table row: case, ns/op (median), fastest round, ops/s, for an op of `units` items
    /// (e.g. 16 requests per parsed pipeline): the figures are per item.
    pub fn row(&self, case: &str, units: u64) -> Vec<String> {
        let per = |ns: f64| ns / units as f64;
        vec![
            case.to_string(),
            format!("{:.1}", per(self.median_ns)),
            format!("{:.1}", per(self.min_ns)),
            group_thousands(1e9 / per(self.median_ns)),
        ]
    }

    pub const HEADERS: [&'static str; 4] = ["case", "ns/op", "best ns/op", "ops/s"];
}

/// A latency histogram in nanoseconds, 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// `p50`, `p99`, `p99.9` and `max` of a histogram in microseconds, as table cells.
pub fn latency_cells(h: &Histogram<u64>) -> Vec<String> {
    let us = |ns: u64| format!("{:.2}", ns as f64 / 1000.0);
    vec![
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.99)),
        us(h.value_at_quantile(0.999)),
        us(h.max()),
    ]
}

/// `1234567.8` → `1,234,568`.
pub fn group_thousands(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A plain-text table: first column left-aligned, the others right-aligned.
pub struct Table {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, headers: &[&str]) -> Table {
        Table {
            title: title.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        assert_eq!(row.len(), self.headers.len(), "row width");
        self.rows.push(row);
    }

    pub fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i == 0 {
                    s.push_str(&format!("{cell:<w$}"));
                } else {
                    s.push_str(&format!("  {cell:>w$}"));
                }
            }
            s
        };
        println!();
        println!("{}", self.title);
        println!("{}", line(&self.headers));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        println!("{}", line(&rule));
        for row in &self.rows {
            println!("{}", line(row));
        }
    }
}

/// How often [`spawn_ticker`] wakes an executor: the server's per-core shutdown poll interval.
pub const TICK: Duration = Duration::from_millis(20);

/// Wakes the current glommio executor every [`TICK`], as the server's shutdown poll wakes each
/// core. Benchmark executors have no other timer, and glommio 0.9 can park an executor that
/// still has runnable tasks (`run_task_queues` reports "nothing ran" when it is asked to
/// preempt before running anything) or miss a cross-executor wake-up: without a timer that
/// is a hang (seen once in the hop bench), with one a stall of at most a tick, as in the
/// server. Detached: it ends with its executor.
pub fn spawn_ticker() {
    glommio::spawn_local(async {
        loop {
            glommio::timer::sleep(TICK).await;
        }
    })
    .detach();
}

//! `corekv-bench kv`: a load generator in the spirit of memtier_benchmark and redis-benchmark.
//!
//! `--connections N` over `--threads M`, one glommio executor per thread (pinned with
//! `--cpus`), speaking RESP2, RESP3 (`--resp 3`) or the WebSocket text dialect
//! (`--protocol ws`). Closed loop by default; `--rate` makes it open loop (requests due on a
//! fixed schedule, latency from the due time). `--pipeline`, `--ratio SET:GET` or
//! `--command TEMPLATE`, `--keyspace`, `--distribution uniform|zipf`, `--value-size`,
//! `--prefill`, `--requests` or `--duration`, `--warmup`. Every reply is checked
//! ([`verify`]); a live line on stderr each second; the report is text, or one JSON object
//! with `--json`. Only loopback targets are accepted.
//!
//! # A run, step by step
//! 1. [`args::Plan`] validates the options (every one has a limit).
//! 2. Each thread starts its executor, connects its connections (`c % M == thread`), and with
//!    `--prefill` SETs its share of the keys, pipelined ([`worker`]).
//! 3. All threads and the main thread meet at a start line ([`gate`]); a thread that failed
//!    to start breaks it, so nobody waits forever.
//! 4. One task per connection runs the load ([`drive`]); a ticker per thread sends the
//!    progress each second and fails the run if requests wait `--reply-timeout-s` unanswered.
//! 5. The main thread prints progress ([`progress`]) until the threads end, merges their
//!    histograms and prints the report ([`report`]).
//!
//! Exit status: 0 when every reply was right, 1 when there were error replies or the run
//! failed (a reply of the wrong type, a stall, a lost connection), 2 when it could not start.
//!
//! # How we know the generator is not the bottleneck
//! A load generator that saturates its own CPU measures itself: replies wait in its socket
//! buffers while it is busy, and the latency it reports is its own queueing. So each thread
//! measures its own CPU time (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: user and system, as
//! the scheduler counts it) over the load phase
//! and the report gives it as a share of wall time, `client_cpu_busy`, per thread. An
//! event-driven thread that is below ~90% busy was waiting for the server part of the time:
//! the server, not the client, set the pace. Above 90% the report and the JSON
//! (`client_saturated`, `warnings`) say so loudly; add threads or give them idle cores.
//!
//! The threads never spin unless `--spin-us` asks (glommio parks on io_uring), so the busy
//! share is work: building and checking requests, and the kernel's work on the thread's
//! behalf (sending on loopback delivers the bytes and wakes the receiver in the sender's
//! system time). On a VM a sleep/wake cycle can be expensive: on the 2-vCPU machine this was
//! written on, an open-loop run at a moderate rate, where nearly every request finds both
//! sides asleep, cost the generator 90-200 µs of CPU per request against ~20 µs per request
//! in a saturating closed-loop run. Calibration there, in closed loop with 50 connections and
//! a core each for server and client: per request, corekv-bench used the same CPU as
//! redis-benchmark at pipeline 1 (within 10%), and 1.1 to 1.6 times as much at pipeline 16
//! (glommio's reactor makes more `io_uring_enter` calls per wake-up than an epoll loop).
//!
//! In open loop, the *lag* (how late each request was written after it was due) and the
//! achieved rate tell whether the schedule was kept; a lag p99 above 1 ms or a rate 5% short
//! is a warning too.
//!
//! Latency is measured in nanoseconds (hdrhistogram, 3 significant digits) from the write of a
//! batch (closed loop) or the due time (open loop) to the read that brought the reply.
//! Closed-loop latency is the server's pace under a load that waits for it (coordinated
//! omission is inherent: use `--rate` for latency targets).

pub mod args;
mod conn;
mod drive;
mod gate;
mod progress;
mod report;
mod schedule;
mod stats;
mod verify;
mod worker;
mod workload;
mod ws;
mod zipf;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::mpsc;

pub use args::KvArgs;
use args::{Mode, Plan};
use gate::Gate;
use report::Summary;
use worker::Shared;

use crate::run::Clock;

/// Ok(true): every reply right; Ok(false): error replies, or the run failed after it started;
/// Err: it could not start.
pub fn run(args: &KvArgs) -> Result<bool, String> {
    let plan = Plan::from_args(args)?;
    // The connections, stdio, the executors' rings and some slack.
    crate::pubsub::raise_open_files_limit((plan.connections + 64 + 8 * plan.threads) as u64)?;
    let clock = Clock::start();
    let cpu_before_ns = stats::cpu_ns(true);
    let threads = plan.threads;
    let (json, quiet) = (plan.json, plan.quiet);
    let open_loop = matches!(plan.mode, Mode::Open { .. });
    let shared = Arc::new(Shared::new(plan, clock));
    let (gate, mut tickets) = Gate::new(threads + 1);
    let main_ticket = tickets.pop().expect("threads + 1 tickets");
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::with_capacity(threads);
    for (thread, ticket) in tickets.into_iter().enumerate() {
        match worker::spawn(Arc::clone(&shared), thread, ticket, tx.clone()) {
            Ok(handle) => handles.push(handle),
            Err(why) => {
                shared.fail(why);
                gate.close();
                break;
            }
        }
    }
    drop(tx);
    let started = main_ticket.wait() && !shared.aborted();
    let start_ns = clock.now_ns();
    let setup_s = start_ns as f64 / 1e9;
    if started && !quiet {
        eprintln!(
            "corekv-bench kv: {} connections ready in {setup_s:.2} s; running",
            shared.plan.connections
        );
        progress::run(rx, threads, clock, start_ns, open_loop);
    }
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| {
            h.join().unwrap_or_else(|e| {
                shared.fail(format!("a generator thread failed: {e}"));
                None
            })
        })
        .collect();
    if let Some(why) = shared.failure() {
        if !started {
            return Err(why);
        }
        eprintln!("corekv-bench kv: FAILED: {why}");
        if json {
            println!("{}", serde_json::json!({"ok": false, "failure": why}));
        }
        return Ok(false);
    }
    let reports: Vec<_> = reports.into_iter().flatten().collect();
    let cpu_s = stats::cpu_ns(true).saturating_sub(cpu_before_ns) as f64 / 1e9;
    let summary = Summary::build(&shared.plan, &reports, setup_s, cpu_s);
    if json {
        println!("{}", summary.json());
    } else {
        print!("{}", summary.text());
    }
    // Loudly: on stderr too, unless the text report already showed them on the terminal.
    if json || !std::io::stdout().is_terminal() {
        for warning in &summary.warnings {
            eprintln!("WARNING: {warning}");
        }
    }
    Ok(summary.ok())
}

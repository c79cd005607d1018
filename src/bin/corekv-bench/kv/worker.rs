//! One generator thread: a glommio executor (pinned with `--cpus`) that connects its share of
//! the connections, prefills its share of the keys, waits at the start line with the other
//! threads, then runs one task per connection ([`super::drive`]) beside a ticker that feeds
//! the progress line and watches for a stalled server.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::args::{Plan, Stop};
use super::conn::Conn;
use super::drive::{self, ConnCtx, Limit};
use super::gate::Ticket;
use super::stats::{Interval, ThreadStats, cpu_ns};
use super::verify::Verdict;
use super::workload::Command;
use crate::run::Clock;

/// How often the ticker looks at the stall watchdog and the abort flag.
const TICK: Duration = Duration::from_millis(100);
/// Ticks per progress report (one a second).
const TICKS_PER_REPORT: u64 = 10;
/// Each executor's registered I/O memory.
const IO_MEMORY_BYTES: usize = 1 << 20;
/// SETs a connection keeps in flight while prefilling.
const PREFILL_BATCH: u64 = 256;

/// What every thread reads: the plan, the clock, and the run's first failure.
pub struct Shared {
    pub plan: Plan,
    pub clock: Clock,
    abort: AtomicBool,
    failure: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(plan: Plan, clock: Clock) -> Shared {
        Shared {
            plan,
            clock,
            abort: AtomicBool::new(false),
            failure: Mutex::new(None),
        }
    }

    /// Records the first failure and stops every thread.
    pub fn fail(&self, why: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(why);
        self.abort.store(true, Ordering::Relaxed);
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A thread's progress over the last second, for the live line.
pub struct Tick {
    pub thread: usize,
    pub interval: Interval,
    /// The thread's CPU time and the clock, both cumulative since its start.
    pub cpu_ns: u64,
    pub wall_ns: u64,
}

/// What a thread measured.
pub struct ThreadReport {
    pub stats: ThreadStats,
    /// When the thread started its load (after the start line) and finished it.
    pub start_ns: u64,
    pub end_ns: u64,
    /// The thread's own CPU time (user + system) between the two.
    pub cpu_ns: u64,
    pub prefilled_keys: u64,
}

/// Starts thread `thread`'s executor; its report is `None` when the run failed.
pub fn spawn(
    shared: Arc<Shared>,
    thread: usize,
    ticket: Ticket,
    ticks: Sender<Tick>,
) -> Result<ExecutorJoinHandle<Option<ThreadReport>>, String> {
    let placement = match &shared.plan.cpus {
        Some(cpus) => Placement::Fixed(cpus[thread % cpus.len()]),
        None => Placement::Unbound,
    };
    let mut builder = LocalExecutorBuilder::new(placement)
        .name(&format!("corekv-bench-{thread}"))
        // The registered buffers are for file I/O, which a load generator does not do: keep
        // them small (glommio's default is 10 MiB per executor, locked memory).
        .io_memory(IO_MEMORY_BYTES);
    if !shared.plan.spin.is_zero() {
        builder = builder.spin_before_park(shared.plan.spin);
    }
    builder
        .spawn(move || thread_main(shared, thread, ticket, ticks))
        .map_err(|e| format!("cannot start generator thread {thread}: {e}"))
}

async fn thread_main(
    shared: Arc<Shared>,
    thread: usize,
    ticket: Ticket,
    ticks: Sender<Tick>,
) -> Option<ThreadReport> {
    let plan = &shared.plan;
    let indices: Vec<usize> = (thread..plan.connections).step_by(plan.threads).collect();
    let ready = setup(&shared, &indices)
        .await
        .inspect_err(|e| shared.fail(e.clone()));
    // Every thread arrives, ready or not, so that none waits for a thread that gave up.
    if !ticket.wait() || shared.aborted() {
        return None;
    }
    let (conns, prefilled_keys) = ready.ok()?;
    let stats = Rc::new(RefCell::new(ThreadStats::new(plan.workload.commands.len())));
    let start_ns = shared.clock.now_ns();
    let cpu_start_ns = cpu_ns(false);
    stats.borrow_mut().progress_ns = start_ns;
    let measure_from_ns = start_ns + plan.warmup.as_nanos() as u64;
    let tasks: Vec<_> = conns
        .into_iter()
        .zip(&indices)
        .map(|(conn, &index)| {
            let limit = match plan.stop {
                Stop::Requests(n) => Limit::Requests(share_of(n, index, plan.connections)),
                Stop::Duration(d) => Limit::Until(measure_from_ns + d.as_nanos() as u64),
            };
            let ctx = ConnCtx {
                shared: Arc::clone(&shared),
                stats: Rc::clone(&stats),
                index,
                start_ns,
                measure_from_ns,
                limit,
            };
            glommio::spawn_local(drive::run(conn, ctx))
        })
        .collect();
    let all_done = async {
        for task in tasks {
            if let Err(why) = task.await {
                shared.fail(why);
            }
        }
    };
    let ticker = ticker(&shared, &stats, thread, start_ns, cpu_start_ns, ticks);
    // The ticker only ends on a failure; dropping the tasks then cancels them.
    futures_lite::future::or(all_done, ticker).await;
    let end_ns = shared.clock.now_ns();
    let cpu_ns = cpu_ns(false).saturating_sub(cpu_start_ns);
    let stats = Rc::try_unwrap(stats).ok()?.into_inner();
    Some(ThreadReport {
        stats,
        start_ns,
        end_ns,
        cpu_ns,
        prefilled_keys,
    })
}

/// `total` split over `connections`: connection `index`'s part.
fn share_of(total: u64, index: usize, connections: usize) -> u64 {
    let n = connections as u64;
    total / n + u64::from((index as u64) < total % n)
}

/// Connects every connection of the thread, then (with `--prefill`) SETs its share of the
/// keys, all connections at once.
async fn setup(shared: &Arc<Shared>, indices: &[usize]) -> Result<(Vec<Conn>, u64), String> {
    let tasks: Vec<_> = indices
        .iter()
        .map(|&index| {
            let shared = Arc::clone(shared);
            glommio::spawn_local(async move {
                let plan = &shared.plan;
                let mut conn = Conn::connect(plan.addr, plan.protocol, index)
                    .await
                    .map_err(|e| format!("connection {index}: {e}"))?;
                let keys = if plan.prefill {
                    prefill(&mut conn, plan, index)
                        .await
                        .map_err(|e| format!("prefill on connection {index}: {e}"))?
                } else {
                    0
                };
                Ok::<_, String>((conn, keys))
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(tasks.len());
    let mut keys = 0;
    for task in tasks {
        let (conn, n) = task.await?;
        conns.push(conn);
        keys += n;
    }
    Ok((conns, keys))
}

/// SETs keys `index`, `index + connections`, ... in batches; every reply must be `+OK`.
async fn prefill(conn: &mut Conn, plan: &Plan, index: usize) -> Result<u64, String> {
    let set = Command::set();
    let value = &plan.workload.value;
    let ids: Vec<u64> = (index as u64..plan.workload.keyspace)
        .step_by(plan.connections)
        .collect();
    let mut out = Vec::new();
    for batch in ids.chunks(PREFILL_BATCH as usize) {
        out.clear();
        for &id in batch {
            conn.encode(&mut out, &set, id, value);
        }
        conn.send(&out).await?;
        let mut got = 0;
        while got < batch.len() {
            match conn.next_reply(set.expect)? {
                Some(Verdict::Ok) => got += 1,
                Some(other) => return Err(format!("SET replied {other:?}")),
                None => {
                    conn.flush_control().await?;
                    conn.fill().await?;
                }
            }
        }
    }
    Ok(ids.len() as u64)
}

/// Every [`TICK`]: stop if the run failed or the server stalled; every second, send the
/// progress. Returns only when the thread must stop.
async fn ticker(
    shared: &Shared,
    stats: &RefCell<ThreadStats>,
    thread: usize,
    start_ns: u64,
    cpu_start_ns: u64,
    ticks: Sender<Tick>,
) {
    let tick_ns = TICK.as_nanos() as u64;
    let timeout_ns = shared.plan.reply_timeout.as_nanos() as u64;
    for n in 1u64.. {
        // Due times are absolute, so ticks do not drift from the other threads'.
        let due_ns = start_ns + n * tick_ns;
        let now_ns = shared.clock.now_ns();
        glommio::timer::sleep(Duration::from_nanos(due_ns.saturating_sub(now_ns))).await;
        if shared.aborted() {
            return;
        }
        let now_ns = shared.clock.now_ns();
        let mut s = stats.borrow_mut();
        if s.in_flight > 0 && now_ns.saturating_sub(s.progress_ns) > timeout_ns {
            let secs = shared.plan.reply_timeout.as_secs();
            shared.fail(format!(
                "thread {thread}: {} requests waited {secs} s without a reply (--reply-timeout-s)",
                s.in_flight
            ));
            return;
        }
        if n % TICKS_PER_REPORT == 0 && !shared.plan.quiet {
            let tick = Tick {
                thread,
                interval: s.take_interval(),
                cpu_ns: cpu_ns(false).saturating_sub(cpu_start_ns),
                wall_ns: now_ns - start_ns,
            };
            // The main thread is gone only if it is exiting anyway.
            let _ = ticks.send(tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_exactly() {
        let shares: Vec<u64> = (0..4).map(|i| share_of(10, i, 4)).collect();
        assert_eq!(shares, [3, 3, 2, 2]);
        assert_eq!((0..7).map(|i| share_of(3, i, 7)).sum::<u64>(), 3);
    }
}

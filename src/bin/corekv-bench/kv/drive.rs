//! The life of one load connection: closed loop or open loop, until its limit.
//!
//! # Closed loop
//! Build a batch of `--pipeline` requests, write it in one send, read until every reply is in;
//! each request's latency is from the write to the read that brought its reply (what
//! redis-benchmark measures too). The next batch leaves only when the last reply arrived, so a
//! slow server slows the load down: latencies describe the server at the rate it chose.
//!
//! # Open loop
//! Requests are due on a fixed [`Schedule`]; every request due (up to `--pipeline` waiting for
//! replies) is written at once, then the task waits for whichever comes first: a reply, or the
//! next due time. A reply's latency is from its request's *due* time, so time spent queued
//! behind a slow reply counts (coordinated omission corrected), and each write records its lag
//! (write time − due time) apart.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::args::Mode;
use super::conn::Conn;
use super::schedule::Schedule;
use super::stats::ThreadStats;
use super::verify::Verdict;
use super::worker::Shared;
use super::zipf::Rng;

/// When a connection stops sending.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// After this many measured requests (warmup ones do not count).
    Requests(u64),
    /// At this time on the run's clock (no request is due or sent after it).
    Until(u64),
}

/// What a connection task needs besides its connection.
pub struct ConnCtx {
    pub shared: Arc<Shared>,
    pub stats: Rc<RefCell<ThreadStats>>,
    /// The connection's number among all (`0..connections`).
    pub index: usize,
    pub start_ns: u64,
    /// Requests sent (closed loop) or due (open loop) before this are warmup.
    pub measure_from_ns: u64,
    pub limit: Limit,
}

impl ConnCtx {
    fn rng(&self) -> Rng {
        let plan = &self.shared.plan;
        Rng::new(plan.seed ^ (self.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// `n` requests are about to be written at `now_ns`.
    fn sending(&self, n: u64, now_ns: u64) {
        let mut stats = self.stats.borrow_mut();
        if stats.in_flight == 0 {
            // The stall watchdog counts from the oldest unanswered request.
            stats.progress_ns = now_ns;
        }
        stats.in_flight += n;
    }

    /// Checks and records a reply; a reply of the wrong type ends the run.
    fn record(
        &self,
        command: usize,
        latency_ns: u64,
        measured: bool,
        verdict: Verdict,
        now_ns: u64,
    ) -> Result<(), String> {
        if let Verdict::Wrong(why) = verdict {
            let name = &self.shared.plan.workload.commands[command].name;
            return Err(format!("connection {}: {name}: {why}", self.index));
        }
        let mut stats = self.stats.borrow_mut();
        stats.record(command, latency_ns, measured, verdict, now_ns);
        Ok(())
    }
}

pub async fn run(conn: Conn, ctx: ConnCtx) -> Result<(), String> {
    match ctx.shared.plan.mode {
        Mode::Closed => closed_loop(conn, ctx).await,
        Mode::Open { rate_per_s } => open_loop(conn, ctx, rate_per_s).await,
    }
}

async fn closed_loop(mut conn: Conn, ctx: ConnCtx) -> Result<(), String> {
    let plan = &ctx.shared.plan;
    let (workload, clock) = (&plan.workload, ctx.shared.clock);
    let depth = plan.pipeline as u64;
    let mut rng = ctx.rng();
    let (mut step, mut counted) = (0u64, 0u64);
    let mut out = Vec::new();
    let mut batch: Vec<usize> = Vec::with_capacity(plan.pipeline);
    while !ctx.shared.aborted() {
        let now_ns = clock.now_ns();
        let measured = now_ns >= ctx.measure_from_ns;
        let n = match ctx.limit {
            Limit::Requests(quota) if measured => (quota - counted).min(depth),
            Limit::Requests(_) => depth,
            Limit::Until(end_ns) if now_ns >= end_ns => 0,
            Limit::Until(_) => depth,
        };
        if n == 0 {
            break;
        }
        out.clear();
        batch.clear();
        for _ in 0..n {
            let command = workload.command_at(ctx.index, step);
            step += 1;
            let key = workload.key(&mut rng);
            conn.encode(&mut out, &workload.commands[command], key, &workload.value);
            batch.push(command);
        }
        if conn.has_buffered() {
            return Err(format!(
                "connection {}: a reply nobody asked for",
                ctx.index
            ));
        }
        ctx.sending(n, now_ns);
        let sent_ns = clock.now_ns();
        conn.send(&out).await?;
        counted += if measured { n } else { 0 };
        let mut read_ns = sent_ns;
        let mut got = 0;
        while got < batch.len() {
            let command = batch[got];
            match conn.next_reply(workload.commands[command].expect)? {
                Some(verdict) => {
                    ctx.record(command, read_ns - sent_ns, measured, verdict, read_ns)?;
                    got += 1;
                }
                None => {
                    conn.flush_control().await?;
                    conn.fill().await?;
                    read_ns = clock.now_ns();
                }
            }
        }
    }
    Ok(())
}

/// A request written and not yet answered.
struct Waiting {
    command: usize,
    due_ns: u64,
    measured: bool,
}

async fn open_loop(mut conn: Conn, ctx: ConnCtx, rate_per_s: f64) -> Result<(), String> {
    let plan = &ctx.shared.plan;
    let (workload, clock) = (&plan.workload, ctx.shared.clock);
    let mut schedule = Schedule::new(ctx.start_ns, rate_per_s, ctx.index, plan.connections);
    let mut rng = ctx.rng();
    let (mut step, mut counted) = (0u64, 0u64);
    let mut out = Vec::new();
    let mut waiting: VecDeque<Waiting> = VecDeque::with_capacity(plan.pipeline);
    let mut done_sending = false;
    while !ctx.shared.aborted() {
        let now_ns = clock.now_ns();
        out.clear();
        let mut new = 0;
        while !done_sending && waiting.len() < plan.pipeline && schedule.peek_ns() <= now_ns {
            let due_ns = schedule.peek_ns();
            let measured = due_ns >= ctx.measure_from_ns;
            done_sending = match ctx.limit {
                Limit::Requests(quota) => measured && counted >= quota,
                Limit::Until(end_ns) => due_ns >= end_ns,
            };
            if done_sending {
                break;
            }
            schedule.advance();
            let command = workload.command_at(ctx.index, step);
            step += 1;
            let key = workload.key(&mut rng);
            conn.encode(&mut out, &workload.commands[command], key, &workload.value);
            counted += u64::from(measured);
            ctx.stats.borrow_mut().record_lag(now_ns - due_ns, measured);
            waiting.push_back(Waiting {
                command,
                due_ns,
                measured,
            });
            new += 1;
        }
        if new > 0 {
            ctx.sending(new, now_ns);
            conn.send(&out).await?;
        }
        if waiting.is_empty() {
            if done_sending {
                break;
            }
            sleep_until(&ctx, schedule.peek_ns()).await;
            continue;
        }
        conn.flush_control().await?;
        let may_send = !done_sending && waiting.len() < plan.pipeline;
        let replied = if may_send {
            let wake_ns = schedule.peek_ns();
            futures_lite::future::or(async { conn.fill().await.map(|()| true) }, async {
                sleep_until(&ctx, wake_ns).await;
                Ok(false)
            })
            .await?
        } else {
            conn.fill().await.map(|()| true)?
        };
        if !replied {
            continue;
        }
        let read_ns = clock.now_ns();
        while let Some(front) = waiting.front() {
            let expect = workload.commands[front.command].expect;
            let Some(verdict) = conn.next_reply(expect)? else {
                break;
            };
            let w = waiting.pop_front().expect("front exists");
            let latency_ns = read_ns.saturating_sub(w.due_ns);
            ctx.record(w.command, latency_ns, w.measured, verdict, read_ns)?;
        }
        if waiting.is_empty() && conn.has_buffered() {
            return Err(format!(
                "connection {}: a reply nobody asked for",
                ctx.index
            ));
        }
    }
    Ok(())
}

async fn sleep_until(ctx: &ConnCtx, due_ns: u64) {
    let now_ns = ctx.shared.clock.now_ns();
    if due_ns > now_ns {
        glommio::timer::sleep(Duration::from_nanos(due_ns - now_ns)).await;
    }
}

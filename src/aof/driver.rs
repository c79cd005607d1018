//! The per-shard tasks that do the log's I/O: group commit, the once-a-second fsync of
//! `everysec`, healing after a write error, and rewrites (BGREWRITEAOF and the automatic
//! trigger).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::ShardAof;
use crate::config::Fsync;
use crate::core::Core;
use crate::shard::Shard;

/// How often housekeeping looks at the log.
const TICK: Duration = Duration::from_millis(100);
/// How long after a failure the next healing attempt starts (Redis retries once a second).
const HEAL_RETRY: Duration = Duration::from_secs(1);
/// An everysec fdatasync slower than this counts in `aof_delayed_fsync`.
const SLOW_FSYNC: Duration = Duration::from_secs(2);

/// Group commit: woken by appends, writes (and under `always` fdatasyncs) everything buffered
/// and releases the replies it covers, until nothing is left.
pub async fn commit_loop(aof: Rc<ShardAof>) {
    loop {
        aof.wake.wait().await;
        loop {
            if aof.closed.get() {
                return;
            }
            if aof.log.appended_lsn() <= aof.released.get() {
                break;
            }
            if aof.log.is_poisoned() {
                aof.fail_waiters();
                break;
            }
            aof.commits.set(aof.commits.get() + 1);
            let res = match aof.policy.get() {
                Fsync::Always => aof.log.sync().await,
                Fsync::EverySec | Fsync::No => aof.log.flush().await,
            };
            match res {
                Ok(pos) => aof.release(pos),
                Err(e) => {
                    aof.note_write_error(&e);
                    aof.fail_waiters();
                    break;
                }
            }
            glommio::yield_if_needed().await;
        }
    }
}

/// Once a second fdatasync (everysec), healing, and rewrite triggers.
pub async fn housekeeping(shard: Rc<RefCell<Shard>>, aof: Rc<ShardAof>) {
    let mut last_fsync = Instant::now();
    let mut last_heal: Option<Instant> = None;
    loop {
        glommio::timer::sleep(TICK).await;
        if aof.closed.get() {
            return;
        }
        if let Some(core) = Core::current()
            && let Some(p) = crate::config::Fsync::parse(core.params.borrow().text("appendfsync"))
        {
            aof.policy.set(p);
        }
        let healthy = aof.write_ok() && !aof.log.is_poisoned();
        if !healthy {
            if last_heal.is_none_or(|t| t.elapsed() >= HEAL_RETRY) {
                last_heal = Some(Instant::now());
                if super::rewrite::rewrite(&shard, &aof).await.is_ok() && !aof.log.is_poisoned() {
                    aof.note_healed();
                }
            }
            continue;
        }
        if aof.policy.get() == Fsync::EverySec && last_fsync.elapsed() >= Duration::from_secs(1) {
            last_fsync = Instant::now();
            let st = aof.log.stats();
            if st.durable_lsn < st.written_lsn {
                let t = Instant::now();
                if let Err(e) = aof.log.sync().await {
                    aof.note_write_error(&e);
                    aof.fail_waiters();
                    continue;
                }
                if t.elapsed() >= SLOW_FSYNC {
                    aof.delayed_fsync.set(aof.delayed_fsync.get() + 1);
                }
            }
        }
        let idle = aof.rewrite.borrow().started.is_none();
        if idle && (aof.rewrite.borrow().requested || auto_rewrite_due(&aof)) {
            // Its own task, so the everysec fsync keeps its pace during a long rewrite.
            aof.rewrite.borrow_mut().started = Some(Instant::now());
            let (shard, aof) = (shard.clone(), aof.clone());
            glommio::spawn_local(async move {
                let _ = super::rewrite::rewrite(&shard, &aof).await;
            })
            .detach();
        }
    }
}

/// Redis's auto-aof-rewrite-percentage / -min-size, per shard.
fn auto_rewrite_due(aof: &ShardAof) -> bool {
    let Some(core) = Core::current() else {
        return false;
    };
    let (perc, min) = {
        let p = core.params.borrow();
        (
            p.int("auto-aof-rewrite-percentage"),
            p.text("auto-aof-rewrite-min-size")
                .parse::<u64>()
                .unwrap_or(0),
        )
    };
    if perc <= 0 {
        return false;
    }
    let st = aof.log.stats();
    let current = st.base_bytes + st.incr_bytes;
    if current <= min {
        return false;
    }
    let base = aof.rewrite.borrow().base_size.max(1);
    let growth = (current as i128 * 100 / base as i128) - 100;
    growth >= perc as i128
}

/// At shutdown: no more commits; write and fdatasync whatever is buffered.
pub async fn close(aof: &ShardAof) {
    aof.closed.set(true);
    match aof.log.sync().await {
        Ok(pos) => aof.release(pos),
        Err(e) => {
            tracing::error!(shard = aof.log.shard_id(), error = %e, "final fsync of the log failed");
        }
    }
    // Nothing will write this log again: whatever still waits has failed.
    aof.fail_waiters();
    aof.wake.notify();
}

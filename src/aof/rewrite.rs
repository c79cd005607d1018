//! Rewriting a shard's log into a compact base without stopping service.
//!
//! 1. In one synchronous stretch: start a copy-on-write snapshot of every db
//!    (`store::snapshot::begin`) and poll [`Log::start_rewrite`] for the first time, so the
//!    snapshot instant and the log's switch to a fresh incremental segment coincide: every
//!    effect before it is in the snapshot, every effect after it in the new segment.
//! 2. In slices of [`SLICE_RECORDS`] restore commands, with a yield between them, emit the
//!    snapshot into the base (clients keep running; a key they touch first has its
//!    pre-image captured, so the base is exactly the state at the switch).
//! 3. [`Log::finish_rewrite`]: the base is synced, the manifest names `[base, segments since
//!    the switch]`, and only then are the old segments deleted.
//!
//! The same procedure heals a poisoned log (the base covers the records whose write failed)
//! and writes the first base of a new generation when re-sharding.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;

use super::ShardAof;
use crate::persistence::{LogError, RewriteReport};
use crate::shard::Shard;
use crate::store::snapshot;

/// Restore commands per slice between yields.
pub const SLICE_RECORDS: usize = 512;

/// Runs one rewrite of `aof`'s log from `shard`'s data. Updates the rewrite status for INFO.
pub async fn rewrite(shard: &Rc<RefCell<Shard>>, aof: &ShardAof) -> Result<RewriteReport, String> {
    let started = Instant::now();
    aof.rewrite.borrow_mut().started = Some(started);
    aof.rewrite.borrow_mut().requested = false;
    let result = run(shard, aof).await;
    let mut st = aof.rewrite.borrow_mut();
    st.started = None;
    st.last_secs = Some(started.elapsed().as_secs());
    match &result {
        Ok(report) => {
            st.last_ok = true;
            st.count += 1;
            st.consecutive_failures = 0;
            let stats = aof.log.stats();
            st.base_size = stats.base_bytes + stats.incr_bytes;
            tracing::info!(
                shard = shard.borrow().id,
                records = report.base_records,
                bytes = report.base_bytes,
                removed_segments = report.removed_segments,
                healed = report.healed,
                "log rewritten"
            );
        }
        Err(e) => {
            st.last_ok = false;
            st.consecutive_failures += 1;
            tracing::warn!(shard = shard.borrow().id, error = %e, "log rewrite failed");
        }
    }
    result.map_err(|e| e.to_string())
}

async fn run(shard: &Rc<RefCell<Shard>>, aof: &ShardAof) -> Result<RewriteReport, LogError> {
    let start = aof.log.start_rewrite();
    snapshot::begin(&mut shard.borrow_mut().dbs);
    let mut base = match start.await {
        Ok(b) => b,
        Err(e) => {
            snapshot::abort(&mut shard.borrow_mut().dbs);
            return Err(e);
        }
    };
    let mut out: Vec<(u16, Vec<Bytes>)> = Vec::with_capacity(SLICE_RECORDS);
    loop {
        let done = snapshot::step(&mut shard.borrow_mut().dbs, SLICE_RECORDS, &mut out);
        for (db, args) in out.drain(..) {
            if let Err(e) = base.append_command(db, &args).await {
                snapshot::abort(&mut shard.borrow_mut().dbs);
                aof.log.abort_rewrite(base).await;
                return Err(e);
            }
        }
        if done {
            break;
        }
        glommio::yield_if_needed().await;
    }
    aof.log.finish_rewrite(base).await
}

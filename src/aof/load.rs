//! Loading at start: each shard replays its own log on its own core, in parallel; clients
//! that connect meanwhile get `-LOADING` (see `commands::dispatch`).
//!
//! Records are commands in effect form and are replayed through the command table, with
//! journaling off (replaying must not log again). Two records have no key and are applied
//! here: `FLUSHDB` and `SWAPDB a b`.
//!
//! # Re-sharding ([`super::layout::Plan::Reshard`])
//! Old log `i` holds exactly the keys of old shard `i`'s slot range, in order. New shard `j`
//! replays every old log in turn, keeping keyed records whose key it owns now; a keyless
//! record from log `i` is applied only to keys of old shard `i`'s range (a FLUSHDB there
//! never touches keys another old log brought in). Because the ranges are disjoint, the
//! result is exactly the union of the old shards' states. Then shard `j` writes that state
//! as the base of a fresh log in the new generation; the `LAYOUT` switch waits for all.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::layout::{self, Plan};
use super::{LOADING_LOADED_BYTES, LOADING_TOTAL_BYTES, ShardAof};
use crate::commands::exec::ExecCtx;
use crate::commands::spec::Exec;
use crate::config::Config;
use crate::persistence::{LogOptions, Recovery, UringStorage, decode_command_bytes};
use crate::protocol::Reply;
use crate::shard::{Shard, shard_for_key};
use crate::util::parse_i64;

/// New shards that have written their base in a re-sharding.
static RESHARD_READY: AtomicUsize = AtomicUsize::new(0);
/// Set by shard 0 once `LAYOUT` names the new generation.
static RESHARD_SWITCHED: AtomicBool = AtomicBool::new(false);

/// Which records of an old log a new shard keeps while re-sharding.
#[derive(Clone, Copy)]
struct Filter {
    old: usize,
    old_n: usize,
    new: usize,
    new_n: usize,
}

fn log_options(cfg: &Config, shard: usize) -> LogOptions {
    let mut o = LogOptions::new(shard as u32);
    o.truncate_torn_tail = cfg.aof_load_truncated;
    o.load_truncated = cfg.aof_load_corrupt;
    o
}

fn total_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Loads shard `shard_id` according to `plan` and returns its log, ready for appends.
pub async fn load(
    shard: &Rc<RefCell<Shard>>,
    cfg: &Config,
    plan: &Plan,
) -> Result<Rc<ShardAof>, String> {
    let j = shard.borrow().id;
    let n = shard.borrow().nr_shards;
    match *plan {
        Plan::Open { generation } => {
            let dir = layout::shard_dir(&cfg.dir, generation, j);
            LOADING_TOTAL_BYTES.fetch_add(total_bytes(&dir), Ordering::Relaxed);
            let mut rec = Recovery::open(UringStorage, &dir, log_options(cfg, j))
                .await
                .map_err(|e| format!("shard {j}: cannot open the log: {e}"))?;
            let records = replay(&mut rec, shard, None, cfg.key_load_delay_us).await?;
            let (log, report) = rec
                .finish()
                .await
                .map_err(|e| format!("shard {j}: cannot open the log: {e}"))?;
            if let Some(cut) = &report.torn_tail {
                tracing::warn!(
                    shard = j,
                    file = %cut.path.display(),
                    offset = cut.offset,
                    bytes = cut.bytes,
                    "truncated a torn record at the end of the log ({} bytes cut at offset {})",
                    cut.bytes,
                    cut.offset
                );
            }
            if let Some(cut) = &report.load_truncated {
                tracing::warn!(
                    shard = j,
                    file = %cut.path.display(),
                    offset = cut.offset,
                    bytes = cut.bytes,
                    reason = %cut.reason,
                    dropped = cut.dropped_segments.len(),
                    "aof-load-corrupt: cut the log at damaged data; everything after it is lost"
                );
            }
            tracing::info!(shard = j, records, "log loaded");
            Ok(Rc::new(ShardAof::new(log, cfg.appendfsync)))
        }
        Plan::Reshard {
            from,
            from_shards,
            to,
        } => {
            for i in 0..from_shards {
                let dir = layout::shard_dir(&cfg.dir, from, i);
                if j == 0 {
                    LOADING_TOTAL_BYTES.fetch_add(total_bytes(&dir) * n as u64, Ordering::Relaxed);
                }
                let mut rec = Recovery::open(UringStorage, &dir, log_options(cfg, i))
                    .await
                    .map_err(|e| format!("shard {j}: cannot read old shard {i}'s log: {e}"))?;
                let filter = Filter {
                    old: i,
                    old_n: from_shards,
                    new: j,
                    new_n: n,
                };
                let records = replay(&mut rec, shard, Some(filter), cfg.key_load_delay_us).await?;
                tracing::debug!(shard = j, old = i, records, "re-routed an old log");
            }
            let dir = layout::shard_dir(&cfg.dir, to, j);
            let mut rec = Recovery::open(UringStorage, &dir, log_options(cfg, j))
                .await
                .map_err(|e| format!("shard {j}: cannot create {}: {e}", dir.display()))?;
            while rec
                .next()
                .await
                .map_err(|e| format!("shard {j}: {e}"))?
                .is_some()
            {}
            let (log, _) = rec
                .finish()
                .await
                .map_err(|e| format!("shard {j}: cannot create {}: {e}", dir.display()))?;
            let aof = Rc::new(ShardAof::new(log, cfg.appendfsync));
            super::rewrite::rewrite(shard, &aof)
                .await
                .map_err(|e| format!("shard {j}: cannot write the new base: {e}"))?;
            switch_generation(cfg, j, n, to).await?;
            Ok(aof)
        }
    }
}

/// Waits until every new shard has its base, then (shard 0) makes the new generation current.
async fn switch_generation(cfg: &Config, j: usize, n: usize, to: u64) -> Result<(), String> {
    RESHARD_READY.fetch_add(1, Ordering::SeqCst);
    loop {
        if super::fatal_pending() {
            return Err(format!("shard {j}: another shard failed to load"));
        }
        if j == 0 && RESHARD_READY.load(Ordering::SeqCst) == n {
            let dir = cfg.dir.clone();
            glommio::executor()
                .spawn_blocking(move || layout::switch_to(&dir, n, to))
                .await?;
            tracing::warn!(generation = to, shards = n, "re-sharding complete");
            RESHARD_SWITCHED.store(true, Ordering::SeqCst);
        }
        if RESHARD_SWITCHED.load(Ordering::SeqCst) {
            return Ok(());
        }
        glommio::timer::sleep(Duration::from_millis(2)).await;
    }
}

/// Replays every record of `rec` into `shard`. Returns the number of records applied.
async fn replay(
    rec: &mut Recovery<UringStorage>,
    shard: &Rc<RefCell<Shard>>,
    filter: Option<Filter>,
    delay_us: u64,
) -> Result<u64, String> {
    let mut applied = 0u64;
    let mut failures = 0u64;
    let mut count = 0u64;
    loop {
        let payload = match rec.next().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Err(format!("cannot load the log: {e}")),
        };
        LOADING_LOADED_BYTES.fetch_add(payload.len() as u64 + 8, Ordering::Relaxed);
        let (db, args) = decode_command_bytes(&payload)
            .map_err(|e| format!("an undecodable record in the log: {e}"))?;
        match apply(&mut shard.borrow_mut(), db as usize, args, filter) {
            Ok(true) => applied += 1,
            Ok(false) => {}
            Err(e) => {
                failures += 1;
                if failures <= 10 {
                    tracing::warn!(error = %e, "a log record failed to replay");
                }
            }
        }
        count += 1;
        if delay_us > 0 {
            glommio::timer::sleep(Duration::from_micros(delay_us)).await;
        } else if count.is_multiple_of(256) {
            glommio::yield_if_needed().await;
        }
    }
    if failures > 0 {
        tracing::warn!(failures, "log records that failed to replay");
    }
    Ok(applied)
}

/// Applies one record. Ok(false): skipped by the re-sharding filter.
fn apply(
    shard: &mut Shard,
    db: usize,
    args: Vec<Bytes>,
    filter: Option<Filter>,
) -> Result<bool, String> {
    if db >= shard.dbs.len() {
        return Err(format!(
            "a record for database {db}, but --databases is {}",
            shard.dbs.len()
        ));
    }
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let in_old_range = |k: &[u8], f: &Filter| shard_for_key(k, f.old_n) == f.old;
    match name.as_str() {
        "FLUSHDB" => {
            match filter {
                None => shard.dbs[db].clear(),
                Some(f) => {
                    let doomed: Vec<Bytes> = shard.dbs[db]
                        .keys()
                        .iter()
                        .map(|(k, _)| k.clone())
                        .filter(|k| in_old_range(k, &f))
                        .collect();
                    for k in doomed {
                        shard.dbs[db].remove(&k);
                    }
                }
            }
            return Ok(true);
        }
        "SWAPDB" => {
            let index = |i: usize| {
                args.get(i)
                    .and_then(|a| parse_i64(a))
                    .filter(|&v| v >= 0 && (v as usize) < shard.dbs.len())
                    .map(|v| v as usize)
            };
            let (Some(a), Some(b)) = (index(1), index(2)) else {
                return Err("a SWAPDB record with bad database indices".into());
            };
            if a == b {
                return Ok(true);
            }
            match filter {
                None => {
                    let (lo, hi) = (a.min(b), a.max(b));
                    let (left, right) = shard.dbs.split_at_mut(hi);
                    left[lo].swap_data(&mut right[0]);
                }
                Some(f) => {
                    let now = crate::util::now_ms();
                    let mut take = |d: usize| {
                        let keys: Vec<Bytes> = shard.dbs[d]
                            .keys()
                            .iter()
                            .map(|(k, _)| k.clone())
                            .filter(|k| in_old_range(k, &f))
                            .collect();
                        keys.into_iter()
                            .filter_map(|k| shard.dbs[d].take(&k, now).map(|v| (k, v)))
                            .collect::<Vec<_>>()
                    };
                    let from_a = take(a);
                    let from_b = take(b);
                    for (k, (v, at)) in from_a {
                        shard.dbs[b].insert(&k, v, at);
                    }
                    for (k, (v, at)) in from_b {
                        shard.dbs[a].insert(&k, v, at);
                    }
                }
            }
            return Ok(true);
        }
        _ => {}
    }
    let Some(spec) = crate::commands::lookup(&args[0]) else {
        return Err(format!("unknown command '{name}' in a log record"));
    };
    if !spec.arity_ok(args.len()) {
        return Err(format!("a '{name}' record with {} arguments", args.len()));
    }
    let f = match spec.exec {
        Exec::Shard(f) | Exec::Split(f, _) | Exec::ShardOrCoord(f, _) | Exec::Channel(f) => f,
        Exec::Coord(_) => return Err(format!("'{name}' cannot be replayed from a log")),
    };
    if let Some(fl) = filter {
        let mut keys = spec.keys(&args);
        match keys.next() {
            Some(i) if shard_for_key(&args[i], fl.new_n) == fl.new => {}
            _ => return Ok(false),
        }
    }
    let mut ctx = ExecCtx::new(shard, db);
    match f(&mut ctx, &args) {
        Reply::Error(e) => Err(format!(
            "'{name}' replayed with error: {}",
            String::from_utf8_lossy(&e)
        )),
        _ => Ok(true),
    }
}

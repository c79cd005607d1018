//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in `dispatch` (commands after MULTI are checked and answered +QUEUED).
//! EXEC then runs the queue:
//! - **One shard** (every queued command is a shard command and every key it and every
//!   WATCHed key touch lives on the same shard): one task on that shard checks the watches and
//!   runs all commands back to back, synchronously — atomic and isolated, exactly as in Redis.
//! - **Several shards** (or coordinated commands such as SELECT inside the transaction): the
//!   watches are checked on every shard, then the queue runs through the ordinary pipeline
//!   machinery in order. Each command is atomic, but other clients may interleave between
//!   commands on different shards (docs/ARCHITECTURE.md).
//!
//! WATCH records, per key, the version of the key's watch entry on its shard; every
//! modification of the key (including expiry) bumps it, so EXEC can tell.

use bytes::Bytes;

use crate::commands::dispatch::{Collect, run_pipeline, unknown_command, wrong_arity};
use crate::commands::exec::{CoordOp, ExecCtx, run_shard_fn_for};
use crate::commands::lookup;
use crate::commands::spec::{CommandSpec, Exec, flag::*};
use crate::core::{Core, Session, WatchedKey};
use crate::protocol::Reply;
use crate::shard::shard_for_key;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Multi),
    )
    .acl(&["fast", "transaction"])
    .doc(
        "transactions",
        "1.2.0",
        "Mark the start of a transaction block",
        "O(1)",
    ),
    CommandSpec::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        Exec::Coord(CoordOp::Exec),
    )
    .acl(&["slow", "transaction"])
    .doc(
        "transactions",
        "1.2.0",
        "Execute all commands issued after MULTI",
        "Depends on commands in the transaction",
    ),
    CommandSpec::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Discard),
    )
    .acl(&["fast", "transaction"])
    .doc(
        "transactions",
        "2.0.0",
        "Discard all commands issued after MULTI",
        "O(N), when N is the number of queued commands",
    ),
    CommandSpec::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        Exec::Coord(CoordOp::Watch),
    )
    .acl(&["fast", "transaction"])
    .doc(
        "transactions",
        "2.2.0",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "O(1) for every key.",
    ),
    CommandSpec::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Unwatch),
    )
    .acl(&["fast", "transaction"])
    .doc(
        "transactions",
        "2.2.0",
        "Forget about all watched keys",
        "O(1)",
    ),
];

/// Names that run immediately even inside MULTI (everything else is queued).
pub fn runs_inside_multi(name: &[u8]) -> bool {
    [
        &b"exec"[..],
        b"discard",
        b"multi",
        b"watch",
        b"quit",
        b"reset",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
}

/// Checks a command about to be queued; `Err` is the reply that refuses it (and aborts the
/// transaction), `Ok` means queue it and answer +QUEUED.
pub fn check_queueable(sess: &Session, args: &[Bytes]) -> Result<(), Reply> {
    let Some(spec) = lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    if !spec.arity_ok(args.len()) {
        return Err(wrong_arity(spec.name));
    }
    if !sess.authenticated && !spec.has(NO_AUTH) {
        return Err(Reply::error("NOAUTH Authentication required."));
    }
    if let Some(refusal) = crate::commands::dispatch::persistence_refusal(spec) {
        return Err(refusal);
    }
    if spec.has(NO_MULTI) {
        return Err(Reply::error("ERR Command not allowed inside a transaction"));
    }
    Ok(())
}

pub fn multi(sess: &mut Session) -> Reply {
    if sess.multi.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    sess.multi = Some(Default::default());
    Reply::ok()
}

pub async fn discard(core: &Core, sess: &mut Session) -> Reply {
    if sess.multi.take().is_none() {
        return Reply::error("ERR DISCARD without MULTI");
    }
    unwatch_all(core, sess).await;
    Reply::ok()
}

pub async fn watch(core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    if sess.multi.is_some() {
        return Reply::error("ERR WATCH inside MULTI is not allowed");
    }
    let n = core.nr_shards();
    let db = sess.db;
    for key in &args[1..] {
        if sess.watched.iter().any(|w| w.db == db && w.key == *key) {
            continue;
        }
        let shard = shard_for_key(key, n);
        let k = key.clone();
        let seen = core
            .router
            .run_on(shard, move |s| s.dbs[db].watch(&k))
            .await;
        if let Some((version, deadline)) = seen {
            sess.watched.push(WatchedKey {
                db,
                key: key.clone(),
                shard,
                version,
                deadline,
            });
        }
    }
    Reply::ok()
}

pub async fn unwatch(core: &Core, sess: &mut Session) -> Reply {
    unwatch_all(core, sess).await;
    Reply::ok()
}

/// Releases every watch this client holds (also on disconnect).
pub async fn unwatch_all(core: &Core, sess: &mut Session) {
    let watched = std::mem::take(&mut sess.watched);
    for shard in 0..core.nr_shards() {
        let keys: Vec<(usize, Bytes)> = watched
            .iter()
            .filter(|w| w.shard == shard)
            .map(|w| (w.db, w.key.clone()))
            .collect();
        if keys.is_empty() {
            continue;
        }
        core.router
            .run_on(shard, move |s| {
                for (db, k) in &keys {
                    s.dbs[*db].unwatch(k);
                }
            })
            .await;
    }
}

/// True when no watched key on `shard` changed; runs on that shard.
fn watches_intact(s: &crate::shard::Shard, watched: &[WatchedKey]) -> bool {
    let now = crate::util::now_ms();
    watched
        .iter()
        .all(|w| s.dbs[w.db].watch_intact(&w.key, w.version, w.deadline, now))
}

/// The shard every queued command and watched key lives on, if there is one and every queued
/// command is a plain shard command.
fn single_shard(core: &Core, sess: &Session, queued: &[Vec<Bytes>]) -> Option<usize> {
    let n = core.nr_shards();
    let mut target: Option<usize> = None;
    let mut same = |s: usize| match target {
        None => {
            target = Some(s);
            true
        }
        Some(t) => t == s,
    };
    for w in &sess.watched {
        if !same(w.shard) {
            return None;
        }
    }
    for args in queued {
        let spec = lookup(&args[0])?;
        if !matches!(
            spec.exec,
            Exec::Shard(_) | Exec::Split(..) | Exec::ShardOrCoord(..)
        ) {
            return None;
        }
        for i in spec.keys(args) {
            if !same(shard_for_key(&args[i], n)) {
                return None;
            }
        }
    }
    Some(target.unwrap_or(core.router.shard_id()))
}

pub async fn exec(core: &Core, sess: &mut Session) -> Reply {
    let Some(state) = sess.multi.take() else {
        return Reply::error("ERR EXEC without MULTI");
    };
    if state.aborted {
        unwatch_all(core, sess).await;
        return Reply::error("EXECABORT Transaction discarded because of previous errors.");
    }
    let queued = state.queued;
    let reply = if let Some(shard) = single_shard(core, sess, &queued) {
        let watched = sess.watched.clone();
        let db = sess.db;
        let client = sess.id();
        let ops: Vec<(&'static CommandSpec, Vec<Bytes>)> = queued
            .into_iter()
            .filter_map(|a| lookup(&a[0]).map(|s| (s, a)))
            .collect();
        let replies = core
            .router
            .run_on(shard, move |s| {
                if !watches_intact(s, &watched) {
                    return None;
                }
                let mut out = Vec::with_capacity(ops.len());
                for (spec, args) in &ops {
                    let mut ctx = ExecCtx::new(s, db);
                    out.push(run_shard_fn_for(&mut ctx, spec, args, true, client));
                    // Each queued command's effects are logged, and raise their keyspace
                    // events, under its own name (the task's batch picks up the position).
                    let _ = crate::aof::append_effects(s, spec.name);
                }
                Some(out)
            })
            .await;
        match replies {
            Some(Some(r)) => Reply::Array(r),
            Some(None) => Reply::NilArray,
            None => Reply::error("ERR shard unavailable"),
        }
    } else {
        let mut intact = true;
        for shard in 0..core.nr_shards() {
            let mine: Vec<WatchedKey> = sess
                .watched
                .iter()
                .filter(|w| w.shard == shard)
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            let ok = core
                .router
                .run_on(shard, move |s| watches_intact(s, &mine))
                .await;
            if ok != Some(true) {
                intact = false;
                break;
            }
        }
        if intact {
            let mut replies = Collect::default();
            sess.in_exec = true;
            Box::pin(run_pipeline(core, sess, queued, &mut replies)).await;
            sess.in_exec = false;
            Reply::Array(replies.0)
        } else {
            Reply::NilArray
        }
    };
    unwatch_all(core, sess).await;
    reply
}

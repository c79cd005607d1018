//! The multi-key set commands when their keys live on different shards, run on the
//! connection's core (`CoordOp::Sets`).
//!
//! # How
//!
//! - SINTER / SUNION / SDIFF / SINTERCARD: one task on every shard looks up the keys that
//!   shard owns, in request order (hits, misses, lazy expiry, WRONGTYPE as on one shard).
//!   For SUNION it sends back every set's members and the union is built here. For SINTER
//!   and SDIFF it sends back only sizes; then one set (the smallest; SDIFF's first) is
//!   copied, and its members travel as candidates through the shards of the other keys,
//!   each keeping the ones that pass, so only the small set moves between cores.
//! - The STORE forms then place the result on the destination's shard with
//!   `Db::insert` (or delete it when the result is empty), raising the command's event.
//! - SMOVE: (1) the destination's type is checked on its shard, (2) the member is removed
//!   from the source on its shard (all of Redis's checks happen here, in Redis's order),
//!   (3) it is added to the destination. If the destination changed to another type
//!   between (1) and (3), the member is put back into the source and the reply is
//!   WRONGTYPE.
//!
//! # What is not atomic
//!
//! Each step is atomic on its shard, the whole is not: another client can see the sources
//! change between the gather and the store, or see an SMOVE's member in neither set for
//! the time of one hop. Put the keys in one hash tag (`{user1}:a`, `{user1}:b`) to get
//! Redis's atomicity: then the one-shard path runs.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::algebra::{self, Op};
use crate::commands::collection::{self as coll, Collection};
use crate::commands::exec::ExecCtx;
use crate::commands::spec::CommandSpec;
use crate::commands::strings::wrongtype;
use crate::core::Core;
use crate::protocol::Reply;
use crate::shard::shard_for_key;
use crate::store::set::Set;

fn unavailable() -> Reply {
    Reply::error("ERR shard unavailable")
}

/// Runs set command `spec` whose keys live on several shards.
pub async fn coord(core: &Core, db: usize, spec: &'static CommandSpec, args: &[Bytes]) -> Reply {
    let result = match spec.name {
        "sinter" => read_op(core, db, Op::Inter, &args[1..]).await,
        "sunion" => read_op(core, db, Op::Union, &args[1..]).await,
        "sdiff" => read_op(core, db, Op::Diff, &args[1..]).await,
        "sinterstore" => store_op(core, db, spec.name, Op::Inter, args).await,
        "sunionstore" => store_op(core, db, spec.name, Op::Union, args).await,
        "sdiffstore" => store_op(core, db, spec.name, Op::Diff, args).await,
        "sintercard" => sintercard(core, db, args).await,
        "smove" => smove(core, db, args).await,
        _ => Err(Reply::error("ERR internal: not a set command")),
    };
    result.unwrap_or_else(|e| e)
}

/// What one shard's lookup of one key found.
enum Looked {
    /// A set: its size, and its members when the caller asked for copies.
    Set(usize, Vec<Bytes>),
    Missing,
    /// Another type: the shard stops looking at its later keys, as Redis would.
    Wrong,
}

/// What one shard found for the keys it owns: (index in the request, what was there).
type Found = Vec<(usize, Looked)>;

/// A source set as [`gather`] saw it: its size, and its members if they were copied.
struct Present {
    len: usize,
    members: Vec<Bytes>,
}

/// The sets at `keys` (None = missing), with their members when `copy`, or WRONGTYPE if
/// any key holds another type, looked up for reading on each key's shard.
///
/// Redis looks the keys up in order and stops at the first key of another type, so the
/// keys after it count neither a hit nor a miss. The shards look up their keys at the same
/// time, so when some key has another type, the lookups other shards made of keys after
/// it are taken back out of their counters (one more message, on that error path only).
async fn gather(
    core: &Core,
    db: usize,
    keys: &[Bytes],
    copy: bool,
) -> Result<Vec<Option<Present>>, Reply> {
    let owned: Vec<Bytes> = keys.to_vec();
    let parts = core
        .router
        .run_on_all(move |s| -> Found {
            let (id, nr) = (s.id, s.nr_shards);
            let mut ctx = ExecCtx::new(s, db);
            let mut found = Vec::new();
            for (i, k) in owned.iter().enumerate() {
                if shard_for_key(k, nr) != id {
                    continue;
                }
                match coll::read::<Set>(&mut ctx, k) {
                    Err(_) => {
                        found.push((i, Looked::Wrong));
                        break;
                    }
                    Ok(None) => found.push((i, Looked::Missing)),
                    Ok(Some(set)) => {
                        let members = if copy { set.members() } else { Vec::new() };
                        found.push((i, Looked::Set(set.len(), members)));
                    }
                }
            }
            found
        })
        .await;
    let parts: Vec<Found> = parts
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(unavailable)?;
    let first_wrong = parts
        .iter()
        .flatten()
        .filter(|(_, l)| matches!(l, Looked::Wrong))
        .map(|(i, _)| *i)
        .min();
    if let Some(w) = first_wrong {
        uncount_after(core, &parts, w).await;
        return Err(wrongtype());
    }
    let mut sets: Vec<Option<Present>> = (0..keys.len()).map(|_| None).collect();
    for (i, looked) in parts.into_iter().flatten() {
        if let Looked::Set(len, members) = looked {
            sets[i] = Some(Present { len, members });
        }
    }
    Ok(sets)
}

/// The result of `op` over `keys`, across shards. SUNION copies every set here; SINTER and
/// SDIFF copy only one set (the smallest, or SDIFF's first) and send its members as
/// candidates to the shards of the other keys, each of which keeps the ones that pass, so
/// a small set intersected with a huge one moves only the small one between cores.
async fn combine(core: &Core, db: usize, op: Op, keys: &[Bytes]) -> Result<Set, Reply> {
    let found = gather(core, db, keys, op == Op::Union).await?;
    if op == Op::Union {
        let mut out = Set::new();
        for p in found.iter().flatten() {
            for m in &p.members {
                out.insert(m);
            }
        }
        return Ok(out);
    }
    let base = match op {
        Op::Inter if found.iter().any(Option::is_none) => return Ok(Set::new()),
        Op::Inter => (0..keys.len())
            .min_by_key(|&i| found[i].as_ref().map_or(0, |p| p.len))
            .unwrap_or(0),
        _ if found[0].is_none() => return Ok(Set::new()),
        _ => 0,
    };
    let n = core.nr_shards();
    let k = keys[base].clone();
    let mut candidates = core
        .router
        .run_on(shard_for_key(&k, n), move |s| {
            set_members(&mut ExecCtx::new(s, db), &k)
        })
        .await
        .ok_or_else(unavailable)?;
    let mut by_shard: BTreeMap<usize, Vec<Bytes>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        if i != base && found[i].is_some() {
            by_shard
                .entry(shard_for_key(k, n))
                .or_default()
                .push(k.clone());
        }
    }
    let inter = op == Op::Inter;
    for (shard, others) in by_shard {
        if candidates.is_empty() {
            break;
        }
        candidates = core
            .router
            .run_on(shard, move |s| {
                let mut ctx = ExecCtx::new(s, db);
                for k in &others {
                    ctx.write(k); // lazy expiry, no hit or miss: gather counted those
                }
                let d = &ctx.shard.dbs[db];
                let sets: Vec<Option<&Set>> = others
                    .iter()
                    .map(|k| d.keys().get(&k[..]).and_then(Set::of))
                    .collect();
                let has = |s: &Option<&Set>, m: &Bytes| s.is_some_and(|s| s.contains(m));
                candidates.retain(|m| {
                    if inter {
                        sets.iter().all(|s| has(s, m))
                    } else {
                        !sets.iter().any(|s| has(s, m))
                    }
                });
                candidates
            })
            .await
            .ok_or_else(unavailable)?;
    }
    Ok(Set::from_members(candidates.iter().map(|m| &m[..])))
}

/// The members of the set at `key` now (none if it is gone or changed type since
/// [`gather`]).
fn set_members(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Vec<Bytes> {
    match ctx.write(key).and_then(|v| Set::of(v)) {
        Some(s) => s.members(),
        None => Vec::new(),
    }
}

/// Takes back the hits and misses counted for keys after index `w` (see [`gather`]).
async fn uncount_after(core: &Core, parts: &[Found], w: usize) {
    for (shard, found) in parts.iter().enumerate() {
        let (mut hits, mut misses) = (0u64, 0u64);
        for (_, looked) in found.iter().filter(|(i, _)| *i > w) {
            match looked {
                Looked::Set(..) => hits += 1,
                Looked::Missing => misses += 1,
                Looked::Wrong => hits += 1,
            }
        }
        if hits + misses > 0 {
            core.router
                .run_on(shard, move |s| {
                    s.stats.keyspace_hits = s.stats.keyspace_hits.saturating_sub(hits);
                    s.stats.keyspace_misses = s.stats.keyspace_misses.saturating_sub(misses);
                })
                .await;
        }
    }
}

async fn read_op(core: &Core, db: usize, op: Op, keys: &[Bytes]) -> Result<Reply, Reply> {
    Ok(algebra::result_reply(&combine(core, db, op, keys).await?))
}

async fn store_op(
    core: &Core,
    db: usize,
    name: &'static str,
    op: Op,
    args: &[Bytes],
) -> Result<Reply, Reply> {
    let result = combine(core, db, op, &args[2..]).await?;
    let dst = args[1].clone();
    core.router
        .run_on(shard_for_key(&dst, core.nr_shards()), move |s| {
            s.notify_cmd = Some(name);
            algebra::store(&mut ExecCtx::new(s, db), &dst, result)
        })
        .await
        .ok_or_else(unavailable)
}

async fn sintercard(core: &Core, db: usize, args: &[Bytes]) -> Result<Reply, Reply> {
    let (keys, limit) = algebra::parse_sintercard(args)?;
    let n = combine(core, db, Op::Inter, keys).await?.len() as u64;
    let n = if limit == 0 { n } else { n.min(limit) };
    Ok(Reply::Integer(n as i64))
}

/// SMOVE across shards; see the module docs for the steps and what is not atomic.
async fn smove(core: &Core, db: usize, args: &[Bytes]) -> Result<Reply, Reply> {
    let (src, dst, member) = (args[1].clone(), args[2].clone(), args[3].clone());
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let d = dst.clone();
    let dst_ok = core
        .router
        .run_on(ds, move |s| {
            coll::check::<Set>(&mut ExecCtx::new(s, db), &d).is_ok()
        })
        .await
        .ok_or_else(unavailable)?;
    let (s2, m2) = (src.clone(), member.clone());
    let removed = core
        .router
        .run_on(ss, move |s| -> Result<bool, Reply> {
            s.notify_cmd = Some("smove");
            let mut ctx = ExecCtx::new(s, db);
            let Some(set) = coll::peek::<Set>(&mut ctx, &s2)? else {
                return Ok(false);
            };
            let has = set.contains(&m2);
            if !dst_ok {
                return Err(wrongtype());
            }
            if has {
                algebra::remove_member(&mut ctx, &s2, &m2);
            }
            Ok(has)
        })
        .await
        .ok_or_else(unavailable)??;
    if !removed {
        return Ok(Reply::Integer(0));
    }
    let m2 = member.clone();
    let added = core
        .router
        .run_on(ds, move |s| {
            s.notify_cmd = Some("smove");
            algebra::add_member(&mut ExecCtx::new(s, db), &dst, &m2).is_ok()
        })
        .await
        .ok_or_else(unavailable)?;
    if added {
        return Ok(Reply::Integer(1));
    }
    // The destination changed type since step 1: give the source its member back.
    core.router
        .run_on(ss, move |s| {
            s.notify_cmd = Some("smove");
            algebra::add_member(&mut ExecCtx::new(s, db), &src, &member).is_ok()
        })
        .await;
    Err(wrongtype())
}

//! The multi-key set commands on one shard (their keys live together): SINTER, SUNION,
//! SDIFF, their STORE forms, SINTERCARD and SMOVE, each atomic there. Parsing, placing a
//! result ([`store`]) and SMOVE's two halves are shared with the cross-shard path
//! (`super::cross`).
//!
//! Redis's order of checks is kept: every source key is looked up for reading (hits and
//! misses count) in order, and a key of another type fails the command with WRONGTYPE even
//! after a missing key (which is an empty set): SINTER of a missing key and a string is
//! WRONGTYPE, not an empty reply.

use bytes::Bytes;

use super::journal_srem;
use crate::commands::collection::{self as coll, Collection, effect, journal};
use crate::commands::exec::ExecCtx;
use crate::commands::strings::syntax_error;
use crate::protocol::Reply;
use crate::store::set::Set;
use crate::util::parse_i64;

/// Which combination of sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Inter,
    Union,
    Diff,
}

/// The combination of `sets` (`None` = a missing key, an empty set), built the way SADD
/// builds a set, so the result has Redis's encoding (an intset while it can be one).
/// DIFF is "the first set minus all the others", so a missing first key gives nothing.
pub fn combine(op: Op, sets: &[Option<&Set>]) -> Set {
    let mut out = Set::new();
    match op {
        Op::Inter => {
            let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
                return out;
            };
            present.sort_by_key(|s| s.len());
            if let Some((smallest, rest)) = present.split_first() {
                smallest.for_each(|m| {
                    if rest.iter().all(|s| s.contains(m)) {
                        out.insert(m);
                    }
                });
            }
        }
        Op::Union => {
            for s in sets.iter().flatten() {
                s.for_each(|m| {
                    out.insert(m);
                });
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return out;
            };
            let rest: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
            first.for_each(|m| {
                if !rest.iter().any(|s| s.contains(m)) {
                    out.insert(m);
                }
            });
        }
    }
    out
}

/// SINTERCARD's count: members common to all `sets`, stopping at `limit` (0 = no limit).
pub fn inter_card(sets: &[Option<&Set>], limit: u64) -> u64 {
    let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
        return 0;
    };
    present.sort_by_key(|s| s.len());
    let Some((smallest, rest)) = present.split_first() else {
        return 0;
    };
    let mut n = 0u64;
    // `for_each` cannot stop early; the check below makes the rest of the walk cheap.
    smallest.for_each(|m| {
        if (limit == 0 || n < limit) && rest.iter().all(|s| s.contains(m)) {
            n += 1;
        }
    });
    n
}

/// Looks up every key in `keys` for reading, in order: WRONGTYPE at the first key of
/// another type. Lazy expiry runs here, so a later plain lookup sees what this one saw.
fn check_sources(ctx: &mut ExecCtx<'_>, keys: &[Bytes]) -> Result<(), Reply> {
    for k in keys {
        coll::read::<Set>(ctx, k)?;
    }
    Ok(())
}

/// The sets at `keys` on this shard, after [`check_sources`].
fn sources<'a>(ctx: &'a ExecCtx<'_>, keys: &[Bytes]) -> Vec<Option<&'a Set>> {
    let db = &ctx.shard.dbs[ctx.db];
    keys.iter()
        .map(|k| db.keys().get(&k[..]).and_then(Set::of))
        .collect()
}

/// A combined set as a reply (RESP3 `~`).
pub fn result_reply(s: &Set) -> Reply {
    Reply::Set(s.members().into_iter().map(Reply::Bulk).collect())
}

fn read_op(ctx: &mut ExecCtx<'_>, op: Op, keys: &[Bytes]) -> Reply {
    if let Err(e) = check_sources(ctx, keys) {
        return e;
    }
    result_reply(&combine(op, &sources(ctx, keys)))
}

pub(super) fn sinter(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    read_op(ctx, Op::Inter, &args[1..])
}

pub(super) fn sunion(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    read_op(ctx, Op::Union, &args[1..])
}

pub(super) fn sdiff(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    read_op(ctx, Op::Diff, &args[1..])
}

/// Places `result` at `dst` (replacing whatever was there, deadline included) and replies
/// its size; an empty result deletes `dst`, as Redis does.
pub fn store(ctx: &mut ExecCtx<'_>, dst: &[u8], result: Set) -> Reply {
    let n = result.len() as i64;
    if result.is_empty() {
        if ctx.exists(dst) {
            ctx.db().remove(dst);
        }
    } else {
        ctx.db().insert(dst, result.into_value(), None);
    }
    Reply::Integer(n)
}

fn store_op(ctx: &mut ExecCtx<'_>, op: Op, args: &[Bytes]) -> Reply {
    let keys = &args[2..];
    if let Err(e) = check_sources(ctx, keys) {
        return e;
    }
    let result = combine(op, &sources(ctx, keys));
    store(ctx, &args[1], result)
}

pub(super) fn sinterstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    store_op(ctx, Op::Inter, args)
}

pub(super) fn sunionstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    store_op(ctx, Op::Union, args)
}

pub(super) fn sdiffstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    store_op(ctx, Op::Diff, args)
}

/// Parses `SINTERCARD numkeys key [key ...] [LIMIT limit]` into (keys, limit) with Redis's
/// errors, in Redis's order.
pub fn parse_sintercard(args: &[Bytes]) -> Result<(&[Bytes], u64), Reply> {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < args.len() {
        let more = i + 1 < args.len();
        if crate::commands::strings::c_str(&args[i]).eq_ignore_ascii_case(b"LIMIT") && more {
            limit = match parse_i64(&args[i + 1]) {
                Some(l) if l >= 0 => l as u64,
                _ => return Err(Reply::error("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(syntax_error());
        }
    }
    Ok((&args[2..end], limit))
}

pub(super) fn sintercard(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (keys, limit) = match parse_sintercard(args) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Err(e) = check_sources(ctx, keys) {
        return e;
    }
    Reply::Integer(inter_card(&sources(ctx, keys), limit) as i64)
}

/// SMOVE source destination member, both keys on this shard: Redis's `smoveCommand`
/// step for step (a missing source answers 0 before the destination's type is checked).
pub(super) fn smove(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let has_member = match coll::peek::<Set>(ctx, src) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(s)) => s.contains(member),
    };
    if let Err(e) = coll::check::<Set>(ctx, dst) {
        return e;
    }
    if src == dst || !has_member {
        return Reply::Integer(has_member as i64);
    }
    remove_member(ctx, src, member);
    match add_member(ctx, dst, member) {
        Ok(()) => Reply::Integer(1),
        Err(e) => e,
    }
}

/// Removes `member` (known to be there) from the set at `key`: the SREM record, then the
/// key's deletion if it is now empty.
pub fn remove_member(ctx: &mut ExecCtx<'_>, key: &Bytes, member: &Bytes) {
    if let Some(s) = coll::modify::<Set>(ctx, key) {
        s.remove(member);
        journal_srem(ctx, key, std::slice::from_ref(member));
        coll::remove_if_empty::<Set>(ctx, key);
    }
}

/// Adds `member` to the set at `key` (created if missing; the caller checked the type):
/// the SADD record only when the set changed.
pub fn add_member(ctx: &mut ExecCtx<'_>, key: &Bytes, member: &Bytes) -> Result<(), Reply> {
    if coll::peek::<Set>(ctx, key)?.is_some_and(|s| s.contains(member)) {
        return Ok(());
    }
    coll::get_or_create::<Set>(ctx, key)?.insert(member);
    journal(ctx, || effect(b"SADD", &[key, member]));
    Ok(())
}

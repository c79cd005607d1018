//! The set family: SADD and friends. Single-key commands run on the shard that owns their
//! key and follow the collection write protocol (`commands::collection`); the multi-key ones
//! (SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD, SMOVE) are in [`algebra`] and run
//! atomically on one shard when their keys live together, or are coordinated across shards
//! ([`cross`]) when they do not.

mod algebra;
mod cross;
mod random;

use bytes::Bytes;

use crate::commands::collection::{self as coll, ScanArgs, effect, journal, scan_reply};
use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, flag::*, numkeys_at};
use crate::protocol::Reply;
use crate::store::set::Set;

pub use cross::coord;

fn sintercard_keys(args: &[Bytes]) -> Vec<usize> {
    numkeys_at(args, 1)
}

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(sadd))
        .acl(&["write", "set", "fast"])
        .doc("set", "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::new("srem", -3, WRITE | FAST, (1, 1, 1), Exec::Shard(srem))
        .acl(&["write", "set", "fast"])
        .doc("set", "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed."),
    CommandSpec::new("smembers", 2, READONLY, (1, 1, 1), Exec::Shard(smembers))
        .acl(&["read", "set", "slow"])
        .doc("set", "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality."),
    CommandSpec::new("sismember", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(sismember))
        .acl(&["read", "set", "fast"])
        .doc("set", "1.0.0", "Determine if a given value is a member of a set", "O(1)"),
    CommandSpec::new("smismember", -3, READONLY | FAST, (1, 1, 1), Exec::Shard(smismember))
        .acl(&["read", "set", "fast"])
        .doc("set", "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership"),
    CommandSpec::new("scard", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(scard))
        .acl(&["read", "set", "fast"])
        .doc("set", "1.0.0", "Get the number of members in a set", "O(1)"),
    CommandSpec::new("spop", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(random::spop))
        .acl(&["write", "set", "fast"])
        .doc("set", "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    CommandSpec::new("srandmember", -2, READONLY, (1, 1, 1), Exec::Shard(random::srandmember))
        .acl(&["read", "set", "slow"])
        .doc("set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    CommandSpec::new("smove", 4, WRITE | FAST, (1, 2, 1), Exec::ShardOrCoord(algebra::smove, CoordOp::Sets))
        .acl(&["write", "set", "fast"])
        .doc("set", "1.0.0", "Move a member from one set to another", "O(1)"),
    CommandSpec::new("sinter", -2, READONLY, (1, -1, 1), Exec::ShardOrCoord(algebra::sinter, CoordOp::Sets))
        .acl(&["read", "set", "slow"])
        .doc("set", "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::new("sintercard", -3, READONLY, (0, 0, 0), Exec::ShardOrCoord(algebra::sintercard, CoordOp::Sets))
        .movable(sintercard_keys)
        .acl(&["read", "set", "slow"])
        .doc("set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::new("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), Exec::ShardOrCoord(algebra::sinterstore, CoordOp::Sets))
        .acl(&["write", "set", "slow"])
        .doc("set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    CommandSpec::new("sunion", -2, READONLY, (1, -1, 1), Exec::ShardOrCoord(algebra::sunion, CoordOp::Sets))
        .acl(&["read", "set", "slow"])
        .doc("set", "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::new("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), Exec::ShardOrCoord(algebra::sunionstore, CoordOp::Sets))
        .acl(&["write", "set", "slow"])
        .doc("set", "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::new("sdiff", -2, READONLY, (1, -1, 1), Exec::ShardOrCoord(algebra::sdiff, CoordOp::Sets))
        .acl(&["read", "set", "slow"])
        .doc("set", "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::new("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), Exec::ShardOrCoord(algebra::sdiffstore, CoordOp::Sets))
        .acl(&["write", "set", "slow"])
        .doc("set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets."),
    CommandSpec::new("sscan", -3, READONLY, (1, 1, 1), Exec::Shard(sscan))
        .acl(&["read", "set", "slow"])
        .doc("set", "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

/// A whole set as Redis replies it (RESP3 `~`), in the set's own order.
fn set_reply(s: Option<&Set>) -> Reply {
    Reply::Set(s.map_or(Vec::new(), |s| {
        s.members().into_iter().map(Reply::Bulk).collect()
    }))
}

fn sadd(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let members = &args[2..];
    match coll::peek::<Set>(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) if members.iter().all(|m| s.contains(m)) => return Reply::Integer(0),
        Ok(_) => {}
    }
    let s = match coll::get_or_create::<Set>(ctx, key) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let added = members.iter().filter(|m| s.insert(m)).count();
    journal(ctx, || {
        let mut e = Vec::with_capacity(args.len());
        e.push(Bytes::from_static(b"SADD"));
        e.extend(args[1..].iter().cloned());
        e
    });
    Reply::Integer(added as i64)
}

fn srem(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let members = &args[2..];
    match coll::peek::<Set>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(s)) if !members.iter().any(|m| s.contains(m)) => return Reply::Integer(0),
        Ok(Some(_)) => {}
    }
    let Some(s) = coll::modify::<Set>(ctx, key) else {
        return Reply::Integer(0);
    };
    let removed: Vec<&Bytes> = members.iter().filter(|m| s.remove(m)).collect();
    let n = removed.len() as i64;
    journal(ctx, || {
        let mut e = vec![Bytes::from_static(b"SREM"), key.clone()];
        e.extend(removed.iter().map(|m| (*m).clone()));
        e
    });
    coll::remove_if_empty::<Set>(ctx, key);
    Reply::Integer(n)
}

fn smembers(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Set>(ctx, &args[1]) {
        Err(e) => e,
        Ok(s) => set_reply(s),
    }
}

fn sismember(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Set>(ctx, &args[1]) {
        Err(e) => e,
        Ok(s) => Reply::Integer(s.is_some_and(|s| s.contains(&args[2])) as i64),
    }
}

fn smismember(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Set>(ctx, &args[1]) {
        Err(e) => e,
        Ok(s) => Reply::Array(
            args[2..]
                .iter()
                .map(|m| Reply::Integer(s.is_some_and(|s| s.contains(m)) as i64))
                .collect(),
        ),
    }
}

fn scard(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Set>(ctx, &args[1]) {
        Err(e) => e,
        Ok(s) => Reply::Integer(s.map_or(0, Set::len) as i64),
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. An intset comes back whole with cursor
/// 0, whatever COUNT says, as from Redis.
fn sscan(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let scan = match ScanArgs::parse(args) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let s = match coll::read::<Set>(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(s)) => s,
    };
    let mut items = Vec::new();
    let mut cursor = scan.cursor;
    let mut budget = scan.max_iterations();
    // Like Redis, COUNT bounds the members visited, matching or not.
    let mut visited = 0usize;
    loop {
        cursor = s.scan(cursor, |m| {
            visited += 1;
            if scan.matches(m) {
                items.push(bulk(m));
            }
        });
        budget = budget.saturating_sub(1);
        if cursor == 0 || budget == 0 || visited >= scan.count {
            break;
        }
    }
    scan_reply(cursor, items)
}

/// `SREM key m...` records of at most this many members: what an SPOP of a large count
/// journals, so no single log record grows with the client's count.
const SREM_RECORD_MEMBERS: usize = 1024;

/// Journals the removal of `members` from `key` as bounded SREM records.
fn journal_srem(ctx: &mut ExecCtx<'_>, key: &Bytes, members: &[Bytes]) {
    for chunk in members.chunks(SREM_RECORD_MEMBERS) {
        journal(ctx, || {
            let refs: Vec<&Bytes> = std::iter::once(key).chain(chunk.iter()).collect();
            effect(b"SREM", &refs)
        });
    }
}

//! The hash family: HSET and friends. Every command runs on the shard that owns its key and
//! follows the collection write protocol (`commands::collection`).

use bytes::Bytes;

use crate::commands::collection::{
    self as coll, MAX_RANDOM_REPLY_ITEMS, ScanArgs, effect, journal, scan_reply,
};
use crate::commands::exec::ExecCtx;
use crate::commands::spec::{CommandSpec, Exec, flag::*};
use crate::commands::strings::long_double::{self, Operand};
use crate::commands::strings::not_integer;
use crate::protocol::Reply;
use crate::store::hash::Hash;
use crate::util::parse_i64;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(hset))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
    CommandSpec::new("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(hsetnx))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)"),
    CommandSpec::new("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(hmset))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set."),
    CommandSpec::new("hget", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(hget))
        .acl(&["read", "hash", "fast"])
        .doc("hash", "2.0.0", "Get the value of a hash field", "O(1)"),
    CommandSpec::new("hmget", -3, READONLY | FAST, (1, 1, 1), Exec::Shard(hmget))
        .acl(&["read", "hash", "fast"])
        .doc("hash", "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested."),
    CommandSpec::new("hgetall", 2, READONLY, (1, 1, 1), Exec::Shard(hgetall))
        .acl(&["read", "hash", "slow"])
        .doc("hash", "2.0.0", "Get all the fields and values in a hash", "O(N) where N is the size of the hash."),
    CommandSpec::new("hkeys", 2, READONLY, (1, 1, 1), Exec::Shard(hkeys))
        .acl(&["read", "hash", "slow"])
        .doc("hash", "2.0.0", "Get all the fields in a hash", "O(N) where N is the size of the hash."),
    CommandSpec::new("hvals", 2, READONLY, (1, 1, 1), Exec::Shard(hvals))
        .acl(&["read", "hash", "slow"])
        .doc("hash", "2.0.0", "Get all the values in a hash", "O(N) where N is the size of the hash."),
    CommandSpec::new("hdel", -3, WRITE | FAST, (1, 1, 1), Exec::Shard(hdel))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed."),
    CommandSpec::new("hlen", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(hlen))
        .acl(&["read", "hash", "fast"])
        .doc("hash", "2.0.0", "Get the number of fields in a hash", "O(1)"),
    CommandSpec::new("hexists", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(hexists))
        .acl(&["read", "hash", "fast"])
        .doc("hash", "2.0.0", "Determine if a hash field exists", "O(1)"),
    CommandSpec::new("hstrlen", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(hstrlen))
        .acl(&["read", "hash", "fast"])
        .doc("hash", "3.2.0", "Get the length of the value of a hash field", "O(1)"),
    CommandSpec::new("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(hincrby))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)"),
    CommandSpec::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(hincrbyfloat))
        .acl(&["write", "hash", "fast"])
        .doc("hash", "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)"),
    CommandSpec::new("hrandfield", -2, READONLY, (1, 1, 1), Exec::Shard(hrandfield))
        .acl(&["read", "hash", "slow"])
        .doc("hash", "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned"),
    CommandSpec::new("hscan", -3, READONLY, (1, 1, 1), Exec::Shard(hscan))
        .acl(&["read", "hash", "slow"])
        .doc("hash", "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

/// HSET / HMSET: sets every pair, returns how many fields are new.
fn set_pairs(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Result<i64, Reply> {
    let key = &args[1];
    let h = coll::get_or_create::<Hash>(ctx, key)?;
    let mut added = 0;
    for pair in args[2..].chunks_exact(2) {
        if h.set(&pair[0], &pair[1]) {
            added += 1;
        }
    }
    journal(ctx, || {
        let mut e = Vec::with_capacity(args.len());
        e.push(Bytes::from_static(b"HSET"));
        e.extend(args[1..].iter().cloned());
        e
    });
    Ok(added)
}

fn hset(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if !args.len().is_multiple_of(2) {
        return crate::commands::dispatch::wrong_arity("hset");
    }
    set_pairs(ctx, args).map_or_else(|e| e, Reply::Integer)
}

fn hmset(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if !args.len().is_multiple_of(2) {
        return crate::commands::dispatch::wrong_arity("hmset");
    }
    set_pairs(ctx, args).map_or_else(|e| e, |_| Reply::ok())
}

fn hsetnx(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    match coll::peek::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(Some(h)) if h.contains(&args[2]) => return Reply::Integer(0),
        Ok(_) => {}
    }
    match coll::get_or_create::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(h) => h.set(&args[2], &args[3]),
    };
    journal(ctx, || effect(b"HSET", &[key, &args[2], &args[3]]));
    Reply::Integer(1)
}

fn hget(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => h.and_then(|h| h.get(&args[2])).map_or(Reply::Nil, bulk),
    }
}

fn hmget(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Array(
            args[2..]
                .iter()
                .map(|f| h.and_then(|h| h.get(f)).map_or(Reply::Nil, bulk))
                .collect(),
        ),
    }
}

fn hgetall(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(None) => Reply::Map(Vec::new()),
        Ok(Some(h)) => Reply::Map(h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect()),
    }
}

fn hkeys(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Array(h.map_or(Vec::new(), |h| h.iter().map(|(f, _)| bulk(f)).collect())),
    }
}

fn hvals(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Array(h.map_or(Vec::new(), |h| h.iter().map(|(_, v)| bulk(v)).collect())),
    }
}

fn hdel(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let fields = &args[2..];
    match coll::peek::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(h)) if !fields.iter().any(|f| h.contains(f)) => return Reply::Integer(0),
        Ok(Some(_)) => {}
    }
    let Some(h) = coll::modify::<Hash>(ctx, key) else {
        return Reply::Integer(0);
    };
    let mut removed: Vec<&Bytes> = Vec::new();
    for f in fields {
        if h.remove(f) {
            removed.push(f);
        }
    }
    let n = removed.len() as i64;
    journal(ctx, || {
        let mut e = vec![Bytes::from_static(b"HDEL"), key.clone()];
        e.extend(removed.iter().map(|f| (*f).clone()));
        e
    });
    coll::remove_if_empty::<Hash>(ctx, key);
    Reply::Integer(n)
}

fn hlen(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Integer(h.map_or(0, Hash::len) as i64),
    }
}

fn hexists(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Integer(h.is_some_and(|h| h.contains(&args[2])) as i64),
    }
}

fn hstrlen(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => e,
        Ok(h) => Reply::Integer(h.and_then(|h| h.get(&args[2])).map_or(0, <[u8]>::len) as i64),
    }
}

fn hincrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, field) = (&args[1], &args[2]);
    let Some(incr) = parse_i64(&args[3]) else {
        return not_integer();
    };
    let cur = match coll::peek::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(h) => match h.and_then(|h| h.get(field)) {
            None => 0,
            Some(v) => match parse_i64(v) {
                Some(n) => n,
                None => return Reply::error("ERR hash value is not an integer"),
            },
        },
    };
    let Some(new) = cur.checked_add(incr) else {
        return Reply::error("ERR increment or decrement would overflow");
    };
    let mut buf = itoa::Buffer::new();
    let text = buf.format(new).as_bytes();
    match coll::get_or_create::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(h) => h.set(field, text),
    };
    journal(ctx, || effect(b"HINCRBY", &[key, field, &args[3]]));
    Reply::Integer(new)
}

fn hincrbyfloat(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, field) = (&args[1], &args[2]);
    let incr = match long_double::parse(&args[3]) {
        None => return Reply::error("ERR value is not a valid float"),
        Some(Operand::Infinite) => return Reply::error("ERR value is NaN or Infinity"),
        Some(Operand::Finite(v)) => v,
    };
    let cur = match coll::peek::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(h) => match h.and_then(|h| h.get(field)) {
            None => long_double::LongDouble::ZERO,
            Some(v) => match long_double::parse(v) {
                Some(Operand::Finite(n)) => n,
                _ => return Reply::error("ERR hash value is not a float"),
            },
        },
    };
    let Some(sum) = long_double::add(cur, incr) else {
        return Reply::error("ERR increment would produce NaN or Infinity");
    };
    let text = Bytes::from(long_double::format(sum));
    match coll::get_or_create::<Hash>(ctx, key) {
        Err(e) => return e,
        Ok(h) => h.set(field, &text),
    };
    // Logged as the HSET of the result, as Redis propagates it: replay does no float math.
    journal(ctx, || effect(b"HSET", &[key, field, &text]));
    Reply::Bulk(text)
}

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (count, with_values) = match coll::parse_rand_args(args, b"WITHVALUES") {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Err(e) = coll::read::<Hash>(ctx, &args[1]) {
        return e;
    }
    let shard = &mut *ctx.shard;
    let h = shard.dbs[ctx.db]
        .keys()
        .get(&args[1][..])
        .and_then(<Hash as coll::Collection>::of);
    let rng = &mut shard.rng;
    let mut rand = || rng.next_u64();
    let Some(count) = count else {
        return h
            .and_then(|h| h.random(&mut rand))
            .map_or(Reply::Nil, |(f, _)| bulk(f));
    };
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        return Reply::Array(Vec::new());
    };
    let picked: Vec<(&[u8], &[u8])> = if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY_ITEMS {
            return Reply::error("ERR value is out of range");
        }
        (0..n).filter_map(|_| h.random(&mut rand)).collect()
    } else {
        distinct_random(h, count as u64, &mut rand)
    };
    if with_values {
        Reply::Pairs(
            picked
                .into_iter()
                .map(|(f, v)| (bulk(f), bulk(v)))
                .collect(),
        )
    } else {
        Reply::Array(picked.into_iter().map(|(f, _)| bulk(f)).collect())
    }
}

/// Up to `count` distinct random entries: the whole hash when it is no larger; else, like
/// Redis, drop random entries from a copy when `count` is close to the size, or draw until
/// `count` distinct ones are found when it is small.
fn distinct_random<'h>(
    h: &'h Hash,
    count: u64,
    rand: &mut impl FnMut() -> u64,
) -> Vec<(&'h [u8], &'h [u8])> {
    let size = h.len() as u64;
    if count >= size {
        return h.iter().collect();
    }
    if count.saturating_mul(3) > size {
        let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
        while all.len() as u64 > count {
            let i = (rand() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        return all;
    }
    let mut seen = ahash::AHashSet::new();
    let mut out = Vec::with_capacity(count as usize);
    while (out.len() as u64) < count {
        if let Some((f, v)) = h.random(rand)
            && seen.insert(f)
        {
            out.push((f, v));
        }
    }
    out
}

/// HSCAN key cursor [MATCH pattern] [COUNT count].
fn hscan(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let scan = match ScanArgs::parse(args) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let h = match coll::read::<Hash>(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(h)) => h,
    };
    let mut items = Vec::new();
    let mut cursor = scan.cursor;
    let mut budget = scan.max_iterations();
    // Like Redis, COUNT bounds the entries visited, matching or not.
    let mut visited = 0usize;
    loop {
        cursor = h.scan(cursor, |f, v| {
            visited += 1;
            if scan.matches(f) {
                items.push(bulk(f));
                items.push(bulk(v));
            }
        });
        budget = budget.saturating_sub(1);
        if cursor == 0 || budget == 0 || visited >= scan.count {
            break;
        }
    }
    scan_reply(cursor, items)
}

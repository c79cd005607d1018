//! The generic key family: deletion, existence, expiry, TYPE, MOVE, OBJECT, and the
//! coordinated commands that see several shards (KEYS, SCAN, RANDOMKEY, RENAME, COPY).

use bytes::Bytes;

use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, Merge, flag::*};
use crate::commands::strings::{not_integer, syntax_error};
use crate::core::Core;
use crate::protocol::Reply;
use crate::shard::{Shard, shard_for_key};
use crate::store::Value;
use crate::util::glob::glob_match;
use crate::util::parse_i64;

const EXPIRE_FLAGS: u32 = WRITE | FAST;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, (1, -1, 1), Exec::Split(del, Merge::Sum))
        .acl(&["keyspace", "write", "slow"])
        .doc("generic", "1.0.0", "Delete a key", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1)."),
    CommandSpec::new("unlink", -2, WRITE | FAST, (1, -1, 1), Exec::Split(del, Merge::Sum))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."),
    CommandSpec::new("exists", -2, READONLY | FAST, (1, -1, 1), Exec::Split(exists, Merge::Sum))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "1.0.0", "Determine if a key exists", "O(N) where N is the number of keys to check."),
    CommandSpec::new("touch", -2, READONLY | FAST, (1, -1, 1), Exec::Split(touch, Merge::Sum))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "O(N) where N is the number of keys that will be touched."),
    CommandSpec::new("type", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(type_))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "1.0.0", "Determine the type stored at key", "O(1)"),
    CommandSpec::new("expire", -3, EXPIRE_FLAGS, (1, 1, 1), Exec::Shard(expire))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "1.0.0", "Set a key's time to live in seconds", "O(1)"),
    CommandSpec::new("pexpire", -3, EXPIRE_FLAGS, (1, 1, 1), Exec::Shard(pexpire))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "2.6.0", "Set a key's time to live in milliseconds", "O(1)"),
    CommandSpec::new("expireat", -3, EXPIRE_FLAGS, (1, 1, 1), Exec::Shard(expireat))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", "O(1)"),
    CommandSpec::new("pexpireat", -3, EXPIRE_FLAGS, (1, 1, 1), Exec::Shard(pexpireat))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)"),
    CommandSpec::new("ttl", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(ttl))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "1.0.0", "Get the time to live for a key in seconds", "O(1)"),
    CommandSpec::new("pttl", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(pttl))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "2.6.0", "Get the time to live for a key in milliseconds", "O(1)"),
    CommandSpec::new("expiretime", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(expiretime))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "7.0.0", "Get the expiration Unix timestamp for a key", "O(1)"),
    CommandSpec::new("pexpiretime", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(pexpiretime))
        .acl(&["keyspace", "read", "fast"])
        .doc("generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", "O(1)"),
    CommandSpec::new("persist", 2, WRITE | FAST, (1, 1, 1), Exec::Shard(persist))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "2.2.0", "Remove the expiration from a key", "O(1)"),
    CommandSpec::new("move", 3, WRITE | FAST, (1, 1, 1), Exec::Shard(move_))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "1.0.0", "Move a key to another database", "O(1)"),
    CommandSpec::new("object", -2, 0, (2, 2, 1), Exec::Shard(object))
        .acl(&["slow"])
        .doc("generic", "2.2.3", "A container for object introspection commands", "Depends on subcommand."),
    CommandSpec::new("keys", 2, READONLY, (0, 0, 0), Exec::Coord(CoordOp::Keys))
        .acl(&["keyspace", "read", "slow", "dangerous"])
        .doc("generic", "1.0.0", "Find all keys matching the given pattern", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."),
    CommandSpec::new("scan", -2, READONLY, (0, 0, 0), Exec::Coord(CoordOp::Scan))
        .acl(&["keyspace", "read", "slow"])
        .doc("generic", "2.8.0", "Incrementally iterate the keys space", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    CommandSpec::new("randomkey", 1, READONLY, (0, 0, 0), Exec::Coord(CoordOp::RandomKey))
        .acl(&["keyspace", "read", "slow"])
        .doc("generic", "1.0.0", "Return a random key from the keyspace", "O(1)"),
    CommandSpec::new("rename", 3, WRITE, (1, 2, 1), Exec::Coord(CoordOp::Rename))
        .acl(&["keyspace", "write", "slow"])
        .doc("generic", "1.0.0", "Rename a key", "O(1)"),
    CommandSpec::new("renamenx", 3, WRITE | FAST, (1, 2, 1), Exec::Coord(CoordOp::RenameNx))
        .acl(&["keyspace", "write", "fast"])
        .doc("generic", "1.0.0", "Rename a key, only if the new key does not exist", "O(1)"),
    CommandSpec::new("copy", -3, WRITE | DENYOOM, (1, 2, 1), Exec::Coord(CoordOp::Copy))
        .acl(&["keyspace", "write", "slow"])
        .doc("generic", "6.2.0", "Copy a key", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
];

/// DEL / UNLINK on this shard's subset of keys.
fn del(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.exists(k) {
            ctx.db().remove(k);
            n += 1;
        }
    }
    Reply::Integer(n)
}

/// EXISTS counts a key once per mention, as Redis does (EXISTS k k → 2).
fn exists(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    Reply::Integer(args[1..].iter().filter(|k| ctx.exists(k)).count() as i64)
}

fn touch(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    Reply::Integer(args[1..].iter().filter(|k| ctx.read(k).is_some()).count() as i64)
}

fn type_(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let name = ctx.write(&args[1]).map_or("none", |v| v.type_name());
    Reply::Status(Bytes::from_static(name.as_bytes()))
}

/// EXPIRE and friends: `unit_ms` converts the argument, `relative` adds now.
fn expire_generic(
    ctx: &mut ExecCtx<'_>,
    args: &[Bytes],
    unit_ms: i64,
    relative: bool,
    cmd: &str,
) -> Reply {
    let Some(v) = parse_i64(&args[2]) else {
        return not_integer();
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if a.eq_ignore_ascii_case(b"NX") {
            nx = true;
        } else if a.eq_ignore_ascii_case(b"XX") {
            xx = true;
        } else if a.eq_ignore_ascii_case(b"GT") {
            gt = true;
        } else if a.eq_ignore_ascii_case(b"LT") {
            lt = true;
        } else {
            return Reply::error(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            ));
        }
    }
    if nx && (xx || gt || lt) {
        return Reply::error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return Reply::error("ERR GT and LT options at the same time are not compatible");
    }
    let invalid = || Reply::error(format!("ERR invalid expire time in '{cmd}' command"));
    let Some(mut when) = v.checked_mul(unit_ms) else {
        return invalid();
    };
    if relative {
        match when.checked_add(ctx.now_ms as i64) {
            Some(w) => when = w,
            None => return invalid(),
        }
    }
    let now = ctx.now_ms;
    let key = &args[1];
    let Some(current) = ctx.db().deadline(key, now) else {
        return Reply::Integer(0);
    };
    let refused = match current {
        Some(cur) => nx || (gt && when <= cur as i64) || (lt && when >= cur as i64),
        // No TTL counts as an infinite one: GT never beats it, LT always does.
        None => xx || gt,
    };
    if refused {
        return Reply::Integer(0);
    }
    if when <= now as i64 {
        ctx.db().remove(key);
    } else {
        ctx.db().set_deadline(key, when as u64);
    }
    Reply::Integer(1)
}

fn expire(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, 1000, true, "expire")
}

fn pexpire(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, 1, true, "pexpire")
}

fn expireat(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, 1000, false, "expireat")
}

fn pexpireat(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, 1, false, "pexpireat")
}

/// -2 if the key is missing, -1 without deadline, else `f(deadline, now)`.
fn ttl_generic(ctx: &mut ExecCtx<'_>, key: &[u8], f: impl Fn(u64, u64) -> i64) -> Reply {
    let now = ctx.now_ms;
    let found = ctx.read(key).is_some();
    if !found {
        return Reply::Integer(-2);
    }
    match ctx.db().deadline(key, now) {
        None => Reply::Integer(-2),
        Some(None) => Reply::Integer(-1),
        Some(Some(at)) => Reply::Integer(f(at, now)),
    }
}

fn ttl(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[1], |at, now| {
        (at.saturating_sub(now) as i64 + 500) / 1000
    })
}

fn pttl(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[1], |at, now| at.saturating_sub(now) as i64)
}

fn expiretime(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[1], |at, _| (at / 1000) as i64)
}

fn pexpiretime(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[1], |at, _| at as i64)
}

fn persist(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if !ctx.exists(&args[1]) {
        return Reply::Integer(0);
    }
    Reply::Integer(ctx.db().persist(&args[1]) as i64)
}

fn parse_db_index(ctx: &ExecCtx<'_>, arg: &[u8]) -> Result<usize, Reply> {
    match parse_i64(arg) {
        None => Err(not_integer()),
        Some(n) if n < 0 || n as usize >= ctx.shard.dbs.len() => {
            Err(Reply::error("ERR DB index is out of range"))
        }
        Some(n) => Ok(n as usize),
    }
}

/// MOVE key db: the key keeps its slot, so both databases live on this shard.
fn move_(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let target = match parse_db_index(ctx, &args[2]) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if target == ctx.db {
        return Reply::error("ERR source and destination objects are the same");
    }
    let now = ctx.now_ms;
    let key = &args[1];
    if !ctx.exists(key) || ctx.shard.dbs[target].contains(key, now) {
        return Reply::Integer(0);
    }
    let Some((value, at)) = ctx.db().take(key, now) else {
        return Reply::Integer(0);
    };
    ctx.shard.dbs[target].insert(key, value, at);
    Reply::Integer(1)
}

fn object(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => Reply::Array(
            [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access logarithmic counter of a <key>. The maxmemory policy",
                "    must be set to one of the LFU policies.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
        ),
        ("encoding", 3) => match ctx.write(&args[2]) {
            Some(v) => Reply::Bulk(Bytes::from_static(v.encoding().as_bytes())),
            None => Reply::Nil,
        },
        ("refcount", 3) => match ctx.write(&args[2]) {
            Some(_) => Reply::Integer(1),
            None => Reply::Nil,
        },
        ("freq", 3) => match ctx.write(&args[2]) {
            Some(_) => Reply::error(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ),
            None => Reply::Nil,
        },
        ("help" | "encoding" | "refcount" | "freq", _) => Reply::error(format!(
            "ERR wrong number of arguments for 'object|{sub}' command"
        )),
        _ => Reply::error(format!(
            "ERR unknown subcommand '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

/// Live keys of `db` on `shard` matching `pattern` (None = all), skipping expired ones.
fn matching_keys(shard: &Shard, db: usize, pattern: &[u8], now: u64) -> Vec<Bytes> {
    let d = &shard.dbs[db];
    let all = pattern == b"*";
    d.keys()
        .iter()
        .filter(|(k, _)| all || glob_match(pattern, k, false))
        .filter(|(k, _)| d.expires().get(&k[..]).is_none_or(|&at| at > now))
        .map(|(k, _)| k.clone())
        .collect()
}

pub async fn keys(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let pattern = args[1].clone();
    let parts = core
        .router
        .run_on_all(move |shard| matching_keys(shard, db, &pattern, crate::util::now_ms()))
        .await;
    Reply::Array(
        parts
            .into_iter()
            .flatten()
            .flatten()
            .map(Reply::Bulk)
            .collect(),
    )
}

/// One SCAN step on one shard: (next inner cursor, keys).
fn scan_shard(
    shard: &Shard,
    db: usize,
    mut cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    type_name: Option<&str>,
) -> (u64, Vec<Bytes>) {
    let d = &shard.dbs[db];
    let now = crate::util::now_ms();
    let mut out = Vec::new();
    let mut budget = count.saturating_mul(10).max(1);
    loop {
        cursor = d.keys().scan(cursor, |k, v| {
            let live = d.expires().get(&k[..]).is_none_or(|&at| at > now);
            let pat_ok = pattern.is_none_or(|p| glob_match(p, k, false));
            let type_ok = type_name.is_none_or(|t| t.eq_ignore_ascii_case(v.type_name()));
            if live && pat_ok && type_ok {
                out.push(k.clone());
            }
        });
        budget -= 1;
        if cursor == 0 || budget == 0 || out.len() >= count {
            break;
        }
    }
    (cursor, out)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor packs the shard in its
/// low part: `inner * nr_shards + shard`. Each call scans one shard; when it finishes, the
/// cursor moves to the next shard, and 0 is returned after the last.
pub async fn scan(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let Some(cursor) = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return Reply::error("ERR invalid cursor");
    };
    let mut count = 10usize;
    let mut pattern: Option<Bytes> = None;
    let mut type_name: Option<String> = None;
    let mut i = 2;
    while i < args.len() {
        let has = i + 1 < args.len();
        if args[i].eq_ignore_ascii_case(b"COUNT") && has {
            match parse_i64(&args[i + 1]) {
                Some(c) if c >= 1 => count = c as usize,
                Some(_) => return syntax_error(),
                None => return not_integer(),
            }
        } else if args[i].eq_ignore_ascii_case(b"MATCH") && has {
            pattern = Some(args[i + 1].clone()).filter(|p| &p[..] != b"*");
        } else if args[i].eq_ignore_ascii_case(b"TYPE") && has {
            type_name = Some(String::from_utf8_lossy(&args[i + 1]).into_owned());
        } else {
            return syntax_error();
        }
        i += 2;
    }
    let n = core.nr_shards() as u64;
    let (shard, inner) = ((cursor % n) as usize, cursor / n);
    let (next_inner, keys) = core
        .router
        .run_on(shard, move |s| {
            scan_shard(
                s,
                db,
                inner,
                count,
                pattern.as_deref(),
                type_name.as_deref(),
            )
        })
        .await
        .unwrap_or((0, Vec::new()));
    let next = if next_inner != 0 {
        next_inner
            .checked_mul(n)
            .and_then(|c| c.checked_add(shard as u64))
            .unwrap_or(0)
    } else if (shard as u64) + 1 < n {
        shard as u64 + 1
    } else {
        0
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}

/// RANDOMKEY: each shard offers its size and one random live key; one is picked with
/// probability proportional to the shard's size.
pub async fn randomkey(core: &Core, db: usize) -> Reply {
    let offers = core
        .router
        .run_on_all(move |shard| {
            let now = crate::util::now_ms();
            let len = shard.dbs[db].len();
            let mut key = None;
            // A few tries to step over keys that are already past their deadline.
            for _ in 0..8 {
                let rng = &mut shard.rng;
                let mut rand = || rng.next_u64();
                let picked = shard.dbs[db]
                    .keys()
                    .random_entry(&mut rand)
                    .map(|(k, _)| k.clone());
                match picked {
                    Some(k)
                        if shard.dbs[db]
                            .expires()
                            .get(&k[..])
                            .is_some_and(|&at| at <= now) =>
                    {
                        shard.dbs[db].remove(&k);
                    }
                    other => {
                        key = other;
                        break;
                    }
                }
            }
            (len, key)
        })
        .await;
    let offers: Vec<(usize, Bytes)> = offers
        .into_iter()
        .flatten()
        .filter_map(|(len, k)| k.map(|k| (len, k)))
        .collect();
    let total: usize = offers.iter().map(|(l, _)| *l).sum();
    if total == 0 {
        return Reply::Nil;
    }
    let mut pick = (core.router.local().borrow_mut().rng.next_u64() % total as u64) as usize;
    for (len, k) in offers {
        if pick < len {
            return Reply::Bulk(k);
        }
        pick -= len;
    }
    Reply::Nil
}

/// RENAME / RENAMENX. Same shard: one atomic step there. Different shards: take the value
/// from the source shard, then store it on the destination shard; RENAMENX puts the value
/// back if the destination appeared in between (docs/ARCHITECTURE.md, multi-shard commands).
pub async fn rename(core: &Core, db: usize, args: &[Bytes], nx: bool) -> Reply {
    let (src, dst) = (args[1].clone(), args[2].clone());
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let no_such_key = || Reply::error("ERR no such key");
    if ss == ds {
        let r = core
            .router
            .run_on(ss, move |shard| {
                let now = crate::util::now_ms();
                let d = &mut shard.dbs[db];
                if !d.contains(&src, now) {
                    return Err(());
                }
                if src == dst {
                    return Ok(!nx);
                }
                if nx && d.contains(&dst, now) {
                    return Ok(false);
                }
                if let Some((v, at)) = d.take(&src, now) {
                    d.insert(&dst, v, at);
                }
                Ok(true)
            })
            .await;
        return match r {
            Some(Ok(done)) if nx => Reply::Integer(done as i64),
            Some(Ok(_)) => Reply::ok(),
            _ => no_such_key(),
        };
    }
    if nx {
        let d2 = dst.clone();
        let s2 = src.clone();
        let src_exists = core
            .router
            .run_on(ss, move |s| s.dbs[db].contains(&s2, crate::util::now_ms()))
            .await;
        if src_exists != Some(true) {
            return no_such_key();
        }
        let dst_exists = core
            .router
            .run_on(ds, move |s| s.dbs[db].contains(&d2, crate::util::now_ms()))
            .await;
        if dst_exists != Some(false) {
            return Reply::Integer(0);
        }
    }
    let s2 = src.clone();
    let Some(Some((value, at))) = core
        .router
        .run_on(ss, move |s| s.dbs[db].take(&s2, crate::util::now_ms()))
        .await
    else {
        return no_such_key();
    };
    let d2 = dst.clone();
    let placed = core
        .router
        .run_on(ds, move |s| {
            let d = &mut s.dbs[db];
            if nx && d.contains(&d2, crate::util::now_ms()) {
                return Some((value, at));
            }
            d.insert(&d2, value, at);
            None
        })
        .await;
    match placed {
        Some(None) => {
            if nx {
                Reply::Integer(1)
            } else {
                Reply::ok()
            }
        }
        Some(Some((value, at))) => {
            // The destination appeared meanwhile: give the source its value back.
            core.router
                .run_on(ss, move |s| {
                    let now = crate::util::now_ms();
                    if !s.dbs[db].contains(&src, now) {
                        s.dbs[db].insert(&src, value, at);
                    }
                })
                .await;
            Reply::Integer(0)
        }
        None => Reply::error("ERR shard unavailable"),
    }
}

/// COPY source destination [DB destination-db] [REPLACE]
pub async fn copy(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let mut dst_db = db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"REPLACE") {
            replace = true;
        } else if args[i].eq_ignore_ascii_case(b"DB") && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                None => return not_integer(),
                Some(n) if n < 0 || n as usize >= core.config.databases => {
                    return Reply::error("ERR DB index is out of range");
                }
                Some(n) => dst_db = n as usize,
            }
            i += 1;
        } else {
            return syntax_error();
        }
        i += 1;
    }
    let (src, dst) = (args[1].clone(), args[2].clone());
    if src == dst && dst_db == db {
        return Reply::error("ERR source and destination objects are the same");
    }
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let read = move |s: &mut Shard| -> Option<(Value, Option<u64>)> {
        let now = crate::util::now_ms();
        let d = &mut s.dbs[db];
        let v = d.lookup(&src, now).0.cloned()?;
        let at = d.deadline(&src, now).flatten();
        Some((v, at))
    };
    let write = move |s: &mut Shard, v: Value, at: Option<u64>| -> bool {
        let now = crate::util::now_ms();
        let d = &mut s.dbs[dst_db];
        if !replace && d.contains(&dst, now) {
            return false;
        }
        d.insert(&dst, v, at);
        true
    };
    let done = if ss == ds {
        core.router
            .run_on(ss, move |s| match read(s) {
                Some((v, at)) => write(s, v, at),
                None => false,
            })
            .await
    } else {
        match core.router.run_on(ss, read).await.flatten() {
            Some((v, at)) => core.router.run_on(ds, move |s| write(s, v, at)).await,
            None => Some(false),
        }
    };
    Reply::Integer(done.unwrap_or(false) as i64)
}

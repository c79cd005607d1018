//! The generic key family: deletion, existence, expiry, TYPE, MOVE, OBJECT, and the
//! coordinated commands that see several shards (KEYS, SCAN, RANDOMKEY, RENAME, COPY).

use bytes::Bytes;

use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, Merge, flag::*};
use crate::commands::strings::{c_str, not_integer, syntax_error};
use crate::core::Core;
use crate::protocol::Reply;
use crate::shard::{Shard, shard_for_key};
use crate::store::Value;
use crate::util::glob::glob_match;
use crate::util::parse_i64;

mod multishard;

pub(crate) use multishard::parse_cursor;
pub use multishard::{copy, keys, randomkey, rename, scan};

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
    // A container: Redis gives OBJECT itself no key positions (its subcommands carry them),
    // so it is routed by hand to the shard of the subcommand's key.
    CommandSpec::new("object", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::Object))
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

/// EXISTS counts a key once per mention, as Redis does (EXISTS k k → 2). Like Redis it looks
/// keys up for reading, so hits and misses count.
fn exists(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    Reply::Integer(args[1..].iter().filter(|k| ctx.read(k).is_some()).count() as i64)
}

fn touch(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    Reply::Integer(args[1..].iter().filter(|k| ctx.read(k).is_some()).count() as i64)
}

fn type_(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let name = ctx.read(&args[1]).map_or("none", |v| v.type_name());
    Reply::Status(Bytes::from_static(name.as_bytes()))
}

/// An error reply whose text embeds client bytes as Redis's `%s` does: up to the first NUL,
/// byte for byte (no UTF-8 replacement).
fn error_with(prefix: &str, arg: &[u8], suffix: &str) -> Reply {
    let mut text = Vec::with_capacity(prefix.len() + arg.len() + suffix.len());
    text.extend_from_slice(prefix.as_bytes());
    text.extend_from_slice(c_str(arg));
    text.extend_from_slice(suffix.as_bytes());
    Reply::Error(Bytes::from(text))
}

/// EXPIRE's NX / XX / GT / LT, parsed and checked for conflicts as Redis's
/// `parseExtendedExpireArgumentsOrReply` does, before the time argument is looked at.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(opts: &[Bytes]) -> Result<ExpireFlags, Reply> {
    let mut f = ExpireFlags::default();
    for a in opts {
        let opt = c_str(a);
        if opt.eq_ignore_ascii_case(b"NX") {
            f.nx = true;
        } else if opt.eq_ignore_ascii_case(b"XX") {
            f.xx = true;
        } else if opt.eq_ignore_ascii_case(b"GT") {
            f.gt = true;
        } else if opt.eq_ignore_ascii_case(b"LT") {
            f.lt = true;
        } else {
            return Err(error_with("ERR Unsupported option ", a, ""));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(Reply::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(Reply::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// EXPIRE and friends: `unit_ms` converts the argument, `relative` adds now. Order of checks
/// as in Redis's `expireGenericCommand`: options, time argument, key, then NX/XX/GT/LT.
fn expire_generic(
    ctx: &mut ExecCtx<'_>,
    args: &[Bytes],
    unit_ms: i64,
    relative: bool,
    cmd: &str,
) -> Reply {
    let flags = match parse_expire_flags(&args[3..]) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(v) = parse_i64(&args[2]) else {
        return not_integer();
    };
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
    if !ctx.exists(key) {
        return Reply::Integer(0);
    }
    let current = ctx.db().deadline(key, now).flatten();
    let refused = match current {
        Some(cur) => {
            flags.nx || (flags.gt && when <= cur as i64) || (flags.lt && when >= cur as i64)
        }
        // No TTL counts as an infinite one: GT never beats it, LT always does.
        None => flags.xx || flags.gt,
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
    // Rounded to the nearest second, as Redis's ttlGenericCommand does for every seconds reply.
    ttl_generic(ctx, &args[1], |at, _| {
        (at.saturating_add(500) / 1000) as i64
    })
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

/// A database index argument as Redis reads it (`getIntFromObjectOrReply`, then `selectDb`):
/// not an integer, outside C `int`, or not an existing database are three different errors.
fn parse_db_index(arg: &[u8], databases: usize) -> Result<usize, Reply> {
    let n = parse_i64(arg).ok_or_else(not_integer)?;
    if i32::try_from(n).is_err() {
        return Err(Reply::error(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    usize::try_from(n)
        .ok()
        .filter(|&n| n < databases)
        .ok_or_else(|| Reply::error("ERR DB index is out of range"))
}

/// MOVE key db: the key keeps its slot, so both databases live on this shard.
fn move_(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let target = match parse_db_index(&args[2], ctx.shard.dbs.len()) {
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

/// Redis 7.0's `OBJECT HELP`, line for line.
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Redis shares one object for each integer in 0..10000 (`OBJ_SHARED_INTEGERS`) unless an LRU
/// or LFU eviction policy with a memory limit needs per-object access data; a shared object's
/// refcount reads as `OBJ_SHARED_REFCOUNT` (INT_MAX).
fn refcount(value: &Value) -> i64 {
    const SHARED_INTEGERS: i64 = 10_000;
    const SHARED_REFCOUNT: i64 = i32::MAX as i64;
    let small_int = match value {
        Value::Str(b) => {
            value.encoding() == "int"
                && parse_i64(b).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
        }
        #[allow(unreachable_patterns)]
        _ => false,
    };
    let shared_allowed = Core::current().is_none_or(|core| {
        let params = core.params.borrow();
        let policy = params.text("maxmemory-policy");
        params.int("maxmemory") == 0 || !(policy.ends_with("-lru") || policy.ends_with("-lfu"))
    });
    if small_int && shared_allowed {
        SHARED_REFCOUNT
    } else {
        1
    }
}

/// OBJECT <subcommand> [key]: runs on the shard that owns the key (or locally for HELP).
pub async fn object_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let shard = match args.get(2) {
        Some(key) => shard_for_key(key, core.nr_shards()),
        None => core.router.shard_id(),
    };
    let args = args.to_vec();
    core.router
        .run_on(shard, move |s| object(&mut ExecCtx::new(s, db), &args))
        .await
        .unwrap_or_else(|| Reply::error("ERR shard unavailable"))
}

/// OBJECT ENCODING | REFCOUNT | FREQ | HELP. Keys are looked up for reading, as Redis does
/// (hits and misses count). IDLETIME needs per-key access times the store does not keep yet.
fn object(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => Reply::Array(
            OBJECT_HELP
                .iter()
                .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
                .collect(),
        ),
        ("encoding", 3) => match ctx.read(&args[2]) {
            Some(v) => Reply::Bulk(Bytes::from_static(v.encoding().as_bytes())),
            None => Reply::Nil,
        },
        ("refcount", 3) => match ctx.read(&args[2]) {
            Some(v) => Reply::Integer(refcount(v)),
            None => Reply::Nil,
        },
        ("freq", 3) => match ctx.read(&args[2]) {
            Some(_) => Reply::error(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ),
            None => Reply::Nil,
        },
        ("help" | "encoding" | "refcount" | "freq", _) => Reply::error(format!(
            "ERR wrong number of arguments for 'object|{sub}' command"
        )),
        _ => {
            let shown = &c_str(&args[1])[..c_str(&args[1]).len().min(128)];
            error_with("ERR unknown subcommand '", shown, "'. Try OBJECT HELP.")
        }
    }
}

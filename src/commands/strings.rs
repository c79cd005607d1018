//! The string family: GET, SET and friends, counters, ranges.
//!
//! Every `op_*`-style function here is a [`ShardFn`](crate::commands::exec::ShardFn): it runs
//! on the shard that owns the key, synchronously. MSETNX is the one coordinated command: its
//! keys may live on several shards (see docs/ARCHITECTURE.md, "multi-shard commands").

use bytes::Bytes;

use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, Merge, flag::*};
use crate::core::Core;
use crate::protocol::Reply;
use crate::store::Value;
use crate::util::parse_i64;

pub(crate) mod long_double;
mod modify;

use modify::{append, decr, decrby, getrange, incr, incrby, incrbyfloat, setrange, strlen};

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(get))
        .acl(&["read", "string", "fast"])
        .doc("string", "1.0.0", "Get the value of a key", "O(1)"),
    CommandSpec::new("set", -3, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(set))
        .acl(&["write", "string", "slow"])
        .doc("string", "1.0.0", "Set the string value of a key", "O(1)"),
    CommandSpec::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(setnx))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Set the value of a key, only if the key does not exist", "O(1)"),
    CommandSpec::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(setex))
        .acl(&["write", "string", "slow"])
        .doc("string", "2.0.0", "Set the value and expiration of a key", "O(1)"),
    CommandSpec::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(psetex))
        .acl(&["write", "string", "slow"])
        .doc("string", "2.6.0", "Set the value and expiration in milliseconds of a key", "O(1)"),
    CommandSpec::new("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(getset))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Set the string value of a key and return its old value", "O(1)"),
    CommandSpec::new("getdel", 2, WRITE | FAST, (1, 1, 1), Exec::Shard(getdel))
        .acl(&["write", "string", "fast"])
        .doc("string", "6.2.0", "Get the value of a key and delete the key", "O(1)"),
    CommandSpec::new("getex", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(getex))
        .acl(&["write", "string", "fast"])
        .doc("string", "6.2.0", "Get the value of a key and optionally set its expiration", "O(1)"),
    CommandSpec::new("mget", -2, READONLY | FAST, (1, -1, 1), Exec::Split(mget, Merge::KeyOrder))
        .acl(&["read", "string", "fast"])
        .doc("string", "1.0.0", "Get the values of all the given keys", "O(N) where N is the number of keys to retrieve."),
    CommandSpec::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), Exec::Split(mset, Merge::AllOk))
        .acl(&["write", "string", "slow"])
        .doc("string", "1.0.1", "Set multiple keys to multiple values", "O(N) where N is the number of keys to set."),
    CommandSpec::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), Exec::Coord(CoordOp::MSetNx))
        .acl(&["write", "string", "slow"])
        .doc("string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", "O(N) where N is the number of keys to set."),
    CommandSpec::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(incr))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Increment the integer value of a key by one", "O(1)"),
    CommandSpec::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(decr))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Decrement the integer value of a key by one", "O(1)"),
    CommandSpec::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(incrby))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Increment the integer value of a key by the given amount", "O(1)"),
    CommandSpec::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(decrby))
        .acl(&["write", "string", "fast"])
        .doc("string", "1.0.0", "Decrement the integer value of a key by the given number", "O(1)"),
    CommandSpec::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(incrbyfloat))
        .acl(&["write", "string", "fast"])
        .doc("string", "2.6.0", "Increment the float value of a key by the given amount", "O(1)"),
    CommandSpec::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(append))
        .acl(&["write", "string", "fast"])
        .doc("string", "2.0.0", "Append a value to a key", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation."),
    CommandSpec::new("strlen", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(strlen))
        .acl(&["read", "string", "fast"])
        .doc("string", "2.2.0", "Get the length of the value stored in a key", "O(1)"),
    CommandSpec::new("getrange", 4, READONLY, (1, 1, 1), Exec::Shard(getrange))
        .acl(&["read", "string", "slow"])
        .doc("string", "2.4.0", "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."),
    CommandSpec::new("substr", 4, READONLY, (1, 1, 1), Exec::Shard(getrange))
        .acl(&["read", "string", "slow"])
        .doc("string", "1.0.0", "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."),
    CommandSpec::new("setrange", 4, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(setrange))
        .acl(&["write", "string", "slow"])
        .doc("string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument."),
];

pub fn wrongtype() -> Reply {
    Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

pub fn not_integer() -> Reply {
    Reply::error("ERR value is not an integer or out of range")
}

pub fn syntax_error() -> Reply {
    Reply::error("ERR syntax error")
}

/// The string at `key` for reading: Ok(None) if missing, Err(WRONGTYPE) if not a string.
fn read_str(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Result<Option<Bytes>, Reply> {
    match ctx.read(key) {
        None => Ok(None),
        Some(Value::Str(b)) => Ok(Some(b.clone())),
        #[allow(unreachable_patterns)]
        Some(_) => Err(wrongtype()),
    }
}

/// Same for writing (no hit/miss accounting).
fn write_str(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Result<Option<Bytes>, Reply> {
    match ctx.write(key) {
        None => Ok(None),
        Some(Value::Str(b)) => Ok(Some(b.clone())),
        #[allow(unreachable_patterns)]
        Some(_) => Err(wrongtype()),
    }
}

/// Copies a value out of the request so the stored value owns exactly its bytes.
fn owned(b: &Bytes) -> Value {
    Value::Str(Bytes::copy_from_slice(b))
}

fn get(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match read_str(ctx, &args[1]) {
        Ok(Some(v)) => Reply::Bulk(v),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

/// How a write treats the key's time to live.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Ttl {
    /// Clear any deadline (plain SET).
    Clear,
    /// Keep the current deadline (KEEPTTL).
    Keep,
    /// Set this absolute deadline (Unix ms).
    At(u64),
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute deadline, with Redis's checks: the
/// number must be an integer, > 0, and must not overflow once converted to milliseconds.
pub fn deadline_from(
    arg: &[u8],
    unit_ms: i64,
    relative: bool,
    now_ms: u64,
    cmd: &str,
) -> Result<u64, Reply> {
    let v = parse_i64(arg).ok_or_else(not_integer)?;
    let invalid = || Reply::error(format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let ms = v.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if relative {
        ms.checked_add(now_ms as i64).ok_or_else(invalid)?
    } else {
        ms
    };
    Ok(at as u64)
}

/// Writes a string value with the given TTL handling.
pub fn store(ctx: &mut ExecCtx<'_>, key: &[u8], value: Value, ttl: Ttl) {
    let db = ctx.db();
    match ttl {
        Ttl::Clear => db.insert(key, value, None),
        Ttl::At(at) => db.insert(key, value, Some(at)),
        Ttl::Keep => db.insert_keep_ttl(key, value),
    }
}

/// The bytes of an argument up to its first NUL: what Redis's `strcasecmp` and `%s` see when
/// they treat an argument as a C string (option names, names echoed in error messages).
pub fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |nul| &arg[..nul])
}

/// Which of the two commands sharing Redis's `parseExtendedStringArgumentsOrReply` is parsing.
#[derive(Clone, Copy, PartialEq)]
enum ExtCmd {
    Set,
    GetEx,
}

/// The four ways SET and GETEX take an expiry.
#[derive(Clone, Copy, PartialEq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireKind {
    fn from_option(opt: &[u8]) -> Option<ExpireKind> {
        [
            (&b"EX"[..], ExpireKind::Ex),
            (b"PX", ExpireKind::Px),
            (b"EXAT", ExpireKind::ExAt),
            (b"PXAT", ExpireKind::PxAt),
        ]
        .into_iter()
        .find(|(name, _)| opt.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
    }

    /// (milliseconds per unit, relative to now?)
    fn unit(self) -> (i64, bool) {
        match self {
            ExpireKind::Ex => (1000, true),
            ExpireKind::Px => (1, true),
            ExpireKind::ExAt => (1000, false),
            ExpireKind::PxAt => (1, false),
        }
    }
}

/// SET's and GETEX's options, as parsed before anything is validated or looked up.
#[derive(Default)]
struct ExtArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The expiry option and its still unparsed value.
    expire: Option<(ExpireKind, &'a [u8])>,
}

impl ExtArgs<'_> {
    /// The absolute deadline the expiry option asks for, with Redis's checks
    /// (`getExpireMillisecondsOrReply`); None without an expiry option.
    fn deadline(&self, now_ms: u64, cmd: &str) -> Result<Option<u64>, Reply> {
        let Some((kind, value)) = self.expire else {
            return Ok(None);
        };
        let (unit_ms, relative) = kind.unit();
        deadline_from(value, unit_ms, relative, now_ms, cmd).map(Some)
    }
}

/// Parses `args[first..]` exactly as Redis's `parseExtendedStringArgumentsOrReply`: an option
/// may repeat (the last expiry value wins), options that contradict one another are a syntax
/// error, and the expiry value is not looked at yet, so `SET k v EX abc FOO` is a syntax error
/// and `SET k v EX abc EX 10` succeeds.
fn parse_ext_args(args: &[Bytes], first: usize, cmd: ExtCmd) -> Result<ExtArgs<'_>, Reply> {
    let mut o = ExtArgs::default();
    let set = cmd == ExtCmd::Set;
    let mut j = first;
    while j < args.len() {
        let opt = c_str(&args[j]);
        let next = args.get(j + 1);
        let kind = ExpireKind::from_option(opt);
        // An expiry excludes KEEPTTL, PERSIST and the other three expiry kinds, not itself.
        let expire_free = |k: ExpireKind| o.expire.is_none_or(|(cur, _)| cur == k);
        if opt.eq_ignore_ascii_case(b"NX") && !o.xx && set {
            o.nx = true;
        } else if opt.eq_ignore_ascii_case(b"XX") && !o.nx && set {
            o.xx = true;
        } else if opt.eq_ignore_ascii_case(b"GET") && set {
            o.get = true;
        } else if opt.eq_ignore_ascii_case(b"KEEPTTL") && !o.persist && o.expire.is_none() && set {
            o.keepttl = true;
        } else if opt.eq_ignore_ascii_case(b"PERSIST") && !set && o.expire.is_none() && !o.keepttl {
            o.persist = true;
        } else if let (Some(k), Some(value)) = (kind, next)
            && !o.keepttl
            && !o.persist
            && expire_free(k)
        {
            o.expire = Some((k, &value[..]));
            j += 1;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    Ok(o)
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts-ms | KEEPTTL]
///
/// Order of checks, as in Redis's `setGenericCommand`: options, expiry value, then (with GET)
/// the old value's type, then NX/XX.
fn set(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let opts = match parse_ext_args(args, 3, ExtCmd::Set) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let deadline = match opts.deadline(ctx.now_ms, "set") {
        Ok(d) => d,
        Err(e) => return e,
    };
    let key = &args[1];
    // With GET the old value is read like GET reads it (keyspace hits and misses count).
    let old = if opts.get {
        match read_str(ctx, key) {
            Ok(v) => v,
            Err(e) => return e,
        }
    } else {
        None
    };
    let exists = old.is_some() || ctx.exists(key);
    if (opts.nx && exists) || (opts.xx && !exists) {
        return old.map_or(Reply::Nil, Reply::Bulk);
    }
    let ttl = match (deadline, opts.keepttl) {
        (Some(at), _) => Ttl::At(at),
        (None, true) => Ttl::Keep,
        (None, false) => Ttl::Clear,
    };
    store(ctx, key, owned(&args[2]), ttl);
    if opts.get {
        old.map_or(Reply::Nil, Reply::Bulk)
    } else {
        Reply::ok()
    }
}

fn setnx(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if ctx.exists(&args[1]) {
        return Reply::Integer(0);
    }
    store(ctx, &args[1], owned(&args[2]), Ttl::Clear);
    Reply::Integer(1)
}

fn setex_generic(ctx: &mut ExecCtx<'_>, args: &[Bytes], unit_ms: i64, cmd: &str) -> Reply {
    match deadline_from(&args[2], unit_ms, true, ctx.now_ms, cmd) {
        Ok(at) => {
            store(ctx, &args[1], owned(&args[3]), Ttl::At(at));
            Reply::ok()
        }
        Err(e) => e,
    }
}

fn setex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    setex_generic(ctx, args, 1000, "setex")
}

fn psetex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    setex_generic(ctx, args, 1, "psetex")
}

fn getset(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    // Redis reads the old value with GET's lookup, so hits and misses count.
    let old = match read_str(ctx, &args[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    store(ctx, &args[1], owned(&args[2]), Ttl::Clear);
    old.map_or(Reply::Nil, Reply::Bulk)
}

fn getdel(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match read_str(ctx, &args[1]) {
        Ok(Some(v)) => {
            ctx.db().remove(&args[1]);
            Reply::Bulk(v)
        }
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ts-ms | PERSIST]
///
/// As in Redis, a missing key answers nil before the expiry value is validated.
fn getex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let opts = match parse_ext_args(args, 2, ExtCmd::GetEx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let v = match read_str(ctx, &args[1]) {
        Ok(Some(v)) => v,
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    let deadline = match opts.deadline(ctx.now_ms, "getex") {
        Ok(d) => d,
        Err(e) => return e,
    };
    let key = &args[1];
    let now = ctx.now_ms;
    match deadline {
        // Only EXAT/PXAT can name a past instant: the key goes at once.
        Some(at) if at <= now => {
            ctx.db().remove(key);
        }
        Some(at) => {
            ctx.db().set_deadline(key, at);
        }
        None if opts.persist => {
            ctx.db().persist(key);
        }
        None => {}
    }
    Reply::Bulk(v)
}

/// MGET on this shard's subset of keys: values (nil for missing or non-string keys).
fn mget(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    Reply::Array(
        args[1..]
            .iter()
            .map(|k| match ctx.read(k) {
                Some(Value::Str(b)) => Reply::Bulk(b.clone()),
                #[allow(unreachable_patterns)]
                _ => Reply::Nil,
            })
            .collect(),
    )
}

fn mset(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if args.len().is_multiple_of(2) {
        return crate::commands::dispatch::wrong_arity("mset");
    }
    for pair in args[1..].chunks(2) {
        store(ctx, &pair[0], owned(&pair[1]), Ttl::Clear);
    }
    Reply::ok()
}

/// MSETNX: set all keys only if none exists. With keys on one shard this is one atomic op; across
/// shards it checks then sets, and a concurrent writer may slip in between (docs/ARCHITECTURE.md).
pub async fn msetnx(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    if args.len().is_multiple_of(2) {
        return crate::commands::dispatch::wrong_arity("msetnx");
    }
    let n = core.nr_shards();
    let mut per_shard: Vec<Vec<(Bytes, Bytes)>> = (0..n).map(|_| Vec::new()).collect();
    for pair in args[1..].chunks(2) {
        per_shard[crate::shard::shard_for_key(&pair[0], n)]
            .push((pair[0].clone(), pair[1].clone()));
    }
    let targets: Vec<usize> = (0..n).filter(|&s| !per_shard[s].is_empty()).collect();
    if let [only] = targets[..] {
        let pairs = std::mem::take(&mut per_shard[only]);
        let set = core
            .router
            .run_on(only, move |shard| {
                let mut ctx = ExecCtx::new(shard, db);
                if pairs.iter().any(|(k, _)| ctx.exists(k)) {
                    return false;
                }
                for (k, v) in &pairs {
                    store(&mut ctx, k, owned(v), Ttl::Clear);
                }
                true
            })
            .await;
        return Reply::Integer(set.unwrap_or(false) as i64);
    }
    for &s in &targets {
        let keys: Vec<Bytes> = per_shard[s].iter().map(|(k, _)| k.clone()).collect();
        let any = core
            .router
            .run_on(s, move |shard| {
                let mut ctx = ExecCtx::new(shard, db);
                keys.iter().any(|k| ctx.exists(k))
            })
            .await;
        if any != Some(false) {
            return Reply::Integer(0);
        }
    }
    for &s in &targets {
        let pairs = std::mem::take(&mut per_shard[s]);
        core.router
            .run_on(s, move |shard| {
                let mut ctx = ExecCtx::new(shard, db);
                for (k, v) in &pairs {
                    store(&mut ctx, k, owned(v), Ttl::Clear);
                }
            })
            .await;
    }
    Reply::Integer(1)
}

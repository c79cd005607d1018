//! The string family: GET, SET and friends, counters, ranges.
//!
//! Every `op_*`-style function here is a [`ShardFn`](crate::commands::exec::ShardFn): it runs
//! on the shard that owns the key, synchronously. MSETNX is the one coordinated command: its
//! keys may live on several shards (see docs/ARCHITECTURE.md, "multi-shard commands").

use bytes::{Bytes, BytesMut};

use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, Merge, flag::*};
use crate::core::Core;
use crate::protocol::Reply;
use crate::store::Value;
use crate::util::parse_i64;

mod long_double;

use long_double::{LongDouble, Operand};

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

/// Adds `delta` to the integer at `key` (0 if missing), keeping its TTL.
fn incr_by(ctx: &mut ExecCtx<'_>, key: &[u8], delta: i64) -> Reply {
    let cur = match write_str(ctx, key) {
        Ok(Some(b)) => match parse_i64(&b) {
            Some(v) => v,
            None => return not_integer(),
        },
        Ok(None) => 0,
        Err(e) => return e,
    };
    let Some(next) = cur.checked_add(delta) else {
        return Reply::error("ERR increment or decrement would overflow");
    };
    let mut buf = itoa::Buffer::new();
    let text = Bytes::copy_from_slice(buf.format(next).as_bytes());
    store(ctx, key, Value::Str(text), Ttl::Keep);
    Reply::Integer(next)
}

fn incr(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        Some(d) => incr_by(ctx, &args[1], d),
        None => not_integer(),
    }
}

fn decrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        // Redis refuses to negate LLONG_MIN.
        Some(i64::MIN) => Reply::error("ERR decrement would overflow"),
        Some(d) => incr_by(ctx, &args[1], -d),
        None => not_integer(),
    }
}

/// INCRBYFLOAT in x87 `long double` arithmetic, as Redis computes it on x86-64 (see
/// [`long_double`]): the stored value is checked first, then the increment.
fn incrbyfloat(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let not_float = || Reply::error("ERR value is not a valid float");
    let cur = match write_str(ctx, &args[1]) {
        Ok(Some(b)) => match long_double::parse(&b) {
            Some(v) => v,
            None => return not_float(),
        },
        Ok(None) => Operand::Finite(LongDouble::ZERO),
        Err(e) => return e,
    };
    let Some(delta) = long_double::parse(&args[2]) else {
        return not_float();
    };
    let sum = match (cur, delta) {
        (Operand::Finite(a), Operand::Finite(b)) => long_double::add(a, b),
        _ => None,
    };
    let Some(sum) = sum else {
        return Reply::error("ERR increment would produce NaN or Infinity");
    };
    let text = Bytes::from(long_double::format(sum));
    store(ctx, &args[1], Value::Str(text.clone()), Ttl::Keep);
    Reply::Bulk(text)
}

/// Largest string APPEND and SETRANGE may build: `proto-max-bulk-len`, read at run time like
/// Redis's `checkStringLength` reads it, so CONFIG SET takes effect at once.
fn max_string_bytes() -> usize {
    const DEFAULT_BYTES: i64 = 512 * 1024 * 1024;
    let limit = Core::current().map_or(DEFAULT_BYTES, |core| {
        core.params.borrow().int("proto-max-bulk-len")
    });
    usize::try_from(limit).unwrap_or(usize::MAX)
}

fn too_big() -> Reply {
    Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
}

fn append(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let cur = match write_str(ctx, &args[1]) {
        // A new key is the argument itself, which the protocol already bounded.
        Ok(None) => {
            store(ctx, &args[1], owned(&args[2]), Ttl::Clear);
            return Reply::Integer(args[2].len() as i64);
        }
        Ok(Some(v)) => v,
        Err(e) => return e,
    };
    let total = cur.len() + args[2].len();
    if total > max_string_bytes() {
        return too_big();
    }
    let mut buf = BytesMut::with_capacity(total);
    buf.extend_from_slice(&cur);
    buf.extend_from_slice(&args[2]);
    store(ctx, &args[1], Value::Str(buf.freeze()), Ttl::Keep);
    Reply::Integer(total as i64)
}

fn strlen(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match read_str(ctx, &args[1]) {
        Ok(v) => Reply::Integer(v.map_or(0, |b| b.len()) as i64),
        Err(e) => e,
    }
}

/// GETRANGE with Redis's index rules: negatives count from the end, clamp to the string.
fn getrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (Some(mut start), Some(mut end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return not_integer();
    };
    let v = match read_str(ctx, &args[1]) {
        Ok(Some(v)) => v,
        Ok(None) => return Reply::Bulk(Bytes::new()),
        Err(e) => return e,
    };
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Reply::Bulk(Bytes::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if len == 0 || start > end {
        return Reply::Bulk(Bytes::new());
    }
    Reply::Bulk(v.slice(start as usize..=end as usize))
}

fn setrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let Some(offset) = parse_i64(&args[2]) else {
        return not_integer();
    };
    if offset < 0 {
        return Reply::error("ERR offset is out of range");
    }
    let cur = match write_str(ctx, &args[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let value = &args[3];
    let offset = offset as usize;
    if value.is_empty() {
        // Nothing to write: reply with the current length, creating nothing.
        return Reply::Integer(cur.map_or(0, |c| c.len()) as i64);
    }
    let Some(total) = offset.checked_add(value.len()) else {
        return too_big();
    };
    if total > max_string_bytes() {
        return too_big();
    }
    let cur = cur.unwrap_or_default();
    let mut buf = BytesMut::with_capacity(total.max(cur.len()));
    buf.extend_from_slice(&cur);
    if buf.len() < total {
        buf.resize(total, 0);
    }
    buf[offset..total].copy_from_slice(value);
    let len = buf.len();
    store(ctx, &args[1], Value::Str(buf.freeze()), Ttl::Keep);
    Reply::Integer(len as i64)
}

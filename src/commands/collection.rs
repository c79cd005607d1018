//! What the collection families (hashes, lists, sets, sorted sets) share: typed access to a
//! key's value with Redis's WRONGTYPE rule, the write protocol, and *SCAN argument parsing.
//!
//! # The write protocol (every collection command follows it)
//!
//! 1. Look the key up with [`read`] / [`check`] (lazy expiry, WRONGTYPE) and decide whether
//!    anything will change. A command that changes nothing touches nothing.
//! 2. Get the value with [`modify`] (existing key) or [`get_or_create`]: both call
//!    `Db::modified(key)` first, so WATCH and a running log rewrite's copy-on-write see the
//!    value before it changes. A new collection is added with `Db::create`, which records
//!    nothing.
//! 3. Record the command's deterministic effect with [`journal`], naming exactly one key at
//!    position 1 (`HSET k f v`, `LPOP k 2`, `SREM k m` for an SPOP): replaying it on the state
//!    before reproduces the state after, and keyspace notifications derive the event from it
//!    (`pubsub::notify::collection_event`).
//! 4. If the collection is now empty, [`remove_if_empty`] deletes the key, which records
//!    `DEL k` (a no-op on replay, the `del` event for subscribers), as Redis deletes empty
//!    collections.

use bytes::Bytes;

use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, not_integer, syntax_error, wrongtype};
use crate::protocol::Reply;
use crate::store::Value;
use crate::store::hash::Hash;
use crate::store::list::List;
use crate::store::set::Set;
use crate::store::zset::ZSet;
use crate::util::parse_i64;

/// A collection type stored in a [`Value`] variant.
pub trait Collection: Default + Sized {
    fn of(v: &Value) -> Option<&Self>;
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    fn into_value(self) -> Value;
    fn is_empty(&self) -> bool;
}

macro_rules! collection {
    ($t:ty, $variant:ident) => {
        impl Collection for $t {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(Box::new(self))
            }
            fn is_empty(&self) -> bool {
                <$t>::is_empty(self)
            }
        }
    };
}

collection!(Hash, Hash);
collection!(List, List);
collection!(Set, Set);
collection!(ZSet, ZSet);

/// The collection at `key` for reading (counts a keyspace hit or miss): `Ok(None)` when the
/// key does not exist, `Err(WRONGTYPE)` when it holds another type.
pub fn read<'a, T: Collection>(
    ctx: &'a mut ExecCtx<'_>,
    key: &[u8],
) -> Result<Option<&'a T>, Reply> {
    match ctx.read(key) {
        None => Ok(None),
        Some(v) => T::of(v).map(Some).ok_or_else(wrongtype),
    }
}

/// The collection at `key` for a write's first look (no hit/miss counting, nothing marked
/// modified): must not be mutated through; see [`modify`].
pub fn peek<'a, T: Collection>(
    ctx: &'a mut ExecCtx<'_>,
    key: &[u8],
) -> Result<Option<&'a T>, Reply> {
    match ctx.write(key) {
        None => Ok(None),
        Some(v) => T::of(v).map(Some).ok_or_else(wrongtype),
    }
}

/// Whether `key` holds a `T` (false when missing), for writes; WRONGTYPE otherwise.
pub fn check<T: Collection>(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Result<bool, Reply> {
    peek::<T>(ctx, key).map(|c| c.is_some())
}

/// The existing collection at `key`, about to change: marks the key modified first. Call
/// only after [`peek`] or [`check`] found it (it returns `None` otherwise).
pub fn modify<'a, T: Collection>(ctx: &'a mut ExecCtx<'_>, key: &[u8]) -> Option<&'a mut T> {
    let now = ctx.now_ms;
    let db = ctx.db();
    db.modified(key);
    db.lookup_mut(key, now).0.and_then(T::of_mut)
}

/// The collection at `key`, created empty if missing, about to change; WRONGTYPE if the key
/// holds another type.
pub fn get_or_create<'a, T: Collection>(
    ctx: &'a mut ExecCtx<'_>,
    key: &[u8],
) -> Result<&'a mut T, Reply> {
    if !check::<T>(ctx, key)? {
        ctx.db().create(key, T::default().into_value());
    }
    modify::<T>(ctx, key).ok_or_else(wrongtype)
}

/// Records the command's effect (built only when effects are being recorded).
pub fn journal(ctx: &mut ExecCtx<'_>, effect: impl FnOnce() -> Vec<Bytes>) {
    let db = ctx.db();
    if db.journaling() {
        db.journal_command(effect());
    }
}

/// An effect record: `name` then the arguments.
pub fn effect(name: &'static [u8], args: &[&Bytes]) -> Vec<Bytes> {
    let mut v = Vec::with_capacity(args.len() + 1);
    v.push(Bytes::from_static(name));
    v.extend(args.iter().map(|b| (*b).clone()));
    v
}

/// Deletes `key` if its collection is empty (recording `DEL key`). Returns true if deleted.
pub fn remove_if_empty<T: Collection>(ctx: &mut ExecCtx<'_>, key: &[u8]) -> bool {
    let now = ctx.now_ms;
    let db = ctx.db();
    let empty = db
        .lookup(key, now)
        .0
        .and_then(T::of)
        .is_some_and(Collection::is_empty);
    if empty {
        db.remove(key);
    }
    empty
}

/// The options of HSCAN / SSCAN / ZSCAN: `key cursor [MATCH pattern] [COUNT count]`.
pub struct ScanArgs {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
}

impl ScanArgs {
    /// Parses `args` (`args[1]` is the key, `args[2]` the cursor) with Redis's errors.
    pub fn parse(args: &[Bytes]) -> Result<ScanArgs, Reply> {
        let cursor = crate::commands::keys::parse_cursor(&args[2])
            .ok_or_else(|| Reply::error("ERR invalid cursor"))?;
        let mut out = ScanArgs {
            cursor,
            pattern: None,
            count: 10,
        };
        let mut i = 3;
        while i < args.len() {
            let has = i + 1 < args.len();
            let opt = c_str(&args[i]);
            if opt.eq_ignore_ascii_case(b"COUNT") && has {
                match parse_i64(&args[i + 1]) {
                    Some(c) if c >= 1 => out.count = usize::try_from(c).unwrap_or(usize::MAX),
                    Some(_) => return Err(syntax_error()),
                    None => return Err(not_integer()),
                }
            } else if opt.eq_ignore_ascii_case(b"MATCH") && has {
                out.pattern = Some(args[i + 1].clone()).filter(|p| &p[..] != b"*");
            } else {
                return Err(syntax_error());
            }
            i += 2;
        }
        Ok(out)
    }

    /// Whether `item` passes the MATCH filter.
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| crate::util::glob::glob_match(p, item, false))
    }

    /// How many table buckets one call may visit before replying, as Redis bounds it.
    pub fn max_iterations(&self) -> usize {
        self.count.saturating_mul(10)
    }
}

/// The reply of a *SCAN: `[next cursor, [items...]]`.
pub fn scan_reply(next: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(items),
    ])
}

/// Parses a count argument with Redis's "value is out of range" bound used by
/// HRANDFIELD / SRANDMEMBER / ZRANDMEMBER (`-LONG_MAX..=LONG_MAX`).
pub fn parse_rand_count(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64(arg) {
        None => Err(not_integer()),
        Some(i64::MIN) => Err(Reply::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        Some(n) => Ok(n),
    }
}

/// The arguments of HRANDFIELD / ZRANDMEMBER: `key [count [WITH<option>]]`, with Redis's
/// errors and order of checks. Returns (count, whether the option was given).
pub fn parse_rand_args(args: &[Bytes], option: &[u8]) -> Result<(Option<i64>, bool), Reply> {
    if args.len() > 4 {
        return Err(syntax_error());
    }
    let with = match args.get(3) {
        None => false,
        Some(a) if c_str(a).eq_ignore_ascii_case(option) => true,
        Some(_) => return Err(syntax_error()),
    };
    let count = args.get(2).map(|a| parse_rand_count(a)).transpose()?;
    if with && count.is_some_and(|n| n < -(i64::MAX / 2)) {
        return Err(Reply::error("ERR value is out of range"));
    }
    Ok((count, with))
}

/// Most elements one random-member reply may hold with a negative count (repeats allowed):
/// Redis would try to build any size and never answer; corekv refuses past this.
pub const MAX_RANDOM_REPLY_ITEMS: u64 = 64 * 1024 * 1024;

//! SPOP and SRANDMEMBER: random members, drawn with the shard's RNG. SPOP journals what it
//! popped (`SREM key m...`), never the randomness, so replay reproduces the same state.

use bytes::Bytes;

use super::journal_srem;
use crate::commands::collection::{self as coll, Collection, MAX_RANDOM_REPLY_ITEMS};
use crate::commands::exec::ExecCtx;
use crate::commands::strings::syntax_error;
use crate::protocol::Reply;
use crate::store::set::Set;
use crate::util::parse_i64;

/// The set at `key` (already looked up through `ctx`) and the shard's RNG, borrowed together.
fn with_rng<R>(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Set>, &mut dyn FnMut() -> u64) -> R,
) -> R {
    let shard = &mut *ctx.shard;
    let s = shard.dbs[ctx.db].keys().get(key).and_then(Set::of);
    let rng = &mut shard.rng;
    let mut rand = || rng.next_u64();
    f(s, &mut rand)
}

/// Up to `count` distinct random members: the whole set when it is no larger; else, like
/// Redis, drop random members from a copy when `count` is close to the size, or draw until
/// `count` distinct ones are found when it is small.
fn distinct_random(s: &Set, count: u64, rand: &mut dyn FnMut() -> u64) -> Vec<Bytes> {
    let size = s.len() as u64;
    if count >= size {
        return s.members();
    }
    if count.saturating_mul(3) > size {
        let mut all = s.members();
        while all.len() as u64 > count {
            let i = (rand() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        return all;
    }
    let mut seen = ahash::AHashSet::new();
    let mut out = Vec::with_capacity(count as usize);
    let mut draw = || rand();
    while (out.len() as u64) < count {
        if let Some(m) = s.random(&mut draw)
            && seen.insert(m.clone())
        {
            out.push(m);
        }
    }
    out
}

/// SPOP key [count].
pub(super) fn spop(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return syntax_error();
    }
    let key = &args[1];
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Reply::error("ERR value is out of range, must be positive"),
        },
    };
    match coll::peek::<Set>(ctx, key) {
        Err(e) => return e,
        Ok(None) if count.is_none() => return Reply::Nil,
        Ok(None) => return Reply::Set(Vec::new()),
        Ok(Some(_)) if count == Some(0) => return Reply::Set(Vec::new()),
        Ok(Some(s)) => {
            if count.is_some_and(|n| n >= s.len() as u64) {
                // Redis answers "the whole set" through SUNION's code, whose read lookup
                // counts a keyspace hit: counted here too, so INFO agrees.
                ctx.shard.stats.keyspace_hits += 1;
            }
        }
    }
    let popped: Vec<Bytes> = with_rng(ctx, key, |s, rand| match (s, count) {
        (None, _) => Vec::new(),
        (Some(s), None) => s.random(&mut || rand()).into_iter().collect(),
        (Some(s), Some(n)) => distinct_random(s, n, rand),
    });
    let Some(s) = coll::modify::<Set>(ctx, key) else {
        return Reply::Nil;
    };
    for m in &popped {
        s.remove(m);
    }
    journal_srem(ctx, key, &popped);
    coll::remove_if_empty::<Set>(ctx, key);
    match count {
        None => popped.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => Reply::Set(popped.into_iter().map(Reply::Bulk).collect()),
    }
}

/// SRANDMEMBER key [count]: distinct members for a positive count, repeats allowed for a
/// negative one (bounded by [`MAX_RANDOM_REPLY_ITEMS`], where Redis would never answer).
pub(super) fn srandmember(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return syntax_error();
    }
    let count = match args.get(2).map(|a| coll::parse_rand_count(a)) {
        None => None,
        Some(Err(e)) => return e,
        Some(Ok(n)) => Some(n),
    };
    if let Err(e) = coll::read::<Set>(ctx, &args[1]) {
        return e;
    }
    with_rng(ctx, &args[1], |s, rand| {
        let Some(count) = count else {
            return s
                .and_then(|s| s.random(&mut || rand()))
                .map_or(Reply::Nil, Reply::Bulk);
        };
        let Some(s) = s.filter(|_| count != 0) else {
            return Reply::Array(Vec::new());
        };
        if count > 0 {
            let picked = distinct_random(s, count as u64, rand);
            return Reply::Array(picked.into_iter().map(Reply::Bulk).collect());
        }
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY_ITEMS {
            return Reply::error("ERR value is out of range");
        }
        Reply::Array(
            (0..n)
                .filter_map(|_| s.random(&mut || rand()).map(Reply::Bulk))
                .collect(),
        )
    })
}

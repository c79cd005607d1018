//! The read-only single-key commands: ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK,
//! ZREVRANK, the ZRANGE family, ZRANDMEMBER and ZSCAN.

use bytes::Bytes;

use super::range::{self, Kind, RangeQuery};
use super::{bulk, items_reply};
use crate::commands::collection::{self as coll, MAX_RANDOM_REPLY_ITEMS, ScanArgs, scan_reply};
use crate::commands::exec::ExecCtx;
use crate::protocol::Reply;
use crate::protocol::reply_double_text;
use crate::store::zset::ZSet;

pub fn zscore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => z
            .and_then(|z| z.score(&args[2]))
            .map_or(Reply::Nil, Reply::Double),
    }
}

pub fn zmscore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => Reply::Array(
            args[2..]
                .iter()
                .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
                .collect(),
        ),
    }
}

pub fn zcard(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => Reply::Integer(z.map_or(0, ZSet::len) as i64),
    }
}

pub fn zcount(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let r = match range::parse_score_range(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => Reply::Integer(z.map_or(0, |z| {
            let (lo, hi) = range::score_ranks(z, &r);
            hi - lo
        }) as i64),
    }
}

pub fn zlexcount(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (min, max) = match range::parse_lex_range(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => Reply::Integer(z.map_or(0, |z| {
            let (lo, hi) = range::lex_ranks(z, &min, &max);
            hi - lo
        }) as i64),
    }
}

fn rank(ctx: &mut ExecCtx<'_>, args: &[Bytes], rev: bool) -> Reply {
    match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => e,
        Ok(z) => z
            .and_then(|z| z.rank(&args[2]).map(|r| (z.len(), r)))
            .map_or(Reply::Nil, |(len, r)| {
                Reply::Integer(if rev { len - 1 - r } else { r } as i64)
            }),
    }
}

pub fn zrank(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    rank(ctx, args, false)
}

pub fn zrevrank(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    rank(ctx, args, true)
}

/// Runs a parsed range query on `args[1]`.
fn run_query(ctx: &mut ExecCtx<'_>, key: &[u8], q: Result<RangeQuery, Reply>) -> Reply {
    let q = match q {
        Ok(q) => q,
        Err(e) => return e,
    };
    match coll::read::<ZSet>(ctx, key) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(z)) => items_reply(range::select(z, &q), q.with_scores),
    }
}

pub fn zrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_query(
        ctx,
        &args[1],
        range::parse_query(args, 2, None, None, false),
    )
}

pub fn zrevrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = range::parse_query(args, 2, Some(Kind::Rank), Some(true), false);
    run_query(ctx, &args[1], q)
}

pub fn zrangebyscore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = range::parse_query(args, 2, Some(Kind::Score), Some(false), false);
    run_query(ctx, &args[1], q)
}

pub fn zrevrangebyscore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = range::parse_query(args, 2, Some(Kind::Score), Some(true), false);
    run_query(ctx, &args[1], q)
}

pub fn zrangebylex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = range::parse_query(args, 2, Some(Kind::Lex), Some(false), false);
    run_query(ctx, &args[1], q)
}

pub fn zrevrangebylex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = range::parse_query(args, 2, Some(Kind::Lex), Some(true), false);
    run_query(ctx, &args[1], q)
}

/// ZRANDMEMBER key [count [WITHSCORES]], with HRANDFIELD's count rules.
pub fn zrandmember(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (count, with_scores) = match coll::parse_rand_args(args, b"WITHSCORES") {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Err(e) = coll::read::<ZSet>(ctx, &args[1]) {
        return e;
    }
    let shard = &mut *ctx.shard;
    let z = shard.dbs[ctx.db]
        .keys()
        .get(&args[1][..])
        .and_then(<ZSet as coll::Collection>::of);
    let rng = &mut shard.rng;
    let mut rand = || rng.next_u64();
    let Some(count) = count else {
        return z
            .and_then(|z| z.random(&mut rand))
            .map_or(Reply::Nil, |(m, _)| bulk(m));
    };
    let Some(z) = z.filter(|z| !z.is_empty()) else {
        return Reply::Array(Vec::new());
    };
    let picked: Vec<(&[u8], f64)> = if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY_ITEMS {
            return Reply::error("ERR value is out of range");
        }
        (0..n).filter_map(|_| z.random(&mut rand)).collect()
    } else {
        distinct_random(z, count as u64, &mut rand)
    };
    let items = picked
        .into_iter()
        .map(|(m, s)| (Bytes::copy_from_slice(m), s))
        .collect();
    items_reply(items, with_scores)
}

/// Up to `count` distinct random elements, as HRANDFIELD picks them.
fn distinct_random<'z>(
    z: &'z ZSet,
    count: u64,
    rand: &mut impl FnMut() -> u64,
) -> Vec<(&'z [u8], f64)> {
    let size = z.len() as u64;
    if count >= size {
        return z.iter().collect();
    }
    if count.saturating_mul(3) > size {
        let mut all: Vec<(&[u8], f64)> = z.iter().collect();
        while all.len() as u64 > count {
            let i = (rand() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        return all;
    }
    let mut seen = ahash::AHashSet::new();
    let mut out = Vec::with_capacity(count as usize);
    while (out.len() as u64) < count {
        if let Some((m, s)) = z.random(rand)
            && seen.insert(m)
        {
            out.push((m, s));
        }
    }
    out
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: scores as Redis 7.0's `d2string` text.
pub fn zscan(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let scan = match ScanArgs::parse(args) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let z = match coll::read::<ZSet>(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(z)) => z,
    };
    let mut items = Vec::new();
    let mut cursor = scan.cursor;
    let mut budget = scan.max_iterations();
    let mut visited = 0usize;
    loop {
        cursor = z.scan(cursor, |m, s| {
            visited += 1;
            if scan.matches(m) {
                items.push(bulk(m));
                items.push(bulk(reply_double_text(s).as_bytes()));
            }
        });
        budget = budget.saturating_sub(1);
        if cursor == 0 || budget == 0 || visited >= scan.count {
            break;
        }
    }
    scan_reply(cursor, items)
}

//! The single-key writes: ZADD, ZINCRBY, ZREM, ZREMRANGEBY*, ZPOPMIN/ZPOPMAX, ZMPOP's
//! shard step, and the pop a blocked BZPOPMIN/BZMPOP client is served with.

use ahash::AHashMap;
use bytes::Bytes;

use super::range;
use crate::commands::collection::{self as coll, journal};
use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, not_integer, syntax_error};
use crate::protocol::{Reply, format_double, parse_double};
use crate::store::zset::ZSet;
use crate::util::parse_i64;

#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn not_float() -> Reply {
    Reply::error("ERR value is not a valid float")
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], with Redis's
/// checks in Redis's order: pairs, NX+XX, GT/LT/NX, INCR arity, then every score.
pub fn zadd(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let opt = c_str(&args[i]);
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => f.nx = true,
            b"xx" => f.xx = true,
            b"gt" => f.gt = true,
            b"lt" => f.lt = true,
            b"ch" => f.ch = true,
            b"incr" => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return syntax_error();
    }
    if f.nx && f.xx {
        return Reply::error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Reply::error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest.len() > 2 {
        return Reply::error("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        match parse_double(&p[0]) {
            Some(s) => pairs.push((s, &p[1])),
            None => return not_float(),
        }
    }
    add(ctx, &args[1], f, &pairs, &rest[0])
}

/// ZINCRBY key increment member: ZADD's INCR path.
pub fn zincrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let Some(incr) = parse_double(&args[2]) else {
        return not_float();
    };
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add(ctx, &args[1], f, &[(incr, &args[3])], &args[2])
}

/// One planned change: the member's new score, and whether it is new.
struct Change<'a> {
    member: &'a Bytes,
    score: f64,
    added: bool,
}

/// Decides every pair against the current set (and the pairs before it), then applies and
/// journals the changes at once, so an error (NaN) or a no-op changes nothing.
fn add(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    f: AddFlags,
    pairs: &[(f64, &Bytes)],
    incr_arg: &Bytes,
) -> Reply {
    let z = match coll::peek::<ZSet>(ctx, key) {
        Err(e) => return e,
        Ok(z) => z,
    };
    let mut pending: AHashMap<&[u8], f64> = AHashMap::new();
    let mut changes: Vec<Change<'_>> = Vec::new();
    let mut processed = 0usize;
    let mut last = 0.0;
    if z.is_some() || !f.xx {
        for &(score, member) in pairs {
            let cur = pending
                .get(&member[..])
                .copied()
                .or_else(|| z.and_then(|z| z.score(member)));
            let Some(cur) = cur else {
                if !f.xx {
                    pending.insert(member, score);
                    changes.push(Change {
                        member,
                        score,
                        added: true,
                    });
                    processed += 1;
                    last = score;
                }
                continue;
            };
            if f.nx {
                continue;
            }
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return Reply::error("ERR resulting score is not a number (NaN)");
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                continue;
            }
            processed += 1;
            last = new;
            if new != cur {
                pending.insert(member, new);
                changes.push(Change {
                    member,
                    score: new,
                    added: false,
                });
            }
        }
    }
    let added = changes.iter().filter(|c| c.added).count();
    let updated = changes.len() - added;
    if !changes.is_empty() {
        match coll::get_or_create::<ZSet>(ctx, key) {
            Err(e) => return e,
            Ok(z) => {
                for c in &changes {
                    z.insert(c.member, c.score);
                }
            }
        }
        journal(ctx, || {
            if f.incr {
                let member = changes[0].member.clone();
                return vec![
                    Bytes::from_static(b"ZINCRBY"),
                    key.clone(),
                    incr_arg.clone(),
                    member,
                ];
            }
            let mut e = Vec::with_capacity(2 + changes.len() * 2);
            e.push(Bytes::from_static(b"ZADD"));
            e.push(key.clone());
            for c in &changes {
                e.push(Bytes::from(format_double(c.score)));
                e.push(c.member.clone());
            }
            e
        });
        if !coll::remove_if_empty::<ZSet>(ctx, key) {
            // Clients blocked in BZPOPMIN/BZMPOP on this key are served after this op.
            crate::commands::blocking::signal(ctx, key);
        }
    }
    if f.incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Integer((if f.ch { added + updated } else { added }) as i64)
    }
}

pub fn zrem(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let members = &args[2..];
    match coll::peek::<ZSet>(ctx, key) {
        Err(e) => return e,
        Ok(Some(z)) if members.iter().any(|m| z.score(m).is_some()) => {}
        Ok(_) => return Reply::Integer(0),
    }
    let Some(z) = coll::modify::<ZSet>(ctx, key) else {
        return Reply::Integer(0);
    };
    let removed: Vec<&Bytes> = members.iter().filter(|m| z.remove(m)).collect();
    journal(ctx, || {
        let mut e = vec![Bytes::from_static(b"ZREM"), key.clone()];
        e.extend(removed.iter().map(|m| (*m).clone()));
        e
    });
    coll::remove_if_empty::<ZSet>(ctx, key);
    Reply::Integer(removed.len() as i64)
}

/// The rank interval a ZREMRANGEBY* selects in `z`.
type RanksOf = Box<dyn Fn(&ZSet) -> (usize, usize)>;

fn remove_ranks(
    ctx: &mut ExecCtx<'_>,
    args: &[Bytes],
    name: &'static [u8],
    ranks: RanksOf,
) -> Reply {
    let key = &args[1];
    let (lo, hi) = match coll::peek::<ZSet>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(z)) => ranks(z),
    };
    if lo >= hi {
        return Reply::Integer(0);
    }
    let Some(z) = coll::modify::<ZSet>(ctx, key) else {
        return Reply::Integer(0);
    };
    let n = z.remove_range(lo, hi).len();
    journal(ctx, || {
        let mut e = vec![Bytes::from_static(name)];
        e.extend(args[1..].iter().cloned());
        e
    });
    coll::remove_if_empty::<ZSet>(ctx, key);
    Reply::Integer(n as i64)
}

pub fn zremrangebyrank(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return not_integer();
    };
    let ranks = Box::new(move |z: &ZSet| range::rank_ranks(z.len(), start, stop, false));
    remove_ranks(ctx, args, b"ZREMRANGEBYRANK", ranks)
}

pub fn zremrangebyscore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let r = match range::parse_score_range(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let ranks = Box::new(move |z: &ZSet| range::score_ranks(z, &r));
    remove_ranks(ctx, args, b"ZREMRANGEBYSCORE", ranks)
}

pub fn zremrangebylex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (min, max) = match range::parse_lex_range(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let ranks = Box::new(move |z: &ZSet| range::lex_ranks(z, &min, &max));
    remove_ranks(ctx, args, b"ZREMRANGEBYLEX", ranks)
}

/// Pops up to `count` (>= 1) lowest (or highest, when `max`) elements of `key`, journaling
/// `ZPOPMIN key n` / `ZPOPMAX key n`. `Ok(None)` when the key is missing.
pub fn pop(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, Reply> {
    let len = match coll::peek::<ZSet>(ctx, key)? {
        None => return Ok(None),
        Some(z) => z.len(),
    };
    let Some(z) = coll::modify::<ZSet>(ctx, key) else {
        return Ok(None);
    };
    let n = count.min(len);
    let items = if max {
        let mut v = z.remove_range(len - n, len);
        v.reverse();
        v
    } else {
        z.remove_range(0, n)
    };
    journal(ctx, || {
        let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        vec![
            Bytes::from_static(name),
            key.clone(),
            Bytes::from(n.to_string()),
        ]
    });
    coll::remove_if_empty::<ZSet>(ctx, key);
    Ok(Some(items))
}

fn zpop(ctx: &mut ExecCtx<'_>, args: &[Bytes], max: bool) -> Reply {
    if args.len() > 3 {
        return syntax_error();
    }
    // Redis reads the count with its "must be positive" message for any bad count, and
    // checks the key's type before answering a count of 0.
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Reply::error("ERR value is out of range, must be positive"),
        },
    };
    match coll::peek::<ZSet>(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Array(Vec::new()),
        Ok(Some(_)) if count == Some(0) => return Reply::Array(Vec::new()),
        Ok(Some(_)) => {}
    }
    match pop(ctx, &args[1], max, count.unwrap_or(1)) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(items)) if count.is_some() => super::items_reply(items, true),
        Ok(Some(items)) => Reply::Array(
            items
                .into_iter()
                .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                .collect(),
        ),
    }
}

pub fn zpopmin(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    zpop(ctx, args, false)
}

pub fn zpopmax(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    zpop(ctx, args, true)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], parsed: (keys, max, count).
pub fn parse_zmpop(args: &[Bytes]) -> Result<(Vec<Bytes>, bool, usize), Reply> {
    let numkeys = parse_i64(&args[1])
        .filter(|&n| n >= 1)
        .ok_or_else(|| Reply::error("ERR numkeys should be greater than 0"))?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(2))
        .filter(|&w| w < args.len())
        .ok_or_else(syntax_error)?;
    let max = match c_str(&args[where_idx]).to_ascii_lowercase().as_slice() {
        b"min" => false,
        b"max" => true,
        _ => return Err(syntax_error()),
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && c_str(&args[j]).eq_ignore_ascii_case(b"COUNT") && more {
            j += 1;
            let n = parse_i64(&args[j])
                .filter(|&n| n >= 1)
                .ok_or_else(|| Reply::error("ERR count should be greater than 0"))?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    Ok((args[2..where_idx].to_vec(), max, count.unwrap_or(1)))
}

/// ZMPOP's (and BZMPOP's) reply: `[key, [[member, score], ...]]`, nested in RESP2 too.
pub fn mpop_reply(key: Bytes, items: Vec<(Bytes, f64)>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key),
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        ),
    ])
}

/// ZMPOP on one shard: pops from the first non-empty key.
pub fn zmpop(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (keys, max, count) = match parse_zmpop(args) {
        Ok(p) => p,
        Err(e) => return e,
    };
    for key in &keys {
        match pop(ctx, key, max, count) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(items)) => return mpop_reply(key.clone(), items),
        }
    }
    Reply::NilArray
}

/// Serves one blocked client from `key` on the shard that owns it (for the blocking
/// framework): pops and journals `ZPOPMIN`/`ZPOPMAX key n` like ZPOPMIN, and returns the
/// reply Redis sends the woken client, or `None` when the key is missing, empty or not a
/// sorted set (the waiter keeps waiting; a WRONGTYPE is reported when it blocks).
///
/// - `count: None`: BZPOPMIN / BZPOPMAX, reply `[key, member, score]`.
/// - `count: Some(n)`: BZMPOP ... COUNT n, reply `[key, [[member, score], ...]]`.
pub fn pop_for_waiter(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    max: bool,
    count: Option<usize>,
) -> Option<Reply> {
    let items = pop(ctx, key, max, count.unwrap_or(1).max(1)).ok()??;
    if items.is_empty() {
        return None;
    }
    Some(match count {
        Some(_) => mpop_reply(key.clone(), items),
        None => {
            let (m, s) = items.into_iter().next()?;
            Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::Bulk(m),
                Reply::Double(s),
            ])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Shard;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn pop_for_waiter_serves_one_client_and_journals_the_pop() {
        let mut shard = Shard::new(0, 1, 1);
        let mut ctx = ExecCtx::new(&mut shard, 0);
        let key = Bytes::from_static(b"z");
        assert!(pop_for_waiter(&mut ctx, &key, false, None).is_none());
        zadd(
            &mut ctx,
            &args(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
        );
        ctx.db().set_journaling(true);
        let one = pop_for_waiter(&mut ctx, &key, true, None);
        let want = Reply::Array(vec![
            Reply::Bulk(key.clone()),
            Reply::Bulk(Bytes::from_static(b"c")),
            Reply::Double(3.0),
        ]);
        assert_eq!(one, Some(want));
        let two = pop_for_waiter(&mut ctx, &key, false, Some(5));
        let pair = |m: &'static [u8], s: f64| {
            Reply::Array(vec![Reply::Bulk(Bytes::from_static(m)), Reply::Double(s)])
        };
        let want = Reply::Array(vec![
            Reply::Bulk(key.clone()),
            Reply::Array(vec![pair(b"a", 1.0), pair(b"b", 2.0)]),
        ]);
        assert_eq!(two, Some(want));
        let journal: Vec<Vec<Bytes>> = ctx.db().take_journal();
        assert_eq!(journal[0], args(&["ZPOPMAX", "z", "1"]));
        assert_eq!(journal[1], args(&["ZPOPMIN", "z", "2"]));
        assert_eq!(journal[2], args(&["DEL", "z"]));
        assert!(pop_for_waiter(&mut ctx, &key, false, Some(1)).is_none());
    }
}

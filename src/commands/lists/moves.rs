//! LMOVE, RPOPLPUSH and LMPOP: atomic on one shard (`lmove`, `lmpop` run there when their
//! keys live together), coordinated from the connection's core when they do not.
//!
//! # Across shards (not atomic)
//! LMOVE with source and destination on different shards runs in steps: look at the source
//! (nil if empty), check the destination's type, pop from the source, push to the
//! destination. Another client can observe the element in neither list between the pop and
//! the push; if the destination changed type in that gap, the element goes back to the
//! source end it came from and the reply is WRONGTYPE, so nothing is lost. LMPOP across
//! shards tries its keys in order, one shard hop per key, and pops from the first non-empty
//! one; each try is atomic on its shard.

use bytes::Bytes;

use super::{End, pop, push};
use crate::commands::collection as coll;
use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, syntax_error};
use crate::core::Core;
use crate::protocol::Reply;
use crate::shard::shard_for_key;
use crate::store::list::List;
use crate::util::parse_i64;

/// (source end, destination end) of LMOVE / BLMOVE (`at`: where the two ends start) or
/// RPOPLPUSH / BRPOPLPUSH.
pub fn move_ends(args: &[Bytes], at: Option<usize>) -> Result<(End, End), Reply> {
    match at {
        None => Ok((End::Right, End::Left)),
        Some(i) => Ok((End::parse(&args[i])?, End::parse(&args[i + 1])?)),
    }
}

/// The one-shard LMOVE: pops from `src` at `from` and pushes at `to` of `dst`. `Ok(None)`
/// when the source is empty; WRONGTYPE for either key.
pub fn move_local(
    ctx: &mut ExecCtx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, Reply> {
    if super::len_for_write(ctx, src)? == 0 {
        return Ok(None);
    }
    coll::check::<List>(ctx, dst)?;
    if src == dst && super::len_for_write(ctx, src)? == 1 {
        // Rotating a one-element list: nothing moves (no pop-then-delete-then-recreate).
        let v = coll::peek::<List>(ctx, src)?
            .and_then(|l| l.get(0))
            .map(Bytes::copy_from_slice);
        return Ok(v);
    }
    let Some(mut v) = pop(ctx, src, from, 1, false)? else {
        return Ok(None);
    };
    let Some(v) = v.pop() else {
        return Ok(None);
    };
    push(ctx, dst, std::slice::from_ref(&v), to, false)?;
    Ok(Some(v))
}

fn move_reply(r: Result<Option<Bytes>, Reply>) -> Reply {
    match r {
        Err(e) => e,
        Ok(v) => v.map_or(Reply::Nil, Reply::Bulk),
    }
}

pub fn lmove(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match move_ends(args, Some(3)) {
        Err(e) => e,
        Ok((from, to)) => move_reply(move_local(ctx, &args[1], &args[2], from, to)),
    }
}

pub fn rpoplpush(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    move_reply(move_local(ctx, &args[1], &args[2], End::Right, End::Left))
}

/// LMOVE / RPOPLPUSH with source and destination on different shards (see the module docs).
pub async fn lmove_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let at = (args.len() == 5).then_some(3);
    let (from, to) = match move_ends(args, at) {
        Ok(e) => e,
        Err(e) => return e,
    };
    move_reply(move_across(core, db, args[1].clone(), args[2].clone(), from, to).await)
}

/// The steps of a cross-shard move; shared with BLMOVE's first try.
pub async fn move_across(
    core: &Core,
    db: usize,
    src: Bytes,
    dst: Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, Reply> {
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let s = src.clone();
    let len = core
        .router
        .run_on(ss, move |sh| {
            super::len_for_write(&mut ExecCtx::new(sh, db), &s)
        })
        .await
        .ok_or_else(unavailable)??;
    if len == 0 {
        return Ok(None);
    }
    let d = dst.clone();
    core.router
        .run_on(ds, move |sh| {
            coll::check::<List>(&mut ExecCtx::new(sh, db), &d)
        })
        .await
        .ok_or_else(unavailable)??;
    let s = src.clone();
    let popped = core
        .router
        .run_on(ss, move |sh| {
            pop(&mut ExecCtx::new(sh, db), &s, from, 1, false)
        })
        .await
        .ok_or_else(unavailable)??;
    let Some(v) = popped.and_then(|mut v| v.pop()) else {
        return Ok(None);
    };
    if let Err(e) = push_across(core, db, dst, v.clone(), to).await {
        // The destination changed type between the check and the push: put it back.
        let back = v.clone();
        core.router
            .run_on(ss, move |sh| {
                let _ = push(&mut ExecCtx::new(sh, db), &src, &[back], from, false);
            })
            .await;
        return Err(e);
    }
    Ok(Some(v))
}

/// Pushes `v` at `end` of `key` on its shard.
pub async fn push_across(
    core: &Core,
    db: usize,
    key: Bytes,
    v: Bytes,
    end: End,
) -> Result<usize, Reply> {
    let ds = shard_for_key(&key, core.nr_shards());
    core.router
        .run_on(ds, move |sh| {
            push(&mut ExecCtx::new(sh, db), &key, &[v], end, false)
        })
        .await
        .ok_or_else(unavailable)?
}

fn unavailable() -> Reply {
    Reply::error("ERR shard unavailable")
}

/// LMPOP / BLMPOP's arguments: `numkeys key... LEFT|RIGHT [COUNT n]` from `at` (numkeys).
pub struct MPop {
    pub keys: Vec<Bytes>,
    pub end: End,
    pub count: usize,
}

pub fn parse_mpop(args: &[Bytes], at: usize) -> Result<MPop, Reply> {
    let numkeys = parse_i64(&args[at])
        .filter(|&n| n > 0)
        .ok_or_else(|| Reply::error("ERR numkeys should be greater than 0"))?;
    let first = at + 1;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| first.checked_add(n))
        .filter(|&w| w < args.len())
        .ok_or_else(syntax_error)?;
    let end = End::parse(&args[where_at])?;
    let mut count = 1;
    let mut i = where_at + 1;
    let mut seen_count = false;
    while i < args.len() {
        if c_str(&args[i]).eq_ignore_ascii_case(b"COUNT") && i + 1 < args.len() && !seen_count {
            count = parse_i64(&args[i + 1])
                .filter(|&n| n > 0)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .ok_or_else(|| Reply::error("ERR count should be greater than 0"))?;
            seen_count = true;
            i += 2;
        } else {
            return Err(syntax_error());
        }
    }
    Ok(MPop {
        keys: args[first..where_at].to_vec(),
        end,
        count,
    })
}

/// One key of an MPOP: `Ok(Some([key, [values]]))` when it had elements.
pub fn mpop_key(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    end: End,
    count: usize,
) -> Result<Option<Reply>, Reply> {
    if super::len_for_write(ctx, key)? == 0 {
        return Ok(None);
    }
    Ok(pop(ctx, key, end, count, true)?.map(|v| mpop_reply(key, v)))
}

pub fn mpop_reply(key: &Bytes, values: Vec<Bytes>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Array(values.into_iter().map(Reply::Bulk).collect()),
    ])
}

/// MPOP over keys that live on this shard, in order.
pub fn mpop_local(ctx: &mut ExecCtx<'_>, m: &MPop) -> Result<Option<Reply>, Reply> {
    for key in &m.keys {
        if let Some(r) = mpop_key(ctx, key, m.end, m.count)? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

pub fn lmpop(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match parse_mpop(args, 1).and_then(|m| mpop_local(ctx, &m)) {
        Err(e) => e,
        Ok(r) => r.unwrap_or(Reply::NilArray),
    }
}

/// LMPOP with keys on several shards: each key in order, one hop each (see the module docs).
pub async fn lmpop_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let m = match parse_mpop(args, 1) {
        Ok(m) => m,
        Err(e) => return e,
    };
    for key in m.keys {
        let shard = shard_for_key(&key, core.nr_shards());
        let (end, count) = (m.end, m.count);
        let r = core
            .router
            .run_on(shard, move |sh| {
                mpop_key(&mut ExecCtx::new(sh, db), &key, end, count)
            })
            .await;
        match r {
            None => return unavailable(),
            Some(Err(e)) => return e,
            Some(Ok(Some(reply))) => return reply,
            Some(Ok(None)) => {}
        }
    }
    Reply::NilArray
}

//! The list side of blocking: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP. Parsing, the serve
//! function shards call for list waiters, and the non-blocking forms a one-shard MULTI runs.

use bytes::Bytes;

use super::{Block, Claim, Served, WaitSpec, block, parse_timeout};
use crate::commands::collection as coll;
use crate::commands::exec::ExecCtx;
use crate::commands::lists::{self, End};
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::shard::shard_for_key;
use crate::store::list::List;

fn end_of(front: bool) -> End {
    if front { End::Left } else { End::Right }
}

/// Serves a list waiter from `key` (see [`super::ServeFn`]).
pub fn serve(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    spec: &WaitSpec,
    claim: &Claim,
) -> Result<Option<Served>, Reply> {
    if lists::len_for_write(ctx, key)? == 0 {
        return Ok(None);
    }
    let from = end_of(spec.from_front);
    if let Some((dst, to_front)) = &spec.dst {
        let to = end_of(*to_front);
        if shard_for_key(dst, ctx.shard.nr_shards) == ctx.shard.id {
            coll::check::<List>(ctx, dst)?;
            if !claim.take() {
                return Ok(None);
            }
            let v = lists::move_local(ctx, key, dst, from, to)?;
            return Ok(v.map(|v| Served {
                reply: Reply::Bulk(v),
                undo: None,
                then: None,
            }));
        }
        if !claim.take() {
            return Ok(None);
        }
        let Some(v) = lists::pop(ctx, key, from, 1, false)?.and_then(|mut v| v.pop()) else {
            return Ok(None);
        };
        return Ok(Some(Served {
            reply: Reply::Bulk(v.clone()),
            undo: Some(vec![
                Bytes::from_static(from.push_name()),
                key.clone(),
                v.clone(),
            ]),
            then: Some(vec![Bytes::from_static(to.push_name()), dst.clone(), v]),
        }));
    }
    if !claim.take() {
        return Ok(None);
    }
    let Some(values) = lists::pop(ctx, key, from, spec.count, spec.multi)? else {
        return Ok(None);
    };
    let mut undo = vec![Bytes::from_static(from.push_name()), key.clone()];
    undo.extend(values.iter().rev().cloned());
    let reply = if spec.multi {
        lists::mpop_reply(key, values)
    } else {
        let v = values.into_iter().next().unwrap_or_default();
        Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(v)])
    };
    Ok(Some(Served {
        reply,
        undo: Some(undo),
        then: None,
    }))
}

/// A parsed blocking list command.
fn parse(db: usize, args: &[Bytes]) -> Result<Block, Reply> {
    let name = crate::commands::strings::c_str(&args[0]).to_ascii_lowercase();
    let (keys, timeout_at, spec) = match &name[..] {
        b"blpop" | b"brpop" => (
            args[1..args.len() - 1].to_vec(),
            args.len() - 1,
            WaitSpec {
                from_front: name == b"blpop",
                count: 1,
                multi: false,
                dst: None,
            },
        ),
        b"brpoplpush" | b"blmove" => {
            let at = (name == b"blmove").then_some(3);
            let (from, to) = lists::move_ends(args, at)?;
            (
                vec![args[1].clone()],
                args.len() - 1,
                WaitSpec {
                    from_front: from == End::Left,
                    count: 1,
                    multi: false,
                    dst: Some((args[2].clone(), to == End::Left)),
                },
            )
        }
        _ => {
            // BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]: the timeout is checked first.
            parse_timeout(&args[1])?;
            let m = lists::parse_mpop(args, 2)?;
            (
                m.keys,
                1,
                WaitSpec {
                    from_front: m.end == End::Left,
                    count: m.count,
                    multi: true,
                    dst: None,
                },
            )
        }
    };
    let timeout_ms = parse_timeout(&args[timeout_at])?;
    let multi_reply = if spec.dst.is_some() {
        Reply::Nil
    } else {
        Reply::NilArray
    };
    Ok(Block {
        multi_reply,
        db,
        keys,
        timeout_ms,
        spec,
        serve,
        timeout_reply: Reply::NilArray,
    })
}

/// The coordinated entry of every blocking list command.
pub async fn run(core: &Core, sess: &Session, args: &[Bytes]) -> Reply {
    let b = match parse(sess.db, args) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some((dst, _)) = &b.spec.dst {
        // The destination's type is checked before waiting, as LMOVE would.
        let d = dst.clone();
        let db = b.db;
        let shard = shard_for_key(dst, core.nr_shards());
        let r = core
            .router
            .run_on(shard, move |s| {
                coll::check::<List>(&mut ExecCtx::new(s, db), &d)
            })
            .await;
        if let Some(Err(e)) = r {
            return e;
        }
    }
    block(core, sess, b).await
}

/// The non-blocking form (all keys on this shard: a one-shard MULTI runs it), as Redis
/// answers inside MULTI: the data if any, else the timeout reply.
fn now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let parsed = parse(ctx.db, args);
    super::answer_now(ctx, parsed)
}

pub fn blpop_now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    now(ctx, args)
}

pub fn brpop_now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    now(ctx, args)
}

pub fn brpoplpush_now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    now(ctx, args)
}

pub fn blmove_now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    now(ctx, args)
}

pub fn blmpop_now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    now(ctx, args)
}

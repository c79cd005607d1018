//! The sorted-set side of blocking: BZPOPMIN, BZPOPMAX, BZMPOP. Parsing, the serve function
//! shards call for sorted-set waiters, and the non-blocking forms a one-shard MULTI runs.

use bytes::Bytes;

use super::{Block, Claim, Served, WaitSpec, block, parse_timeout};
use crate::commands::collection as coll;
use crate::commands::exec::ExecCtx;
use crate::commands::zsets;
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::store::zset::ZSet;

/// Serves a sorted-set waiter from `key` (see [`super::ServeFn`]): pops the lowest
/// (`from_front`) or highest members. The undo re-adds them with their scores.
pub fn serve(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    spec: &WaitSpec,
    claim: &Claim,
) -> Result<Option<Served>, Reply> {
    match coll::peek::<ZSet>(ctx, key)? {
        Some(z) if !z.is_empty() => {}
        _ => return Ok(None),
    }
    if !claim.take() {
        return Ok(None);
    }
    let max = !spec.from_front;
    let Some(items) = zsets::pop(ctx, key, max, spec.count.max(1))? else {
        return Ok(None);
    };
    let mut undo = vec![Bytes::from_static(b"ZADD"), key.clone()];
    for (m, s) in &items {
        undo.push(Bytes::from(crate::protocol::double::format_double(*s)));
        undo.push(m.clone());
    }
    let reply = if spec.multi {
        zsets::mpop_reply(key.clone(), items)
    } else {
        let Some((m, s)) = items.into_iter().next() else {
            return Ok(None);
        };
        Reply::Array(vec![
            Reply::Bulk(key.clone()),
            Reply::Bulk(m),
            Reply::Double(s),
        ])
    };
    Ok(Some(Served {
        reply,
        undo: Some(undo),
        then: None,
    }))
}

/// A parsed blocking sorted-set command.
fn parse(db: usize, args: &[Bytes]) -> Result<Block, Reply> {
    let name = crate::commands::strings::c_str(&args[0]).to_ascii_lowercase();
    let (keys, timeout_at, spec) = if name == b"bzmpop" {
        // BZMPOP timeout numkeys key... MIN|MAX [COUNT n]: the timeout is checked first.
        parse_timeout(&args[1])?;
        let (keys, max, count) = zsets::parse_zmpop(&args[1..])?;
        let spec = WaitSpec {
            from_front: !max,
            count,
            multi: true,
            dst: None,
        };
        (keys, 1, spec)
    } else {
        let spec = WaitSpec {
            from_front: name == b"bzpopmin",
            count: 1,
            multi: false,
            dst: None,
        };
        (args[1..args.len() - 1].to_vec(), args.len() - 1, spec)
    };
    let timeout_ms = parse_timeout(&args[timeout_at])?;
    Ok(Block {
        db,
        keys,
        timeout_ms,
        spec,
        serve,
        timeout_reply: Reply::NilArray,
        multi_reply: Reply::NilArray,
    })
}

/// The coordinated entry of every blocking sorted-set command.
pub async fn run(core: &Core, sess: &Session, args: &[Bytes]) -> Reply {
    match parse(sess.db, args) {
        Ok(b) => block(core, sess, b).await,
        Err(e) => e,
    }
}

/// The non-blocking form (all keys on this shard: a one-shard MULTI runs it), as Redis
/// answers inside MULTI: the data if any, else a nil array.
pub fn now(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let parsed = parse(ctx.db, args);
    super::answer_now(ctx, parsed)
}

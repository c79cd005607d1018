//! The list family: LPUSH and friends. Every command runs on the shard that owns its key and
//! follows the collection write protocol (`commands::collection`); LMOVE / RPOPLPUSH / LMPOP
//! are coordinated when their keys live on different shards (`moves`), and the blocking forms
//! live in `commands::blocking`.
//!
//! Effect records: `LPUSH`/`RPUSH k v...` (LPUSHX/RPUSHX journal as LPUSH/RPUSH), `LPOP`/`RPOP
//! k [n]` with the number actually popped, `LINSERT`, `LSET`, `LREM`, `LTRIM` as given (each
//! is deterministic on the state before). LMOVE is one pop record on the source and one push
//! record on the destination.

mod basic;
mod moves;
mod specs;

use bytes::Bytes;

use crate::commands::collection::{self as coll, journal};
use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, syntax_error};
use crate::protocol::Reply;
use crate::store::list::List;

pub use moves::{lmove_coord, lmpop_coord, move_ends, move_local, mpop_reply, parse_mpop};
pub use specs::SPECS;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// LEFT / RIGHT, case-insensitively.
    pub fn parse(arg: &[u8]) -> Result<End, Reply> {
        let a = c_str(arg);
        if a.eq_ignore_ascii_case(b"LEFT") {
            Ok(End::Left)
        } else if a.eq_ignore_ascii_case(b"RIGHT") {
            Ok(End::Right)
        } else {
            Err(syntax_error())
        }
    }

    pub fn pop_name(self) -> &'static [u8] {
        match self {
            End::Left => b"LPOP",
            End::Right => b"RPOP",
        }
    }

    pub fn push_name(self) -> &'static [u8] {
        match self {
            End::Left => b"LPUSH",
            End::Right => b"RPUSH",
        }
    }
}

pub(crate) fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

/// Pushes `values` at `end` of the list at `key` (created if missing unless `only_existing`),
/// journals the push, and wakes clients blocked on the key. Returns the new length (0 when
/// `only_existing` and the key is missing).
pub fn push(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    values: &[Bytes],
    end: End,
    only_existing: bool,
) -> Result<usize, Reply> {
    if only_existing && !coll::check::<List>(ctx, key)? {
        return Ok(0);
    }
    let l = coll::get_or_create::<List>(ctx, key)?;
    for v in values {
        match end {
            End::Left => l.push_front(v),
            End::Right => l.push_back(v),
        }
    }
    let len = l.len();
    journal(ctx, || {
        let mut e = Vec::with_capacity(values.len() + 2);
        e.push(Bytes::from_static(end.push_name()));
        e.push(key.clone());
        e.extend(values.iter().cloned());
        e
    });
    crate::commands::blocking::signal(ctx, key);
    Ok(len)
}

/// Pops up to `count` elements from `end` of the list at `key`, journaling `LPOP/RPOP key
/// [n]` (`with_count`: the count form) and deleting the key when it empties. `Ok(None)` when
/// the key is missing.
pub fn pop(
    ctx: &mut ExecCtx<'_>,
    key: &Bytes,
    end: End,
    count: usize,
    with_count: bool,
) -> Result<Option<Vec<Bytes>>, Reply> {
    if !coll::check::<List>(ctx, key)? {
        return Ok(None);
    }
    let Some(l) = coll::modify::<List>(ctx, key) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(count.min(l.len()));
    while out.len() < count {
        let v = match end {
            End::Left => l.pop_front(),
            End::Right => l.pop_back(),
        };
        match v {
            Some(v) => out.push(Bytes::from(v)),
            None => break,
        }
    }
    if !out.is_empty() || with_count {
        let n = out.len();
        journal(ctx, || {
            let mut e = vec![Bytes::from_static(end.pop_name()), key.clone()];
            if with_count {
                e.push(Bytes::from(n.to_string()));
            }
            e
        });
    }
    coll::remove_if_empty::<List>(ctx, key);
    Ok(Some(out))
}

/// Length of the list at `key` for a write's look (0 when missing), WRONGTYPE otherwise.
pub fn len_for_write(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Result<usize, Reply> {
    Ok(coll::peek::<List>(ctx, key)?.map_or(0, List::len))
}

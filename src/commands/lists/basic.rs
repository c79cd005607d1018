//! The one-key list commands: pushes, pops, reads by index and range, LSET, LINSERT, LREM,
//! LTRIM, LPOS.

use bytes::Bytes;

use super::{End, bulk, pop, push};
use crate::commands::collection::{self as coll, effect, journal};
use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, not_integer, syntax_error};
use crate::protocol::Reply;
use crate::store::list::List;
use crate::util::parse_i64;

fn int_or(r: Result<usize, Reply>) -> Reply {
    r.map_or_else(|e| e, |n| Reply::Integer(n as i64))
}

pub fn lpush(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    int_or(push(ctx, &args[1], &args[2..], End::Left, false))
}

pub fn rpush(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    int_or(push(ctx, &args[1], &args[2..], End::Right, false))
}

pub fn lpushx(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    int_or(push(ctx, &args[1], &args[2..], End::Left, true))
}

pub fn rpushx(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    int_or(push(ctx, &args[1], &args[2..], End::Right, true))
}

/// A positive count as LPOP / RPOP read it (one error text for junk and negatives).
fn parse_pop_count(arg: &[u8]) -> Result<usize, Reply> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(Reply::error("ERR value is out of range, must be positive")),
    }
}

fn pop_command(ctx: &mut ExecCtx<'_>, args: &[Bytes], end: End) -> Reply {
    if args.len() > 3 {
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        return crate::commands::dispatch::wrong_arity(&name);
    }
    let count = match args.get(2).map(|a| parse_pop_count(a)) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return e,
    };
    if count == Some(0) {
        // Redis answers an empty array (or nil for a missing key) without touching the list.
        return match coll::read::<List>(ctx, &args[1]) {
            Err(e) => e,
            Ok(None) => Reply::NilArray,
            Ok(Some(_)) => Reply::Array(Vec::new()),
        };
    }
    match pop(ctx, &args[1], end, count.unwrap_or(1), count.is_some()) {
        Err(e) => e,
        Ok(None) if count.is_some() => Reply::NilArray,
        Ok(None) => Reply::Nil,
        Ok(Some(v)) if count.is_some() => Reply::Array(v.into_iter().map(Reply::Bulk).collect()),
        Ok(Some(mut v)) => v.pop().map_or(Reply::Nil, Reply::Bulk),
    }
}

pub fn lpop(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Left)
}

pub fn rpop(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    pop_command(ctx, args, End::Right)
}

pub fn llen(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match coll::read::<List>(ctx, &args[1]) {
        Err(e) => e,
        Ok(l) => Reply::Integer(l.map_or(0, List::len) as i64),
    }
}

pub fn lrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return not_integer();
    };
    match coll::read::<List>(ctx, &args[1]) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(l)) => match l.clamp_range(start, stop) {
            None => Reply::Array(Vec::new()),
            Some((from, to)) => {
                Reply::Array(l.iter_from(from).take(to - from + 1).map(bulk).collect())
            }
        },
    }
}

pub fn lindex(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let Some(index) = parse_i64(&args[2]) else {
        return not_integer();
    };
    match coll::read::<List>(ctx, &args[1]) {
        Err(e) => e,
        Ok(l) => l.and_then(|l| l.get(index)).map_or(Reply::Nil, bulk),
    }
}

pub fn lset(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let Some(index) = parse_i64(&args[2]) else {
        return not_integer();
    };
    match coll::peek::<List>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::error("ERR no such key"),
        Ok(Some(l)) if l.normalize(index).is_none() => {
            return Reply::error("ERR index out of range");
        }
        Ok(Some(_)) => {}
    }
    if let Some(l) = coll::modify::<List>(ctx, key) {
        l.set(index, &args[3]);
    }
    journal(ctx, || effect(b"LSET", &[key, &args[2], &args[3]]));
    Reply::ok()
}

pub fn linsert(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let w = c_str(&args[2]);
    let after = if w.eq_ignore_ascii_case(b"AFTER") {
        true
    } else if w.eq_ignore_ascii_case(b"BEFORE") {
        false
    } else {
        return syntax_error();
    };
    match coll::peek::<List>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(l)) if !l.iter().any(|e| e == &args[3][..]) => return Reply::Integer(-1),
        Ok(Some(_)) => {}
    }
    let Some(l) = coll::modify::<List>(ctx, key) else {
        return Reply::Integer(0);
    };
    l.insert(&args[3], &args[4], after);
    let len = l.len();
    journal(ctx, || {
        effect(b"LINSERT", &[key, &args[2], &args[3], &args[4]])
    });
    crate::commands::blocking::signal(ctx, key);
    Reply::Integer(len as i64)
}

pub fn lrem(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let Some(count) = parse_i64(&args[2]) else {
        return not_integer();
    };
    match coll::peek::<List>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(l)) if !l.iter().any(|e| e == &args[3][..]) => return Reply::Integer(0),
        Ok(Some(_)) => {}
    }
    let Some(l) = coll::modify::<List>(ctx, key) else {
        return Reply::Integer(0);
    };
    let removed = l.remove(&args[3], count);
    journal(ctx, || effect(b"LREM", &[key, &args[2], &args[3]]));
    coll::remove_if_empty::<List>(ctx, key);
    Reply::Integer(removed as i64)
}

pub fn ltrim(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return not_integer();
    };
    match coll::peek::<List>(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::ok(),
        Ok(Some(l)) if l.clamp_range(start, stop) == Some((0, l.len() - 1)) => {
            return Reply::ok();
        }
        Ok(Some(_)) => {}
    }
    if let Some(l) = coll::modify::<List>(ctx, key) {
        l.trim(start, stop);
    }
    journal(ctx, || effect(b"LTRIM", &[key, &args[2], &args[3]]));
    coll::remove_if_empty::<List>(ctx, key);
    Reply::ok()
}

/// LPOS's options.
struct PosArgs {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_pos_args(args: &[Bytes]) -> Result<PosArgs, Reply> {
    let mut out = PosArgs {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < args.len() {
        let opt = c_str(&args[i]);
        let Some(val) = args.get(i + 1) else {
            return Err(syntax_error());
        };
        if opt.eq_ignore_ascii_case(b"RANK") {
            out.rank = parse_i64(val).ok_or_else(not_integer)?;
            if out.rank == 0 {
                return Err(Reply::error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if opt.eq_ignore_ascii_case(b"COUNT") {
            let n = parse_i64(val)
                .filter(|&n| n >= 0)
                .ok_or_else(|| Reply::error("ERR COUNT can't be negative"))?;
            out.count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else if opt.eq_ignore_ascii_case(b"MAXLEN") {
            let n = parse_i64(val)
                .filter(|&n| n >= 0)
                .ok_or_else(|| Reply::error("ERR MAXLEN can't be negative"))?;
            out.maxlen = usize::try_from(n).unwrap_or(usize::MAX);
        } else {
            return Err(syntax_error());
        }
        i += 2;
    }
    Ok(out)
}

pub fn lpos(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let p = match parse_pos_args(args) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let l = match coll::read::<List>(ctx, &args[1]) {
        Err(e) => return e,
        Ok(None) => {
            return if p.count.is_some() {
                Reply::Array(Vec::new())
            } else {
                Reply::Nil
            };
        }
        Ok(Some(l)) => l,
    };
    // Redis negates a negative rank; i64::MIN stays negative there, so every match counts.
    let skip = if p.rank == i64::MIN {
        0
    } else {
        p.rank.unsigned_abs() - 1
    };
    let want = match p.count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let maxlen = if p.maxlen == 0 { usize::MAX } else { p.maxlen };
    let n = l.len();
    let elem = &args[2][..];
    let mut found = Vec::new();
    let mut matches = 0u64;
    let mut scan = |idx: usize, e: &[u8]| -> bool {
        if e == elem {
            matches += 1;
            if matches > skip {
                found.push(Reply::Integer(idx as i64));
                return found.len() < want;
            }
        }
        true
    };
    if p.rank > 0 {
        for (i, e) in l.iter().enumerate().take(maxlen) {
            if !scan(i, e) {
                break;
            }
        }
    } else if n > 0 {
        for (i, e) in l.iter().rev().enumerate().take(maxlen) {
            if !scan(n - 1 - i, e) {
                break;
            }
        }
    }
    if p.count.is_some() {
        Reply::Array(found)
    } else {
        found.pop().unwrap_or(Reply::Nil)
    }
}

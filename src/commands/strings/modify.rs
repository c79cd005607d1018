//! Strings that change in place: the INCR/DECR family (integers and 80-bit long doubles),
//! APPEND, STRLEN, GETRANGE, SETRANGE. Part of the string family (`super`).

use bytes::{Bytes, BytesMut};

use super::long_double::{self, LongDouble, Operand};
use super::{Ttl, not_integer, owned, read_str, store, write_str};
use crate::commands::exec::ExecCtx;
use crate::core::Core;
use crate::protocol::Reply;
use crate::store::Value;
use crate::util::parse_i64;

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

pub(super) fn incr(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], 1)
}

pub(super) fn decr(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    incr_by(ctx, &args[1], -1)
}

pub(super) fn incrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        Some(d) => incr_by(ctx, &args[1], d),
        None => not_integer(),
    }
}

pub(super) fn decrby(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match parse_i64(&args[2]) {
        // Redis refuses to negate LLONG_MIN.
        Some(i64::MIN) => Reply::error("ERR decrement would overflow"),
        Some(d) => incr_by(ctx, &args[1], -d),
        None => not_integer(),
    }
}

/// INCRBYFLOAT in x87 `long double` arithmetic, as Redis computes it on x86-64 (see
/// [`long_double`]): the stored value is checked first, then the increment.
pub(super) fn incrbyfloat(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
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

pub(super) fn append(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
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

pub(super) fn strlen(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    match read_str(ctx, &args[1]) {
        Ok(v) => Reply::Integer(v.map_or(0, |b| b.len()) as i64),
        Err(e) => e,
    }
}

/// GETRANGE with Redis's index rules: negatives count from the end, clamp to the string.
pub(super) fn getrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
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

pub(super) fn setrange(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
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

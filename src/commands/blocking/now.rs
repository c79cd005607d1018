//! What blocking commands share before they block: the timeout argument, and the answer a
//! one-shard MULTI gets without blocking.

use super::{Block, Claim};
use crate::commands::exec::ExecCtx;
use crate::protocol::Reply;

/// The non-blocking answer of a parsed blocking command (all keys on this shard: a
/// one-shard MULTI runs it), as Redis answers inside MULTI: the first key with data serves,
/// else the command's MULTI reply.
pub fn answer_now(ctx: &mut ExecCtx<'_>, parsed: Result<Block, Reply>) -> Reply {
    let b = match parsed {
        Ok(b) => b,
        Err(e) => return e,
    };
    for key in &b.keys {
        match (b.serve)(ctx, key, &b.spec, &Claim::default()) {
            Err(e) => return e,
            Ok(Some(s)) => return s.reply,
            Ok(None) => {}
        }
    }
    b.multi_reply
}

/// Parses a blocking timeout in seconds (a double) with Redis's errors; `None` = forever.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<u64>, Reply> {
    let secs = std::str::from_utf8(arg)
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with(char::is_whitespace))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| !v.is_nan())
        .ok_or_else(|| Reply::error("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    // Redis converts to a signed 64-bit count of milliseconds: past 2^63 the conversion turns
    // negative, so huge timeouts get the same error as negative ones, and anything below
    // blocks (9.2e15 seconds is, in practice, forever).
    if !(0.0..TWO_POW_63).contains(&ms) {
        return Err(Reply::error("ERR timeout is negative"));
    }
    Ok((ms > 0.0).then_some(ms as u64))
}

/// 2^63 as a double: the first millisecond count a signed 64-bit integer cannot hold.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<Option<u64>, Reply>) -> String {
        match r {
            Err(Reply::Error(e)) => String::from_utf8_lossy(&e).into_owned(),
            other => panic!("not an error: {:?}", other.map_err(|_| ())),
        }
    }

    #[test]
    fn timeouts_as_redis_7_0_takes_them() {
        assert_eq!(parse_timeout(b"0").ok(), Some(None));
        assert_eq!(parse_timeout(b"1.5").ok(), Some(Some(1500)));
        // A fraction of a millisecond still times out (rounded up), never "forever".
        assert_eq!(parse_timeout(b"0.0001").ok(), Some(Some(1)));
        // Redis 7.0.15 blocks on these (checked against redis-server side by side).
        assert_eq!(
            parse_timeout(b"9e15").ok(),
            Some(Some(9_000_000_000_000_000_000))
        );
        assert!(matches!(parse_timeout(b"9.22337203685477e15"), Ok(Some(_))));
        for huge in ["9.3e15", "1e16", "1e308", "-1", "-0.001"] {
            assert_eq!(
                err(parse_timeout(huge.as_bytes())),
                "ERR timeout is negative",
                "{huge}"
            );
        }
        for bad in ["abc", "", " 1", "nan"] {
            assert_eq!(
                err(parse_timeout(bad.as_bytes())),
                "ERR timeout is not a float or out of range",
                "{bad:?}"
            );
        }
    }
}

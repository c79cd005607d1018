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
    if !(0.0..9.0e18).contains(&ms) {
        return Err(Reply::error("ERR timeout is negative"));
    }
    Ok((ms > 0.0).then_some(ms as u64))
}

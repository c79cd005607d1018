//! Ranges: score (`(1.5`, `-inf`), lex (`[a`, `(b`, `-`, `+`) and rank, the ZRANGE option
//! grammar shared by ZRANGE, ZRANGESTORE and the legacy Z[REV]RANGE[BYSCORE|BYLEX], and the
//! translation of any range into a rank interval of a [`ZSet`].

use bytes::Bytes;

use crate::commands::strings::{c_str, not_integer, syntax_error};
use crate::protocol::Reply;
use crate::protocol::inline::is_c_space;
use crate::store::zset::ZSet;
use crate::util::parse_i64;

/// A score interval, as Redis's `zrangespec`.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub min_ex: bool,
    pub max: f64,
    pub max_ex: bool,
}

/// One end of a lex interval, as Redis's `zlexrangespec`.
#[derive(Clone, Debug)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

#[derive(Clone, Debug)]
pub enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexBound, LexBound),
}

pub fn score_range_error() -> Reply {
    Reply::error("ERR min or max is not a float")
}

pub fn lex_range_error() -> Reply {
    Reply::error("ERR min or max not valid string range item")
}

/// A range end read as Redis's `zslParseRange` does, with bare `strtod`: leading spaces are
/// skipped, the empty string is 0, overflow is infinity; NaN and trailing bytes are refused.
fn parse_range_double(arg: &[u8]) -> Option<f64> {
    let text = c_str(arg);
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text.iter().position(|&c| !is_c_space(c))?;
    let text = &text[start..];
    if let Some(v) = crate::protocol::parse_double(text) {
        return Some(v);
    }
    // What string2d refuses but strtod takes: out-of-range values (1e400 -> inf).
    let v: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let word = text
        .iter()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'));
    (!v.is_nan() && !word).then_some(v)
}

fn score_end(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.first() {
        Some(b'(') => parse_range_double(&arg[1..]).map(|v| (v, true)),
        _ => parse_range_double(arg).map(|v| (v, false)),
    }
}

pub fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    let (min, min_ex) = score_end(min).ok_or_else(score_range_error)?;
    let (max, max_ex) = score_end(max).ok_or_else(score_range_error)?;
    Ok(ScoreRange {
        min,
        min_ex,
        max,
        max_ex,
    })
}

fn lex_end(arg: &Bytes) -> Option<LexBound> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 => Some(LexBound::Max),
        Some(b'-') if arg.len() == 1 => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Excl(arg.slice(1..))),
        Some(b'[') => Some(LexBound::Incl(arg.slice(1..))),
        _ => None,
    }
}

pub fn parse_lex_range(min: &Bytes, max: &Bytes) -> Result<(LexBound, LexBound), Reply> {
    match (lex_end(min), lex_end(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(lex_range_error()),
    }
}

/// Members below a lex range's minimum.
fn lex_before_min(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(x) => m < &x[..],
        LexBound::Excl(x) => m <= &x[..],
    }
}

/// Members up to a lex range's maximum.
fn lex_upto_max(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(x) => m <= &x[..],
        LexBound::Excl(x) => m < &x[..],
    }
}

/// The ranks `lo..hi` of the elements in a score range.
pub fn score_ranks(z: &ZSet, r: &ScoreRange) -> (usize, usize) {
    let lo = z.count_while(|_, s| if r.min_ex { s <= r.min } else { s < r.min });
    let hi = z.count_while(|_, s| if r.max_ex { s < r.max } else { s <= r.max });
    (lo, hi.max(lo))
}

/// The ranks `lo..hi` of the elements in a lex range (members of equal scores).
pub fn lex_ranks(z: &ZSet, min: &LexBound, max: &LexBound) -> (usize, usize) {
    let lo = z.count_while(|m, _| lex_before_min(min, m));
    let hi = z.count_while(|m, _| lex_upto_max(max, m));
    (lo, hi.max(lo))
}

/// Redis's index sanitising for rank ranges: the ranks `lo..hi` that `start..=stop` name
/// (negative = from the end), counted from the end when `rev`; empty when out of range.
pub fn rank_ranks(len: usize, start: i64, stop: i64, rev: bool) -> (usize, usize) {
    let n = len as i64;
    let mut start = if start < 0 { n + start } else { start };
    let mut stop = if stop < 0 { n + stop } else { stop };
    start = start.max(0);
    if start > stop || start >= n {
        return (0, 0);
    }
    stop = stop.min(n - 1);
    if rev {
        ((n - 1 - stop) as usize, (n - start) as usize)
    } else {
        (start as usize, (stop + 1) as usize)
    }
}

/// A parsed ZRANGE-family request.
#[derive(Clone, Debug)]
pub struct RangeQuery {
    pub spec: RangeSpec,
    pub rev: bool,
    pub with_scores: bool,
    pub offset: i64,
    /// -1: no limit.
    pub limit: i64,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Rank,
    Score,
    Lex,
}

/// Parses `min max [options]` starting at `args[at]`, as Redis's `zrangeGenericCommand`:
/// `kind`/`rev` are fixed by the legacy commands (then BYSCORE/BYLEX/REV are syntax errors);
/// `store` (ZRANGESTORE) refuses WITHSCORES.
pub fn parse_query(
    args: &[Bytes],
    at: usize,
    kind: Option<Kind>,
    rev: Option<bool>,
    store: bool,
) -> Result<RangeQuery, Reply> {
    let (mut kind_opt, mut rev_opt) = (kind, rev);
    let mut with_scores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = at + 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let opt = c_str(&args[j]);
        if !store && opt.eq_ignore_ascii_case(b"WITHSCORES") {
            with_scores = true;
        } else if opt.eq_ignore_ascii_case(b"LIMIT") && left >= 2 {
            offset = parse_i64(&args[j + 1]).ok_or_else(not_integer)?;
            limit = parse_i64(&args[j + 2]).ok_or_else(not_integer)?;
            j += 2;
        } else if rev_opt.is_none() && opt.eq_ignore_ascii_case(b"REV") {
            rev_opt = Some(true);
        } else if kind_opt.is_none() && opt.eq_ignore_ascii_case(b"BYLEX") {
            kind_opt = Some(Kind::Lex);
        } else if kind_opt.is_none() && opt.eq_ignore_ascii_case(b"BYSCORE") {
            kind_opt = Some(Kind::Score);
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    let rev = rev_opt.unwrap_or(false);
    let kind = kind_opt.unwrap_or(Kind::Rank);
    if limit != -1 && kind == Kind::Rank {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == Kind::Lex {
        return Err(Reply::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min, mut max) = (&args[at], &args[at + 1]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let spec = match kind {
        Kind::Rank => RangeSpec::Rank(
            parse_i64(min).ok_or_else(not_integer)?,
            parse_i64(max).ok_or_else(not_integer)?,
        ),
        Kind::Score => RangeSpec::Score(parse_score_range(min, max)?),
        Kind::Lex => {
            let (a, b) = parse_lex_range(min, max)?;
            RangeSpec::Lex(a, b)
        }
    };
    Ok(RangeQuery {
        spec,
        rev,
        with_scores,
        offset,
        limit,
    })
}

/// The elements a query selects, in reply order.
pub fn select(z: &ZSet, q: &RangeQuery) -> Vec<(Bytes, f64)> {
    let (lo, hi) = match &q.spec {
        RangeSpec::Rank(a, b) => {
            let (lo, hi) = rank_ranks(z.len(), *a, *b, q.rev);
            return z.range(lo, hi, q.rev);
        }
        RangeSpec::Score(r) => score_ranks(z, r),
        RangeSpec::Lex(a, b) => lex_ranks(z, a, b),
    };
    if q.offset < 0 || (q.offset > 0 && q.offset as u64 >= z.len() as u64) {
        return Vec::new();
    }
    let offset = q.offset as usize;
    let count = hi - lo;
    if offset >= count {
        return Vec::new();
    }
    let take = if q.limit < 0 {
        count - offset
    } else {
        (q.limit as u64).min((count - offset) as u64) as usize
    };
    if q.rev {
        let end = hi - offset;
        z.range(end - take, end, true)
    } else {
        z.range(lo + offset, lo + offset + take, false)
    }
}

//! Parsing client requests out of the bytes read from a connection.
//!
//! A port of Redis 7.0's `processInlineBuffer` and `processMultibulkBuffer`: the same
//! requests are accepted, the same ones are refused with the same `Protocol error: ...` text,
//! and the same limits apply, including the tighter ones before `AUTH`.
//!
//! # Contract
//! - [`RequestParser::parse`] consumes exactly the bytes of the requests it returns (and of
//!   the empty requests it skips), and leaves the rest in the buffer.
//! - Splitting the input at any point gives the same requests and the same error: state
//!   that Redis keeps in its client (`multibulklen`, `bulklen`, the `argv` built so far)
//!   lives in the parser, so a huge request arriving in small reads is not re-parsed from
//!   its start each time, and a line is searched for its end only once.
//! - Nothing is allocated in proportion to a length the client *claims*: the argument
//!   vector starts at most 1024 long, and a bulk's payload is only ever the bytes received.
//! - After an error the connection answers `-ERR <message>` ([`ProtocolError::to_reply`])
//!   and closes; the parser is not used again.
//!
//! # Differences from Redis
//! Redis searches lines with `strchr`, which stops at a NUL byte; here NUL is an ordinary
//! byte. And Redis checks a line's length only while its terminator has not arrived, so
//! whether a long line is accepted depends on how it was split into reads; here a line is
//! too long when its terminator is not within its first `max_inline_bytes + 1` bytes, which
//! is what Redis decides when the line arrives in pieces.

use bytes::{Buf, Bytes, BytesMut};

use super::inline::split_args;
use super::reply::Reply;

/// Before `AUTH`, a request may have at most this many arguments (Redis's fixed limit).
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: usize = 10;

/// Before `AUTH`, an argument may be at most this many bytes (Redis's fixed limit).
pub const UNAUTHENTICATED_MAX_BULK_BYTES: usize = 16 * 1024;

/// The argument vector of a multibulk request starts at most this long and grows as
/// arguments actually arrive, so `*1000000000\r\n` costs nothing up front (Redis does the
/// same).
const MAX_PREALLOCATED_ARGS: usize = 1024;

/// The size limits on a request, each one Redis's setting of the same purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Longest inline request line, and longest `*<count>` / `$<len>` header line
    /// (Redis `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_bytes: usize,
    /// Longest argument of a multibulk request (Redis `proto-max-bulk-len`, 512 MB).
    pub max_bulk_bytes: usize,
    /// Most arguments in a multibulk request (Redis: `INT_MAX`).
    pub max_multibulk_len: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_inline_bytes: 64 * 1024,
            max_bulk_bytes: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
        }
    }
}

/// One complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command name and its arguments; never empty.
    pub args: Vec<Bytes>,
    /// Whether the request came as an inline line rather than a RESP array.
    pub inline: bool,
}

/// Why a connection's input is not a valid request stream. Each variant is one
/// `Protocol error` of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// An inline line without `\n` in its first `max_inline_bytes + 1` bytes.
    TooBigInlineRequest,
    /// An inline line whose quotes do not balance.
    UnbalancedQuotes,
    /// A `*<count>` line without `\r` in its first `max_inline_bytes + 1` bytes.
    TooBigMultibulkCount,
    /// A `*<count>` that is not an integer or is above `max_multibulk_len`.
    InvalidMultibulkLength,
    /// A `*<count>` above 10 before `AUTH`.
    UnauthenticatedMultibulkLength,
    /// A `$<len>` line without `\r` in its first `max_inline_bytes + 1` bytes.
    TooBigBulkCount,
    /// An argument header not starting with `$`; holds the byte found instead.
    ExpectedDollar(u8),
    /// A `$<len>` that is not an integer, is negative or is above `max_bulk_bytes`.
    InvalidBulkLength,
    /// A `$<len>` above 16384 before `AUTH`.
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// Redis's message, e.g. `Protocol error: invalid multibulk length`; the connection sends
    /// `-ERR <message>\r\n` and closes.
    ///
    /// For [`ProtocolError::ExpectedDollar`] with a byte above 0x7f, the byte is shown as the
    /// Unicode character of the same number; [`ProtocolError::to_reply`] has the raw byte,
    /// as Redis sends it.
    pub fn message(&self) -> String {
        let condition = match self {
            ProtocolError::TooBigInlineRequest => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(got) => {
                let got = char::from(printable(*got));
                return format!("Protocol error: expected '$', got '{got}'");
            }
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
        };
        format!("Protocol error: {condition}")
    }

    /// The error reply to send, byte for byte what Redis sends: `ERR ` and the message.
    pub fn to_reply(&self) -> Reply {
        let mut text = Vec::from(&b"ERR "[..]);
        match self {
            ProtocolError::ExpectedDollar(got) => {
                text.extend_from_slice(b"Protocol error: expected '$', got '");
                text.push(printable(*got));
                text.push(b'\'');
            }
            other => text.extend_from_slice(other.message().as_bytes()),
        }
        Reply::Error(Bytes::from(text))
    }
}

/// Redis replaces CR and LF in error messages with spaces, so the reply stays one line.
fn printable(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' { b' ' } else { b }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ProtocolError {}

/// Incremental request parser for one connection.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the multibulk request being assembled (Redis `argv`).
    args: Vec<Bytes>,
    /// Arguments still to read; 0 between requests (Redis `multibulklen`).
    remaining_args: usize,
    /// Payload length of the argument whose `$` header is consumed (Redis `bulklen`).
    bulk_len: Option<usize>,
    /// Leading bytes of the buffer already searched for the current line's terminator, so a
    /// line arriving a byte at a time is scanned once in total, not once per byte.
    scanned_bytes: usize,
}

/// The outcome of looking for the end of a line.
enum LineEnd {
    /// The terminator's index.
    At(usize),
    NeedMore,
    TooLong,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next complete request at the front of `buf`, consuming exactly its bytes.
    ///
    /// # Returns
    /// - `Ok(Some(request))`: a request with at least one argument.
    /// - `Ok(None)`: more bytes are needed. Empty requests (`*0\r\n`, `*-1\r\n`, blank inline
    ///   lines) were consumed and skipped, as Redis skips them; a partial multibulk request
    ///   may have been moved into the parser.
    /// - `Err(e)`: the stream is invalid; answer [`ProtocolError::to_reply`] and close.
    ///
    /// `authenticated == false` applies Redis's limits for clients that still have to `AUTH`.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
        authenticated: bool,
    ) -> Result<Option<Request>, ProtocolError> {
        if self.remaining_args == 0
            && let Some(req) = fast_multibulk(buf, limits, authenticated)
        {
            // A header the general path left incomplete may have been searched already.
            self.scanned_bytes = 0;
            return Ok(Some(req));
        }
        while self.remaining_args == 0 {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first == b'*' {
                if !self.read_multibulk_count(buf, limits, authenticated)? {
                    return Ok(None);
                }
            } else {
                match self.read_inline(buf, limits)? {
                    None => return Ok(None),
                    Some(args) if args.is_empty() => {}
                    Some(args) => return Ok(Some(Request { args, inline: true })),
                }
            }
        }
        self.read_bulks(buf, limits, authenticated)
    }

    /// Reads one inline line. `Ok(Some(vec![]))` is a blank line, to be skipped.
    fn read_inline(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let newline = match self.find_line_end(buf, b'\n', limits.max_inline_bytes) {
            LineEnd::At(newline) => newline,
            LineEnd::NeedMore => return Ok(None),
            LineEnd::TooLong => return Err(ProtocolError::TooBigInlineRequest),
        };
        let line_len = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let args = split_args(&buf[..line_len]).ok_or(ProtocolError::UnbalancedQuotes)?;
        self.consume_line(buf, newline + 1);
        Ok(Some(args.into_iter().map(Bytes::from).collect()))
    }

    /// Reads a `*<count>\r\n` line, starting a multibulk request unless the count is <= 0.
    ///
    /// # Returns
    /// Whether the line was complete (and consumed).
    fn read_multibulk_count(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
        authenticated: bool,
    ) -> Result<bool, ProtocolError> {
        let Some(cr) = self.find_header_end(buf, limits, ProtocolError::TooBigMultibulkCount)?
        else {
            return Ok(false);
        };
        let count = string2ll(&buf[1..cr])
            .filter(|&n| n <= limit_as_i64(limits.max_multibulk_len))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if !authenticated && count > limit_as_i64(UNAUTHENTICATED_MAX_MULTIBULK_LEN) {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        // Like Redis, the byte after `\r` is skipped without checking it is `\n`.
        self.consume_line(buf, cr + 2);
        if let Ok(count @ 1..) = usize::try_from(count) {
            self.remaining_args = count;
            self.args = Vec::with_capacity(count.min(MAX_PREALLOCATED_ARGS));
        }
        Ok(true)
    }

    /// Reads the arguments of the multibulk request in progress.
    fn read_bulks(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
        authenticated: bool,
    ) -> Result<Option<Request>, ProtocolError> {
        while self.remaining_args > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match self.read_bulk_header(buf, limits, authenticated)? {
                    Some(len) => len,
                    None => return Ok(None),
                },
            };
            self.bulk_len = Some(len);
            // The payload and the two bytes after it, which Redis skips without checking.
            if buf.len() < len.saturating_add(2) {
                return Ok(None);
            }
            let arg = buf.split_to(len).freeze();
            buf.advance(2);
            self.args.push(arg);
            self.bulk_len = None;
            self.remaining_args -= 1;
        }
        let args = std::mem::take(&mut self.args);
        Ok(Some(Request {
            args,
            inline: false,
        }))
    }

    /// Reads a `$<len>\r\n` line; `Ok(None)` if it is not complete yet.
    fn read_bulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.find_header_end(buf, limits, ProtocolError::TooBigBulkCount)? else {
            return Ok(None);
        };
        if buf[0] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[0]));
        }
        let len = string2ll(&buf[1..cr])
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= limits.max_bulk_bytes)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        if !authenticated && len > UNAUTHENTICATED_MAX_BULK_BYTES {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        self.consume_line(buf, cr + 2);
        Ok(Some(len))
    }

    /// Finds the `\r` ending a `*` or `$` header line, which must be followed by one more
    /// byte before the line counts as complete.
    fn find_header_end(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
        too_long: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        match self.find_line_end(buf, b'\r', limits.max_inline_bytes) {
            LineEnd::At(cr) if cr + 2 <= buf.len() => Ok(Some(cr)),
            LineEnd::At(_) | LineEnd::NeedMore => Ok(None),
            LineEnd::TooLong => Err(too_long),
        }
    }

    /// Looks for `terminator` within the first `max_line_bytes + 1` bytes of `buf`, resuming
    /// where the previous call for the same line stopped.
    fn find_line_end(&mut self, buf: &[u8], terminator: u8, max_line_bytes: usize) -> LineEnd {
        let window_end = buf.len().min(max_line_bytes.saturating_add(1));
        let from = self.scanned_bytes.min(window_end);
        if let Some(offset) = buf[from..window_end].iter().position(|&b| b == terminator) {
            // Resume at the terminator: a header line may still wait for the byte after it.
            self.scanned_bytes = from + offset;
            return LineEnd::At(from + offset);
        }
        self.scanned_bytes = window_end;
        if buf.len() > max_line_bytes {
            LineEnd::TooLong
        } else {
            LineEnd::NeedMore
        }
    }

    /// Drops a complete line from the front of `buf`; the next line is searched afresh.
    fn consume_line(&mut self, buf: &mut BytesMut, len: usize) {
        buf.advance(len);
        self.scanned_bytes = 0;
    }
}

/// Most arguments a request may have to take [`fast_multibulk`]; longer ones take the
/// general path.
const FAST_MAX_ARGS: usize = 16;

/// The common case in one pass: a complete multibulk request of at most [`FAST_MAX_ARGS`]
/// arguments at the front of `buf`, every count plain decimal within the limits.
///
/// The request's bytes leave the buffer as one frozen block and each argument is a slice of
/// it: one split and one reference count per argument, instead of a split and two advances
/// per line. Anything else (an incomplete request, a malformed or out-of-limit header, a
/// leading zero or sign) returns `None` without consuming anything, and the general path
/// decides, so both paths accept and refuse exactly the same inputs.
fn fast_multibulk(
    buf: &mut BytesMut,
    limits: &ParseLimits,
    authenticated: bool,
) -> Option<Request> {
    // Headers here are at most 12 bytes; a smaller line limit is the general path's call.
    if limits.max_inline_bytes < 16 {
        return None;
    }
    let b: &[u8] = buf;
    let (count, mut pos) = fast_header(b, 0, b'*')?;
    if count == 0 || count > FAST_MAX_ARGS || count > limits.max_multibulk_len {
        return None;
    }
    if !authenticated && count > UNAUTHENTICATED_MAX_MULTIBULK_LEN {
        return None;
    }
    let max_bulk = if authenticated {
        limits.max_bulk_bytes
    } else {
        limits.max_bulk_bytes.min(UNAUTHENTICATED_MAX_BULK_BYTES)
    };
    let mut ranges = [(0usize, 0usize); FAST_MAX_ARGS];
    for range in ranges.iter_mut().take(count) {
        let (len, start) = fast_header(b, pos, b'$')?;
        if len > max_bulk {
            return None;
        }
        let end = start.checked_add(len)?;
        // The payload and the two bytes after it, which Redis skips without checking.
        if end.checked_add(2)? > b.len() {
            return None;
        }
        *range = (start, end);
        pos = end + 2;
    }
    let whole = buf.split_to(pos).freeze();
    let args = ranges[..count]
        .iter()
        .map(|&(start, end)| whole.slice(start..end))
        .collect();
    Some(Request {
        args,
        inline: false,
    })
}

/// A `<marker><digits>\r<any byte>` header at `at`: its value and where the next line
/// starts. `None` for anything the general path must judge (no digits, a leading zero or
/// sign, more than 10 digits, a line that is not complete).
#[inline]
fn fast_header(b: &[u8], at: usize, marker: u8) -> Option<(usize, usize)> {
    if *b.get(at)? != marker {
        return None;
    }
    let mut i = at + 1;
    let mut value = 0usize;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        value = value * 10 + usize::from(c - b'0');
        i += 1;
    }
    let digits = i - at - 1;
    if digits == 0 || digits > 10 || (b[at + 1] == b'0' && digits > 1) {
        return None;
    }
    // `\r` then one more byte, which Redis skips without checking it is `\n`.
    if *b.get(i)? != b'\r' || i + 1 >= b.len() {
        return None;
    }
    Some((value, i + 2))
}

fn limit_as_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Protocol lengths are parsed exactly as Redis's `string2ll`, the same rules as command
/// arguments: one implementation for both.
use crate::util::parse_i64 as string2ll;

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

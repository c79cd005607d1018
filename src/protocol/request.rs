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

fn limit_as_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Longest text `string2ll` considers: Redis's `LONG_STR_SIZE` (21) minus one.
const MAX_I64_TEXT_BYTES: usize = 20;

/// Parses a protocol length exactly as Redis's `string2ll`. (Command arguments use
/// `crate::util::parse_i64`, the same rules; this copy keeps `protocol` free of other
/// modules.)
///
/// # Accepts
/// An optional `-` and decimal digits without leading zeros (`0`, `-5`, `123`), in range.
///
/// # Rejects
/// Empty input, `+`, spaces, leading zeros (`01`), `-0`, anything longer than 20 bytes, and
/// values outside `i64`.
fn string2ll(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > MAX_I64_TEXT_BYTES {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What parsing a byte stream produced: the requests, the error that stopped it if any,
    /// and how many bytes were left unconsumed.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        requests: Vec<Request>,
        error: Option<ProtocolError>,
        leftover_bytes: usize,
    }

    /// Parses requests from `buf` until more bytes are needed or an error occurs.
    fn drain(
        parser: &mut RequestParser,
        buf: &mut BytesMut,
        limits: &ParseLimits,
        authenticated: bool,
        out: &mut Outcome,
    ) {
        while out.error.is_none() {
            match parser.parse(buf, limits, authenticated) {
                Ok(Some(request)) => out.requests.push(request),
                Ok(None) => break,
                Err(e) => out.error = Some(e),
            }
        }
        out.leftover_bytes = buf.len();
    }

    /// Feeds `input` in pieces ending at `cuts` (ascending), then the rest.
    fn parse_split(input: &[u8], cuts: &[usize], limits: &ParseLimits, auth: bool) -> Outcome {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut out = Outcome {
            requests: vec![],
            error: None,
            leftover_bytes: 0,
        };
        let mut fed = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            if out.error.is_some() {
                break;
            }
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            drain(&mut parser, &mut buf, limits, auth, &mut out);
        }
        out
    }

    fn parse_whole(input: &[u8]) -> Outcome {
        parse_split(input, &[], &ParseLimits::default(), true)
    }

    fn parse_bytewise(input: &[u8], limits: &ParseLimits, auth: bool) -> Outcome {
        let cuts: Vec<usize> = (1..input.len()).collect();
        parse_split(input, &cuts, limits, auth)
    }

    fn args_of(out: &Outcome) -> Vec<Vec<&[u8]>> {
        out.requests
            .iter()
            .map(|r| r.args.iter().map(|a| &a[..]).collect())
            .collect()
    }

    fn error_of(input: &[u8], limits: &ParseLimits, authenticated: bool) -> String {
        let out = parse_split(input, &[], limits, authenticated);
        out.error
            .map(|e| e.message())
            .unwrap_or_else(|| format!("no error: {out:?}"))
    }

    fn small_limits() -> ParseLimits {
        ParseLimits {
            max_inline_bytes: 16,
            max_bulk_bytes: 32,
            max_multibulk_len: 8,
        }
    }

    /// A tiny deterministic PRNG (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn encode_multibulk(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn multibulk_request() {
        let out = parse_whole(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
        assert_eq!(args_of(&out), vec![vec![&b"SET"[..], b"k", b"hello"]]);
        assert!(!out.requests[0].inline);
        assert_eq!((out.error, out.leftover_bytes), (None, 0));
    }

    #[test]
    fn multibulk_arguments_are_binary_safe_and_may_be_empty() {
        let out = parse_whole(b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n\r\n\0\xff\r\n");
        assert_eq!(args_of(&out), vec![vec![&b"SET"[..], b"", b"\r\n\0\xff"]]);
    }

    #[test]
    fn inline_requests() {
        let out = parse_whole(b"PING\r\nSET k \"a b\"\nGET 'k'\r\n");
        assert_eq!(
            args_of(&out),
            vec![
                vec![&b"PING"[..]],
                vec![b"SET", b"k", b"a b"],
                vec![b"GET", b"k"]
            ]
        );
        assert!(out.requests.iter().all(|r| r.inline));
        assert_eq!(out.leftover_bytes, 0);
    }

    #[test]
    fn inline_strips_only_one_cr_and_splits_on_inner_cr() {
        let out = parse_whole(b"a\r\r\nb\rc\n");
        assert_eq!(args_of(&out), vec![vec![&b"a"[..]], vec![b"b", b"c"]]);
    }

    #[test]
    fn empty_requests_are_skipped() {
        let out = parse_whole(b"*0\r\n*-1\r\n\r\n\n   \t\r\n*-100\r\nPING\r\n*0\r\n");
        assert_eq!(args_of(&out), vec![vec![&b"PING"[..]]]);
        assert_eq!((out.error, out.leftover_bytes), (None, 0));
    }

    #[test]
    fn incomplete_requests_wait_for_more_bytes() {
        for input in [
            &b"*"[..],
            b"*2",
            b"*2\r",
            b"*2\r\n$3",
            b"*2\r\n$3\r",
            b"*2\r\n$3\r\nGET",
            b"*2\r\n$3\r\nGET\r",
            b"*2\r\n$3\r\nGET\r\n",
            b"PING",
            b"PING\r",
            b"SET k \"unterminated",
        ] {
            let out = parse_whole(input);
            assert_eq!((out.requests.len(), out.error), (0, None), "{input:?}");
        }
    }

    #[test]
    fn trailing_bytes_after_headers_and_payloads_are_skipped_unchecked() {
        let out = parse_whole(b"*1\rX$3\rYfooZZ*1\r\n$1\r\na\r\n");
        assert_eq!(args_of(&out), vec![vec![&b"foo"[..]], vec![b"a"]]);
    }

    #[test]
    fn pipeline_of_many_requests() {
        let mut input = Vec::new();
        for i in 0..1000 {
            if i % 3 == 0 {
                input.extend_from_slice(format!("SET key{i} value{i}\r\n").as_bytes());
            } else {
                let key = format!("key{i}");
                input.extend_from_slice(&encode_multibulk(&[b"GET", key.as_bytes()]));
            }
        }
        let out = parse_whole(&input);
        assert_eq!(
            (out.requests.len(), out.error, out.leftover_bytes),
            (1000, None, 0)
        );
        assert_eq!(out.requests[999].args[1], Bytes::from("key999"));
        assert!(out.requests[999].inline);
        assert_eq!(out.requests[998].args[0], Bytes::from("GET"));
    }

    #[test]
    fn byte_at_a_time_gives_the_same_result_as_whole() {
        let mut input = Vec::new();
        for i in 0..200 {
            let value = vec![b'v'; i * 7 % 300];
            input.extend_from_slice(&encode_multibulk(&[
                b"SET",
                format!("k{i}").as_bytes(),
                &value,
            ]));
            input.extend_from_slice(b"*0\r\nPING \"a\\x41\"\r\n\r\n");
        }
        let whole = parse_whole(&input);
        let bytewise = parse_bytewise(&input, &ParseLimits::default(), true);
        assert_eq!(whole.requests.len(), 400);
        assert_eq!(whole, bytewise);
    }

    #[test]
    fn random_splits_give_the_same_result_as_whole() {
        let mut rng = Rng(7);
        let mut input = Vec::new();
        for i in 0..300u32 {
            let arg = vec![b'x'; rng.below(100)];
            input.extend_from_slice(&encode_multibulk(&[b"RPUSH", &i.to_be_bytes(), &arg]));
        }
        let whole = parse_whole(&input);
        for _ in 0..50 {
            let mut cuts: Vec<usize> = (0..rng.below(40)).map(|_| rng.below(input.len())).collect();
            cuts.sort_unstable();
            assert_eq!(
                parse_split(&input, &cuts, &ParseLimits::default(), true),
                whole
            );
        }
    }

    #[test]
    fn multibulk_count_errors() {
        let d = ParseLimits::default();
        for input in [
            &b"*abc\r\n"[..],
            b"*\r\n",
            b"*-0\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*2147483648\r\n",
            b"*99999999999999999999\r\n",
            b"*1\0\r\n",
        ] {
            assert_eq!(
                error_of(input, &d, true),
                "Protocol error: invalid multibulk length"
            );
        }
        assert_eq!(
            error_of(b"*9\r\n", &small_limits(), true),
            "Protocol error: invalid multibulk length"
        );
        let long = [&b"*"[..], &[b'1'; 64 * 1024]].concat();
        assert_eq!(
            error_of(&long, &d, true),
            "Protocol error: too big mbulk count string"
        );
        assert_eq!(parse_whole(&long[..64 * 1024]).error, None);
    }

    #[test]
    fn unauthenticated_limits() {
        let d = ParseLimits::default();
        assert_eq!(
            error_of(b"*11\r\n", &d, false),
            "Protocol error: unauthenticated multibulk length"
        );
        assert_eq!(
            error_of(b"*1\r\n$16385\r\n", &d, false),
            "Protocol error: unauthenticated bulk length"
        );
        // At the limits, and above them once authenticated, the requests are fine.
        let ten_args = encode_multibulk(&[&b"x"[..]; 10]);
        assert_eq!(parse_split(&ten_args, &[], &d, false).requests.len(), 1);
        let big_arg = encode_multibulk(&[&[b'a'; 16384][..]]);
        assert_eq!(parse_split(&big_arg, &[], &d, false).requests.len(), 1);
        let eleven_args = encode_multibulk(&[&b"x"[..]; 11]);
        assert_eq!(parse_split(&eleven_args, &[], &d, true).requests.len(), 1);
        // Invalid lengths are reported as invalid before they are reported as unauthenticated.
        assert_eq!(
            error_of(b"*2147483648\r\n", &d, false),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            error_of(b"*1\r\n$-5\r\n", &d, false),
            "Protocol error: invalid bulk length"
        );
        // Empty requests are skipped before AUTH too.
        assert_eq!(parse_split(b"*-1\r\n*0\r\n", &[], &d, false).error, None);
    }

    #[test]
    fn bulk_errors() {
        let d = ParseLimits::default();
        for input in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$\r\n",
            b"*1\r\n$abc\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$+1\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$99999999999999999999999\r\n",
        ] {
            assert_eq!(
                error_of(input, &d, true),
                "Protocol error: invalid bulk length",
                "{input:?}"
            );
        }
        assert_eq!(
            error_of(b"*1\r\n$33\r\n", &small_limits(), true),
            "Protocol error: invalid bulk length"
        );
        let long = [&b"*1\r\n$"[..], &[b'1'; 64 * 1024]].concat();
        assert_eq!(
            error_of(&long, &d, true),
            "Protocol error: too big bulk count string"
        );
        let long_no_dollar = [&b"*1\r\n"[..], &[b'x'; 64 * 1024 + 1]].concat();
        assert_eq!(
            error_of(&long_no_dollar, &d, true),
            "Protocol error: too big bulk count string"
        );
    }

    #[test]
    fn expected_dollar_names_the_byte() {
        let d = ParseLimits::default();
        assert_eq!(
            error_of(b"*1\r\nfoo\r\n", &d, true),
            "Protocol error: expected '$', got 'f'"
        );
        assert_eq!(
            error_of(b"*2\r\n$1\r\na\r\n:1\r\n", &d, true),
            "Protocol error: expected '$', got ':'"
        );
        assert_eq!(
            error_of(b"*1\r\n\r\n", &d, true),
            "Protocol error: expected '$', got ' '"
        );
        assert_eq!(
            error_of(b"*1\r\n\n\r\n", &d, true),
            "Protocol error: expected '$', got ' '"
        );
        let reply = ProtocolError::ExpectedDollar(0xff).to_reply();
        assert_eq!(
            reply,
            Reply::Error(Bytes::from_static(
                b"ERR Protocol error: expected '$', got '\xff'"
            ))
        );
    }

    #[test]
    fn inline_errors() {
        let d = ParseLimits::default();
        assert_eq!(
            error_of(b"SET k \"v\r\n", &d, true),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            error_of(b"SET k 'v'x\n", &d, true),
            "Protocol error: unbalanced quotes in request"
        );
        let long = vec![b'a'; 64 * 1024 + 1];
        assert_eq!(
            error_of(&long, &d, true),
            "Protocol error: too big inline request"
        );
        // Exactly the limit, then its newline, is accepted.
        let at_limit = [&vec![b'a'; 64 * 1024][..], b"\n"].concat();
        assert_eq!(parse_whole(&at_limit).requests.len(), 1);
        // A line too long is refused even when its newline arrives in the same read.
        let over_limit = [&vec![b'a'; 64 * 1024 + 1][..], b"\n"].concat();
        assert_eq!(
            error_of(&over_limit, &d, true),
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn every_error_message_and_reply() {
        let cases = [
            (
                ProtocolError::TooBigInlineRequest,
                "Protocol error: too big inline request",
            ),
            (
                ProtocolError::UnbalancedQuotes,
                "Protocol error: unbalanced quotes in request",
            ),
            (
                ProtocolError::TooBigMultibulkCount,
                "Protocol error: too big mbulk count string",
            ),
            (
                ProtocolError::InvalidMultibulkLength,
                "Protocol error: invalid multibulk length",
            ),
            (
                ProtocolError::UnauthenticatedMultibulkLength,
                "Protocol error: unauthenticated multibulk length",
            ),
            (
                ProtocolError::TooBigBulkCount,
                "Protocol error: too big bulk count string",
            ),
            (
                ProtocolError::ExpectedDollar(b'x'),
                "Protocol error: expected '$', got 'x'",
            ),
            (
                ProtocolError::InvalidBulkLength,
                "Protocol error: invalid bulk length",
            ),
            (
                ProtocolError::UnauthenticatedBulkLength,
                "Protocol error: unauthenticated bulk length",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.message(), message);
            assert_eq!(error.to_string(), message);
            let mut wire = BytesMut::new();
            error.to_reply().encode(2, &mut wire);
            assert_eq!(&wire[..], format!("-ERR {message}\r\n").as_bytes());
        }
    }

    #[test]
    fn claimed_lengths_allocate_nothing_up_front() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nabc"[..]);
        let capacity_before = buf.capacity();
        assert_eq!(
            parser.parse(&mut buf, &ParseLimits::default(), true),
            Ok(None)
        );
        assert!(parser.args.capacity() <= MAX_PREALLOCATED_ARGS);
        assert_eq!(parser.bulk_len, Some(536_870_912));
        assert!(buf.capacity() <= capacity_before);
        assert_eq!(&buf[..], b"abc");
    }

    #[test]
    fn a_line_arriving_byte_by_byte_is_scanned_once() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let limits = ParseLimits::default();
        for n in 1..=1000 {
            buf.extend_from_slice(b"a");
            assert_eq!(parser.parse(&mut buf, &limits, true), Ok(None));
            assert_eq!(parser.scanned_bytes, n);
        }
        buf.extend_from_slice(b"\n");
        let request = parser
            .parse(&mut buf, &limits, true)
            .expect("valid")
            .expect("complete");
        assert_eq!(request.args[0].len(), 1000);
        assert_eq!(parser.scanned_bytes, 0);
    }

    #[test]
    fn lengths_follow_string2ll() {
        let good: &[(&str, i64)] = &[
            ("0", 0),
            ("1", 1),
            ("-1", -1),
            ("1234567890", 1_234_567_890),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ];
        for &(text, n) in good {
            assert_eq!(string2ll(text.as_bytes()), Some(n), "{text}");
        }
        for text in [
            "",
            "-",
            "+1",
            "-0",
            "00",
            "01",
            " 1",
            "1 ",
            "1a",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "000000000000000000001",
            "1.0",
        ] {
            assert_eq!(string2ll(text.as_bytes()), None, "{text:?}");
        }
    }

    /// Random input: mostly protocol-significant bytes, so every branch is reached.
    fn random_input(rng: &mut Rng) -> Vec<u8> {
        const ALPHABET: &[u8] = b"*$\r\n0123456789-+ \"'\\xaz:";
        (0..rng.below(64))
            .map(|_| {
                if rng.below(8) == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len())]
                }
            })
            .collect()
    }

    /// A valid pipeline with a few bytes flipped, inserted or deleted.
    fn mutated_input(rng: &mut Rng) -> Vec<u8> {
        let mut input = Vec::new();
        for _ in 0..1 + rng.below(4) {
            if rng.below(2) == 0 {
                let arg = vec![b'v'; rng.below(40)];
                input.extend_from_slice(&encode_multibulk(&[b"SET", b"key", &arg]));
            } else {
                input.extend_from_slice(b"SET key \"a\\x41 b\" 'c'\r\n");
            }
        }
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] = rng.next() as u8,
                1 => input.insert(at, b"*$\r\n-9\"'"[rng.below(8)]),
                _ => {
                    input.remove(at);
                }
            }
        }
        input
    }

    #[test]
    fn random_and_mutated_input_never_panics_and_is_split_independent() {
        let mut rng = Rng(0x5EED);
        let limit_sets = [ParseLimits::default(), small_limits()];
        for round in 0..6000 {
            let input = if round % 2 == 0 {
                random_input(&mut rng)
            } else {
                mutated_input(&mut rng)
            };
            for limits in &limit_sets {
                for auth in [true, false] {
                    let whole = parse_split(&input, &[], limits, auth);
                    assert!(whole.requests.iter().all(|r| !r.args.is_empty()));
                    let consumed = input.len() - whole.leftover_bytes;
                    let arg_bytes: usize = whole
                        .requests
                        .iter()
                        .flat_map(|r| &r.args)
                        .map(Bytes::len)
                        .sum();
                    assert!(arg_bytes <= consumed);
                    if round % 4 < 2 {
                        let mut bytewise = parse_bytewise(&input, limits, auth);
                        if whole.error.is_some() {
                            // Fed piecemeal, the input after the error was never read.
                            bytewise.leftover_bytes = whole.leftover_bytes;
                        }
                        assert_eq!(bytewise, whole, "{input:?}");
                    }
                }
            }
        }
    }
}

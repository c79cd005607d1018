//! Replies as values, and their RESP2/RESP3 wire encoding.
//!
//! Commands build a [`Reply`] and never format bytes themselves; the connection calls
//! [`Reply::encode`] with the protocol version the client chose with `HELLO`. RESP3-only
//! types degrade the way Redis degrades them for RESP2 clients (a map becomes a flat array,
//! a double a bulk string, a boolean an integer), so a command builds one reply for both.
//!
//! Encoding appends to a `BytesMut` and allocates nothing else: integers are printed into a
//! stack buffer and doubles through [`reply_double_text`] (Redis 7.0's `%.17g`).

use bytes::{BufMut, Bytes, BytesMut};

use super::double::reply_double_text;

/// One reply, in the richest (RESP3) vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`: the text without `+` and CRLF.
    Status(Bytes),
    /// `-ERR ...`: the full text including the error code, without `-` and CRLF, e.g.
    /// `ERR syntax error` or `WRONGTYPE Operation against a key holding the wrong kind of value`.
    Error(Bytes),
    Integer(i64),
    Bulk(Bytes),
    /// The null bulk string: RESP2 `$-1`, RESP3 `_`.
    Nil,
    /// The null array: RESP2 `*-1`, RESP3 `_`.
    NilArray,
    Array(Vec<Reply>),
    /// RESP3 `%`; for RESP2 a flat array of 2n items (key, value, key, value, ...).
    Map(Vec<(Reply, Reply)>),
    /// RESP3 an array of 2-element arrays; for RESP2 a flat array of 2n items: how Redis
    /// answers ZRANGE WITHSCORES, HRANDFIELD WITHVALUES and friends.
    Pairs(Vec<(Reply, Reply)>),
    /// RESP3 `~`; for RESP2 an array.
    Set(Vec<Reply>),
    /// RESP3 `,`; for RESP2 a bulk string of the same text (see [`reply_double_text`]).
    Double(f64),
    /// RESP3 `#t`/`#f`; for RESP2 the integer 1 or 0.
    Bool(bool),
    /// RESP3 `=` with a 3-character format such as `txt`; for RESP2 a bulk of the payload only.
    Verbatim(&'static str, Bytes),
    /// RESP3 `(`; for RESP2 a bulk string of the digits.
    BigNumber(Bytes),
    /// RESP3 `>` (pub/sub messages, invalidations); for RESP2 an array.
    Push(Vec<Reply>),
    /// Several replies to one command, one after the other (SUBSCRIBE a b: one confirmation
    /// per channel). Not an aggregate: nothing is written for the sequence itself.
    Seq(Vec<Reply>),
}

/// The only protocol version whose encoding differs from RESP2's.
const RESP3: u8 = 3;

/// Width of a verbatim string's format tag (`txt`, `mkd`), fixed by RESP3.
const VERBATIM_FORMAT_BYTES: usize = 3;

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Status(Bytes::from_static(b"OK"))
    }

    /// An error reply from its full text, code included: `Reply::error("ERR syntax error")`,
    /// `Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")`.
    ///
    /// Unlike Redis's `addReplyError`, no `ERR ` is prepended: codes vary, and guessing
    /// whether a message already starts with one would misread `ERR DB index is out of range`
    /// style messages whose first word is upper case.
    pub fn error(msg: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(msg.into()))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the wire encoding for protocol version `proto` to `out`.
    ///
    /// `proto == 3` selects RESP3; any other value is treated as RESP2, the default of every
    /// connection before `HELLO 3`.
    pub fn encode(&self, proto: u8, out: &mut BytesMut) {
        let resp3 = proto == RESP3;
        match self {
            Reply::Status(text) => put_line(out, b'+', text),
            Reply::Error(text) => put_line(out, b'-', text),
            Reply::Integer(n) => put_integer(out, b':', *n),
            Reply::Bulk(data) => put_bulk(out, data),
            Reply::Nil => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
            Reply::NilArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
            Reply::Array(items) => put_aggregate(out, b'*', items, proto),
            Reply::Map(pairs) => put_map(out, pairs, proto),
            Reply::Pairs(pairs) => put_pairs(out, pairs, proto),
            Reply::Set(items) => put_aggregate(out, if resp3 { b'~' } else { b'*' }, items, proto),
            Reply::Double(f) => put_double(out, *f, resp3),
            Reply::Bool(b) => put_bool(out, *b, resp3),
            Reply::Verbatim(format, payload) => put_verbatim(out, format, payload, resp3),
            Reply::BigNumber(digits) if resp3 => put_line(out, b'(', digits),
            Reply::BigNumber(digits) => put_bulk(out, digits),
            Reply::Push(items) => put_aggregate(out, if resp3 { b'>' } else { b'*' }, items, proto),
            Reply::Seq(replies) => {
                for r in replies {
                    r.encode(proto, out);
                }
            }
        }
    }
}

/// `<prefix><text>\r\n` for status and error lines.
///
/// A CR or LF inside the text would end the line early and desynchronize the client, so, as
/// Redis does for error messages, CR/LF at either end are trimmed and any left inside become
/// spaces.
fn put_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    let is_newline = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = text
        .iter()
        .position(|b| !is_newline(b))
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_newline(b))
        .map_or(start, |i| i + 1);
    let text = &text[start..end];
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if text.iter().any(is_newline) {
        out.extend(text.iter().map(|&b| if is_newline(&b) { b' ' } else { b }));
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 16);
    put_length(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn put_aggregate(out: &mut BytesMut, prefix: u8, items: &[Reply], proto: u8) {
    put_length(out, prefix, items.len());
    for item in items {
        item.encode(proto, out);
    }
}

fn put_map(out: &mut BytesMut, pairs: &[(Reply, Reply)], proto: u8) {
    if proto == RESP3 {
        put_length(out, b'%', pairs.len());
    } else {
        put_length(out, b'*', pairs.len().saturating_mul(2));
    }
    for (key, value) in pairs {
        key.encode(proto, out);
        value.encode(proto, out);
    }
}

fn put_pairs(out: &mut BytesMut, pairs: &[(Reply, Reply)], proto: u8) {
    let resp3 = proto == RESP3;
    if resp3 {
        put_length(out, b'*', pairs.len());
    } else {
        put_length(out, b'*', pairs.len().saturating_mul(2));
    }
    for (a, b) in pairs {
        if resp3 {
            out.extend_from_slice(b"*2\r\n");
        }
        a.encode(proto, out);
        b.encode(proto, out);
    }
}

fn put_double(out: &mut BytesMut, f: f64, resp3: bool) {
    let text = reply_double_text(f);
    if resp3 {
        put_line(out, b',', text.as_bytes());
    } else {
        put_bulk(out, text.as_bytes());
    }
}

fn put_bool(out: &mut BytesMut, b: bool, resp3: bool) {
    let wire: &[u8] = match (resp3, b) {
        (true, true) => b"#t\r\n",
        (true, false) => b"#f\r\n",
        (false, true) => b":1\r\n",
        (false, false) => b":0\r\n",
    };
    out.extend_from_slice(wire);
}

/// RESP3 `=<len>\r\n<fmt>:<payload>\r\n`. Like Redis's `addReplyVerbatim`, a format shorter
/// than three bytes is padded with spaces and a longer one is cut, so the frame stays valid.
fn put_verbatim(out: &mut BytesMut, format: &str, payload: &[u8], resp3: bool) {
    if !resp3 {
        put_bulk(out, payload);
        return;
    }
    let mut tag = [b' '; VERBATIM_FORMAT_BYTES];
    for (slot, &b) in tag.iter_mut().zip(format.as_bytes()) {
        *slot = b;
    }
    out.reserve(payload.len() + 24);
    put_length(out, b'=', payload.len() + VERBATIM_FORMAT_BYTES + 1);
    out.extend_from_slice(&tag);
    out.put_u8(b':');
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

fn put_length(out: &mut BytesMut, prefix: u8, len: usize) {
    let mut digits = DecimalBuf::new();
    out.put_u8(prefix);
    out.extend_from_slice(digits.format_u64(len as u64));
    out.extend_from_slice(b"\r\n");
}

fn put_integer(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut digits = DecimalBuf::new();
    out.put_u8(prefix);
    if n < 0 {
        out.put_u8(b'-');
    }
    out.extend_from_slice(digits.format_u64(n.unsigned_abs()));
    out.extend_from_slice(b"\r\n");
}

/// Room for the decimal digits of any `u64` (20), filled from the end.
struct DecimalBuf([u8; 20]);

impl DecimalBuf {
    fn new() -> Self {
        DecimalBuf([0; 20])
    }

    fn format_u64(&mut self, mut n: u64) -> &[u8] {
        let mut start = self.0.len();
        loop {
            start -= 1;
            self.0[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &self.0[start..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply, proto: u8) -> String {
        let mut out = BytesMut::new();
        reply.encode(proto, &mut out);
        String::from_utf8(out.to_vec()).expect("test replies are UTF-8")
    }

    /// Asserts the RESP2 and RESP3 encodings of `reply`.
    fn check(reply: Reply, resp2: &str, resp3: &str) {
        assert_eq!(wire(&reply, 2), resp2, "RESP2 {reply:?}");
        assert_eq!(wire(&reply, 3), resp3, "RESP3 {reply:?}");
    }

    fn bulk(s: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn simple_types() {
        check(Reply::ok(), "+OK\r\n", "+OK\r\n");
        check(
            Reply::error("ERR syntax error"),
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
        );
        check(Reply::Integer(0), ":0\r\n", ":0\r\n");
        check(Reply::Integer(-42), ":-42\r\n", ":-42\r\n");
        check(
            Reply::Integer(i64::MIN),
            ":-9223372036854775808\r\n",
            ":-9223372036854775808\r\n",
        );
        check(
            Reply::Integer(i64::MAX),
            ":9223372036854775807\r\n",
            ":9223372036854775807\r\n",
        );
        check(bulk("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
        check(bulk(""), "$0\r\n\r\n", "$0\r\n\r\n");
        check(Reply::Nil, "$-1\r\n", "_\r\n");
        check(Reply::NilArray, "*-1\r\n", "_\r\n");
    }

    #[test]
    fn bulk_is_binary_safe() {
        let reply = Reply::Bulk(Bytes::from_static(b"a\r\n\0\xff"));
        let mut out = BytesMut::new();
        reply.encode(2, &mut out);
        assert_eq!(&out[..], b"$5\r\na\r\n\0\xff\r\n");
    }

    #[test]
    fn resp3_types_and_their_resp2_forms() {
        check(Reply::Double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
        check(Reply::Double(3.0), "$1\r\n3\r\n", ",3\r\n");
        check(Reply::Double(f64::INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
        check(
            Reply::Double(f64::NEG_INFINITY),
            "$4\r\n-inf\r\n",
            ",-inf\r\n",
        );
        check(Reply::Double(f64::NAN), "$3\r\nnan\r\n", ",nan\r\n");
        check(
            Reply::Double(1e300),
            "$23\r\n1.0000000000000001e+300\r\n",
            ",1.0000000000000001e+300\r\n",
        );
        check(
            Reply::Double(0.1),
            "$19\r\n0.10000000000000001\r\n",
            ",0.10000000000000001\r\n",
        );
        check(Reply::Double(-0.0), "$2\r\n-0\r\n", ",-0\r\n");
        check(
            Reply::Double(0.5e-4),
            "$22\r\n5.0000000000000002e-05\r\n",
            ",5.0000000000000002e-05\r\n",
        );
        check(
            Reply::Double(0.5f64.powi(20)),
            "$19\r\n9.5367431640625e-07\r\n",
            ",9.5367431640625e-07\r\n",
        );
        check(Reply::Bool(true), ":1\r\n", "#t\r\n");
        check(Reply::Bool(false), ":0\r\n", "#f\r\n");
        check(
            Reply::Verbatim("txt", Bytes::from_static(b"Some string")),
            "$11\r\nSome string\r\n",
            "=15\r\ntxt:Some string\r\n",
        );
        check(
            Reply::BigNumber(Bytes::from_static(
                b"3492890328409238509324850943850943825024385",
            )),
            "$43\r\n3492890328409238509324850943850943825024385\r\n",
            "(3492890328409238509324850943850943825024385\r\n",
        );
    }

    #[test]
    fn verbatim_format_is_always_three_bytes() {
        let payload = Bytes::from_static(b"x");
        check(
            Reply::Verbatim("md", payload.clone()),
            "$1\r\nx\r\n",
            "=5\r\nmd :x\r\n",
        );
        check(
            Reply::Verbatim("long", payload),
            "$1\r\nx\r\n",
            "=5\r\nlon:x\r\n",
        );
    }

    #[test]
    fn aggregates() {
        check(
            Reply::Array(vec![bulk("a"), Reply::Integer(1), Reply::Nil]),
            "*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            "*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        );
        check(Reply::Array(vec![]), "*0\r\n", "*0\r\n");
        check(
            Reply::Map(vec![
                (bulk("k1"), Reply::Integer(1)),
                (bulk("k2"), Reply::Double(0.5)),
            ]),
            "*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$3\r\n0.5\r\n",
            "%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n,0.5\r\n",
        );
        check(Reply::Map(vec![]), "*0\r\n", "%0\r\n");
        check(
            Reply::Set(vec![bulk("x"), bulk("y")]),
            "*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
            "~2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        );
        check(
            Reply::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]),
            "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        );
    }

    #[test]
    fn nested_aggregates_degrade_at_every_level() {
        check(
            Reply::Array(vec![
                Reply::Map(vec![(bulk("a"), Reply::Bool(true))]),
                Reply::Set(vec![Reply::NilArray]),
            ]),
            "*2\r\n*2\r\n$1\r\na\r\n:1\r\n*1\r\n*-1\r\n",
            "*2\r\n%1\r\n$1\r\na\r\n#t\r\n~1\r\n_\r\n",
        );
    }

    #[test]
    fn newlines_in_status_and_error_text_are_sanitized() {
        check(
            Reply::error("ERR bad\r\nthing\n"),
            "-ERR bad  thing\r\n",
            "-ERR bad  thing\r\n",
        );
        check(
            Reply::Status(Bytes::from_static(b"\r\nOK\nfine\r")),
            "+OK fine\r\n",
            "+OK fine\r\n",
        );
        check(Reply::error("\r\n"), "-\r\n", "-\r\n");
    }

    #[test]
    fn other_protocol_numbers_encode_as_resp2() {
        assert_eq!(wire(&Reply::Nil, 0), "$-1\r\n");
        assert_eq!(wire(&Reply::Bool(true), 1), ":1\r\n");
        assert_eq!(wire(&Reply::Bool(true), 4), ":1\r\n");
    }

    #[test]
    fn is_error_and_appending() {
        assert!(Reply::error("ERR x").is_error());
        assert!(!Reply::ok().is_error());
        let mut out = BytesMut::from(&b"prefix"[..]);
        Reply::Integer(7).encode(3, &mut out);
        assert_eq!(&out[..], b"prefix:7\r\n");
    }
}

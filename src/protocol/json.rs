//! [`Reply`] values as JSON, for the WebSocket dialects.
//!
//! # The mapping (both dialects)
//! | Reply | JSON |
//! |---|---|
//! | status (`+OK`), bulk, verbatim | a string: `"OK"`, `"bar"` |
//! | integer | a number: `3` |
//! | nil, null array | `null` |
//! | array, set, push | an array |
//! | map | an object; keys are the text of the map's keys |
//! | pairs (ZRANGE WITHSCORES, HRANDFIELD WITHVALUES) | an array of two-element arrays |
//! | double | a number (`1.5`), or the string `"inf"`, `"-inf"`, `"nan"` |
//! | boolean | `true` / `false` |
//! | big number | a string of its digits (JavaScript numbers would round it) |
//! | error | the bare string `"ERR ..."` ([`Style::Bare`]); `{"err": "ERR ..."}` ([`Style::Envelope`]) |
//!
//! JSON speaks RESP3's vocabulary whatever `HELLO` chose, because JSON can: a map is an
//! object, not a flat list. Strings whose bytes are not valid UTF-8 are written
//! `{"b64": "<standard base64>"}` (RFC 4648, padded), in both dialects, so no byte is ever
//! lost or replaced; a map key that is not valid UTF-8 is written as the text `b64:<base64>`.
//!
//! In the envelope dialect a top-level error is the envelope's `err` field, and an error
//! nested in an array (EXEC's results) is `{"err": "..."}`, so errors never look like data.

use super::Reply;
use super::base64;
use super::double::double_text;

/// How errors (and so the whole value) are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// DiceDB-compatible: an error is the bare string `"ERR ..."`.
    Bare,
    /// Errors nested in aggregates are `{"err": "..."}` objects.
    Envelope,
}

/// Appends `reply` as one JSON value. A [`Reply::Seq`] (several replies to one command) is
/// written as an array of its replies.
pub fn write_value(reply: &Reply, style: Style, out: &mut Vec<u8>) {
    match reply {
        Reply::Status(text) => write_bytes(text, out),
        Reply::Error(text) => match style {
            Style::Bare => write_bytes(text, out),
            Style::Envelope => {
                out.extend_from_slice(b"{\"err\":");
                write_bytes(text, out);
                out.push(b'}');
            }
        },
        Reply::Integer(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Reply::Bulk(data) | Reply::Verbatim(_, data) => write_bytes(data, out),
        Reply::Nil | Reply::NilArray => out.extend_from_slice(b"null"),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Seq(items) => {
            write_array(items, style, out)
        }
        // ZRANGE WITHSCORES and friends: RESP3's shape, an array of [member, score] pairs.
        Reply::Pairs(pairs) => {
            out.push(b'[');
            for (i, (a, b)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                write_value(a, style, out);
                out.push(b',');
                write_value(b, style, out);
                out.push(b']');
            }
            out.push(b']');
        }
        Reply::Map(pairs) => {
            out.push(b'{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(key, out);
                out.push(b':');
                write_value(value, style, out);
            }
            out.push(b'}');
        }
        Reply::Double(f) if f.is_finite() => out.extend_from_slice(double_text(*f).as_bytes()),
        Reply::Double(f) => write_bytes(double_text(*f).as_bytes(), out),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Reply::BigNumber(digits) => write_bytes(digits, out),
    }
}

fn write_array(items: &[Reply], style: Style, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(item, style, out);
    }
    out.push(b']');
}

/// A map key as an object key: its text (numbers, statuses and strings as they read; other
/// values as their JSON text).
fn write_key(key: &Reply, out: &mut Vec<u8>) {
    match key {
        Reply::Status(t) | Reply::Bulk(t) | Reply::Verbatim(_, t) | Reply::Error(t) => {
            match std::str::from_utf8(t) {
                Ok(s) => write_str(s, out),
                Err(_) => {
                    let mut text = b"b64:".to_vec();
                    base64::encode_into(t, &mut text);
                    write_str(&String::from_utf8_lossy(&text), out);
                }
            }
        }
        other => {
            let mut text = Vec::new();
            write_value(other, Style::Bare, &mut text);
            write_str(&String::from_utf8_lossy(&text), out);
        }
    }
}

/// Bytes as a JSON string when they are UTF-8, otherwise as `{"b64":"..."}`.
pub fn write_bytes(data: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(data) {
        Ok(s) => write_str(s, out),
        Err(_) => {
            out.extend_from_slice(b"{\"b64\":\"");
            base64::encode_into(data, out);
            out.extend_from_slice(b"\"}");
        }
    }
}

/// A JSON string literal: `"`, `\` and control characters escaped (RFC 8259 §7); everything
/// else, non-ASCII included, as UTF-8.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The reply to an envelope request: `{"id":<id>,"ok":<value>}` or `{"id":<id>,"err":"..."}`.
/// `id` is the request's `id` as it was written (any JSON value), or `None` when the request
/// had none (the field is then left out).
pub fn envelope(id: Option<&str>, reply: &Reply, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(id) = id {
        out.extend_from_slice(b"\"id\":");
        out.extend_from_slice(id.as_bytes());
        out.push(b',');
    }
    match reply {
        Reply::Error(text) => {
            out.extend_from_slice(b"\"err\":");
            write_bytes(text, out);
        }
        other => {
            out.extend_from_slice(b"\"ok\":");
            write_value(other, Style::Envelope, out);
        }
    }
    out.push(b'}');
}

/// A pushed message (pub/sub) in the envelope dialect: `{"push":[...]}`.
pub fn envelope_push(push: &Reply, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"push\":");
    write_value(push, Style::Envelope, out);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn json(reply: &Reply, style: Style) -> String {
        let mut out = Vec::new();
        write_value(reply, style, &mut out);
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
        text
    }

    fn bulk(s: &'static [u8]) -> Reply {
        Reply::Bulk(Bytes::from_static(s))
    }

    #[test]
    fn dicedb_examples() {
        assert_eq!(json(&Reply::ok(), Style::Bare), r#""OK""#);
        assert_eq!(json(&bulk(b"bar"), Style::Bare), r#""bar""#);
        assert_eq!(json(&Reply::Integer(-7), Style::Bare), "-7");
        assert_eq!(json(&Reply::Nil, Style::Bare), "null");
        assert_eq!(json(&Reply::NilArray, Style::Bare), "null");
        assert_eq!(
            json(&Reply::error("ERR syntax error"), Style::Bare),
            r#""ERR syntax error""#
        );
    }

    #[test]
    fn aggregates() {
        let arr = Reply::Array(vec![bulk(b"a"), Reply::Integer(1), Reply::Nil]);
        assert_eq!(json(&arr, Style::Bare), r#"["a",1,null]"#);
        let map = Reply::Map(vec![
            (bulk(b"k"), Reply::Integer(1)),
            (Reply::Integer(2), Reply::Set(vec![bulk(b"x")])),
        ]);
        assert_eq!(json(&map, Style::Bare), r#"{"k":1,"2":["x"]}"#);
        let push = Reply::Push(vec![bulk(b"message"), bulk(b"ch"), bulk(b"hi")]);
        assert_eq!(json(&push, Style::Bare), r#"["message","ch","hi"]"#);
        assert_eq!(json(&Reply::Array(vec![]), Style::Bare), "[]");
        assert_eq!(json(&Reply::Map(vec![]), Style::Bare), "{}");
        let pairs = Reply::Pairs(vec![
            (bulk(b"a"), Reply::Double(1.5)),
            (bulk(b"b"), Reply::Double(2.0)),
        ]);
        assert_eq!(json(&pairs, Style::Bare), r#"[["a",1.5],["b",2]]"#);
    }

    #[test]
    fn resp3_scalars() {
        assert_eq!(json(&Reply::Double(1.5), Style::Bare), "1.5");
        assert_eq!(json(&Reply::Double(1e300), Style::Bare), "1e+300");
        assert_eq!(json(&Reply::Double(f64::INFINITY), Style::Bare), r#""inf""#);
        assert_eq!(json(&Reply::Double(f64::NAN), Style::Bare), r#""nan""#);
        assert_eq!(json(&Reply::Bool(true), Style::Bare), "true");
        assert_eq!(
            json(
                &Reply::BigNumber(Bytes::from_static(b"12345678901234567890123")),
                Style::Bare
            ),
            r#""12345678901234567890123""#
        );
        assert_eq!(
            json(
                &Reply::Verbatim("txt", Bytes::from_static(b"# Server\r\n")),
                Style::Bare
            ),
            r##""# Server\r\n""##
        );
    }

    #[test]
    fn strings_are_escaped() {
        let r = bulk(b"q\"b\\s/\x01\x7f\t\xc3\xa9\xf0\x9f\x98\x80");
        let text = json(&r, Style::Bare);
        assert_eq!(text, "\"q\\\"b\\\\s/\\u0001\\u007f\\té😀\"");
        let back: String = serde_json::from_str(&text).expect("string");
        assert_eq!(
            back.as_bytes(),
            b"q\"b\\s/\x01\x7f\t\xc3\xa9\xf0\x9f\x98\x80"
        );
    }

    #[test]
    fn non_utf8_bytes_are_base64_objects() {
        assert_eq!(json(&bulk(b"\xff\x00a"), Style::Bare), r#"{"b64":"/wBh"}"#);
        let map = Reply::Map(vec![(bulk(b"\xff"), Reply::Integer(1))]);
        assert_eq!(json(&map, Style::Bare), r#"{"b64:/w==":1}"#);
    }

    #[test]
    fn nested_errors_by_style() {
        let exec = Reply::Array(vec![Reply::ok(), Reply::error("WRONGTYPE x")]);
        assert_eq!(json(&exec, Style::Bare), r#"["OK","WRONGTYPE x"]"#);
        assert_eq!(
            json(&exec, Style::Envelope),
            r#"["OK",{"err":"WRONGTYPE x"}]"#
        );
    }

    #[test]
    fn envelopes() {
        let mut out = Vec::new();
        envelope(Some("7"), &Reply::ok(), &mut out);
        assert_eq!(out, br#"{"id":7,"ok":"OK"}"#);
        out.clear();
        envelope(Some(r#""a""#), &Reply::error("ERR no"), &mut out);
        assert_eq!(out, br#"{"id":"a","err":"ERR no"}"#);
        out.clear();
        envelope(None, &Reply::Nil, &mut out);
        assert_eq!(out, br#"{"ok":null}"#);
        out.clear();
        envelope_push(&Reply::Push(vec![bulk(b"message")]), &mut out);
        assert_eq!(out, br#"{"push":["message"]}"#);
    }
}

//! RESP: command encoding, a general frame parser for setup and replies, and an allocation-free
//! fast path for `message` frames. Pure: no I/O.

/// Largest setup or reply frame read by a blocking connection.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Deepest nesting of aggregate frames accepted (HELLO's map of arrays needs 2).
const MAX_FRAME_DEPTH: usize = 8;
/// Largest bulk inside a `message` frame (channel or payload).
pub const MAX_MESSAGE_PART_BYTES: usize = 128 * 1024;

pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut num = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(num.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        out.extend_from_slice(num.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    /// `*` arrays and `~` sets.
    Array(Vec<Frame>),
    /// RESP3 `>` push frames (pub/sub messages and confirmations).
    Push(Vec<Frame>),
    /// RESP3 `%` maps, flattened to key, value, key, value, ...
    Map(Vec<Frame>),
}

impl Frame {
    /// The frame as a person reads it, for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Frame::Simple(s) => format!("+{}", String::from_utf8_lossy(s)),
            Frame::Error(s) => format!("-{}", String::from_utf8_lossy(s)),
            Frame::Int(n) => format!(":{n}"),
            Frame::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
            Frame::Null => "(nil)".to_string(),
            Frame::Array(items) | Frame::Push(items) | Frame::Map(items) => {
                let parts: Vec<String> = items.iter().map(Frame::describe).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// The elements of an array or push frame.
    pub fn items(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(items) | Frame::Push(items) => Some(items),
            _ => None,
        }
    }
}

/// One complete frame at the start of `buf` and the bytes it used; `Ok(None)` when more
/// bytes are needed.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    parse_frame_at(buf, 0, 0)
}

/// The line starting at `pos` (without its CRLF) and the position after the CRLF.
fn parse_line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], pos + end + 2))
}

fn parse_int(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad integer {:?}", String::from_utf8_lossy(line)))
}

fn parse_frame_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Frame, usize)>, String> {
    if depth > MAX_FRAME_DEPTH {
        return Err("frame nested too deeply".to_string());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some((line, next)) = parse_line(buf, pos + 1) else {
        return Ok(None);
    };
    let frame = match kind {
        b'+' | b',' | b'(' => Frame::Simple(line.to_vec()),
        b'-' => Frame::Error(line.to_vec()),
        b':' => Frame::Int(parse_int(line)?),
        b'#' => Frame::Int(i64::from(line == b"t")),
        b'_' => Frame::Null,
        b'$' | b'=' | b'!' => return parse_blob(buf, kind, line, next),
        b'*' | b'~' | b'>' | b'%' => return parse_aggregate(buf, kind, line, next, depth),
        other => return Err(format!("unexpected RESP type byte {:?}", other as char)),
    };
    Ok(Some((frame, next)))
}

fn parse_blob(
    buf: &[u8],
    kind: u8,
    line: &[u8],
    next: usize,
) -> Result<Option<(Frame, usize)>, String> {
    let len = parse_int(line)?;
    if len < 0 {
        return Ok(Some((Frame::Null, next)));
    }
    let len = usize::try_from(len).map_err(|_| "bad length".to_string())?;
    if len > MAX_FRAME_BYTES {
        return Err(format!(
            "bulk of {len} bytes is larger than {MAX_FRAME_BYTES}"
        ));
    }
    let end = next + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err("bulk not followed by CRLF".to_string());
    }
    let data = buf[next..end].to_vec();
    let frame = if kind == b'!' {
        Frame::Error(data)
    } else {
        Frame::Bulk(data)
    };
    Ok(Some((frame, end + 2)))
}

fn parse_aggregate(
    buf: &[u8],
    kind: u8,
    line: &[u8],
    mut next: usize,
    depth: usize,
) -> Result<Option<(Frame, usize)>, String> {
    let count = parse_int(line)?;
    if count < 0 {
        return Ok(Some((Frame::Null, next)));
    }
    let per_entry = if kind == b'%' { 2 } else { 1 };
    let count = usize::try_from(count).map_err(|_| "bad count".to_string())? * per_entry;
    if count > MAX_FRAME_BYTES / 4 {
        return Err(format!("aggregate of {count} elements is too large"));
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let Some((item, after)) = parse_frame_at(buf, next, depth + 1)? else {
            return Ok(None);
        };
        items.push(item);
        next = after;
    }
    let frame = match kind {
        b'>' => Frame::Push(items),
        b'%' => Frame::Map(items),
        _ => Frame::Array(items),
    };
    Ok(Some((frame, next)))
}

/// A reply seen in place, without allocating: the load generator checks every reply on its
/// hot path and keeps none of them.
#[derive(Debug, PartialEq)]
pub enum ReplyRef<'a> {
    /// `+` simple strings.
    Simple(&'a [u8]),
    /// `-` errors and RESP3 `!` blob errors.
    Error(&'a [u8]),
    Int(i64),
    /// `$` bulk strings and RESP3 `=` verbatim strings (with their `txt:` prefix).
    Bulk(&'a [u8]),
    /// RESP3 `_`, and RESP2's `$-1` / `*-1`.
    Null,
    /// RESP3 `,` doubles, `(` big numbers, `#` booleans.
    Scalar,
    /// `*` arrays, `~` sets, `%` maps, `>` pushes: the type byte and the element count (a map
    /// counts its pairs), every element already skipped.
    Aggregate {
        kind: u8,
        count: usize,
    },
}

/// Largest reply the load generator accepts (a bulk, or an aggregate as a whole).
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;
/// Most elements in one aggregate reply, nested ones included.
const MAX_REPLY_ELEMENTS: usize = 1024 * 1024;

/// One complete reply at the start of `buf` and the bytes it used; `Ok(None)` when more bytes
/// are needed; `Err` when the bytes are not RESP.
pub fn scan_reply(buf: &[u8]) -> Result<Option<(ReplyRef<'_>, usize)>, String> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some((line, next)) = find_line(buf, 1)? else {
        return Ok(None);
    };
    let reply = match kind {
        b'+' => ReplyRef::Simple(line),
        b'-' => ReplyRef::Error(line),
        b':' => ReplyRef::Int(parse_int(line)?),
        b'_' => ReplyRef::Null,
        b',' | b'(' | b'#' => ReplyRef::Scalar,
        b'$' | b'=' | b'!' => {
            let Some(len) = checked_len(line)? else {
                return Ok(Some((ReplyRef::Null, next)));
            };
            let end = next + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err("bulk not followed by CRLF".to_string());
            }
            let data = &buf[next..end];
            let reply = if kind == b'!' {
                ReplyRef::Error(data)
            } else {
                ReplyRef::Bulk(data)
            };
            return Ok(Some((reply, end + 2)));
        }
        b'*' | b'~' | b'%' | b'>' => {
            let Some(count) = checked_len(line)? else {
                return Ok(Some((ReplyRef::Null, next)));
            };
            let per = if kind == b'%' { 2 } else { 1 };
            let mut budget = MAX_REPLY_ELEMENTS;
            let Some(end) = skip_elements(buf, next, count * per, 1, &mut budget)? else {
                return Ok(None);
            };
            return Ok(Some((ReplyRef::Aggregate { kind, count }, end)));
        }
        other => return Err(format!("unexpected RESP type byte {:?}", other as char)),
    };
    Ok(Some((reply, next)))
}

/// Longest type line (`:` integers, `+` statuses, `-` errors) before it must have ended.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The line from `pos` to the next CRLF (exclusive) and the position after the CRLF;
/// `None` until the CRLF has arrived.
fn find_line(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, String> {
    let Some(rest) = buf.get(pos..) else {
        return Ok(None);
    };
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        return if rest.len() > MAX_LINE_BYTES {
            Err(format!("a reply line longer than {MAX_LINE_BYTES} bytes"))
        } else {
            Ok(None)
        };
    };
    match rest.get(cr + 1) {
        Some(b'\n') => Ok(Some((&rest[..cr], pos + cr + 2))),
        Some(_) => Err("CR without LF in a reply line".to_string()),
        None => Ok(None),
    }
}

/// A length line: `None` for -1 (null), an error for other negatives or too large.
fn checked_len(line: &[u8]) -> Result<Option<usize>, String> {
    let n = parse_int(line)?;
    if n == -1 {
        return Ok(None);
    }
    match usize::try_from(n) {
        Ok(n) if n <= MAX_REPLY_BYTES => Ok(Some(n)),
        _ => Err(format!("length {n} out of range")),
    }
}

/// Skips `count` elements from `pos`: the position after them, `None` if incomplete.
fn skip_elements(
    buf: &[u8],
    mut pos: usize,
    count: usize,
    depth: usize,
    budget: &mut usize,
) -> Result<Option<usize>, String> {
    if depth > MAX_FRAME_DEPTH {
        return Err("reply nested too deeply".to_string());
    }
    if count > *budget {
        return Err(format!(
            "reply with more than {MAX_REPLY_ELEMENTS} elements"
        ));
    }
    *budget -= count;
    for _ in 0..count {
        if pos > MAX_REPLY_BYTES {
            return Err(format!("reply larger than {MAX_REPLY_BYTES} bytes"));
        }
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        if matches!(kind, b'*' | b'~' | b'%' | b'>') {
            let Some((line, next)) = find_line(buf, pos + 1)? else {
                return Ok(None);
            };
            let n = checked_len(line)?.unwrap_or(0) * if kind == b'%' { 2 } else { 1 };
            match skip_elements(buf, next, n, depth + 1, budget)? {
                Some(end) => pos = end,
                None => return Ok(None),
            }
        } else {
            match scan_reply(&buf[pos..])? {
                Some((_, used)) => pos += used,
                None => return Ok(None),
            }
        }
    }
    Ok(Some(pos))
}

/// What a subscriber connection receives: a `message` (parsed without allocating) or
/// anything else (which the benchmark treats as a failure).
pub enum Delivery<'a> {
    Message {
        channel: &'a [u8],
        payload: &'a [u8],
    },
    Other(Frame),
}

pub const MESSAGE_HEAD_RESP2: &[u8] = b"*3\r\n$7\r\nmessage\r\n";
pub const MESSAGE_HEAD_RESP3: &[u8] = b">3\r\n$7\r\nmessage\r\n";

/// One complete frame at the start of `buf` and the bytes it used; `Ok(None)` when more
/// bytes are needed.
pub fn parse_delivery(buf: &[u8]) -> Result<Option<(Delivery<'_>, usize)>, String> {
    let head = MESSAGE_HEAD_RESP2.len();
    if buf.starts_with(MESSAGE_HEAD_RESP2) || buf.starts_with(MESSAGE_HEAD_RESP3) {
        let Some((channel, next)) = parse_bulk_slice(buf, head)? else {
            return Ok(None);
        };
        let Some((payload, end)) = parse_bulk_slice(buf, next)? else {
            return Ok(None);
        };
        return Ok(Some((Delivery::Message { channel, payload }, end)));
    }
    // A prefix of a message head is no complete frame of any kind: wait for more.
    if buf.len() < head
        && (MESSAGE_HEAD_RESP2.starts_with(buf) || MESSAGE_HEAD_RESP3.starts_with(buf))
    {
        return Ok(None);
    }
    Ok(parse_frame(buf)?.map(|(frame, used)| (Delivery::Other(frame), used)))
}

/// A `$len\r\n<bytes>\r\n` bulk at `pos`, borrowed.
fn parse_bulk_slice(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, String> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    if kind != b'$' {
        return Err(format!(
            "expected a bulk string in a message, got {:?}",
            kind as char
        ));
    }
    let Some((line, next)) = parse_line(buf, pos + 1) else {
        return Ok(None);
    };
    let len =
        usize::try_from(parse_int(line)?).map_err(|_| "null bulk in a message".to_string())?;
    if len > MAX_MESSAGE_PART_BYTES {
        return Err(format!(
            "message part of {len} bytes is larger than expected"
        ));
    }
    let end = next + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err("message part not followed by CRLF".to_string());
    }
    Ok(Some((&buf[next..end], end + 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_frames_parse_in_both_protocols_and_in_pieces() {
        for head in [MESSAGE_HEAD_RESP2, MESSAGE_HEAD_RESP3] {
            let mut frame = head.to_vec();
            frame.extend_from_slice(b"$2\r\nch\r\n$5\r\na\r\nb\0\r\n");
            for cut in 0..frame.len() {
                assert!(
                    parse_delivery(&frame[..cut]).expect("prefix").is_none(),
                    "cut at {cut}"
                );
            }
            match parse_delivery(&frame).expect("whole") {
                Some((Delivery::Message { channel, payload }, used)) => {
                    assert_eq!(
                        (channel, payload, used),
                        (&b"ch"[..], &b"a\r\nb\0"[..], frame.len())
                    );
                }
                _ => panic!("not a message"),
            }
        }
    }

    #[test]
    fn other_frames_parse_generally() {
        let hello = b"%2\r\n+server\r\n$5\r\nredis\r\n+modules\r\n*0\r\n";
        let (frame, used) = parse_frame(hello).expect("parse").expect("complete");
        assert_eq!(used, hello.len());
        assert!(matches!(frame, Frame::Map(ref items) if items.len() == 4));
        let confirm = b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n";
        match parse_delivery(confirm).expect("parse") {
            Some((Delivery::Other(frame), _)) => {
                assert_eq!(frame.describe(), "[\"subscribe\", \"c\", :1]")
            }
            _ => panic!("a confirmation is not a message"),
        }
        assert_eq!(parse_frame(b":12\r").expect("partial"), None);
        assert!(parse_frame(b"?x\r\n").is_err());
    }

    #[test]
    fn commands_encode_as_multibulk() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"PUBLISH", b"c", b"a\r\n"]);
        assert_eq!(out, b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$3\r\na\r\n\r\n");
    }

    #[test]
    fn replies_scan_in_place() {
        let cases: [(&[u8], ReplyRef); 10] = [
            (b"+OK\r\n", ReplyRef::Simple(b"OK")),
            (b"-ERR no\r\n", ReplyRef::Error(b"ERR no")),
            (b":-42\r\n", ReplyRef::Int(-42)),
            (b"$3\r\na\r\n\r\n", ReplyRef::Bulk(b"a\r\n")),
            (b"$-1\r\n", ReplyRef::Null),
            (b"_\r\n", ReplyRef::Null),
            (b"!5\r\nERR x\r\n", ReplyRef::Error(b"ERR x")),
            (b",1.5\r\n", ReplyRef::Scalar),
            (
                b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
                ReplyRef::Aggregate {
                    kind: b'*',
                    count: 2,
                },
            ),
            (
                b"%1\r\n+k\r\n~2\r\n#t\r\n_\r\n",
                ReplyRef::Aggregate {
                    kind: b'%',
                    count: 1,
                },
            ),
        ];
        for (bytes, expected) in cases {
            for cut in 0..bytes.len() {
                assert_eq!(
                    scan_reply(&bytes[..cut]),
                    Ok(None),
                    "{bytes:?} cut at {cut}"
                );
            }
            let mut two = bytes.to_vec();
            two.extend_from_slice(b"+next\r\n");
            assert_eq!(scan_reply(&two), Ok(Some((expected, bytes.len()))));
        }
    }

    #[test]
    fn bad_replies_are_errors() {
        assert!(scan_reply(b"?\r\n").is_err());
        assert!(scan_reply(b"$2\r\nabc\r\n").is_err());
        assert!(scan_reply(b":x\r\n").is_err());
        assert!(scan_reply(b"$-2\r\n").is_err());
        assert!(scan_reply(b"*99999999999\r\n").is_err());
        let deep = "*1\r\n".repeat(MAX_FRAME_DEPTH + 2);
        assert!(scan_reply(deep.as_bytes()).is_err());
    }
}

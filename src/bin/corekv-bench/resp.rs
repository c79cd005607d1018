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
}

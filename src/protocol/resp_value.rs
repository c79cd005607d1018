//! Reading encoded replies back into [`Reply`] values: the inverse of [`Reply::encode`].
//!
//! Pub/sub deliveries queue each frame already encoded as RESP (once per protocol, shared by
//! every receiver: see `crate::pubsub`); a WebSocket connection that speaks JSON reads its
//! queued frames back with [`decode`] to re-encode them. Every RESP2 and RESP3 type is read.

use bytes::Bytes;

use super::Reply;

/// Most nesting levels read; deeper input is refused (frames we encode are two levels deep).
const MAX_DEPTH: usize = 64;

/// Reads every complete value in `buf`, in order. Stops at the first incomplete or invalid
/// value (the bytes we queue are always complete and valid).
pub fn decode_all(buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match decode(&buf[pos..]) {
            Some((reply, used)) => {
                out.push(reply);
                pos += used;
            }
            None => break,
        }
    }
    out
}

/// Reads one value from the start of `buf`: the value and the bytes it used, or `None` when
/// `buf` does not start with a complete valid value.
pub fn decode(buf: &[u8]) -> Option<(Reply, usize)> {
    value(buf, 0, 0)
}

fn line(buf: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(start..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], start + end + 2))
}

fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn value(buf: &[u8], pos: usize, depth: usize) -> Option<(Reply, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let kind = *buf.get(pos)?;
    let (head, next) = line(buf, pos + 1)?;
    let copy = |b: &[u8]| Bytes::copy_from_slice(b);
    let (reply, end) = match kind {
        b'+' => (Reply::Status(copy(head)), next),
        b'-' => (Reply::Error(copy(head)), next),
        b':' => (Reply::Integer(number(head)?), next),
        b'_' => (Reply::Nil, next),
        b'#' => (Reply::Bool(head == b"t"), next),
        b',' => (Reply::Double(super::parse_double(head)?), next),
        b'(' => (Reply::BigNumber(copy(head)), next),
        b'$' | b'=' | b'!' => {
            let len = number(head)?;
            if len < 0 {
                return Some((Reply::Nil, next - pos));
            }
            let len = usize::try_from(len).ok()?;
            let data = buf.get(next..next.checked_add(len)?)?;
            if buf.get(next + len..next + len + 2)? != b"\r\n" {
                return None;
            }
            let reply = match kind {
                b'$' => Reply::Bulk(copy(data)),
                b'!' => Reply::Error(copy(data)),
                _ if data.len() >= 4 => Reply::Verbatim("txt", copy(&data[4..])),
                _ => Reply::Bulk(copy(data)),
            };
            (reply, next + len + 2)
        }
        b'*' | b'>' | b'~' | b'%' | b'|' => {
            let count = number(head)?;
            if count < 0 {
                return Some((Reply::NilArray, next - pos));
            }
            let items = if matches!(kind, b'%' | b'|') {
                count.checked_mul(2)?
            } else {
                count
            };
            let mut at = next;
            let mut values = Vec::with_capacity(usize::try_from(items.min(1024)).ok()?);
            for _ in 0..items {
                let (v, used) = value(buf, at, depth + 1)?;
                values.push(v);
                at += used;
            }
            let reply = match kind {
                b'*' => Reply::Array(values),
                b'>' => Reply::Push(values),
                b'~' => Reply::Set(values),
                _ => {
                    let mut it = values.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Reply::Map(pairs)
                }
            };
            (reply, at)
        }
        _ => return None,
    };
    Some((reply, end - pos))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;

    fn round_trip(reply: Reply) {
        let mut wire = BytesMut::new();
        reply.encode(3, &mut wire);
        let (back, used) = decode(&wire).expect("decodes");
        assert_eq!(used, wire.len(), "{reply:?}");
        assert_eq!(back, reply);
    }

    #[test]
    fn resp3_round_trips() {
        let b = |s: &'static [u8]| Reply::Bulk(Bytes::from_static(s));
        round_trip(Reply::ok());
        round_trip(Reply::error("ERR x"));
        round_trip(Reply::Integer(-5));
        round_trip(b(b"a\r\nb"));
        round_trip(Reply::Nil);
        round_trip(Reply::Bool(true));
        round_trip(Reply::Double(2.5));
        round_trip(Reply::Push(vec![b(b"message"), b(b"ch"), b(b"")]));
        round_trip(Reply::Map(vec![(b(b"k"), Reply::Set(vec![b(b"v")]))]));
        round_trip(Reply::Verbatim("txt", Bytes::from_static(b"hi")));
    }

    #[test]
    fn resp2_frames_and_sequences() {
        let frames = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n";
        let all = decode_all(frames);
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], Reply::Nil);
        assert_eq!(all[2], Reply::NilArray);
    }

    #[test]
    fn incomplete_or_invalid_input_is_refused() {
        assert_eq!(decode(b"$5\r\nab"), None);
        assert_eq!(decode(b"*2\r\n:1\r\n"), None);
        assert_eq!(decode(b"?x\r\n"), None);
        assert_eq!(decode(b":abc\r\n"), None);
        assert_eq!(decode(&b"*1\r\n".repeat(100)), None);
    }
}

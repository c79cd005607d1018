//! The client side of RFC 6455 for the load generator: the upgrade request and its check,
//! masked text frames out, the server's frames in. Pure: no I/O.
//!
//! Written here rather than taken from async-tungstenite's stream so that both protocols go
//! through the same buffers and the same single `write` per batch: a pipeline of N commands
//! is N frames in one send, as a pipeline of N RESP commands is, and the comparison between
//! the two interfaces measures the server, not two client libraries. The key and the accept
//! check are tungstenite's.

use async_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};

/// Largest upgrade response head accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const OPCODE_CONTINUATION: u8 = 0x0;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// The upgrade request for `host` (`ip:port`) and the key the answer must be derived from.
pub fn upgrade_request(host: &str) -> (Vec<u8>, String) {
    let key = generate_key();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    (request.into_bytes(), key)
}

/// Checks the server's answer in `buf`: `Ok(Some(head_len))` once a `101` with the right
/// `Sec-WebSocket-Accept` has arrived (frames may follow it in `buf`), `Ok(None)` while the
/// head is incomplete, `Err` for a refusal or a wrong accept key.
pub fn check_upgrade(buf: &[u8], key: &str) -> Result<Option<usize>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD_BYTES {
            Err(format!("upgrade answer longer than {MAX_HEAD_BYTES} bytes"))
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(format!("upgrade refused: {status}"));
    }
    let accept = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-accept")
            .then(|| value.trim().to_string())
    });
    let expected = derive_accept_key(key.as_bytes());
    match accept {
        Some(accept) if accept == expected => Ok(Some(end + 4)),
        Some(accept) => Err(format!(
            "Sec-WebSocket-Accept is {accept:?}, expected {expected:?}"
        )),
        None => Err("no Sec-WebSocket-Accept in the upgrade answer".to_string()),
    }
}

/// Appends one masked frame (FIN set) with `payload`.
fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(len16) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len16.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// One command line as a masked text frame.
pub fn encode_text(out: &mut Vec<u8>, line: &[u8], mask: [u8; 4]) {
    encode_frame(out, OPCODE_TEXT, line, mask);
}

/// The answer to a ping: a masked pong with the ping's payload.
pub fn encode_pong(out: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    encode_frame(out, OPCODE_PONG, payload, mask);
}

/// A frame from the server.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// A text or binary message: one reply.
    Data(&'a [u8]),
    Ping(&'a [u8]),
    Pong,
    /// The server closes: its code (1005 when it gave none) and reason.
    Close(u16, String),
}

/// One frame at the start of `buf` and the bytes it used; `Ok(None)` until it is whole.
/// Servers never mask; every reply is one unfragmented frame (corekv writes each reply as one
/// message), so fragments and masks are errors rather than silently mis-parsed.
pub fn parse_frame(buf: &[u8], max_payload: usize) -> Result<Option<(Frame<'_>, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (fin, opcode) = (buf[0] & 0x80 != 0, buf[0] & 0x0f);
    if buf[1] & 0x80 != 0 {
        return Err("the server masked a frame".to_string());
    }
    let (len, head) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(bytes), 10)
        }
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    let len = match usize::try_from(len) {
        Ok(len) if len <= max_payload => len,
        _ => return Err(format!("a frame of {len} bytes (limit {max_payload})")),
    };
    if buf.len() < head + len {
        return Ok(None);
    }
    let payload = &buf[head..head + len];
    let used = head + len;
    if !fin || opcode == OPCODE_CONTINUATION {
        return Err("a fragmented message (not expected from corekv)".to_string());
    }
    let frame = match opcode {
        OPCODE_TEXT | OPCODE_BINARY => Frame::Data(payload),
        OPCODE_PING => Frame::Ping(payload),
        OPCODE_PONG => Frame::Pong,
        OPCODE_CLOSE => {
            let code = payload
                .get(..2)
                .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
            let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default());
            Frame::Close(code, reason.into_owned())
        }
        other => return Err(format!("a frame with opcode {other:#x}")),
    };
    Ok(Some((frame, used)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unmasks a client frame as a server would: (opcode, payload, bytes used).
    fn unmask(frame: &[u8]) -> (u8, Vec<u8>, usize) {
        assert_eq!(frame[0] & 0x80, 0x80, "FIN");
        assert_eq!(frame[1] & 0x80, 0x80, "masked");
        let (len, head) = match frame[1] & 0x7f {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mask = &frame[head..head + 4];
        let data = &frame[head + 4..head + 4 + len];
        let payload = data
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        (frame[0] & 0x0f, payload, head + 4 + len)
    }

    #[test]
    fn text_frames_round_trip_at_every_length_class() {
        for len in [0, 5, 125, 126, 65_535, 65_536] {
            let line = vec![b'a'; len];
            let mut out = Vec::new();
            encode_text(&mut out, &line, [1, 2, 3, 4]);
            assert_eq!(unmask(&out), (OPCODE_TEXT, line, out.len()), "length {len}");
        }
        let mut out = Vec::new();
        encode_pong(&mut out, b"hi", [9, 9, 9, 9]);
        assert_eq!(unmask(&out).0, OPCODE_PONG);
    }

    #[test]
    fn server_frames_parse_in_pieces() {
        let mut frames = vec![0x81, 4];
        frames.extend_from_slice(b"\"OK\"");
        frames.extend_from_slice(&[0x81, 126, 0, 200]);
        frames.extend_from_slice(&[b'x'; 200]);
        frames.extend_from_slice(&[0x89, 1, b'p', 0x8A, 0, 0x88, 4, 0x03, 0xe9, b'b', b'y']);
        let mut pos = 0;
        let mut seen = Vec::new();
        while pos < frames.len() {
            let rest = &frames[pos..];
            for cut in 0..2.min(rest.len()) {
                assert_eq!(parse_frame(&rest[..cut], 1024), Ok(None));
            }
            let (frame, used) = parse_frame(rest, 1024).expect("valid").expect("whole");
            seen.push(match frame {
                Frame::Data(d) => format!("data {}", d.len()),
                other => format!("{other:?}"),
            });
            pos += used;
        }
        assert_eq!(
            seen,
            [
                "data 4",
                "data 200",
                "Ping([112])",
                "Pong",
                "Close(1001, \"by\")"
            ]
        );
        assert_eq!(parse_frame(&frames[6..100], 1024), Ok(None));
    }

    #[test]
    fn bad_server_frames_are_errors() {
        assert!(
            parse_frame(&[0x81, 0x81, 0, 0, 0, 0, b'a'], 1024).is_err(),
            "masked"
        );
        assert!(parse_frame(&[0x01, 1, b'a'], 1024).is_err(), "not final");
        assert!(parse_frame(&[0x80, 1, b'a'], 1024).is_err(), "continuation");
        assert!(parse_frame(&[0x83, 0], 1024).is_err(), "reserved opcode");
        assert!(
            parse_frame(&[0x81, 126, 4, 1], 1024).is_err(),
            "over the limit"
        );
    }

    #[test]
    fn upgrade_answers_are_checked() {
        let (request, key) = upgrade_request("127.0.0.1:8379");
        let text = String::from_utf8(request).expect("ascii");
        assert!(text.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:8379\r\n"));
        assert!(text.ends_with(&format!("Sec-WebSocket-Key: {key}\r\n\r\n")));
        let accept = derive_accept_key(key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept: {accept}\r\n\r\n"
        );
        let mut good = head.clone().into_bytes();
        good.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(check_upgrade(&good, &key), Ok(Some(head.len())));
        assert_eq!(check_upgrade(&good[..head.len() - 1], &key), Ok(None));
        let wrong = head.replace(&accept, "AAAA");
        assert!(check_upgrade(wrong.as_bytes(), &key).is_err());
        let refused = "HTTP/1.1 403 Forbidden\r\n\r\n";
        assert!(check_upgrade(refused.as_bytes(), &key).is_err());
    }
}

//! The wire for `corekv-bench rwa`: WebSocket client framing written out (client frames
//! masked, RFC 6455 §5), the `/rwa` subscriber setup, and just enough RESP for publishers and
//! the admin connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::{IO_TIMEOUT, MAX_FRAME_BYTES, RwaArgs};

/// A masked client text frame (the mask is fixed: this is a load tool, not a browser).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// One complete server frame at the start of `buf`: (opcode, payload range, bytes used).
pub fn server_frame(buf: &[u8]) -> Result<Option<(u8, std::ops::Range<usize>, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[0] & 0x80 == 0 || buf[1] & 0x80 != 0 {
        return Err("fragmented or masked server frame".into());
    }
    let (len, head) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (
                usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                10,
            )
        }
        126 | 127 => return Ok(None),
        n => (n as usize, 2),
    };
    if len > MAX_FRAME_BYTES {
        return Err(format!("a {len}-byte frame"));
    }
    if buf.len() < head + len {
        return Ok(None);
    }
    Ok(Some((buf[0] & 0x0f, head..head + len, head + len)))
}

/// Reads whole text frames (blocking) until one contains `needle`.
pub fn read_until(stream: &mut TcpStream, buf: &mut Vec<u8>, needle: &str) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((op, range, used)) = server_frame(buf)? {
            let text = String::from_utf8_lossy(&buf[range]).into_owned();
            buf.drain(..used);
            if op == 1 && text.contains(needle) {
                return Ok(());
            }
            if op == 1 && text.contains("\"source\": \"error\"") {
                return Err(format!("the server answered {text}"));
            }
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed while waiting for {needle}"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Opens one `/rwa` subscriber with the box set and the channel counted.
pub fn subscribe(addr: &SocketAddr, args: &RwaArgs) -> Result<TcpStream, String> {
    let mut s =
        TcpStream::connect_timeout(addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET /rwa HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) if buf.len() < 16 * 1024 => buf.push(byte[0]),
            _ => return Err("no HTTP response".into()),
        }
    }
    if !buf.starts_with(b"HTTP/1.1 101") {
        return Err(format!(
            "upgrade refused: {}",
            String::from_utf8_lossy(&buf)
        ));
    }
    buf.clear();
    read_until(&mut s, &mut buf, "\"status\": \"open\"")?;
    let mut out = client_frame(1, format!("BBOX {}", args.bbox).as_bytes());
    if let Some(p) = &args.projection {
        out.extend(client_frame(1, format!("PROJECTION {p}").as_bytes()));
    }
    out.extend(client_frame(1, format!("SUB {}", args.channel).as_bytes()));
    out.extend(client_frame(1, b"PING"));
    s.write_all(&out).map_err(|e| format!("write: {e}"))?;
    read_until(&mut s, &mut buf, "\"content\": \"PONG\"")?;
    if !buf.is_empty() {
        return Err("unexpected frames after the PONG".into());
    }
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(s)
}

// ---- RESP: just what publishers and the admin connection need ----

pub struct Resp {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Resp {
    pub fn connect(addr: &SocketAddr) -> Result<Resp, String> {
        let stream = TcpStream::connect_timeout(addr, IO_TIMEOUT)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        Ok(Resp {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The next reply line (`:`, `+`, `-`, `*`, `$` and its text), blocking.
    pub fn line(&mut self) -> Result<String, String> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                return Ok(line);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn numsub(&mut self, channel: &str) -> Result<i64, String> {
        let mut out = Vec::new();
        Resp::encode(&mut out, &[b"PUBSUB", b"NUMSUB", channel.as_bytes()]);
        self.stream.write_all(&out).map_err(|e| e.to_string())?;
        // *2, $len, name, :count
        let lines: Vec<String> = (0..4).map(|_| self.line()).collect::<Result<_, _>>()?;
        lines[3]
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("PUBSUB NUMSUB replied {lines:?}"))
    }
}

//! One load connection on a glommio executor: connect (HELLO 3, or the WebSocket upgrade),
//! encode requests in its protocol, write batches, read and check replies in place.
//!
//! The read buffer is reused for the connection's life: replies are checked where they lie
//! ([`crate::resp::scan_reply`], [`super::ws::parse_frame`]) and the consumed prefix is only
//! moved when the buffer runs out of room, so a reply costs no allocation and no copy.

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use super::args::Protocol;
use super::verify::{self, Verdict};
use super::workload::{self, Command, Expect};
use super::ws;
use crate::resp::{MAX_REPLY_BYTES, ReplyRef, scan_reply};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The read buffer's starting size; it grows (up to a reply's limit) only for larger replies.
const READ_BUF_BYTES: usize = 64 * 1024;

pub struct Conn {
    stream: TcpStream,
    ws: Option<WsState>,
    buf: Vec<u8>,
    /// `buf[start..end]` holds bytes read and not yet consumed.
    start: usize,
    end: usize,
}

struct WsState {
    /// xorshift state for the frames' masking keys.
    mask_state: u32,
    /// The command line being framed.
    line: Vec<u8>,
    /// Pongs owed to the server, written by [`Conn::flush_control`].
    control_out: Vec<u8>,
}

impl WsState {
    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_be_bytes()
    }
}

impl Conn {
    /// Connects (TCP_NODELAY), then says HELLO 3 or upgrades to WebSocket as `protocol` asks.
    pub async fn connect(
        addr: SocketAddr,
        protocol: Protocol,
        index: usize,
    ) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(addr, CONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut conn = Conn {
            stream,
            ws: None,
            buf: vec![0; READ_BUF_BYTES],
            start: 0,
            end: 0,
        };
        match protocol {
            Protocol::Resp { version: 3 } => conn.hello3().await?,
            Protocol::Resp { .. } => {}
            Protocol::Ws => conn.upgrade(addr, index).await?,
        }
        Ok(conn)
    }

    async fn hello3(&mut self) -> Result<(), String> {
        let mut out = Vec::new();
        crate::resp::encode_command(&mut out, &[b"HELLO", b"3"]);
        self.send(&out).await?;
        loop {
            if let Some((reply, used)) = scan_reply(&self.buf[self.start..self.end])? {
                let ok = matches!(reply, ReplyRef::Aggregate { kind: b'%', .. });
                let seen = format!("{reply:?}");
                self.start += used;
                return if ok {
                    Ok(())
                } else {
                    Err(format!("HELLO 3 replied {seen}"))
                };
            }
            self.fill().await?;
        }
    }

    async fn upgrade(&mut self, addr: SocketAddr, index: usize) -> Result<(), String> {
        let (request, key) = ws::upgrade_request(&addr.to_string());
        self.send(&request).await?;
        loop {
            if let Some(head) = ws::check_upgrade(&self.buf[self.start..self.end], &key)? {
                self.start += head;
                break;
            }
            self.fill().await?;
        }
        self.ws = Some(WsState {
            mask_state: 0x9e37_79b9 ^ (index as u32).wrapping_mul(0x85eb_ca6b) | 1,
            line: Vec::with_capacity(256),
            control_out: Vec::new(),
        });
        Ok(())
    }

    /// Appends one request in this connection's protocol.
    pub fn encode(&mut self, out: &mut Vec<u8>, command: &Command, key_id: u64, value: &[u8]) {
        match &mut self.ws {
            None => workload::encode_resp(out, command, key_id, value),
            Some(ws) => {
                workload::encode_line(&mut ws.line, command, key_id, value);
                let mask = ws.next_mask();
                ws::encode_text(out, &ws.line, mask);
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// Whether read bytes are waiting to be parsed (a reply nobody asked for, if the caller
    /// has no request in flight).
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// Writes the pongs owed to the server's pings, if any. Apart from [`Conn::fill`] so that
    /// a read may be abandoned (open loop, waiting for the next due time) without cutting a
    /// write in half.
    pub async fn flush_control(&mut self) -> Result<(), String> {
        if let Some(ws) = &mut self.ws
            && !ws.control_out.is_empty()
        {
            let pongs = std::mem::take(&mut ws.control_out);
            self.send(&pongs).await?;
        }
        Ok(())
    }

    /// One read, waiting for data. Safe to abandon: glommio keeps the pending readiness poll
    /// in the stream, and bytes are only taken by the read that returns them.
    pub async fn fill(&mut self) -> Result<(), String> {
        self.make_room()?;
        let n = self
            .stream
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.end += n;
        Ok(())
    }

    /// Room to read into: consumed bytes are dropped, then the buffer grows if a reply
    /// still does not fit.
    fn make_room(&mut self) -> Result<(), String> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end < self.buf.len() {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            return Ok(());
        }
        if self.buf.len() >= MAX_REPLY_BYTES + READ_BUF_BYTES {
            return Err(format!("a reply larger than {MAX_REPLY_BYTES} bytes"));
        }
        self.buf.resize(self.buf.len() * 2, 0);
        Ok(())
    }

    /// The next complete reply, checked against `expect`; `None` until one has arrived.
    pub fn next_reply(&mut self, expect: Expect) -> Result<Option<Verdict>, String> {
        let Some(ws) = &mut self.ws else {
            let Some((reply, used)) = scan_reply(&self.buf[self.start..self.end])? else {
                return Ok(None);
            };
            let verdict = verify::resp(expect, &reply);
            self.start += used;
            return Ok(Some(verdict));
        };
        loop {
            let buffered = &self.buf[self.start..self.end];
            let Some((frame, used)) = ws::parse_frame(buffered, MAX_REPLY_BYTES)? else {
                return Ok(None);
            };
            let verdict = match frame {
                ws::Frame::Data(payload) => Some(verify::ws(expect, payload)),
                ws::Frame::Ping(payload) => {
                    let mask = ws.next_mask();
                    ws::encode_pong(&mut ws.control_out, payload, mask);
                    None
                }
                ws::Frame::Pong => None,
                ws::Frame::Close(code, reason) => {
                    return Err(format!("the server closed the WebSocket: {code} {reason}"));
                }
            };
            self.start += used;
            if verdict.is_some() {
                return Ok(verdict);
            }
        }
    }
}

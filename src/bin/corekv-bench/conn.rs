//! Blocking connections: setup, the admin connection and the publishers.

use crate::resp::{Frame, MAX_FRAME_BYTES, encode_command, parse_frame};
use crate::run::Control;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A read's timeout is the time left before the deadline, refreshed when it is this stale
/// (so a read never outlives the deadline by more than this, without a syscall per read).
const READ_TIMEOUT_REFRESH: Duration = Duration::from_secs(1);

pub struct Conn {
    pub stream: TcpStream,
    /// Bytes read but not parsed yet.
    pub buf: Vec<u8>,
    timeout_set_ns: Option<u64>,
}

impl Conn {
    /// Connects (TCP_NODELAY) and, for RESP3, says HELLO 3.
    pub fn connect(addr: &SocketAddr, resp: u8, control: &Control) -> Result<Conn, String> {
        let timeout = CONNECT_TIMEOUT
            .min(control.remaining())
            .max(Duration::from_millis(1));
        let stream = TcpStream::connect_timeout(addr, timeout)
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut conn = Conn {
            stream,
            buf: Vec::with_capacity(4096),
            timeout_set_ns: None,
        };
        if resp == 3 {
            let reply = conn.call(&[b"HELLO", b"3"], control)?;
            if !matches!(reply, Frame::Map(_)) {
                return Err(format!("HELLO 3 replied {}", reply.describe()));
            }
        }
        Ok(conn)
    }

    pub fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .map_err(|e| format!("write: {e}"))
    }

    pub fn call(&mut self, args: &[&[u8]], control: &Control) -> Result<Frame, String> {
        self.send(args)?;
        self.read_frame(control)
    }

    /// The next frame, reading (blocking, bounded by the run's deadline) until it is whole.
    pub fn read_frame(&mut self, control: &Control) -> Result<Frame, String> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            self.fill(control)?;
        }
    }

    /// Every complete frame in the buffer, after one blocking read if there is none.
    pub fn read_frames(&mut self, control: &Control, out: &mut Vec<Frame>) -> Result<(), String> {
        out.clear();
        loop {
            let mut pos = 0;
            while let Some((frame, used)) = parse_frame(&self.buf[pos..])? {
                out.push(frame);
                pos += used;
            }
            self.buf.drain(..pos);
            if !out.is_empty() {
                return Ok(());
            }
            self.fill(control)?;
        }
    }

    fn fill(&mut self, control: &Control) -> Result<(), String> {
        const TIMED_OUT: &str = "timed out (--timeout-s) waiting for a reply";
        if self.buf.len() > MAX_FRAME_BYTES {
            return Err(format!("reply larger than {MAX_FRAME_BYTES} bytes"));
        }
        self.refresh_read_timeout(control)?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("connection closed by the server".to_string()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(TIMED_OUT.to_string())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    fn refresh_read_timeout(&mut self, control: &Control) -> Result<(), String> {
        let now_ns = control.clock.now_ns();
        let refresh_ns = READ_TIMEOUT_REFRESH.as_nanos() as u64;
        if self
            .timeout_set_ns
            .is_some_and(|at| now_ns.saturating_sub(at) < refresh_ns)
        {
            return Ok(());
        }
        let remaining = control.remaining();
        if remaining.is_zero() {
            return Err("timed out (--timeout-s) waiting for a reply".to_string());
        }
        self.stream
            .set_read_timeout(Some(remaining))
            .map_err(|e| format!("set timeout: {e}"))?;
        self.timeout_set_ns = Some(now_ns);
        Ok(())
    }
}

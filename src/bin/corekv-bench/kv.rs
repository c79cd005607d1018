//! `corekv-bench kv`: SET then GET throughput and latency over RESP or over the WebSocket text
//! dialect, so the two interfaces of one server compare on the same load.
//!
//! Each of `--clients` threads owns one connection and sends its share of `--requests`
//! commands in batches of `--pipeline` (1: one command, wait for its reply), on keys
//! `kv:<n>` spread over `--keyspace`. A batch's round trip is recorded, for every command in it,
//! in an hdrhistogram (µs). Over WebSocket each command is one masked text frame
//! (`SET kv:17 xxxx`), each reply one text frame (`"OK"`, `"xxxx"`), checked. The SET phase
//! runs first (so GETs hit), then the GET phase; one `RESULT` line per phase.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::KvArgs;
use crate::resp::{Frame, encode_command, parse_frame};

/// One connection speaking either protocol.
struct Client {
    stream: TcpStream,
    ws: bool,
    buf: Vec<u8>,
    /// xorshift state for WebSocket masking keys.
    mask_state: u32,
}

impl Client {
    fn connect(addr: SocketAddr, ws: bool) -> Result<Client, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut c = Client {
            stream,
            ws,
            buf: Vec::with_capacity(64 * 1024),
            mask_state: 0x9e37_79b9 ^ addr.port() as u32,
        };
        if ws {
            c.upgrade(addr)?;
        }
        Ok(c)
    }

    fn upgrade(&mut self, addr: SocketAddr) -> Result<(), String> {
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        self.stream
            .write_all(req.as_bytes())
            .map_err(|e| e.to_string())?;
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                if !self.buf.starts_with(b"HTTP/1.1 101") {
                    return Err(format!(
                        "upgrade refused: {}",
                        String::from_utf8_lossy(&self.buf[..end])
                    ));
                }
                self.buf.drain(..end + 4);
                return Ok(());
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("connection closed by the server".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_be_bytes()
    }

    /// Appends one command to `out` in this client's protocol.
    fn encode(&mut self, out: &mut Vec<u8>, args: &[&[u8]]) {
        if !self.ws {
            encode_command(out, args);
            return;
        }
        let line = args.join(&b' ');
        out.push(0x81);
        let len = line.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len < 65536 {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = self.next_mask();
        out.extend_from_slice(&mask);
        out.extend(line.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }

    /// Reads one reply: its bytes (the RESP value's text or the WebSocket frame's payload).
    fn reply(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if self.ws {
                if let Some((payload, used)) = ws_frame(&self.buf)? {
                    self.buf.drain(..used);
                    return Ok(payload);
                }
            } else if let Some((frame, used)) = parse_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(match frame {
                    Frame::Simple(s) | Frame::Bulk(s) => s,
                    other => other.describe().into_bytes(),
                });
            }
            self.fill()?;
        }
    }
}

/// One unmasked server frame at the start of `buf`: (payload, bytes used). Only data frames
/// are expected; a close frame is an error.
fn ws_frame(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let opcode = buf[0] & 0x0f;
    let (len, head) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut l = [0u8; 8];
            l.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(l) as usize, 10)
        }
        126 | 127 => return Ok(None),
        n => (n as usize, 2),
    };
    if buf.len() < head + len {
        return Ok(None);
    }
    if opcode == 8 {
        return Err("the server closed the WebSocket".into());
    }
    Ok(Some((buf[head..head + len].to_vec(), head + len)))
}

/// What one thread measured.
struct Share {
    hist: Histogram<u64>,
    errors: u64,
}

fn client_thread(args: &KvArgs, addr: SocketAddr, id: usize, get: bool) -> Result<Share, String> {
    let ws = args.protocol == "ws";
    let mut c = Client::connect(addr, ws)?;
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let value = vec![b'x'; args.value_size];
    let expected: Vec<u8> = match (ws, get) {
        (true, true) => format!("\"{}\"", String::from_utf8_lossy(&value)).into_bytes(),
        (true, false) => b"\"OK\"".to_vec(),
        (false, true) => value.clone(),
        (false, false) => b"OK".to_vec(),
    };
    let per_client = args.requests / args.clients as u64;
    let mut errors = 0;
    let mut out = Vec::with_capacity(args.pipeline * (32 + args.value_size));
    let mut sent = 0u64;
    let mut n = id as u64 * 7919;
    while sent < per_client {
        let batch = (args.pipeline as u64).min(per_client - sent);
        out.clear();
        for _ in 0..batch {
            n = (n + 1) % args.keyspace;
            let key = format!("kv:{n}");
            if get {
                c.encode(&mut out, &[b"GET", key.as_bytes()]);
            } else {
                c.encode(&mut out, &[b"SET", key.as_bytes(), &value]);
            }
        }
        let start = Instant::now();
        c.stream
            .write_all(&out)
            .map_err(|e| format!("write: {e}"))?;
        for _ in 0..batch {
            if c.reply()? != expected {
                errors += 1;
            }
        }
        let us = (start.elapsed().as_micros() as u64).max(1);
        hist.record_n(us, batch).map_err(|e| e.to_string())?;
        sent += batch;
    }
    Ok(Share { hist, errors })
}

/// Runs one phase (SET or GET) with every client; prints its RESULT line.
fn phase(args: &KvArgs, addr: SocketAddr, get: bool) -> Result<bool, String> {
    let start = Instant::now();
    let shares: Vec<Result<Share, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.clients)
            .map(|id| s.spawn(move || client_thread(args, addr, id, get)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into()))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let mut errors = 0;
    for share in shares {
        let share = share?;
        hist.add(&share.hist).map_err(|e| e.to_string())?;
        errors += share.errors;
    }
    let ops = hist.len();
    println!(
        "RESULT protocol={} op={} clients={} pipeline={} requests={} value_bytes={} ops_per_sec={:.0} p50_us={} p99_us={} p999_us={} max_us={} errors={}",
        args.protocol,
        if get { "GET" } else { "SET" },
        args.clients,
        args.pipeline,
        ops,
        args.value_size,
        ops as f64 / elapsed,
        hist.value_at_quantile(0.50),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max(),
        errors
    );
    Ok(errors == 0)
}

/// SET phase then GET phase. `Ok(false)` when a reply was not the expected one.
pub fn run(args: &KvArgs) -> Result<bool, String> {
    if args.clients == 0 || args.pipeline == 0 || args.keyspace == 0 {
        return Err("--clients, --pipeline and --keyspace must be > 0".into());
    }
    let addr = crate::pubsub::loopback_addr(&args.host, args.port)?;
    let set_ok = phase(args, addr, false)?;
    let get_ok = phase(args, addr, true)?;
    Ok(set_ok && get_ok)
}

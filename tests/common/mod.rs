//! Test harness: starts the real `corekv` binary on a free loopback port and talks to it over
//! real sockets, with the `redis` crate or raw bytes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts corekv with `--shards n` plus `extra` args and waits until it answers PING.
    pub fn start(shards: usize, extra: &[&str]) -> Server {
        for _attempt in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_corekv"));
            cmd.args(["--port", &port.to_string(), "--shards", &shards.to_string()])
                .args(["--log-level", "warn", "--no-pin"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            let mut child = cmd.spawn().expect("spawn corekv");
            if wait_ready(port, &mut child) {
                return Server { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("corekv did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect")
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Waits for the process to exit by itself (after SHUTDOWN or a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_ready(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            if s.write_all(b"PING\r\n").is_ok() {
                let mut buf = [0u8; 7];
                if s.read_exact(&mut buf).is_ok()
                    && &buf == b"+PONG\r\n"
                    && owns_listener(child.id(), port)
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// True when process `pid` holds a listening TCP socket on `port`. A server that failed to
/// bind must not pass for ready just because another test's server answers on that port.
pub fn owns_listener(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let local_port = f[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|l| inodes.iter().any(|i| l.to_string_lossy() == *i))
            .unwrap_or(false)
    })
}

/// A raw RESP connection for byte-exact protocol tests.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Raw { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a RESP multibulk.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode(args));
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads until `expected.len()` bytes arrived and checks them.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_exact(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// Reads one complete RESP value and returns its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            self.stream.read_exact(&mut b).expect("read line");
            line.push(b[0]);
            if line.ends_with(b"\r\n") {
                break;
            }
        }
        out.extend_from_slice(&line);
        line
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let body = std::str::from_utf8(&line[1..line.len() - 2])
            .unwrap_or("")
            .to_string();
        match line[0] {
            b'$' | b'=' | b'!' => {
                let n: i64 = body.parse().expect("bulk len");
                if n >= 0 {
                    let data = self.read_exact(n as usize + 2);
                    out.extend_from_slice(&data);
                }
            }
            b'*' | b'~' | b'>' => {
                let n: i64 = body.parse().expect("array len");
                for _ in 0..n.max(0) {
                    self.read_value(out);
                }
            }
            b'%' => {
                let n: i64 = body.parse().expect("map len");
                for _ in 0..(2 * n.max(0)) {
                    self.read_value(out);
                }
            }
            _ => {}
        }
    }

    /// True when the server closed the connection (read returns 0 within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs a command with the redis crate and returns the reply value.
pub fn run(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

// ---- Exact-reply helpers (used by tests/strings.rs, tests/keys.rs, tests/differential.rs) ----

impl Raw {
    /// Sends one command and returns its reply's raw bytes, read as (lossy) text.
    pub fn q(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.qb(&args)
    }

    /// Like [`Raw::q`] with binary arguments.
    pub fn qb(&mut self, args: &[&[u8]]) -> String {
        self.cmd(args);
        String::from_utf8_lossy(&self.read_reply()).into_owned()
    }
}

/// `+OK`
pub const OK: &str = "+OK\r\n";
/// RESP2's null bulk string.
pub const NIL: &str = "$-1\r\n";

/// A bulk string reply.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// An integer reply.
pub fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// An error reply, from its text (code included): `err("ERR syntax error")`.
pub fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

/// An array reply of already encoded items.
pub fn arr(items: &[String]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(i);
    }
    out
}

/// Redis Cluster's key slot, written out independently of the server's code so tests can
/// catch a routing bug: CRC16/XMODEM of the key, or of its first non-empty `{hash tag}`.
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let close = key[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &key[open + 1..open + 1 + close])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(key) {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// The shard corekv routes `key` to with `nr_shards` shards (contiguous slot ranges).
pub fn shard_of(key: &[u8], nr_shards: usize) -> usize {
    key_slot(key) as usize * nr_shards / 16384
}

/// The first key named `{prefix}{i}` (i = 0, 1, ...) that lives on `shard`.
pub fn key_on_shard(prefix: &str, shard: usize, nr_shards: usize) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| shard_of(k.as_bytes(), nr_shards) == shard)
        .expect("some key lands on every shard")
}

// ---- Connection-end, real-client and reference-server helpers (tests/protocol.rs,
// tests/server.rs, tests/clients.rs) ----

impl Raw {
    /// Reads until the server closes the connection and returns everything that arrived
    /// first. Panics if the connection is still open after the read timeout, so a test
    /// using it fails when the server forgets to close (unlike [`Raw::is_closed`], which
    /// also reports a timeout as closed).
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
                Err(e) => panic!(
                    "connection still open after {:?} ({e}); received so far: {:?}",
                    self.stream.read_timeout().ok().flatten(),
                    String::from_utf8_lossy(&out)
                ),
            }
        }
    }

    /// [`Raw::read_to_close`] as text.
    pub fn text_to_close(&mut self) -> String {
        String::from_utf8_lossy(&self.read_to_close()).into_owned()
    }

    /// A second handle on the same socket, e.g. to write a long pipeline from one thread
    /// while this one reads the replies.
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().expect("clone socket")
    }
}

/// The path of an external program the tests drive, or a panic that says how to get it.
pub fn require_tool(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed (not found in PATH). These tests run it as a real \
                 client or reference server: install Debian's redis-server and redis-tools \
                 packages (tests/run.sh does), e.g. `apt-get install redis-server redis-tools`."
            )
        })
}

/// A real redis-server on a free port, for comparing corekv's answers with Redis's.
/// Killed on drop.
pub struct RefRedis {
    child: Child,
    pub port: u16,
}

impl RefRedis {
    /// Starts `redis-server --port P --save '' --appendonly no` plus `extra` args.
    pub fn start(extra: &[&str]) -> RefRedis {
        let bin = require_tool("redis-server");
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--logfile", ""])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            if wait_ready(port, &mut child) {
                return RefRedis { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for RefRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed RESP value, for tests that compare structure rather than bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
    Double(String),
    Bool(bool),
    Verbatim(String, Vec<u8>),
}

impl Resp {
    /// Parses one complete value (as [`Raw::read_reply`] returns it).
    pub fn parse(bytes: &[u8]) -> Resp {
        let (value, rest) = Resp::parse_prefix(bytes);
        assert!(rest.is_empty(), "trailing bytes after a RESP value");
        value
    }

    fn parse_prefix(bytes: &[u8]) -> (Resp, &[u8]) {
        let eol = bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("RESP line");
        let line = String::from_utf8_lossy(&bytes[1..eol]).into_owned();
        let rest = &bytes[eol + 2..];
        let count = || line.parse::<i64>().expect("RESP length");
        match bytes[0] {
            b'+' => (Resp::Simple(line), rest),
            b'-' => (Resp::Error(line), rest),
            b':' => (Resp::Int(count()), rest),
            b',' => (Resp::Double(line), rest),
            b'#' => (Resp::Bool(line == "t"), rest),
            b'_' => (Resp::Nil, rest),
            b'$' | b'=' if count() < 0 => (Resp::Nil, rest),
            b'$' => {
                let n = count() as usize;
                (Resp::Bulk(rest[..n].to_vec()), &rest[n + 2..])
            }
            b'=' => {
                let n = count() as usize;
                let format = String::from_utf8_lossy(&rest[..3]).into_owned();
                (Resp::Verbatim(format, rest[4..n].to_vec()), &rest[n + 2..])
            }
            b'*' | b'~' | b'>' if count() < 0 => (Resp::Nil, rest),
            b'*' | b'~' | b'>' => {
                let mut items = Vec::new();
                let mut rest = rest;
                for _ in 0..count() {
                    let (item, r) = Resp::parse_prefix(rest);
                    items.push(item);
                    rest = r;
                }
                (Resp::Array(items), rest)
            }
            b'%' => {
                let mut pairs = Vec::new();
                let mut rest = rest;
                for _ in 0..count() {
                    let (k, r) = Resp::parse_prefix(rest);
                    let (v, r) = Resp::parse_prefix(r);
                    pairs.push((k, v));
                    rest = r;
                }
                (Resp::Map(pairs), rest)
            }
            other => panic!("unknown RESP type byte {other:?}"),
        }
    }

    /// The text of a simple string, bulk string or verbatim string.
    pub fn text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Error(s) | Resp::Double(s) => s.clone(),
            Resp::Bulk(b) | Resp::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("not a string: {other:?}"),
        }
    }

    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(items) => items,
            other => panic!("not an array: {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            other => panic!("not an integer: {other:?}"),
        }
    }
}

impl Raw {
    /// Sends one command and parses its reply.
    pub fn call(&mut self, args: &[&str]) -> Resp {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&args);
        Resp::parse(&self.read_reply())
    }
}

impl Server {
    /// Starts corekv with `--requirepass password` (plus `extra`) and waits until it answers
    /// `AUTH` (the plain [`Server::start`] probes with an unauthenticated PING, which such a
    /// server refuses).
    pub fn start_with_password(shards: usize, password: &str, extra: &[&str]) -> Server {
        let auth = String::from_utf8(encode(&[b"AUTH", password.as_bytes()])).expect("utf8");
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
                .args(["--port", &port.to_string(), "--shards", &shards.to_string()])
                .args(["--log-level", "warn", "--no-pin", "--requirepass", password])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn corekv");
            if wait_ready_with(port, &mut child, auth.as_bytes(), b"+OK\r\n") {
                return Server { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("corekv did not start");
    }
}

/// Like `wait_ready`, with any probe request and the exact reply that means "ready".
fn wait_ready_with(port: u16, child: &mut Child, probe: &[u8], ready: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            if s.write_all(probe).is_ok() {
                let mut buf = vec![0u8; ready.len()];
                if s.read_exact(&mut buf).is_ok() && buf == ready && owns_listener(child.id(), port)
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

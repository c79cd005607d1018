//! Test harness: starts the real `corekv` binary on a free loopback port and talks to it over
//! real sockets, with the `redis` crate or raw bytes.
//!
//! Every corekv started here gets its own data directory (`--dir`): a fresh temporary one,
//! removed when the [`Server`] is dropped, unless the test passes `--dir` itself or starts it
//! with [`Server::start_in`] (the directory then outlives the process, so a test can kill the
//! server and start another on the same data). Parallel tests therefore never share a log.
#![allow(dead_code)]

pub mod persist;
pub mod rwa;
pub mod ws;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a spawned server may take to bind and answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server that answers may take to finish loading its log (`loading:0`).
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SHUTDOWN or a signal.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// Most stderr bytes kept per server (everything is still echoed to the test's output).
const MAX_STDERR_BYTES: usize = 4 * 1024 * 1024;
/// Port clashes a start retries before giving up.
const START_ATTEMPTS: usize = 5;

/// A fresh directory under the system temp dir (`corekv-test-<pid>-<n>`), removed with
/// everything in it on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("corekv-test-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        // Left over by an earlier test process that had our pid and was killed.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A corekv that exited while starting (or after it was stopped): its status and stderr.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stderr: String,
}

/// The request a start sends to see whether a server is up, and the replies that say so.
#[derive(Clone, Copy)]
enum Probe<'a> {
    /// `INFO persistence` answered at all: listening (perhaps still loading). INFO works
    /// while loading and never counts as an error, unlike PING's `-LOADING`.
    Info,
    /// `PING` answered `+PONG` (the reference redis-server).
    Pong,
    /// `AUTH password` answered `+OK`.
    Auth(&'a str),
}

impl Probe<'_> {
    fn request(&self) -> Vec<u8> {
        match self {
            Probe::Info => b"INFO persistence\r\n".to_vec(),
            Probe::Pong => b"PING\r\n".to_vec(),
            Probe::Auth(password) => encode(&[b"AUTH", password.as_bytes()]),
        }
    }

    fn accepts(&self, first_line: &[u8]) -> bool {
        match self {
            Probe::Info => first_line.starts_with(b"$") || first_line.starts_with(b"="),
            Probe::Pong => first_line == b"+PONG\r\n",
            Probe::Auth(_) => first_line == b"+OK\r\n",
        }
    }
}

/// A running corekv with its own data directory (`--dir`) and a copy of its stderr.
pub struct Server {
    child: Child,
    pub port: u16,
    /// The WebSocket port (`--ws-port`): a free one unless the test passed its own; 0 when
    /// the test disabled it.
    pub ws_port: u16,
    dir: PathBuf,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// `--requirepass`, for the harness's own connections.
    password: Option<String>,
    /// The directory the harness made for this server; removed after the process is gone
    /// (fields drop after `Drop::drop` killed it).
    _temp_dir: Option<TempDir>,
}

impl Server {
    /// Starts corekv with `--shards n` plus `extra` args in a fresh temporary data directory
    /// (removed on drop) unless `extra` holds `--dir`, and waits until it has loaded its log.
    /// Its statistics are then reset (`CONFIG RESETSTAT`), so a test sees none of the
    /// harness's probes, however many the start took.
    pub fn start(shards: usize, extra: &[&str]) -> Server {
        if let Some(dir) = dir_arg(extra) {
            return Server::start_in(&dir, shards, extra);
        }
        let temp = TempDir::new();
        let mut server = Server::start_in(temp.path(), shards, extra);
        server._temp_dir = Some(temp);
        server
    }

    /// Starts corekv on the data directory `dir`, which it leaves in place (a later start on
    /// the same `dir` sees what this one wrote), and waits as [`Server::start`] does.
    pub fn start_in(dir: &Path, shards: usize, extra: &[&str]) -> Server {
        Server::try_start_in(dir, shards, extra)
            .unwrap_or_else(|e| panic!("corekv did not start: {e:?}"))
    }

    /// Like [`Server::start_in`], but returns how the process ended when it exits instead of
    /// starting (a damaged log, a bad option).
    pub fn try_start_in(dir: &Path, shards: usize, extra: &[&str]) -> Result<Server, Exited> {
        let mut server = launch(dir, shards, extra, Probe::Info)?;
        server.wait_until_loaded()?;
        server.reset_stats();
        Ok(server)
    }

    /// Starts corekv on `dir` and returns as soon as it answers, typically while it still
    /// replays its log (commands get `-LOADING`). See [`Server::wait_loaded`].
    pub fn start_in_loading(dir: &Path, shards: usize, extra: &[&str]) -> Server {
        launch(dir, shards, extra, Probe::Info)
            .unwrap_or_else(|e| panic!("corekv did not start: {e:?}"))
    }

    /// Starts corekv with `--requirepass password` (plus `extra`) in a fresh temporary data
    /// directory and waits as [`Server::start`] does, authenticating its own probes (an
    /// unauthenticated INFO gets `-NOAUTH`).
    pub fn start_with_password(shards: usize, password: &str, extra: &[&str]) -> Server {
        let temp = TempDir::new();
        let mut args = vec!["--requirepass", password];
        args.extend_from_slice(extra);
        let mut server = launch(temp.path(), shards, &args, Probe::Auth(password))
            .unwrap_or_else(|e| panic!("corekv did not start: {e:?}"));
        server._temp_dir = Some(temp);
        server.password = Some(password.to_string());
        if let Err(e) = server.wait_until_loaded() {
            panic!("corekv exited while loading: {e:?}");
        }
        server.reset_stats();
        server
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

    /// The data directory (`--dir`) this server runs on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned()
    }

    /// Waits for the process to exit by itself (after SHUTDOWN or a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.join_stderr();
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: the process dies without flushing anything; returns once it is gone.
    pub fn kill9(&mut self) -> ExitStatus {
        self.child.kill().expect("SIGKILL corekv");
        let status = self.child.wait().expect("wait for corekv");
        self.join_stderr();
        status
    }

    /// Sends `signal` and waits (up to [`EXIT_TIMEOUT`]) for the process to exit.
    pub fn signal(&mut self, signal: libc::c_int) -> ExitStatus {
        // SAFETY: sending a signal to the child process this harness started and has not
        // reaped yet (so the pid cannot have been reused).
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.child.id());
        self.wait_exit(EXIT_TIMEOUT).unwrap_or_else(|| {
            panic!("corekv still running {EXIT_TIMEOUT:?} after signal {signal}")
        })
    }

    /// SIGTERM, then waits for the exit.
    pub fn sigterm(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM)
    }

    /// Sends `SHUTDOWN` and waits for the exit.
    pub fn shutdown(&mut self) -> ExitStatus {
        let mut raw = self.raw();
        raw.send(b"SHUTDOWN\r\n");
        let reply = raw.text_to_close();
        assert_eq!(reply, "", "SHUTDOWN closes the connection without a reply");
        self.wait_exit(EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("corekv still running {EXIT_TIMEOUT:?} after SHUTDOWN"))
    }

    /// Waits until `INFO persistence` shows `loading:0`. Panics after `timeout`.
    pub fn wait_loaded(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while loading_state(self.port, self.password.as_deref()) != Some(false) {
            assert!(Instant::now() < deadline, "still loading after {timeout:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `INFO persistence` until `loading:0`, for [`LOAD_TIMEOUT`]; returns how the
    /// process ended if it exits meanwhile (a damaged log is found while loading).
    fn wait_until_loaded(&mut self) -> Result<(), Exited> {
        let deadline = Instant::now() + LOAD_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_stderr();
                let stderr = self.stderr_text();
                return Err(Exited { status, stderr });
            }
            if loading_state(self.port, self.password.as_deref()) == Some(false) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "corekv on port {} still loading after {LOAD_TIMEOUT:?}",
            self.port
        );
    }

    /// `CONFIG RESETSTAT` on a connection of its own.
    fn reset_stats(&self) {
        let mut raw = self.raw();
        if let Some(password) = &self.password {
            assert_eq!(raw.q(&["AUTH", password]), OK);
        }
        assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), OK);
    }

    /// Waits until the stderr copy is complete (the process has exited).
    fn join_stderr(&mut self) {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `flag` (`--flag value` or `--flag=value`) in `extra`, if any.
fn flag_value(extra: &[&str], flag: &str) -> Option<String> {
    extra
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix(flag) {
            Some("") => extra.get(i + 1).map(|v| v.to_string()),
            Some(v) => v.strip_prefix('=').map(str::to_string),
            None => None,
        })
}

/// The value of a `--dir` argument in `extra`, if any.
fn dir_arg(extra: &[&str]) -> Option<PathBuf> {
    extra
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--dir") {
            Some("") => extra.get(i + 1).map(PathBuf::from),
            Some(v) => v.strip_prefix('=').map(PathBuf::from),
            None => None,
        })
}

/// Spawns corekv on a free port with `--dir dir` (unless `extra` names one) and waits until
/// `probe` says it is up, retrying on another port when the first one was taken meanwhile.
fn launch(dir: &Path, shards: usize, extra: &[&str], probe: Probe) -> Result<Server, Exited> {
    let mut last_exit = None;
    for _attempt in 0..START_ATTEMPTS {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corekv"));
        cmd.args(["--port", &port.to_string(), "--shards", &shards.to_string()])
            .args(["--log-level", "warn", "--no-pin"]);
        // Never the default WebSocket port: parallel tests would fight over it.
        let ws_port = match flag_value(extra, "--ws-port") {
            Some(p) => p.parse().expect("--ws-port is a number"),
            None => {
                let p = free_port_other_than(port);
                cmd.args(["--ws-port", &p.to_string()]);
                p
            }
        };
        if dir_arg(extra).is_none() {
            cmd.arg("--dir").arg(dir);
        }
        cmd.args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn corekv");
        let (stderr, reader) = tee_stderr(&mut child);
        let mut server = Server {
            child,
            port,
            ws_port,
            dir: dir_arg(extra).unwrap_or_else(|| dir.to_path_buf()),
            stderr,
            stderr_reader: Some(reader),
            password: None,
            _temp_dir: None,
        };
        if wait_up(port, &mut server.child, probe) {
            return Ok(server);
        }
        let _ = server.child.kill();
        let status = server.child.wait().expect("wait for corekv");
        server.join_stderr();
        let stderr = server.stderr_text();
        // A port taken between free_port() and the bind is worth another try; any other
        // exit is the answer.
        let exited_by_itself = status.code().is_some();
        if exited_by_itself && !stderr.contains("Address already in use") {
            return Err(Exited { status, stderr });
        }
        last_exit = Some(Exited { status, stderr });
    }
    Err(last_exit.expect("at least one attempt"))
}

/// Copies the child's stderr into a buffer (for assertions) and to this test's stderr (shown
/// when the test fails), line by line, until the process closes it.
fn tee_stderr(child: &mut Child) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let pipe = child.stderr.take().expect("stderr is piped");
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let reader = std::thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match pipe.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    eprint!("[corekv] {}", String::from_utf8_lossy(&line));
                    let mut kept = sink.lock().expect("stderr buffer");
                    if kept.len() + line.len() <= MAX_STDERR_BYTES {
                        kept.extend_from_slice(&line);
                    }
                }
            }
        }
    });
    (buffer, reader)
}

/// Parses the `INFO section` reply into its `field:value` lines.
pub fn info_fields(raw: &mut Raw, section: &str) -> std::collections::BTreeMap<String, String> {
    let text = raw.call(&["INFO", section]).text();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A free port that is not `taken`: two [`free_port`] calls in a row may return the same
/// port (the first was released), and corekv refuses a WebSocket port equal to its RESP port.
pub fn free_port_other_than(taken: u16) -> u16 {
    loop {
        let p = free_port();
        if p != taken {
            return p;
        }
    }
}

/// PING until `+PONG` from the process `child` listening on `port` (the reference server).
fn wait_ready(port: u16, child: &mut Child) -> bool {
    wait_up(port, child, Probe::Pong)
}

/// Probes `port` until `probe` accepts the reply and `child` owns the listener, for
/// [`START_TIMEOUT`]. False when the process exited or the time ran out.
fn wait_up(port: u16, child: &mut Child, probe: Probe) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if probe_once(port, probe) && owns_listener(child.id(), port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// One connection, one probe request; true when the reply's first line is accepted.
fn probe_once(port: u16, probe: Probe) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(&probe.request()).is_err() {
        return false;
    }
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") && line.len() < 4096 {
        match s.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => return false,
        }
    }
    probe.accepts(&line)
}

/// `Some(true)` / `Some(false)` for `loading:1` / `loading:0` in `INFO persistence` on a
/// fresh connection (authenticated first when `password` is set); `None` when the server
/// cannot be asked (not listening, closed the connection, refused).
fn loading_state(port: u16, password: Option<&str>) -> Option<bool> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if let Some(password) = password {
        writer
            .write_all(&encode(&[b"AUTH", password.as_bytes()]))
            .ok()?;
        reader.read_line(&mut line).ok()?;
        if line != OK {
            return None;
        }
    }
    writer.write_all(b"INFO persistence\r\n").ok()?;
    line.clear();
    reader.read_line(&mut line).ok()?;
    let len: usize = line.strip_prefix('$')?.trim_end().parse().ok()?;
    let mut body = vec![0u8; len + 2];
    reader.read_exact(&mut body).ok()?;
    let text = String::from_utf8_lossy(&body);
    match text.lines().find_map(|l| l.strip_prefix("loading:")) {
        Some("0") => Some(false),
        Some(_) => Some(true),
        None => None,
    }
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
                let server = RefRedis { child, port };
                // As Server does: no probe shows in the statistics a test compares.
                assert_eq!(server.raw().q(&["CONFIG", "RESETSTAT"]), OK);
                return server;
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

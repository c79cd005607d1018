//! corekv-bench: load generators that speak RESP over plain blocking `std::net` sockets.
//!
//! No async runtime on purpose: the client's cost stays easy to reason about and shares nothing
//! with the server under test, so the same binary measures corekv and redis-server alike.
//! Only loopback targets are accepted (this is a load generator).
//!
//! # `corekv-bench pubsub`
//!
//! Fan-out throughput and delivery latency of PUBLISH to N subscribers of one channel.
//!
//! 1. Connect N subscriber connections; each sends `SUBSCRIBE channel` and must be confirmed
//!    with `subscribe channel 1` before the next one connects.
//! 2. Poll `PUBSUB NUMSUB channel` on an admin connection until it says N (bounded).
//! 3. Hand the subscribers, nonblocking, to a few reader threads, each a `poll(2)` loop over its
//!    share (one thread per ~100 subscribers, at most the CPU count): no thread per connection.
//! 4. K publisher connections start together and send M PUBLISH commands between them, each
//!    keeping up to `--window` commands in flight, and check that every reply is N.
//! 5. Every payload starts with its send time (ns since a process-wide `Instant`, a monotonic
//!    clock shared by all threads), its publisher id and its sequence number. A reader records
//!    receive time − send time in an hdrhistogram and checks each publisher's sequence numbers
//!    arrive as 0, 1, 2, …
//! 6. Pass only when every reply was N and every subscriber received all M messages, in order,
//!    on the right channel, with the right length; exit 1 otherwise, 2 for a setup error.
//!
//! The last line is `RESULT key=value ...`, for scripts (benches/pubsub.sh).

use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Payload header: send time (u64 ns), publisher id (u32), sequence number (u64), little endian.
const PAYLOAD_HEADER_BYTES: usize = 8 + 4 + 8;
/// Largest payload; a reader's scratch buffer holds at least two frames of this size.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Per reader thread: one read lands here, after the partial frame left by the previous read.
const SCRATCH_BYTES: usize = 4 * MAX_PAYLOAD_BYTES;
const MAX_SUBSCRIBERS: usize = 10_000;
const MAX_PUBLISHERS: usize = 64;
const MAX_WINDOW: usize = 1024;
const MAX_CHANNEL_BYTES: usize = 256;
/// Largest setup or reply frame read by a blocking connection.
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Deepest nesting of aggregate frames accepted (HELLO's map of arrays needs 3).
const MAX_FRAME_DEPTH: usize = 8;
/// Reads of one subscriber per poll wakeup before the others get their turn.
const MAX_READS_PER_WAKEUP: usize = 4;
const POLL_TIMEOUT_MS: libc::c_int = 50;
const NUMSUB_POLL_INTERVAL_MS: u64 = 10;
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// After the last PUBLISH reply, how long readers wait for missing deliveries before failing.
const DRAIN_GRACE_MS: u64 = 5_000;
/// Latency histogram range: 1 ns .. 10 minutes, 3 significant digits.
const LATENCY_MAX_NS: u64 = 600_000_000_000;
/// How many failure descriptions are printed.
const MAX_ERRORS_SHOWN: usize = 10;

#[derive(Parser, Debug)]
#[command(
    name = "corekv-bench",
    version,
    about = "Load generators for corekv (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// N subscribers on one channel, K publishers, M messages: fan-out rate and latency.
    Pubsub(PubsubArgs),
}

#[derive(Args, Debug, Clone)]
struct PubsubArgs {
    /// Server host; must resolve to loopback addresses only.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Subscriber connections, all on one channel.
    #[arg(long, default_value_t = 1)]
    subscribers: usize,
    /// PUBLISH commands in all (split evenly between the publishers).
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Bytes per payload (at least 20: send time, publisher id and sequence number).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Publisher connections, one thread each.
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// PUBLISH commands each publisher keeps in flight (1: wait for each reply).
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Subscriber reader threads (0: one per 100 subscribers, at most the CPU count).
    #[arg(long, default_value_t = 0)]
    reader_threads: usize,
    #[arg(long, default_value = "corekv-bench")]
    channel: String,
    /// RESP version of every connection (3: HELLO 3 first; messages arrive as push frames).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    resp: u8,
    /// Limit for the whole run, in seconds; exceeding it fails the run.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Pubsub(args) => match pubsub(&args) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(err) => {
                eprintln!("corekv-bench pubsub: {err}");
                2
            }
        },
    };
    std::process::exit(code);
}

// ---------------------------------------------------------------------------------------------
// Clock and run control

/// Nanoseconds since one `Instant` taken at start: every thread reads the same monotonic clock.
#[derive(Clone, Copy)]
struct Clock {
    base: Instant,
}

impl Clock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What every thread reads to know when to stop.
struct Control {
    clock: Clock,
    deadline_ns: u64,
    /// Set when the publishers are done: readers give up on missing messages after it.
    drain_deadline_ns: AtomicU64,
    abort: AtomicBool,
}

impl Control {
    fn remaining(&self) -> Duration {
        Duration::from_nanos(self.deadline_ns.saturating_sub(self.clock.now_ns()))
    }

    fn expired(&self) -> bool {
        let now = self.clock.now_ns();
        now > self.deadline_ns
            || now > self.drain_deadline_ns.load(Ordering::Relaxed)
            || self.abort.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// RESP: encoding, a general frame parser for setup and replies, a fast path for `message`

fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
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
enum Frame {
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
    fn describe(&self) -> String {
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
    fn items(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(items) | Frame::Push(items) => Some(items),
            _ => None,
        }
    }
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

/// One complete frame at `pos`: `Ok(None)` when more bytes are needed.
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

fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    parse_frame_at(buf, 0, 0)
}

/// What a subscriber connection receives: a `message` (parsed without allocating) or anything
/// else (which is a failure during the run).
enum Delivery<'a> {
    Message {
        channel: &'a [u8],
        payload: &'a [u8],
    },
    Other(Frame),
}

const MESSAGE_HEAD_RESP2: &[u8] = b"*3\r\n$7\r\nmessage\r\n";
const MESSAGE_HEAD_RESP3: &[u8] = b">3\r\n$7\r\nmessage\r\n";

fn parse_delivery(buf: &[u8]) -> Result<Option<(Delivery<'_>, usize)>, String> {
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
    if len > MAX_PAYLOAD_BYTES + MAX_CHANNEL_BYTES {
        return Err(format!(
            "message part of {len} bytes is larger than expected"
        ));
    }
    let end = next + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    Ok(Some((&buf[next..end], end + 2)))
}

// ---------------------------------------------------------------------------------------------
// Blocking connections (setup, admin, publishers)

struct Conn {
    stream: TcpStream,
    /// Bytes read but not parsed yet.
    buf: Vec<u8>,
}

impl Conn {
    fn connect(addr: &SocketAddr, resp: u8, control: &Control) -> Result<Conn, String> {
        let timeout = Duration::from_millis(CONNECT_TIMEOUT_MS).min(control.remaining());
        let stream = TcpStream::connect_timeout(addr, timeout.max(Duration::from_millis(1)))
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut conn = Conn {
            stream,
            buf: Vec::with_capacity(4096),
        };
        if resp == 3 {
            let reply = conn.call(&[b"HELLO", b"3"], control)?;
            if !matches!(reply, Frame::Map(_)) {
                return Err(format!("HELLO 3 replied {}", reply.describe()));
            }
        }
        Ok(conn)
    }

    fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .map_err(|e| format!("write: {e}"))
    }

    fn call(&mut self, args: &[&[u8]], control: &Control) -> Result<Frame, String> {
        self.send(args)?;
        self.read_frame(control)
    }

    /// The next frame, reading (blocking, bounded by the run's deadline) until it is complete.
    fn read_frame(&mut self, control: &Control) -> Result<Frame, String> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            self.fill(control)?;
        }
    }

    /// Every complete frame in the buffer, after one blocking read if there is none.
    fn read_frames(&mut self, control: &Control, out: &mut Vec<Frame>) -> Result<(), String> {
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
        if self.buf.len() > MAX_FRAME_BYTES {
            return Err(format!("reply larger than {MAX_FRAME_BYTES} bytes"));
        }
        let remaining = control.remaining();
        if remaining.is_zero() {
            return Err("timed out (--timeout-s) waiting for a reply".to_string());
        }
        self.stream
            .set_read_timeout(Some(remaining))
            .map_err(|e| format!("set timeout: {e}"))?;
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
                Err("timed out (--timeout-s) waiting for a reply".to_string())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The pubsub benchmark

/// What every subscriber must receive.
#[derive(Clone)]
struct Expect {
    channel: Vec<u8>,
    payload_bytes: usize,
    /// Messages from each publisher, indexed by publisher id.
    per_publisher: Vec<u64>,
    messages: u64,
}

fn messages_of(publisher: usize, messages: u64, publishers: usize) -> u64 {
    let publishers = publishers as u64;
    messages / publishers + u64::from((publisher as u64) < messages % publishers)
}

fn validate(args: &PubsubArgs) -> Result<(), String> {
    let checks = [
        (
            (1..=MAX_SUBSCRIBERS).contains(&args.subscribers),
            format!("--subscribers must be 1..={MAX_SUBSCRIBERS}"),
        ),
        (
            (1..=MAX_PUBLISHERS).contains(&args.publishers),
            format!("--publishers must be 1..={MAX_PUBLISHERS}"),
        ),
        (
            (1..=MAX_WINDOW).contains(&args.window),
            format!("--window must be 1..={MAX_WINDOW}"),
        ),
        (
            (PAYLOAD_HEADER_BYTES..=MAX_PAYLOAD_BYTES).contains(&args.payload),
            format!("--payload must be {PAYLOAD_HEADER_BYTES}..={MAX_PAYLOAD_BYTES}"),
        ),
        (
            args.messages >= args.publishers as u64,
            "--messages must be at least --publishers".to_string(),
        ),
        (
            !args.channel.is_empty() && args.channel.len() <= MAX_CHANNEL_BYTES,
            format!("--channel must be 1..={MAX_CHANNEL_BYTES} bytes"),
        ),
        (
            args.timeout_s >= 1,
            "--timeout-s must be at least 1".to_string(),
        ),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, message)) => Err(message),
        None => Ok(()),
    }
}

/// The target's address; anything but loopback is refused (this tool generates load).
fn loopback_addr(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .collect();
    match addrs.first() {
        None => Err(format!("{host} resolves to no address")),
        Some(_) if addrs.iter().any(|a| !a.ip().is_loopback()) => Err(format!(
            "{host} is not a loopback address: only loopback targets are allowed"
        )),
        Some(addr) => Ok(*addr),
    }
}

/// Raises the soft open-files limit to `wanted` if it is lower (1000 subscribers need it).
fn raise_open_files_limit(wanted: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into `limit`, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    if limit.rlim_cur as u64 >= wanted {
        return Ok(());
    }
    if (limit.rlim_max as u64) < wanted {
        return Err(format!(
            "{wanted} open files are needed; the hard limit is {} (raise it: ulimit -Hn)",
            limit.rlim_max
        ));
    }
    limit.rlim_cur = wanted as libc::rlim_t;
    // SAFETY: setrlimit only reads `limit`.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", io::Error::last_os_error()));
    }
    Ok(())
}

fn reader_thread_count(args: &PubsubArgs) -> usize {
    if args.reader_threads > 0 {
        return args.reader_threads.min(args.subscribers);
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    args.subscribers.div_ceil(100).clamp(1, cpus)
}

fn pubsub(args: &PubsubArgs) -> Result<bool, String> {
    validate(args)?;
    let addr = loopback_addr(&args.host, args.port)?;
    // Subscribers, publishers, the admin connection, stdio and some slack.
    raise_open_files_limit((args.subscribers + args.publishers + 64) as u64)?;
    let clock = Clock {
        base: Instant::now(),
    };
    let control = Arc::new(Control {
        clock,
        deadline_ns: clock.now_ns() + args.timeout_s * 1_000_000_000,
        drain_deadline_ns: AtomicU64::new(u64::MAX),
        abort: AtomicBool::new(false),
    });
    let expect = Expect {
        channel: args.channel.as_bytes().to_vec(),
        payload_bytes: args.payload,
        per_publisher: (0..args.publishers)
            .map(|p| messages_of(p, args.messages, args.publishers))
            .collect(),
        messages: args.messages,
    };
    let threads = reader_thread_count(args);
    println!(
        "corekv-bench pubsub: {addr} subscribers={} publishers={} messages={} payload={}B window={} resp={} reader_threads={threads}",
        args.subscribers, args.publishers, args.messages, args.payload, args.window, args.resp
    );

    let mut admin = Conn::connect(&addr, args.resp, &control)?;
    let before = numsub(&mut admin, &expect.channel, &control)?;
    if before != 0 {
        return Err(format!(
            "channel {} already has {before} subscribers: pick another --channel",
            args.channel
        ));
    }
    let setup_start = Instant::now();
    let subscribers = subscribe_all(&addr, args, &expect, &control)?;
    let numsub_seen = wait_for_numsub(
        &mut admin,
        &expect.channel,
        args.subscribers as i64,
        &control,
    )?;
    println!(
        "setup: {} subscribers in {} ms; PUBSUB NUMSUB {} = {numsub_seen}",
        args.subscribers,
        setup_start.elapsed().as_millis(),
        args.channel
    );

    let readers = spawn_readers(subscribers, threads, &expect, &control);
    let run = run_publishers(&addr, args, &expect, &control);
    control.drain_deadline_ns.store(
        control.clock.now_ns() + DRAIN_GRACE_MS * 1_000_000,
        Ordering::Relaxed,
    );
    let reports: Vec<ReaderReport> = readers
        .into_iter()
        .map(|h| h.join().expect("reader thread panicked"))
        .collect();
    let run = run?;
    Ok(report(args, &expect, &run, &reports))
}

fn numsub(admin: &mut Conn, channel: &[u8], control: &Control) -> Result<i64, String> {
    let reply = admin.call(&[b"PUBSUB", b"NUMSUB", channel], control)?;
    match reply.items() {
        Some([Frame::Bulk(name), Frame::Int(n)]) if name == channel => Ok(*n),
        _ => Err(format!(
            "PUBSUB NUMSUB {} replied {}",
            String::from_utf8_lossy(channel),
            reply.describe()
        )),
    }
}

fn wait_for_numsub(
    admin: &mut Conn,
    channel: &[u8],
    wanted: i64,
    control: &Control,
) -> Result<i64, String> {
    loop {
        let seen = numsub(admin, channel, control)?;
        if seen == wanted {
            return Ok(seen);
        }
        if control.remaining().is_zero() {
            return Err(format!(
                "PUBSUB NUMSUB {} still says {seen}, not {wanted}, at the deadline",
                String::from_utf8_lossy(channel)
            ));
        }
        thread::sleep(Duration::from_millis(NUMSUB_POLL_INTERVAL_MS));
    }
}

/// A subscriber connection as a reader thread owns it.
struct Subscriber {
    index: usize,
    stream: TcpStream,
    /// The partial frame left over from the previous read.
    pending: Vec<u8>,
    next_seq: Vec<u64>,
    received: u64,
    error: Option<String>,
}

impl Subscriber {
    fn done(&self, expect: &Expect) -> bool {
        self.error.is_some() || self.received >= expect.messages
    }

    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }
}

fn subscribe_all(
    addr: &SocketAddr,
    args: &PubsubArgs,
    expect: &Expect,
    control: &Control,
) -> Result<Vec<Subscriber>, String> {
    let mut subscribers = Vec::with_capacity(args.subscribers);
    for index in 0..args.subscribers {
        let mut conn = Conn::connect(addr, args.resp, control)
            .map_err(|e| format!("subscriber {index}: {e}"))?;
        let reply = conn.call(&[b"SUBSCRIBE", &expect.channel], control)?;
        let confirmed = matches!(
            reply.items(),
            Some([Frame::Bulk(kind), Frame::Bulk(name), Frame::Int(1)])
                if kind == b"subscribe" && *name == expect.channel
        );
        if !confirmed {
            return Err(format!(
                "subscriber {index}: SUBSCRIBE replied {}",
                reply.describe()
            ));
        }
        conn.stream
            .set_nonblocking(true)
            .map_err(|e| format!("set_nonblocking: {e}"))?;
        subscribers.push(Subscriber {
            index,
            stream: conn.stream,
            pending: conn.buf,
            next_seq: vec![0; args.publishers],
            received: 0,
            error: None,
        });
    }
    Ok(subscribers)
}

// ---------------------------------------------------------------------------------------------
// Readers

struct ReaderReport {
    latency_ns: Histogram<u64>,
    last_delivery_ns: u64,
    /// (subscriber index, messages received, failure) for every subscriber of this thread.
    subscribers: Vec<(usize, u64, Option<String>)>,
}

fn spawn_readers(
    subscribers: Vec<Subscriber>,
    threads: usize,
    expect: &Expect,
    control: &Arc<Control>,
) -> Vec<thread::JoinHandle<ReaderReport>> {
    let mut shares: Vec<Vec<Subscriber>> = (0..threads).map(|_| Vec::new()).collect();
    for sub in subscribers {
        let share = sub.index % threads;
        shares[share].push(sub);
    }
    shares
        .into_iter()
        .enumerate()
        .map(|(i, share)| {
            let expect = expect.clone();
            let control = Arc::clone(control);
            thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || run_reader(share, &expect, &control))
                .expect("spawn reader thread")
        })
        .collect()
}

/// Polls this thread's subscribers until each has every message, failed, or time is up.
fn run_reader(mut subs: Vec<Subscriber>, expect: &Expect, control: &Control) -> ReaderReport {
    let mut latency_ns =
        Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("histogram bounds");
    let mut scratch = vec![0u8; SCRATCH_BYTES];
    let mut last_delivery_ns = 0;
    let mut pollfds: Vec<libc::pollfd> = subs
        .iter()
        .map(|s| libc::pollfd {
            fd: s.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut open = subs.len();
    while open > 0 && !control.expired() {
        // SAFETY: `pollfds` is a live, exclusively borrowed slice of `pollfds.len()` entries.
        let ready = unsafe {
            libc::poll(
                pollfds.as_mut_ptr(),
                pollfds.len() as libc::nfds_t,
                POLL_TIMEOUT_MS,
            )
        };
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            subs.iter_mut().for_each(|s| s.fail(format!("poll: {err}")));
            break;
        }
        for (sub, pollfd) in subs.iter_mut().zip(pollfds.iter_mut()) {
            if pollfd.fd < 0 || pollfd.revents == 0 {
                continue;
            }
            pollfd.revents = 0;
            let mut read_at_ns = 0;
            drain_subscriber(
                sub,
                &mut scratch,
                expect,
                control,
                &mut latency_ns,
                &mut read_at_ns,
            );
            last_delivery_ns = last_delivery_ns.max(read_at_ns);
            if sub.done(expect) {
                // poll(2) skips negative descriptors.
                pollfd.fd = -1;
                open -= 1;
            }
        }
    }
    for sub in subs.iter_mut().filter(|s| s.received < expect.messages) {
        let why = format!(
            "received {} of {} messages before the deadline",
            sub.received, expect.messages
        );
        sub.fail(why);
    }
    ReaderReport {
        latency_ns,
        last_delivery_ns,
        subscribers: subs
            .into_iter()
            .map(|s| (s.index, s.received, s.error))
            .collect(),
    }
}

/// Reads what the subscriber's socket holds (a few reads at most) and handles every complete
/// frame. `read_at_ns` is set to the time of the last read that delivered a message.
fn drain_subscriber(
    sub: &mut Subscriber,
    scratch: &mut [u8],
    expect: &Expect,
    control: &Control,
    latency_ns: &mut Histogram<u64>,
    read_at_ns: &mut u64,
) {
    for _ in 0..MAX_READS_PER_WAKEUP {
        let kept = sub.pending.len();
        if kept > SCRATCH_BYTES / 2 {
            sub.fail(format!("a frame larger than {} bytes", SCRATCH_BYTES / 2));
            return;
        }
        scratch[..kept].copy_from_slice(&sub.pending);
        let n = match sub.stream.read(&mut scratch[kept..]) {
            Ok(0) => {
                return sub.fail(format!(
                    "connection closed by the server after {} messages",
                    sub.received
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return sub.fail(format!("read: {e}")),
        };
        let now_ns = control.clock.now_ns();
        let filled = kept + n;
        let used = handle_frames(sub, &scratch[..filled], expect, now_ns, latency_ns);
        sub.pending.clear();
        sub.pending.extend_from_slice(&scratch[used..filled]);
        *read_at_ns = now_ns;
        if sub.error.is_some() || filled < scratch.len() {
            // A short read: the socket is (very likely) empty; poll again.
            return;
        }
    }
}

/// Handles every complete frame in `buf`; returns the bytes used.
fn handle_frames(
    sub: &mut Subscriber,
    buf: &[u8],
    expect: &Expect,
    now_ns: u64,
    latency_ns: &mut Histogram<u64>,
) -> usize {
    let mut pos = 0;
    while sub.error.is_none() {
        match parse_delivery(&buf[pos..]) {
            Ok(None) => break,
            Ok(Some((Delivery::Message { channel, payload }, used))) => {
                pos += used;
                if let Err(why) = check_message(sub, channel, payload, expect, now_ns, latency_ns) {
                    sub.fail(why);
                }
            }
            Ok(Some((Delivery::Other(frame), _))) => {
                sub.fail(format!(
                    "unexpected frame after {} messages: {}",
                    sub.received,
                    frame.describe()
                ));
            }
            Err(why) => sub.fail(format!(
                "protocol error after {} messages: {why}",
                sub.received
            )),
        }
    }
    pos
}

fn check_message(
    sub: &mut Subscriber,
    channel: &[u8],
    payload: &[u8],
    expect: &Expect,
    now_ns: u64,
    latency_ns: &mut Histogram<u64>,
) -> Result<(), String> {
    let nth = sub.received;
    if channel != expect.channel {
        return Err(format!(
            "message {nth} on channel {:?}",
            String::from_utf8_lossy(channel)
        ));
    }
    if payload.len() != expect.payload_bytes {
        return Err(format!(
            "message {nth} has {} bytes, not {}",
            payload.len(),
            expect.payload_bytes
        ));
    }
    let (sent_ns, publisher, seq) = decode_header(payload);
    let Some(next) = sub.next_seq.get_mut(publisher) else {
        return Err(format!(
            "message {nth} names publisher {publisher}, which does not exist"
        ));
    };
    if seq != *next {
        return Err(format!(
            "message {nth}: publisher {publisher} sequence {seq}, expected {next} (lost or reordered)"
        ));
    }
    if seq >= expect.per_publisher[publisher] {
        return Err(format!(
            "message {nth}: publisher {publisher} sent only {} messages",
            expect.per_publisher[publisher]
        ));
    }
    *next += 1;
    sub.received += 1;
    latency_ns.saturating_record(now_ns.saturating_sub(sent_ns).max(1));
    Ok(())
}

fn encode_header(payload: &mut [u8], sent_ns: u64, publisher: u32, seq: u64) {
    payload[..8].copy_from_slice(&sent_ns.to_le_bytes());
    payload[8..12].copy_from_slice(&publisher.to_le_bytes());
    payload[12..20].copy_from_slice(&seq.to_le_bytes());
}

fn decode_header(payload: &[u8]) -> (u64, usize, u64) {
    let u64_at = |at: usize| u64::from_le_bytes(payload[at..at + 8].try_into().expect("8 bytes"));
    let publisher = u32::from_le_bytes(payload[8..12].try_into().expect("4 bytes"));
    (u64_at(0), publisher as usize, u64_at(12))
}

// ---------------------------------------------------------------------------------------------
// Publishers

struct PublisherReport {
    wrong_replies: u64,
    first_wrong_reply: Option<String>,
    finished_ns: u64,
}

struct PublishRun {
    start_ns: u64,
    end_ns: u64,
    publishers: Vec<Result<PublisherReport, String>>,
}

/// Connects every publisher, starts them together and waits for all of them.
fn run_publishers(
    addr: &SocketAddr,
    args: &PubsubArgs,
    expect: &Expect,
    control: &Arc<Control>,
) -> Result<PublishRun, String> {
    let conns = (0..args.publishers)
        .map(|_| Conn::connect(addr, args.resp, control))
        .collect::<Result<Vec<_>, _>>()
        .inspect_err(|_| control.abort.store(true, Ordering::Relaxed))?;
    let start = Arc::new(Barrier::new(args.publishers + 1));
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(id, conn)| {
            let (start, control, expect) =
                (Arc::clone(&start), Arc::clone(control), expect.clone());
            let (window, subscribers) = (args.window, args.subscribers as i64);
            thread::Builder::new()
                .name(format!("publisher-{id}"))
                .spawn(move || {
                    start.wait();
                    let result = publish(conn, id, &expect, window, subscribers, &control);
                    if result.is_err() {
                        control.abort.store(true, Ordering::Relaxed);
                    }
                    result
                })
                .expect("spawn publisher thread")
        })
        .collect();
    let start_ns = control.clock.now_ns();
    start.wait();
    let publishers: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("publisher thread panicked"))
        .collect();
    let end_ns = publishers
        .iter()
        .flatten()
        .map(|r| r.finished_ns)
        .max()
        .unwrap_or(start_ns);
    Ok(PublishRun {
        start_ns,
        end_ns,
        publishers,
    })
}

/// Sends this publisher's share of PUBLISH commands, `window` in flight, and checks each reply.
fn publish(
    mut conn: Conn,
    id: usize,
    expect: &Expect,
    window: usize,
    subscribers: i64,
    control: &Control,
) -> Result<PublisherReport, String> {
    let count = expect.per_publisher[id];
    let mut payload = vec![b'x'; expect.payload_bytes];
    let mut out = Vec::with_capacity(window * (expect.payload_bytes + 64));
    let mut replies = Vec::with_capacity(window);
    let mut report = PublisherReport {
        wrong_replies: 0,
        first_wrong_reply: None,
        finished_ns: 0,
    };
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < count {
        if control.abort.load(Ordering::Relaxed) {
            return Err(format!("publisher {id}: aborted after {acked} replies"));
        }
        out.clear();
        while sent < count && sent - acked < window as u64 {
            encode_header(&mut payload, control.clock.now_ns(), id as u32, sent);
            encode_command(&mut out, &[b"PUBLISH", &expect.channel, &payload]);
            sent += 1;
        }
        if !out.is_empty() {
            conn.stream
                .write_all(&out)
                .map_err(|e| format!("publisher {id}: write: {e}"))?;
        }
        conn.read_frames(control, &mut replies)
            .map_err(|e| format!("publisher {id}: {e}"))?;
        for reply in &replies {
            if *reply != Frame::Int(subscribers) {
                report.wrong_replies += 1;
                report.first_wrong_reply.get_or_insert_with(|| {
                    format!(
                        "publisher {id}: PUBLISH #{acked} replied {}, expected :{subscribers}",
                        reply.describe()
                    )
                });
            }
            acked += 1;
        }
    }
    report.finished_ns = control.clock.now_ns();
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Report

fn per_second(count: u64, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        count as f64 * 1e9 / ns as f64
    }
}

fn micros(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Prints the results; true when every check passed.
fn report(args: &PubsubArgs, expect: &Expect, run: &PublishRun, readers: &[ReaderReport]) -> bool {
    let mut errors: Vec<String> = Vec::new();
    let mut wrong_replies = 0;
    for publisher in &run.publishers {
        match publisher {
            Ok(r) => {
                wrong_replies += r.wrong_replies;
                errors.extend(r.first_wrong_reply.clone());
            }
            Err(e) => errors.push(e.clone()),
        }
    }
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("histogram bounds");
    let mut complete = 0;
    let mut delivered = 0u64;
    let mut last_delivery_ns = run.start_ns;
    for reader in readers {
        latency
            .add(&reader.latency_ns)
            .expect("same histogram bounds");
        last_delivery_ns = last_delivery_ns.max(reader.last_delivery_ns);
        for (index, received, error) in &reader.subscribers {
            delivered += received;
            match error {
                None => complete += 1,
                Some(why) => errors.push(format!("subscriber {index}: {why}")),
            }
        }
    }
    let publish_ns = run.end_ns.saturating_sub(run.start_ns);
    let deliver_ns = last_delivery_ns.saturating_sub(run.start_ns);
    let msg_per_s = per_second(args.messages, publish_ns);
    let deliveries_per_s = per_second(delivered, deliver_ns);
    println!(
        "publish: {} messages in {:.3} s = {msg_per_s:.0} msg/s; replies != {}: {wrong_replies}",
        args.messages,
        publish_ns as f64 / 1e9,
        args.subscribers
    );
    println!(
        "deliver: {delivered} deliveries in {:.3} s = {deliveries_per_s:.0} deliveries/s",
        deliver_ns as f64 / 1e9
    );
    let q = |quantile: f64| micros(latency.value_at_quantile(quantile));
    println!(
        "latency us: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  ({} samples)",
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        micros(latency.max()),
        latency.len()
    );
    println!(
        "check: {complete}/{} subscribers received all {} messages in order",
        args.subscribers, expect.messages
    );
    for why in errors.iter().take(MAX_ERRORS_SHOWN) {
        println!("FAIL {why}");
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        println!("FAIL ... and {} more", errors.len() - MAX_ERRORS_SHOWN);
    }
    let ok = errors.is_empty() && wrong_replies == 0 && complete == args.subscribers;
    println!(
        "RESULT ok={} subscribers={} publishers={} messages={} payload={} msg_per_s={msg_per_s:.0} deliveries_per_s={deliveries_per_s:.0} p50_us={:.1} p99_us={:.1} max_us={:.1}",
        u8::from(ok),
        args.subscribers,
        args.publishers,
        args.messages,
        args.payload,
        q(0.5),
        q(0.99),
        micros(latency.max())
    );
    ok
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
    }

    #[test]
    fn header_round_trips_and_messages_split_evenly() {
        let mut payload = [0u8; PAYLOAD_HEADER_BYTES];
        encode_header(&mut payload, 123_456_789, 7, 42);
        assert_eq!(decode_header(&payload), (123_456_789, 7, 42));
        let split: Vec<u64> = (0..3).map(|p| messages_of(p, 10, 3)).collect();
        assert_eq!(split, [4, 3, 3]);
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(loopback_addr("127.0.0.1", 1).is_ok());
        assert!(loopback_addr("::1", 1).is_ok());
        assert!(loopback_addr("10.0.0.1", 1).is_err());
    }
}

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
//! 3. Hand the subscribers, nonblocking, to a few reader threads, each an epoll loop over its
//!    share: no thread per connection (see [`pubsub::reader_thread_count`] for how many).
//! 4. K publisher connections start together and send M PUBLISH commands between them, each
//!    keeping up to `--window` commands in flight, and check that every reply is N.
//! 5. Every payload starts with its send time (ns since a process-wide `Instant`, a monotonic
//!    clock shared by all threads), its publisher id and its sequence number. A reader records
//!    receive time − send time in an hdrhistogram and checks that each publisher's sequence
//!    numbers arrive as 0, 1, 2, …
//! 6. Pass only when every reply was N and every subscriber received all M messages, in order,
//!    on the right channel, with the right length: exit 0; 1 when a check failed; 2 for a setup
//!    error (refused connection, wrong SUBSCRIBE confirmation, NUMSUB never reaching N, ...).
//!
//! The last line is `RESULT key=value ...`, for scripts (benches/pubsub.sh).
//!
//! # Code map
//!
//! One file (a binary target); its rooms are modules: [`run`] (clock and stop conditions),
//! [`resp`] (encoding, parsing: pure), [`conn`] (blocking connections), [`pubsub`] (setup and
//! orchestration), [`reader`] (subscriber threads), [`publisher`], [`report`].

use clap::{Args, Parser, Subcommand};

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
    /// Subscriber reader threads (0: one per 500 subscribers, at most the CPU count).
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
        Command::Pubsub(args) => match pubsub::run(&args) {
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

/// The clock every thread reads, and when to stop.
mod run {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// Nanoseconds since one `Instant` taken at start: every thread reads the same monotonic
    /// clock, so a send time taken on a publisher thread and a receive time taken on a reader
    /// thread subtract.
    #[derive(Clone, Copy)]
    pub struct Clock {
        base: Instant,
    }

    impl Clock {
        pub fn start() -> Clock {
            Clock {
                base: Instant::now(),
            }
        }

        pub fn now_ns(&self) -> u64 {
            u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
        }
    }

    /// What every thread reads to know when to stop.
    pub struct Control {
        pub clock: Clock,
        deadline_ns: u64,
        /// Set when the publishers are done: readers give up on missing messages after it.
        drain_deadline_ns: AtomicU64,
        abort: AtomicBool,
    }

    impl Control {
        pub fn new(clock: Clock, timeout: Duration) -> Control {
            let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
            Control {
                clock,
                deadline_ns: clock.now_ns().saturating_add(timeout_ns),
                drain_deadline_ns: AtomicU64::new(u64::MAX),
                abort: AtomicBool::new(false),
            }
        }

        /// Time left before the run's deadline (zero once it has passed).
        pub fn remaining(&self) -> Duration {
            Duration::from_nanos(self.deadline_ns.saturating_sub(self.clock.now_ns()))
        }

        /// Readers stop waiting `grace` from now.
        pub fn start_drain(&self, grace: Duration) {
            let grace_ns = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
            let at = self.clock.now_ns().saturating_add(grace_ns);
            self.drain_deadline_ns.store(at, Ordering::Relaxed);
        }

        /// Something failed: every thread stops as soon as it looks.
        pub fn abort(&self) {
            self.abort.store(true, Ordering::Relaxed);
        }

        pub fn aborted(&self) -> bool {
            self.abort.load(Ordering::Relaxed)
        }

        /// Past the deadline, past the drain deadline, or aborted.
        pub fn expired(&self) -> bool {
            let now = self.clock.now_ns();
            now > self.deadline_ns
                || now > self.drain_deadline_ns.load(Ordering::Relaxed)
                || self.aborted()
        }
    }
}

/// RESP: command encoding, a general frame parser for setup and replies, and an allocation-free
/// fast path for `message` frames. Pure: no I/O.
mod resp {
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

    fn parse_frame_at(
        buf: &[u8],
        pos: usize,
        depth: usize,
    ) -> Result<Option<(Frame, usize)>, String> {
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
}

/// Blocking connections: setup, the admin connection and the publishers.
mod conn {
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
        pub fn read_frames(
            &mut self,
            control: &Control,
            out: &mut Vec<Frame>,
        ) -> Result<(), String> {
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
}

/// The `pubsub` benchmark: checks, setup, and the run from subscribe to report.
mod pubsub {
    use crate::PubsubArgs;
    use crate::conn::Conn;
    use crate::resp::Frame;
    use crate::run::{Clock, Control};
    use crate::{publisher, reader, report};
    use std::io;
    use std::net::{SocketAddr, ToSocketAddrs};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    /// Payload header: send time (u64 ns), publisher id (u32), sequence number (u64), LE.
    pub const PAYLOAD_HEADER_BYTES: usize = 8 + 4 + 8;
    pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
    const MAX_SUBSCRIBERS: usize = 10_000;
    const MAX_PUBLISHERS: usize = 64;
    const MAX_WINDOW: usize = 1024;
    const MAX_CHANNEL_BYTES: usize = 256;
    /// Subscribers one reader thread serves by default: threads only pay where cores are
    /// spare, and on a small machine the server under test needs them.
    const SUBSCRIBERS_PER_READER: usize = 500;
    const NUMSUB_POLL_INTERVAL: Duration = Duration::from_millis(10);
    /// How long the channel may take to lose an earlier run's subscribers.
    const LEFTOVER_WAIT: Duration = Duration::from_secs(5);
    /// After the last PUBLISH reply, how long readers wait for missing deliveries.
    const DRAIN_GRACE: Duration = Duration::from_secs(5);

    /// What every subscriber must receive.
    #[derive(Clone)]
    pub struct Expect {
        pub channel: Vec<u8>,
        pub payload_bytes: usize,
        /// Messages from each publisher, indexed by publisher id.
        pub per_publisher: Vec<u64>,
        pub messages: u64,
    }

    /// Ok(true): every check passed; Ok(false): a check failed; Err: the run could not start.
    pub fn run(args: &PubsubArgs) -> Result<bool, String> {
        validate(args)?;
        let addr = loopback_addr(&args.host, args.port)?;
        // Subscribers, publishers, the admin connection, stdio, epoll sets and some slack.
        raise_open_files_limit((args.subscribers + args.publishers + 64) as u64)?;
        let control = Arc::new(Control::new(
            Clock::start(),
            Duration::from_secs(args.timeout_s),
        ));
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
        wait_for_empty_channel(&mut admin, &args.channel, &control)?;
        let setup_start = Instant::now();
        let subscribers = subscribe_all(&addr, args, &expect, &control)?;
        let seen = wait_for_numsub(
            &mut admin,
            &expect.channel,
            args.subscribers as i64,
            &control,
        )?;
        let setup_ms = setup_start.elapsed().as_millis();
        println!(
            "setup: {} subscribers in {setup_ms} ms; PUBSUB NUMSUB {} = {seen}",
            args.subscribers, args.channel
        );

        let readers = reader::spawn(subscribers, threads, &expect, &control);
        let run = publisher::run_all(&addr, args, &expect, &control);
        control.start_drain(DRAIN_GRACE);
        let reports: Vec<reader::Report> = readers
            .into_iter()
            .map(|h| h.join().expect("reader thread panicked"))
            .collect();
        Ok(report::print(args, &run?, &reports))
    }

    pub fn messages_of(publisher: usize, messages: u64, publishers: usize) -> u64 {
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
    pub fn loopback_addr(host: &str, port: u16) -> Result<SocketAddr, String> {
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
        if limit.rlim_cur >= wanted {
            return Ok(());
        }
        if limit.rlim_max < wanted {
            let hard = limit.rlim_max;
            return Err(format!(
                "{wanted} open files are needed; the hard limit is {hard} (ulimit -Hn)"
            ));
        }
        limit.rlim_cur = wanted;
        // SAFETY: setrlimit only reads `limit`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(format!("setrlimit: {}", io::Error::last_os_error()));
        }
        Ok(())
    }

    /// `--reader-threads`, or one per `SUBSCRIBERS_PER_READER` subscribers, at most one per CPU.
    pub fn reader_thread_count(args: &PubsubArgs) -> usize {
        if args.reader_threads > 0 {
            return args.reader_threads.min(args.subscribers);
        }
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        args.subscribers
            .div_ceil(SUBSCRIBERS_PER_READER)
            .clamp(1, cpus)
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

    /// Subscribers of an earlier run may still be leaving (a server notices a closed
    /// connection when it next polls it): give them a moment, then refuse a shared channel.
    fn wait_for_empty_channel(
        admin: &mut Conn,
        channel: &str,
        control: &Control,
    ) -> Result<(), String> {
        let deadline = Instant::now() + LEFTOVER_WAIT;
        loop {
            let subscribers = numsub(admin, channel.as_bytes(), control)?;
            if subscribers == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let waited_ms = LEFTOVER_WAIT.as_millis();
                return Err(format!(
                    "channel {channel} still has {subscribers} subscribers after {waited_ms} ms: pick another --channel"
                ));
            }
            thread::sleep(NUMSUB_POLL_INTERVAL);
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
                let channel = String::from_utf8_lossy(channel);
                return Err(format!(
                    "PUBSUB NUMSUB {channel} still says {seen}, not {wanted}, at the deadline"
                ));
            }
            thread::sleep(NUMSUB_POLL_INTERVAL);
        }
    }

    /// Connects and subscribes every subscriber, one at a time, each confirmed before the next.
    fn subscribe_all(
        addr: &SocketAddr,
        args: &PubsubArgs,
        expect: &Expect,
        control: &Control,
    ) -> Result<Vec<reader::Subscriber>, String> {
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
            subscribers.push(reader::Subscriber::new(
                index,
                conn.stream,
                conn.buf,
                args.publishers,
            ));
        }
        Ok(subscribers)
    }

    /// The payload header: where and when a message was sent.
    pub fn encode_header(payload: &mut [u8], sent_ns: u64, publisher: u32, seq: u64) {
        payload[..8].copy_from_slice(&sent_ns.to_le_bytes());
        payload[8..12].copy_from_slice(&publisher.to_le_bytes());
        payload[12..20].copy_from_slice(&seq.to_le_bytes());
    }

    /// (send time ns, publisher id, sequence number); `payload` holds at least the header.
    pub fn decode_header(payload: &[u8]) -> (u64, usize, u64) {
        let mut sent = [0u8; 8];
        let mut publisher = [0u8; 4];
        let mut seq = [0u8; 8];
        sent.copy_from_slice(&payload[..8]);
        publisher.copy_from_slice(&payload[8..12]);
        seq.copy_from_slice(&payload[12..20]);
        (
            u64::from_le_bytes(sent),
            u32::from_le_bytes(publisher) as usize,
            u64::from_le_bytes(seq),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

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
            assert!(loopback_addr("192.168.1.1", 1).is_err());
        }
    }
}

/// Subscriber reader threads: each waits on its share of the subscribers with epoll, parses
/// `message` frames in place, checks them and records their latency.
mod reader {
    use crate::pubsub::{Expect, MAX_PAYLOAD_BYTES, decode_header};
    use crate::resp::{Delivery, parse_delivery};
    use crate::run::Control;
    use hdrhistogram::Histogram;
    use std::io::{self, Read};
    use std::net::TcpStream;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::sync::Arc;
    use std::thread;

    /// Latency histogram range: 1 ns .. 10 minutes, 3 significant digits.
    pub const LATENCY_MAX_NS: u64 = 600_000_000_000;
    /// One read lands here, after the partial frame left by the previous read: room for at
    /// least two of the largest frames.
    const SCRATCH_BYTES: usize = 4 * MAX_PAYLOAD_BYTES;
    /// Reads of one subscriber per wakeup before the others get their turn.
    const MAX_READS_PER_WAKEUP: usize = 4;
    /// epoll_wait's timeout: how often a reader looks at the deadline when nothing arrives.
    const WAIT_TIMEOUT_MS: libc::c_int = 50;
    /// Ready descriptors taken from one epoll_wait.
    const EPOLL_BATCH: usize = 256;

    /// A subscriber connection as a reader thread owns it.
    pub struct Subscriber {
        index: usize,
        stream: TcpStream,
        /// The partial frame left over from the previous read.
        pending: Vec<u8>,
        next_seq: Vec<u64>,
        received: u64,
        error: Option<String>,
    }

    impl Subscriber {
        pub fn new(
            index: usize,
            stream: TcpStream,
            pending: Vec<u8>,
            publishers: usize,
        ) -> Subscriber {
            Subscriber {
                index,
                stream,
                pending,
                next_seq: vec![0; publishers],
                received: 0,
                error: None,
            }
        }

        fn done(&self, expect: &Expect) -> bool {
            self.error.is_some() || self.received >= expect.messages
        }

        fn fail(&mut self, why: String) {
            if self.error.is_none() {
                self.error = Some(why);
            }
        }
    }

    /// What one reader thread measured.
    pub struct Report {
        pub stats: Stats,
        /// (subscriber index, messages received, failure) for every subscriber of the thread.
        pub subscribers: Vec<(usize, u64, Option<String>)>,
    }

    pub struct Stats {
        pub latency_ns: Histogram<u64>,
        /// When the last read that brought bytes returned.
        pub last_delivery_ns: u64,
        /// Reads that brought bytes, and the bytes: how the server batches its writes.
        pub reads: u64,
        pub read_bytes: u64,
        /// epoll_wait calls that returned at least one ready subscriber.
        pub wakeups: u64,
    }

    impl Stats {
        pub fn new() -> Stats {
            let latency_ns =
                Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("histogram bounds");
            Stats {
                latency_ns,
                last_delivery_ns: 0,
                reads: 0,
                read_bytes: 0,
                wakeups: 0,
            }
        }

        pub fn add(&mut self, other: &Stats) {
            self.latency_ns
                .add(&other.latency_ns)
                .expect("same histogram bounds");
            self.last_delivery_ns = self.last_delivery_ns.max(other.last_delivery_ns);
            self.reads += other.reads;
            self.read_bytes += other.read_bytes;
            self.wakeups += other.wakeups;
        }
    }
    /// Deals the subscribers round-robin to `threads` reader threads and starts them.
    pub fn spawn(
        subscribers: Vec<Subscriber>,
        threads: usize,
        expect: &Expect,
        control: &Arc<Control>,
    ) -> Vec<thread::JoinHandle<Report>> {
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
                    .spawn(move || run(share, &expect, &control))
                    .expect("spawn reader thread")
            })
            .collect()
    }

    /// A level-triggered epoll set: a reader wakes for the subscribers that have data, at a
    /// cost that does not grow with how many it watches (poll(2) scans them all per call).
    struct Epoll {
        fd: OwnedFd,
    }

    impl Epoll {
        fn new() -> io::Result<Epoll> {
            // SAFETY: a plain syscall; the result is checked, then owned.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            Ok(Epoll {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
            })
        }

        fn control(&self, op: libc::c_int, fd: RawFd, token: usize) -> io::Result<()> {
            let mut event = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: token as u64,
            };
            // SAFETY: `event` is live for the call; the kernel copies it.
            if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) } < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Tokens of the ready descriptors, into `ready`: empty after a timeout or a signal.
        fn wait(&self, events: &mut [libc::epoll_event], ready: &mut Vec<usize>) -> io::Result<()> {
            ready.clear();
            let capacity = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
            // SAFETY: `events` is live and exclusively borrowed, with at least `capacity` entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.fd.as_raw_fd(),
                    events.as_mut_ptr(),
                    capacity,
                    WAIT_TIMEOUT_MS,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                return if err.kind() == io::ErrorKind::Interrupted {
                    Ok(())
                } else {
                    Err(err)
                };
            }
            ready.extend(events[..n as usize].iter().map(|e| e.u64 as usize));
            Ok(())
        }
    }

    /// One reader thread: until each subscriber has every message, has failed, or time is up.
    fn run(mut subs: Vec<Subscriber>, expect: &Expect, control: &Control) -> Report {
        let mut stats = Stats::new();
        let watched = Epoll::new().and_then(|epoll| {
            for (token, sub) in subs.iter().enumerate() {
                epoll.control(libc::EPOLL_CTL_ADD, sub.stream.as_raw_fd(), token)?;
            }
            Ok(epoll)
        });
        let result = watched
            .and_then(|epoll| read_until_done(&epoll, &mut subs, expect, control, &mut stats));
        if let Err(err) = result {
            subs.iter_mut()
                .for_each(|s| s.fail(format!("epoll: {err}")));
        }
        for sub in subs.iter_mut().filter(|s| s.received < expect.messages) {
            let why = format!(
                "received {} of {} messages before the deadline",
                sub.received, expect.messages
            );
            sub.fail(why);
        }
        let subscribers = subs
            .into_iter()
            .map(|s| (s.index, s.received, s.error))
            .collect();
        Report { stats, subscribers }
    }

    fn read_until_done(
        epoll: &Epoll,
        subs: &mut [Subscriber],
        expect: &Expect,
        control: &Control,
        stats: &mut Stats,
    ) -> io::Result<()> {
        let mut scratch = vec![0u8; SCRATCH_BYTES];
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; subs.len().min(EPOLL_BATCH)];
        let mut ready = Vec::with_capacity(events.len());
        let mut open = subs.len();
        while open > 0 && !control.expired() {
            epoll.wait(&mut events, &mut ready)?;
            stats.wakeups += u64::from(!ready.is_empty());
            for &token in &ready {
                let sub = &mut subs[token];
                drain(sub, &mut scratch, expect, control, stats);
                if sub.done(expect) {
                    // Stop watching it, so that a closed or chatty socket cannot make us spin.
                    epoll.control(libc::EPOLL_CTL_DEL, sub.stream.as_raw_fd(), token)?;
                    open -= 1;
                }
            }
        }
        Ok(())
    }

    /// Reads what the subscriber's socket holds (a few reads at most) and handles every complete
    /// frame.
    fn drain(
        sub: &mut Subscriber,
        scratch: &mut [u8],
        expect: &Expect,
        control: &Control,
        stats: &mut Stats,
    ) {
        for _ in 0..MAX_READS_PER_WAKEUP {
            let kept = sub.pending.len();
            if kept > scratch.len() / 2 {
                sub.fail(format!("a frame larger than {} bytes", scratch.len() / 2));
                return;
            }
            scratch[..kept].copy_from_slice(&sub.pending);
            let n = match sub.stream.read(&mut scratch[kept..]) {
                Ok(0) => {
                    let received = sub.received;
                    return sub.fail(format!(
                        "connection closed by the server after {received} messages"
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return sub.fail(format!("read: {e}")),
            };
            let now_ns = control.clock.now_ns();
            stats.last_delivery_ns = now_ns;
            stats.reads += 1;
            stats.read_bytes += n as u64;
            let filled = kept + n;
            let used = handle_frames(
                sub,
                &scratch[..filled],
                expect,
                now_ns,
                &mut stats.latency_ns,
            );
            sub.pending.clear();
            sub.pending.extend_from_slice(&scratch[used..filled]);
            if sub.error.is_some() || filled < scratch.len() {
                // A short read: the socket is (very likely) empty; wait again.
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
                    match check_message(sub, channel, payload, expect) {
                        Ok(sent_ns) => {
                            latency_ns.saturating_record(now_ns.saturating_sub(sent_ns).max(1))
                        }
                        Err(why) => sub.fail(why),
                    }
                }
                Ok(Some((Delivery::Other(frame), _))) => {
                    let received = sub.received;
                    sub.fail(format!(
                        "unexpected frame after {received} messages: {}",
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

    /// Checks one message against what was sent; returns its send time.
    fn check_message(
        sub: &mut Subscriber,
        channel: &[u8],
        payload: &[u8],
        expect: &Expect,
    ) -> Result<u64, String> {
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
            let sent = expect.per_publisher[publisher];
            return Err(format!(
                "message {nth}: publisher {publisher} sent only {sent} messages"
            ));
        }
        *next += 1;
        sub.received += 1;
        Ok(sent_ns)
    }
}

/// Publisher threads: pipelined PUBLISH commands, every reply checked.
mod publisher {
    use crate::PubsubArgs;
    use crate::conn::Conn;
    use crate::pubsub::{Expect, encode_header};
    use crate::resp::{Frame, encode_command};
    use crate::run::Control;
    use std::io::Write;
    use std::net::SocketAddr;
    use std::sync::{Arc, Barrier};
    use std::thread;

    pub struct Report {
        pub wrong_replies: u64,
        pub first_wrong_reply: Option<String>,
        pub finished_ns: u64,
    }

    pub struct Run {
        pub start_ns: u64,
        pub end_ns: u64,
        pub publishers: Vec<Result<Report, String>>,
    }

    /// Connects every publisher, starts them together and waits for all of them.
    pub fn run_all(
        addr: &SocketAddr,
        args: &PubsubArgs,
        expect: &Expect,
        control: &Arc<Control>,
    ) -> Result<Run, String> {
        let conns = (0..args.publishers)
            .map(|_| Conn::connect(addr, args.resp, control))
            .collect::<Result<Vec<_>, _>>()
            .inspect_err(|_| control.abort())?;
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
                            control.abort();
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
        Ok(Run {
            start_ns,
            end_ns,
            publishers,
        })
    }

    /// Sends this publisher's share of PUBLISH commands, `window` in flight, and checks that
    /// each reply counts every subscriber.
    fn publish(
        mut conn: Conn,
        id: usize,
        expect: &Expect,
        window: usize,
        subscribers: i64,
        control: &Control,
    ) -> Result<Report, String> {
        let count = expect.per_publisher[id];
        let mut payload = vec![b'x'; expect.payload_bytes];
        let mut out = Vec::with_capacity(window * (expect.payload_bytes + 64));
        let mut replies = Vec::with_capacity(window);
        let mut report = Report {
            wrong_replies: 0,
            first_wrong_reply: None,
            finished_ns: 0,
        };
        let (mut sent, mut acked) = (0u64, 0u64);
        while acked < count {
            if control.aborted() {
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
                        let got = reply.describe();
                        format!("publisher {id}: PUBLISH #{acked} replied {got}, expected :{subscribers}")
                    });
                }
                acked += 1;
            }
        }
        report.finished_ns = control.clock.now_ns();
        Ok(report)
    }
}

/// The summary, the failures, and the `RESULT` line.
mod report {
    use crate::PubsubArgs;
    use crate::{publisher, reader};

    /// How many failure descriptions are printed.
    const MAX_ERRORS_SHOWN: usize = 10;

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
    pub fn print(args: &PubsubArgs, run: &publisher::Run, readers: &[reader::Report]) -> bool {
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
        let mut stats = reader::Stats::new();
        let mut complete = 0;
        let mut delivered = 0u64;
        for reader in readers {
            stats.add(&reader.stats);
            for (index, received, error) in &reader.subscribers {
                delivered += received;
                match error {
                    None => complete += 1,
                    Some(why) => errors.push(format!("subscriber {index}: {why}")),
                }
            }
        }
        let latency = &stats.latency_ns;
        let last_delivery_ns = stats.last_delivery_ns.max(run.start_ns);
        let publish_ns = run.end_ns.saturating_sub(run.start_ns);
        let deliver_ns = last_delivery_ns.saturating_sub(run.start_ns);
        let msg_per_s = per_second(args.messages, publish_ns);
        let deliveries_per_s = per_second(delivered, deliver_ns);
        let (messages, subscribers) = (args.messages, args.subscribers);
        let publish_s = publish_ns as f64 / 1e9;
        println!(
            "publish: {messages} messages in {publish_s:.3} s = {msg_per_s:.0} msg/s; replies != {subscribers}: {wrong_replies}"
        );
        let deliver_s = deliver_ns as f64 / 1e9;
        println!(
            "deliver: {delivered} deliveries in {deliver_s:.3} s = {deliveries_per_s:.0} deliveries/s"
        );
        // How the server batched its writes, as the subscribers saw it.
        let per_read = delivered as f64 / stats.reads.max(1) as f64;
        let bytes_per_read = stats.read_bytes / stats.reads.max(1);
        let (reads, wakeups) = (stats.reads, stats.wakeups);
        println!(
            "reads: {reads} ({per_read:.1} messages, {bytes_per_read} bytes each); epoll wakeups: {wakeups}"
        );
        let q = |quantile: f64| micros(latency.value_at_quantile(quantile));
        let (p50, p90, p99, p999, max) = (q(0.5), q(0.9), q(0.99), q(0.999), micros(latency.max()));
        let samples = latency.len();
        println!(
            "latency us: p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  ({samples} samples)"
        );
        println!(
            "check: {complete}/{subscribers} subscribers received all {messages} messages in order"
        );
        for why in errors.iter().take(MAX_ERRORS_SHOWN) {
            println!("FAIL {why}");
        }
        if errors.len() > MAX_ERRORS_SHOWN {
            println!("FAIL ... and {} more", errors.len() - MAX_ERRORS_SHOWN);
        }
        let ok = errors.is_empty() && wrong_replies == 0 && complete == subscribers;
        println!(
            "RESULT ok={} subscribers={subscribers} publishers={} messages={messages} payload={} msg_per_s={msg_per_s:.0} deliveries_per_s={deliveries_per_s:.0} p50_us={p50:.1} p99_us={p99:.1} max_us={max:.1} msgs_per_read={per_read:.1}",
            u8::from(ok),
            args.publishers,
            args.payload,
        );
        ok
    }
}

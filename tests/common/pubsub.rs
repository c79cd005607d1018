//! Pub/sub test helpers. Declared by each `tests/pubsub*.rs` file with
//! `#[path = "common/pubsub.rs"] mod pubsub_util;` next to `mod common;`.
//!
//! Every scenario runs twice through [`on_both`]: first against Debian's redis-server 7.0.15,
//! then against corekv with [`NR_SHARDS`] shards. The expected bytes a scenario asserts are
//! therefore Redis's own (a scenario that fails on redis-server is a wrong test, not a corekv
//! bug), and corekv must produce the very same bytes.
//!
//! Ordering. A test never sleeps to "let a message arrive": it reads the exact number of
//! frames it expects (each read blocks, with a generous timeout that only turns a hang into
//! a failure), then [`Conn::barrier`] checks that nothing more came. The barrier is a
//! `PING` from the subscriber: Redis queues a message on every receiver before it replies to
//! PUBLISH, and a connection's frames arrive in order, so once the publisher has its count
//! the PING's reply comes after the message. tests/pubsub.rs checks that guarantee on its
//! own (`publish_replies_come_after_the_messages_they_count`); the other tests only use the
//! barrier to look for frames beyond those they expected. Nothing asserts on elapsed time.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{RefRedis, Resp, Server, encode};

/// Shards of the corekv a scenario runs on: more than one, so subscribers and publishers
/// land on different cores (connections are spread by SO_REUSEPORT).
pub const NR_SHARDS: usize = 4;
/// Longest a single read may block. Only there to turn a lost frame into a failure.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the server may take to finish bookkeeping it does after the fact (the cleanup of
/// a dropped connection). Polled, never slept.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The server a scenario is running against.
pub struct Target {
    pub name: &'static str,
    pub port: u16,
}

impl Target {
    /// A RESP2 connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// A connection switched to RESP3 with `HELLO 3`.
    pub fn conn3(&self) -> Conn {
        let mut conn = self.conn();
        let hello = conn.call(&["HELLO", "3"]);
        assert!(hello.starts_with(b"%"), "HELLO 3: {}", esc(&hello));
        conn.proto = Proto::Resp3;
        conn
    }
}

/// Runs `scenario` against redis-server 7.0.15, then against corekv (`--shards 4`), each on
/// a fresh server. stderr says which one is running, so a failure names its server.
pub fn on_both(scenario: &str, run: impl Fn(&Target)) {
    {
        let redis = RefRedis::start(&[]);
        let target = Target {
            name: "redis-server",
            port: redis.port,
        };
        eprintln!(
            "=== {scenario}: against redis-server 7.0.15 (port {})",
            redis.port
        );
        run(&target);
    }
    let corekv = Server::start(NR_SHARDS, &[]);
    let target = Target {
        name: "corekv",
        port: corekv.port,
    };
    eprintln!(
        "=== {scenario}: against corekv --shards {NR_SHARDS} (port {})",
        corekv.port
    );
    run(&target);
}

/// Which RESP version a connection speaks, for building the frames it should receive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// A buffered connection that reads whole RESP values (thousands of frames per subscriber
/// would be slow through a byte-at-a-time reader).
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pub proto: Proto,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        Conn::from_stream(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    /// A connection whose receive buffer is `rcvbuf_bytes` (set before connecting, which
    /// turns the kernel's autotuning off), so a subscriber that does not read fills up fast.
    pub fn connect_small_rcvbuf(port: u16, rcvbuf_bytes: usize) -> Conn {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket
            .set_recv_buffer_size(rcvbuf_bytes)
            .expect("SO_RCVBUF");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        socket.connect(&addr.into()).expect("connect");
        Conn::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Conn {
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        let writer = stream.try_clone().expect("clone socket");
        Conn {
            reader: BufReader::new(stream),
            writer,
            proto: Proto::Resp2,
        }
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        self.writer.write_all(&encode(&args)).expect("write");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Sends one command and returns the raw bytes of the next value on the connection.
    #[track_caller]
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.frame()
    }

    /// Sends one command whose reply must be an integer.
    #[track_caller]
    pub fn int<A: AsRef<[u8]>>(&mut self, args: &[A]) -> i64 {
        let reply = self.call(args);
        match Resp::parse(&reply) {
            Resp::Int(n) => n,
            _ => panic!("expected an integer, got {}", esc(&reply)),
        }
    }

    /// The next complete RESP value, as raw bytes.
    #[track_caller]
    pub fn frame(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    #[track_caller]
    pub fn frames(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.frame()).collect()
    }

    /// Sends `PING <token>` and returns every frame that arrived before its reply (see the
    /// module docs for why that is "everything delivered so far").
    #[track_caller]
    pub fn barrier(&mut self) -> Vec<Vec<u8>> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let token = format!("barrier-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.send(&["PING", &token]);
        // Subscribed RESP2 answers `*2 pong token`; everything else a bulk `token`.
        let replies = [pong_subscribed(token.as_bytes()), bulk(token.as_bytes())];
        let mut before = Vec::new();
        loop {
            let frame = self.frame();
            if replies.contains(&frame) {
                return before;
            }
            before.push(frame);
        }
    }

    /// Reads `want.len()` frames and compares them with `want`, then checks with a
    /// [`Conn::barrier`] that nothing else was delivered. Unlike comparing a barrier's frames
    /// directly, this does not rely on a PUBLISH having queued its message before it replied
    /// (tests/pubsub.rs checks that guarantee on its own), so a server that delivers late
    /// still gets its frames' content checked.
    #[track_caller]
    pub fn expect_frames(&mut self, what: &str, want: &[Vec<u8>]) {
        let got = self.frames(want.len());
        assert_frames(what, &got, want);
        let extra = self.barrier();
        assert_frames(
            &format!("{what}: frames beyond those expected"),
            &extra,
            &[],
        );
    }

    /// Reads until the server closes the connection (EOF or reset) and returns how many bytes
    /// came first. Panics if it is still open after [`READ_TIMEOUT`].
    #[track_caller]
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        let mut out = self.reader.buffer().to_vec();
        let stream = self.reader.get_mut();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
                Err(e) => panic!("connection still open ({e}) after {} bytes", out.len()),
            }
        }
    }

    #[track_caller]
    fn line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => panic!("connection closed while a frame was expected"),
            Ok(_) => {}
            Err(e) => panic!("no frame within {READ_TIMEOUT:?}: {e}"),
        }
        assert!(line.ends_with(b"\r\n"), "bad RESP line {}", esc(&line));
        out.extend_from_slice(&line);
        line
    }

    #[track_caller]
    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.line(out);
        let len = || -> i64 {
            std::str::from_utf8(&line[1..line.len() - 2])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad length line {}", esc(&line)))
        };
        match line[0] {
            b'$' | b'=' | b'!' if len() >= 0 => {
                let mut data = vec![0u8; len() as usize + 2];
                self.reader.read_exact(&mut data).expect("read bulk");
                out.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' => (0..len().max(0)).for_each(|_| self.read_value(out)),
            b'%' => (0..2 * len().max(0)).for_each(|_| self.read_value(out)),
            _ => {}
        }
    }
}

// ---- Expected frames ----

/// `$len\r\nbytes\r\n`
pub fn bulk(b: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", b.len()).into_bytes();
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
    out
}

pub fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

pub fn error(text: &str) -> Vec<u8> {
    format!("-{text}\r\n").into_bytes()
}

/// The error for a command other than (P|S)(UN)SUBSCRIBE / PING / QUIT / RESET sent by a
/// subscribed RESP2 client; `name` is lower case, `parent|sub` for subcommands.
pub fn not_allowed(name: &str) -> Vec<u8> {
    error(&format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context"
    ))
}

/// RESP2 subscribed-mode reply to `PING [arg]`: `*2 pong arg` (arg empty without one).
pub fn pong_subscribed(arg: &[u8]) -> Vec<u8> {
    let mut out = b"*2\r\n$4\r\npong\r\n".to_vec();
    out.extend_from_slice(&bulk(arg));
    out
}

/// An array (RESP2) or push (RESP3) header.
fn header(proto: Proto, n: usize) -> Vec<u8> {
    let kind = if proto == Proto::Resp2 { '*' } else { '>' };
    format!("{kind}{n}\r\n").into_bytes()
}

/// A (un)subscribe confirmation: `kind` is subscribe, unsubscribe, psubscribe, ...; `name`
/// None is the null Redis sends when there was nothing to unsubscribe from.
pub fn confirm(proto: Proto, kind: &str, name: Option<&[u8]>, count: i64) -> Vec<u8> {
    let mut out = header(proto, 3);
    out.extend_from_slice(&bulk(kind.as_bytes()));
    match (name, proto) {
        (Some(name), _) => out.extend_from_slice(&bulk(name)),
        (None, Proto::Resp2) => out.extend_from_slice(b"$-1\r\n"),
        (None, Proto::Resp3) => out.extend_from_slice(b"_\r\n"),
    }
    out.extend_from_slice(&int(count));
    out
}

/// One confirmation per name, with the running count starting after `first_count - 1`.
pub fn confirms(proto: Proto, kind: &str, names: &[&[u8]], first_count: i64) -> Vec<Vec<u8>> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| confirm(proto, kind, Some(n), first_count + i as i64))
        .collect()
}

pub fn message(proto: Proto, channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = header(proto, 3);
    for part in [b"message".as_slice(), channel, payload] {
        out.extend_from_slice(&bulk(part));
    }
    out
}

pub fn pmessage(proto: Proto, pattern: &[u8], channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = header(proto, 4);
    for part in [b"pmessage".as_slice(), pattern, channel, payload] {
        out.extend_from_slice(&bulk(part));
    }
    out
}

pub fn smessage(proto: Proto, channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = header(proto, 3);
    for part in [b"smessage".as_slice(), channel, payload] {
        out.extend_from_slice(&bulk(part));
    }
    out
}

/// A RESP2 array of bulk strings.
pub fn bulk_array(items: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    items.iter().for_each(|i| out.extend_from_slice(&bulk(i)));
    out
}

// ---- Assertions and polling ----

/// Bytes as escaped ASCII, so `\r\n` and NULs are visible in a failure.
pub fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Longest frame a failure message shows whole; longer ones show their ends.
const SHOWN_BYTES: usize = 160;

/// [`esc`], with the middle of a long frame cut out (a 1 MB payload would bury the report).
pub fn esc_short(b: &[u8]) -> String {
    if b.len() <= SHOWN_BYTES {
        return esc(b);
    }
    let (head, tail) = (&b[..SHOWN_BYTES / 2], &b[b.len() - SHOWN_BYTES / 4..]);
    format!("{}...<{} bytes>...{}", esc(head), b.len(), esc(tail))
}

#[track_caller]
pub fn assert_frame(what: &str, got: &[u8], want: &[u8]) {
    assert_frames(what, &[got.to_vec()], &[want.to_vec()]);
}

/// Compares the frames byte for byte; a failure names the first frame and byte that differ.
#[track_caller]
pub fn assert_frames(what: &str, got: &[Vec<u8>], want: &[Vec<u8>]) {
    if got == want {
        return;
    }
    let first = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i));
    let first = first.expect("some frame differs");
    let at = match (got.get(first), want.get(first)) {
        (Some(g), Some(w)) => {
            let byte = g.iter().zip(w.iter()).take_while(|(a, b)| a == b).count();
            format!("frame {first}, byte {byte}")
        }
        _ => format!(
            "frame {first} (got {} frames, want {})",
            got.len(),
            want.len()
        ),
    };
    let show =
        |frames: &[Vec<u8>]| -> Vec<String> { frames.iter().map(|f| esc_short(f)).collect() };
    panic!(
        "{what}: first difference at {at}\n   got: {:#?}\n  want: {:#?}",
        show(got),
        show(want)
    );
}

/// Like [`assert_frames`] for frames whose order Redis leaves unspecified.
#[track_caller]
pub fn assert_frames_sorted(what: &str, got: &[Vec<u8>], want: &[Vec<u8>]) {
    let (mut got, mut want) = (got.to_vec(), want.to_vec());
    got.sort();
    want.sort();
    assert_frames(what, &got, &want);
}

/// The elements of an array reply of bulk strings, sorted (for PUBSUB CHANNELS, whose order
/// is the server's hash table order).
pub fn sorted_bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut items: Vec<Vec<u8>> = match Resp::parse(reply) {
        Resp::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Resp::Bulk(b) => b,
                other => panic!("not a bulk string: {other:?} in {}", esc(reply)),
            })
            .collect(),
        _ => panic!("not an array: {}", esc(reply)),
    };
    items.sort();
    items
}

/// Polls `done` every 10 ms until it holds; panics after [`SETTLE_TIMEOUT`].
#[track_caller]
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not after {SETTLE_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One `field:value` of `INFO section`, parsed as an integer.
#[track_caller]
pub fn info_int(conn: &mut Conn, section: &str, field: &str) -> i64 {
    let reply = conn.call(&["INFO", section]);
    let text = Resp::parse(&reply).text();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("INFO {field} is not an integer"))
}

/// Subscribes a fresh connection with `command` (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE) to
/// `names`, checking and consuming the confirmations.
#[track_caller]
pub fn subscriber(target: &Target, command: &str, names: &[&str]) -> Conn {
    let mut conn = target.conn();
    subscribe(&mut conn, command, names, 1);
    conn
}

/// `command names...` on `conn`, expecting confirmations counting from `first_count`.
#[track_caller]
pub fn subscribe(conn: &mut Conn, command: &str, names: &[&str], first_count: i64) {
    let mut args = vec![command];
    args.extend_from_slice(names);
    conn.send(&args);
    let kind = command.to_ascii_lowercase();
    let names: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
    let want = confirms(conn.proto, &kind, &names, first_count);
    let got = conn.frames(want.len());
    assert_frames(&format!("{command} confirmations"), &got, &want);
}

/// The confirmations of an UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments: one
/// per name in the server's (unspecified) order, with counts `first_count`, `first_count-1`,
/// ... in arrival order.
#[track_caller]
pub fn assert_unsubscribe_all(
    what: &str,
    proto: Proto,
    got: &[Vec<u8>],
    kind: &str,
    names: &[&[u8]],
    first_count: i64,
) {
    assert_eq!(got.len(), names.len(), "{what}: one frame per name");
    let mut seen = Vec::new();
    for (i, frame) in got.iter().enumerate() {
        let name = match Resp::parse(frame) {
            Resp::Array(items) if items.len() == 3 => match &items[1] {
                Resp::Bulk(name) => name.clone(),
                _ => panic!("{what}: no channel in {}", esc(frame)),
            },
            _ => panic!("{what}: not a confirmation: {}", esc(frame)),
        };
        let want = confirm(proto, kind, Some(&name), first_count - i as i64);
        assert_frame(what, frame, &want);
        seen.push(name);
    }
    seen.sort();
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
    want.sort();
    assert_eq!(seen, want, "{what}: the names unsubscribed from");
}

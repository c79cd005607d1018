//! Differential test: corekv (`--shards 4`) against Debian's `redis-server` 7.0.15.
//!
//! The same commands go to both servers over raw sockets and the replies must be equal byte for
//! byte: a long scripted sequence (every string and key command with valid and invalid
//! arguments, arity errors, unknown commands, contradictory options, big, empty and binary
//! keys and values), run with RESP2, again after `HELLO 3`, and again as one pipeline; then a
//! few thousand commands from a seeded PRNG over a small key space, so keys collide, expire,
//! move and change type of content. After each phase the two servers' keyspace hit and miss
//! counters must agree too.
//!
//! Only inherently non-deterministic replies are not compared byte for byte: RANDOMKEY's
//! choice (only the reply's kind), HELLO's client id (masked), KEYS order (sorted), SCAN
//! (a full iteration's set of keys is compared instead of single calls), and TTLs measured
//! from "now" (equal within a small tolerance, since the two servers read their clocks at
//! slightly different instants).
//!
//! `~known(...)` marks a divergence found here whose cause lies outside the string and key
//! families and has been reported. It must still differ: when it starts to match, the test
//! fails so the marker gets removed.
//!
//! If `redis-server` is not installed the test prints why and passes (CI installs it: see
//! tests/run.sh).

mod common;

use std::collections::BTreeSet;

use common::{Raw, RefRedis, Server, shard_of};

/// Starts the reference `redis-server`, or None (with a note on stderr) if it is not installed.
fn start_reference() -> Option<RefRedis> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file()) {
        eprintln!(
            "SKIPPED differential test: `redis-server` is not installed \
             (apt-get install redis-server; tests/run.sh does it)"
        );
        return None;
    }
    Some(RefRedis::start(&[]))
}

/// How two replies to the same command are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    Exact,
    /// An array whose order is unspecified (KEYS): compared sorted.
    Sorted,
    /// Only the kind of reply (RANDOMKEY: nil, or some key).
    Kind,
    /// Integers measured from "now", equal within this much.
    Near(i64),
    /// HELLO: equal once the client id is masked.
    Hello,
    /// A reported divergence outside strings.rs/keys.rs: must differ (see module docs).
    Known(&'static str),
}

/// One command and how to compare it; `Scan` runs a whole SCAN iteration on each side.
#[derive(Clone, Debug)]
enum Step {
    Cmd(Vec<Vec<u8>>, Check),
    Scan(Vec<Vec<u8>>),
}

struct Mismatch {
    phase: String,
    command: String,
    redis: String,
    corekv: String,
}

/// The two connections and what has been found so far.
struct Pair {
    redis: Raw,
    corekv: Raw,
    phase: String,
    compared: usize,
    mismatches: Vec<Mismatch>,
    /// Known divergences that matched after all: their markers should go.
    stale_known: Vec<String>,
    known_seen: BTreeSet<&'static str>,
}

impl Pair {
    fn new(redis_port: u16, corekv_port: u16) -> Pair {
        Pair {
            redis: Raw::connect(redis_port),
            corekv: Raw::connect(corekv_port),
            phase: String::new(),
            compared: 0,
            mismatches: Vec::new(),
            stale_known: Vec::new(),
            known_seen: BTreeSet::new(),
        }
    }

    fn run(&mut self, step: &Step) {
        match step {
            Step::Cmd(args, check) => {
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                self.redis.cmd(&refs);
                self.corekv.cmd(&refs);
                let (r, c) = (self.redis.read_reply(), self.corekv.read_reply());
                self.judge(args, *check, &r, &c);
            }
            Step::Scan(opts) => {
                let r = scan_all(&mut self.redis, opts);
                let c = scan_all(&mut self.corekv, opts);
                let mut args = vec![b"SCAN(full)".to_vec()];
                args.extend(opts.iter().cloned());
                self.record(&args, Check::Exact, &set_text(&r), &set_text(&c));
            }
        }
    }

    /// Sends every command in one write to each server, then compares the replies in order.
    fn run_pipelined(&mut self, steps: &[Step]) {
        let cmds: Vec<(&Vec<Vec<u8>>, Check)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Cmd(args, check) => Some((args, *check)),
                Step::Scan(_) => None,
            })
            .collect();
        let mut bytes = Vec::new();
        for (args, _) in &cmds {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            bytes.extend_from_slice(&common::encode(&refs));
        }
        // Write in chunks while reading, so neither side's socket buffers fill up.
        let replies_r = send_and_read(&mut self.redis, &bytes, cmds.len());
        let replies_c = send_and_read(&mut self.corekv, &bytes, cmds.len());
        for ((args, check), (r, c)) in cmds.iter().zip(replies_r.iter().zip(&replies_c)) {
            self.judge(args, *check, r, c);
        }
    }

    fn judge(&mut self, args: &[Vec<u8>], check: Check, r: &[u8], c: &[u8]) {
        let same = match check {
            Check::Exact | Check::Known(_) => r == c,
            Check::Sorted => sorted_items(r) == sorted_items(c),
            Check::Kind => reply_kind(r) == reply_kind(c),
            // Negative answers (-1 no TTL, -2 no key) are not measurements: equal or not.
            Check::Near(tolerance) => match (integer(r), integer(c)) {
                (Some(a), Some(b)) if a >= 0 && b >= 0 => (a - b).abs() <= tolerance,
                _ => r == c,
            },
            Check::Hello => mask_hello_id(r) == mask_hello_id(c),
        };
        self.compared += 1;
        if let Check::Known(tag) = check {
            self.known_seen.insert(tag);
            if same {
                self.stale_known.push(format!("{tag}: {}", show_args(args)));
            }
            return;
        }
        if !same {
            self.record(args, check, &show(r), &show(c));
        }
    }

    fn record(&mut self, args: &[Vec<u8>], _check: Check, redis: &str, corekv: &str) {
        if redis != corekv {
            self.mismatches.push(Mismatch {
                phase: self.phase.clone(),
                command: show_args(args),
                redis: redis.to_string(),
                corekv: corekv.to_string(),
            });
        }
    }

    /// Both servers' keyspace hit and miss counters, which must have moved the same way.
    fn compare_stats(&mut self) {
        let fields = ["keyspace_hits", "keyspace_misses"];
        let r = info_stats(&mut self.redis, &fields);
        let c = info_stats(&mut self.corekv, &fields);
        let args = vec![b"INFO stats".to_vec()];
        self.record(&args, Check::Exact, &r, &c);
    }

    fn reset_stats(&mut self) {
        for raw in [&mut self.redis, &mut self.corekv] {
            assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
        }
    }
}

fn send_and_read(raw: &mut Raw, bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    let stream = raw.stream.try_clone().expect("clone socket");
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut s = stream;
        s.write_all(&bytes).expect("write pipeline");
    });
    let replies = (0..n).map(|_| raw.read_reply()).collect();
    writer.join().expect("writer");
    replies
}

/// The sorted, de-duplicated keys of a full SCAN iteration with `opts`.
fn scan_all(raw: &mut Raw, opts: &[Vec<u8>]) -> BTreeSet<Vec<u8>> {
    let mut cursor = b"0".to_vec();
    let mut keys = BTreeSet::new();
    for _ in 0..100_000 {
        let mut args: Vec<&[u8]> = vec![b"SCAN", &cursor];
        args.extend(opts.iter().map(Vec::as_slice));
        raw.cmd(&args);
        let reply = raw.read_reply();
        let Some(Resp::Array(parts)) = parse(&reply).map(|(v, _)| v) else {
            return [reply].into_iter().collect(); // an error: compare it as is
        };
        match &parts[..] {
            [Resp::Bulk(next), Resp::Array(items)] => {
                keys.extend(items.iter().filter_map(|i| match i {
                    Resp::Bulk(k) => Some(k.clone()),
                    _ => None,
                }));
                if next == b"0" {
                    return keys;
                }
                cursor = next.clone();
            }
            _ => panic!("odd SCAN reply {}", show(&reply)),
        }
    }
    panic!("SCAN did not finish");
}

fn set_text(keys: &BTreeSet<Vec<u8>>) -> String {
    let items: Vec<String> = keys.iter().map(|k| show(k)).collect();
    format!("{{{}}}", items.join(", "))
}

fn info_stats(raw: &mut Raw, fields: &[&str]) -> String {
    let info = raw.q(&["INFO", "stats"]);
    fields
        .iter()
        .map(|f| {
            info.lines()
                .find(|l| l.starts_with(&format!("{f}:")))
                .unwrap_or("missing")
                .trim()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decoded reply, for the checks that look inside one.
#[derive(Debug, PartialEq)]
enum Resp {
    Bulk(Vec<u8>),
    Array(Vec<Resp>),
    Line(Vec<u8>),
}

fn parse(bytes: &[u8]) -> Option<(Resp, &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let (line, rest) = (&bytes[..end], &bytes[end + 2..]);
    let n = || std::str::from_utf8(&line[1..]).ok()?.parse::<i64>().ok();
    match line.first()? {
        b'$' | b'=' => match n()? {
            len if len < 0 => Some((Resp::Line(line.to_vec()), rest)),
            len => {
                let len = len as usize;
                Some((Resp::Bulk(rest.get(..len)?.to_vec()), rest.get(len + 2..)?))
            }
        },
        b'*' | b'~' | b'%' | b'>' => {
            let count = n()?;
            let count = if line[0] == b'%' { 2 * count } else { count };
            let mut items = Vec::new();
            let mut rest = rest;
            for _ in 0..count.max(0) {
                let (item, r) = parse(rest)?;
                items.push(item);
                rest = r;
            }
            Some((Resp::Array(items), rest))
        }
        _ => Some((Resp::Line(line.to_vec()), rest)),
    }
}

fn sorted_items(reply: &[u8]) -> Result<BTreeSet<Vec<u8>>, Vec<u8>> {
    match parse(reply) {
        Some((Resp::Array(items), _)) => Ok(items
            .into_iter()
            .map(|i| match i {
                Resp::Bulk(b) => b,
                Resp::Line(l) => l,
                Resp::Array(_) => b"<nested>".to_vec(),
            })
            .collect()),
        _ => Err(reply.to_vec()),
    }
}

/// What kind of reply this is: nil, an error (with its text), or the type byte.
fn reply_kind(reply: &[u8]) -> Vec<u8> {
    match reply {
        b"$-1\r\n" | b"*-1\r\n" | b"_\r\n" => b"nil".to_vec(),
        [b'-', ..] => reply.to_vec(),
        _ => reply.first().map(|&b| vec![b]).unwrap_or_default(),
    }
}

fn integer(reply: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(reply.strip_prefix(b":")?).ok()?;
    text.trim_end().parse().ok()
}

/// HELLO's reply with the value after `id` replaced, in either protocol.
fn mask_hello_id(reply: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    match reply.windows(marker.len()).position(|w| w == marker) {
        Some(at) => {
            let start = at + marker.len();
            let end = start + reply[start..].iter().position(|&b| b == b'\r').unwrap_or(0);
            [&reply[..start], b"ID", &reply[end..]].concat()
        }
        None => reply.to_vec(),
    }
}

/// Bytes as readable text: printable ASCII as is, everything else escaped (\r\n kept visible).
fn show(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(600) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 600 {
        out.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    out
}

fn show_args(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| {
            if a.len() > 60 {
                format!("<{} bytes: {}...>", a.len(), show(&a[..20]))
            } else {
                format!("\"{}\"", show(a))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits one script line into arguments: whitespace separates, double quotes group, and
/// inside quotes `\xNN`, `\r`, `\n`, `\t`, `\0`, `\\` and `\"` are escapes.
fn tokenize(line: &str) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return args;
        };
        let mut arg = Vec::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('x') => {
                            let hex: String =
                                [chars.next(), chars.next()].iter().flatten().collect();
                            arg.push(u8::from_str_radix(&hex, 16).expect("\\xNN escape"));
                        }
                        Some('r') => arg.push(b'\r'),
                        Some('n') => arg.push(b'\n'),
                        Some('t') => arg.push(b'\t'),
                        Some('0') => arg.push(0),
                        Some(other) => arg.extend(other.to_string().bytes()),
                        None => panic!("dangling escape in {line:?}"),
                    },
                    c => arg.extend(c.to_string().bytes()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.extend(c.to_string().bytes());
            }
        }
        args.push(arg);
    }
}

/// Parses the script: one command per line, `#` comments, and an optional leading marker:
/// `~sorted`, `~kind`, `~near(N)`, `~hello`, `~known(tag)`, or `~scan` (a full iteration with
/// the options that follow).
fn parse_script(script: &'static str) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (check, rest) = match line.strip_prefix('~') {
            None => (Some(Check::Exact), line),
            Some(marked) => {
                let (marker, rest) = marked.split_once(' ').unwrap_or((marked, ""));
                let check = match marker {
                    "sorted" => Some(Check::Sorted),
                    "kind" => Some(Check::Kind),
                    "hello" => Some(Check::Hello),
                    "scan" => None,
                    m if m.starts_with("near(") => Some(Check::Near(
                        m["near(".len()..m.len() - 1].parse().expect("near(N)"),
                    )),
                    m if m.starts_with("known(") => {
                        Some(Check::Known(&marked["known(".len()..marker.len() - 1]))
                    }
                    m => panic!("unknown marker {m}"),
                };
                (check, rest)
            }
        };
        let args = tokenize(rest);
        steps.push(match check {
            Some(check) => Step::Cmd(args, check),
            None => Step::Scan(args),
        });
    }
    steps
}

/// The scripted part. Every command of both families, valid and invalid.
const SCRIPT: &str = r#"
FLUSHALL
# ---- GET / SET and its options
GET k
SET k v
GET k
SET k v2 NX
SET k v2 XX
SET k v3 NX GET
SET k v4 XX GET
SET new1 v GET
SET new2 v NX GET
SET new3 v XX GET
GET new3
SET k v NX XX
SET k v XX NX GET
SET k v nx nx
SET k v5 xx xx
SET k v6 get get
SET k v GET NX XX
SET k v FOO
SET k v NXX
SET k v "NX\x00junk"
SET k v EX
SET k v PX
SET k v EX 10 PX 100
SET k v PX 100 EXAT 10
SET k v EXAT 10 PXAT 100
SET k v PXAT 100 EX 10
SET k v KEEPTTL EX 10
SET k v EX 10 KEEPTTL
SET k v PERSIST
SET k v EX 0
SET k v EX -1
SET k v PX 0
SET k v EXAT 0
SET k v PXAT -5
SET k v EX abc
SET k v EX 1.5
SET k v EX " 1"
SET k v EX abc FOO
SET k v EX abc EX 100
~near(1) TTL k
SET k v EX 100 EX abc
SET k v EX 9223372036854775807
SET k v EX 9223372036854775
SET k v EX 9223372036854
SET k v PX 9223372036854775807
SET k v EXAT 9223372036854775807
SET k v EXAT 9223372036854775
SET k v PXAT 9223372036854775807
PEXPIRETIME k
SET k v ex 100
~near(1) TTL k
SET k v px 200000
~near(200) PTTL k
SET k w KEEPTTL
~near(200) PTTL k
SET k w keepttl keepttl
~near(200) PTTL k
SET k w
TTL k
SET k v EXAT 4000000000
EXPIRETIME k
PEXPIRETIME k
SET k v PXAT 4000000000123
PEXPIRETIME k
EXPIRETIME k
SET k v NX EX 5
EXPIRETIME k
SET k v XX KEEPTTL GET
EXPIRETIME k
SET past v EXAT 1
GET past
SET past v PXAT 1 GET
SET k v
SET k w PXAT 1 GET
EXISTS k
SET "" empty-key
GET ""
SET empty ""
GET empty
STRLEN empty
SET "bin\x00\r\n\xff" "\x00\x01\r\n\xfe"
GET "bin\x00\r\n\xff"
SET
SET k
GET
GET a b
# ---- SETNX / SETEX / PSETEX
SETNX nx1 a
SETNX nx1 b
GET nx1
SETNX nx1
SETEX se 100 v
~near(1) TTL se
SETEX se 0 v
SETEX se -1 v
SETEX se abc v
SETEX se 9223372036854775807 v
SETEX se 9223372036854775 v
SETEX se 100
SETEX se 100 v extra
PSETEX pse 100000 v
~near(200) PTTL pse
PSETEX pse 0 v
PSETEX pse -100 v
PSETEX pse abc v
PSETEX pse 9223372036854775807 v
GET se
# ---- GETSET / GETDEL
GETSET gs 1
GETSET gs 2
EXPIRE gs 100
GETSET gs 3
TTL gs
GETSET gs
GETDEL gs
GETDEL gs
GETDEL
GETDEL a b
# ---- GETEX
GETEX nokey
GETEX nokey EX abc
GETEX nokey EX 0
GETEX nokey FOO
GETEX nokey EX
SET gx v
GETEX gx
GETEX gx EX 100
~near(1) TTL gx
GETEX gx PX 300000
~near(200) PTTL gx
GETEX gx EXAT 4000000000
EXPIRETIME gx
GETEX gx PXAT 4000000000999
PEXPIRETIME gx
GETEX gx PERSIST
TTL gx
GETEX gx PERSIST PERSIST
GETEX gx EX 5 EX 500
~near(1) TTL gx
GETEX gx PERSIST EX 10
GETEX gx EX 10 PERSIST
GETEX gx EX 10 PX 10
GETEX gx KEEPTTL
GETEX gx NX
GETEX gx GET
GETEX gx EX 0
GETEX gx EX -1
GETEX gx PX 9223372036854775807
GETEX gx EXAT 9223372036854775807
GETEX gx EX x
GETEX gx EXAT 1
EXISTS gx
GETEX
# ---- MGET / MSET / MSETNX (keys spread over shards)
MSET a 1 b 2 c 3 d 4 e 5 f 6
MGET a b c d e f nokey a
MSET {t}a x {t}b
MSET a
MSETNX a 1 z 2
MGET a z
MSETNX y 1 z 2 w 3
MGET y z w
MSETNX q 1 q 2
GET q
MSETNX q
MSETNX q 1 r
MGET
MSET {t}a 1 {t}b 2
MGET {t}a {t}b {t}c
# ---- INCR family
INCR n
INCR n
DECR n
DECR n2
INCRBY n 41
INCRBY n -50
DECRBY n 10
DECRBY n -10
GET n
SET n 9223372036854775806
INCR n
INCR n
INCRBY n 1
SET n -9223372036854775807
DECR n
DECR n
DECRBY n 1
DECRBY n -9223372036854775808
DECRBY n2 9223372036854775808
INCRBY n 9223372036854775807
INCRBY n abc
INCRBY n 1.5
INCRBY n ""
INCRBY n " 1"
DECRBY n +1
SET s "1.5"
INCR s
SET s " 1"
INCR s
SET s "1 "
INCR s
SET s "+1"
INCR s
SET s "01"
INCR s
SET s "-0"
INCR s
SET s ""
INCR s
SET s 9223372036854775808
INCR s
SET t 5 EX 100
INCR t
~near(1) TTL t
INCR
INCR a b
INCRBY a
DECRBY a 1 2
# ---- INCRBYFLOAT: long double arithmetic and text
INCRBYFLOAT f 10.5
INCRBYFLOAT f 0.1
INCRBYFLOAT f -10.6
INCRBYFLOAT f 5.0e3
INCRBYFLOAT f 2.0e2
INCRBYFLOAT f -5200.25
SET f 0.1
INCRBYFLOAT f 0.2
SET f 123456789.123
INCRBYFLOAT f 0.001
INCRBYFLOAT f 1.5
SET f 0x10
INCRBYFLOAT f +.5
SET f 1e2
INCRBYFLOAT f 1E-1
SET f 3
INCRBYFLOAT f 0x1.8p1
INCRBYFLOAT f 1e400
INCRBYFLOAT f -1e400
INCRBYFLOAT f 1e-4940
INCRBYFLOAT f 1e4932
INCRBYFLOAT f 1e4932
INCRBYFLOAT f 0e-5000
INCRBYFLOAT f 1e5000
INCRBYFLOAT f 1e-5000
INCRBYFLOAT f abc
INCRBYFLOAT f ""
INCRBYFLOAT f " 1"
INCRBYFLOAT f "1 "
INCRBYFLOAT f nan
INCRBYFLOAT f inf
INCRBYFLOAT f -inf
INCRBYFLOAT f --1
INCRBYFLOAT f 1,5
INCRBYFLOAT f "1\x00"
INCRBYFLOAT f 1e
INCRBYFLOAT f 0x
GET f
SET f inf
INCRBYFLOAT f 1
SET f abc
INCRBYFLOAT f 1
SET f 1e5
INCRBYFLOAT f 1
INCR f
SET f 1.5 EX 100
INCRBYFLOAT f 1
~near(1) TTL f
INCRBYFLOAT f
INCRBYFLOAT nf 3
INCRBYFLOAT nf 0.1
INCRBYFLOAT nf -0.1
INCRBYFLOAT nf -3
INCRBYFLOAT nf -0.0000000000000000001
INCRBYFLOAT nf 1.23e-17
INCRBYFLOAT nf 123456789012345678901234567890
INCRBYFLOAT nf 0.5
# ---- APPEND / STRLEN
STRLEN ap
APPEND ap hello
APPEND ap " world"
APPEND ap ""
GET ap
STRLEN ap
APPEND ae ""
EXISTS ae
SET an 12
APPEND an 3
INCR an
EXPIRE ap 100
APPEND ap !
~near(1) TTL ap
APPEND ap
STRLEN
STRLEN a b
# ---- GETRANGE / SUBSTR
SET gr "Hello World"
GETRANGE gr 0 -1
GETRANGE gr 0 4
GETRANGE gr -5 -1
GETRANGE gr 5 3
GETRANGE gr -100 100
GETRANGE gr -100 -100
GETRANGE gr 100 200
GETRANGE gr -1 -5
GETRANGE gr 0 0
GETRANGE gr 10 10
GETRANGE gr 11 11
GETRANGE gr -1 0
GETRANGE gr 3 -9
GETRANGE gr 3 -8
GETRANGE gr -9223372036854775808 9223372036854775807
GETRANGE gr 9223372036854775807 -9223372036854775808
GETRANGE gr a 1
GETRANGE gr 1 b
GETRANGE gr 1.5 2
GETRANGE nokey 0 -1
GETRANGE nokey a b
GETRANGE empty 0 -1
GETRANGE empty -1 0
SUBSTR gr 0 4
SUBSTR gr -3 -1
SUBSTR gr 0
GETRANGE gr 0
SET gn 12345
GETRANGE gn 1 2
# ---- SETRANGE
SETRANGE sr 5 hi
GET sr
SETRANGE sr 0 ab
SETRANGE sr 6 XYZ
GET sr
SETRANGE sr 100 ""
SETRANGE none 0 ""
SETRANGE none 536870912 ""
EXISTS none
SETRANGE sr -1 x
SETRANGE sr x x
SETRANGE sr 536870912 x
SETRANGE sr 9223372036854775807 x
SETRANGE new 536870912 x
EXISTS new
SETRANGE sr 1.5 x
SETRANGE sr 0
STRLEN sr
EXPIRE sr 100
SETRANGE sr 0 z
~near(1) TTL sr
# ---- DEL / UNLINK / EXISTS / TOUCH
MSET d1 1 d2 2 d3 3 d4 4
EXISTS d1 d2 d3 d4
EXISTS d1 d1 nokey d4 d1
TOUCH d2 d2 nokey d3
DEL d1 d1 d2 nokey
EXISTS d1 d2 d3 d4
UNLINK d3 d4 d4
EXISTS d1 d2 d3 d4
DEL nokey
DEL
UNLINK
EXISTS
TOUCH
# ---- TYPE
TYPE nokey
TYPE a
TYPE n
TYPE
TYPE a b
# ---- EXPIRE family
EXPIRE nokey 10
EXPIRE nokey abc FOO
EXPIRE nokey abc
EXPIRE nokey 10 NX
EXPIRE k abc NX XX
EXPIRE k abc NX GT
EXPIRE k abc LT NX
PEXPIRE k 10 GT LT
EXPIRE k 10 "\xffa\x00b"
EXPIRE k 10 "a\r\nb"
SET ex v
EXPIRE ex 100 XX
EXPIRE ex 100 GT
TTL ex
EXPIRE ex 100 nx
~near(1) TTL ex
EXPIRE ex 200 NX
EXPIREAT ex 4000000000 XX
EXPIRETIME ex
EXPIREAT ex 3000000000 GT
EXPIREAT ex 4000000001 GT
EXPIREAT ex 4000000002 LT
EXPIREAT ex 3500000000 LT
EXPIRETIME ex
EXPIREAT ex 3500000000 XX GT
EXPIREAT ex 3500000000 LT LT
PERSIST ex
EXPIREAT ex 3600000000 LT
EXPIRETIME ex
PEXPIRE ex 80000
~near(1) TTL ex
PEXPIREAT ex 4000000000123
PEXPIRETIME ex
EXPIRETIME ex
PEXPIREAT ex 4000000000500
EXPIRETIME ex
PEXPIREAT ex 4000000000499
EXPIRETIME ex
EXPIRE ex 9223372036854775807
EXPIRE ex -9223372036854775807
PEXPIRE ex 9223372036854775807
EXPIREAT ex 9223372036854775807
PEXPIREAT ex 9223372036854775807
PEXPIRETIME ex
EXPIRE ex
PEXPIRE ex
EXPIREAT ex
PEXPIREAT ex
EXPIRE ex -1
EXISTS ex
SET ex v
EXPIRE ex -1 GT
PEXPIRE ex 0 XX
EXISTS ex
PEXPIREAT ex 1 LT
EXISTS ex
SET ex v
EXPIREAT ex 0
EXISTS ex
SET ex v
PEXPIRE ex -5
EXISTS ex
# ---- TTL / PTTL / EXPIRETIME / PEXPIRETIME / PERSIST
TTL nokey
PTTL nokey
EXPIRETIME nokey
PEXPIRETIME nokey
SET tt v
TTL tt
PTTL tt
EXPIRETIME tt
PEXPIRETIME tt
PERSIST tt
PERSIST nokey
EXPIRE tt 1000
PERSIST tt
PERSIST tt
TTL tt
TTL
PTTL a b
PERSIST
# ---- MOVE
SET mv v EX 100
MOVE mv 1
EXISTS mv
MOVE mv 1
SELECT 1
GET mv
~near(1) TTL mv
SELECT 0
SET mv w
MOVE mv 1
GET mv
MOVE mv 0
MOVE mv 16
MOVE mv -1
MOVE mv 4294967296
MOVE mv x
MOVE nokey 2
MOVE mv
# ---- OBJECT
SET on 123
SET os hello
SET ob 012345678901234567890123456789012345678901234
SET oe 01234567890123456789012345678901234567890123
SET o20 12345678901234567890
OBJECT ENCODING on
object encoding os
OBJECT ENCODING ob
OBJECT ENCODING oe
OBJECT ENCODING o20
OBJECT ENCODING nokey
OBJECT REFCOUNT on
OBJECT REFCOUNT os
OBJECT REFCOUNT nokey
SET on 10000
OBJECT REFCOUNT on
SET on 9999
OBJECT REFCOUNT on
SET on -1
OBJECT REFCOUNT on
OBJECT FREQ os
OBJECT FREQ nokey
OBJECT HELP
OBJECT help
OBJECT NOPE os
OBJECT "\xfe\x00x"
OBJECT "a\r\nb" os
OBJECT ENCODING
OBJECT ENCODING os extra
OBJECT HELP x
OBJECT
# ---- KEYS (order unspecified)
FLUSHALL
MSET hello 1 hallo 1 hxllo 1 hllo 1 heeeello 1 h*llo 1 user:1 1 user:2 1 user:10 1 "a\\b" 1 [x] 1 "" 1
~sorted KEYS *
~sorted KEYS h?llo
~sorted KEYS h*llo
~sorted KEYS h[ae]llo
~sorted KEYS h[^e]llo
~sorted KEYS h[a-b]llo
~sorted KEYS h[b-a]llo
~sorted KEYS h\*llo
~sorted KEYS user:?
~sorted KEYS user:*
~sorted KEYS "a\\\\b"
~sorted KEYS \[x\]
~sorted KEYS [x
~sorted KEYS x]
~sorted KEYS h[
~sorted KEYS *[
~sorted KEYS ""
~sorted KEYS nomatch*
~sorted KEYS ***
~sorted KEYS *o
KEYS
KEYS a b
# ---- SCAN (full iterations compared as sets, argument errors byte for byte)
~scan
~scan COUNT 1
~scan COUNT 3 MATCH h*
~scan MATCH user:* COUNT 1000
~scan TYPE string
~scan TYPE STRING
~scan TYPE hash
~scan TYPE none
~scan MATCH *
~scan MATCH ""
SCAN abc
SCAN " 0"
SCAN "0 "
SCAN 1.5
SCAN 18446744073709551616
SCAN -
SCAN 0x1
SCAN abc FOO
SCAN 0 COUNT 0
SCAN 0 COUNT -1
SCAN 0 COUNT x
SCAN 0 COUNT
SCAN 0 MATCH
SCAN 0 TYPE
SCAN 0 FOO bar
SCAN 0 COUNT 5 COUNT 0
SCAN
# ---- RANDOMKEY (which key is random; the kind of reply is not)
~kind RANDOMKEY
RANDOMKEY x
FLUSHALL
RANDOMKEY
SET only v
RANDOMKEY
# ---- RENAME / RENAMENX (src and dst pairs on the same and on different shards)
MSET r0 v0 r1 v1 r2 v2 r3 v3
RENAME r0 r9
MGET r0 r9
RENAME r9 r1
MGET r9 r1
SETEX r2 100 v2
RENAME r2 r5
~near(1) TTL r5
RENAME r3 r5
TTL r5
RENAME nokey x
RENAMENX nokey x
RENAME r5 r5
RENAMENX r5 r5
RENAME nokey nokey
RENAMENX r1 r5
MGET r1 r5
RENAMENX r1 r6
MGET r1 r6
RENAME r6 {r6}x
GET {r6}x
RENAME a
RENAME a b c
RENAMENX a
# ---- COPY
SET c0 v EX 100
COPY c0 c1
MGET c0 c1
~near(1) TTL c1
SET c0 w
COPY c0 c1
GET c1
COPY c0 c1 REPLACE
GET c1
TTL c1
COPY c0 c1 DB 2 replace
SELECT 2
GET c1
SELECT 0
COPY c0 c0
COPY c0 c0 DB 0
COPY c0 c0 DB 1
COPY c0 x DB 16
COPY c0 x DB -1
COPY c0 x DB 4294967296
COPY c0 x DB abc
COPY c0 x DB
COPY c0 x FOO
COPY c0 x DB 99 FOO
COPY c0 x FOO DB 99
COPY c0 x REPLACE REPLACE
COPY c0 y DB 1 DB 3
SELECT 3
GET y
SELECT 0
COPY nokey x
COPY c0
# ---- SELECT / DBSIZE / FLUSHDB / FLUSHALL / SWAPDB
FLUSHALL
MSET z0 1 z1 1 z2 1 z3 1 z4 1 z5 1
DBSIZE
SELECT 1
MSET o0 1 o1 1
DBSIZE
SWAPDB 0 1
DBSIZE
~sorted KEYS *
SELECT 0
DBSIZE
~sorted KEYS *
SWAPDB 1 0
DBSIZE
SWAPDB 5 5
SWAPDB 0 16
SWAPDB x 0
SWAPDB 0 x
SWAPDB -1 0
SWAPDB 0
FLUSHDB
DBSIZE
SELECT 1
DBSIZE
FLUSHDB ASYNC
FLUSHDB sync
FLUSHDB FOO
FLUSHDB ASYNC SYNC
FLUSHALL ASYNC
FLUSHALL SYNC ASYNC
FLUSHALL FOO
DBSIZE x
SELECT 16
SELECT -1
SELECT x
SELECT
SELECT 0
DBSIZE
# ---- unknown commands and arity
NOSUCH
NOSUCH a b
nosuch "a b" c
GETX "a\r\nb"
"" x
SETEXX k 1 v
GETRANGE k 1
SET k v x y z
SELECT 4294967296
FLUSHALL
"#;

/// Divergences found here whose causes lie outside strings.rs and keys.rs and were reported.
/// They run after the hit/miss counters are compared, since they disturb them (IDLETIME is a
/// lookup in Redis, the partially applied MSET makes EXISTS find keys).
const KNOWN_SCRIPT: &str = r#"
SET idle v
~known(object-idletime:store-keeps-no-access-time) OBJECT IDLETIME idle
APPEND raw1 abc
APPEND raw1 d
~known(object-encoding:value-has-no-encoding) OBJECT ENCODING raw1
SET raw2 abc
SETRANGE raw2 0 x
~known(object-encoding:value-has-no-encoding) OBJECT ENCODING raw2
INCRBYFLOAT emb 5
~known(object-encoding:value-has-no-encoding) OBJECT ENCODING emb
NOSUCH "\xff"
FLUSHALL
"#;

/// Big, empty and binary keys and values, built in code.
fn generated_steps() -> Vec<Step> {
    let cmd = |args: Vec<Vec<u8>>| Step::Cmd(args, Check::Exact);
    let b = |s: &str| s.as_bytes().to_vec();
    let mut steps = vec![cmd(vec![b("FLUSHALL")])];
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    steps.push(cmd(vec![b("SET"), b("big"), big.clone()]));
    steps.push(cmd(vec![b("GET"), b("big")]));
    steps.push(cmd(vec![b("STRLEN"), b("big")]));
    steps.push(cmd(vec![b("GETRANGE"), b("big"), b("1000"), b("1100")]));
    steps.push(cmd(vec![b("GETRANGE"), b("big"), b("-100"), b("-1")]));
    steps.push(cmd(vec![b("APPEND"), b("big"), big.clone()]));
    steps.push(cmd(vec![b("SETRANGE"), b("big"), b("2500000"), b("tail")]));
    steps.push(cmd(vec![
        b("GETRANGE"),
        b("big"),
        b("1999990"),
        b("2000010"),
    ]));
    steps.push(cmd(vec![b("GET"), b("big")]));
    steps.push(cmd(vec![b("MSET"), b("big2"), big.clone(), b("e"), vec![]]));
    steps.push(cmd(vec![b("MGET"), b("big2"), b("e"), b("big")]));
    steps.push(cmd(vec![b("COPY"), b("big2"), b("big3")]));
    steps.push(cmd(vec![b("RENAME"), b("big3"), b("big4")]));
    steps.push(cmd(vec![b("GETDEL"), b("big4")]));
    steps.push(cmd(vec![b("GETSET"), b("big2"), big[..100].to_vec()]));
    steps.push(cmd(vec![b("GETEX"), b("big2"), b("PERSIST")]));
    // A key for every byte value, then every one read back, listed and deleted.
    for byte in 0..=255u8 {
        let key = vec![b'k', byte, b'k'];
        steps.push(cmd(vec![b("SET"), key, vec![byte; 3]]));
    }
    for byte in 0..=255u8 {
        steps.push(cmd(vec![b("GET"), vec![b'k', byte, b'k']]));
    }
    steps.push(Step::Cmd(vec![b("KEYS"), b("k?k")], Check::Sorted));
    steps.push(Step::Scan(vec![b("MATCH"), b("k?k"), b("COUNT"), b("50")]));
    steps.push(Step::Cmd(
        vec![b("KEYS"), vec![b'k', b'[', 0, b'-', 0x20, b']', b'k']],
        Check::Sorted,
    ));
    steps.push(cmd(vec![b("DBSIZE")]));
    let all: Vec<Vec<u8>> = (0..=255u8).map(|byte| vec![b'k', byte, b'k']).collect();
    let mut del = vec![b("DEL")];
    del.extend(all.iter().cloned());
    steps.push(cmd(del.clone()));
    steps.push(cmd(del));
    // Long arguments echoed in errors are cut as Redis cuts them.
    steps.push(cmd(vec![b("NOSUCH"), vec![b'a'; 200], vec![b'b'; 50]]));
    let mut many = vec![b("NOSUCH")];
    many.extend((0..60).map(|i| format!("x{i}").into_bytes()));
    steps.push(cmd(many));
    steps.push(cmd(vec![b("OBJECT"), vec![b'q'; 300], b("k")]));
    steps.push(cmd(vec![b("EXPIRE"), b("big"), b("1"), vec![b'o'; 300]]));
    steps.push(cmd(vec![b("FLUSHALL")]));
    steps
}

/// A multi-shard MSET with an odd argument count must set nothing (Redis checks the count
/// before writing); corekv's dispatcher splits it per shard first, and the shards holding a
/// complete pair apply it. Reported as a dispatch bug; kept here as a known divergence.
fn mset_odd_arity_steps() -> Vec<Step> {
    let keys: Vec<String> = (0..4).map(|s| common::key_on_shard("odd", s, 4)).collect();
    let b = |s: &str| s.as_bytes().to_vec();
    vec![
        Step::Cmd(
            vec![
                b("MSET"),
                b(&keys[0]),
                b("1"),
                b(&keys[1]),
                b("2"),
                b(&keys[2]),
            ],
            Check::Exact,
        ),
        Step::Cmd(
            vec![b("EXISTS"), b(&keys[0]), b(&keys[1]), b(&keys[2])],
            Check::Exact,
        ),
        Step::Cmd(vec![b("FLUSHALL")], Check::Exact),
    ]
}

/// xorshift64*: the same commands on every run.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Commands over a small key space, so they collide. Nothing here depends on when a command
/// runs: relative TTLs are long and never compared with GT/LT against each other (absolute
/// times far from now are used for that), and no key is stored already expired (an expired key
/// still counts in DBSIZE until active expiry, whose timing differs between the servers).
fn random_steps(seed: u64, count: usize) -> Vec<Step> {
    const KEYS: &[&str] = &[
        "k0", "k1", "k2", "k3", "k4", "{t}a", "{t}b", "n", "f", "\x00\r\n",
    ];
    const VALUES: &[&str] = &[
        "",
        "v",
        "0",
        "1",
        "-1",
        "42",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "0.1",
        "-0.25",
        "1e3",
        "abc",
        " 1",
        "0x10",
        "12345678901234567890",
    ];
    const INTS: &[&str] = &[
        "0",
        "1",
        "-1",
        "5",
        "100",
        "abc",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "",
    ];
    const FLOATS: &[&str] = &[
        "0.1",
        "-0.1",
        "1.5",
        "1e10",
        "-1e-5",
        "3",
        "abc",
        "inf",
        "1e400",
        "0x1p3",
        "2.675",
        "-123456789.987654321",
        "1e-17",
        "",
    ];
    const SECONDS: &[&str] = &[
        "100",
        "1000",
        "10000",
        "-1",
        "0",
        "abc",
        "9223372036854775807",
    ];
    // Milliseconds: never short enough to expire while the test runs.
    const MILLIS: &[&str] = &["100000", "1000000", "-1", "0", "abc", "9223372036854775807"];
    const ABSOLUTE_S: &[&str] = &["1", "2000000000", "3000000000", "4000000000"];
    let mut rng = Prng(seed | 1);
    let mut steps = Vec::with_capacity(count);
    for _ in 0..count {
        let k = rng.pick(KEYS);
        let k2 = rng.pick(KEYS);
        let v = rng.pick(VALUES);
        let (cmd, check): (Vec<&str>, Check) = match rng.below(44) {
            0..=3 => (vec!["SET", k, v], Check::Exact),
            4 => {
                let opt = rng.pick(&["NX", "XX", "GET", "KEEPTTL", "NX GET", "XX GET"]);
                let mut c = vec!["SET", k, v];
                c.extend(opt.split(' '));
                (c, Check::Exact)
            }
            5 => {
                let (unit, n) = match rng.below(2) {
                    0 => ("EX", rng.pick(SECONDS)),
                    _ => ("PX", rng.pick(MILLIS)),
                };
                (vec!["SET", k, v, unit, n], Check::Exact)
            }
            6..=8 => (vec!["GET", k], Check::Exact),
            9 => (vec!["MGET", k, k2, rng.pick(KEYS)], Check::Exact),
            10 => (vec!["MSET", k, v, k2, rng.pick(VALUES)], Check::Exact),
            11 => (vec!["MSETNX", k, v, k2, rng.pick(VALUES)], Check::Exact),
            12 => (vec![rng.pick(&["INCR", "DECR"]), k], Check::Exact),
            13 => (
                vec![rng.pick(&["INCRBY", "DECRBY"]), k, rng.pick(INTS)],
                Check::Exact,
            ),
            14 => (vec!["INCRBYFLOAT", k, rng.pick(FLOATS)], Check::Exact),
            15 => (vec!["APPEND", k, v], Check::Exact),
            16 => (vec!["STRLEN", k], Check::Exact),
            17 => (
                vec![
                    rng.pick(&["GETRANGE", "SUBSTR"]),
                    k,
                    rng.pick(INTS),
                    rng.pick(INTS),
                ],
                Check::Exact,
            ),
            18 => (
                vec!["SETRANGE", k, rng.pick(&["0", "1", "3", "-1", "x"]), v],
                Check::Exact,
            ),
            19 => (vec!["GETSET", k, v], Check::Exact),
            20 => (vec!["GETDEL", k], Check::Exact),
            21 => {
                let opt = rng.pick(&[
                    "",
                    "PERSIST",
                    "EX 100",
                    "PX 100000",
                    "EXAT 1",
                    "EXAT 4000000000",
                    "EX 0",
                    "EX abc",
                ]);
                let mut c = vec!["GETEX", k];
                c.extend(opt.split(' ').filter(|s| !s.is_empty()));
                (c, Check::Exact)
            }
            22 => (vec!["SETNX", k, v], Check::Exact),
            23 => (
                vec![
                    rng.pick(&["SETEX", "PSETEX"]),
                    k,
                    rng.pick(&["100000", "0", "-1", "x"]),
                    v,
                ],
                Check::Exact,
            ),
            24 => (
                vec![rng.pick(&["DEL", "UNLINK", "EXISTS", "TOUCH"]), k, k2],
                Check::Exact,
            ),
            25 => (vec!["TYPE", k], Check::Exact),
            26 => {
                let opt = rng.pick(&["", "NX", "XX"]);
                let mut c = match rng.below(2) {
                    0 => vec!["EXPIRE", k, rng.pick(SECONDS)],
                    _ => vec!["PEXPIRE", k, rng.pick(MILLIS)],
                };
                c.extend(opt.split(' ').filter(|s| !s.is_empty()));
                (c, Check::Exact)
            }
            27 => {
                let opt = rng.pick(&["", "NX", "XX", "GT", "LT", "XX GT", "NX LT"]);
                let mut c = vec!["EXPIREAT", k, rng.pick(ABSOLUTE_S)];
                c.extend(opt.split(' ').filter(|s| !s.is_empty()));
                (c, Check::Exact)
            }
            28 => (vec!["TTL", k], Check::Near(1)),
            29 => (vec!["PTTL", k], Check::Near(300)),
            30 => (vec!["EXPIRETIME", k], Check::Near(1)),
            31 => (vec!["PEXPIRETIME", k], Check::Near(300)),
            32 => (vec!["PERSIST", k], Check::Exact),
            33 => (vec!["RENAME", k, k2], Check::Exact),
            34 => (vec!["RENAMENX", k, k2], Check::Exact),
            35 => {
                let opt = rng.pick(&["", "REPLACE", "DB 1", "DB 1 REPLACE"]);
                let mut c = vec!["COPY", k, k2];
                c.extend(opt.split(' ').filter(|s| !s.is_empty()));
                (c, Check::Exact)
            }
            36 => (vec!["MOVE", k, rng.pick(&["0", "1", "2"])], Check::Exact),
            37 => (vec!["SELECT", rng.pick(&["0", "1"])], Check::Exact),
            38 => (vec!["DBSIZE"], Check::Exact),
            39 => (
                vec!["KEYS", rng.pick(&["*", "k*", "{t}*", "?", "k[0-2]"])],
                Check::Sorted,
            ),
            40 => (vec!["SWAPDB", "0", "1"], Check::Exact),
            41 => (vec!["RANDOMKEY"], Check::Kind),
            42 => {
                if rng.below(20) == 0 {
                    (vec!["FLUSHDB"], Check::Exact)
                } else {
                    (vec!["EXISTS", k], Check::Exact)
                }
            }
            _ => {
                steps.push(Step::Scan(vec![b"COUNT".to_vec(), b"3".to_vec()]));
                continue;
            }
        };
        let args = cmd.iter().map(|a| a.as_bytes().to_vec()).collect();
        steps.push(Step::Cmd(args, check));
    }
    steps
}

fn report(pair: &Pair) {
    for m in pair.mismatches.iter().take(25) {
        eprintln!(
            "MISMATCH [{}] {}\n    redis:  {}\n    corekv: {}",
            m.phase, m.command, m.redis, m.corekv
        );
    }
    if pair.mismatches.len() > 25 {
        eprintln!("... and {} more mismatches", pair.mismatches.len() - 25);
    }
    for s in &pair.stale_known {
        eprintln!("KNOWN DIVERGENCE NOW MATCHES (remove its ~known marker): {s}");
    }
}

#[test]
fn corekv_replies_like_redis() {
    let Some(reference) = start_reference() else {
        return;
    };
    let server = Server::start(4, &[]);
    // The scripted keys really do spread over the four shards.
    let spread: BTreeSet<usize> = ["a", "b", "c", "d", "e", "f", "r0", "r1", "r5", "r9"]
        .iter()
        .map(|k| shard_of(k.as_bytes(), 4))
        .collect();
    assert!(
        spread.len() >= 3,
        "script keys should span shards: {spread:?}"
    );

    let script = parse_script(SCRIPT);
    let known = parse_script(KNOWN_SCRIPT);
    assert!(script.len() > 500, "the script has {} steps", script.len());
    let mut pair = Pair::new(reference.port, server.port);

    let phases: [(&str, u8); 2] = [("RESP2", 2), ("RESP3", 3)];
    for (name, proto) in phases {
        pair.phase = name.to_string();
        if proto == 3 {
            pair.run(&Step::Cmd(
                vec![b"HELLO".to_vec(), b"3".to_vec()],
                Check::Hello,
            ));
        }
        pair.reset_stats();
        for step in script.iter().chain(&generated_steps()) {
            pair.run(step);
        }
        pair.compare_stats();
        for step in known.iter().chain(&mset_odd_arity_steps()) {
            pair.run(step);
        }
    }
    pair.run(&Step::Cmd(
        vec![b"HELLO".to_vec(), b"2".to_vec()],
        Check::Hello,
    ));

    pair.phase = "pipelined".to_string();
    pair.reset_stats();
    pair.run_pipelined(&script);
    pair.compare_stats();

    pair.phase = "random".to_string();
    pair.run(&Step::Cmd(vec![b"FLUSHALL".to_vec()], Check::Exact));
    pair.reset_stats();
    for seed in [1, 2, 3] {
        for step in random_steps(seed, 1500) {
            pair.run(&step);
        }
        pair.run(&Step::Scan(vec![]));
        pair.run(&Step::Cmd(
            vec![b"SELECT".to_vec(), b"1".to_vec()],
            Check::Exact,
        ));
        pair.run(&Step::Scan(vec![]));
    }
    pair.compare_stats();

    eprintln!(
        "differential: {} replies compared, {} mismatches, known divergences: {:?}",
        pair.compared,
        pair.mismatches.len(),
        pair.known_seen
    );
    report(&pair);
    assert!(
        pair.mismatches.is_empty() && pair.stale_known.is_empty(),
        "corekv differs from redis-server {} time(s); first ones above",
        pair.mismatches.len()
    );
}

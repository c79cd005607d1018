//! The wire protocol over real sockets, byte for byte: Redis 7.0's protocol errors (exact
//! text, then the connection closes), inline commands with redis-cli quoting, requests split
//! into tiny writes, deep pipelines across shards, large values, the HTTP cross-protocol
//! defence, and RESP3 after `HELLO 3`.

mod common;

use std::io::Write;
use std::thread;
use std::time::Duration;

use common::{Resp, Server, encode};

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline line or `*`/`$` header line.
const MAX_INLINE: usize = 64 * 1024;

/// Sends `input` on a fresh connection and returns everything received until the server
/// closed it.
fn send_and_read_to_close(server: &Server, input: &[u8]) -> String {
    let mut raw = server.raw();
    raw.send(input);
    raw.text_to_close()
}

fn protocol_error(condition: &str) -> String {
    format!("-ERR Protocol error: {condition}\r\n")
}

#[test]
fn every_protocol_error_has_redis_text_and_closes_the_connection() {
    let server = Server::start(2, &[]);
    let too_long_inline = vec![b'a'; MAX_INLINE + 10];
    let too_long_count = [&b"*"[..], &vec![b'1'; MAX_INLINE + 10]].concat();
    let too_long_bulk_count = [&b"*1\r\n$"[..], &vec![b'1'; MAX_INLINE + 10]].concat();
    let cases: Vec<(&[u8], &str)> = vec![
        (b"*abc\r\n", "invalid multibulk length"),
        (b"*-5x\r\n", "invalid multibulk length"),
        (b"*3000000000\r\n", "invalid multibulk length"),
        (b"*1\r\n$abc\r\n", "invalid bulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "invalid bulk length"),
        (b"*1\r\nx\r\n", "expected '$', got 'x'"),
        (b"*2\r\n$4\r\nECHO\r\n:1\r\n", "expected '$', got ':'"),
        (b"SET \"a b\r\n", "unbalanced quotes in request"),
        (b"ECHO 'a'b\r\n", "unbalanced quotes in request"),
        (b"ECHO \"a\"b\r\n", "unbalanced quotes in request"),
        (&too_long_inline, "too big inline request"),
        (&too_long_count, "too big mbulk count string"),
        (&too_long_bulk_count, "too big bulk count string"),
    ];
    for (input, condition) in cases {
        assert_eq!(
            send_and_read_to_close(&server, input),
            protocol_error(condition),
            "input {:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
    }
}

#[test]
fn a_protocol_error_split_over_many_writes_is_still_detected() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    for &b in b"*2\r\n$3\r\nGET\r\n$x" {
        raw.send(&[b]);
        thread::sleep(Duration::from_millis(1));
    }
    raw.send(b"\r\n");
    assert_eq!(raw.text_to_close(), protocol_error("invalid bulk length"));
}

#[test]
fn limits_before_auth_are_redis_unauthenticated_limits() {
    let server = Server::start_with_password(2, "pw", &[]);
    assert_eq!(
        send_and_read_to_close(&server, b"*11\r\n"),
        protocol_error("unauthenticated multibulk length")
    );
    assert_eq!(
        send_and_read_to_close(&server, b"*1\r\n$16385\r\n"),
        protocol_error("unauthenticated bulk length")
    );
    // At the limits a client that has not authenticated is answered, not disconnected.
    let mut raw = server.raw();
    raw.cmd(&[
        b"SET", b"k", b"v", b"EX", b"10", b"NX", b"GET", b"KEEPTTL", b"x", b"y",
    ]);
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.cmd(&[b"ECHO", &[b'x'; 16384]]);
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    // After AUTH both limits are gone.
    raw.cmd(&[b"AUTH", b"pw"]);
    raw.expect(b"+OK\r\n");
    let big = vec![b'v'; 100_000];
    raw.cmd(&[b"SET", b"k", &big]);
    raw.expect(b"+OK\r\n");
    let mut args: Vec<&[u8]> = vec![b"MSET"];
    for _ in 0..20 {
        args.push(b"k");
        args.push(b"v");
    }
    raw.cmd(&args);
    raw.expect(b"+OK\r\n");
}

#[test]
fn replies_to_requests_before_a_protocol_error_are_delivered() {
    let server = Server::start(4, &[]);
    // Keys on every shard, so the error has to wait for remote shards' replies.
    let keys: Vec<String> = (0..4).map(|s| common::key_on_shard("k", s, 4)).collect();
    let mut input = Vec::new();
    let mut expected = String::new();
    input.extend_from_slice(b"PING\r\n");
    expected.push_str("+PONG\r\n");
    for k in &keys {
        input.extend_from_slice(&encode(&[b"SET", k.as_bytes(), b"v"]));
        expected.push_str("+OK\r\n");
    }
    for k in &keys {
        input.extend_from_slice(format!("GET {k}\r\n").as_bytes());
        expected.push_str("$1\r\nv\r\n");
    }
    input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$-7\r\nPING\r\n");
    expected.push_str(&protocol_error("invalid bulk length"));
    assert_eq!(send_and_read_to_close(&server, &input), expected);
    // The commands before the error ran.
    let mut raw = server.raw();
    for k in &keys {
        assert_eq!(raw.q(&["GET", k]), "$1\r\nv\r\n");
    }
}

#[test]
fn inline_commands_use_redis_cli_quoting() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    raw.send(b"SET \"a b\" 'c d'\r\n");
    raw.expect(b"+OK\r\n");
    assert_eq!(raw.q(&["GET", "a b"]), "$3\r\nc d\r\n");
    let cases: &[(&[u8], &[u8])] = &[
        (br#"ECHO "\x41\x42\x6a""#, b"ABj"),
        (br#"ECHO "tab\there\nnl""#, b"tab\there\nnl"),
        (br#"ECHO "q\"uote\\""#, b"q\"uote\\"),
        (br"ECHO 'it\'s'", b"it's"),
        (br"ECHO 'no\nescape'", b"no\\nescape"),
        (br#"ECHO "\x4""#, b"x4"),
        (br#"ECHO a"b c""#, b"ab c"),
        (br"ECHO x'y z'", b"xy z"),
        (br#"ECHO """#, b""),
        (b"ECHO\t  spaced   ", b"spaced"),
        (br#"ECHO "\xff\x00""#, b"\xff\x00"),
    ];
    for (line, arg) in cases {
        raw.send(&[*line, b"\r\n"].concat());
        let mut expected = format!("${}\r\n", arg.len()).into_bytes();
        expected.extend_from_slice(arg);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(
            raw.read_reply(),
            expected,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // A bare LF ends an inline line too.
    raw.send(b"ECHO lf\n");
    raw.expect(b"$2\r\nlf\r\n");
}

#[test]
fn empty_lines_and_empty_multibulks_are_ignored() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    raw.send(b"\r\n\n   \r\n\t\n*0\r\n*-1\r\n*0\r\nPING\r\n\r\n*0\r\n");
    raw.expect(b"+PONG\r\n");
    // Nothing else was answered and the connection is still usable.
    raw.send(b"ECHO after\r\n");
    raw.expect(b"$5\r\nafter\r\n");
}

#[test]
fn a_request_split_across_many_tiny_writes() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    raw.stream.set_nodelay(true).expect("nodelay");
    let value: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = encode(&[b"SET", b"split-key", &value]);
    input.extend_from_slice(b"GET split-key\r\n");
    input.extend_from_slice(&encode(&[b"STRLEN", b"split-key"]));
    input.extend_from_slice(b"ECHO \"x y\"\r\n");
    // One byte at a time through the headers, then small uneven pieces.
    let (head, tail) = input.split_at(40);
    for &b in head {
        raw.send(&[b]);
        thread::sleep(Duration::from_millis(1));
    }
    for (i, piece) in tail.chunks(7).enumerate() {
        raw.send(piece);
        if i % 10 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    raw.expect(b"+OK\r\n");
    let mut get = format!("${}\r\n", value.len()).into_bytes();
    get.extend_from_slice(&value);
    get.extend_from_slice(b"\r\n");
    assert_eq!(raw.read_reply(), get);
    raw.expect(b":3000\r\n");
    raw.expect(b"$3\r\nx y\r\n");
}

/// A deterministic generator for the pipeline test.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Builds `count` mixed commands and their expected replies, against a model of the store.
fn mixed_pipeline(count: usize) -> (Vec<u8>, Vec<u8>) {
    use std::collections::HashMap;
    let mut rng = Lcg(42);
    let mut dbs: [HashMap<String, String>; 2] = [HashMap::new(), HashMap::new()];
    let mut db = 0;
    let mut input = Vec::new();
    let mut expected = Vec::new();
    let bulk = |v: &Option<String>| match v {
        Some(s) => format!("${}\r\n{s}\r\n", s.len()),
        None => "$-1\r\n".to_string(),
    };
    for i in 0..count {
        let key = format!("key:{}", rng.below(300));
        let counter = format!("counter:{}", rng.below(20));
        let model = &mut dbs[db];
        let (args, reply): (Vec<String>, String) = match rng.below(12) {
            0 | 1 => {
                let v = format!("value-{i}");
                model.insert(key.clone(), v.clone());
                (vec!["SET".into(), key, v], "+OK\r\n".into())
            }
            2 | 3 => {
                let r = bulk(&model.get(&key).cloned());
                (vec!["GET".into(), key], r)
            }
            4 => {
                let n: i64 = model.get(&counter).map_or(0, |v| v.parse().unwrap());
                model.insert(counter.clone(), (n + 1).to_string());
                (vec!["INCR".into(), counter], format!(":{}\r\n", n + 1))
            }
            5 => {
                let keys: Vec<String> = (0..5).map(|_| format!("key:{}", rng.below(300))).collect();
                let mut r = format!("*{}\r\n", keys.len());
                for k in &keys {
                    r.push_str(&bulk(&model.get(k).cloned()));
                }
                let mut args = vec!["MGET".to_string()];
                args.extend(keys);
                (args, r)
            }
            6 => {
                let keys: Vec<String> = (0..3).map(|_| format!("key:{}", rng.below(300))).collect();
                let mut unique = keys.clone();
                unique.sort();
                unique.dedup();
                let removed = unique.iter().filter(|k| model.remove(*k).is_some()).count();
                let mut args = vec!["DEL".to_string()];
                args.extend(keys);
                (args, format!(":{removed}\r\n"))
            }
            7 => {
                let n = i64::from(model.contains_key(&key));
                (vec!["EXISTS".into(), key], format!(":{n}\r\n"))
            }
            8 => {
                let v = format!("{i}");
                let new = model.get(&key).cloned().unwrap_or_default() + &v;
                let len = new.len();
                model.insert(key.clone(), new);
                (vec!["APPEND".into(), key, v], format!(":{len}\r\n"))
            }
            9 => {
                let e = format!("echo {i}");
                let r = bulk(&Some(e.clone()));
                (vec!["ECHO".into(), e], r)
            }
            10 => {
                // A coordinated command in the middle: a barrier between segments.
                db = 1 - db;
                (vec!["SELECT".into(), db.to_string()], "+OK\r\n".into())
            }
            _ => (vec!["PING".into()], "+PONG\r\n".into()),
        };
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        input.extend_from_slice(&encode(&args));
        expected.extend_from_slice(reply.as_bytes());
    }
    (input, expected)
}

#[test]
fn a_pipeline_of_10000_mixed_commands_over_4_shards_replies_in_order() {
    let server = Server::start(4, &[]);
    let (input, expected) = mixed_pipeline(10_000);
    let mut raw = server.raw();
    // Write from another thread while this one reads: the replies would otherwise fill the
    // socket buffers and stall both sides.
    let mut writer = raw.writer();
    let sender = thread::spawn(move || writer.write_all(&input).expect("write pipeline"));
    let got = raw.read_exact(expected.len());
    sender.join().expect("writer thread");
    if got != expected {
        let at = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "replies differ at byte {at}: got {:?}, expected {:?}",
            String::from_utf8_lossy(&got[at.saturating_sub(40)..(at + 80).min(got.len())]),
            String::from_utf8_lossy(
                &expected[at.saturating_sub(40)..(at + 80).min(expected.len())]
            )
        );
    }
    // Nothing more than the 10,000 replies.
    raw.send(b"PING\r\n");
    raw.expect(b"+PONG\r\n");
}

fn pattern_value(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn values_of_1mb_and_20mb_round_trip() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    for len in [1 << 20, 20 << 20] {
        let value = pattern_value(len);
        let key = format!("big:{len}");
        let mut writer = raw.writer();
        let request = encode(&[b"SET", key.as_bytes(), &value]);
        let sender = thread::spawn(move || writer.write_all(&request).expect("write"));
        raw.expect(b"+OK\r\n");
        sender.join().expect("writer thread");
        assert_eq!(raw.q(&["STRLEN", &key]), format!(":{len}\r\n"));
        raw.cmd(&[b"GET", key.as_bytes()]);
        let header = format!("${len}\r\n");
        raw.expect(header.as_bytes());
        assert!(raw.read_exact(len) == value, "GET returned other bytes");
        raw.expect(b"\r\n");
    }
}

#[test]
fn http_requests_close_the_connection_without_a_reply() {
    let server = Server::start(2, &[]);
    for input in [
        &b"POST / HTTP/1.1\r\nHost: example.com\r\n\r\n*1\r\n$4\r\nPING\r\n"[..],
        b"post /x HTTP/1.0\r\n",
        b"Host: 127.0.0.1:6379\r\n",
        b"HOST: x\r\n",
    ] {
        assert_eq!(send_and_read_to_close(&server, input), "", "{input:?}");
    }
    // Also after a normal exchange on the same connection.
    let mut raw = server.raw();
    raw.send(b"PING\r\n");
    raw.expect(b"+PONG\r\n");
    raw.send(b"Host: evil.example\r\nPING\r\n");
    assert_eq!(raw.text_to_close(), "");
}

/// The fields of a HELLO reply as a map of text, keys in order.
fn hello_fields(reply: &Resp) -> Vec<(String, String)> {
    let pairs: Vec<(Resp, Resp)> = match reply {
        Resp::Map(pairs) => pairs.clone(),
        Resp::Array(items) => items
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect(),
        other => panic!("HELLO reply {other:?}"),
    };
    pairs
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Resp::Int(n) => n.to_string(),
                Resp::Array(items) => format!("{items:?}"),
                other => other.text(),
            };
            (k.text(), v)
        })
        .collect()
}

fn expected_hello(proto: u8, id: i64) -> Vec<(String, String)> {
    [
        ("server", "redis".to_string()),
        ("version", "7.0.15".to_string()),
        ("proto", proto.to_string()),
        ("id", id.to_string()),
        ("mode", "standalone".to_string()),
        ("role", "master".to_string()),
        ("modules", "[]".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn resp3_after_hello_3() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let id = raw.call(&["CLIENT", "ID"]).int();
    raw.cmd(&[b"HELLO", b"3"]);
    let hello = raw.read_reply();
    assert!(hello.starts_with(b"%7\r\n"), "HELLO 3 is a map");
    assert_eq!(hello_fields(&Resp::parse(&hello)), expected_hello(3, id));

    // Nulls.
    assert_eq!(raw.q(&["GET", "missing"]), "_\r\n");
    assert_eq!(raw.q(&["SET", "present", "v"]), "+OK\r\n");
    assert_eq!(
        raw.q(&["MGET", "present", "missing"]),
        "*2\r\n$1\r\nv\r\n_\r\n"
    );
    assert_eq!(raw.q(&["COMMAND", "INFO", "nosuchcommand"]), "*1\r\n_\r\n");
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), "_\r\n");
    // Maps.
    assert_eq!(
        raw.q(&["CONFIG", "GET", "maxmemory"]),
        "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    let docs = raw.q(&["COMMAND", "DOCS", "get"]);
    assert!(
        docs.starts_with("%1\r\n$3\r\nget\r\n%"),
        "COMMAND DOCS: {docs}"
    );
    // Where Redis 7.0 replies a bulk string and not a double, so does corekv.
    assert_eq!(raw.q(&["INCRBYFLOAT", "f", "1.5"]), "$3\r\n1.5\r\n");
    // Verbatim strings for INFO and CLIENT INFO / LIST.
    for args in [
        &["INFO", "server"][..],
        &["CLIENT", "INFO"],
        &["CLIENT", "LIST"],
    ] {
        match Resp::parse(&{
            let a: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            raw.cmd(&a);
            raw.read_reply()
        }) {
            Resp::Verbatim(format, _) => assert_eq!(format, "txt", "{args:?}"),
            other => panic!("{args:?} is not a verbatim string: {other:?}"),
        }
    }
    let info = raw.call(&["INFO", "server"]).text();
    assert!(
        info.starts_with("# Server\r\nredis_version:7.0.15\r\n"),
        "{info}"
    );

    // HELLO 2 goes back to RESP2, from its own reply on.
    raw.cmd(&[b"HELLO", b"2"]);
    let hello2 = raw.read_reply();
    assert!(hello2.starts_with(b"*14\r\n"), "HELLO 2 is a flat array");
    assert_eq!(hello_fields(&Resp::parse(&hello2)), expected_hello(2, id));
    assert_eq!(raw.q(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(
        raw.q(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
}

#[test]
fn a_protocol_switch_applies_from_the_next_reply_in_the_same_pipeline() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    raw.send(b"GET nokey\r\nHELLO 3\r\nGET nokey\r\nHELLO 2\r\nGET nokey\r\n");
    raw.expect(b"$-1\r\n");
    assert!(raw.read_reply().starts_with(b"%7\r\n"));
    raw.expect(b"_\r\n");
    assert!(raw.read_reply().starts_with(b"*14\r\n"));
    raw.expect(b"$-1\r\n");
}

#[test]
fn hello_errors_leave_the_protocol_unchanged() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "1"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "3", "SETNAME"]),
        "-ERR Syntax error in HELLO option 'SETNAME'\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "3", "foo"]),
        "-ERR Syntax error in HELLO option 'foo'\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "3", "SETNAME", "bad name"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(raw.q(&["GET", "missing"]), "$-1\r\n");
    // Without AUTH configured, HELLO AUTH default <anything> succeeds.
    assert!(
        raw.q(&["HELLO", "3", "AUTH", "default", "whatever"])
            .starts_with("%7\r\n")
    );
    assert_eq!(
        raw.q(&["HELLO", "3", "AUTH", "nobody", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
}

#[test]
fn hello_3_auth_and_setname_together() {
    let server = Server::start_with_password(2, "pw", &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
         HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
         the RESP protocol version at the same time\r\n"
    );
    assert_eq!(
        raw.q(&["HELLO", "3", "AUTH", "default", "wrong", "SETNAME", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    // A failed HELLO changed nothing: still RESP2 and unauthenticated.
    assert_eq!(raw.q(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    raw.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"pw", b"SETNAME", b"x"]);
    let hello = raw.read_reply();
    assert!(
        hello.starts_with(b"%7\r\n"),
        "{}",
        String::from_utf8_lossy(&hello)
    );
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), "$1\r\nx\r\n");
    assert_eq!(raw.q(&["GET", "k"]), "_\r\n");
    let info = raw.call(&["CLIENT", "INFO"]).text();
    assert!(info.contains(" name=x "), "{info}");
    assert!(info.contains(" resp=3"), "{info}");
}

#[test]
fn hello_auth_then_more_commands_in_one_pipeline() {
    let server = Server::start_with_password(2, "pw", &[]);
    let mut raw = server.raw();
    raw.send(b"HELLO 3 AUTH default pw SETNAME x\r\nCLIENT GETNAME\r\nGET k\r\n");
    assert!(raw.read_reply().starts_with(b"%7\r\n"));
    raw.expect(b"$1\r\nx\r\n");
    raw.expect(b"_\r\n");
}

#[test]
fn quit_replies_ok_and_closes_without_running_later_commands() {
    let server = Server::start(2, &[]);
    assert_eq!(
        send_and_read_to_close(&server, b"SET q 1\r\nQUIT\r\nSET q 2\r\n"),
        "+OK\r\n+OK\r\n"
    );
    assert_eq!(server.raw().q(&["GET", "q"]), "$1\r\n1\r\n");
}

#[test]
fn unknown_commands_and_arity_errors_keep_the_connection() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    raw.send(b"NOSUCH a b\r\nGET\r\nPING\r\n");
    raw.expect(b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
    raw.expect(b"-ERR wrong number of arguments for 'get' command\r\n");
    raw.expect(b"+PONG\r\n");
}

//! RESP parse and encode: the protocol work every request pays, without sockets.
//!
//! - **Parse**: a read buffer holding a pipeline (16 requests, or 1) is parsed with
//!   [`RequestParser::parse`] until it asks for more bytes, as the connection loop does after
//!   each read. Each iteration first copies the pipeline's bytes into the (reused) read buffer,
//!   standing in for the socket read; that memcpy is part of the figure. Figures are per
//!   request.
//! - **Encode**: [`Reply::encode`] of one reply into a reused output buffer, RESP2 and RESP3.
//!
//! Before timing, every case checks its result (requests parsed, bytes encoded), so the quick
//! run CI does is a smoke test too. `cargo bench --bench resp [-- FILTER]`.

mod common;

use bytes::{Bytes, BytesMut};
use common::{PerOp, Run, Table};
use corekv::protocol::{ParseLimits, Reply, RequestParser};

/// Requests per pipelined read in the parse cases (redis-benchmark's `-P 16`).
const PIPELINE: usize = 16;

fn main() {
    let run = Run::start(
        "resp",
        "RESP request parsing and reply encoding (protocol/, no I/O)",
    );
    parse_cases(&run);
    encode_cases(&run);
}

/// `*N\r\n$len\r\narg\r\n...` for one request.
fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `n` requests built by `one(i)`, back to back, and their expected arguments.
fn pipeline(n: usize, one: impl Fn(usize) -> Vec<Vec<u8>>) -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for i in 0..n {
        let args = one(i);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        bytes.extend_from_slice(&multibulk(&refs));
        expected.push(args);
    }
    (bytes, expected)
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:06}").into_bytes()
}

/// Parses everything in `buf`; returns the requests (the connection runs them next).
fn parse_all(
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Vec<Vec<Bytes>> {
    let mut out = Vec::with_capacity(PIPELINE);
    while let Some(req) = parser.parse(buf, limits, true).expect("valid input") {
        out.push(req.args);
    }
    out
}

/// One parse case: a read buffer's worth of requests and the arguments they must parse to.
struct ParseCase {
    name: &'static str,
    input: Vec<u8>,
    expected: Vec<Vec<Vec<u8>>>,
}

impl ParseCase {
    fn multibulk(name: &'static str, n: usize, one: impl Fn(usize) -> Vec<Vec<u8>>) -> Self {
        let (input, expected) = pipeline(n, one);
        ParseCase {
            name,
            input,
            expected,
        }
    }

    /// Inline requests: `line(i)` is the text of request `i` without CRLF.
    fn inline(name: &'static str, line: impl Fn(usize) -> String) -> Self {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..PIPELINE {
            let text = line(i);
            input.extend_from_slice(text.as_bytes());
            input.extend_from_slice(b"\r\n");
            expected.push(text.split(' ').map(|a| a.as_bytes().to_vec()).collect());
        }
        ParseCase {
            name,
            input,
            expected,
        }
    }
}

fn parse_cases(run: &Run) {
    let value16 = vec![b'v'; 16];
    let value1k = vec![b'v'; 1024];
    let set = |value: &Vec<u8>| {
        let value = value.clone();
        move |i| vec![b"SET".to_vec(), key(i), value.clone()]
    };
    let mset: Vec<Vec<u8>> = std::iter::once(b"MSET".to_vec())
        .chain((0..10).flat_map(|k| [key(k), value16.clone()]))
        .collect();
    let get = |i| vec![b"GET".to_vec(), key(i)];
    let cases = [
        ParseCase::multibulk("parse GET, pipeline 1", 1, get),
        ParseCase::multibulk("parse GET, pipeline 16", PIPELINE, get),
        ParseCase::multibulk("parse SET 16 B value, pipeline 16", PIPELINE, set(&value16)),
        ParseCase::multibulk(
            "parse SET 1 KiB value, pipeline 16",
            PIPELINE,
            set(&value1k),
        ),
        ParseCase::multibulk("parse MSET 10 keys, pipeline 16", PIPELINE, |_| {
            mset.clone()
        }),
        ParseCase::inline("parse inline PING, pipeline 16", |_| "PING".into()),
        ParseCase::inline("parse inline SET 16 B value, pipeline 16", |i| {
            format!("SET key:{i:06} {}", "v".repeat(16))
        }),
    ];
    let mut table = Table::new(
        "Parse (per request; includes copying the pipeline into the read buffer)",
        &PerOp::HEADERS,
    );
    let limits = ParseLimits::default();
    for case in cases {
        let (name, input, n) = (case.name, &case.input, case.expected.len());
        if !run.wants(name) {
            continue;
        }
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.extend_from_slice(input);
        let got = parse_all(&mut parser, &mut buf, &limits);
        assert_eq!(got, case.expected, "{name}: parsed requests");
        assert!(buf.is_empty(), "{name}: every byte consumed");
        let timing = run.per_op(|| {
            buf.extend_from_slice(input);
            let reqs = parse_all(&mut parser, &mut buf, &limits);
            debug_assert_eq!(reqs.len(), n);
            reqs.len()
        });
        table.push(timing.row(name, n as u64));
    }
    table.print();
}

fn encode_cases(run: &Run) {
    let bulk16 = Bytes::from(vec![b'v'; 16]);
    let bulk1k = Bytes::from(vec![b'v'; 1024]);
    let array10 = Reply::Array((0..10).map(|_| Reply::Bulk(bulk16.clone())).collect());
    let array10_wire = format!("*10\r\n{}", "$16\r\nvvvvvvvvvvvvvvvv\r\n".repeat(10));
    let pi = std::f64::consts::PI;
    // (case, reply, RESP2 bytes, RESP3 bytes)
    let cases: Vec<(&str, Reply, Vec<u8>, Vec<u8>)> = vec![
        (
            "simple string +OK",
            Reply::ok(),
            b"+OK\r\n".to_vec(),
            b"+OK\r\n".to_vec(),
        ),
        (
            "bulk 16 B",
            Reply::Bulk(bulk16.clone()),
            b"$16\r\nvvvvvvvvvvvvvvvv\r\n".to_vec(),
            b"$16\r\nvvvvvvvvvvvvvvvv\r\n".to_vec(),
        ),
        (
            "bulk 1 KiB",
            Reply::Bulk(bulk1k.clone()),
            [&b"$1024\r\n"[..], &bulk1k, b"\r\n"].concat(),
            [&b"$1024\r\n"[..], &bulk1k, b"\r\n"].concat(),
        ),
        ("nil", Reply::Nil, b"$-1\r\n".to_vec(), b"_\r\n".to_vec()),
        (
            "integer 1234567",
            Reply::Integer(1_234_567),
            b":1234567\r\n".to_vec(),
            b":1234567\r\n".to_vec(),
        ),
        (
            "array of 10 bulks (16 B)",
            array10,
            array10_wire.clone().into_bytes(),
            array10_wire.into_bytes(),
        ),
        (
            "double 3.14159... (%.17g)",
            Reply::Double(pi),
            b"$18\r\n3.1415926535897931\r\n".to_vec(),
            b",3.1415926535897931\r\n".to_vec(),
        ),
        (
            "double 1.5",
            Reply::Double(1.5),
            b"$3\r\n1.5\r\n".to_vec(),
            b",1.5\r\n".to_vec(),
        ),
    ];
    let mut table = Table::new("Encode (one reply into a reused buffer)", &PerOp::HEADERS);
    let mut out = BytesMut::with_capacity(64 * 1024);
    for (name, reply, resp2, resp3) in &cases {
        for (proto, wire) in [(2u8, resp2), (3u8, resp3)] {
            let case = format!("encode RESP{proto} {name}");
            if !run.wants(&case) {
                continue;
            }
            out.clear();
            reply.encode(proto, &mut out);
            assert_eq!(
                &out[..],
                &wire[..],
                "{case}: {:?}",
                String::from_utf8_lossy(&out)
            );
            let timing = run.per_op(|| {
                out.clear();
                reply.encode(proto, &mut out);
                out.len()
            });
            table.push(timing.row(&case, 1));
        }
    }
    table.print();
}

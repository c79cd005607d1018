use super::*;

/// What parsing a byte stream produced: the requests, the error that stopped it if any,
/// and how many bytes were left unconsumed.
#[derive(Debug, PartialEq)]
struct Outcome {
    requests: Vec<Request>,
    error: Option<ProtocolError>,
    leftover_bytes: usize,
}

/// Parses requests from `buf` until more bytes are needed or an error occurs.
fn drain(
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    limits: &ParseLimits,
    authenticated: bool,
    out: &mut Outcome,
) {
    while out.error.is_none() {
        match parser.parse(buf, limits, authenticated) {
            Ok(Some(request)) => out.requests.push(request),
            Ok(None) => break,
            Err(e) => out.error = Some(e),
        }
    }
    out.leftover_bytes = buf.len();
}

/// Feeds `input` in pieces ending at `cuts` (ascending), then the rest.
fn parse_split(input: &[u8], cuts: &[usize], limits: &ParseLimits, auth: bool) -> Outcome {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Outcome {
        requests: vec![],
        error: None,
        leftover_bytes: 0,
    };
    let mut fed = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        if out.error.is_some() {
            break;
        }
        buf.extend_from_slice(&input[fed..cut]);
        fed = cut;
        drain(&mut parser, &mut buf, limits, auth, &mut out);
    }
    out
}

fn parse_whole(input: &[u8]) -> Outcome {
    parse_split(input, &[], &ParseLimits::default(), true)
}

fn parse_bytewise(input: &[u8], limits: &ParseLimits, auth: bool) -> Outcome {
    let cuts: Vec<usize> = (1..input.len()).collect();
    parse_split(input, &cuts, limits, auth)
}

fn args_of(out: &Outcome) -> Vec<Vec<&[u8]>> {
    out.requests
        .iter()
        .map(|r| r.args.iter().map(|a| &a[..]).collect())
        .collect()
}

fn error_of(input: &[u8], limits: &ParseLimits, authenticated: bool) -> String {
    let out = parse_split(input, &[], limits, authenticated);
    out.error
        .map(|e| e.message())
        .unwrap_or_else(|| format!("no error: {out:?}"))
}

fn small_limits() -> ParseLimits {
    ParseLimits {
        max_inline_bytes: 16,
        max_bulk_bytes: 32,
        max_multibulk_len: 8,
    }
}

/// A tiny deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn encode_multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn multibulk_request() {
    let out = parse_whole(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    assert_eq!(args_of(&out), vec![vec![&b"SET"[..], b"k", b"hello"]]);
    assert!(!out.requests[0].inline);
    assert_eq!((out.error, out.leftover_bytes), (None, 0));
}

#[test]
fn multibulk_arguments_are_binary_safe_and_may_be_empty() {
    let out = parse_whole(b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n\r\n\0\xff\r\n");
    assert_eq!(args_of(&out), vec![vec![&b"SET"[..], b"", b"\r\n\0\xff"]]);
}

#[test]
fn inline_requests() {
    let out = parse_whole(b"PING\r\nSET k \"a b\"\nGET 'k'\r\n");
    assert_eq!(
        args_of(&out),
        vec![
            vec![&b"PING"[..]],
            vec![b"SET", b"k", b"a b"],
            vec![b"GET", b"k"]
        ]
    );
    assert!(out.requests.iter().all(|r| r.inline));
    assert_eq!(out.leftover_bytes, 0);
}

#[test]
fn inline_strips_only_one_cr_and_splits_on_inner_cr() {
    let out = parse_whole(b"a\r\r\nb\rc\n");
    assert_eq!(args_of(&out), vec![vec![&b"a"[..]], vec![b"b", b"c"]]);
}

#[test]
fn empty_requests_are_skipped() {
    let out = parse_whole(b"*0\r\n*-1\r\n\r\n\n   \t\r\n*-100\r\nPING\r\n*0\r\n");
    assert_eq!(args_of(&out), vec![vec![&b"PING"[..]]]);
    assert_eq!((out.error, out.leftover_bytes), (None, 0));
}

#[test]
fn incomplete_requests_wait_for_more_bytes() {
    for input in [
        &b"*"[..],
        b"*2",
        b"*2\r",
        b"*2\r\n$3",
        b"*2\r\n$3\r",
        b"*2\r\n$3\r\nGET",
        b"*2\r\n$3\r\nGET\r",
        b"*2\r\n$3\r\nGET\r\n",
        b"PING",
        b"PING\r",
        b"SET k \"unterminated",
    ] {
        let out = parse_whole(input);
        assert_eq!((out.requests.len(), out.error), (0, None), "{input:?}");
    }
}

#[test]
fn trailing_bytes_after_headers_and_payloads_are_skipped_unchecked() {
    let out = parse_whole(b"*1\rX$3\rYfooZZ*1\r\n$1\r\na\r\n");
    assert_eq!(args_of(&out), vec![vec![&b"foo"[..]], vec![b"a"]]);
}

#[test]
fn pipeline_of_many_requests() {
    let mut input = Vec::new();
    for i in 0..1000 {
        if i % 3 == 0 {
            input.extend_from_slice(format!("SET key{i} value{i}\r\n").as_bytes());
        } else {
            let key = format!("key{i}");
            input.extend_from_slice(&encode_multibulk(&[b"GET", key.as_bytes()]));
        }
    }
    let out = parse_whole(&input);
    assert_eq!(
        (out.requests.len(), out.error, out.leftover_bytes),
        (1000, None, 0)
    );
    assert_eq!(out.requests[999].args[1], Bytes::from("key999"));
    assert!(out.requests[999].inline);
    assert_eq!(out.requests[998].args[0], Bytes::from("GET"));
}

#[test]
fn byte_at_a_time_gives_the_same_result_as_whole() {
    let mut input = Vec::new();
    for i in 0..200 {
        let value = vec![b'v'; i * 7 % 300];
        input.extend_from_slice(&encode_multibulk(&[
            b"SET",
            format!("k{i}").as_bytes(),
            &value,
        ]));
        input.extend_from_slice(b"*0\r\nPING \"a\\x41\"\r\n\r\n");
    }
    let whole = parse_whole(&input);
    let bytewise = parse_bytewise(&input, &ParseLimits::default(), true);
    assert_eq!(whole.requests.len(), 400);
    assert_eq!(whole, bytewise);
}

#[test]
fn random_splits_give_the_same_result_as_whole() {
    let mut rng = Rng(7);
    let mut input = Vec::new();
    for i in 0..300u32 {
        let arg = vec![b'x'; rng.below(100)];
        input.extend_from_slice(&encode_multibulk(&[b"RPUSH", &i.to_be_bytes(), &arg]));
    }
    let whole = parse_whole(&input);
    for _ in 0..50 {
        let mut cuts: Vec<usize> = (0..rng.below(40)).map(|_| rng.below(input.len())).collect();
        cuts.sort_unstable();
        assert_eq!(
            parse_split(&input, &cuts, &ParseLimits::default(), true),
            whole
        );
    }
}

#[test]
fn multibulk_count_errors() {
    let d = ParseLimits::default();
    for input in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*-0\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999\r\n",
        b"*1\0\r\n",
    ] {
        assert_eq!(
            error_of(input, &d, true),
            "Protocol error: invalid multibulk length"
        );
    }
    assert_eq!(
        error_of(b"*9\r\n", &small_limits(), true),
        "Protocol error: invalid multibulk length"
    );
    let long = [&b"*"[..], &[b'1'; 64 * 1024]].concat();
    assert_eq!(
        error_of(&long, &d, true),
        "Protocol error: too big mbulk count string"
    );
    assert_eq!(parse_whole(&long[..64 * 1024]).error, None);
}

#[test]
fn unauthenticated_limits() {
    let d = ParseLimits::default();
    assert_eq!(
        error_of(b"*11\r\n", &d, false),
        "Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(
        error_of(b"*1\r\n$16385\r\n", &d, false),
        "Protocol error: unauthenticated bulk length"
    );
    // At the limits, and above them once authenticated, the requests are fine.
    let ten_args = encode_multibulk(&[&b"x"[..]; 10]);
    assert_eq!(parse_split(&ten_args, &[], &d, false).requests.len(), 1);
    let big_arg = encode_multibulk(&[&[b'a'; 16384][..]]);
    assert_eq!(parse_split(&big_arg, &[], &d, false).requests.len(), 1);
    let eleven_args = encode_multibulk(&[&b"x"[..]; 11]);
    assert_eq!(parse_split(&eleven_args, &[], &d, true).requests.len(), 1);
    // Invalid lengths are reported as invalid before they are reported as unauthenticated.
    assert_eq!(
        error_of(b"*2147483648\r\n", &d, false),
        "Protocol error: invalid multibulk length"
    );
    assert_eq!(
        error_of(b"*1\r\n$-5\r\n", &d, false),
        "Protocol error: invalid bulk length"
    );
    // Empty requests are skipped before AUTH too.
    assert_eq!(parse_split(b"*-1\r\n*0\r\n", &[], &d, false).error, None);
}

#[test]
fn bulk_errors() {
    let d = ParseLimits::default();
    for input in [
        &b"*1\r\n$-1\r\n"[..],
        b"*1\r\n$\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$01\r\n",
        b"*1\r\n$+1\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$99999999999999999999999\r\n",
    ] {
        assert_eq!(
            error_of(input, &d, true),
            "Protocol error: invalid bulk length",
            "{input:?}"
        );
    }
    assert_eq!(
        error_of(b"*1\r\n$33\r\n", &small_limits(), true),
        "Protocol error: invalid bulk length"
    );
    let long = [&b"*1\r\n$"[..], &[b'1'; 64 * 1024]].concat();
    assert_eq!(
        error_of(&long, &d, true),
        "Protocol error: too big bulk count string"
    );
    let long_no_dollar = [&b"*1\r\n"[..], &[b'x'; 64 * 1024 + 1]].concat();
    assert_eq!(
        error_of(&long_no_dollar, &d, true),
        "Protocol error: too big bulk count string"
    );
}

#[test]
fn expected_dollar_names_the_byte() {
    let d = ParseLimits::default();
    assert_eq!(
        error_of(b"*1\r\nfoo\r\n", &d, true),
        "Protocol error: expected '$', got 'f'"
    );
    assert_eq!(
        error_of(b"*2\r\n$1\r\na\r\n:1\r\n", &d, true),
        "Protocol error: expected '$', got ':'"
    );
    assert_eq!(
        error_of(b"*1\r\n\r\n", &d, true),
        "Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        error_of(b"*1\r\n\n\r\n", &d, true),
        "Protocol error: expected '$', got ' '"
    );
    let reply = ProtocolError::ExpectedDollar(0xff).to_reply();
    assert_eq!(
        reply,
        Reply::Error(Bytes::from_static(
            b"ERR Protocol error: expected '$', got '\xff'"
        ))
    );
}

#[test]
fn inline_errors() {
    let d = ParseLimits::default();
    assert_eq!(
        error_of(b"SET k \"v\r\n", &d, true),
        "Protocol error: unbalanced quotes in request"
    );
    assert_eq!(
        error_of(b"SET k 'v'x\n", &d, true),
        "Protocol error: unbalanced quotes in request"
    );
    let long = vec![b'a'; 64 * 1024 + 1];
    assert_eq!(
        error_of(&long, &d, true),
        "Protocol error: too big inline request"
    );
    // Exactly the limit, then its newline, is accepted.
    let at_limit = [&vec![b'a'; 64 * 1024][..], b"\n"].concat();
    assert_eq!(parse_whole(&at_limit).requests.len(), 1);
    // A line too long is refused even when its newline arrives in the same read.
    let over_limit = [&vec![b'a'; 64 * 1024 + 1][..], b"\n"].concat();
    assert_eq!(
        error_of(&over_limit, &d, true),
        "Protocol error: too big inline request"
    );
}

#[test]
fn every_error_message_and_reply() {
    let cases = [
        (
            ProtocolError::TooBigInlineRequest,
            "Protocol error: too big inline request",
        ),
        (
            ProtocolError::UnbalancedQuotes,
            "Protocol error: unbalanced quotes in request",
        ),
        (
            ProtocolError::TooBigMultibulkCount,
            "Protocol error: too big mbulk count string",
        ),
        (
            ProtocolError::InvalidMultibulkLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            ProtocolError::UnauthenticatedMultibulkLength,
            "Protocol error: unauthenticated multibulk length",
        ),
        (
            ProtocolError::TooBigBulkCount,
            "Protocol error: too big bulk count string",
        ),
        (
            ProtocolError::ExpectedDollar(b'x'),
            "Protocol error: expected '$', got 'x'",
        ),
        (
            ProtocolError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        ),
        (
            ProtocolError::UnauthenticatedBulkLength,
            "Protocol error: unauthenticated bulk length",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.message(), message);
        assert_eq!(error.to_string(), message);
        let mut wire = BytesMut::new();
        error.to_reply().encode(2, &mut wire);
        assert_eq!(&wire[..], format!("-ERR {message}\r\n").as_bytes());
    }
}

#[test]
fn claimed_lengths_allocate_nothing_up_front() {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nabc"[..]);
    let capacity_before = buf.capacity();
    assert_eq!(
        parser.parse(&mut buf, &ParseLimits::default(), true),
        Ok(None)
    );
    assert!(parser.args.capacity() <= MAX_PREALLOCATED_ARGS);
    assert_eq!(parser.bulk_len, Some(536_870_912));
    assert!(buf.capacity() <= capacity_before);
    assert_eq!(&buf[..], b"abc");
}

#[test]
fn a_line_arriving_byte_by_byte_is_scanned_once() {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let limits = ParseLimits::default();
    for n in 1..=1000 {
        buf.extend_from_slice(b"a");
        assert_eq!(parser.parse(&mut buf, &limits, true), Ok(None));
        assert_eq!(parser.scanned_bytes, n);
    }
    buf.extend_from_slice(b"\n");
    let request = parser
        .parse(&mut buf, &limits, true)
        .expect("valid")
        .expect("complete");
    assert_eq!(request.args[0].len(), 1000);
    assert_eq!(parser.scanned_bytes, 0);
}

#[test]
fn lengths_follow_string2ll() {
    let good: &[(&str, i64)] = &[
        ("0", 0),
        ("1", 1),
        ("-1", -1),
        ("1234567890", 1_234_567_890),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ];
    for &(text, n) in good {
        assert_eq!(string2ll(text.as_bytes()), Some(n), "{text}");
    }
    for text in [
        "",
        "-",
        "+1",
        "-0",
        "00",
        "01",
        " 1",
        "1 ",
        "1a",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "000000000000000000001",
        "1.0",
    ] {
        assert_eq!(string2ll(text.as_bytes()), None, "{text:?}");
    }
}

/// Random input: mostly protocol-significant bytes, so every branch is reached.
fn random_input(rng: &mut Rng) -> Vec<u8> {
    const ALPHABET: &[u8] = b"*$\r\n0123456789-+ \"'\\xaz:";
    (0..rng.below(64))
        .map(|_| {
            if rng.below(8) == 0 {
                rng.next() as u8
            } else {
                ALPHABET[rng.below(ALPHABET.len())]
            }
        })
        .collect()
}

/// A valid pipeline with a few bytes flipped, inserted or deleted.
fn mutated_input(rng: &mut Rng) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..1 + rng.below(4) {
        if rng.below(2) == 0 {
            let arg = vec![b'v'; rng.below(40)];
            input.extend_from_slice(&encode_multibulk(&[b"SET", b"key", &arg]));
        } else {
            input.extend_from_slice(b"SET key \"a\\x41 b\" 'c'\r\n");
        }
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(input.len());
        match rng.below(3) {
            0 => input[at] = rng.next() as u8,
            1 => input.insert(at, b"*$\r\n-9\"'"[rng.below(8)]),
            _ => {
                input.remove(at);
            }
        }
    }
    input
}

#[test]
fn random_and_mutated_input_never_panics_and_is_split_independent() {
    let mut rng = Rng(0x5EED);
    let limit_sets = [ParseLimits::default(), small_limits()];
    for round in 0..6000 {
        let input = if round % 2 == 0 {
            random_input(&mut rng)
        } else {
            mutated_input(&mut rng)
        };
        for limits in &limit_sets {
            for auth in [true, false] {
                let whole = parse_split(&input, &[], limits, auth);
                assert!(whole.requests.iter().all(|r| !r.args.is_empty()));
                let consumed = input.len() - whole.leftover_bytes;
                let arg_bytes: usize = whole
                    .requests
                    .iter()
                    .flat_map(|r| &r.args)
                    .map(Bytes::len)
                    .sum();
                assert!(arg_bytes <= consumed);
                if round % 4 < 2 {
                    let mut bytewise = parse_bytewise(&input, limits, auth);
                    if whole.error.is_some() {
                        // Fed piecemeal, the input after the error was never read.
                        bytewise.leftover_bytes = whole.leftover_bytes;
                    }
                    assert_eq!(bytewise, whole, "{input:?}");
                }
            }
        }
    }
}

/// The one-pass multibulk path against the general one.
#[path = "request_fast_tests.rs"]
mod fast;

//! The one-pass multibulk path (`fast_multibulk`) must accept and refuse exactly what the
//! general path does, and leave the parser's state as the general path expects.

use super::*;

#[test]
fn the_fast_path_forgets_a_header_the_general_path_had_scanned() {
    // `*1\r` is searched (its `\r` found at 2) but not complete; the rest then arrives and
    // the one-pass path takes the whole request. The next line must be searched from 0:
    // its `\n` sits at index 1, before where the first search stopped.
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r"[..]);
    let limits = ParseLimits::default();
    assert_eq!(parser.parse(&mut buf, &limits, true), Ok(None));
    buf.extend_from_slice(b"\n$4\r\nPING\r\na\n");
    let first = parser.parse(&mut buf, &limits, true).unwrap().unwrap();
    assert_eq!(first.args, vec![Bytes::from_static(b"PING")]);
    let second = parser.parse(&mut buf, &limits, true).unwrap().unwrap();
    assert_eq!(second.args, vec![Bytes::from_static(b"a")]);
    assert!(second.inline);
    assert!(buf.is_empty());
}

#[test]
fn the_fast_path_and_the_general_path_agree_on_every_header_shape() {
    // Both paths on the same inputs: whole (one pass when possible) and byte by byte
    // (always the general path). Shapes the one-pass path refuses to judge are included.
    let shapes: &[&[u8]] = &[
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*02\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*+2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$03\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$-3\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$3x\r\nGET\r\n$1\r\nk\r\n",
        b"*2\rX$3\rXGET\rX$1\rXk\rX",
        b"*17\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
        b"*1\r\n$0\r\n\r\n",
        b"*1\r\n$99999999999\r\nx\r\n",
        b"*11\r\n",
        b"*1\r\n$20000\r\n",
    ];
    for auth in [true, false] {
        for input in shapes {
            let whole = parse_split(input, &[], &ParseLimits::default(), auth);
            let bytewise = parse_bytewise(input, &ParseLimits::default(), auth);
            // (Leftover bytes differ after an error: byte-wise feeding stops there.)
            let shown = String::from_utf8_lossy(input);
            assert_eq!(
                whole.requests, bytewise.requests,
                "input {shown:?} auth {auth}"
            );
            assert_eq!(whole.error, bytewise.error, "input {shown:?} auth {auth}");
        }
    }
}

//! Is this reply what the command should get? Pure: one function per protocol.
//!
//! An error reply is counted (`errors`) and the run goes on: the server answered, and the
//! report says how often. A reply of the wrong *type* (a number for SET, an array for GET)
//! means the generator and the server disagree about the conversation, so every later latency
//! would be attributed to the wrong request: that fails the run.
//!
//! Over WebSocket (the text dialect) replies are JSON and an error is a bare string like
//! `"ERR ..."`: a string that starts with an upper-case word and a space is taken as an error
//! unless it is the exact reply expected. The values this generator writes are all `x`, so
//! GET of them never looks like an error; a `--command` whose data could, would be miscounted.

use super::workload::Expect;
use crate::resp::ReplyRef;

/// The outcome of one reply.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok,
    /// GET found no value (a nil reply): success, counted apart.
    Miss,
    /// An error reply, with its text (at most [`MAX_ERROR_TEXT`] bytes).
    Error(String),
    /// Not a reply this command can get: fails the run.
    Wrong(String),
}

/// How much of an error's text is kept.
pub const MAX_ERROR_TEXT: usize = 200;

fn text(bytes: &[u8]) -> String {
    let end = bytes.len().min(MAX_ERROR_TEXT);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

pub fn resp(expect: Expect, reply: &ReplyRef<'_>) -> Verdict {
    match (expect, reply) {
        (_, ReplyRef::Error(e)) => Verdict::Error(text(e)),
        (Expect::Ok, ReplyRef::Simple(b"OK")) => Verdict::Ok,
        (Expect::BulkOrNull, ReplyRef::Bulk(_)) => Verdict::Ok,
        (Expect::BulkOrNull, ReplyRef::Null) => Verdict::Miss,
        (Expect::Any, _) => Verdict::Ok,
        (_, other) => Verdict::Wrong(format!("{expect:?} expected, got {other:?}")),
    }
}

/// `payload` is one text frame's JSON.
pub fn ws(expect: Expect, payload: &[u8]) -> Verdict {
    let looks_like_error = is_error_string(payload);
    match expect {
        Expect::Ok if payload == b"\"OK\"" => Verdict::Ok,
        Expect::BulkOrNull if payload == b"null" => Verdict::Miss,
        _ if looks_like_error => Verdict::Error(text(&payload[1..payload.len() - 1])),
        Expect::BulkOrNull if payload.first() == Some(&b'"') => Verdict::Ok,
        Expect::Any => Verdict::Ok,
        _ => Verdict::Wrong(format!(
            "{expect:?} expected, got {:?}",
            String::from_utf8_lossy(&payload[..payload.len().min(MAX_ERROR_TEXT)])
        )),
    }
}

/// A JSON string `"CODE message..."`: an upper-case word, then a space.
fn is_error_string(payload: &[u8]) -> bool {
    if payload.len() < 2 || payload[0] != b'"' || payload[payload.len() - 1] != b'"' {
        return false;
    }
    let inner = &payload[1..payload.len() - 1];
    let word = inner.iter().take_while(|b| b.is_ascii_uppercase()).count();
    word > 0 && inner.get(word) == Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_replies() {
        assert_eq!(resp(Expect::Ok, &ReplyRef::Simple(b"OK")), Verdict::Ok);
        assert_eq!(resp(Expect::BulkOrNull, &ReplyRef::Bulk(b"x")), Verdict::Ok);
        assert_eq!(resp(Expect::BulkOrNull, &ReplyRef::Null), Verdict::Miss);
        assert_eq!(
            resp(Expect::Ok, &ReplyRef::Error(b"OOM no")),
            Verdict::Error("OOM no".into())
        );
        assert_eq!(
            resp(Expect::Any, &ReplyRef::Error(b"ERR x")),
            Verdict::Error("ERR x".into())
        );
        assert_eq!(resp(Expect::Any, &ReplyRef::Int(3)), Verdict::Ok);
        assert!(matches!(
            resp(Expect::Ok, &ReplyRef::Simple(b"QUEUED")),
            Verdict::Wrong(_)
        ));
        assert!(matches!(
            resp(Expect::Ok, &ReplyRef::Int(1)),
            Verdict::Wrong(_)
        ));
        let array = ReplyRef::Aggregate {
            kind: b'*',
            count: 0,
        };
        assert!(matches!(
            resp(Expect::BulkOrNull, &array),
            Verdict::Wrong(_)
        ));
    }

    #[test]
    fn ws_replies() {
        assert_eq!(ws(Expect::Ok, b"\"OK\""), Verdict::Ok);
        assert_eq!(ws(Expect::BulkOrNull, b"\"xxxx\""), Verdict::Ok);
        assert_eq!(ws(Expect::BulkOrNull, b"null"), Verdict::Miss);
        assert_eq!(
            ws(
                Expect::Ok,
                b"\"ERR wrong number of arguments for 'set' command\""
            ),
            Verdict::Error("ERR wrong number of arguments for 'set' command".into())
        );
        assert_eq!(
            ws(Expect::BulkOrNull, b"\"WRONGTYPE Operation\""),
            Verdict::Error("WRONGTYPE Operation".into())
        );
        assert_eq!(ws(Expect::Any, b"3"), Verdict::Ok);
        assert_eq!(ws(Expect::Any, b"\"OK\""), Verdict::Ok);
        assert!(matches!(ws(Expect::Ok, b"1"), Verdict::Wrong(_)));
        assert!(matches!(ws(Expect::BulkOrNull, b"[1]"), Verdict::Wrong(_)));
        assert!(matches!(ws(Expect::Ok, b"\"QUEUED\""), Verdict::Wrong(_)));
    }
}

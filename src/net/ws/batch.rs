//! From frames to requests, and from replies to frames, for one batch of a WebSocket
//! connection (the frames that had arrived when the connection woke up, up to
//! `max-pipeline-batch`, run as one pipeline like a RESP connection's read).
//!
//! - A text frame is one command (text dialect) or one envelope request; a blank one is
//!   skipped (no reply). One that cannot be read gets its error reply in its place.
//! - Binary frames are a RESP byte stream, exactly as a RESP connection reads its socket
//!   (a request may span frames); each complete request runs, and the replies to the requests
//!   of consecutive binary frames leave as one binary frame of raw RESP.
//! - `ABORT` is the WebSocket server's own command ([`super::abort`]), in any of the forms.
//!
//! Replies come back from the dispatcher in request order through [`Sink`], with any pushed
//! pub/sub frames in front of the reply they preceded, and [`Writer`] turns them into frames.

use async_tungstenite::tungstenite::Message;
use bytes::{Bytes, BytesMut};

use super::handshake::Dialect;
use crate::commands::dispatch::ReplySink;
use crate::protocol::json::{self, Style};
use crate::protocol::{ParseLimits, Reply, RequestParser, envelope, resp_value, ws_text};

/// Where a request came from, which decides how its reply is written.
#[derive(Clone, Debug)]
pub enum Origin {
    /// A text-dialect command line: a bare JSON reply.
    Text,
    /// An envelope request with its id (as JSON text).
    Envelope(Option<String>),
    /// A RESP request from a binary frame: a raw RESP reply.
    Binary,
}

/// One request of a batch, in arrival order.
pub enum Slot {
    /// Runs through the dispatcher (its arguments are in [`Batch::reqs`]).
    Run(Origin),
    /// ABORT.
    Abort(Origin),
    /// Answered without running: a request that could not be read.
    Ready(Origin, Reply),
}

/// The requests of one batch.
#[derive(Default)]
pub struct Batch {
    pub slots: Vec<Slot>,
    /// The arguments of the `Run` and `Abort` slots, in order.
    pub reqs: Vec<Vec<Bytes>>,
    /// The binary stream broke RESP's rules: answer, then close the connection (1002), as
    /// a RESP connection closes on a protocol error.
    pub fatal: bool,
}

/// A connection's reading state across batches.
pub struct Reader {
    pub dialect: Dialect,
    parser: RequestParser,
    /// Binary-frame bytes not yet forming a complete request.
    pub rbuf: BytesMut,
    pub limits: ParseLimits,
}

impl Reader {
    pub fn new(dialect: Dialect, limits: ParseLimits) -> Reader {
        Reader {
            dialect,
            parser: RequestParser::new(),
            rbuf: BytesMut::new(),
            limits,
        }
    }

    /// Adds one data frame's requests to `batch`. Control frames add nothing.
    pub fn add(&mut self, msg: &Message, authenticated: bool, batch: &mut Batch) {
        match msg {
            Message::Text(text) => self.add_text(text.as_str(), batch),
            Message::Binary(data) => self.add_binary(data, authenticated, batch),
            _ => {}
        }
    }

    fn add_text(&mut self, text: &str, batch: &mut Batch) {
        let (origin, parsed) = match self.dialect {
            // `/rwa` connections have their own loop (`super::rwa`) and never get here.
            Dialect::Text | Dialect::Rwa => (
                Origin::Text,
                ws_text::split_command(text.as_bytes()).map_err(|e| e.to_string()),
            ),
            Dialect::Envelope => match envelope::parse(text) {
                Ok(req) => (Origin::Envelope(req.id), Ok(req.args)),
                Err(bad) => (Origin::Envelope(bad.id), Err(bad.error)),
            },
        };
        match parsed {
            Ok(args) if args.is_empty() => {}
            Ok(args) => push(batch, origin, args.into_iter().map(Bytes::from).collect()),
            Err(e) => batch.slots.push(Slot::Ready(origin, Reply::error(e))),
        }
    }

    fn add_binary(&mut self, data: &[u8], authenticated: bool, batch: &mut Batch) {
        self.rbuf.extend_from_slice(data);
        loop {
            match self
                .parser
                .parse(&mut self.rbuf, &self.limits, authenticated)
            {
                Ok(Some(req)) => push(batch, Origin::Binary, req.args),
                Ok(None) => return,
                Err(e) => {
                    batch.slots.push(Slot::Ready(Origin::Binary, e.to_reply()));
                    batch.fatal = true;
                    return;
                }
            }
        }
    }
}

fn push(batch: &mut Batch, origin: Origin, args: Vec<Bytes>) {
    let slot = if args[0].eq_ignore_ascii_case(b"abort") {
        Slot::Abort(origin)
    } else {
        Slot::Run(origin)
    };
    batch.slots.push(slot);
    batch.reqs.push(args);
}

/// What the dispatcher produced, in order.
pub enum Out {
    /// The reply to the next request, with the protocol it was produced under.
    Reply(Reply, u8),
    /// Pub/sub frames (RESP bytes) queued before that reply.
    Pushes(Bytes),
}

/// The dispatcher's [`ReplySink`] for a WebSocket batch: keeps values, encodes nothing.
#[derive(Default)]
pub struct Sink(pub Vec<Out>);

impl ReplySink for Sink {
    fn push(&mut self, reply: Reply, proto: u8) {
        self.0.push(Out::Reply(reply, proto));
    }

    fn push_outbox(&mut self, outbox: &crate::pubsub::Outbox) {
        if !outbox.is_empty() {
            let mut frames = BytesMut::new();
            outbox.drain_into(&mut frames);
            self.0.push(Out::Pushes(frames.freeze()));
        }
    }
}

/// Builds the frames of a batch's replies and pushes.
pub struct Writer {
    dialect: Dialect,
    pub msgs: Vec<Message>,
    /// Raw RESP waiting to leave as one binary frame.
    bin: BytesMut,
    /// Bytes in `msgs` (for INFO's output counter).
    pub bytes: usize,
}

impl Writer {
    pub fn new(dialect: Dialect) -> Writer {
        Writer {
            dialect,
            msgs: Vec::new(),
            bin: BytesMut::new(),
            bytes: 0,
        }
    }

    fn text(&mut self, json: Vec<u8>) {
        self.flush_binary();
        self.bytes += json.len();
        let text = String::from_utf8(json)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.msgs.push(Message::Text(text.into()));
    }

    fn flush_binary(&mut self) {
        if !self.bin.is_empty() {
            let frame = self.bin.split().freeze();
            self.bytes += frame.len();
            self.msgs.push(Message::Binary(frame));
        }
    }

    /// The reply to a request from `origin`, encoded as RESP `proto` for binary requests.
    pub fn reply(&mut self, origin: &Origin, reply: &Reply, proto: u8) {
        match origin {
            Origin::Binary => reply.encode(proto, &mut self.bin),
            Origin::Text => match reply {
                // Several replies to one command (SUBSCRIBE a b): one frame each, as Redis
                // sends one confirmation per channel.
                Reply::Seq(replies) => {
                    for r in replies {
                        self.reply(origin, r, proto);
                    }
                }
                r => {
                    let mut out = Vec::new();
                    json::write_value(r, Style::Bare, &mut out);
                    self.text(out);
                }
            },
            Origin::Envelope(id) => {
                let mut out = Vec::new();
                json::envelope(id.as_deref(), reply, &mut out);
                self.text(out);
            }
        }
    }

    /// Queued pub/sub frames: raw in a binary frame when `binary` (the client's last request
    /// was binary), otherwise one JSON text frame per message.
    pub fn pushes(&mut self, frames: &[u8], binary: bool) {
        if binary {
            self.bin.extend_from_slice(frames);
            return;
        }
        for push in resp_value::decode_all(frames) {
            let mut out = Vec::new();
            match self.dialect {
                Dialect::Text | Dialect::Rwa => json::write_value(&push, Style::Bare, &mut out),
                Dialect::Envelope => json::envelope_push(&push, &mut out),
            }
            self.text(out);
        }
    }

    /// The frames, in order.
    pub fn finish(mut self) -> (Vec<Message>, usize) {
        self.flush_binary();
        (self.msgs, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(dialect: Dialect, msgs: &[Message]) -> Batch {
        let mut reader = Reader::new(dialect, ParseLimits::default());
        let mut batch = Batch::default();
        for m in msgs {
            reader.add(m, true, &mut batch);
        }
        batch
    }

    #[test]
    fn frames_become_requests() {
        let b = batch_of(
            Dialect::Text,
            &[
                Message::text("SET k v"),
                Message::text("   "),
                Message::text("GET \"k"),
                Message::text("abort"),
                Message::binary(&b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET"[..]),
                Message::binary(&b"\r\n$1\r\nk\r\n"[..]),
            ],
        );
        assert_eq!(b.reqs.len(), 4);
        assert!(matches!(b.slots[0], Slot::Run(Origin::Text)));
        assert!(matches!(b.slots[1], Slot::Ready(Origin::Text, _)));
        assert!(matches!(b.slots[2], Slot::Abort(Origin::Text)));
        assert!(matches!(b.slots[3], Slot::Run(Origin::Binary)));
        assert!(matches!(b.slots[4], Slot::Run(Origin::Binary)));
        assert_eq!(b.reqs[3], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert!(!b.fatal);
    }

    #[test]
    fn envelope_errors_keep_their_id() {
        let b = batch_of(Dialect::Envelope, &[Message::text(r#"{"id":9,"cmd":"x"}"#)]);
        match &b.slots[0] {
            Slot::Ready(Origin::Envelope(Some(id)), Reply::Error(_)) => assert_eq!(id, "9"),
            _ => panic!("expected an error slot"),
        }
    }

    #[test]
    fn broken_resp_is_fatal() {
        let b = batch_of(Dialect::Text, &[Message::binary(&b"*1\r\n$x\r\n"[..])]);
        assert!(b.fatal);
    }

    #[test]
    fn writer_frames() {
        let mut w = Writer::new(Dialect::Text);
        w.reply(&Origin::Binary, &Reply::ok(), 2);
        w.reply(&Origin::Binary, &Reply::Integer(1), 2);
        w.reply(
            &Origin::Text,
            &Reply::Seq(vec![Reply::Integer(1), Reply::Integer(2)]),
            2,
        );
        w.pushes(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n", false);
        w.reply(
            &Origin::Envelope(Some("1".into())),
            &Reply::error("ERR x"),
            2,
        );
        let (msgs, _) = w.finish();
        assert_eq!(
            msgs,
            vec![
                Message::binary(&b"+OK\r\n:1\r\n"[..]),
                Message::text("1"),
                Message::text("2"),
                Message::text(r#"["message","c","p"]"#),
                Message::text(r#"{"id":1,"err":"ERR x"}"#),
            ]
        );
    }
}

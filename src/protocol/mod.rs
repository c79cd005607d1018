//! The Redis wire protocol, as pure functions over bytes: no I/O, no shared state.
//!
//! - [`request`]: bytes from a client → [`Request`]s (RESP multibulk and inline), with
//!   Redis's limits and `Protocol error` messages.
//! - [`inline`]: the `sdssplitargs` tokenizer behind inline requests and the WebSocket text
//!   dialect.
//! - [`reply`]: [`Reply`] values → RESP2 or RESP3 bytes.
//! - [`double`]: the text of doubles, as Redis prints and parses them.
//! - [`ws_text`], [`envelope`]: WebSocket requests (a command line with JSON arguments; JSON
//!   envelopes); [`json`]: replies as JSON; [`base64`]: how JSON carries non-UTF-8 bytes;
//!   [`resp_value`]: encoded replies read back into values; [`rwa`]: the
//!   redis_websocket_api dialect's requests and envelopes, written by [`pyjson`] as Python's
//!   `json.dumps` writes them.
//!
//! The connection owns a `BytesMut` of input and a [`RequestParser`]; it calls
//! [`RequestParser::parse`] until `Ok(None)`, runs each request, and encodes each reply with
//! the protocol version chosen by `HELLO`.

pub mod base64;
pub mod double;
pub mod envelope;
pub mod inline;
pub mod json;
pub mod pyjson;
pub mod reply;
pub mod request;
pub mod resp_value;
pub mod rwa;
pub mod ws_text;

pub use double::{double_text, format_double, format_incrbyfloat, parse_double, reply_double_text};
pub use inline::split_args;
pub use reply::Reply;
pub use request::{ParseLimits, ProtocolError, Request, RequestParser};

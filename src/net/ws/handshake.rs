//! The HTTP/1.1 side of a WebSocket connection (RFC 6455 §4): read the request head, decide,
//! answer `101 Switching Protocols` or a small, correct HTTP error, never a hang or a reset.
//!
//! The decision ([`decide`]) is a pure function of the parsed head and the server's rules, so
//! every rule is unit-tested here:
//! - not `GET`: `405`; a `GET` that is not a WebSocket upgrade (a browser, `curl`, a health
//!   check): `426 Upgrade Required` with a one-line explanation;
//! - `Sec-WebSocket-Version` other than 13: `426` with `Sec-WebSocket-Version: 13`; no valid
//!   `Sec-WebSocket-Key`: `400`;
//! - `Origin` (sent by browsers): allowed when absent, when its host is the `Host` header's
//!   host (ports aside; all loopback names count as one host), or when listed in
//!   `ws-allowed-origins` (`*` for any); otherwise `403`;
//! - the dialect: the path `/rwa` (any query) is the redis_websocket_api dialect; elsewhere
//!   subprotocol `corekv.v1` or `?format=envelope` choose the envelope dialect,
//!   `?format=text` (or nothing) the text dialect; any other path is accepted (`/`, `/ws`).

use std::io;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

/// Largest request head accepted (request line and headers); a larger one gets `431`.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers parsed.
const MAX_HEADERS: usize = 64;
/// The envelope dialect's subprotocol name.
pub const SUBPROTOCOL: &str = "corekv.v1";

/// How a connection's text frames are read and its replies written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// A command line per frame; bare JSON replies (DiceDB's format).
    Text,
    /// JSON requests with ids; `{"id":..,"ok":..}` / `{"id":..,"err":..}` replies.
    Envelope,
    /// The redis_websocket_api dialect at `/rwa` (`super::rwa`): GET / SUB / DEL / PING and
    /// the geo commands, every frame an envelope.
    Rwa,
}

/// The path that serves the redis_websocket_api dialect.
pub const RWA_PATH: &str = "/rwa";

/// The parts of a request head the decision reads.
#[derive(Debug, Default)]
pub struct Head {
    pub method: String,
    pub path: String,
    /// Header (name lower-cased, value) pairs, in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Comma-separated tokens of every header called `name`, trimmed.
    fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Upgrade {
        accept_key: String,
        dialect: Dialect,
        /// The subprotocol to confirm, if the client offered ours.
        subprotocol: Option<&'static str>,
        /// The request came through a proxy (Forwarded / X-Forwarded-For / X-Real-IP), so
        /// the peer address is the proxy's, not the client's.
        proxied: bool,
    },
    Refuse {
        status: u16,
        reason: &'static str,
        /// Extra header lines (each ending in CRLF).
        headers: &'static str,
        body: String,
    },
}

fn refuse(status: u16, reason: &'static str, body: impl Into<String>) -> Decision {
    Decision::Refuse {
        status,
        reason,
        headers: "",
        body: body.into(),
    }
}

/// Decides on a parsed request head, given `ws-allowed-origins`.
pub fn decide(head: &Head, allowed_origins: &str) -> Decision {
    let upgrade = head
        .tokens("upgrade")
        .any(|t| t.eq_ignore_ascii_case("websocket"));
    let connection_upgrade = head
        .tokens("connection")
        .any(|t| t.eq_ignore_ascii_case("upgrade"));
    if head.method != "GET" {
        return Decision::Refuse {
            status: 405,
            reason: "Method Not Allowed",
            headers: "Allow: GET\r\n",
            body: "corekv: this port speaks WebSocket; open it with a GET upgrade request\n".into(),
        };
    }
    if !upgrade || !connection_upgrade {
        return Decision::Refuse {
            status: 426,
            reason: "Upgrade Required",
            headers: "Upgrade: websocket\r\nConnection: Upgrade\r\n",
            body: "corekv: this port speaks WebSocket (ws://host:port/); for RESP use the Redis port\n".into(),
        };
    }
    if head.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Decision::Refuse {
            status: 426,
            reason: "Upgrade Required",
            headers: "Sec-WebSocket-Version: 13\r\n",
            body: "corekv: only WebSocket version 13 is supported\n".into(),
        };
    }
    let key = head
        .header("sec-websocket-key")
        .map(str::trim)
        .unwrap_or("");
    if crate::protocol::base64::decode(key.as_bytes()).map(|k| k.len()) != Some(16) {
        return refuse(
            400,
            "Bad Request",
            "corekv: missing or invalid Sec-WebSocket-Key\n",
        );
    }
    if let Some(origin) = head.header("origin")
        && !origin_allowed(
            origin.trim(),
            head.header("host").unwrap_or(""),
            allowed_origins,
        )
    {
        return refuse(
            403,
            "Forbidden",
            format!("corekv: Origin {origin} is not allowed\n"),
        );
    }
    let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| head.header(h).is_some());
    if head.path.split('?').next() == Some(RWA_PATH) {
        // The package's clients offer no subprotocol; one offered is not confirmed.
        return Decision::Upgrade {
            accept_key: tungstenite_accept(key),
            dialect: Dialect::Rwa,
            subprotocol: None,
            proxied,
        };
    }
    let offered = head
        .tokens("sec-websocket-protocol")
        .any(|p| p == SUBPROTOCOL);
    let format = query_param(&head.path, "format");
    let dialect = match (offered, format.as_deref()) {
        (true, _) | (_, Some("envelope")) => Dialect::Envelope,
        (false, None | Some("text")) => Dialect::Text,
        (false, Some(other)) => {
            return refuse(
                400,
                "Bad Request",
                format!("corekv: unknown format '{other}' (text or envelope)\n"),
            );
        }
    };
    Decision::Upgrade {
        accept_key: tungstenite_accept(key),
        dialect,
        subprotocol: offered.then_some(SUBPROTOCOL),
        proxied,
    }
}

fn tungstenite_accept(key: &str) -> String {
    async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
}

/// The value of `name` in the path's query string (no percent-decoding: values are words).
fn query_param(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_ascii_lowercase())
}

/// The host part of `authority` (`host[:port]`, `[v6]:port`), lower-cased.
fn host_of(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        a.rsplit_once(':').map_or(a, |(h, _)| h)
    };
    host.to_ascii_lowercase()
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Same host as the `Host` header (any port; all loopback names alike), or listed.
fn origin_allowed(origin: &str, host_header: &str, allowed: &str) -> bool {
    if allowed
        .split_whitespace()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let authority = authority.split('/').next().unwrap_or("");
    let (origin_host, server_host) = (host_of(authority), host_of(host_header));
    if origin_host.is_empty() || server_host.is_empty() {
        return false;
    }
    origin_host == server_host || (is_loopback_name(&origin_host) && is_loopback_name(&server_host))
}

/// The request head is not valid HTTP/1.1.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// Parses a head: `Ok(None)` while incomplete, else the head and its length in bytes.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let head = Head {
                method: req.method.unwrap_or("").to_string(),
                path: req.path.unwrap_or("/").to_string(),
                headers: req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            };
            Ok(Some((head, len)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(Malformed),
    }
}

/// Reads a request head. `Ok(Some((head, rest)))` with the bytes after it; `Ok(None)` when
/// the peer closed first; an HTTP refusal when it is malformed or too large.
pub async fn read_head(stream: &mut TcpStream) -> io::Result<Result<(Head, Vec<u8>), Decision>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_head(&buf) {
            Ok(Some((head, len))) => return Ok(Ok((head, buf[len..].to_vec()))),
            Ok(None) if buf.len() > MAX_HEAD_BYTES => {
                return Ok(Err(refuse(
                    431,
                    "Request Header Fields Too Large",
                    "corekv: request head too large\n",
                )));
            }
            Ok(None) => {}
            Err(Malformed) => {
                return Ok(Err(refuse(
                    400,
                    "Bad Request",
                    "corekv: malformed HTTP request\n",
                )));
            }
        }
    }
}

/// Writes a refusal (`Connection: close`) and closes the stream.
pub async fn send_refusal(stream: &mut TcpStream, d: &Decision) -> io::Result<()> {
    if let Decision::Refuse {
        status,
        reason,
        headers,
        body,
    } = d
    {
        let text = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(text.as_bytes()).await?;
        stream.flush().await?;
    }
    stream.close().await
}

/// Writes `101 Switching Protocols`.
pub async fn send_upgrade(
    stream: &mut TcpStream,
    accept_key: &str,
    subprotocol: Option<&str>,
) -> io::Result<()> {
    let protocol = subprotocol
        .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept_key}\r\n{protocol}\r\n"
    );
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn head(method: &str, path: &str, extra: &[(&str, &str)]) -> Head {
        let mut headers = vec![
            ("host".to_string(), "127.0.0.1:8379".to_string()),
            ("upgrade".to_string(), "websocket".to_string()),
            ("connection".to_string(), "keep-alive, Upgrade".to_string()),
            ("sec-websocket-version".to_string(), "13".to_string()),
            ("sec-websocket-key".to_string(), KEY.to_string()),
        ];
        for (n, v) in extra {
            headers.retain(|(h, _)| h != n);
            headers.push((n.to_string(), v.to_string()));
        }
        Head {
            method: method.into(),
            path: path.into(),
            headers,
        }
    }

    fn status(d: &Decision) -> u16 {
        match d {
            Decision::Upgrade { .. } => 101,
            Decision::Refuse { status, .. } => *status,
        }
    }

    #[test]
    fn rfc6455_accept_key() {
        match decide(&head("GET", "/", &[]), "") {
            Decision::Upgrade {
                accept_key,
                dialect,
                subprotocol,
                proxied,
            } => {
                assert_eq!(accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                assert_eq!(dialect, Dialect::Text);
                assert_eq!(subprotocol, None);
                assert!(!proxied);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_http_gets_an_answer() {
        let mut plain = head("GET", "/", &[]);
        plain.headers.retain(|(n, _)| n == "host");
        assert_eq!(status(&decide(&plain, "")), 426);
        assert_eq!(status(&decide(&head("POST", "/", &[]), "")), 405);
        let v8 = head("GET", "/", &[("sec-websocket-version", "8")]);
        assert_eq!(status(&decide(&v8, "")), 426);
        let nokey = head("GET", "/", &[("sec-websocket-key", "short")]);
        assert_eq!(status(&decide(&nokey, "")), 400);
    }

    #[test]
    fn origins() {
        let with = |origin: &str, allowed: &str| {
            status(&decide(&head("GET", "/", &[("origin", origin)]), allowed))
        };
        assert_eq!(
            with("http://127.0.0.1:3000", ""),
            101,
            "same host, other port"
        );
        assert_eq!(
            with("http://localhost:3000", ""),
            101,
            "loopback names are one host"
        );
        assert_eq!(with("https://evil.example", ""), 403);
        assert_eq!(with("null", ""), 403);
        assert_eq!(with("https://app.example", "https://app.example"), 101);
        assert_eq!(with("https://APP.example", "https://app.example"), 101);
        assert_eq!(with("https://evil.example", "*"), 101);
        let named = Head {
            headers: vec![("host".into(), "db.example:8379".into())],
            ..head("GET", "/", &[("origin", "https://db.example")])
        };
        let mut named_full = head("GET", "/", &[("origin", "https://db.example")]);
        named_full.headers.retain(|(n, _)| n != "host");
        named_full.headers.extend(named.headers);
        assert_eq!(status(&decide(&named_full, "")), 101);
    }

    #[test]
    fn dialects() {
        let dialect = |h: Head| match decide(&h, "") {
            Decision::Upgrade {
                dialect,
                subprotocol,
                ..
            } => (dialect, subprotocol),
            other => panic!("{other:?}"),
        };
        assert_eq!(dialect(head("GET", "/ws", &[])), (Dialect::Text, None));
        assert_eq!(
            dialect(head("GET", "/?format=envelope", &[])),
            (Dialect::Envelope, None)
        );
        assert_eq!(
            dialect(head(
                "GET",
                "/",
                &[("sec-websocket-protocol", "x, corekv.v1")]
            )),
            (Dialect::Envelope, Some(SUBPROTOCOL))
        );
        assert_eq!(status(&decide(&head("GET", "/?format=xml", &[]), "")), 400);
        assert_eq!(dialect(head("GET", "/rwa", &[])), (Dialect::Rwa, None));
        assert_eq!(
            dialect(head(
                "GET",
                "/rwa?format=envelope",
                &[("sec-websocket-protocol", "corekv.v1")]
            )),
            (Dialect::Rwa, None)
        );
        assert_eq!(dialect(head("GET", "/rwa/x", &[])), (Dialect::Text, None));
    }

    #[test]
    fn proxies_are_noticed() {
        match decide(&head("GET", "/", &[("x-forwarded-for", "10.0.0.1")]), "") {
            Decision::Upgrade { proxied, .. } => assert!(proxied),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_heads() {
        let raw = b"GET /ws?format=envelope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nextra";
        let (h, len) = parse_head(raw).expect("valid").expect("complete");
        assert_eq!(h.path, "/ws?format=envelope");
        assert_eq!(h.header("upgrade"), Some("websocket"));
        assert_eq!(&raw[len..], b"extra");
        assert!(
            parse_head(b"GET / HTTP/1.1\r\nHost")
                .expect("valid")
                .is_none()
        );
        assert!(parse_head(b"\x00\x01 nonsense\r\n\r\n").is_err());
    }
}

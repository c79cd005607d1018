//! A WebSocket test client (the synchronous `tungstenite` client over a std `TcpStream`) and a
//! raw one for what a well-behaved client library refuses to do (invalid UTF-8, no pongs).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How long a read waits before the test fails.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Ws {
    pub ws: WebSocket<TcpStream>,
    /// The `Sec-WebSocket-Protocol` the server confirmed, if any.
    pub protocol: Option<String>,
}

/// Connects to `ws://127.0.0.1:port{path}` with extra request headers.
pub fn try_connect(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .expect("request");
    for (name, value) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(tungstenite::Error::Io)?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    let config = WebSocketConfig::default().max_message_size(None);
    let (ws, resp) = tungstenite::client::client_with_config(req, stream, Some(config)).map_err(
        |e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
            }
        },
    )?;
    let protocol = resp
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap_or("").to_string());
    Ok(Ws { ws, protocol })
}

impl Ws {
    /// The text dialect on `/`.
    pub fn connect(port: u16) -> Ws {
        try_connect(port, "/", &[]).expect("WebSocket connect")
    }

    /// The envelope dialect through the `corekv.v1` subprotocol.
    pub fn envelope(port: u16) -> Ws {
        let ws = try_connect(port, "/", &[("Sec-WebSocket-Protocol", "corekv.v1")])
            .expect("WebSocket connect");
        assert_eq!(ws.protocol.as_deref(), Some("corekv.v1"));
        ws
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send");
    }

    pub fn send_binary(&mut self, data: &[u8]) {
        self.ws.send(Message::binary(data.to_vec())).expect("send");
    }

    /// The next data or close message (pings are answered by tungstenite and skipped).
    pub fn recv(&mut self) -> Message {
        loop {
            match self.ws.read() {
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(m) => return m,
                Err(e) => panic!("WebSocket read: {e}"),
            }
        }
    }

    /// The next text message, parsed as JSON.
    pub fn recv_json(&mut self) -> Value {
        match self.recv() {
            Message::Text(t) => serde_json::from_str(t.as_str())
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", t.as_str())),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Sends one command line and returns its JSON reply.
    pub fn cmd(&mut self, line: &str) -> Value {
        self.send_text(line);
        self.recv_json()
    }

    /// The close frame's code that ends the connection (reading until it comes).
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.ws.read() {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return None;
                }
                Err(e) => panic!("expected a close frame, got error {e}"),
            }
        }
    }
}

/// A WebSocket connection driven by hand: the upgrade request and frames as raw bytes.
pub struct RawWs {
    pub stream: TcpStream,
}

impl RawWs {
    /// Sends an upgrade request with `extra` header lines; returns the response head.
    pub fn upgrade(port: u16, extra: &str) -> (RawWs, String) {
        RawWs::upgrade_at(port, "/", extra)
    }

    /// [`RawWs::upgrade`] on `path`.
    pub fn upgrade_at(port: u16, path: &str, extra: &str) -> (RawWs, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        );
        stream.write_all(req.as_bytes()).expect("write");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut b) {
                Ok(1) => head.push(b[0]),
                _ => break,
            }
        }
        (
            RawWs { stream },
            String::from_utf8_lossy(&head).into_owned(),
        )
    }

    /// Sends one masked frame with `opcode` (1 text, 2 binary, 9 ping, 10 pong).
    pub fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut f = vec![0x80 | opcode];
        let len = payload.len();
        if len < 126 {
            f.push(0x80 | len as u8);
        } else if len < 65536 {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = [1u8, 2, 3, 4];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&f).expect("write frame");
    }

    /// Reads one unmasked server frame: (opcode, payload); `None` at EOF.
    pub fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut h = [0u8; 2];
        self.stream.read_exact(&mut h).ok()?;
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut l = [0u8; 2];
            self.stream.read_exact(&mut l).ok()?;
            len = u64::from(u16::from_be_bytes(l));
        } else if len == 127 {
            let mut l = [0u8; 8];
            self.stream.read_exact(&mut l).ok()?;
            len = u64::from_be_bytes(l);
        }
        let mut payload = vec![0u8; len as usize];
        self.stream.read_exact(&mut payload).ok()?;
        Some((h[0] & 0x0f, payload))
    }

    /// The close code of the next close frame (skipping other frames); `None` at EOF.
    pub fn close_code(&mut self) -> Option<u16> {
        while let Some((op, payload)) = self.read_frame() {
            if op == 8 {
                return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
        None
    }
}

/// A plain HTTP request to the WebSocket port; returns everything the server sent before
/// closing.
pub fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

//! A client of the redis_websocket_api dialect at `/rwa` (tests/rwa.rs, tests/rwa_geo.rs):
//! every frame read is checked to be an envelope exactly as the package writes it.

use serde_json::{Value, json};
use tungstenite::Message;

use super::ws::{Ws, try_connect};

pub struct Rwa {
    pub ws: Ws,
}

impl Rwa {
    /// Connects to `/rwa` and checks the open envelope.
    pub fn connect(port: u16) -> Rwa {
        let ws = try_connect(port, "/rwa", &[]).expect("WebSocket connect to /rwa");
        assert_eq!(ws.protocol, None, "/rwa confirms no subprotocol");
        let mut c = Rwa { ws };
        let open = c.recv();
        assert_eq!(open["source"], "websocket");
        assert_eq!(open["content"], json!({"status": "open"}));
        assert_eq!(open["client_reference"], Value::Null);
        c
    }

    pub fn send(&mut self, text: &str) {
        self.ws.send_text(text);
    }

    /// The next frame's text, unchecked.
    pub fn recv_text(&mut self) -> String {
        match self.ws.recv() {
            Message::Text(t) => t.as_str().to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next envelope: `{"source", "content", "timestamp", "client_reference"}` in that
    /// order, with Python's separators, ASCII only, and the timestamp now in epoch
    /// milliseconds as a float.
    pub fn recv(&mut self) -> Value {
        let text = self.recv_text();
        assert!(text.is_ascii(), "json.dumps escapes non-ASCII: {text}");
        assert!(text.starts_with("{\"source\": "), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let keys: Vec<&str> = v
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["source", "content", "timestamp", "client_reference"],
            "{text}"
        );
        let ts = v["timestamp"].as_f64().expect("a number");
        assert!(
            v["timestamp"].is_f64(),
            "a float, as Python writes it: {text}"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64()
            * 1000.0;
        assert!(
            (now - ts).abs() < 60_000.0,
            "epoch milliseconds: {ts} vs {now}"
        );
        assert!(
            text.contains(", \"timestamp\": ") && text.ends_with('}'),
            "{text}"
        );
        v
    }

    /// Sends a request and returns the first envelope that answers it.
    pub fn call(&mut self, text: &str) -> Value {
        self.send(text);
        self.recv()
    }

    /// PING, and the next frame must be its PONG: nothing else was queued before it.
    pub fn sync(&mut self) {
        let pong = self.call("PING");
        assert_eq!(
            (pong["source"].as_str(), pong["content"].as_str()),
            (Some("websocket"), Some("PONG")),
            "expected nothing before the PONG, got {pong}"
        );
        assert_eq!(pong["client_reference"], Value::Null);
    }

    /// The next envelope must be an error envelope; returns its content.
    pub fn recv_error(&mut self) -> Value {
        let e = self.recv();
        assert_eq!(e["source"], "error", "{e}");
        assert!(e["content"]["error"].is_string(), "{e}");
        e["content"].clone()
    }
}

/// A GeoJSON Feature of `ty` with `coordinates`, as text.
pub fn feature(ty: &str, coordinates: Value) -> String {
    json!({"type": "Feature", "properties": {"id": 1},
        "geometry": {"type": ty, "coordinates": coordinates}})
    .to_string()
}

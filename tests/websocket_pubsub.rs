//! Pub/sub over WebSocket (both directions with RESP, on any cores) and ABORT.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::ws::{Ws, try_connect};
use common::{Raw, Server};
use serde_json::json;
use tungstenite::Message;

/// Reads one RESP push/array of bulk strings from a subscribed RESP connection.
fn resp_message(raw: &mut Raw) -> Vec<String> {
    common::Resp::parse(&raw.read_reply())
        .items()
        .iter()
        .map(|i| match i {
            common::Resp::Int(n) => n.to_string(),
            other => other.text(),
        })
        .collect()
}

#[test]
fn resp_publisher_reaches_websocket_subscribers_on_every_core() {
    let s = Server::start(4, &[]);
    // Enough subscribers that the kernel spreads them over the four cores.
    let mut subs: Vec<Ws> = (0..12).map(|_| Ws::connect(s.ws_port)).collect();
    for ws in subs.iter_mut() {
        assert_eq!(ws.cmd("SUBSCRIBE news"), json!(["subscribe", "news", 1]));
    }
    let mut raw = s.raw();
    assert_eq!(raw.q(&["PUBLISH", "news", "hello"]), common::int(12));
    for ws in subs.iter_mut() {
        assert_eq!(ws.recv_json(), json!(["message", "news", "hello"]));
    }
    // Several channels in one SUBSCRIBE: one confirmation frame each.
    let ws = &mut subs[0];
    ws.send_text("SUBSCRIBE a b");
    assert_eq!(ws.recv_json(), json!(["subscribe", "a", 2]));
    assert_eq!(ws.recv_json(), json!(["subscribe", "b", 3]));
    // Commands other than (un)subscribe are refused in RESP2 subscribed mode, as in Redis.
    let refused = ws.cmd("GET x");
    assert!(
        refused
            .as_str()
            .is_some_and(|e| e.starts_with("ERR Can't execute 'get'")),
        "{refused}"
    );
    assert_eq!(ws.cmd("UNSUBSCRIBE b"), json!(["unsubscribe", "b", 2]));
    // Non-UTF-8 payloads arrive as base64.
    raw.cmd(&[b"PUBLISH", b"a", b"\xff"]);
    raw.expect(b":1\r\n");
    assert_eq!(
        subs[0].recv_json(),
        json!(["message", "a", {"b64": "/w=="}])
    );
}

#[test]
fn patterns_and_shard_channels() {
    let s = Server::start(4, &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(
        ws.cmd("PSUBSCRIBE user.*"),
        json!(["psubscribe", "user.*", 1])
    );
    let mut sws = Ws::connect(s.ws_port);
    assert_eq!(
        sws.cmd("SSUBSCRIBE orders"),
        json!(["ssubscribe", "orders", 1])
    );
    let mut raw = s.raw();
    assert_eq!(raw.q(&["PUBLISH", "user.42", "hi"]), common::int(1));
    assert_eq!(
        ws.recv_json(),
        json!(["pmessage", "user.*", "user.42", "hi"])
    );
    assert_eq!(raw.q(&["SPUBLISH", "orders", "o1"]), common::int(1));
    assert_eq!(sws.recv_json(), json!(["smessage", "orders", "o1"]));
    assert_eq!(
        ws.cmd("PUNSUBSCRIBE user.*"),
        json!(["punsubscribe", "user.*", 0])
    );
    assert_eq!(
        sws.cmd("SUNSUBSCRIBE orders"),
        json!(["sunsubscribe", "orders", 0])
    );
    assert_eq!(raw.q(&["PUBLISH", "user.42", "gone"]), common::int(0));
}

#[test]
fn websocket_publisher_reaches_resp_subscribers() {
    let s = Server::start(4, &[]);
    let mut subs: Vec<Raw> = (0..8).map(|_| s.raw()).collect();
    for raw in subs.iter_mut() {
        raw.cmd(&[b"SUBSCRIBE", b"events"]);
        assert_eq!(resp_message(raw), ["subscribe", "events", "1"]);
    }
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("PUBLISH events \"from ws\""), json!(8));
    for raw in subs.iter_mut() {
        assert_eq!(resp_message(raw), ["message", "events", "from ws"]);
    }
    // And WebSocket to WebSocket, envelope dialect: pushes are {"push": [...]}.
    let mut env = Ws::envelope(s.ws_port);
    assert_eq!(
        env.cmd(r#"{"id":1,"cmd":["SUBSCRIBE","events"]}"#),
        json!({"id": 1, "ok": [["subscribe", "events", 1]]})
    );
    assert_eq!(ws.cmd("PUBLISH events x"), json!(9));
    assert_eq!(env.recv_json(), json!({"push": ["message", "events", "x"]}));
}

#[test]
fn binary_subscribers_get_raw_resp_pushes() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    ws.send_binary(&common::encode(&[b"SUBSCRIBE", b"c"]));
    assert_eq!(
        ws.recv(),
        Message::binary(&b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"[..])
    );
    let mut raw = s.raw();
    assert_eq!(raw.q(&["PUBLISH", "c", "p"]), common::int(1));
    assert_eq!(
        ws.recv(),
        Message::binary(&b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n"[..])
    );
}

/// True once nothing accepts connections on the port.
fn refused(port: u16) -> bool {
    match TcpStream::connect(("127.0.0.1", port)) {
        Err(_) => true,
        Ok(mut s) => {
            // A listener that is closing may still complete the TCP handshake; it then
            // resets or closes without an HTTP answer.
            s.set_read_timeout(Some(Duration::from_millis(500))).ok();
            let mut b = [0u8; 1];
            matches!(s.read(&mut b), Ok(0) | Err(_))
        }
    }
}

#[test]
fn abort_stops_the_websocket_server_on_every_core_and_resp_keeps_serving() {
    let s = Server::start(4, &[]);
    let mut others: Vec<Ws> = (0..8).map(|_| Ws::connect(s.ws_port)).collect();
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("SET k v"), json!("OK"));
    assert_eq!(ws.cmd("abort"), json!("OK"));
    assert_eq!(ws.close_code(), Some(1001));
    for o in others.iter_mut() {
        assert_eq!(o.close_code(), Some(1001));
    }
    for _ in 0..20 {
        assert!(
            refused(s.ws_port),
            "the WebSocket port still accepts after ABORT"
        );
    }
    let mut raw = s.raw();
    assert_eq!(raw.q(&["GET", "k"]), common::bulk("v"));
    // ABORT is not a Redis command.
    assert!(
        raw.q(&["ABORT"])
            .starts_with("-ERR unknown command 'ABORT'")
    );
}

#[test]
fn abort_can_be_forbidden() {
    let s = Server::start(2, &["--ws-abort", "no"]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(
        ws.cmd("ABORT"),
        json!("ERR ABORT is disabled on this server (ws-abort no)")
    );
    assert_eq!(ws.cmd("PING"), json!("PONG"));
    let mut again = Ws::connect(s.ws_port);
    assert_eq!(again.cmd("PING"), json!("PONG"));
    // CONFIG SET allows it at runtime.
    let mut raw = s.raw();
    assert_eq!(raw.q(&["CONFIG", "SET", "ws-abort", "yes"]), common::OK);
    assert_eq!(ws.cmd("ABORT"), json!("OK"));
}

#[test]
fn abort_through_a_proxy_is_refused_without_a_password() {
    let s = Server::start(2, &[]);
    let mut ws =
        try_connect(s.ws_port, "/", &[("X-Forwarded-For", "203.0.113.9")]).expect("connect");
    let refused = ws.cmd("ABORT");
    assert!(
        refused
            .as_str()
            .is_some_and(|e| e.contains("only allowed from a loopback client")),
        "{refused}"
    );
    assert_eq!(ws.cmd("PING"), json!("PONG"));
}

#[test]
fn abort_with_a_password_needs_auth() {
    let s = Server::start_with_password(2, "s3cret", &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("ABORT"), json!("NOAUTH Authentication required."));
    assert_eq!(ws.cmd("GET k"), json!("NOAUTH Authentication required."));
    assert_eq!(
        ws.cmd("AUTH wrong"),
        json!("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(ws.cmd("AUTH s3cret"), json!("OK"));
    assert_eq!(ws.cmd("GET k"), serde_json::Value::Null);
    assert_eq!(ws.cmd("ABORT"), json!("OK"));
    assert_eq!(ws.close_code(), Some(1001));
    assert!(refused(s.ws_port));
}

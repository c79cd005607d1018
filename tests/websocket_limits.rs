//! The WebSocket interface's limits and security rules, each a named option: message size,
//! UTF-8, Origin, AUTH, slow readers, pings, the handshake deadline, plain HTTP, port clashes.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ws::{RawWs, Ws, http, try_connect};
use common::{Server, TempDir};
use serde_json::json;

#[test]
fn oversized_messages_close_with_1009() {
    let s = Server::start(1, &["--ws-max-message-bytes", "4096"]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd(&format!("SET k {}", "x".repeat(4000))), json!("OK"));
    ws.send_text(&format!("SET k {}", "x".repeat(5000)));
    assert_eq!(ws.close_code(), Some(1009));
    // Binary frames too.
    let mut ws = Ws::connect(s.ws_port);
    ws.send_binary(&vec![b'*'; 5000]);
    assert_eq!(ws.close_code(), Some(1009));
    // The default is 16 MiB, and CONFIG SET changes it for new connections.
    let mut raw = s.raw();
    assert_eq!(
        raw.q(&["CONFIG", "SET", "ws-max-message-bytes", "1mb"]),
        common::OK
    );
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(
        ws.cmd(&format!("SET k {}", "y".repeat(500_000))),
        json!("OK")
    );
}

#[test]
fn invalid_utf8_text_closes_with_1007() {
    let s = Server::start(1, &[]);
    let (mut raw, head) = RawWs::upgrade(s.ws_port, "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    raw.send_frame(1, b"SET k \xff\xfe");
    assert_eq!(raw.close_code(), Some(1007));
}

#[test]
fn origins_are_checked() {
    let s = Server::start(1, &["--ws-allowed-origins", "https://app.example"]);
    let (_, head) = RawWs::upgrade(s.ws_port, "Origin: https://evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    for ok in [
        "",
        "Origin: http://127.0.0.1:3000\r\n",
        "Origin: http://localhost\r\n",
        "Origin: https://app.example\r\n",
    ] {
        let (_, head) = RawWs::upgrade(s.ws_port, ok);
        assert!(head.starts_with("HTTP/1.1 101"), "{ok}: {head}");
    }
    assert!(try_connect(s.ws_port, "/", &[("Origin", "https://evil.example")]).is_err());
}

#[test]
fn requirepass_makes_auth_the_first_message() {
    let s = Server::start_with_password(2, "pw", &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("SET k v"), json!("NOAUTH Authentication required."));
    assert_eq!(ws.cmd("AUTH pw"), json!("OK"));
    assert_eq!(ws.cmd("SET k v"), json!("OK"));
    let mut env = Ws::envelope(s.ws_port);
    assert_eq!(
        env.cmd(r#"{"id":1,"cmd":["GET","k"]}"#),
        json!({"id": 1, "err": "NOAUTH Authentication required."})
    );
    assert_eq!(
        env.cmd(r#"{"id":2,"cmd":["AUTH","pw"]}"#),
        json!({"id": 2, "ok": "OK"})
    );
    assert_eq!(
        env.cmd(r#"{"id":3,"cmd":["GET","k"]}"#),
        json!({"id": 3, "ok": "v"})
    );
}

#[test]
fn slow_subscribers_are_disconnected() {
    let s = Server::start(1, &["--ws-max-output-bytes", "65536"]);
    let (mut slow, head) = RawWs::upgrade(s.ws_port, "");
    assert!(head.starts_with("HTTP/1.1 101"));
    slow.send_frame(1, b"SUBSCRIBE firehose");
    assert!(slow.read_frame().is_some(), "confirmation");
    // Stop reading; publish far more than the socket buffers and the cap hold.
    let mut raw = s.raw();
    let payload = "p".repeat(16 * 1024);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = raw.call(&["PUBLISH", "firehose", &payload]).int();
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slow subscriber never disconnected"
        );
    }
    let stats = common::info_fields(&mut raw, "stats");
    assert!(
        stats["client_output_buffer_limit_disconnections"]
            .parse::<u64>()
            .unwrap()
            >= 1,
        "{stats:?}"
    );
}

#[test]
fn peers_that_do_not_answer_pings_are_disconnected() {
    let s = Server::start(
        1,
        &[
            "--ws-ping-interval-ms",
            "200",
            "--ws-pong-timeout-ms",
            "300",
        ],
    );
    let (mut mute, head) = RawWs::upgrade(s.ws_port, "");
    assert!(head.starts_with("HTTP/1.1 101"));
    let started = Instant::now();
    let (op, _) = mute.read_frame().expect("a ping");
    assert_eq!(op, 9, "the server pings an idle client");
    // No pong: the connection is cut.
    while mute.read_frame().is_some() {}
    assert!(started.elapsed() < Duration::from_secs(4));
    // A client that answers pings (tungstenite does, while reading) stays.
    let mut ws = Ws::connect(s.ws_port);
    ws.ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        match ws.ws.read() {
            Ok(tungstenite::Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("connection lost: {e}"),
        }
    }
    assert!(pings >= 2, "pings: {pings}");
    ws.ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(ws.cmd("PING"), json!("PONG"));
}

#[test]
fn handshakes_have_a_deadline() {
    let s = Server::start(1, &["--ws-handshake-timeout-ms", "300"]);
    let mut idle = TcpStream::connect(("127.0.0.1", s.ws_port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut b = [0u8; 64];
    assert!(matches!(idle.read(&mut b), Ok(0) | Err(_)));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn plain_http_gets_a_small_correct_answer() {
    let s = Server::start(1, &[]);
    let resp = http(s.ws_port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(
        resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{resp}"
    );
    let (head, body) = resp.split_once("\r\n\r\n").expect("head and body");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(body.len(), len);
    assert!(http(s.ws_port, "POST / HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 405"));
    assert!(http(s.ws_port, "garbage\x00\r\n\r\n").starts_with("HTTP/1.1 400"));
    let resp = http(
        s.ws_port,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert!(
        resp.starts_with("HTTP/1.1 426") && resp.contains("Sec-WebSocket-Version: 13"),
        "{resp}"
    );
    // The server is unharmed.
    assert_eq!(Ws::connect(s.ws_port).cmd("PING"), json!("PONG"));
}

#[test]
fn maxclients_counts_websocket_connections_too() {
    let s = Server::start(1, &[]);
    let mut raw = s.raw();
    assert_eq!(raw.q(&["CONFIG", "SET", "maxclients", "1"]), common::OK);
    let resp = http(
        s.ws_port,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    assert!(resp.contains("max number of clients reached"), "{resp}");
    assert_eq!(raw.q(&["CONFIG", "SET", "maxclients", "10"]), common::OK);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("PING"), json!("PONG"));
    let clients = common::info_fields(&mut raw, "clients");
    assert_eq!(clients["connected_clients"], "2", "{clients:?}");
}

/// Runs corekv expecting it to exit by itself within a few seconds: (exit code, stderr).
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let dir = TempDir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--shards", "1", "--no-pin", "--log-level", "warn", "--dir"])
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("corekv {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ws_port_clashes_are_clear_errors() {
    let s = Server::start(2, &[]);
    let taken = s.ws_port.to_string();
    let (code, stderr) = run_to_exit(&["--port", "0", "--ws-port", &taken]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("WebSocket port") && stderr.contains("Address already in use"),
        "{stderr}"
    );
    let (code, stderr) = run_to_exit(&["--port", "7777", "--ws-port", "7777"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--ws-port 7777 is also the RESP --port"),
        "{stderr}"
    );
    // The first server still owns its port.
    assert_eq!(Ws::connect(s.ws_port).cmd("PING"), json!("PONG"));
}

#[test]
fn ws_port_zero_disables_and_options_are_config_parameters() {
    let s = Server::start(1, &["--ws-port", "0"]);
    let mut raw = s.raw();
    assert_eq!(
        raw.q(&["CONFIG", "GET", "ws-port"]),
        common::arr(&[common::bulk("ws-port"), common::bulk("0")])
    );
    let all = raw.call(&["CONFIG", "GET", "ws-*"]);
    let names: Vec<String> = all.items().iter().step_by(2).map(|n| n.text()).collect();
    for name in [
        "ws-port",
        "ws-max-message-bytes",
        "ws-abort",
        "ws-allowed-origins",
        "ws-ping-interval-ms",
        "ws-pong-timeout-ms",
        "ws-handshake-timeout-ms",
        "ws-max-output-bytes",
    ] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }
    assert!(
        raw.q(&["CONFIG", "SET", "ws-port", "9"])
            .contains("can't set immutable config")
    );
}

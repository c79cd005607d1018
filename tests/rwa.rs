//! The redis_websocket_api dialect at `/rwa`: envelopes, GET / SUB / DEL / PING, the
//! allow-list, pub/sub with RESP and the other WebSocket dialects, errors where the package
//! hangs up, and the timeouts. Geo commands are in tests/rwa_geo.rs.

mod common;

use std::time::{Duration, Instant};

use common::rwa::Rwa;
use common::ws::{RawWs, Ws};
use common::{Server, int, key_on_shard};
use serde_json::{Value, json};

const ALL: &[&str] = &["--rwa-allow-channels", "*"];

#[test]
fn open_envelope_ping_and_exact_text() {
    let s = Server::start(1, ALL);
    let mut c = Rwa::connect(s.ws_port);
    c.send("PING");
    let text = c.recv_text();
    let (head, rest) = text.split_at(text.find(", \"timestamp\": ").expect("timestamp"));
    assert_eq!(head, r#"{"source": "websocket", "content": "PONG""#);
    let ts = rest
        .trim_start_matches(", \"timestamp\": ")
        .split(',')
        .next()
        .expect("number");
    assert!(
        ts.contains('.'),
        "a float with its fraction, as Python prints it: {ts}"
    );
    assert!(text.ends_with(r#", "client_reference": null}"#), "{text}");
    // PING takes any positional arguments, and no client reference.
    let pong = c.call("PING these are ignored");
    assert_eq!(pong["content"], "PONG");
    assert_eq!(pong["client_reference"], Value::Null);
}

#[test]
fn get_reads_hashes_on_both_shards() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    let (k0, k1) = (key_on_shard("h", 0, 2), key_on_shard("h", 1, 2));
    for k in [&k0, &k1] {
        assert_eq!(
            raw.q(&["HSET", k, "a", r#"{"n": 1}"#, "b", "[1, 2.5, \"é\"]"]),
            int(2)
        );
    }
    let mut c = Rwa::connect(s.ws_port);
    for k in [&k0, &k1] {
        c.send(&format!("GET {k}"));
        let (first, second) = (c.recv(), c.recv());
        assert_eq!(first["source"], k.as_str());
        assert_eq!(first["content"], json!({"n": 1}));
        assert_eq!(second["content"], json!([1, 2.5, "é"]));
        assert_eq!(first["client_reference"], Value::Null);
        c.sync();
        let one = c.call(&format!("GET {k} a"));
        assert_eq!(one["source"], format!("{k} a"));
        assert_eq!(one["content"], json!({"n": 1}));
    }
    // Absent: one envelope with null content, from the key (and field).
    let none = c.call(&format!("GET {k0} zz"));
    assert_eq!(
        (none["source"].clone(), none["content"].clone()),
        (json!(format!("{k0} zz")), Value::Null)
    );
    let none = c.call("GET nohash");
    assert_eq!(
        (none["source"].clone(), none["content"].clone()),
        (json!("nohash"), Value::Null)
    );
    // The client reference, positional or by keyword, is echoed on every frame.
    assert_eq!(
        c.call(&format!("GET {k0} a cref"))["client_reference"],
        "cref"
    );
    assert_eq!(
        c.call(&format!("GET {k0} a client_ref=x1"))["client_reference"],
        "x1"
    );
    c.send(&format!("GET {k1} client_ref=x2"));
    assert_eq!(c.recv()["client_reference"], "x2");
    assert_eq!(c.recv()["client_reference"], "x2");
    assert_eq!(c.call("GET nohash client_ref=x3")["client_reference"], "x3");
    c.sync();
    // The text is json.dumps's: ", " and ": ", non-ASCII escaped.
    c.send(&format!("GET {k0} b"));
    let text = c.recv_text();
    assert!(text.contains(r#""content": [1, 2.5, "\u00e9"]"#), "{text}");
}

#[test]
fn allow_list_default_deny_star_and_globs() {
    let s = Server::start(1, &[]);
    let mut raw = s.raw();
    raw.q(&["HSET", "news:h", "f", "1"]);
    let mut c = Rwa::connect(s.ws_port);
    // Default: nothing is allowed.
    c.send("SUB news:a");
    assert_eq!(c.recv_error()["channel"], "news:a");
    let e = c.call("GET news:h client_ref=r");
    assert_eq!(
        (e["source"].as_str(), e["client_reference"].as_str()),
        (Some("error"), Some("r"))
    );
    c.sync();
    assert_eq!(
        raw.q(&["PUBLISH", "news:a", "1"]),
        int(0),
        "the denied SUB subscribed nothing"
    );
    // Globs, changed at runtime.
    assert_eq!(
        raw.q(&["CONFIG", "SET", "rwa-allow-channels", "news:* alerts"]),
        common::OK
    );
    c.send("SUB news:a");
    c.send("SUB alerts");
    c.send("SUB other");
    assert_eq!(c.recv_error()["channel"], "other");
    c.sync();
    assert_eq!(raw.q(&["PUBLISH", "news:a", "1"]), int(1));
    assert_eq!(raw.q(&["PUBLISH", "alerts", "2"]), int(1));
    assert_eq!(c.recv()["content"], 1);
    assert_eq!(c.recv()["content"], 2);
    assert_eq!(c.call("GET news:h f")["content"], 1);
    // DEL needs no permission and answers nothing.
    c.send("DEL other");
    c.send("DEL news:a");
    c.sync();
    assert_eq!(raw.q(&["PUBLISH", "news:a", "1"]), int(0));
    // `*` allows everything, the empty channel name too.
    raw.q(&["CONFIG", "SET", "rwa-allow-channels", "*"]);
    c.send("SUB channel_name=");
    c.sync();
    assert_eq!(raw.q(&["PUBLISH", "", "3"]), int(1));
    assert_eq!(c.recv()["source"], "");
    let listed = raw.q(&["CONFIG", "GET", "rwa-*"]);
    for name in [
        "rwa-allow-channels",
        "rwa-read-timeout-ms",
        "rwa-keep-alive-timeout-ms",
    ] {
        assert!(listed.contains(name), "{name} in {listed}");
    }
}

#[test]
fn repeated_flag_and_config_file() {
    let s = Server::start(
        1,
        &["--rwa-allow-channels", "a*", "--rwa-allow-channels", "b?"],
    );
    let mut raw = s.raw();
    assert_eq!(
        raw.q(&["CONFIG", "GET", "rwa-allow-channels"]),
        common::arr(&[common::bulk("rwa-allow-channels"), common::bulk("a* b?")])
    );
    let dir = common::TempDir::new();
    let conf = dir.path().join("corekv.conf");
    std::fs::write(
        &conf,
        "rwa-allow-channels x* y*\nrwa-read-timeout-ms 5000\n",
    )
    .expect("write");
    let s = Server::start(1, &["--config", conf.to_str().expect("path")]);
    let mut raw = s.raw();
    assert_eq!(
        raw.q(&["CONFIG", "GET", "rwa-allow-channels"]),
        common::arr(&[common::bulk("rwa-allow-channels"), common::bulk("x* y*")])
    );
    assert_eq!(
        raw.q(&["CONFIG", "GET", "rwa-read-timeout-ms"]),
        common::arr(&[common::bulk("rwa-read-timeout-ms"), common::bulk("5000")])
    );
}

#[test]
fn pubsub_across_protocols_and_cores() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    // Channels owned by each shard, subscribers spread over both cores.
    let (c0, c1) = (key_on_shard("ch", 0, 2), key_on_shard("ch", 1, 2));
    let mut subs: Vec<Rwa> = (0..6).map(|_| Rwa::connect(s.ws_port)).collect();
    for c in subs.iter_mut() {
        c.send(&format!("SUB {c0}"));
        c.send(&format!("SUB {c1}"));
        c.sync();
    }
    // A RESP subscriber alongside.
    let mut resp = s.raw();
    resp.cmd(&[b"SUBSCRIBE", c0.as_bytes()]);
    let _ = resp.read_reply();
    assert_eq!(
        raw.q(&["PUBLISH", &c0, r#"{"a": [1, {"b": null}]}"#]),
        int(7)
    );
    assert_eq!(raw.q(&["PUBLISH", &c1, "\"text\""]), int(6));
    for c in subs.iter_mut() {
        let m = c.recv();
        assert_eq!(m["source"], c0.as_str());
        assert_eq!(m["content"], json!({"a": [1, {"b": null}]}));
        assert_eq!(m["client_reference"], Value::Null);
        let m = c.recv();
        assert_eq!(
            (m["source"].as_str(), m["content"].as_str()),
            (Some(c1.as_str()), Some("text"))
        );
    }
    let got = common::Resp::parse(&resp.read_reply());
    assert_eq!(got.items()[2].text(), r#"{"a": [1, {"b": null}]}"#);
    // From the text WebSocket dialect too.
    let mut text_ws = Ws::connect(s.ws_port);
    assert_eq!(text_ws.cmd(&format!("PUBLISH {c1} 42")), json!(6));
    for c in subs.iter_mut() {
        assert_eq!(c.recv()["content"], 42);
    }
    // NUMSUB counts /rwa subscribers; DEL and closing uncount them.
    assert_eq!(
        raw.q(&["PUBSUB", "NUMSUB", &c1]),
        common::arr(&[common::bulk(&c1), int(6)])
    );
    subs[0].send(&format!("DEL {c1}"));
    subs[0].sync();
    drop(subs.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw.q(&["PUBSUB", "NUMSUB", &c1]) != common::arr(&[common::bulk(&c1), int(4)]) {
        assert!(
            Instant::now() < deadline,
            "a closed /rwa connection is uncounted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Order of one publisher's messages is kept.
    for i in 0..50 {
        raw.q(&["PUBLISH", &c0, &i.to_string()]);
    }
    for i in 0..50 {
        assert_eq!(subs[1].recv()["content"], i);
    }
}

#[test]
fn errors_where_the_package_hangs_up() {
    let s = Server::start(1, ALL);
    let mut raw = s.raw();
    let mut c = Rwa::connect(s.ws_port);
    // Bad arguments: an error envelope quoting the request; the connection stays.
    for bad in [
        "GET",
        "GET a b c d",
        "SUB",
        "SUB a b",
        "DEL",
        "PING x=1",
        "BBOX 1 2",
        "BBOX 1 2 3 x",
        "PROJECTION",
        "GET a foo=bar",
    ] {
        let e = c.recv_error_after(bad);
        assert_eq!(e["request"], bad);
    }
    let e = c.call("GET a nope=1 client_ref=r7");
    assert_eq!(
        (e["source"].as_str(), e["client_reference"].as_str()),
        (Some("error"), Some("r7"))
    );
    // Unknown commands (case matters) and binary frames are ignored, as by the package.
    c.send("get a");
    c.send("HGETALL a");
    c.send("");
    c.ws.send_binary(b"GET a");
    c.sync();
    // A message that is not JSON: an error envelope naming the channel.
    c.send("SUB ch");
    c.sync();
    raw.q(&["PUBLISH", "ch", "not json"]);
    raw.q(&["PUBLISH", "ch", "{\"ok\": true}"]);
    let e = c.recv_error();
    assert_eq!(e["channel"], "ch");
    assert!(
        e["error"]
            .as_str()
            .expect("text")
            .contains("not valid JSON"),
        "{e}"
    );
    assert_eq!(c.recv()["content"], json!({"ok": true}));
    // A hash value that is not JSON, and a key of the wrong type: an error, then the null
    // envelope GET always ends with.
    raw.q(&["HSET", "h", "bad", "{oops"]);
    raw.q(&["SET", "str", "x"]);
    for (req, source) in [
        ("GET h bad r1", "h bad"),
        ("GET h client_ref=r1", "h"),
        ("GET str client_ref=r1", "str"),
    ] {
        c.send(req);
        let e = c.recv();
        assert_eq!(
            (e["source"].as_str(), e["client_reference"].as_str()),
            (Some("error"), Some("r1")),
            "{req}"
        );
        let null = c.recv();
        assert_eq!(
            (null["source"].as_str(), &null["content"]),
            (Some(source), &Value::Null),
            "{req}"
        );
    }
    c.send("GET str");
    assert!(
        c.recv_error()["error"]
            .as_str()
            .expect("text")
            .starts_with("WRONGTYPE")
    );
    assert_eq!(c.recv()["content"], Value::Null);
    c.sync();
}

trait RecvErrorAfter {
    fn recv_error_after(&mut self, req: &str) -> Value;
}

impl RecvErrorAfter for Rwa {
    fn recv_error_after(&mut self, req: &str) -> Value {
        self.send(req);
        self.recv_error()
    }
}

#[test]
fn keep_alive_timeout_closes_with_1000() {
    let s = Server::start(1, &["--rwa-keep-alive-timeout-ms", "300"]);
    let start = Instant::now();
    let mut c = Rwa::connect(s.ws_port);
    c.sync();
    assert_eq!(c.ws.close_code(), Some(1000));
    assert!(start.elapsed() >= Duration::from_millis(300));
    // Other dialects are not affected.
    let mut plain = Ws::connect(s.ws_port);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(plain.cmd("PING"), json!("PONG"));
}

#[test]
fn read_timeout_checks_a_silent_peer() {
    let s = Server::start(
        1,
        &[
            "--rwa-read-timeout-ms",
            "200",
            "--ws-ping-interval-ms",
            "0",
            "--ws-pong-timeout-ms",
            "300",
        ],
    );
    // A raw peer that never answers pings: pinged after the read timeout, then cut.
    let (mut raw, head) = RawWs::upgrade_at(s.ws_port, "/rwa", "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (op, open) = raw.read_frame().expect("open envelope");
    assert_eq!(op, 1);
    assert!(String::from_utf8_lossy(&open).contains(r#""status": "open""#));
    let start = Instant::now();
    let (op, _) = raw.read_frame().expect("a ping");
    assert_eq!(op, 9, "a ping after rwa-read-timeout-ms idle");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        raw.read_frame(),
        None,
        "no pong within ws-pong-timeout-ms: disconnected"
    );
    // A live but silent client answers the pings (tungstenite does, while reading) and stays.
    let mut c = Rwa::connect(s.ws_port);
    let stream = c.ws.ws.get_mut();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        match c.ws.ws.read() {
            Ok(tungstenite::Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("connection lost: {e}"),
        }
    }
    assert!(pings >= 2, "pings: {pings}");
    c.ws.ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.sync();
}

#[test]
fn client_list_shows_rwa_subscriptions() {
    let s = Server::start(1, ALL);
    let mut c = Rwa::connect(s.ws_port);
    c.send("SUB a");
    c.send("SUB b");
    c.send("SUB a");
    c.sync();
    let list = s.raw().q(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=P") && list.contains("sub=2"), "{list}");
}

//! The WebSocket interface's dialects against a real server: DiceDB's text dialect (the
//! seed's examples, every reply type, quoting and JSON arguments), multi-shard commands, the
//! envelope dialect, and raw RESP in binary frames.

mod common;

use common::ws::{Ws, try_connect};
use common::{OK, Server};
use serde_json::{Value, json};
use tungstenite::Message;

#[test]
fn the_seeds_examples() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    // wscat -c ws://localhost:8379 / SET foo bar / GET foo
    assert_eq!(ws.cmd("SET foo bar"), json!("OK"));
    assert_eq!(ws.cmd("GET foo"), json!("bar"));
    // ws.send('SET mykey "Hello, WebSocket!"') on ws://host:port/ws
    let mut ws2 = try_connect(s.ws_port, "/ws", &[]).expect("connect /ws");
    assert_eq!(ws2.cmd(r#"SET mykey "Hello, WebSocket!""#), json!("OK"));
    assert_eq!(ws2.cmd("GET mykey"), json!("Hello, WebSocket!"));
    // Same data as RESP sees it.
    let mut raw = s.raw();
    assert_eq!(raw.q(&["GET", "mykey"]), common::bulk("Hello, WebSocket!"));
}

#[test]
fn every_reply_type() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("PING"), json!("PONG"));
    assert_eq!(ws.cmd("INCRBY counter 41"), json!(41));
    assert_eq!(ws.cmd("incr counter"), json!(42), "case-insensitive");
    assert_eq!(ws.cmd("GET nothing"), Value::Null);
    assert_eq!(ws.cmd("MSET a 1 b 2"), json!("OK"));
    assert_eq!(ws.cmd("MGET a nothing b"), json!(["1", null, "2"]));
    assert_eq!(
        ws.cmd("CONFIG GET maxclients"),
        json!({"maxclients": "10000"})
    );
    assert_eq!(
        ws.cmd("GET"),
        json!("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        ws.cmd("NOSUCHCMD x"),
        json!("ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ")
    );
    assert_eq!(ws.cmd("INCRBYFLOAT f 1.5"), json!("1.5"));
    // Hashes answer maps: objects.
    assert_eq!(ws.cmd("HSET h name ada lang rust"), json!(2));
    assert_eq!(ws.cmd("HGETALL h"), json!({"name": "ada", "lang": "rust"}));
    assert_eq!(ws.cmd("HGETALL nothing"), json!({}));
    assert_eq!(
        ws.cmd("GET h"),
        json!("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    // Pairs (HRANDFIELD ... WITHVALUES): arrays of [field, value].
    let pair = ws.cmd("HRANDFIELD h 1 WITHVALUES");
    assert!(
        pair == json!([["name", "ada"]]) || pair == json!([["lang", "rust"]]),
        "{pair}"
    );
    // A transaction: an array holding an error, as a bare string.
    assert_eq!(ws.cmd("MULTI"), json!("OK"));
    assert_eq!(ws.cmd("SET t x"), json!("QUEUED"));
    assert_eq!(ws.cmd("INCR t"), json!("QUEUED"));
    assert_eq!(
        ws.cmd("EXEC"),
        json!(["OK", "ERR value is not an integer or out of range"])
    );
    // Bytes that are not UTF-8 come back as base64, losslessly.
    let mut raw = s.raw();
    raw.cmd(&[b"SET", b"bin", b"\xff\x00a"]);
    raw.expect(OK.as_bytes());
    assert_eq!(ws.cmd("GET bin"), json!({"b64": "/wBh"}));
    // INFO is a verbatim string: one JSON string.
    let info = ws.cmd("INFO server");
    assert!(
        info.as_str().is_some_and(|t| t.starts_with("# Server")),
        "{info}"
    );
    // RESP3 after HELLO 3: maps are objects whatever the protocol.
    let hello = ws.cmd("HELLO 3");
    assert_eq!(hello["proto"], json!(3));
    assert_eq!(
        ws.cmd("CONFIG GET maxclients"),
        json!({"maxclients": "10000"})
    );
}

#[test]
fn empty_frames_get_no_reply() {
    let s = Server::start(1, &[]);
    let mut ws = Ws::connect(s.ws_port);
    ws.send_text("");
    ws.send_text("   ");
    assert_eq!(ws.cmd("ECHO next"), json!("next"));
}

#[test]
fn quoting_and_json_arguments() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd(r#"SET q "a b\tc\x41\"""#), json!("OK"));
    assert_eq!(ws.cmd("GET q"), json!("a b\tcA\""));
    assert_eq!(ws.cmd(r"SET q 'it\'s'"), json!("OK"));
    assert_eq!(ws.cmd("GET q"), json!("it's"));
    assert_eq!(
        ws.cmd(r#"SET q "unbalanced"#),
        json!("ERR Protocol error: unbalanced quotes in request")
    );
    let doc = r#"{"name": "Ada Lovelace", "tags": ["math", "poetry"], "s": "}"}"#;
    assert_eq!(ws.cmd(&format!("SET doc {doc}")), json!("OK"));
    assert_eq!(ws.cmd("GET doc"), json!(doc));
    assert_eq!(ws.cmd("SET arr [1, 2, 3] EX 100"), json!("OK"));
    assert_eq!(ws.cmd("GET arr"), json!("[1, 2, 3]"));
    assert_eq!(ws.cmd("TTL arr"), json!(100));
    assert_eq!(ws.cmd("SET bracket ["), json!("OK"));
    assert_eq!(ws.cmd("GET bracket"), json!("["));
}

#[test]
fn multi_shard_commands_on_four_shards() {
    let s = Server::start(4, &[]);
    let keys: Vec<String> = (0..4).map(|i| common::key_on_shard("k", i, 4)).collect();
    // Several connections, so that some land on every core.
    let mut conns: Vec<Ws> = (0..8).map(|_| Ws::connect(s.ws_port)).collect();
    for (i, ws) in conns.iter_mut().enumerate() {
        let pairs: Vec<String> = keys.iter().map(|k| format!("{k} v{i}")).collect();
        assert_eq!(ws.cmd(&format!("MSET {}", pairs.join(" "))), json!("OK"));
        let got = ws.cmd(&format!("MGET {}", keys.join(" ")));
        assert_eq!(
            got,
            json!([
                format!("v{i}"),
                format!("v{i}"),
                format!("v{i}"),
                format!("v{i}")
            ])
        );
        assert_eq!(ws.cmd("DBSIZE"), json!(4));
        let mut listed: Vec<String> = serde_json::from_value(ws.cmd("KEYS *")).expect("array");
        listed.sort();
        let mut expected = keys.clone();
        expected.sort();
        assert_eq!(listed, expected);
    }
    let ws = &mut conns[0];
    assert_eq!(ws.cmd(&format!("RENAME {} renamed", keys[0])), json!("OK"));
    assert_eq!(
        ws.cmd(&format!("EXISTS renamed {} {}", keys[1], keys[2])),
        json!(3)
    );
    assert_eq!(
        ws.cmd(&format!(
            "DEL renamed {} {} {} nope",
            keys[1], keys[2], keys[3]
        )),
        json!(4)
    );
    assert_eq!(ws.cmd("DBSIZE"), json!(0));
    assert_eq!(ws.cmd("MSETNX x 1 y 2"), json!(1));
    let mut raw = s.raw();
    assert_eq!(
        raw.q(&["MGET", "x", "y"]),
        common::arr(&[common::bulk("1"), common::bulk("2")])
    );
}

#[test]
fn envelope_dialect() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::envelope(s.ws_port);
    assert_eq!(
        ws.cmd(r#"{"id": 7, "cmd": ["SET", "k", "v"]}"#),
        json!({"id": 7, "ok": "OK"})
    );
    assert_eq!(
        ws.cmd(r#"{"id": "g", "cmd": ["GET", "k"]}"#),
        json!({"id": "g", "ok": "v"})
    );
    assert_eq!(ws.cmd(r#"["GET", "missing"]"#), json!({"ok": null}));
    assert_eq!(ws.cmd("GET k"), json!({"ok": "v"}));
    assert_eq!(
        ws.cmd(r#"{"id": 8, "cmd": ["GET"]}"#),
        json!({"id": 8, "err": "ERR wrong number of arguments for 'get' command"})
    );
    assert_eq!(
        ws.cmd(r#"{"id": 9, "cmd": "GET k"}"#)["err"]
            .as_str()
            .map(|e| e.starts_with("ERR invalid request")),
        Some(true)
    );
    assert_eq!(
        ws.cmd(r#"{"id": 10, "cmd": ["EXPIRE", "k", 100]}"#),
        json!({"id": 10, "ok": 1})
    );
    // Non-UTF-8 bytes both ways.
    assert_eq!(
        ws.cmd(r#"{"id": 11, "cmd": ["SET", "bin", {"b64": "/wA="}]}"#),
        json!({"id": 11, "ok": "OK"})
    );
    assert_eq!(
        ws.cmd(r#"{"id": 12, "cmd": ["GET", "bin"]}"#),
        json!({"id": 12, "ok": {"b64": "/wA="}})
    );
    let mut raw = s.raw();
    raw.cmd(&[b"GET", b"bin"]);
    raw.expect(b"$2\r\n\xff\x00\r\n");
    // Errors nested in EXEC's array are objects, so they never look like data.
    ws.cmd(r#"["MULTI"]"#);
    ws.cmd(r#"["SET","t","x"]"#);
    ws.cmd(r#"["INCR","t"]"#);
    assert_eq!(
        ws.cmd(r#"{"id":13,"cmd":["EXEC"]}"#),
        json!({"id": 13, "ok": ["OK", {"err": "ERR value is not an integer or out of range"}]})
    );
    // Pipelined requests answer in order, each with its id.
    for i in 0..50 {
        ws.send_text(&format!(r#"{{"id":{i},"cmd":["INCR","n"]}}"#));
    }
    for i in 0..50 {
        assert_eq!(ws.recv_json(), json!({"id": i, "ok": i + 1}));
    }
    // The query string chooses the dialect too.
    let mut q = try_connect(s.ws_port, "/?format=envelope", &[]).expect("connect");
    assert_eq!(
        q.cmd(r#"{"id":1,"cmd":["GET","k"]}"#),
        json!({"id": 1, "ok": "v"})
    );
}

#[test]
fn binary_frames_are_raw_resp() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    ws.send_binary(&common::encode(&[b"SET", b"k", b"\x00\xffv"]));
    assert_eq!(ws.recv(), Message::binary(&b"+OK\r\n"[..]));
    // Two requests in one frame: both replies in one frame.
    let mut two = common::encode(&[b"GET", b"k"]);
    two.extend_from_slice(&common::encode(&[b"INCR", b"k"]));
    ws.send_binary(&two);
    assert_eq!(
        ws.recv(),
        Message::binary(
            &b"$3\r\n\x00\xffv\r\n-ERR value is not an integer or out of range\r\n"[..]
        )
    );
    // A request split over frames is read as a stream.
    let req = common::encode(&[b"ECHO", b"split"]);
    ws.send_binary(&req[..5]);
    ws.send_binary(&req[5..]);
    assert_eq!(ws.recv(), Message::binary(&b"$5\r\nsplit\r\n"[..]));
    // HELLO 3 switches binary replies to RESP3.
    ws.send_binary(&common::encode(&[b"HELLO", b"3"]));
    assert!(matches!(ws.recv(), Message::Binary(b) if b.starts_with(b"%")));
    ws.send_binary(&common::encode(&[b"GET", b"nope"]));
    assert_eq!(ws.recv(), Message::binary(&b"_\r\n"[..]));
    // Text and binary mix on one connection.
    assert_eq!(ws.cmd("ECHO text"), json!("text"));
    // Broken RESP: the error, then close 1002.
    ws.send_binary(b"*1\r\n$x\r\n");
    assert!(matches!(ws.recv(), Message::Binary(b) if b.starts_with(b"-ERR Protocol error")));
    assert_eq!(ws.close_code(), Some(1002));
}

#[test]
fn clients_are_listed_and_killable() {
    let s = Server::start(2, &[]);
    let mut ws = Ws::connect(s.ws_port);
    assert_eq!(ws.cmd("CLIENT SETNAME wsclient"), json!("OK"));
    let id = ws.cmd("CLIENT ID");
    let mut raw = s.raw();
    let list = raw.call(&["CLIENT", "LIST"]).text();
    assert!(list.contains("name=wsclient"), "{list}");
    assert_eq!(
        raw.q(&["CLIENT", "KILL", "ID", &id.to_string()]),
        common::int(1)
    );
    assert!(ws.ws.read().is_err(), "killed connections end");
}

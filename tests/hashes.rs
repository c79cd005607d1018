//! The hash family over real sockets, byte for byte: every command in
//! `src/commands/hashes.rs`'s SPECS with its error paths (each expected reply checked
//! against redis-server 7.0.15), RESP3 reply types, listpack/hashtable conversion at
//! `hash-max-listpack-entries` / `-value`, durability across a restart and a BGREWRITEAOF,
//! a randomised run against a `BTreeMap` model and a differential run against redis-server.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{NIL, OK, Raw, RefRedis, Server, arr, bulk, err, int, key_on_shard};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const SYNTAX: &str = "ERR syntax error";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";

/// Runs `body` against a fresh server with one shard, then with four.
fn on_both(body: impl Fn(&mut Raw)) {
    for shards in [1, 4] {
        let server = Server::start(shards, &[]);
        let mut c = server.raw();
        body(&mut c);
    }
}

/// The reply with its elements sorted in groups of `group` (2 for field/value replies):
/// for replies whose order depends on the encoding. Elements are bulk strings (or nil); an
/// HSCAN reply (cursor, then items) has its item array sorted.
fn sorted(reply: &str, group: usize) -> String {
    let (head, rest) = reply.split_once("\r\n").expect("a header");
    if head == "*2" && rest.starts_with('$') {
        let (cursor_len, after) = rest.split_once("\r\n").expect("cursor");
        let n: usize = cursor_len[1..].parse().expect("cursor length");
        let (cursor, inner) = after.split_at(n + 2);
        if inner.starts_with('*') {
            return format!("{head}\r\n{cursor_len}\r\n{cursor}{}", sorted(inner, group));
        }
    }
    if !(head.starts_with('*') || head.starts_with('%')) || head == "*-1" {
        return reply.to_string();
    }
    let mut items = Vec::new();
    let mut rest = rest;
    while let Some((len, after)) = rest.split_once("\r\n") {
        let Some(n) = len.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return reply.to_string();
        };
        items.push(format!("{len}\r\n{}\r\n", &after[..n]));
        rest = &after[n + 2..];
    }
    let mut groups: Vec<String> = items.chunks(group).map(|g| g.concat()).collect();
    groups.sort();
    format!("{head}\r\n{}", groups.concat())
}

fn bulks(items: &[&str]) -> String {
    arr(&items.iter().map(|m| bulk(m)).collect::<Vec<_>>())
}

#[test]
fn every_command_and_error_path() {
    on_both(|c| {
        let cases: &[(&[&str], String)] = &[
            (&["SET", "str", "x"], OK.into()),
            (&["HSET", "h", "f", "v", "f2", "v2"], int(2)),
            (
                &["HSET", "h", "f"],
                err("ERR wrong number of arguments for 'hset' command"),
            ),
            (
                &["HSET", "h", "f", "v", "f2"],
                err("ERR wrong number of arguments for 'hset' command"),
            ),
            (
                &["HMSET", "h", "f"],
                err("ERR wrong number of arguments for 'hmset' command"),
            ),
            (
                &["HMSET", "h", "f", "v", "f2"],
                err("ERR wrong number of arguments for 'hmset' command"),
            ),
            (&["HSET", "h", "f", "v"], int(0)),
            (&["HMSET", "h", "f", "v", "f3", "v3"], OK.into()),
            (&["HSET", "str", "f", "v"], err(WRONGTYPE)),
            (&["HMSET", "str", "f", "v"], err(WRONGTYPE)),
            (&["HSETNX", "h", "f", "x"], int(0)),
            (&["HSETNX", "h", "new", "1"], int(1)),
            (&["HSETNX", "nokey", "a", "1"], int(1)),
            (&["HSETNX", "str", "f", "v"], err(WRONGTYPE)),
            (
                &["HSETNX", "h", "f"],
                err("ERR wrong number of arguments for 'hsetnx' command"),
            ),
            (&["HGET", "h", "f"], bulk("v")),
            (&["HGET", "h", "nof"], NIL.into()),
            (&["HGET", "nokey2", "f"], NIL.into()),
            (&["HGET", "str", "f"], err(WRONGTYPE)),
            (
                &["HGET", "h"],
                err("ERR wrong number of arguments for 'hget' command"),
            ),
            (
                &["HMGET", "h", "f", "nof", "f2"],
                arr(&[bulk("v"), NIL.into(), bulk("v2")]),
            ),
            (
                &["HMGET", "nokey2", "a", "b"],
                arr(&[NIL.into(), NIL.into()]),
            ),
            (&["HMGET", "str", "a"], err(WRONGTYPE)),
            (
                &["HMGET", "h"],
                err("ERR wrong number of arguments for 'hmget' command"),
            ),
            (&["HGETALL", "nokey2"], arr(&[])),
            (&["HGETALL", "str"], err(WRONGTYPE)),
            (&["HDEL", "h", "nof"], int(0)),
            (&["HDEL", "nokey2", "f"], int(0)),
            (&["HDEL", "str", "f"], err(WRONGTYPE)),
            (
                &["HDEL", "h"],
                err("ERR wrong number of arguments for 'hdel' command"),
            ),
            (&["HLEN", "h"], int(4)),
            (&["HLEN", "nokey2"], int(0)),
            (&["HLEN", "str"], err(WRONGTYPE)),
            (&["HEXISTS", "h", "f"], int(1)),
            (&["HEXISTS", "h", "nof"], int(0)),
            (&["HEXISTS", "str", "f"], err(WRONGTYPE)),
            (&["HKEYS", "h"], bulks(&["f", "f2", "f3", "new"])),
            (&["HVALS", "h"], bulks(&["v", "v2", "v3", "1"])),
            (&["HKEYS", "str"], err(WRONGTYPE)),
            (&["HVALS", "nokey2"], arr(&[])),
            (&["HINCRBY", "h", "n", "5"], int(5)),
            (&["HINCRBY", "h", "n", "-10"], int(-5)),
            (
                &["HINCRBY", "h", "f", "1"],
                err("ERR hash value is not an integer"),
            ),
            (&["HINCRBY", "h", "n", "x"], err(NOT_INTEGER)),
            (&["HINCRBY", "h", "n", "1.5"], err(NOT_INTEGER)),
            (
                &["HINCRBY", "h", "n", "9223372036854775807"],
                int(9223372036854775802),
            ),
            (
                &["HINCRBY", "h", "n", "9"],
                err("ERR increment or decrement would overflow"),
            ),
            (&["HINCRBY", "str", "n", "1"], err(WRONGTYPE)),
            (&["HINCRBYFLOAT", "h", "fl", "1.5"], bulk("1.5")),
            (&["HINCRBYFLOAT", "h", "fl", "1e3"], bulk("1001.5")),
            (&["HINCRBYFLOAT", "h", "fl", "x"], err(NOT_FLOAT)),
            (
                &["HINCRBYFLOAT", "h", "fl", "inf"],
                err("ERR value is NaN or Infinity"),
            ),
            (
                &["HINCRBYFLOAT", "h", "fl", "-inf"],
                err("ERR value is NaN or Infinity"),
            ),
            (&["HINCRBYFLOAT", "h", "fl", "nan"], err(NOT_FLOAT)),
            (
                &["HINCRBYFLOAT", "h", "f", "1"],
                err("ERR hash value is not a float"),
            ),
            (&["HINCRBYFLOAT", "h", "fl", "-1001.5"], bulk("0")),
            (&["HINCRBYFLOAT", "str", "f", "1"], err(WRONGTYPE)),
            (&["HSET", "h", "sp", " 1"], int(1)),
            (
                &["HINCRBYFLOAT", "h", "sp", "1"],
                err("ERR hash value is not a float"),
            ),
            (
                &["HINCRBY", "h", "sp", "1"],
                err("ERR hash value is not an integer"),
            ),
            (&["HSTRLEN", "h", "f"], int(1)),
            (&["HSTRLEN", "h", "nof"], int(0)),
            (&["HSTRLEN", "str", "f"], err(WRONGTYPE)),
            (&["HRANDFIELD", "nokey2"], NIL.into()),
            (&["HRANDFIELD", "nokey2", "2"], arr(&[])),
            (&["HRANDFIELD", "nokey2", "2", "WITHVALUES"], arr(&[])),
            (&["HRANDFIELD", "str"], err(WRONGTYPE)),
            (&["HRANDFIELD", "h", "0"], arr(&[])),
            (&["HRANDFIELD", "h", "0", "WITHVALUES"], arr(&[])),
            (&["HRANDFIELD", "h", "x"], err(NOT_INTEGER)),
            (&["HRANDFIELD", "h", "1", "foo"], err(SYNTAX)),
            (
                &["HRANDFIELD", "h", "1", "WITHVALUES", "extra"],
                err(SYNTAX),
            ),
            (
                &["HRANDFIELD", "h", "-9223372036854775808"],
                err(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ),
            ),
            (
                &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"],
                err("ERR value is out of range"),
            ),
            (
                &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
                err("ERR value is out of range"),
            ),
            (&["HSCAN", "h", "0", "COUNT", "0"], err(SYNTAX)),
            (&["HSCAN", "h", "0", "COUNT", "x"], err(NOT_INTEGER)),
            (&["HSCAN", "h", "x"], err("ERR invalid cursor")),
            (&["HSCAN", "h", "0", "MATCH"], err(SYNTAX)),
            (&["HSCAN", "nokey2", "0"], arr(&[bulk("0"), arr(&[])])),
            (&["HSCAN", "str", "0"], err(WRONGTYPE)),
            (
                &["HSCAN", "h", "0", "MATCH", "f?"],
                arr(&[bulk("0"), bulks(&["f2", "v2", "f3", "v3", "fl", "0"])]),
            ),
            (
                &["HDEL", "h", "f", "f2", "f3", "new", "n", "fl", "sp", "zz"],
                int(7),
            ),
            (&["EXISTS", "h"], int(0)),
        ];
        for (cmd, want) in cases {
            assert_eq!(&c.q(cmd), want, "{cmd:?}");
        }
        let all = c.q(&["HGETALL", "nokey"]);
        assert_eq!(all, bulks(&["a", "1"]));
        let got = c.call(&["HRANDFIELD", "nokey"]).text();
        assert_eq!(got, "a");
        assert_eq!(
            c.q(&["HRANDFIELD", "nokey", "-3", "WITHVALUES"]),
            bulks(&["a", "1", "a", "1", "a", "1"])
        );
    });
}

#[test]
fn hrandfield_counts() {
    on_both(|c| {
        let mut cmd = vec!["HSET".to_string(), "h".to_string()];
        for i in 0..100 {
            cmd.push(format!("f{i}"));
            cmd.push(format!("v{i}"));
        }
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.q(&cmd), int(100));
        for count in [1usize, 10, 50, 99, 100, 200] {
            let r = c.call(&["HRANDFIELD", "h", &count.to_string()]);
            let mut fields: Vec<String> = r.items().iter().map(|f| f.text()).collect();
            fields.sort();
            fields.dedup();
            assert_eq!(fields.len(), count.min(100), "distinct fields for {count}");
        }
        let r = c.call(&["HRANDFIELD", "h", "-300", "WITHVALUES"]);
        assert_eq!(r.items().len(), 600, "RESP2: flat field, value pairs");
        for pair in r.items().chunks(2) {
            assert_eq!(pair[0].text()[1..], pair[1].text()[1..]);
        }
    });
}

#[test]
fn resp3_types() {
    let server = Server::start(2, &[]);
    let mut c = server.raw();
    assert!(c.q(&["HELLO", "3"]).starts_with('%'));
    c.q(&["HSET", "h", "a", "1"]);
    assert_eq!(c.q(&["HGETALL", "h"]), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(c.q(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(c.q(&["HGET", "h", "zz"]), "_\r\n");
    assert_eq!(c.q(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(c.q(&["HMGET", "h", "a", "zz"]), "*2\r\n$1\r\n1\r\n_\r\n");
    let pair = "*2\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(
        c.q(&["HRANDFIELD", "h", "1", "WITHVALUES"]),
        format!("*1\r\n{pair}")
    );
    assert_eq!(
        c.q(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        format!("*2\r\n{pair}{pair}")
    );
    assert_eq!(
        c.q(&["HRANDFIELD", "h", "-2"]),
        "*2\r\n$1\r\na\r\n$1\r\na\r\n"
    );
    assert_eq!(c.q(&["HINCRBYFLOAT", "h", "a", "0.5"]), "$3\r\n1.5\r\n");
    assert_eq!(c.q(&["HKEYS", "nokey"]), "*0\r\n");
}

#[test]
fn listpack_converts_at_the_limits() {
    on_both(|c| {
        assert_eq!(c.q(&["HSET", "h", "a", "1"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
        assert_eq!(
            c.q(&["CONFIG", "SET", "hash-max-listpack-entries", "2"]),
            OK
        );
        assert_eq!(c.q(&["HSET", "h", "b", "2"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
        assert_eq!(c.q(&["HSET", "h", "c", "3"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
        assert_eq!(c.q(&["HDEL", "h", "c", "b"]), int(2));
        assert_eq!(
            c.q(&["OBJECT", "ENCODING", "h"]),
            bulk("hashtable"),
            "one-way"
        );
        assert_eq!(
            c.q(&["CONFIG", "SET", "hash-max-listpack-entries", "128"]),
            OK
        );
        assert_eq!(c.q(&["CONFIG", "SET", "hash-max-listpack-value", "3"]), OK);
        assert_eq!(c.q(&["HSET", "v", "a", "abc"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "v"]), bulk("listpack"));
        assert_eq!(c.q(&["HSET", "v", "a", "abcd"]), int(0));
        assert_eq!(
            c.q(&["OBJECT", "ENCODING", "v"]),
            bulk("hashtable"),
            "long value"
        );
        assert_eq!(c.q(&["HSET", "f", "abcd", "1"]), int(1));
        assert_eq!(
            c.q(&["OBJECT", "ENCODING", "f"]),
            bulk("hashtable"),
            "long field"
        );
        assert_eq!(c.q(&["HINCRBYFLOAT", "g", "x", "1.25"]), bulk("1.25"));
        assert_eq!(
            c.q(&["OBJECT", "ENCODING", "g"]),
            bulk("hashtable"),
            "4-byte result"
        );
        assert_eq!(c.q(&["CONFIG", "SET", "hash-max-listpack-value", "64"]), OK);
        assert_eq!(c.q(&["HGET", "v", "a"]), bulk("abcd"));
        // HSCAN: a listpack whole with cursor 0; a table in steps covering every field.
        assert_eq!(c.q(&["HSET", "p", "a", "1", "b", "2"]), int(2));
        assert_eq!(
            c.q(&["HSCAN", "p", "0", "COUNT", "1"]),
            arr(&[bulk("0"), bulks(&["a", "1", "b", "2"])])
        );
        let mut cmd = vec!["HSET".to_string(), "t".to_string()];
        for i in 0..1000 {
            cmd.push(format!("f{i}"));
            cmd.push(i.to_string());
        }
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.q(&cmd), int(1000));
        let mut seen = BTreeMap::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = c.call(&["HSCAN", "t", &cursor, "COUNT", "50"]);
            cursor = r.items()[0].text();
            for pair in r.items()[1].items().chunks(2) {
                seen.insert(pair[0].text(), pair[1].text());
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen["f7"], "7");
        assert!(calls > 5, "a table is scanned in steps");
    });
}

fn dump(c: &mut Raw, keys: &[String]) -> Vec<(String, String, String)> {
    keys.iter()
        .map(|k| {
            let all = sorted(&c.q(&["HGETALL", k]), 2);
            (k.clone(), all, c.q(&["OBJECT", "ENCODING", k]))
        })
        .collect()
}

fn wait_rewrite(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = common::info_fields(c, "persistence");
        if info["aof_rewrite_in_progress"] == "0" && info["aof_rewrites"] != "0" {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_write_survives_a_restart_and_a_rewrite() {
    let dir = common::TempDir::new();
    let keys: Vec<String> = (0..4).map(|s| key_on_shard("h", s, 4)).collect();
    let before = {
        let mut server = Server::start_in(dir.path(), 4, &["--appendfsync", "always"]);
        let mut c = server.raw();
        let mut cmd = vec!["HSET".to_string(), keys[0].clone()];
        for i in 0..600 {
            cmd.push(format!("f{i}"));
            cmd.push(format!("v{i}"));
        }
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.q(&cmd), int(600));
        c.q(&["HDEL", &keys[0], "f1", "f2", "nof"]);
        c.q(&["HMSET", &keys[1], "a", "1", "b", "2"]);
        c.q(&["HSETNX", &keys[1], "c", "3"]);
        c.q(&["HSETNX", &keys[1], "a", "x"]);
        c.q(&["HINCRBY", &keys[1], "a", "41"]);
        c.q(&["HINCRBYFLOAT", &keys[2], "f", "0.1"]);
        c.q(&["HINCRBYFLOAT", &keys[2], "f", "0.2"]);
        c.q(&["HSET", &keys[3], "gone", "1"]);
        c.q(&["HDEL", &keys[3], "gone"]);
        c.q(&["HSET", &keys[3], "x", &"y".repeat(100)]);
        let before = dump(&mut c, &keys);
        server.shutdown();
        before
    };
    assert_eq!(
        before[2].1,
        bulks(&["f", "0.3"]),
        "HINCRBYFLOAT is logged as its result"
    );
    let mut server = Server::start_in(dir.path(), 4, &[]);
    let mut c = server.raw();
    assert_eq!(dump(&mut c, &keys), before, "after a restart");
    assert!(c.q(&["BGREWRITEAOF"]).starts_with('+'));
    wait_rewrite(&mut c);
    c.q(&["HSET", &keys[1], "after", "rewrite"]);
    let after = dump(&mut c, &keys);
    server.shutdown();
    let server = Server::start_in(dir.path(), 4, &[]);
    let mut c = server.raw();
    assert_eq!(dump(&mut c, &keys), after, "after a rewrite and a restart");
}

#[path = "hashes/randomised.rs"]
mod randomised;

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

/// A small xorshift PRNG, so runs are reproducible from the seed in a failure message.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_commands_match_a_model() {
    let seed = 0x4a54_2026_u64;
    let server = Server::start(4, &[]);
    let mut c = server.raw();
    assert_eq!(
        c.q(&["CONFIG", "SET", "hash-max-listpack-entries", "8"]),
        OK
    );
    let mut rng = Rng(seed);
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for step in 0..3000 {
        let k = format!("k{}", rng.below(6));
        let f = format!("f{}", rng.below(12));
        let v = format!("{}", rng.below(50));
        let ctx = format!("seed {seed:#x} step {step}");
        match rng.below(9) {
            0 | 1 => {
                let new = m.entry(k.clone()).or_default().insert(f.clone(), v.clone());
                assert_eq!(
                    c.q(&["HSET", &k, &f, &v]),
                    int(new.is_none() as i64),
                    "{ctx}"
                );
            }
            2 => {
                let h = m.entry(k.clone()).or_default();
                let new = !h.contains_key(&f);
                if new {
                    h.insert(f.clone(), v.clone());
                }
                if h.is_empty() {
                    m.remove(&k);
                }
                assert_eq!(c.q(&["HSETNX", &k, &f, &v]), int(new as i64), "{ctx}");
            }
            3 => {
                let gone = m.get_mut(&k).is_some_and(|h| h.remove(&f).is_some());
                if m.get(&k).is_some_and(BTreeMap::is_empty) {
                    m.remove(&k);
                }
                assert_eq!(c.q(&["HDEL", &k, &f]), int(gone as i64), "{ctx}");
            }
            4 => {
                let want = m
                    .get(&k)
                    .and_then(|h| h.get(&f))
                    .map_or(NIL.to_string(), |v| bulk(v));
                assert_eq!(c.q(&["HGET", &k, &f]), want, "{ctx}");
            }
            5 => {
                let h = m.get(&k).cloned().unwrap_or_default();
                let flat: Vec<&str> = h
                    .iter()
                    .flat_map(|(f, v)| [f.as_str(), v.as_str()])
                    .collect();
                assert_eq!(
                    sorted(&c.q(&["HGETALL", &k]), 2),
                    sorted(&bulks(&flat), 2),
                    "{ctx}"
                );
                assert_eq!(c.q(&["HLEN", &k]), int(h.len() as i64), "{ctx}");
            }
            6 => {
                let h = m.entry(k.clone()).or_default();
                let cur = h.get(&f).cloned().unwrap_or_else(|| "0".into());
                let want = match cur.parse::<i64>() {
                    Ok(n) => {
                        let n = n + 3;
                        h.insert(f.clone(), n.to_string());
                        int(n)
                    }
                    Err(_) => err("ERR hash value is not an integer"),
                };
                assert_eq!(c.q(&["HINCRBY", &k, &f, "3"]), want, "{ctx}");
            }
            7 => {
                let len = m.get(&k).and_then(|h| h.get(&f)).map_or(0, String::len);
                assert_eq!(c.q(&["HSTRLEN", &k, &f]), int(len as i64), "{ctx}");
            }
            _ => {
                let h = m.get(&k).cloned().unwrap_or_default();
                let r = c.call(&["HRANDFIELD", &k, "-4", "WITHVALUES"]);
                let want = if h.is_empty() { 0 } else { 8 };
                assert_eq!(r.items().len(), want, "{ctx}");
                for pair in r.items().chunks(2) {
                    assert_eq!(h.get(&pair[0].text()), Some(&pair[1].text()), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn differential_against_redis() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|d| d.join("redis-server").is_file()) {
        eprintln!("SKIPPED differential test: `redis-server` is not installed");
        return;
    }
    let redis = RefRedis::start(&[]);
    let server = Server::start(4, &[]);
    let (mut r, mut k) = (redis.raw(), server.raw());
    let mut rng = Rng(0xd1ff_4a54);
    let keys = ["a", "b", "c", "str"];
    let fields = ["f", "g", "1", "", "long-field-name"];
    let values = [
        "1",
        "-2",
        "1.5",
        "x",
        "",
        "9223372036854775807",
        "3e2",
        " 1",
    ];
    let incrs = [
        "1",
        "-1",
        "x",
        "9223372036854775807",
        "0.5",
        "1e400",
        "-inf",
    ];
    let mut mismatches = Vec::new();
    for proto in ["2", "3"] {
        for conn in [&mut r, &mut k] {
            conn.q(&["FLUSHALL"]);
            conn.q(&["HELLO", proto]);
            conn.q(&["SET", "str", "v"]);
            conn.q(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
            conn.q(&["CONFIG", "SET", "hash-max-listpack-value", "8"]);
        }
        for _ in 0..1500 {
            let key = keys[rng.below(keys.len())];
            let (f1, f2) = (
                fields[rng.below(fields.len())],
                fields[rng.below(fields.len())],
            );
            let v = values[rng.below(values.len())];
            let n = incrs[rng.below(incrs.len())];
            let cmd: Vec<&str> = match rng.below(17) {
                0 | 1 => vec!["HSET", key, f1, v, f2, v],
                2 => vec!["HSETNX", key, f1, v],
                3 => vec!["HMSET", key, f1, v],
                4 => vec!["HGET", key, f1],
                5 => vec!["HMGET", key, f1, f2],
                6 => vec!["HGETALL", key],
                7 => vec!["HDEL", key, f1, f2],
                8 => vec!["HLEN", key],
                9 => vec!["HEXISTS", key, f1],
                10 => vec![["HKEYS", "HVALS"][rng.below(2)], key],
                11 => vec!["HINCRBY", key, f1, n],
                12 => vec!["HINCRBYFLOAT", key, f1, n],
                13 => vec!["HSTRLEN", key, f1],
                14 => vec!["HRANDFIELD", key, ["0", "100", "x"][rng.below(3)]],
                15 => vec!["OBJECT", "ENCODING", key],
                _ => vec!["HSCAN", key, "0", "COUNT", "100"],
            };
            let (a, b) = (r.q(&cmd), k.q(&cmd));
            let group = if matches!(cmd[0], "HGETALL" | "HSCAN") {
                2
            } else {
                1
            };
            let unordered = matches!(
                cmd[0],
                "HGETALL" | "HSCAN" | "HKEYS" | "HVALS" | "HRANDFIELD"
            );
            let (a, b) = if unordered {
                (sorted(&a, group), sorted(&b, group))
            } else {
                (a, b)
            };
            if a != b {
                mismatches.push(format!("RESP{proto} {cmd:?}: redis {a:?} corekv {b:?}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

//! The set family over real sockets, byte for byte: every command in
//! `src/commands/sets/`'s SPECS with its error paths, RESP3 reply types, intset/hashtable
//! conversion at `set-max-intset-entries`, the multi-key commands with keys on one shard
//! (hash tags) and on different shards, durability across a restart and a BGREWRITEAOF, a
//! randomised run against a `BTreeSet` model and a differential run against redis-server.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{NIL, OK, Raw, RefRedis, Server, arr, bulk, err, int, key_on_shard, shard_of};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const SYNTAX: &str = "ERR syntax error";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const POSITIVE: &str = "ERR value is out of range, must be positive";

/// Runs `body` against a fresh server with one shard, then with four.
fn on_both(body: impl Fn(&mut Raw, usize)) {
    for shards in [1, 4] {
        let server = Server::start(shards, &[]);
        let mut c = server.raw();
        body(&mut c, shards);
    }
}

/// The reply's header line and its elements sorted: for replies whose order Redis leaves
/// unspecified (SMEMBERS of a hashtable, SUNION...). Elements are bulk strings; an SSCAN
/// reply (cursor, then members) has its member array sorted.
fn sorted(reply: &str) -> String {
    let (head, rest) = reply.split_once("\r\n").expect("a header");
    if head == "*2" && rest.starts_with("$") {
        let (cursor_len, after) = rest.split_once("\r\n").expect("cursor");
        let n: usize = cursor_len[1..].parse().expect("cursor length");
        let (cursor, inner) = after.split_at(n + 2);
        if inner.starts_with('*') {
            return format!("{head}\r\n{cursor_len}\r\n{cursor}{}", sorted(inner));
        }
    }
    if !(head.starts_with('*') || head.starts_with('~')) || head == "*-1" {
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
    items.sort();
    format!("{head}\r\n{}", items.concat())
}

fn members(items: &[&str]) -> String {
    arr(&items.iter().map(|m| bulk(m)).collect::<Vec<_>>())
}

/// Two keys on different shards when there are several (the same names otherwise).
fn apart(shards: usize) -> (String, String, String) {
    let a = key_on_shard("a", 0, shards);
    let b = key_on_shard("b", shards.min(2) - 1, shards);
    let c = key_on_shard("c", shards - 1, shards);
    (a, b, c)
}

#[test]
fn single_key_commands_and_their_errors() {
    on_both(|c, _| {
        assert_eq!(c.q(&["SADD", "s", "3", "1", "2", "1"]), int(3));
        assert_eq!(c.q(&["SADD", "s", "1"]), int(0));
        assert_eq!(c.q(&["SMEMBERS", "s"]), members(&["1", "2", "3"]));
        assert_eq!(c.q(&["SCARD", "s"]), int(3));
        assert_eq!(c.q(&["SCARD", "nokey"]), int(0));
        assert_eq!(c.q(&["SISMEMBER", "s", "2"]), int(1));
        assert_eq!(c.q(&["SISMEMBER", "s", "02"]), int(0));
        assert_eq!(c.q(&["SISMEMBER", "nokey", "2"]), int(0));
        let two = arr(&[int(1), int(0)]);
        assert_eq!(c.q(&["SMISMEMBER", "s", "1", "9"]), two);
        assert_eq!(c.q(&["SMISMEMBER", "nokey", "1"]), arr(&[int(0)]));
        assert_eq!(c.q(&["SMEMBERS", "nokey"]), arr(&[]));
        assert_eq!(c.q(&["SREM", "s", "9"]), int(0));
        assert_eq!(c.q(&["SREM", "nokey", "9"]), int(0));
        assert_eq!(c.q(&["SREM", "s", "1", "2", "9"]), int(2));
        assert_eq!(c.q(&["SREM", "s", "3"]), int(1));
        assert_eq!(c.q(&["EXISTS", "s"]), int(0), "an emptied set is deleted");
        // WRONGTYPE from every command on a string.
        assert_eq!(c.q(&["SET", "str", "x"]), OK);
        for cmd in [
            &["SADD", "str", "a"][..],
            &["SREM", "str", "a"],
            &["SMEMBERS", "str"],
            &["SISMEMBER", "str", "a"],
            &["SMISMEMBER", "str", "a"],
            &["SCARD", "str"],
            &["SPOP", "str"],
            &["SPOP", "str", "0"],
            &["SRANDMEMBER", "str"],
            &["SRANDMEMBER", "str", "0"],
            &["SSCAN", "str", "0"],
        ] {
            assert_eq!(c.q(cmd), err(WRONGTYPE), "{cmd:?}");
        }
        // Arity errors come from the table.
        for (cmd, name) in [
            (&["SADD", "s"][..], "sadd"),
            (&["SREM", "s"], "srem"),
            (&["SMEMBERS"], "smembers"),
            (&["SISMEMBER", "s"], "sismember"),
            (&["SMISMEMBER", "s"], "smismember"),
            (&["SCARD"], "scard"),
            (&["SPOP"], "spop"),
            (&["SRANDMEMBER"], "srandmember"),
            (&["SMOVE", "a", "b"], "smove"),
            (&["SINTER"], "sinter"),
            (&["SINTERSTORE", "d"], "sinterstore"),
            (&["SUNION"], "sunion"),
            (&["SUNIONSTORE", "d"], "sunionstore"),
            (&["SDIFF"], "sdiff"),
            (&["SDIFFSTORE", "d"], "sdiffstore"),
            (&["SINTERCARD", "1"], "sintercard"),
            (&["SSCAN", "s"], "sscan"),
        ] {
            let want = format!("ERR wrong number of arguments for '{name}' command");
            assert_eq!(c.q(cmd), err(&want), "{cmd:?}");
        }
    });
}

#[test]
fn spop_and_srandmember_counts_and_errors() {
    on_both(|c, _| {
        assert_eq!(c.q(&["SADD", "s", "a", "b", "c"]), int(3));
        assert_eq!(c.q(&["SPOP", "s", "1", "2"]), err(SYNTAX));
        assert_eq!(c.q(&["SPOP", "s", "-1"]), err(POSITIVE));
        assert_eq!(c.q(&["SPOP", "s", "x"]), err(POSITIVE));
        assert_eq!(c.q(&["SPOP", "str", "-1"]), err(POSITIVE));
        assert_eq!(c.q(&["SPOP", "s", "9223372036854775808"]), err(POSITIVE));
        assert_eq!(c.q(&["SPOP", "s", "0"]), arr(&[]));
        assert_eq!(c.q(&["SPOP", "nokey", "3"]), arr(&[]));
        assert_eq!(c.q(&["SPOP", "nokey"]), NIL);
        assert_eq!(c.q(&["SRANDMEMBER", "s", "1", "2"]), err(SYNTAX));
        assert_eq!(c.q(&["SRANDMEMBER", "s", "x"]), err(NOT_INTEGER));
        let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
        assert_eq!(
            c.q(&["SRANDMEMBER", "s", "-9223372036854775808"]),
            err(range)
        );
        assert_eq!(
            c.q(&["SRANDMEMBER", "s", "-9223372036854775807"]),
            err("ERR value is out of range"),
            "bounded where Redis would never answer"
        );
        assert_eq!(c.q(&["SRANDMEMBER", "nokey"]), NIL);
        assert_eq!(c.q(&["SRANDMEMBER", "nokey", "5"]), arr(&[]));
        assert_eq!(c.q(&["SRANDMEMBER", "s", "0"]), arr(&[]));
        let all = members(&["a", "b", "c"]);
        assert_eq!(sorted(&c.q(&["SRANDMEMBER", "s", "10"])), all);
        let two = c.call(&["SRANDMEMBER", "s", "2"]);
        let picked: BTreeSet<String> = two.items().iter().map(|m| m.text()).collect();
        assert_eq!(picked.len(), 2, "distinct members");
        let many = c.call(&["SRANDMEMBER", "s", "-20"]);
        assert_eq!(many.items().len(), 20, "repeats allowed");
        assert!(
            many.items()
                .iter()
                .all(|m| ["a", "b", "c"].contains(&&*m.text()))
        );
        let one = c.call(&["SRANDMEMBER", "s"]).text();
        assert!(["a", "b", "c"].contains(&&*one));
        // SPOP removes what it returns, and the last pop deletes the key.
        let popped = c.call(&["SPOP", "s"]).text();
        assert_eq!(c.q(&["SISMEMBER", "s", &popped]), int(0));
        let rest = c.call(&["SPOP", "s", "5"]);
        assert_eq!(rest.items().len(), 2);
        assert_eq!(c.q(&["EXISTS", "s"]), int(0));
        // Popping part of a big set, both strategies.
        let nums: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        let mut cmd = vec!["SADD", "big"];
        cmd.extend(nums.iter().map(String::as_str));
        assert_eq!(c.q(&cmd), int(100));
        for (count, left) in [("10", 90), ("80", 10)] {
            let got = c.call(&["SPOP", "big", count]);
            let got: BTreeSet<String> = got.items().iter().map(|m| m.text()).collect();
            assert_eq!(got.len(), count.parse::<usize>().unwrap());
            assert_eq!(c.q(&["SCARD", "big"]), int(left));
            for m in &got {
                assert_eq!(c.q(&["SISMEMBER", "big", m]), int(0));
            }
        }
    });
}

#[test]
fn resp3_types() {
    let server = Server::start(2, &[]);
    let mut c = server.raw();
    assert!(c.q(&["HELLO", "3"]).starts_with('%'));
    c.q(&["SADD", "s", "3", "1", "2"]);
    let set = "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n";
    assert_eq!(c.q(&["SMEMBERS", "s"]), set);
    assert_eq!(c.q(&["SINTER", "s"]), set);
    assert_eq!(c.q(&["SUNION", "s", "nokey"]), set);
    assert_eq!(c.q(&["SDIFF", "s", "nokey"]), set);
    assert_eq!(c.q(&["SINTER", "nokey", "s"]), "~0\r\n");
    assert_eq!(c.q(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(c.q(&["SPOP", "nokey"]), "_\r\n");
    assert_eq!(c.q(&["SRANDMEMBER", "nokey"]), "_\r\n");
    assert_eq!(c.q(&["SPOP", "nokey", "2"]), "~0\r\n");
    assert_eq!(c.q(&["SPOP", "s", "0"]), "~0\r\n");
    assert_eq!(c.q(&["SRANDMEMBER", "nokey", "2"]), "*0\r\n");
    assert!(c.q(&["SRANDMEMBER", "s", "5"]).starts_with("*3\r\n"));
    assert!(c.q(&["SRANDMEMBER", "s", "-5"]).starts_with("*5\r\n"));
    assert!(c.q(&["SPOP", "s", "1"]).starts_with("~1\r\n"));
    assert_eq!(c.q(&["SMISMEMBER", "s", "x"]), "*1\r\n:0\r\n");
    assert!(
        c.q(&["SSCAN", "s", "0"])
            .starts_with("*2\r\n$1\r\n0\r\n*2\r\n")
    );
}

#[test]
fn intset_converts_at_the_limits_and_scan_visits_everything() {
    on_both(|c, _| {
        assert_eq!(
            c.q(&["SADD", "i", "1", "-5", "9223372036854775807"]),
            int(3)
        );
        assert_eq!(c.q(&["OBJECT", "ENCODING", "i"]), bulk("intset"));
        assert_eq!(
            c.q(&["SMEMBERS", "i"]),
            members(&["-5", "1", "9223372036854775807"]),
            "an intset replies in ascending order"
        );
        for (m, name) in [("01", "a"), ("-0", "b"), ("+1", "c"), ("x", "d")] {
            assert_eq!(c.q(&["SADD", name, "1", m]), int(2));
            assert_eq!(c.q(&["OBJECT", "ENCODING", name]), bulk("hashtable"), "{m}");
        }
        assert_eq!(c.q(&["CONFIG", "SET", "set-max-intset-entries", "4"]), OK);
        assert_eq!(c.q(&["SADD", "i", "2"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "i"]), bulk("intset"));
        assert_eq!(c.q(&["SADD", "i", "3"]), int(1));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "i"]), bulk("hashtable"));
        assert_eq!(c.q(&["SREM", "i", "3", "2"]), int(2));
        assert_eq!(
            c.q(&["OBJECT", "ENCODING", "i"]),
            bulk("hashtable"),
            "one-way"
        );
        // The *STORE result is built like SADD builds a set.
        assert_eq!(c.q(&["SUNIONSTORE", "u", "i"]), int(3));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "u"]), bulk("intset"));
        assert_eq!(c.q(&["CONFIG", "SET", "set-max-intset-entries", "512"]), OK);
        // SSCAN: an intset whole with cursor 0; a table in steps that cover every member.
        assert_eq!(
            c.q(&["SSCAN", "u", "0", "COUNT", "1"]),
            arr(&[bulk("0"), members(&["-5", "1", "9223372036854775807"])])
        );
        assert_eq!(
            c.q(&["SSCAN", "u", "0", "MATCH", "-*"]),
            arr(&[bulk("0"), members(&["-5"])])
        );
        assert_eq!(c.q(&["SSCAN", "u", "x"]), err("ERR invalid cursor"));
        assert_eq!(c.q(&["SSCAN", "u", "0", "COUNT", "0"]), err(SYNTAX));
        assert_eq!(c.q(&["SSCAN", "u", "0", "COUNT", "x"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SSCAN", "u", "0", "FOO", "x"]), err(SYNTAX));
        assert_eq!(c.q(&["SSCAN", "nokey", "0"]), arr(&[bulk("0"), arr(&[])]));
        let mut cmd = vec!["SADD".to_string(), "t".to_string()];
        cmd.extend((0..1000).map(|i| format!("m{i}")));
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.q(&cmd), int(1000));
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = c.call(&["SSCAN", "t", &cursor, "COUNT", "50"]);
            cursor = r.items()[0].text();
            seen.extend(r.items()[1].items().iter().map(|m| m.text()));
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 5, "a table is scanned in steps");
    });
}

#[test]
fn multi_key_commands_on_one_shard_and_across_shards() {
    on_both(|c, shards| {
        let (a, b, d) = apart(shards);
        if shards > 1 {
            assert_ne!(
                shard_of(a.as_bytes(), shards),
                shard_of(b.as_bytes(), shards)
            );
        }
        for (a, b, d) in [
            (a.clone(), b.clone(), d.clone()),
            ("{t}a".into(), "{t}b".into(), "{t}d".into()),
        ] {
            c.q(&["DEL", &a, &b, &d]);
            assert_eq!(c.q(&["SADD", &a, "1", "2", "3", "x"]), int(4));
            assert_eq!(c.q(&["SADD", &b, "2", "3", "4"]), int(3));
            assert_eq!(sorted(&c.q(&["SINTER", &a, &b])), members(&["2", "3"]));
            let union = members(&["1", "2", "3", "4", "x"]);
            assert_eq!(sorted(&c.q(&["SUNION", &a, &b, "nokey"])), union);
            assert_eq!(sorted(&c.q(&["SDIFF", &a, &b])), members(&["1", "x"]));
            assert_eq!(c.q(&["SDIFF", &b, &a]), members(&["4"]));
            assert_eq!(c.q(&["SDIFF", "nokey", &a]), arr(&[]));
            assert_eq!(c.q(&["SINTER", &a, "nokey", &b]), arr(&[]));
            assert_eq!(c.q(&["SINTERCARD", "2", &a, &b]), int(2));
            assert_eq!(c.q(&["SINTERCARD", "2", &a, &b, "LIMIT", "1"]), int(1));
            assert_eq!(c.q(&["SINTERCARD", "2", &a, &b, "LIMIT", "0"]), int(2));
            assert_eq!(c.q(&["SINTERCARD", "2", &a, "nokey"]), int(0));
            // STORE forms: replace the destination (type and TTL too), delete on empty.
            assert_eq!(c.q(&["SET", &d, "old", "EX", "100"]), OK);
            assert_eq!(c.q(&["SINTERSTORE", &d, &a, &b]), int(2));
            assert_eq!(c.q(&["TTL", &d]), int(-1));
            assert_eq!(c.q(&["SMEMBERS", &d]), members(&["2", "3"]));
            assert_eq!(c.q(&["SUNIONSTORE", &d, &a, &b]), int(5));
            assert_eq!(sorted(&c.q(&["SMEMBERS", &d])), union);
            assert_eq!(c.q(&["SDIFFSTORE", &d, &a, &b]), int(2));
            assert_eq!(sorted(&c.q(&["SMEMBERS", &d])), members(&["1", "x"]));
            assert_eq!(c.q(&["SDIFFSTORE", &d, &d, &a]), int(0));
            assert_eq!(c.q(&["EXISTS", &d]), int(0));
            assert_eq!(c.q(&["SINTERSTORE", &d, &a, "nokey"]), int(0));
            assert_eq!(c.q(&["SUNIONSTORE", &d, &a]), int(4));
            assert_eq!(
                c.q(&["SINTERSTORE", &a, &a, &b]),
                int(2),
                "dst among sources"
            );
            assert_eq!(c.q(&["SMEMBERS", &a]), members(&["2", "3"]));
            // WRONGTYPE from any source, even after a missing one; dst's type is irrelevant.
            assert_eq!(c.q(&["SET", &d, "str"]), OK);
            for cmd in [
                &["SINTER", "nokey", &d][..],
                &["SINTER", &a, &d],
                &["SUNION", &a, &d],
                &["SDIFF", "nokey", &d],
                &["SDIFF", &a, &d],
                &["SINTERCARD", "2", &a, &d],
                &["SINTERSTORE", &b, &a, &d],
                &["SUNIONSTORE", &b, &d],
                &["SDIFFSTORE", &b, "nokey", &d],
            ] {
                assert_eq!(c.q(cmd), err(WRONGTYPE), "{cmd:?}");
            }
            assert_eq!(c.q(&["SDIFFSTORE", &d, &a]), int(2));
            assert_eq!(c.q(&["TYPE", &d]), "+set\r\n");
            // SMOVE: Redis's order of checks.
            assert_eq!(c.q(&["SET", &d, "str"]), OK);
            assert_eq!(c.q(&["SMOVE", "nokey", &d, "1"]), int(0));
            assert_eq!(c.q(&["SMOVE", &a, &d, "2"]), err(WRONGTYPE));
            assert_eq!(c.q(&["SMOVE", &a, &d, "nomember"]), err(WRONGTYPE));
            assert_eq!(c.q(&["SMOVE", &d, &a, "2"]), err(WRONGTYPE));
            assert_eq!(c.q(&["SMEMBERS", &a]), members(&["2", "3"]), "unchanged");
            assert_eq!(c.q(&["SMOVE", &a, &a, "2"]), int(1));
            assert_eq!(c.q(&["SMOVE", &a, &a, "9"]), int(0));
            assert_eq!(c.q(&["SMOVE", &a, &b, "9"]), int(0));
            assert_eq!(c.q(&["SMOVE", &a, &b, "2"]), int(1), "already in dst");
            assert_eq!(c.q(&["SMEMBERS", &b]), members(&["2", "3", "4"]));
            assert_eq!(c.q(&["DEL", &d]), int(1));
            assert_eq!(c.q(&["SMOVE", &a, &d, "3"]), int(1));
            assert_eq!(c.q(&["EXISTS", &a]), int(0), "emptied source deleted");
            assert_eq!(c.q(&["SMEMBERS", &d]), members(&["3"]));
            assert_eq!(c.q(&["OBJECT", "ENCODING", &d]), bulk("intset"));
        }
    });
}

#[test]
fn sintercard_argument_errors() {
    on_both(|c, shards| {
        let (a, b, _) = apart(shards);
        c.q(&["SADD", &a, "1", "2"]);
        c.q(&["SADD", &b, "2"]);
        let numkeys = "ERR numkeys should be greater than 0";
        assert_eq!(c.q(&["SINTERCARD", "0", &a]), err(numkeys));
        assert_eq!(c.q(&["SINTERCARD", "-1", &a]), err(numkeys));
        assert_eq!(c.q(&["SINTERCARD", "x", &a]), err(numkeys));
        let too_many = "ERR Number of keys can't be greater than number of args";
        assert_eq!(c.q(&["SINTERCARD", "3", &a, &b]), err(too_many));
        let negative = "ERR LIMIT can't be negative";
        assert_eq!(
            c.q(&["SINTERCARD", "2", &a, &b, "LIMIT", "-1"]),
            err(negative)
        );
        assert_eq!(
            c.q(&["SINTERCARD", "2", &a, &b, "LIMIT", "x"]),
            err(negative)
        );
        assert_eq!(c.q(&["SINTERCARD", "2", &a, &b, "LIMIT"]), err(SYNTAX));
        assert_eq!(c.q(&["SINTERCARD", "2", &a, &b, "FOO", "1"]), err(SYNTAX));
        assert_eq!(
            c.q(&["SINTERCARD", "1", &a, "LIMIT", "1", "LIMIT", "5"]),
            int(2)
        );
        assert_eq!(
            c.q(&[
                "COMMAND",
                "GETKEYS",
                "SINTERCARD",
                "2",
                &a,
                &b,
                "LIMIT",
                "1"
            ]),
            members(&[&a, &b])
        );
    });
}

#[test]
fn keyspace_events_name_the_set_commands() {
    let server = Server::start(4, &[]);
    let mut c = server.raw();
    assert_eq!(c.q(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]), OK);
    let (a, b, d) = apart(4);
    let mut sub = server.raw();
    assert!(
        sub.q(&["PSUBSCRIBE", "__keyevent@0__:*"])
            .contains("psubscribe")
    );
    c.q(&["SADD", &a, "1", "2", "3"]);
    c.q(&["SREM", &a, "3"]);
    c.q(&["SPOP", &a, "1"]);
    c.q(&["SADD", &b, "5"]);
    c.q(&["SMOVE", &b, &a, "5"]);
    c.q(&["SUNIONSTORE", &d, &a]);
    c.q(&["SINTERSTORE", &d, &a, "nokey"]);
    let mut events = Vec::new();
    let want = [
        ("sadd", &a),
        ("srem", &a),
        ("spop", &a),
        ("sadd", &b),
        ("srem", &b),
        ("del", &b),
        ("sadd", &a),
        ("sunionstore", &d),
        ("del", &d),
    ];
    for _ in 0..want.len() {
        let m = sub.call(&[]);
        let items = m.items();
        let channel = items[2].text();
        events.push((
            channel["__keyevent@0__:".len()..].to_string(),
            items[3].text(),
        ));
    }
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(e, k)| (e.to_string(), k.to_string()))
        .collect();
    assert_eq!(events, want);
}

/// Every key's members, sorted, and its encoding.
fn dump(c: &mut Raw, keys: &[String]) -> Vec<(String, String, String)> {
    keys.iter()
        .map(|k| {
            (
                k.clone(),
                sorted(&c.q(&["SMEMBERS", k])),
                c.q(&["OBJECT", "ENCODING", k]),
            )
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
    let keys: Vec<String> = (0..4)
        .map(|s| key_on_shard("p", s, 4))
        .chain(["{p}x".to_string(), "{p}y".to_string()])
        .collect();
    let before = {
        let mut server = Server::start_in(dir.path(), 4, &["--appendfsync", "always"]);
        let mut c = server.raw();
        let mut cmd = vec!["SADD".to_string(), keys[0].clone()];
        cmd.extend((0..600).map(|i| i.to_string()));
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.q(&cmd), int(600));
        c.q(&["SADD", &keys[1], "a", "b", "c", "1", "2"]);
        c.q(&["SADD", &keys[2], "7", "8", "9"]);
        c.q(&["SREM", &keys[0], "5", "6", "7"]);
        c.q(&["SPOP", &keys[0], "20"]);
        c.q(&["SPOP", &keys[1]]);
        c.q(&["SMOVE", &keys[2], &keys[3], "8"]);
        c.q(&["SUNIONSTORE", &keys[4], &keys[1], &keys[2]]);
        c.q(&["SINTERSTORE", &keys[5], &keys[0], &keys[2]]);
        c.q(&["SDIFFSTORE", &keys[2], &keys[2], "nokey"]);
        c.q(&["SADD", "{p}y", "only"]);
        c.q(&["SMOVE", "{p}y", "{p}x", "only"]);
        let before = dump(&mut c, &keys);
        server.shutdown();
        before
    };
    let mut server = Server::start_in(dir.path(), 4, &[]);
    let mut c = server.raw();
    assert_eq!(dump(&mut c, &keys), before, "after a restart");
    assert!(c.q(&["BGREWRITEAOF"]).starts_with('+'));
    wait_rewrite(&mut c);
    c.q(&["SPOP", &keys[0], "3"]);
    let mut after = dump(&mut c, &keys);
    server.shutdown();
    let server = Server::start_in(dir.path(), 4, &[]);
    let mut c = server.raw();
    // A rewrite rebuilds each set with SADD, so (as in Redis) a table that shrank back to
    // a few integers comes back as an intset.
    assert_eq!(after[5].2, bulk("hashtable"));
    after[5].2 = bulk("intset");
    assert_eq!(dump(&mut c, &keys), after, "after a rewrite and a restart");
}

#[test]
fn watch_sees_changes_and_only_changes() {
    for shards in [1, 4] {
        let server = Server::start(shards, &[]);
        let (c, mut other) = (&mut server.raw(), server.raw());
        assert_eq!(c.q(&["SADD", "w", "a"]), int(1));
        // Commands that change nothing do not abort a transaction watching the key.
        assert_eq!(c.q(&["WATCH", "w"]), OK);
        assert_eq!(other.q(&["SADD", "w", "a"]), int(0));
        assert_eq!(other.q(&["SREM", "w", "zz"]), int(0));
        assert_eq!(other.q(&["SMOVE", "w", "w2", "zz"]), int(0));
        assert_eq!(c.q(&["MULTI"]), OK);
        assert_eq!(c.q(&["SCARD", "w"]), "+QUEUED\r\n");
        assert_eq!(c.q(&["EXEC"]), arr(&[int(1)]));
        // A change does.
        assert_eq!(c.q(&["WATCH", "w"]), OK);
        assert_eq!(other.q(&["SPOP", "w"]), bulk("a"));
        assert_eq!(c.q(&["MULTI"]), OK);
        assert_eq!(c.q(&["SCARD", "w"]), "+QUEUED\r\n");
        assert_eq!(c.q(&["EXEC"]), "*-1\r\n");
    }
}

#[path = "sets/randomised.rs"]
mod randomised;

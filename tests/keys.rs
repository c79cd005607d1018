//! The generic key family over real sockets, byte for byte: every command in
//! `src/commands/keys.rs`'s SPECS plus the keyspace commands beside them (SELECT, DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB). Every test body runs against `--shards 1` and `--shards 4`;
//! keys for cross-shard cases are picked with [`common::key_on_shard`], so with four shards
//! RENAME/COPY/DEL/EXISTS really cross shards and with one they take the same-shard path.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{NIL, OK, Raw, Server, arr, bulk, err, int, key_on_shard, shard_of};

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const DB_RANGE: &str = "ERR DB index is out of range";
const INT_RANGE: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";
const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// Runs `body` against a fresh server with one shard, then with four.
fn on_both(body: impl Fn(&Server, &mut Raw)) {
    for shards in [1, 4] {
        let server = Server::start(shards, &[]);
        let mut c = server.raw();
        body(&server, &mut c);
    }
}

/// Sends every command at once, then reads every reply.
fn pipeline(c: &mut Raw, cmds: &[Vec<String>]) -> Vec<String> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&common::encode(&args));
    }
    c.send(&bytes);
    cmds.iter()
        .map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned())
        .collect()
}

fn set_many(c: &mut Raw, keys: impl IntoIterator<Item = String>) {
    let cmds: Vec<Vec<String>> = keys
        .into_iter()
        .map(|k| vec!["SET".into(), k, "x".into()])
        .collect();
    for reply in pipeline(c, &cmds) {
        assert_eq!(reply, OK);
    }
}

/// A decoded RESP2 reply, enough for the shapes these tests read back.
#[derive(Debug, PartialEq)]
enum Resp {
    Bulk(String),
    Array(Vec<Resp>),
    Other(String),
}

fn parse_resp(text: &str) -> (Resp, &str) {
    let (line, rest) = text.split_once("\r\n").expect("a line");
    match line.as_bytes()[0] {
        b'$' if line != "$-1" => {
            let len: usize = line[1..].parse().expect("bulk length");
            (Resp::Bulk(rest[..len].to_string()), &rest[len + 2..])
        }
        b'*' if line != "*-1" => {
            let n: usize = line[1..].parse().expect("array length");
            let mut items = Vec::with_capacity(n);
            let mut rest = rest;
            for _ in 0..n {
                let (item, r) = parse_resp(rest);
                items.push(item);
                rest = r;
            }
            (Resp::Array(items), rest)
        }
        _ => (Resp::Other(line.to_string()), rest),
    }
}

/// The bulk strings of an array reply.
fn bulk_items(reply: &str) -> Vec<String> {
    match parse_resp(reply).0 {
        Resp::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Resp::Bulk(b) => b,
                other => panic!("not a bulk string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn keys_set(c: &mut Raw, pattern: &str) -> BTreeSet<String> {
    bulk_items(&c.q(&["KEYS", pattern])).into_iter().collect()
}

/// One SCAN call: (next cursor, keys).
fn scan_step(c: &mut Raw, cursor: &str, opts: &[&str]) -> (String, Vec<String>) {
    let mut cmd = vec!["SCAN", cursor];
    cmd.extend_from_slice(opts);
    let reply = c.q(&cmd);
    match parse_resp(&reply).0 {
        Resp::Array(mut parts) if parts.len() == 2 => {
            let keys = match parts.pop() {
                Some(Resp::Array(keys)) => keys
                    .into_iter()
                    .map(|k| match k {
                        Resp::Bulk(k) => k,
                        other => panic!("not a key: {other:?}"),
                    })
                    .collect(),
                other => panic!("not a key list: {other:?}"),
            };
            match parts.pop() {
                Some(Resp::Bulk(next)) => (next, keys),
                other => panic!("not a cursor: {other:?}"),
            }
        }
        _ => panic!("not a SCAN reply: {reply:?}"),
    }
}

/// A full SCAN iteration: every key returned, with repeats.
fn scan_all(c: &mut Raw, opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    for _ in 0..1_000_000 {
        let (next, keys) = scan_step(c, &cursor, opts);
        all.extend(keys);
        if next == "0" {
            return all;
        }
        cursor = next;
    }
    panic!("SCAN never returned cursor 0");
}

fn expire_err(cmd: &str) -> String {
    err(&format!("ERR invalid expire time in '{cmd}' command"))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

#[test]
fn routing_helpers_agree_with_redis_cluster() {
    // Known Redis Cluster slots (CLUSTER KEYSLOT), so the shard picks below mean something.
    assert_eq!(common::key_slot(b"foo"), 12182);
    assert_eq!(common::key_slot(b"somekey"), 11058);
    assert_eq!(
        common::key_slot(b"{user1000}.following"),
        common::key_slot(b"user1000")
    );
    assert_eq!(
        common::key_slot(b"foo{}{bar}"),
        common::key_slot(b"foo{}{bar}")
    );
    assert_ne!(common::key_slot(b"foo{}{bar}"), common::key_slot(b"bar"));
    let keys: Vec<String> = (0..4).map(|s| key_on_shard("k", s, 4)).collect();
    let shards: HashSet<usize> = keys.iter().map(|k| shard_of(k.as_bytes(), 4)).collect();
    assert_eq!(shards.len(), 4);
}

#[test]
fn del_unlink_exists_touch_across_shards() {
    let keys: Vec<String> = (0..4).map(|s| key_on_shard("d", s, 4)).collect();
    on_both(|_, c| {
        let k: Vec<&str> = keys.iter().map(String::as_str).collect();
        set_many(c, keys.iter().cloned());
        assert_eq!(c.q(&["EXISTS", k[0], k[1], k[2], k[3]]), int(4));
        // Every mention counts.
        assert_eq!(c.q(&["EXISTS", k[0], k[0], "missing", k[3], k[0]]), int(4));
        assert_eq!(c.q(&["TOUCH", k[1], k[1], "missing", k[2]]), int(3));
        // A key is deleted once, however often it is named.
        assert_eq!(c.q(&["DEL", k[0], k[0], k[1], "missing"]), int(2));
        assert_eq!(c.q(&["EXISTS", k[0], k[1], k[2], k[3]]), int(2));
        assert_eq!(c.q(&["UNLINK", k[2], k[3], k[3]]), int(2));
        assert_eq!(c.q(&["EXISTS", k[0], k[1], k[2], k[3]]), int(0));
        assert_eq!(c.q(&["DEL", "missing"]), int(0));
        assert_eq!(c.q(&["DBSIZE"]), int(0));
        for cmd in ["del", "unlink", "exists", "touch"] {
            assert_eq!(
                c.q(&[cmd]),
                err(&format!(
                    "ERR wrong number of arguments for '{cmd}' command"
                ))
            );
        }
        // An expired key does not exist, for any of them.
        assert_eq!(c.q(&["SET", k[0], "v", "PX", "1"]), OK);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.q(&["EXISTS", k[0]]), int(0));
        assert_eq!(c.q(&["SET", k[0], "v", "PX", "1"]), OK);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.q(&["DEL", k[0]]), int(0));
    });
}

#[test]
fn type_command() {
    on_both(|_, c| {
        assert_eq!(c.q(&["TYPE", "k"]), "+none\r\n");
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["TYPE", "k"]), "+string\r\n");
        assert_eq!(c.q(&["INCR", "n"]), int(1));
        assert_eq!(c.q(&["TYPE", "n"]), "+string\r\n");
        assert_eq!(
            c.q(&["TYPE", "k", "x"]),
            err("ERR wrong number of arguments for 'type' command")
        );
    });
}

#[test]
fn expire_options_and_errors() {
    on_both(|_, c| {
        // Options are checked before the key and before the time.
        assert_eq!(c.q(&["EXPIRE", "missing", "10"]), int(0));
        assert_eq!(
            c.q(&["EXPIRE", "missing", "abc", "FOO"]),
            err("ERR Unsupported option FOO")
        );
        assert_eq!(c.q(&["EXPIRE", "missing", "abc"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["EXPIRE", "missing", "10", "NX"]), int(0));
        let nx_conflict =
            err("ERR NX and XX, GT or LT options at the same time are not compatible");
        let gt_lt = err("ERR GT and LT options at the same time are not compatible");
        for opts in [["NX", "XX"], ["NX", "GT"], ["LT", "NX"]] {
            assert_eq!(c.q(&["EXPIRE", "k", "abc", opts[0], opts[1]]), nx_conflict);
        }
        assert_eq!(c.q(&["PEXPIRE", "k", "10", "GT", "LT"]), gt_lt);
        // The option echoed in the error is the argument as a C string, byte for byte.
        c.cmd(&[b"EXPIRE", b"k", b"10", b"\xffa\x00b"]);
        assert_eq!(c.read_reply(), b"-ERR Unsupported option \xffa\r\n");

        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        // Without a TTL: NX sets, XX and GT refuse, LT sets.
        assert_eq!(c.q(&["EXPIRE", "k", "100", "XX"]), int(0));
        assert_eq!(c.q(&["EXPIRE", "k", "100", "GT"]), int(0));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        assert_eq!(c.q(&["EXPIRE", "k", "100", "nx"]), int(1));
        assert_eq!(c.q(&["TTL", "k"]), int(100));
        assert_eq!(c.q(&["EXPIRE", "k", "200", "NX"]), int(0));
        assert_eq!(c.q(&["EXPIRE", "k", "200", "XX"]), int(1));
        assert_eq!(c.q(&["EXPIRE", "k", "150", "GT"]), int(0));
        assert_eq!(c.q(&["EXPIRE", "k", "300", "GT"]), int(1));
        assert_eq!(c.q(&["EXPIRE", "k", "400", "LT"]), int(0));
        assert_eq!(c.q(&["EXPIRE", "k", "50", "LT"]), int(1));
        assert_eq!(c.q(&["EXPIRE", "k", "60", "XX", "GT"]), int(1));
        assert_eq!(c.q(&["EXPIRE", "k", "59", "GT", "GT"]), int(0));
        assert_eq!(c.q(&["TTL", "k"]), int(60));
        assert_eq!(c.q(&["PERSIST", "k"]), int(1));
        assert_eq!(c.q(&["EXPIRE", "k", "70", "LT"]), int(1));
        assert_eq!(c.q(&["TTL", "k"]), int(70));

        // Each command's unit and its own name in the overflow error.
        assert_eq!(c.q(&["PEXPIRE", "k", "80000"]), int(1));
        assert_eq!(c.q(&["TTL", "k"]), int(80));
        let at = now_ms() / 1000 + 1000;
        assert_eq!(c.q(&["EXPIREAT", "k", &at.to_string()]), int(1));
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(at as i64));
        assert_eq!(c.q(&["PEXPIREAT", "k", "4000000000123"]), int(1));
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(4_000_000_000_123));
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(4_000_000_000));
        // EXPIRETIME rounds to the nearest second, like TTL.
        assert_eq!(c.q(&["PEXPIREAT", "k", "4000000000500"]), int(1));
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(4_000_000_001));
        assert_eq!(c.q(&["PEXPIREAT", "k", "4000000000499"]), int(1));
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(4_000_000_000));
        let big = "9223372036854775807";
        assert_eq!(c.q(&["EXPIRE", "k", big]), expire_err("expire"));
        assert_eq!(
            c.q(&["EXPIRE", "k", "-9223372036854775807"]),
            expire_err("expire")
        );
        assert_eq!(c.q(&["PEXPIRE", "k", big]), expire_err("pexpire"));
        assert_eq!(c.q(&["EXPIREAT", "k", big]), expire_err("expireat"));
        assert_eq!(c.q(&["PEXPIREAT", "k", big]), int(1));
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(i64::MAX));
        assert_eq!(
            c.q(&["EXPIRE", "k"]),
            err("ERR wrong number of arguments for 'expire' command")
        );

        // A time in the past deletes the key and answers 1.
        assert_eq!(c.q(&["EXPIRE", "k", "-1"]), int(1));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["EXPIRE", "k", "-1", "GT"]), int(0));
        assert_eq!(c.q(&["PEXPIRE", "k", "0", "XX"]), int(0));
        assert_eq!(c.q(&["EXISTS", "k"]), int(1));
        assert_eq!(c.q(&["PEXPIREAT", "k", "1", "LT"]), int(1));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["EXPIREAT", "k", "0"]), int(1));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
    });
}

#[test]
fn ttl_family_and_persist() {
    on_both(|_, c| {
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(c.q(&[cmd, "missing"]), int(-2), "{cmd}");
        }
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(c.q(&[cmd, "k"]), int(-1), "{cmd}");
        }
        assert_eq!(c.q(&["PERSIST", "k"]), int(0));
        assert_eq!(c.q(&["PERSIST", "missing"]), int(0));
        let at_ms = now_ms() + 100_000;
        assert_eq!(c.q(&["PEXPIREAT", "k", &at_ms.to_string()]), int(1));
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(at_ms as i64));
        assert_eq!(
            c.q(&["EXPIRETIME", "k"]),
            int(((at_ms + 500) / 1000) as i64)
        );
        assert_eq!(c.q(&["TTL", "k"]), int(100));
        let pttl = c.q(&["PTTL", "k"]);
        let pttl: i64 = pttl[1..pttl.len() - 2].parse().expect("integer");
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        assert_eq!(c.q(&["PERSIST", "k"]), int(1));
        assert_eq!(c.q(&["PERSIST", "k"]), int(0));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        assert_eq!(c.q(&["GET", "k"]), bulk("v"));
        assert_eq!(
            c.q(&["PERSIST"]),
            err("ERR wrong number of arguments for 'persist' command")
        );
    });
}

#[test]
fn move_between_databases() {
    on_both(|_, c| {
        assert_eq!(c.q(&["SET", "k", "v", "EX", "100"]), OK);
        assert_eq!(c.q(&["MOVE", "k", "1"]), int(1));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(c.q(&["MOVE", "k", "1"]), int(0));
        assert_eq!(c.q(&["SELECT", "1"]), OK);
        assert_eq!(c.q(&["GET", "k"]), bulk("v"));
        assert_eq!(c.q(&["TTL", "k"]), int(100), "the TTL moves along");
        // The target already holding the key: nothing moves.
        assert_eq!(c.q(&["SELECT", "0"]), OK);
        assert_eq!(c.q(&["SET", "k", "w"]), OK);
        assert_eq!(c.q(&["MOVE", "k", "1"]), int(0));
        assert_eq!(c.q(&["GET", "k"]), bulk("w"));
        assert_eq!(c.q(&["MOVE", "k", "0"]), err(SAME_OBJECT));
        assert_eq!(c.q(&["MOVE", "k", "16"]), err(DB_RANGE));
        assert_eq!(c.q(&["MOVE", "k", "-1"]), err(DB_RANGE));
        assert_eq!(c.q(&["MOVE", "k", "4294967296"]), err(INT_RANGE));
        assert_eq!(c.q(&["MOVE", "k", "x"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["MOVE", "missing", "2"]), int(0));
        assert_eq!(
            c.q(&["MOVE", "k"]),
            err("ERR wrong number of arguments for 'move' command")
        );
    });
}

#[test]
fn object_subcommands() {
    on_both(|_, c| {
        assert_eq!(c.q(&["SET", "n", "123"]), OK);
        assert_eq!(c.q(&["SET", "s", "hello"]), OK);
        assert_eq!(c.q(&["SET", "big", &"x".repeat(45)]), OK);
        assert_eq!(c.q(&["SET", "e44", &"x".repeat(44)]), OK);
        assert_eq!(c.q(&["SET", "n20", "12345678901234567890"]), OK);
        assert_eq!(c.q(&["OBJECT", "ENCODING", "n"]), bulk("int"));
        assert_eq!(c.q(&["object", "encoding", "s"]), bulk("embstr"));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "e44"]), bulk("embstr"));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "big"]), bulk("raw"));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "n20"]), bulk("embstr"));
        assert_eq!(c.q(&["OBJECT", "ENCODING", "missing"]), NIL);
        // Small integers are shared objects in Redis.
        assert_eq!(c.q(&["OBJECT", "REFCOUNT", "n"]), int(2_147_483_647));
        assert_eq!(c.q(&["OBJECT", "REFCOUNT", "s"]), int(1));
        assert_eq!(c.q(&["SET", "n", "10000"]), OK);
        assert_eq!(c.q(&["OBJECT", "REFCOUNT", "n"]), int(1));
        assert_eq!(c.q(&["OBJECT", "REFCOUNT", "missing"]), NIL);
        assert_eq!(
            c.q(&["OBJECT", "FREQ", "s"]),
            err(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
            )
        );
        assert_eq!(c.q(&["OBJECT", "FREQ", "missing"]), NIL);
        let help = c.q(&["OBJECT", "HELP"]);
        assert!(help.starts_with("*15\r\n+OBJECT <subcommand>"), "{help}");
        assert!(
            help.ends_with("+HELP\r\n+    Prints this help.\r\n"),
            "{help}"
        );
        assert_eq!(
            c.q(&["OBJECT", "NOPE", "s"]),
            err("ERR unknown subcommand 'NOPE'. Try OBJECT HELP.")
        );
        c.cmd(&[b"object", b"\xfe\x00x"]);
        assert_eq!(
            c.read_reply(),
            b"-ERR unknown subcommand '\xfe'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            c.q(&["OBJECT", "ENCODING"]),
            err("ERR wrong number of arguments for 'object|encoding' command")
        );
        assert_eq!(
            c.q(&["OBJECT", "HELP", "x"]),
            err("ERR wrong number of arguments for 'object|help' command")
        );
        assert_eq!(
            c.q(&["OBJECT"]),
            err("ERR wrong number of arguments for 'object' command")
        );
    });
}

#[test]
fn keys_glob_patterns() {
    on_both(|_, c| {
        let names = [
            "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "user:1", "user:2", "user:10",
            "a\\b", "[x]",
        ];
        set_many(c, names.iter().map(|s| s.to_string()));
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(keys_set(c, "*"), set(&names));
        assert_eq!(
            keys_set(c, "h?llo"),
            set(&["hello", "hallo", "hxllo", "h*llo"])
        );
        assert_eq!(
            keys_set(c, "h*llo"),
            set(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"])
        );
        assert_eq!(keys_set(c, "h[ae]llo"), set(&["hello", "hallo"]));
        assert_eq!(keys_set(c, "h[^e]llo"), set(&["hallo", "hxllo", "h*llo"]));
        assert_eq!(keys_set(c, "h[a-b]llo"), set(&["hallo"]));
        assert_eq!(keys_set(c, "h\\*llo"), set(&["h*llo"]));
        assert_eq!(keys_set(c, "user:?"), set(&["user:1", "user:2"]));
        assert_eq!(keys_set(c, "user:*"), set(&["user:1", "user:2", "user:10"]));
        assert_eq!(keys_set(c, "a\\\\b"), set(&["a\\b"]));
        assert_eq!(keys_set(c, "\\[x\\]"), set(&["[x]"]));
        assert_eq!(keys_set(c, "nomatch*"), set(&[]));
        assert_eq!(c.q(&["KEYS", "hallo"]), arr(&[bulk("hallo")]));
        // Databases are separate keyspaces.
        assert_eq!(c.q(&["SELECT", "3"]), OK);
        assert_eq!(c.q(&["KEYS", "*"]), arr(&[]));
        assert_eq!(
            c.q(&["KEYS"]),
            err("ERR wrong number of arguments for 'keys' command")
        );
        // Keys past their deadline are not listed.
        assert_eq!(c.q(&["SET", "gone", "v", "PX", "1"]), OK);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.q(&["KEYS", "*"]), arr(&[]));
    });
}

#[test]
fn scan_full_iteration_matches_keys() {
    on_both(|_, c| {
        assert_eq!(c.q(&["SCAN", "0"]), arr(&[bulk("0"), arr(&[])]));
        set_many(c, (0..1000).map(|i| format!("key:{i}")));
        set_many(c, (0..50).map(|i| format!("other:{i}")));
        let all = keys_set(c, "*");
        assert_eq!(all.len(), 1050);
        for opts in [
            &[][..],
            &["COUNT", "1"],
            &["COUNT", "7"],
            &["COUNT", "100000"],
            &["TYPE", "string"],
            &["type", "STRING", "count", "3"],
        ] {
            let got = scan_all(c, opts);
            let unique: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(unique, all, "{opts:?}");
        }
        let matched: BTreeSet<String> = scan_all(c, &["MATCH", "other:*", "COUNT", "20"])
            .into_iter()
            .collect();
        assert_eq!(matched, keys_set(c, "other:*"));
        assert_eq!(matched.len(), 50);
        assert!(scan_all(c, &["TYPE", "hash"]).is_empty());
        assert!(scan_all(c, &["TYPE", "none"]).is_empty());
        assert!(scan_all(c, &["MATCH", "zzz*"]).is_empty());
        // A small keyspace comes back in one call, as from Redis.
        assert_eq!(c.q(&["SELECT", "1"]), OK);
        set_many(c, (0..20).map(|i| format!("s{i}")));
        let (cursor, keys) = scan_step(c, "0", &["COUNT", "1000"]);
        assert_eq!((cursor.as_str(), keys.len()), ("0", 20));
    });
}

#[test]
fn scan_arguments() {
    on_both(|_, c| {
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        let everything = arr(&[bulk("0"), arr(&[bulk("k")])]);
        // Cursors are read like strtoul reads them.
        for cursor in ["0", "", "+0", "00", "-0"] {
            assert_eq!(
                c.q(&["SCAN", cursor, "COUNT", "100"]),
                everything,
                "{cursor:?}"
            );
        }
        for cursor in ["abc", " 0", "0 ", "1.5", "18446744073709551616", "-", "0x1"] {
            assert_eq!(
                c.q(&["SCAN", cursor]),
                err("ERR invalid cursor"),
                "{cursor:?}"
            );
        }
        assert!(c.q(&["SCAN", "18446744073709551615"]).starts_with("*2\r\n"));
        assert!(c.q(&["SCAN", "-1"]).starts_with("*2\r\n"));
        assert_eq!(c.q(&["SCAN", "abc", "FOO"]), err("ERR invalid cursor"));
        assert_eq!(c.q(&["SCAN", "0", "COUNT", "0"]), err(SYNTAX));
        assert_eq!(c.q(&["SCAN", "0", "COUNT", "-1"]), err(SYNTAX));
        assert_eq!(c.q(&["SCAN", "0", "COUNT", "x"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SCAN", "0", "COUNT"]), err(SYNTAX));
        assert_eq!(c.q(&["SCAN", "0", "MATCH"]), err(SYNTAX));
        assert_eq!(c.q(&["SCAN", "0", "FOO", "bar"]), err(SYNTAX));
        assert_eq!(
            c.q(&["SCAN"]),
            err("ERR wrong number of arguments for 'scan' command")
        );
    });
}

/// SCAN's guarantee: a key present for the whole iteration is returned at least once, even
/// while other keys are added and removed so the tables grow, shrink and rehash.
#[test]
fn scan_returns_stable_keys_while_others_come_and_go() {
    on_both(|server, c| {
        set_many(c, (0..3000).map(|i| format!("stable:{i}")));
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let stop = stop.clone();
            let mut w = server.raw();
            std::thread::spawn(move || {
                let mut round = 0u64;
                // At least one round, however quickly the scans finish.
                while round == 0 || !stop.load(Ordering::Relaxed) {
                    // Grow well past the stable set, then shrink back: resizes both ways.
                    let add: Vec<Vec<String>> = (0..4000)
                        .map(|i| vec!["SET".into(), format!("churn:{round}:{i}"), "x".into()])
                        .collect();
                    pipeline(&mut w, &add);
                    let del: Vec<Vec<String>> = (0..4000)
                        .map(|i| vec!["DEL".into(), format!("churn:{round}:{i}")])
                        .collect();
                    pipeline(&mut w, &del);
                    round += 1;
                }
                round
            })
        };
        let mut seen = HashSet::new();
        let mut calls = 0;
        for pass in 0..3 {
            let mut cursor = "0".to_string();
            loop {
                let (next, keys) = scan_step(c, &cursor, &["COUNT", "25"]);
                calls += 1;
                for k in keys {
                    assert!(
                        k.starts_with("stable:") || k.starts_with("churn:"),
                        "unknown key {k}"
                    );
                    if k.starts_with("stable:") {
                        seen.insert(k);
                    }
                }
                if next == "0" {
                    break;
                }
                cursor = next;
            }
            assert_eq!(seen.len(), 3000, "pass {pass}: a stable key was missed");
            seen.clear();
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = churn.join().expect("churn thread");
        assert!(calls > 3, "iterations made progress");
        assert!(rounds > 0, "keys were added and removed during the scans");
    });
}

#[test]
fn randomkey() {
    on_both(|_, c| {
        assert_eq!(c.q(&["RANDOMKEY"]), NIL);
        assert_eq!(c.q(&["SET", "only", "v"]), OK);
        assert_eq!(c.q(&["RANDOMKEY"]), bulk("only"));
        let keys: Vec<String> = (0..4)
            .flat_map(|s| (0..25).map(move |i| key_on_shard(&format!("r{i}_"), s, 4)))
            .collect();
        set_many(c, keys.iter().cloned());
        let mut shards_seen = HashSet::new();
        for _ in 0..400 {
            let reply = c.q(&["RANDOMKEY"]);
            let key = &bulk_items(&format!("*1\r\n{reply}"))[0];
            assert!(key == "only" || keys.contains(key), "{key}");
            shards_seen.insert(shard_of(key.as_bytes(), 4));
        }
        assert_eq!(shards_seen.len(), 4, "keys from every shard come up");
        // Keys past their deadline are never returned.
        assert_eq!(c.q(&["FLUSHDB"]), OK);
        for i in 0..50 {
            assert_eq!(c.q(&["SET", &format!("t{i}"), "v", "PX", "1"]), OK);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.q(&["RANDOMKEY"]), NIL);
        assert_eq!(
            c.q(&["RANDOMKEY", "x"]),
            err("ERR wrong number of arguments for 'randomkey' command")
        );
    });
}

#[test]
fn rename_and_renamenx_same_and_cross_shard() {
    let src = key_on_shard("src", 0, 4);
    let cross = key_on_shard("dst", 3, 4);
    let same = (0..)
        .map(|i| format!("same{i}"))
        .find(|k| shard_of(k.as_bytes(), 4) == 0)
        .expect("a key on shard 0");
    on_both(|_, c| {
        for dst in [&cross, &same] {
            let (s, d) = (src.as_str(), dst.as_str());
            assert_eq!(c.q(&["SET", s, "v", "EX", "100"]), OK);
            assert_eq!(c.q(&["RENAME", s, d]), OK);
            assert_eq!(c.q(&["EXISTS", s]), int(0));
            assert_eq!(c.q(&["GET", d]), bulk("v"));
            assert_eq!(c.q(&["TTL", d]), int(100), "the TTL moves along");
            // Overwriting: the destination takes the source's (absent) TTL.
            assert_eq!(c.q(&["SET", s, "w"]), OK);
            assert_eq!(c.q(&["RENAME", s, d]), OK);
            assert_eq!(c.q(&["GET", d]), bulk("w"));
            assert_eq!(c.q(&["TTL", d]), int(-1));
            assert_eq!(c.q(&["RENAME", s, d]), err("ERR no such key"));
            assert_eq!(c.q(&["RENAMENX", s, d]), err("ERR no such key"));
            // RENAMENX refuses an existing destination and changes nothing.
            assert_eq!(c.q(&["SET", s, "x"]), OK);
            assert_eq!(c.q(&["RENAMENX", s, d]), int(0));
            assert_eq!(c.q(&["MGET", s, d]), arr(&[bulk("x"), bulk("w")]));
            assert_eq!(c.q(&["DEL", d]), int(1));
            assert_eq!(c.q(&["RENAMENX", s, d]), int(1));
            assert_eq!(c.q(&["MGET", s, d]), arr(&[NIL.into(), bulk("x")]));
            assert_eq!(c.q(&["DEL", d]), int(1));
        }
        // Renaming a key to itself.
        assert_eq!(c.q(&["RENAME", "self", "self"]), err("ERR no such key"));
        assert_eq!(c.q(&["SET", "self", "v"]), OK);
        assert_eq!(c.q(&["RENAME", "self", "self"]), OK);
        assert_eq!(c.q(&["RENAMENX", "self", "self"]), int(0));
        assert_eq!(c.q(&["GET", "self"]), bulk("v"));
        // A source past its deadline does not exist.
        assert_eq!(c.q(&["SET", &src, "v", "PX", "1"]), OK);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.q(&["RENAME", &src, &cross]), err("ERR no such key"));
        assert_eq!(
            c.q(&["RENAME", "a"]),
            err("ERR wrong number of arguments for 'rename' command")
        );
        assert_eq!(
            c.q(&["RENAMENX", "a", "b", "c"]),
            err("ERR wrong number of arguments for 'renamenx' command")
        );
    });
}

#[test]
fn copy_same_and_cross_shard() {
    let src = key_on_shard("csrc", 1, 4);
    let cross = key_on_shard("cdst", 2, 4);
    let same = key_on_shard("csame", 1, 4);
    on_both(|_, c| {
        for dst in [&cross, &same] {
            let (s, d) = (src.as_str(), dst.as_str());
            let at = (now_ms() + 100_000).to_string();
            assert_eq!(c.q(&["SET", s, "v", "PXAT", &at]), OK);
            assert_eq!(c.q(&["COPY", s, d]), int(1));
            assert_eq!(c.q(&["MGET", s, d]), arr(&[bulk("v"), bulk("v")]));
            assert_eq!(c.q(&["PEXPIRETIME", d]), c.q(&["PEXPIRETIME", s]));
            assert_eq!(c.q(&["SET", s, "w"]), OK);
            assert_eq!(c.q(&["COPY", s, d]), int(0));
            assert_eq!(c.q(&["GET", d]), bulk("v"));
            assert_eq!(c.q(&["COPY", s, d, "REPLACE"]), int(1));
            assert_eq!(c.q(&["GET", d]), bulk("w"));
            assert_eq!(c.q(&["TTL", d]), int(-1));
            assert_eq!(c.q(&["COPY", s, d, "DB", "2", "replace"]), int(1));
            assert_eq!(c.q(&["SELECT", "2"]), OK);
            assert_eq!(c.q(&["GET", d]), bulk("w"));
            assert_eq!(c.q(&["SELECT", "0"]), OK);
            assert_eq!(c.q(&["DEL", s, d]), int(2));
            assert_eq!(c.q(&["COPY", s, d]), int(0));
        }
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["COPY", "k", "k"]), err(SAME_OBJECT));
        assert_eq!(c.q(&["COPY", "k", "k", "DB", "0"]), err(SAME_OBJECT));
        assert_eq!(c.q(&["COPY", "k", "k", "DB", "1"]), int(1));
        assert_eq!(c.q(&["COPY", "k", "x", "DB", "16"]), err(DB_RANGE));
        assert_eq!(c.q(&["COPY", "k", "x", "DB", "-1"]), err(DB_RANGE));
        assert_eq!(c.q(&["COPY", "k", "x", "DB", "4294967296"]), err(INT_RANGE));
        assert_eq!(c.q(&["COPY", "k", "x", "DB", "abc"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["COPY", "k", "x", "DB"]), err(SYNTAX));
        assert_eq!(c.q(&["COPY", "k", "x", "FOO"]), err(SYNTAX));
        // The DB argument is checked as it is read, before later options.
        assert_eq!(c.q(&["COPY", "k", "x", "DB", "99", "FOO"]), err(DB_RANGE));
        assert_eq!(c.q(&["COPY", "k", "x", "REPLACE", "REPLACE"]), int(1));
        assert_eq!(c.q(&["COPY", "k", "y", "DB", "1", "DB", "3"]), int(1));
        assert_eq!(c.q(&["SELECT", "3"]), OK);
        assert_eq!(c.q(&["GET", "y"]), bulk("v"));
        assert_eq!(
            c.q(&["COPY", "k"]),
            err("ERR wrong number of arguments for 'copy' command")
        );
    });
}

#[test]
fn databases_select_dbsize_flush_swap() {
    on_both(|server, c| {
        let mut other = server.raw();
        set_many(c, (0..100).map(|i| format!("zero:{i}")));
        assert_eq!(c.q(&["SELECT", "1"]), OK);
        set_many(c, (0..30).map(|i| format!("one:{i}")));
        assert_eq!(c.q(&["DBSIZE"]), int(30));
        assert_eq!(other.q(&["DBSIZE"]), int(100));
        assert_eq!(other.q(&["GET", "one:1"]), NIL);
        // SWAPDB swaps the data under every connection's index.
        assert_eq!(c.q(&["SWAPDB", "0", "1"]), OK);
        assert_eq!(other.q(&["DBSIZE"]), int(30));
        assert_eq!(other.q(&["GET", "one:1"]), bulk("x"));
        assert_eq!(c.q(&["DBSIZE"]), int(100));
        assert_eq!(c.q(&["SWAPDB", "1", "0"]), OK);
        assert_eq!(c.q(&["SWAPDB", "5", "5"]), OK);
        // FLUSHDB empties the current database only.
        assert_eq!(c.q(&["FLUSHDB"]), OK);
        assert_eq!(c.q(&["DBSIZE"]), int(0));
        assert_eq!(other.q(&["DBSIZE"]), int(100));
        assert_eq!(c.q(&["FLUSHDB", "ASYNC"]), OK);
        assert_eq!(c.q(&["FLUSHDB", "sync"]), OK);
        assert_eq!(c.q(&["FLUSHDB", "FOO"]), err(SYNTAX));
        assert_eq!(c.q(&["SET", "again", "v"]), OK);
        assert_eq!(c.q(&["FLUSHALL"]), OK);
        assert_eq!(c.q(&["DBSIZE"]), int(0));
        assert_eq!(other.q(&["DBSIZE"]), int(0));
        assert_eq!(c.q(&["FLUSHALL", "ASYNC"]), OK);
        assert_eq!(c.q(&["FLUSHALL", "SYNC", "ASYNC"]), err(SYNTAX));
        // Errors.
        assert_eq!(c.q(&["SELECT", "16"]), err(DB_RANGE));
        assert_eq!(c.q(&["SELECT", "-1"]), err(DB_RANGE));
        assert_eq!(c.q(&["SELECT", "x"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SWAPDB", "0", "16"]), err(DB_RANGE));
        assert_eq!(
            c.q(&["SWAPDB", "x", "0"]),
            err("ERR invalid first DB index")
        );
        assert_eq!(
            c.q(&["SWAPDB", "0", "x"]),
            err("ERR invalid second DB index")
        );
        assert_eq!(
            c.q(&["DBSIZE", "x"]),
            err("ERR wrong number of arguments for 'dbsize' command")
        );
        assert_eq!(
            c.q(&["SWAPDB", "0"]),
            err("ERR wrong number of arguments for 'swapdb' command")
        );
    });
}

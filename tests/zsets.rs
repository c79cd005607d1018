//! The sorted-set family over real sockets: exact replies and errors, encodings and their
//! conversion, multi-key commands within and across shards, a randomised run against a
//! plain Rust model, a byte-for-byte differential run against Debian's redis-server 7.0.15
//! (tests/zsets_differential.rs), and durability through restart and BGREWRITEAOF.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{NIL, Raw, Server, arr, bulk, err, info_fields, int, key_on_shard};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A seeded xorshift, so every run sends the same commands.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn replies_and_every_error_path() {
    let server = Server::start(2, &[]);
    let mut r = server.raw();
    let cases: &[(&[&str], String)] = &[
        (&["ZADD", "z", "1", "a", "2", "b", "0.1", "c"], int(3)),
        (&["ZSCORE", "z", "c"], bulk("0.10000000000000001")),
        (&["ZSCORE", "z", "nope"], NIL.to_string()),
        (
            &["ZADD", "z", "NX", "XX", "1", "a"],
            err("ERR XX and NX options at the same time are not compatible"),
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            err("ERR GT, LT, and/or NX options at the same time are not compatible"),
        ),
        (
            &["ZADD", "z", "NX", "GT", "1", "a"],
            err("ERR GT, LT, and/or NX options at the same time are not compatible"),
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            err("ERR INCR option supports a single increment-element pair"),
        ),
        (
            &["ZADD", "z", "x", "a"],
            err("ERR value is not a valid float"),
        ),
        (
            &["ZADD", "z", "nan", "a"],
            err("ERR value is not a valid float"),
        ),
        (&["ZADD", "z", "NX", "1"], err("ERR syntax error")),
        (&["ZADD", "z", "1", "a", "2"], err("ERR syntax error")),
        (
            &["ZADD", "z"],
            err("ERR wrong number of arguments for 'zadd' command"),
        ),
        (&["ZADD", "inf", "inf", "m"], int(1)),
        (
            &["ZADD", "inf", "INCR", "-inf", "m"],
            err("ERR resulting score is not a number (NaN)"),
        ),
        (
            &["ZINCRBY", "inf", "-inf", "m"],
            err("ERR resulting score is not a number (NaN)"),
        ),
        (
            &["ZINCRBY", "z", "x", "a"],
            err("ERR value is not a valid float"),
        ),
        (&["ZADD", "z", "XX", "INCR", "1", "nope"], NIL.to_string()),
        (
            &["ZADD", "z", "GT", "CH", "0", "a", "5", "b", "9", "d"],
            int(2),
        ),
        (&["ZADD", "z", "INCR", "1.5", "a"], bulk("2.5")),
        (
            &["ZCOUNT", "z", "x", "1"],
            err("ERR min or max is not a float"),
        ),
        (&["ZCOUNT", "z", "(1", "+inf"], int(3)),
        (
            &["ZLEXCOUNT", "z", "a", "b"],
            err("ERR min or max not valid string range item"),
        ),
        (
            &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
            err(
                "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ),
        ),
        (
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        ),
        (
            &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
            err("ERR syntax error"),
        ),
        (
            &["ZRANGE", "z", "x", "1"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "x", "1"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        ),
        (
            &["ZRANGE", "z", "0", "0", "WITHSCORES"],
            arr(&[bulk("c"), bulk("0.10000000000000001")]),
        ),
        (&["ZREVRANGE", "z", "0", "0"], arr(&[bulk("d")])),
        (&["ZRANK", "z", "d"], int(3)),
        (&["ZREVRANK", "z", "d"], int(0)),
        (&["ZRANK", "z", "nope"], NIL.to_string()),
        (
            &["ZREMRANGEBYRANK", "z", "x", "1"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["ZREMRANGEBYSCORE", "z", "x", "1"],
            err("ERR min or max is not a float"),
        ),
        (
            &["ZREMRANGEBYLEX", "z", "x", "y"],
            err("ERR min or max not valid string range item"),
        ),
        (
            &["ZPOPMIN", "z", "-1"],
            err("ERR value is out of range, must be positive"),
        ),
        (
            &["ZPOPMIN", "z", "x"],
            err("ERR value is out of range, must be positive"),
        ),
        (&["ZPOPMIN", "z", "1", "2"], err("ERR syntax error")),
        (&["ZPOPMIN", "nokey"], arr(&[])),
        (
            &["ZMPOP", "0", "z", "MIN"],
            err("ERR numkeys should be greater than 0"),
        ),
        (&["ZMPOP", "1", "z", "FOO"], err("ERR syntax error")),
        (&["ZMPOP", "2", "z", "MIN"], err("ERR syntax error")),
        (
            &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
            err("ERR count should be greater than 0"),
        ),
        (&["ZMPOP", "1", "nokey", "MIN"], "*-1\r\n".to_string()),
        (
            &["ZUNION", "0", "z"],
            err("ERR at least 1 input key is needed for 'zunion' command"),
        ),
        (
            &["ZUNIONSTORE", "d", "0", "z"],
            err("ERR at least 1 input key is needed for 'zunionstore' command"),
        ),
        (
            &["ZINTERCARD", "0", "z"],
            err("ERR at least 1 input key is needed for 'zintercard' command"),
        ),
        (
            &["ZINTERCARD", "1", "z", "LIMIT", "-1"],
            err("ERR LIMIT can't be negative"),
        ),
        (
            &["ZUNION", "1", "z", "WEIGHTS", "x"],
            err("ERR weight value is not a float"),
        ),
        (
            &["ZUNION", "1", "z", "AGGREGATE", "avg"],
            err("ERR syntax error"),
        ),
        (
            &["ZDIFF", "1", "z", "WEIGHTS", "1"],
            err("ERR syntax error"),
        ),
        (&["ZUNION", "3", "z"], err("ERR syntax error")),
        (
            &["ZUNION", "x", "z"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["ZUNIONSTORE", "d", "1", "z", "WITHSCORES"],
            err("ERR syntax error"),
        ),
        (
            &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
            err("ERR syntax error"),
        ),
        (&["ZRANDMEMBER", "z", "1", "x"], err("ERR syntax error")),
        (
            &["ZRANDMEMBER", "z", "x"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["ZSCAN", "z", "x"], err("ERR invalid cursor")),
        (&["SET", "s", "v"], "+OK\r\n".to_string()),
    ];
    for (cmd, want) in cases {
        assert_eq!(&r.q(cmd), want, "{cmd:?}");
    }
    for cmd in [
        &["ZADD", "s", "1", "a"][..],
        &["ZSCORE", "s", "a"],
        &["ZRANGE", "s", "0", "-1"],
        &["ZPOPMIN", "s", "0"],
        &["ZUNION", "2", "z", "s"],
        &["ZUNIONSTORE", "d", "2", "z", "s"],
        &["ZMPOP", "2", "nokey", "s", "MIN"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
        &["ZRANDMEMBER", "s"],
        &["ZSCAN", "s", "0"],
    ] {
        assert_eq!(r.q(cmd), err(WRONGTYPE), "{cmd:?}");
    }
}

#[test]
fn resp3_types() {
    let server = Server::start(1, &[]);
    let mut r = server.raw();
    r.q(&["HELLO", "3"]);
    r.q(&["ZADD", "z", "1", "a", "2.5", "b"]);
    assert_eq!(r.q(&["ZSCORE", "z", "b"]), ",2.5\r\n");
    assert_eq!(
        r.q(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(r.q(&["ZSCORE", "z", "x"]), "_\r\n");
    assert_eq!(r.q(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(r.q(&["ZMPOP", "1", "nokey", "MIN"]), "_\r\n");
    assert_eq!(
        r.q(&["ZMPOP", "1", "z", "MAX"]),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
}

#[test]
fn encodings_convert_at_the_thresholds() {
    let server = Server::start(1, &[]);
    let mut r = server.raw();
    for i in 0..128 {
        r.q(&["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(r.q(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
    r.q(&["ZADD", "z", "1000", "one-more"]);
    assert_eq!(r.q(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
    r.q(&["ZREMRANGEBYRANK", "z", "0", "-3"]);
    assert_eq!(
        r.q(&["OBJECT", "ENCODING", "z"]),
        bulk("skiplist"),
        "one-way"
    );
    assert_eq!(r.q(&["ZUNIONSTORE", "small", "1", "z"]), int(2));
    assert_eq!(r.q(&["OBJECT", "ENCODING", "small"]), bulk("listpack"));
    r.q(&["ZADD", "long", "1", &"x".repeat(65)]);
    assert_eq!(r.q(&["OBJECT", "ENCODING", "long"]), bulk("skiplist"));
    assert_eq!(
        r.q(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]),
        "+OK\r\n"
    );
    r.q(&["ZADD", "zero", "1", "a"]);
    assert_eq!(r.q(&["OBJECT", "ENCODING", "zero"]), bulk("skiplist"));
    assert_eq!(r.q(&["TYPE", "zero"]), "+zset\r\n");
}

/// Reads `ZRANGE key 0 -1 WITHSCORES` as (member, score text) pairs.
fn dump(r: &mut Raw, key: &str) -> String {
    r.q(&["ZRANGE", key, "0", "-1", "WITHSCORES"])
}

#[test]
fn multi_key_commands_agree_within_and_across_shards() {
    let server = Server::start(4, &[]);
    let mut r = server.raw();
    // Keys apart (one per shard) and the same keys together under one hash tag.
    let apart: Vec<String> = (0..4).map(|s| key_on_shard("k", s, 4)).collect();
    let together: Vec<String> = (0..4).map(|i| format!("{{t}}{i}")).collect();
    for keys in [&apart, &together] {
        r.q(&["ZADD", &keys[0], "1", "x", "2", "y", "3", "z"]);
        r.q(&["ZADD", &keys[1], "10", "y", "20", "z", "30", "w"]);
        r.q(&["ZADD", &keys[2], "5", "q", "inf", "y"]);
    }
    let mut results: Vec<Vec<String>> = Vec::new();
    for keys in [&apart, &together] {
        let (a, b, c, d) = (&keys[0][..], &keys[1][..], &keys[2][..], &keys[3][..]);
        let mut out = vec![
            r.q(&["ZUNION", "3", a, b, c, "WITHSCORES"]),
            r.q(&[
                "ZUNION",
                "2",
                a,
                b,
                "WEIGHTS",
                "2",
                "0.5",
                "AGGREGATE",
                "MAX",
                "WITHSCORES",
            ]),
            r.q(&["ZINTER", "2", a, b, "AGGREGATE", "MIN", "WITHSCORES"]),
            r.q(&["ZDIFF", "2", a, b, "WITHSCORES"]),
            r.q(&["ZINTERCARD", "2", a, b, "LIMIT", "1"]),
            r.q(&["ZUNIONSTORE", d, "3", a, b, c, "WEIGHTS", "1", "1", "-1"]),
            dump(&mut r, d),
            r.q(&["ZINTERSTORE", d, "2", a, "nokey"]),
            r.q(&["EXISTS", d]),
            r.q(&["ZRANGESTORE", d, b, "(10", "+inf", "BYSCORE"]),
            dump(&mut r, d),
            {
                // The reply names the key; compare what follows it.
                let popped = r.q(&["ZMPOP", "3", "nokey", d, a, "MAX", "COUNT", "5"]);
                let at = popped.find(d).map_or(0, |i| i + d.len());
                popped[at..].to_string()
            },
            r.q(&["EXISTS", d]),
            r.q(&["ZDIFFSTORE", d, "2", a, a]),
        ];
        r.q(&["SET", "str", "v"]);
        out.push(r.q(&["ZUNION", "2", a, "str"]));
        results.push(out);
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(
        results[0][0],
        arr(&[
            bulk("x"),
            bulk("1"),
            bulk("q"),
            bulk("5"),
            bulk("z"),
            bulk("23"),
            bulk("w"),
            bulk("30"),
            bulk("y"),
            bulk("inf"),
        ])
    );
    assert_eq!(
        results[0][6],
        arr(&[
            bulk("y"),
            bulk("-inf"),
            bulk("q"),
            bulk("-5"),
            bulk("x"),
            bulk("1"),
            bulk("z"),
            bulk("23"),
            bulk("w"),
            bulk("30"),
        ])
    );
}

/// The model: member -> score, with the same rules as the server.
fn model_range(m: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    v
}

fn resp_items(items: &[(String, f64)]) -> String {
    let mut parts = Vec::new();
    for (m, s) in items {
        parts.push(bulk(m));
        parts.push(bulk(&fmt_g17(*s)));
    }
    arr(&parts)
}

/// C's `%.17g` for the integral and simple scores the model uses.
fn fmt_g17(s: f64) -> String {
    if s.fract() == 0.0 && s.abs() < 1e15 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    }
}

#[test]
fn randomised_against_a_model_through_both_encodings() {
    let server = Server::start(1, &[]);
    let mut r = server.raw();
    r.q(&["CONFIG", "SET", "zset-max-listpack-entries", "16"]);
    let mut rng = Rng(0x5eed_2024);
    let mut model: BTreeMap<String, f64> = BTreeMap::new();
    for step in 0..4000 {
        let member = format!("m{}", rng.below(60));
        let score = rng.below(40) as f64 - 10.0 + if rng.below(4) == 0 { 0.5 } else { 0.0 };
        match rng.below(7) {
            0..=2 => {
                let new = !model.contains_key(&member);
                model.insert(member.clone(), score);
                assert_eq!(
                    r.q(&["ZADD", "z", &fmt_g17(score), &member]),
                    int(new as i64)
                );
            }
            3 => {
                let had = model.remove(&member).is_some();
                assert_eq!(r.q(&["ZREM", "z", &member]), int(had as i64));
            }
            4 => {
                let v = model.get(&member).copied().unwrap_or(0.0) + score;
                model.insert(member.clone(), v);
                assert_eq!(
                    r.q(&["ZINCRBY", "z", &fmt_g17(score), &member]),
                    bulk(&fmt_g17(v))
                );
            }
            5 => {
                let sorted = model_range(&model);
                let want = sorted.iter().position(|(m, _)| *m == member);
                let got = r.q(&["ZRANK", "z", &member]);
                assert_eq!(got, want.map_or(NIL.to_string(), |i| int(i as i64)));
            }
            _ => {
                let (lo, hi) = (score, score + 8.0);
                let n = model.values().filter(|&&s| s >= lo && s <= hi).count();
                assert_eq!(
                    r.q(&["ZCOUNT", "z", &fmt_g17(lo), &fmt_g17(hi)]),
                    int(n as i64)
                );
            }
        }
        if step % 250 == 0 {
            let sorted = model_range(&model);
            assert_eq!(dump(&mut r, "z"), resp_items(&sorted), "step {step}");
            let (a, b) = (3usize, 9usize);
            let want: Vec<(String, f64)> = sorted
                .iter()
                .rev()
                .skip(a)
                .take(b - a + 1)
                .cloned()
                .collect();
            assert_eq!(
                r.q(&[
                    "ZREVRANGE",
                    "z",
                    &a.to_string(),
                    &b.to_string(),
                    "WITHSCORES"
                ]),
                resp_items(&want)
            );
        }
    }
    assert_eq!(r.q(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
    // Pop everything; the key disappears with its last member.
    let sorted = model_range(&model);
    assert_eq!(r.q(&["ZPOPMIN", "z", "1000"]), resp_items(&sorted));
    assert_eq!(r.q(&["EXISTS", "z"]), int(0));
}

#[test]
fn rank_queries_on_a_large_set() {
    let server = Server::start(1, &[]);
    let mut con = server.conn();
    let n = 20_000;
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("ZADD")
            .arg("big")
            .arg(i * 2)
            .arg(format!("m{i}"))
            .ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    let mut r = server.raw();
    assert_eq!(r.q(&["ZCARD", "big"]), int(n));
    for i in [0, 1, 777, 12345, n - 1] {
        assert_eq!(r.q(&["ZRANK", "big", &format!("m{i}")]), int(i));
        assert_eq!(r.q(&["ZREVRANK", "big", &format!("m{i}")]), int(n - 1 - i));
        assert_eq!(
            r.q(&["ZRANGE", "big", &i.to_string(), &i.to_string()]),
            arr(&[bulk(&format!("m{i}"))])
        );
    }
    assert_eq!(r.q(&["ZCOUNT", "big", "(100", "200"]), int(50));
    assert_eq!(r.q(&["ZREMRANGEBYSCORE", "big", "0", "(2000"]), int(1000));
    assert_eq!(r.q(&["ZRANK", "big", "m1000"]), int(0));
}

/// Every key's ZRANGE WITHSCORES, for comparing before and after a restart.
fn snapshot(r: &mut Raw, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| dump(r, k)).collect()
}

#[test]
fn durable_through_restart_and_rewrite() {
    let dir = common::TempDir::new();
    let keys = ["a", "b", "{x}u", "{x}r", "big", "gone"];
    let before;
    {
        let mut server = Server::start_in(dir.path(), 2, &[]);
        let mut r = server.raw();
        r.q(&[
            "ZADD", "a", "1", "x", "0.1", "y", "-0.0", "z", "1e300", "w", "-inf", "v",
        ]);
        r.q(&["ZADD", "a", "INCR", "0.2", "y"]);
        r.q(&["ZINCRBY", "a", "3", "x"]);
        r.q(&["ZADD", "b", "GT", "CH", "5", "p", "6", "q"]);
        r.q(&["ZADD", "b", "LT", "1", "q"]);
        for i in 0..300 {
            r.q(&[
                "ZADD",
                "big",
                &(i as f64 / 3.0).to_string(),
                &format!("m{i}"),
            ]);
        }
        r.q(&["ZREMRANGEBYSCORE", "big", "(10", "20"]);
        r.q(&["ZREMRANGEBYRANK", "big", "0", "4"]);
        r.q(&["ZADD", "lex", "0", "a", "0", "b", "0", "c"]);
        r.q(&["ZREMRANGEBYLEX", "lex", "[b", "+"]);
        r.q(&["ZPOPMIN", "big", "3"]);
        r.q(&["ZPOPMAX", "a"]);
        r.q(&["ZREM", "b", "p"]);
        r.q(&["ZADD", "gone", "1", "x"]);
        r.q(&["ZMPOP", "1", "gone", "MIN"]);
        r.q(&["ZUNIONSTORE", "{x}u", "1", "a", "WEIGHTS", "2"]);
        r.q(&["ZRANGESTORE", "{x}r", "big", "0", "9"]);
        before = snapshot(&mut r, &keys);
        assert_eq!(r.q(&["EXISTS", "gone"]), int(0));
        server.shutdown();
    }
    let mut server = Server::start_in(dir.path(), 2, &[]);
    let mut r = server.raw();
    assert_eq!(snapshot(&mut r, &keys), before, "after replay");
    assert_eq!(r.q(&["OBJECT", "ENCODING", "big"]), bulk("skiplist"));
    r.q(&["BGREWRITEAOF"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = info_fields(&mut r, "persistence");
        if info["aof_rewrite_in_progress"] == "0" && info["aof_rewrites"] != "0" {
            break;
        }
        assert!(Instant::now() < deadline, "rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.shutdown();
    let server = Server::start_in(dir.path(), 2, &[]);
    let mut r = server.raw();
    assert_eq!(snapshot(&mut r, &keys), before, "after rewrite");
}

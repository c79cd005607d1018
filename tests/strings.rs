//! The string family over real sockets, byte for byte: every command in
//! `src/commands/strings.rs`'s SPECS, its options and its errors. Every test body runs against
//! `--shards 1` and `--shards 4`, so multi-key commands are exercised both on one shard and
//! split across shards (keys are picked with [`common::key_on_shard`]).

mod common;

use std::time::{Duration, Instant};

use common::{NIL, OK, Raw, Server, arr, bulk, err, int, key_on_shard};

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Runs `body` against a fresh server with one shard, then with four.
fn on_both(body: impl Fn(&mut Raw)) {
    on_both_with(&[], body);
}

/// [`on_both`] with extra command-line arguments.
fn on_both_with(extra: &[&str], body: impl Fn(&mut Raw)) {
    for shards in [1, 4] {
        let server = Server::start(shards, extra);
        let mut c = server.raw();
        body(&mut c);
    }
}

fn invalid_expire(cmd: &str) -> String {
    err(&format!("ERR invalid expire time in '{cmd}' command"))
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

fn ttl(c: &mut Raw, key: &str) -> i64 {
    let reply = c.q(&["TTL", key]);
    reply[1..reply.len() - 2].parse().expect("integer reply")
}

fn pttl(c: &mut Raw, key: &str) -> i64 {
    let reply = c.q(&["PTTL", key]);
    reply[1..reply.len() - 2].parse().expect("integer reply")
}

/// The value of one field of `INFO stats`.
fn info_stat(c: &mut Raw, field: &str) -> u64 {
    let info = c.q(&["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO stats has no {field}"))
        .trim()
        .parse()
        .expect("numeric stat")
}

#[test]
fn get_and_plain_set() {
    on_both(|c| {
        assert_eq!(c.q(&["GET", "k"]), NIL);
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["GET", "k"]), bulk("v"));
        assert_eq!(c.q(&["SET", "k", "other"]), OK);
        assert_eq!(c.q(&["GET", "k"]), bulk("other"));
        assert_eq!(c.q(&["SET", "empty", ""]), OK);
        assert_eq!(c.q(&["GET", "empty"]), bulk(""));
        assert_eq!(c.q(&["EXISTS", "empty"]), int(1));
        // Binary keys and values, including CR, LF and NUL.
        let key: &[u8] = b"bin\x00\r\nkey\xff";
        let value: &[u8] = b"\x00\x01\r\n\xfe";
        assert_eq!(c.qb(&[b"SET", key, value]), OK);
        assert_eq!(c.qb(&[b"GET", key]), "$5\r\n\x00\x01\r\n\u{fffd}\r\n");
        c.cmd(&[b"GET", key]);
        assert_eq!(c.read_reply(), b"$5\r\n\x00\x01\r\n\xfe\r\n");
        // A large value survives intact.
        let big = "x".repeat(1 << 20);
        assert_eq!(c.q(&["SET", "big", &big]), OK);
        assert_eq!(c.q(&["GET", "big"]), bulk(&big));
        // Arity.
        assert_eq!(
            c.q(&["GET"]),
            err("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(
            c.q(&["GET", "a", "b"]),
            err("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(
            c.q(&["SET", "k"]),
            err("ERR wrong number of arguments for 'set' command")
        );
    });
}

#[test]
fn set_nx_xx_get() {
    on_both(|c| {
        assert_eq!(c.q(&["SET", "k", "1", "XX"]), NIL);
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(c.q(&["SET", "k", "1", "NX"]), OK);
        assert_eq!(c.q(&["SET", "k", "2", "NX"]), NIL);
        assert_eq!(c.q(&["GET", "k"]), bulk("1"));
        assert_eq!(c.q(&["SET", "k", "2", "XX"]), OK);
        assert_eq!(c.q(&["GET", "k"]), bulk("2"));
        // GET returns the old value, whether or not NX/XX let the write happen.
        assert_eq!(c.q(&["SET", "k", "3", "GET"]), bulk("2"));
        assert_eq!(c.q(&["SET", "new", "3", "GET"]), NIL);
        assert_eq!(c.q(&["GET", "new"]), bulk("3"));
        assert_eq!(c.q(&["SET", "k", "4", "NX", "GET"]), bulk("3"));
        assert_eq!(c.q(&["GET", "k"]), bulk("3"));
        assert_eq!(c.q(&["SET", "nx1", "4", "NX", "GET"]), NIL);
        assert_eq!(c.q(&["GET", "nx1"]), bulk("4"));
        assert_eq!(c.q(&["SET", "xx1", "4", "GET", "XX"]), NIL);
        assert_eq!(c.q(&["EXISTS", "xx1"]), int(0));
        assert_eq!(c.q(&["SET", "k", "5", "get", "xx"]), bulk("3"));
        assert_eq!(c.q(&["GET", "k"]), bulk("5"));
        // Contradictions are syntax errors; repeats are not.
        assert_eq!(c.q(&["SET", "k", "6", "NX", "XX"]), err(SYNTAX));
        assert_eq!(c.q(&["SET", "k", "6", "XX", "GET", "NX"]), err(SYNTAX));
        assert_eq!(c.q(&["SET", "k", "6", "XX", "XX"]), OK);
        assert_eq!(c.q(&["SET", "k", "7", "NX", "NX"]), NIL);
        assert_eq!(c.q(&["SET", "k", "7", "GET", "GET"]), bulk("6"));
        assert_eq!(c.q(&["SET", "k", "8", "FOO"]), err(SYNTAX));
        assert_eq!(c.q(&["SET", "k", "8", "NXX"]), err(SYNTAX));
        assert_eq!(c.q(&["GET", "k"]), bulk("7"));
        // Option names are C strings in Redis: "NX\0junk" is NX.
        assert_eq!(c.qb(&[b"SET", b"k", b"9", b"NX\x00junk"]), NIL);
    });
}

#[test]
fn set_expiry_options() {
    on_both(|c| {
        assert_eq!(c.q(&["SET", "k", "v", "EX", "100"]), OK);
        assert_eq!(ttl(c, "k"), 100);
        assert_eq!(c.q(&["SET", "k", "v", "PX", "100000"]), OK);
        assert!((99_000..=100_000).contains(&pttl(c, "k")));
        let at_s = now_ms() / 1000 + 1000;
        assert_eq!(c.q(&["SET", "k", "v", "EXAT", &at_s.to_string()]), OK);
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(at_s as i64));
        let at_ms = now_ms() + 500_000;
        assert_eq!(c.q(&["SET", "k", "v", "pxat", &at_ms.to_string()]), OK);
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(at_ms as i64));
        // KEEPTTL keeps the deadline, a plain SET clears it.
        assert_eq!(c.q(&["SET", "k", "w", "KEEPTTL"]), OK);
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(at_ms as i64));
        assert_eq!(c.q(&["GET", "k"]), bulk("w"));
        assert_eq!(c.q(&["SET", "k", "x"]), OK);
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        // A repeated expiry option: the last value wins.
        assert_eq!(c.q(&["SET", "k", "v", "EX", "10", "EX", "200"]), OK);
        assert_eq!(ttl(c, "k"), 200);
        assert_eq!(c.q(&["SET", "k", "v", "KEEPTTL", "KEEPTTL"]), OK);
        assert_eq!(ttl(c, "k"), 200);
        // Different expiry kinds, or an expiry with KEEPTTL, contradict each other.
        for opts in [
            &["EX", "10", "PX", "100"][..],
            &["PX", "10", "EXAT", "100"],
            &["EXAT", "10", "PXAT", "100"],
            &["PXAT", "10", "EX", "100"],
            &["KEEPTTL", "EX", "10"],
            &["EX", "10", "KEEPTTL"],
            &["EX"],
            &["PERSIST"],
        ] {
            let mut cmd = vec!["SET", "k", "v"];
            cmd.extend_from_slice(opts);
            assert_eq!(c.q(&cmd), err(SYNTAX), "{opts:?}");
        }
        // Bad values, checked only once every option parsed.
        assert_eq!(c.q(&["SET", "k", "v", "EX", "0"]), invalid_expire("set"));
        assert_eq!(c.q(&["SET", "k", "v", "PX", "-1"]), invalid_expire("set"));
        assert_eq!(c.q(&["SET", "k", "v", "EXAT", "0"]), invalid_expire("set"));
        assert_eq!(c.q(&["SET", "k", "v", "EX", "abc"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SET", "k", "v", "EX", "1.5"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SET", "k", "v", "EX", "abc", "FOO"]), err(SYNTAX));
        assert_eq!(c.q(&["SET", "k", "v", "EX", "abc", "EX", "300"]), OK);
        assert_eq!(ttl(c, "k"), 300);
        assert_eq!(
            c.q(&["SET", "k", "v", "EX", "9223372036854775"]),
            invalid_expire("set")
        );
        assert_eq!(
            c.q(&["SET", "k", "v", "PX", "9223372036854775807"]),
            invalid_expire("set")
        );
        assert_eq!(
            c.q(&["SET", "k", "v", "EXAT", "9223372036854775807"]),
            invalid_expire("set")
        );
        assert_eq!(c.q(&["SET", "k", "v", "PXAT", "9223372036854775807"]), OK);
        // A failed SET changes nothing.
        assert_eq!(c.q(&["GET", "k"]), bulk("v"));
        // A deadline in the past: the write succeeds and the key is gone.
        assert_eq!(c.q(&["SET", "k", "past", "EXAT", "1"]), OK);
        assert_eq!(c.q(&["GET", "k"]), NIL);
        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["SET", "k", "w", "PXAT", "1", "GET"]), bulk("v"));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        // NX with an expiry on an existing key does not touch its TTL.
        assert_eq!(c.q(&["SET", "k", "v", "EX", "100"]), OK);
        assert_eq!(c.q(&["SET", "k", "w", "NX", "EX", "5"]), NIL);
        assert_eq!(ttl(c, "k"), 100);
        assert_eq!(c.q(&["SET", "k", "w", "XX", "KEEPTTL", "GET"]), bulk("v"));
        assert_eq!(ttl(c, "k"), 100);
    });
}

#[test]
fn setnx_setex_psetex() {
    on_both(|c| {
        assert_eq!(c.q(&["SETNX", "k", "1"]), int(1));
        assert_eq!(c.q(&["SETNX", "k", "2"]), int(0));
        assert_eq!(c.q(&["GET", "k"]), bulk("1"));
        assert_eq!(
            c.q(&["SETNX", "k"]),
            err("ERR wrong number of arguments for 'setnx' command")
        );

        assert_eq!(c.q(&["SETEX", "k", "100", "v"]), OK);
        assert_eq!(ttl(c, "k"), 100);
        assert_eq!(c.q(&["GET", "k"]), bulk("v"));
        assert_eq!(c.q(&["PSETEX", "p", "100000", "v"]), OK);
        assert!((99_000..=100_000).contains(&pttl(c, "p")));
        assert_eq!(c.q(&["SETEX", "k", "0", "v"]), invalid_expire("setex"));
        assert_eq!(c.q(&["SETEX", "k", "-5", "v"]), invalid_expire("setex"));
        assert_eq!(c.q(&["PSETEX", "k", "0", "v"]), invalid_expire("psetex"));
        assert_eq!(c.q(&["SETEX", "k", "abc", "v"]), err(NOT_INTEGER));
        assert_eq!(
            c.q(&["SETEX", "k", "9223372036854775807", "v"]),
            invalid_expire("setex")
        );
        assert_eq!(
            c.q(&["PSETEX", "k", "9223372036854775807", "v"]),
            invalid_expire("psetex")
        );
        assert_eq!(
            c.q(&["SETEX", "k", "10"]),
            err("ERR wrong number of arguments for 'setex' command")
        );
        // The failed ones left the key as it was.
        assert_eq!(ttl(c, "k"), 100);
        // SETNX on a key with a TTL leaves both alone.
        assert_eq!(c.q(&["SETNX", "k", "w"]), int(0));
        assert_eq!(ttl(c, "k"), 100);
    });
}

#[test]
fn getset_and_getdel() {
    on_both(|c| {
        assert_eq!(c.q(&["GETSET", "k", "1"]), NIL);
        assert_eq!(c.q(&["GETSET", "k", "2"]), bulk("1"));
        assert_eq!(c.q(&["GET", "k"]), bulk("2"));
        // GETSET clears the TTL, as a plain SET does.
        assert_eq!(c.q(&["EXPIRE", "k", "100"]), int(1));
        assert_eq!(c.q(&["GETSET", "k", "3"]), bulk("2"));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));

        assert_eq!(c.q(&["GETDEL", "k"]), bulk("3"));
        assert_eq!(c.q(&["GETDEL", "k"]), NIL);
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(
            c.q(&["GETDEL", "k", "x"]),
            err("ERR wrong number of arguments for 'getdel' command")
        );
    });
}

#[test]
fn getex_every_option() {
    on_both(|c| {
        assert_eq!(c.q(&["GETEX", "missing"]), NIL);
        // A missing key answers nil before the expiry value is even looked at.
        assert_eq!(c.q(&["GETEX", "missing", "EX", "abc"]), NIL);
        assert_eq!(c.q(&["GETEX", "missing", "EX", "0"]), NIL);
        assert_eq!(c.q(&["GETEX", "missing", "FOO"]), err(SYNTAX));

        assert_eq!(c.q(&["SET", "k", "v"]), OK);
        assert_eq!(c.q(&["GETEX", "k"]), bulk("v"));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        assert_eq!(c.q(&["GETEX", "k", "EX", "100"]), bulk("v"));
        assert_eq!(ttl(c, "k"), 100);
        assert_eq!(c.q(&["GETEX", "k", "PX", "200000"]), bulk("v"));
        assert!((199_000..=200_000).contains(&pttl(c, "k")));
        let at_s = now_ms() / 1000 + 3000;
        assert_eq!(c.q(&["GETEX", "k", "EXAT", &at_s.to_string()]), bulk("v"));
        assert_eq!(c.q(&["EXPIRETIME", "k"]), int(at_s as i64));
        let at_ms = now_ms() + 400_000;
        assert_eq!(c.q(&["GETEX", "k", "PXAT", &at_ms.to_string()]), bulk("v"));
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(at_ms as i64));
        // Plain GETEX leaves the TTL alone; PERSIST removes it.
        assert_eq!(c.q(&["GETEX", "k"]), bulk("v"));
        assert_eq!(c.q(&["PEXPIRETIME", "k"]), int(at_ms as i64));
        assert_eq!(c.q(&["GETEX", "k", "PERSIST"]), bulk("v"));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        assert_eq!(c.q(&["GETEX", "k", "persist", "PERSIST"]), bulk("v"));
        assert_eq!(c.q(&["GETEX", "k", "EX", "5", "EX", "500"]), bulk("v"));
        assert_eq!(ttl(c, "k"), 500);
        // Errors.
        for opts in [
            &["PERSIST", "EX", "10"][..],
            &["EX", "10", "PERSIST"],
            &["EX", "10", "PX", "10"],
            &["KEEPTTL"],
            &["NX"],
            &["GET"],
            &["EX"],
        ] {
            let mut cmd = vec!["GETEX", "k"];
            cmd.extend_from_slice(opts);
            assert_eq!(c.q(&cmd), err(SYNTAX), "{opts:?}");
        }
        assert_eq!(c.q(&["GETEX", "k", "EX", "0"]), invalid_expire("getex"));
        assert_eq!(c.q(&["GETEX", "k", "PXAT", "-1"]), invalid_expire("getex"));
        assert_eq!(c.q(&["GETEX", "k", "EX", "x"]), err(NOT_INTEGER));
        assert_eq!(
            c.q(&["GETEX", "k", "PX", "9223372036854775807"]),
            invalid_expire("getex")
        );
        assert_eq!(ttl(c, "k"), 500);
        // A deadline in the past deletes the key after replying with its value.
        assert_eq!(c.q(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
        assert_eq!(c.q(&["EXISTS", "k"]), int(0));
        assert_eq!(
            c.q(&["GETEX"]),
            err("ERR wrong number of arguments for 'getex' command")
        );
    });
}

#[test]
fn mget_mset_msetnx_across_shards() {
    // Keys on each of the four shards of a 4-shard server (all on one shard with --shards 1).
    let keys: Vec<String> = (0..4).map(|s| key_on_shard("m", s, 4)).collect();
    on_both(|c| {
        let k: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(
            c.q(&["MSET", k[0], "a", k[1], "b", k[2], "c", k[3], "d"]),
            OK
        );
        assert_eq!(
            c.q(&["MGET", k[3], "missing", k[0], k[2], k[1], k[0]]),
            arr(&[
                bulk("d"),
                NIL.into(),
                bulk("a"),
                bulk("c"),
                bulk("b"),
                bulk("a")
            ])
        );
        // The last value of a repeated key wins, as in Redis.
        assert_eq!(c.q(&["MSET", k[1], "x", k[2], "y", k[1], "z"]), OK);
        assert_eq!(c.q(&["MGET", k[1], k[2]]), arr(&[bulk("z"), bulk("y")]));
        // MSET clears TTLs.
        assert_eq!(c.q(&["EXPIRE", k[3], "100"]), int(1));
        assert_eq!(c.q(&["MSET", k[3], "e"]), OK);
        assert_eq!(c.q(&["TTL", k[3]]), int(-1));
        assert_eq!(
            c.q(&["MSET", k[0]]),
            err("ERR wrong number of arguments for 'mset' command")
        );
        assert_eq!(
            c.q(&["MSET", "{t}a", "1", "{t}b"]),
            err("ERR wrong number of arguments for 'mset' command")
        );
        assert_eq!(c.q(&["EXISTS", "{t}a", "{t}b"]), int(0));
        assert_eq!(
            c.q(&["MGET"]),
            err("ERR wrong number of arguments for 'mget' command")
        );

        // MSETNX: all or nothing, wherever the existing key lives.
        let n: Vec<String> = (0..4).map(|s| key_on_shard("nx", s, 4)).collect();
        assert_eq!(
            c.q(&["MSETNX", &n[0], "1", &n[1], "2", k[2], "3", &n[3], "4"]),
            int(0)
        );
        assert_eq!(c.q(&["EXISTS", &n[0], &n[1], &n[3]]), int(0));
        assert_eq!(c.q(&["GET", k[2]]), bulk("y"));
        assert_eq!(
            c.q(&["MSETNX", &n[0], "1", &n[1], "2", &n[2], "3", &n[3], "4"]),
            int(1)
        );
        assert_eq!(
            c.q(&["MGET", &n[0], &n[1], &n[2], &n[3]]),
            arr(&[bulk("1"), bulk("2"), bulk("3"), bulk("4")])
        );
        assert_eq!(c.q(&["MSETNX", "fresh", "1", "fresh", "2"]), int(1));
        assert_eq!(c.q(&["GET", "fresh"]), bulk("2"));
        assert_eq!(
            c.q(&["MSETNX", "a", "1", "b"]),
            err("ERR wrong number of arguments for 'msetnx' command")
        );
        assert_eq!(c.q(&["EXISTS", "a"]), int(0));
    });
}

#[test]
fn incr_family() {
    on_both(|c| {
        assert_eq!(c.q(&["INCR", "n"]), int(1));
        assert_eq!(c.q(&["INCR", "n"]), int(2));
        assert_eq!(c.q(&["DECR", "n"]), int(1));
        assert_eq!(c.q(&["DECR", "fresh"]), int(-1));
        assert_eq!(c.q(&["INCRBY", "n", "41"]), int(42));
        assert_eq!(c.q(&["INCRBY", "n", "-50"]), int(-8));
        assert_eq!(c.q(&["DECRBY", "n", "-10"]), int(2));
        assert_eq!(c.q(&["DECRBY", "n", "5"]), int(-3));
        assert_eq!(c.q(&["GET", "n"]), bulk("-3"));
        // Overflow in both directions leaves the value alone.
        assert_eq!(c.q(&["SET", "n", "9223372036854775806"]), OK);
        assert_eq!(c.q(&["INCR", "n"]), int(i64::MAX));
        let overflow = err("ERR increment or decrement would overflow");
        assert_eq!(c.q(&["INCR", "n"]), overflow);
        assert_eq!(c.q(&["INCRBY", "n", "1"]), overflow);
        assert_eq!(c.q(&["GET", "n"]), bulk("9223372036854775807"));
        assert_eq!(c.q(&["SET", "n", "-9223372036854775807"]), OK);
        assert_eq!(c.q(&["DECR", "n"]), int(i64::MIN));
        assert_eq!(c.q(&["DECR", "n"]), overflow);
        assert_eq!(c.q(&["DECRBY", "n", "1"]), overflow);
        assert_eq!(c.q(&["INCRBY", "n", "-1"]), overflow);
        assert_eq!(
            c.q(&["DECRBY", "n", "-9223372036854775808"]),
            err("ERR decrement would overflow")
        );
        assert_eq!(
            c.q(&["INCRBY", "n", "9223372036854775807"]),
            int(-1),
            "MIN + MAX"
        );
        // Values and increments that are not integers as Redis reads them.
        for bad in [
            "abc",
            "1.5",
            " 1",
            "1 ",
            "+1",
            "01",
            "-0",
            "",
            "9223372036854775808",
            "1e3",
        ] {
            assert_eq!(c.q(&["SET", "s", bad]), OK);
            assert_eq!(c.q(&["INCR", "s"]), err(NOT_INTEGER), "{bad:?}");
            assert_eq!(c.q(&["DECRBY", "s", "1"]), err(NOT_INTEGER), "{bad:?}");
            assert_eq!(c.q(&["GET", "s"]), bulk(bad));
            assert_eq!(c.q(&["INCRBY", "n2", bad]), err(NOT_INTEGER), "{bad:?}");
            assert_eq!(c.q(&["DECRBY", "n2", bad]), err(NOT_INTEGER), "{bad:?}");
        }
        assert_eq!(c.q(&["EXISTS", "n2"]), int(0));
        // INCR keeps the TTL.
        assert_eq!(c.q(&["SET", "t", "5", "EX", "100"]), OK);
        assert_eq!(c.q(&["INCR", "t"]), int(6));
        assert_eq!(ttl(c, "t"), 100);
        assert_eq!(
            c.q(&["INCRBY", "t"]),
            err("ERR wrong number of arguments for 'incrby' command")
        );
        assert_eq!(
            c.q(&["INCR", "t", "1"]),
            err("ERR wrong number of arguments for 'incr' command")
        );
    });
}

#[test]
fn incrbyfloat() {
    on_both(|c| {
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "-10.6"]), bulk("0"));
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "5.0e3"]), bulk("5000"));
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "-5200.25"]), bulk("-0.25"));
        assert_eq!(c.q(&["GET", "f"]), bulk("-0.25"));
        // Integers and numbers Redis's strtold accepts.
        assert_eq!(c.q(&["SET", "f", "3"]), OK);
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "1"]), bulk("4"));
        assert_eq!(c.q(&["SET", "f", "0x10"]), OK);
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "+.5"]), bulk("16.5"));
        assert_eq!(c.q(&["SET", "f", "1e2"]), OK);
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "1E-1"]), bulk("100.1"));
        // Results Redis's long double arithmetic gives (a double would show 0.30000000000000004
        // and 123456789.124).
        assert_eq!(c.q(&["SET", "f", "0.1"]), OK);
        assert_eq!(c.q(&["INCRBYFLOAT", "f", "0.2"]), bulk("0.3"));
        assert_eq!(c.q(&["SET", "f", "123456789.123"]), OK);
        assert_eq!(
            c.q(&["INCRBYFLOAT", "f", "0.001"]),
            bulk("123456789.12399999999615829")
        );
        // Far beyond a double's range, as in Redis.
        assert_eq!(c.q(&["SET", "f", "0"]), OK);
        let huge = c.q(&["INCRBYFLOAT", "f", "1e400"]);
        assert!(huge.starts_with("$401\r\n1000000000000000000028"), "{huge}");
        // Errors leave the value alone.
        assert_eq!(c.q(&["SET", "f", "1.5"]), OK);
        for bad in ["abc", "", " 1", "1 ", "nan", "1e5000", "--1", "1,5"] {
            assert_eq!(c.q(&["INCRBYFLOAT", "f", bad]), err(NOT_FLOAT), "{bad:?}");
        }
        assert_eq!(
            c.q(&["INCRBYFLOAT", "f", "inf"]),
            err("ERR increment would produce NaN or Infinity")
        );
        assert_eq!(c.q(&["GET", "f"]), bulk("1.5"));
        for bad in ["abc", " 1", "1.5x", "nan"] {
            assert_eq!(c.q(&["SET", "s", bad]), OK);
            assert_eq!(c.q(&["INCRBYFLOAT", "s", "1"]), err(NOT_FLOAT), "{bad:?}");
        }
        // The TTL stays.
        assert_eq!(c.q(&["SET", "t", "1", "EX", "100"]), OK);
        assert_eq!(c.q(&["INCRBYFLOAT", "t", "1.5"]), bulk("2.5"));
        assert_eq!(ttl(c, "t"), 100);
    });
}

#[test]
fn append_and_strlen() {
    on_both(|c| {
        assert_eq!(c.q(&["STRLEN", "k"]), int(0));
        assert_eq!(c.q(&["APPEND", "k", "hello"]), int(5));
        assert_eq!(c.q(&["APPEND", "k", " world"]), int(11));
        assert_eq!(c.q(&["APPEND", "k", ""]), int(11));
        assert_eq!(c.q(&["GET", "k"]), bulk("hello world"));
        assert_eq!(c.q(&["STRLEN", "k"]), int(11));
        assert_eq!(c.q(&["APPEND", "e", ""]), int(0));
        assert_eq!(
            c.q(&["EXISTS", "e"]),
            int(1),
            "APPEND creates even an empty key"
        );
        // The TTL stays.
        assert_eq!(c.q(&["EXPIRE", "k", "100"]), int(1));
        assert_eq!(c.q(&["APPEND", "k", "!"]), int(12));
        assert_eq!(ttl(c, "k"), 100);
        assert_eq!(c.q(&["SET", "n", "12"]), OK);
        assert_eq!(c.q(&["APPEND", "n", "3"]), int(3));
        assert_eq!(c.q(&["INCR", "n"]), int(124));
        assert_eq!(
            c.q(&["STRLEN"]),
            err("ERR wrong number of arguments for 'strlen' command")
        );
    });
}

#[test]
fn getrange_and_substr_edges() {
    on_both(|c| {
        assert_eq!(c.q(&["SET", "k", "Hello World"]), OK);
        let cases: &[(&str, &str, &str)] = &[
            ("0", "-1", "Hello World"),
            ("0", "4", "Hello"),
            ("-5", "-1", "World"),
            ("-3", "-1", "rld"),
            ("5", "3", ""),
            ("-100", "100", "Hello World"),
            ("-100", "-100", "H"),
            ("100", "200", ""),
            ("-1", "-5", ""),
            ("0", "0", "H"),
            ("10", "10", "d"),
            ("11", "11", ""),
            ("-1", "0", ""),
            ("3", "-9", ""),
            ("3", "-8", "l"),
            ("-9223372036854775808", "9223372036854775807", "Hello World"),
            ("9223372036854775807", "-9223372036854775808", ""),
        ];
        for (start, end, expected) in cases {
            assert_eq!(
                c.q(&["GETRANGE", "k", start, end]),
                bulk(expected),
                "GETRANGE {start} {end}"
            );
            assert_eq!(c.q(&["SUBSTR", "k", start, end]), bulk(expected));
        }
        assert_eq!(c.q(&["GETRANGE", "missing", "0", "-1"]), bulk(""));
        assert_eq!(c.q(&["SET", "e", ""]), OK);
        assert_eq!(c.q(&["GETRANGE", "e", "0", "-1"]), bulk(""));
        assert_eq!(c.q(&["GETRANGE", "e", "-1", "0"]), bulk(""));
        assert_eq!(c.q(&["SET", "n", "12345"]), OK);
        assert_eq!(c.q(&["GETRANGE", "n", "1", "2"]), bulk("23"));
        assert_eq!(c.q(&["GETRANGE", "k", "a", "1"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["GETRANGE", "missing", "1", "1.5"]), err(NOT_INTEGER));
        assert_eq!(
            c.q(&["GETRANGE", "k", "0"]),
            err("ERR wrong number of arguments for 'getrange' command")
        );
    });
}

#[test]
fn setrange_padding_and_limits() {
    on_both(|c| {
        assert_eq!(c.q(&["SETRANGE", "k", "5", "hi"]), int(7));
        c.cmd(&[b"GET", b"k"]);
        assert_eq!(c.read_reply(), b"$7\r\n\x00\x00\x00\x00\x00hi\r\n");
        assert_eq!(c.q(&["SETRANGE", "k", "0", "ab"]), int(7));
        assert_eq!(c.q(&["GETRANGE", "k", "0", "1"]), bulk("ab"));
        assert_eq!(c.q(&["SETRANGE", "k", "6", "XYZ"]), int(9));
        c.cmd(&[b"GET", b"k"]);
        assert_eq!(c.read_reply(), b"$9\r\nab\x00\x00\x00hXYZ\r\n");
        // Writing nothing answers the length and creates nothing, whatever the offset.
        assert_eq!(c.q(&["SETRANGE", "k", "100", ""]), int(9));
        assert_eq!(c.q(&["SETRANGE", "none", "0", ""]), int(0));
        assert_eq!(c.q(&["SETRANGE", "none", "536870912", ""]), int(0));
        assert_eq!(c.q(&["EXISTS", "none"]), int(0));
        assert_eq!(
            c.q(&["SETRANGE", "k", "-1", "x"]),
            err("ERR offset is out of range")
        );
        assert_eq!(c.q(&["SETRANGE", "k", "x", "x"]), err(NOT_INTEGER));
        assert_eq!(c.q(&["SETRANGE", "k", "536870912", "x"]), err(TOO_BIG));
        assert_eq!(
            c.q(&["SETRANGE", "k", "9223372036854775807", "x"]),
            err(TOO_BIG)
        );
        assert_eq!(c.q(&["SETRANGE", "new", "536870912", "x"]), err(TOO_BIG));
        assert_eq!(c.q(&["EXISTS", "new"]), int(0));
        assert_eq!(c.q(&["STRLEN", "k"]), int(9));
        // The TTL stays.
        assert_eq!(c.q(&["EXPIRE", "k", "100"]), int(1));
        assert_eq!(c.q(&["SETRANGE", "k", "0", "z"]), int(9));
        assert_eq!(ttl(c, "k"), 100);
        // The limit is the live proto-max-bulk-len, for APPEND too.
        assert_eq!(c.q(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]), OK);
        let mb = 1024 * 1024;
        assert_eq!(
            c.q(&["SETRANGE", "big", &(mb - 1).to_string(), "x"]),
            int(mb)
        );
        assert_eq!(
            c.q(&["SETRANGE", "big", &mb.to_string(), "x"]),
            err(TOO_BIG)
        );
        assert_eq!(c.q(&["APPEND", "big", "x"]), err(TOO_BIG));
        assert_eq!(c.q(&["STRLEN", "big"]), int(mb));
    });
}

#[test]
fn lazy_expiry() {
    on_both_with(&["--enable-debug-command", "yes"], |c| {
        // With active expiry off, only an access can remove the key.
        assert_eq!(c.q(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), OK);
        let before = info_stat(c, "expired_keys");
        assert_eq!(c.q(&["SET", "k", "v", "PX", "50"]), OK);
        assert_eq!(c.q(&["PSETEX", "k2", "50", "v"]), OK);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(c.q(&["DBSIZE"]), int(2), "not removed until touched");
        assert_eq!(c.q(&["GET", "k"]), NIL);
        assert_eq!(c.q(&["DBSIZE"]), int(1));
        assert_eq!(c.q(&["EXISTS", "k2"]), int(0));
        assert_eq!(c.q(&["DBSIZE"]), int(0));
        assert_eq!(info_stat(c, "expired_keys"), before + 2);
        // An expired key is gone for every command, not only reads.
        assert_eq!(c.q(&["SET", "k", "5", "PX", "30"]), OK);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.q(&["INCR", "k"]), int(1));
        assert_eq!(c.q(&["TTL", "k"]), int(-1));
        assert_eq!(c.q(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), OK);
    });
}

#[test]
fn active_expiry() {
    on_both(|c| {
        let before = info_stat(c, "expired_keys");
        for i in 0..300 {
            assert_eq!(c.q(&["SET", &format!("v{i}"), "x", "PX", "100"]), OK);
        }
        for i in 0..20 {
            assert_eq!(c.q(&["SET", &format!("p{i}"), "x"]), OK);
        }
        // Nothing touches the volatile keys: the server must find them by itself.
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.q(&["DBSIZE"]) != int(20) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(c.q(&["DBSIZE"]), int(20));
        // Each key expires once. (Fails while Db::expire_sample counts a key the sampler
        // visited twice as two expirations.)
        assert_eq!(info_stat(c, "expired_keys"), before + 300);
    });
}

//! SLOWLOG and LATENCY over real sockets, against a real redis-server 7.0 where Redis's answer
//! is deterministic: help and error texts byte for byte, the arguments and client names of
//! slowlog entries, the shape of LATENCY HISTOGRAM and the latency monitor's replies.
//! corekv-specific behaviour (per-shard logs merged, ids unique across shards, clients
//! resolved on other cores) is checked on its own.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Raw, RefRedis, Resp, Server, key_on_shard};

const OK: &str = "+OK\r\n";

/// Upper bounds (µs) Redis 7.0 prints as LATENCY HISTOGRAM keys: the highest value
/// equivalent to 1024 ns · 2^k in its hdr histogram, and the last bucket for the slowest.
const REDIS_BUCKETS_US: &[i64] = &[
    1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816, 67633, 135266,
    270532, 541065, 1073741,
];

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Every entry of the slowlog, newest first.
fn slowlog(raw: &mut Raw) -> Vec<Resp> {
    raw.call(&["SLOWLOG", "GET", "-1"]).items().to_vec()
}

/// An entry's arguments.
fn args_of(entry: &Resp) -> Vec<String> {
    entry.items()[3].items().iter().map(Resp::text).collect()
}

/// An entry's (client address, client name).
fn client_of(entry: &Resp) -> (String, String) {
    (entry.items()[4].text(), entry.items()[5].text())
}

fn ids(entries: &[Resp]) -> Vec<i64> {
    entries.iter().map(|e| e.items()[0].int()).collect()
}

fn log_everything(raw: &mut Raw) {
    assert_eq!(
        raw.q(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        OK
    );
    assert_eq!(raw.q(&["SLOWLOG", "RESET"]), OK);
}

fn local_addr(raw: &Raw) -> String {
    raw.stream.local_addr().expect("local addr").to_string()
}

#[test]
fn slowlog_merges_every_shard_newest_first_with_unique_increasing_ids() {
    let nr_shards = 4;
    let server = Server::start(nr_shards, &[]);
    let mut raw = server.raw();
    log_everything(&mut raw);
    let keys: Vec<String> = (0..nr_shards)
        .map(|s| key_on_shard("slow", s, nr_shards))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(raw.q(&["SET", k, &i.to_string()]), OK);
    }
    let before = unix_secs();
    let entries = slowlog(&mut raw);
    let got: Vec<Vec<String>> = entries.iter().map(args_of).collect();
    let mut expected: Vec<Vec<String>> = keys
        .iter()
        .enumerate()
        .rev()
        .map(|(i, k)| vec!["SET".into(), k.clone(), i.to_string()])
        .collect();
    expected.push(vec!["SLOWLOG".into(), "RESET".into()]);
    assert_eq!(got, expected, "every shard's commands, newest first");
    let ids = ids(&entries);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "ids unique and decreasing: {ids:?}"
    );
    for e in &entries {
        let fields = e.items();
        assert_eq!(fields.len(), 6);
        assert!((fields[1].int() - before).abs() <= 5, "unix time: {e:?}");
        assert!(fields[2].int() >= 0, "duration µs: {e:?}");
    }

    // A second connection's commands interleave by id with the first one's.
    let mut other = server.raw();
    assert_eq!(other.q(&["SET", &keys[1], "x"]), OK);
    assert_eq!(raw.q(&["SET", &keys[2], "y"]), OK);
    let newest = slowlog(&mut raw);
    assert_eq!(args_of(&newest[0]), ["SET", &keys[2], "y"]);
    assert_eq!(args_of(&newest[1]), ["SET", &keys[1], "x"]);
    assert_eq!(args_of(&newest[2]), ["SLOWLOG", "GET", "-1"]);
    assert!(newest[0].items()[0].int() > ids[0]);
}

#[test]
fn slowlog_get_count_len_and_reset() {
    let server = Server::start(3, &[]);
    let mut raw = server.raw();
    log_everything(&mut raw);
    for i in 0..14 {
        assert_eq!(raw.q(&["SET", &format!("k{i}"), "v"]), OK);
    }
    // RESET's own entry plus the 14 SETs.
    assert_eq!(raw.call(&["SLOWLOG", "LEN"]).int(), 15);
    let ten = raw.call(&["SLOWLOG", "GET"]).items().to_vec();
    assert_eq!(ten.len(), 10, "GET's default count");
    // LEN and the GET above are logged too: the newest is now the GET.
    assert_eq!(args_of(&ten[0]), ["SLOWLOG", "LEN"]);
    let two = raw.call(&["SLOWLOG", "GET", "2"]).items().to_vec();
    assert_eq!(args_of(&two[0]), ["SLOWLOG", "GET"]);
    assert_eq!(args_of(&two[1]), ["SLOWLOG", "LEN"]);
    assert!(raw.call(&["SLOWLOG", "GET", "0"]).items().is_empty());
    // RESET, 14 SETs, LEN, GET, GET 2, GET 0.
    assert_eq!(slowlog(&mut raw).len(), 19);
    assert_eq!(raw.q(&["SLOWLOG", "RESET"]), OK);
    let after = slowlog(&mut raw);
    assert_eq!(after.len(), 1);
    assert_eq!(args_of(&after[0]), ["SLOWLOG", "RESET"]);
    assert!(
        after[0].items()[0].int() > two[0].items()[0].int(),
        "RESET does not rewind ids"
    );
}

/// The same commands on corekv and redis-server leave the same arguments and client names in
/// the slowlog: truncation of many and long arguments, redacted secrets, EXEC not logged,
/// commands refused before running not logged.
#[test]
fn slowlog_entries_match_redis() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(1, &[]);
    let mset: Vec<String> = (0..40)
        .flat_map(|i| [format!("{{t}}k{i}"), "v".into()])
        .collect();
    let long = "x".repeat(300);
    let exact = "y".repeat(128);
    let mut commands: Vec<Vec<String>> = [
        vec!["CLIENT", "SETNAME", "me"],
        vec!["SET", "k", &long],
        vec!["SET", "k", &exact],
        vec!["ECHO", &"z".repeat(129)],
        vec!["AUTH", "pw"],
        vec!["AUTH", "user", "pw"],
        vec!["AUTH", "a", "b", "c"],
        vec!["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "me"],
        vec!["HELLO", "3", "SETNAME", "me", "AUTH", "default"],
        vec!["HELLO", "2"],
        vec!["CONFIG", "SET", "maxmemory", "0", "requirepass", ""],
        vec!["CONFIG", "SET", "requirepass"],
        vec!["MULTI"],
        vec!["SET", "a", "1"],
        vec!["INCR", "a"],
        vec!["EXEC"],
        vec!["SLOWLOG", "nosuch"],
        vec!["SLOWLOG", "LEN", "x"],
        vec!["LATENCY", "HISTORY"],
        vec!["SLOWLOG", "GET", "1", "2"],
        vec!["GET"],
        vec!["NOSUCHCOMMAND", "x"],
        vec!["SLOWLOG", "LEN"],
    ]
    .iter()
    .map(|c| c.iter().map(|a| a.to_string()).collect())
    .collect();
    commands.insert(2, ["MSET".to_string()].into_iter().chain(mset).collect());
    let run = |raw: &mut Raw| -> Vec<(Vec<String>, String)> {
        log_everything(raw);
        for c in &commands {
            let c: Vec<&str> = c.iter().map(String::as_str).collect();
            raw.call(&c);
        }
        slowlog(raw)
            .iter()
            .map(|e| (args_of(e), client_of(e).1))
            .collect()
    };
    let theirs = run(&mut reference.raw());
    let mut ours = run(&mut server.raw());
    // Deviation (documented in src/commands/server/slowlog.rs): a transaction whose commands
    // all live on one shard runs them without the client's id, so they show no name.
    for (args, name) in ours.iter_mut() {
        if args[..] == ["SET", "a", "1"] || args[..] == ["INCR", "a"] {
            *name = "me".into();
        }
    }
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|(a, _)| a.len() == 32), "MSET was cut");
}

#[test]
fn slowlog_errors_and_help_match_redis_byte_for_byte() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(2, &[]);
    let (mut theirs, mut ours) = (reference.raw(), server.raw());
    for c in [
        &["SLOWLOG", "HELP"][..],
        &["SLOWLOG"],
        &["SLOWLOG", "foo"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG", "RESET", "x"],
        &["SLOWLOG", "HELP", "x"],
        &["SLOWLOG", "GET", "1", "2"],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "x"],
        &["SLOWLOG", "GET", "99999999999999999999"],
        &["SLOWLOG", "GET", "0"],
        &["SLOWLOG", "RESET"],
        &["SLOWLOG", "LEN"],
    ] {
        assert_eq!(ours.q(c), theirs.q(c), "{c:?}");
    }
}

/// Entries logged on another core than the client's connection name it by resolving its id
/// when SLOWLOG GET runs; a client that has gone shows "" and "" there.
#[test]
fn slowlog_names_clients_across_cores() {
    let nr_shards = 4;
    let server = Server::start(nr_shards, &[]);
    let mut raw = server.raw();
    log_everything(&mut raw);
    let keys: Vec<String> = (0..nr_shards)
        .map(|s| key_on_shard("who", s, nr_shards))
        .collect();

    let mut alice = server.raw();
    assert_eq!(alice.q(&["CLIENT", "SETNAME", "alice"]), OK);
    for k in &keys {
        assert_eq!(alice.q(&["SET", k, "a"]), OK);
    }
    let alice_addr = local_addr(&alice);
    let entries = slowlog(&mut raw);
    for e in entries.iter().filter(|e| args_of(e)[0] == "SET") {
        assert_eq!(client_of(e), (alice_addr.clone(), "alice".into()), "{e:?}");
    }

    let mut bob = server.raw();
    assert_eq!(bob.q(&["CLIENT", "SETNAME", "bob"]), OK);
    assert_eq!(raw.q(&["SLOWLOG", "RESET"]), OK);
    for k in &keys {
        assert_eq!(bob.q(&["GET", k]), "$1\r\na\r\n");
    }
    let bob_addr = local_addr(&bob);
    drop(bob);
    let mut gone = || {
        let list = raw.call(&["CLIENT", "LIST"]).text();
        !list.contains(&bob_addr)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone() {
        assert!(std::time::Instant::now() < deadline, "bob never left");
        std::thread::sleep(Duration::from_millis(20));
    }
    let gets: Vec<(String, String)> = slowlog(&mut raw)
        .iter()
        .filter(|e| args_of(e)[0] == "GET")
        .map(client_of)
        .collect();
    assert_eq!(gets.len(), nr_shards);
    // The GET on bob's own core was named when it was logged; the others looked bob up later.
    let known = gets
        .iter()
        .filter(|c| **c == (bob_addr.clone(), "bob".into()));
    assert_eq!(known.count(), 1, "{gets:?}");
    let blank = gets
        .iter()
        .filter(|c| **c == (String::new(), String::new()));
    assert_eq!(blank.count(), nr_shards - 1, "{gets:?}");
}

#[test]
fn slowlog_threshold_and_max_len_behave_as_in_redis() {
    let reference = RefRedis::start(&["--enable-debug-command", "yes"]);
    let server = Server::start(3, &["--enable-debug-command", "yes"]);
    let run = |raw: &mut Raw| -> Vec<String> {
        let mut seen = Vec::new();
        // The default threshold (10 ms) logs a 20 ms command and not a quick one.
        assert_eq!(raw.q(&["SLOWLOG", "RESET"]), OK);
        assert_eq!(raw.q(&["SET", "quick", "1"]), OK);
        assert_eq!(raw.q(&["DEBUG", "SLEEP", "0.02"]), OK);
        let entries = slowlog(raw);
        assert!(entries[0].items()[2].int() >= 20_000, "{entries:?}");
        seen.push(format!(
            "{:?}",
            entries.iter().map(args_of).collect::<Vec<_>>()
        ));
        // A negative threshold logs nothing, not even RESET.
        let q = |raw: &mut Raw, c: &[&str]| raw.q(c);
        assert_eq!(
            q(raw, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]),
            OK
        );
        assert_eq!(q(raw, &["SLOWLOG", "RESET"]), OK);
        assert_eq!(q(raw, &["DEBUG", "SLEEP", "0.02"]), OK);
        seen.push(q(raw, &["SLOWLOG", "LEN"]));
        // max-len bounds the log to the newest entries.
        assert_eq!(q(raw, &["CONFIG", "SET", "slowlog-max-len", "5"]), OK);
        assert_eq!(
            q(raw, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
            OK
        );
        for i in 0..20 {
            assert_eq!(q(raw, &["SET", &format!("key:{i}"), "v"]), OK);
        }
        seen.push(q(raw, &["SLOWLOG", "LEN"]));
        let entries = slowlog(raw);
        seen.push(format!(
            "{:?}",
            entries.iter().map(args_of).collect::<Vec<_>>()
        ));
        seen
    };
    let theirs = run(&mut reference.raw());
    let ours = run(&mut server.raw());
    assert_eq!(ours, theirs);
    assert_eq!(ours[1], ":0\r\n");
    assert_eq!(ours[2], ":5\r\n");
}

/// LATENCY HISTOGRAM has Redis's shape in RESP2 and RESP3: command → {calls,
/// histogram_usec → {bucket µs → cumulative count}}, with Redis's bucket bounds.
#[test]
fn latency_histogram_has_redis_shape() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(2, &[]);
    let shape = |raw: &mut Raw, proto: &str| -> Vec<(String, i64, String)> {
        assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), OK);
        if proto == "3" {
            raw.call(&["HELLO", "3"]);
            assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), OK);
        }
        // Nothing ran yet: an empty map either way.
        let empty = raw.q(&["LATENCY", "HISTOGRAM", "set", "nosuch"]);
        assert_eq!(empty, if proto == "3" { "%0\r\n" } else { "*0\r\n" });
        for i in 0..3 {
            raw.q(&["SET", &format!("k{i}"), "v"]);
        }
        raw.q(&["GET", "k0"]);
        raw.q(&["CONFIG", "GET", "maxmemory"]);
        let reply = raw.call(&[
            "LATENCY",
            "HISTOGRAM",
            "set",
            "GET",
            "nosuch",
            "config",
            "dbsize",
        ]);
        let pairs: Vec<(Resp, Resp)> = match reply {
            Resp::Map(p) => p,
            Resp::Array(items) => items
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect(),
            other => panic!("not a map: {other:?}"),
        };
        pairs
            .into_iter()
            .map(|(name, value)| {
                let fields: Vec<(String, Resp)> = match value {
                    Resp::Map(p) => p.into_iter().map(|(k, v)| (k.text(), v)).collect(),
                    Resp::Array(items) => items
                        .chunks(2)
                        .map(|c| (c[0].text(), c[1].clone()))
                        .collect(),
                    other => panic!("not a map: {other:?}"),
                };
                assert_eq!(fields[0].0, "calls");
                assert_eq!(fields[1].0, "histogram_usec");
                let buckets: Vec<(i64, i64)> = match &fields[1].1 {
                    Resp::Map(p) => p.iter().map(|(k, v)| (k.int(), v.int())).collect(),
                    Resp::Array(items) => {
                        items.chunks(2).map(|c| (c[0].int(), c[1].int())).collect()
                    }
                    other => panic!("not a map: {other:?}"),
                };
                let calls = fields[0].1.int();
                for (us, _) in &buckets {
                    assert!(REDIS_BUCKETS_US.contains(us), "bucket {us}");
                }
                assert!(
                    buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
                );
                assert_eq!(buckets.last().map(|b| b.1), Some(calls), "cumulative");
                let kind = match &fields[1].1 {
                    Resp::Map(_) => "map",
                    _ => "array",
                };
                (name.text(), calls, kind.to_string())
            })
            .collect()
    };
    for proto in ["2", "3"] {
        // Redis lists a container's subcommands in its hash table's order.
        let mut theirs = shape(&mut reference.raw(), proto);
        let mut ours = shape(&mut server.raw(), proto);
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "RESP{proto}");
        let names: BTreeSet<&str> = ours.iter().map(|(n, _, _)| n.as_str()).collect();
        let expected = ["set", "get", "config|get", "config|resetstat"];
        assert_eq!(names, BTreeSet::from(expected));
    }
    // Without arguments: every command with data, subcommands by their full names.
    let mut raw = server.raw();
    let all = raw.call(&["LATENCY", "HISTOGRAM"]);
    let names: BTreeSet<String> = all.items().iter().step_by(2).map(Resp::text).collect();
    assert!(
        names.contains("set") && names.contains("config|resetstat"),
        "{names:?}"
    );
    assert!(
        !names.contains("config"),
        "a container has no histogram of its own"
    );
}

#[test]
fn latency_monitor_without_events_matches_redis_byte_for_byte() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(2, &[]);
    let (mut theirs, mut ours) = (reference.raw(), server.raw());
    let commands: &[&[&str]] = &[
        &["LATENCY", "HELP"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "command", "fast-command"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY"],
        &["LATENCY", "foo"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "GRAPH"],
        &["LATENCY", "LATEST", "x"],
        &["LATENCY", "DOCTOR", "x"],
        &["LATENCY", "HELP", "x"],
        &["CONFIG", "SET", "latency-monitor-threshold", "100"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "LATEST"],
    ];
    for c in commands {
        assert_eq!(ours.q(c), theirs.q(c), "{c:?}");
    }
    for raw in [&mut theirs, &mut ours] {
        raw.call(&["HELLO", "3"]);
    }
    for c in [&["LATENCY", "DOCTOR"][..], &["LATENCY", "LATEST"]] {
        assert_eq!(ours.q(c), theirs.q(c), "RESP3 {c:?}");
    }
}

/// Replaces every run of digits with '#': latency values and times differ between servers.
fn digits_masked(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            out.push(ch);
            in_number = false;
        }
    }
    out
}

/// With a threshold, a slow command is a `command` event, as in Redis: LATEST, HISTORY,
/// GRAPH and DOCTOR have Redis's shape and text, RESET removes it.
#[test]
fn latency_events_are_recorded_as_in_redis() {
    let reference = RefRedis::start(&["--enable-debug-command", "yes"]);
    let server = Server::start(2, &["--enable-debug-command", "yes"]);
    let run = |raw: &mut Raw| -> Vec<String> {
        let mut seen = Vec::new();
        assert_eq!(
            raw.q(&["CONFIG", "SET", "latency-monitor-threshold", "10"]),
            OK
        );
        assert_eq!(raw.q(&["SET", "k", "v"]), OK);
        assert_eq!(raw.q(&["DEBUG", "SLEEP", "0.03"]), OK);
        let latest = raw.call(&["LATENCY", "LATEST"]);
        let event = latest.items()[0].items().to_vec();
        assert_eq!(latest.items().len(), 1);
        assert_eq!(event[0].text(), "command");
        assert!((event[1].int() - unix_secs()).abs() <= 5);
        assert!(event[2].int() >= 30 && event[3].int() >= event[2].int());
        let history = raw.call(&["LATENCY", "HISTORY", "command"]);
        assert_eq!(history.items().len(), 1);
        assert_eq!(history.items()[0].items()[1], event[2]);
        for c in [
            &["LATENCY", "HISTORY", "COMMAND"][..],
            &["LATENCY", "HISTORY", "fast-command"],
            &["LATENCY", "GRAPH", "command"],
            &["LATENCY", "DOCTOR"],
            &["LATENCY", "RESET", "COMMAND", "command", "nosuch"],
            &["LATENCY", "LATEST"],
        ] {
            seen.push(digits_masked(&raw.q(c)));
        }
        seen
    };
    let theirs = run(&mut reference.raw());
    let ours = run(&mut server.raw());
    assert_eq!(ours, theirs);
    assert_eq!(ours[4], ":#\r\n");
}

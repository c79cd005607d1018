//! Server and connection commands over real sockets: INFO, CONFIG, CLIENT, COMMAND, AUTH,
//! SELECT, TIME, LASTSAVE, SHUTDOWN, signals and DEBUG. Where Redis's answer is fixed text
//! it is written out here; where it depends on the command table, corekv is compared with a
//! real redis-server 7.0 started for the test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Raw, RefRedis, Resp, Server};

const OK: &str = "+OK\r\n";

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Polls `f` until it returns true or `timeout` passes; returns the last result. For state
/// that settles asynchronously (a closed connection leaving the registry), never timing.
fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------

/// INFO's text split into section names (in order) and `field -> value`.
struct Info {
    sections: Vec<String>,
    fields: BTreeMap<String, String>,
}

impl Info {
    fn parse(text: &str) -> Info {
        assert!(
            text.is_empty() || text.ends_with("\r\n"),
            "INFO ends with CRLF"
        );
        let mut sections = Vec::new();
        let mut fields = BTreeMap::new();
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            if let Some(name) = line.strip_prefix("# ") {
                sections.push(name.to_string());
            } else {
                let (k, v) = line.split_once(':').expect("field:value");
                assert!(
                    fields.insert(k.to_string(), v.to_string()).is_none(),
                    "{k} twice"
                );
            }
        }
        Info { sections, fields }
    }

    fn get(&self, field: &str) -> &str {
        self.fields
            .get(field)
            .unwrap_or_else(|| panic!("INFO has no {field}"))
    }

    fn num(&self, field: &str) -> u64 {
        self.get(field)
            .parse()
            .unwrap_or_else(|_| panic!("{field} is not a number: {}", self.get(field)))
    }
}

fn info(raw: &mut Raw, sections: &[&str]) -> Info {
    let mut args = vec!["INFO"];
    args.extend_from_slice(sections);
    Info::parse(&raw.call(&args).text())
}

const DEFAULT_SECTIONS: &[&str] = &[
    "Server",
    "Clients",
    "Memory",
    "Persistence",
    "Stats",
    "Replication",
    "CPU",
    "Modules",
    "Errorstats",
    "Cluster",
    "Keyspace",
];

#[test]
fn info_default_sections_and_the_fields_scrapers_read() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let text = raw.call(&["INFO"]).text();
    assert!(
        text.starts_with("# Server\r\nredis_version:7.0.15\r\n"),
        "{text}"
    );
    let inf = Info::parse(&text);
    assert_eq!(inf.sections, DEFAULT_SECTIONS);
    assert_eq!(inf.get("redis_mode"), "standalone");
    assert_eq!(inf.num("tcp_port"), u64::from(server.port));
    assert_eq!(inf.num("process_id"), u64::from(server.pid()));
    assert_eq!(inf.get("run_id").len(), 40);
    assert!(inf.get("os").starts_with("Linux "), "{}", inf.get("os"));
    assert_eq!(inf.get("arch_bits"), "64");
    // The start-up probe's connection may still be closing; then only this one is left.
    assert!((1..=2).contains(&inf.num("connected_clients")));
    assert!(eventually(Duration::from_secs(5), || info(
        &mut raw,
        &["clients"]
    )
    .num("connected_clients")
        == 1));
    assert_eq!(inf.num("maxclients"), 10000);
    assert!(inf.num("used_memory") > 0);
    assert!(inf.num("used_memory_rss") > 0);
    assert!(inf.num("used_memory_peak") >= inf.num("used_memory") / 2);
    assert!(inf.get("used_memory_human").ends_with(['B', 'K', 'M', 'G']));
    assert_eq!(inf.get("maxmemory"), "0");
    assert_eq!(inf.get("maxmemory_policy"), "noeviction");
    assert_eq!(inf.get("loading"), "0");
    assert_eq!(inf.get("aof_enabled"), "1");
    assert!(inf.num("total_connections_received") >= 1);
    assert!(inf.num("total_commands_processed") >= 1);
    for field in [
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "evicted_keys",
        "total_error_replies",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "instantaneous_ops_per_sec",
        "rejected_connections",
    ] {
        inf.num(field);
    }
    assert_eq!(inf.get("role"), "master");
    assert_eq!(inf.get("connected_slaves"), "0");
    let cpu: f64 = inf.get("used_cpu_sys").parse().expect("cpu seconds");
    assert!(cpu >= 0.0);
    assert_eq!(inf.get("cluster_enabled"), "0");
}

#[test]
fn info_section_selection() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    assert_eq!(
        info(&mut raw, &["server", "CLIENTS"]).sections,
        ["Server", "Clients"]
    );
    assert_eq!(info(&mut raw, &["default"]).sections, DEFAULT_SECTIONS);
    let all: Vec<String> = info(&mut raw, &["all"]).sections;
    for extra in ["Commandstats", "Latencystats"] {
        assert!(
            all.iter().any(|s| s == extra),
            "INFO all has {extra}: {all:?}"
        );
    }
    let default_in_all: Vec<&String> = all
        .iter()
        .filter(|s| DEFAULT_SECTIONS.contains(&s.as_str()))
        .collect();
    assert_eq!(default_in_all, DEFAULT_SECTIONS);
    assert_eq!(info(&mut raw, &["everything"]).sections, all);
    assert_eq!(raw.q(&["INFO", "nosuchsection"]), "$0\r\n\r\n");
}

#[test]
fn info_keyspace_counts_keys_on_every_shard() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.call(&["INFO", "keyspace"]).text(), "# Keyspace\r\n");
    for i in 0..10 {
        let key = format!("key:{i}");
        if i < 3 {
            assert_eq!(raw.q(&["SET", &key, "v", "EX", "1000"]), OK);
        } else {
            assert_eq!(raw.q(&["SET", &key, "v"]), OK);
        }
    }
    assert_eq!(raw.q(&["SELECT", "2"]), OK);
    assert_eq!(raw.q(&["SET", "a", "1", "PX", "5000000"]), OK);
    assert_eq!(raw.q(&["SET", "b", "1"]), OK);
    let text = raw.call(&["INFO", "keyspace"]).text();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "# Keyspace");
    assert_eq!(lines.len(), 4, "{text}");
    for (line, prefix, max_ttl_ms) in [
        (lines[1], "db0:keys=10,expires=3,avg_ttl=", 1_000_000),
        (lines[2], "db2:keys=2,expires=1,avg_ttl=", 5_000_000),
    ] {
        let avg_ttl: u64 = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
            .parse()
            .expect("avg_ttl is an integer");
        assert!(avg_ttl <= max_ttl_ms, "{line}");
    }
    // INFO shards: one line per shard, whose keys add up to every key.
    let shards = raw.call(&["INFO", "shards"]).text();
    let lines: Vec<&str> = shards.lines().collect();
    assert_eq!(lines[0], "# Shards");
    let mut total = 0;
    for (i, line) in lines[1..].iter().enumerate() {
        let rest = line
            .strip_prefix(&format!("shard{i}:keys="))
            .unwrap_or_else(|| panic!("{line}"));
        total += rest.split(',').next().unwrap().parse::<u64>().unwrap();
        assert!(line.contains(",connected_clients="), "{line}");
    }
    assert_eq!(lines.len(), 5);
    assert_eq!(total, 12);
}

#[test]
fn info_clients_counts_connections_on_every_core() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    let mut others: Vec<Raw> = (0..7).map(|_| server.raw()).collect();
    for o in &mut others {
        assert_eq!(o.q(&["PING"]), "+PONG\r\n");
    }
    assert!(
        eventually(Duration::from_secs(5), || {
            info(&mut raw, &["clients"]).num("connected_clients") == 8
        }),
        "8 clients on 4 cores"
    );
    others.truncate(2);
    assert!(
        eventually(Duration::from_secs(5), || {
            info(&mut raw, &["clients"]).num("connected_clients") == 3
        }),
        "closed connections leave connected_clients"
    );
}

/// `name -> fields` of INFO commandstats, with the timing fields dropped.
fn command_stats(raw: &mut Raw) -> BTreeMap<String, String> {
    let text = raw.call(&["INFO", "commandstats"]).text();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (name, fields) = line.split_once(':').expect("cmdstat line");
        let name = name.strip_prefix("cmdstat_").expect("cmdstat_ prefix");
        let parts: Vec<&str> = fields.split(',').collect();
        assert_eq!(parts.len(), 5, "{line}");
        let keys: Vec<&str> = parts.iter().map(|p| p.split('=').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "calls",
                "usec",
                "usec_per_call",
                "rejected_calls",
                "failed_calls"
            ],
            "{line}"
        );
        let per_call = parts[2].strip_prefix("usec_per_call=").unwrap();
        let (_, decimals) = per_call.split_once('.').expect("two decimals");
        assert_eq!(decimals.len(), 2, "{line}");
        out.insert(
            name.to_string(),
            format!("{},{},{}", parts[0], parts[3], parts[4]),
        );
    }
    out
}

/// A sequence exercising every kind of stat: hits, misses, rejections, failures, errors by
/// code, keys on several shards.
fn stats_workload(raw: &mut Raw) {
    raw.q(&["SET", "s", "abc"]);
    for k in ["a", "b", "c", "d", "e", "s"] {
        raw.q(&["GET", k]);
    }
    raw.q(&["GET"]);
    raw.q(&["INCR", "s"]);
    raw.q(&["NOSUCH"]);
    raw.q(&["SET", "x", "1"]);
    raw.q(&["HELLO", "4"]);
    raw.q(&["SELECT", "99"]);
    raw.q(&["MGET", "a", "x", "s", "b", "c"]);
    raw.q(&["DEL", "a", "b", "x", "c", "d", "e"]);
    raw.q(&["EXISTS", "s", "x", "q", "r"]);
}

#[test]
fn info_stats_match_redis_for_the_same_commands() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(4, &[]);
    let mut theirs = reference.raw();
    let mut ours = server.raw();
    stats_workload(&mut theirs);
    stats_workload(&mut ours);
    let mut mismatches = Vec::new();
    let (a, b) = (command_stats(&mut ours), command_stats(&mut theirs));
    for name in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        if a.get(name) != b.get(name) {
            mismatches.push(format!(
                "cmdstat_{name}: corekv {:?}, redis {:?}",
                a.get(name),
                b.get(name)
            ));
        }
    }
    let (a, b) = (
        ours.call(&["INFO", "errorstats"]).text(),
        theirs.call(&["INFO", "errorstats"]).text(),
    );
    if a != b {
        mismatches.push(format!("errorstats: corekv {a:?}, redis {b:?}"));
    }
    let (a, b) = (info(&mut ours, &["stats"]), info(&mut theirs, &["stats"]));
    for field in [
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
        "total_commands_processed",
    ] {
        if a.get(field) != b.get(field) {
            mismatches.push(format!(
                "{field}: corekv {}, redis {}",
                a.get(field),
                b.get(field)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn commandstats_errorstats_and_resetstat() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["SET", "s", "abc"]), OK);
    assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), OK);
    let stats = command_stats(&mut raw);
    assert_eq!(stats.keys().collect::<Vec<_>>(), ["config|resetstat"]);
    assert_eq!(raw.call(&["INFO", "errorstats"]).text(), "# Errorstats\r\n");
    let keys: Vec<String> = (0..4).map(|s| common::key_on_shard("g", s, 4)).collect();
    for k in &keys {
        raw.q(&["GET", k]);
    }
    raw.q(&["GET"]);
    raw.q(&["INCR", "s"]);
    raw.q(&["HELLO", "4"]);
    let stats = command_stats(&mut raw);
    assert_eq!(stats["get"], "calls=4,rejected_calls=1,failed_calls=0");
    assert_eq!(stats["incr"], "calls=1,rejected_calls=0,failed_calls=1");
    assert_eq!(stats["hello"], "calls=1,rejected_calls=0,failed_calls=1");
    assert_eq!(
        raw.call(&["INFO", "errorstats"]).text(),
        "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_NOPROTO:count=1\r\n"
    );
    let st = info(&mut raw, &["stats"]);
    assert_eq!(st.num("total_error_replies"), 3);
    assert_eq!(st.num("keyspace_misses"), 4);
    assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), OK);
    let st = info(&mut raw, &["stats"]);
    assert_eq!(st.num("total_error_replies"), 0);
    assert_eq!(st.num("keyspace_misses"), 0);
    assert_eq!(st.num("total_connections_received"), 0);
    assert!(!command_stats(&mut raw).contains_key("get"));
}

#[test]
fn latencystats_format_and_percentile_config() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    raw.q(&["SET", "k", "v"]);
    raw.q(&["GET", "k"]);
    let check = |raw: &mut Raw, names: &[&str]| {
        let text = raw.call(&["INFO", "latencystats"]).text();
        let line = text
            .lines()
            .find(|l| l.starts_with("latency_percentiles_usec_get:"))
            .unwrap_or_else(|| panic!("{text}"));
        let fields: Vec<&str> = line.split_once(':').unwrap().1.split(',').collect();
        assert_eq!(fields.len(), names.len(), "{line}");
        for (field, name) in fields.iter().zip(names) {
            let (n, v) = field.split_once('=').expect("p=value");
            assert_eq!(n, *name, "{line}");
            let (_, decimals) = v.split_once('.').expect("three decimals");
            assert_eq!(decimals.len(), 3, "{line}");
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    };
    check(&mut raw, &["p50", "p99", "p99.9"]);
    assert_eq!(
        raw.q(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0 50.0 99.99 100"
        ]),
        OK
    );
    assert_eq!(
        raw.q(&["CONFIG", "GET", "latency-tracking-info-percentiles"]),
        "*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$14\r\n0 50 99.99 100\r\n"
    );
    check(&mut raw, &["p0", "p50", "p99.99", "p100"]);
}

// ---------------------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------------------

/// CONFIG GET's reply as a map.
fn config_get(raw: &mut Raw, patterns: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec!["CONFIG", "GET"];
    args.extend_from_slice(patterns);
    let reply = raw.call(&args);
    let items = reply.items();
    assert_eq!(items.len() % 2, 0);
    let map: BTreeMap<String, String> = items
        .chunks(2)
        .map(|c| (c[0].text(), c[1].text()))
        .collect();
    assert_eq!(map.len() * 2, items.len(), "no parameter listed twice");
    map
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_get_patterns_and_several_arguments() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    assert_eq!(
        config_get(&mut raw, &["maxmemory"]),
        map(&[("maxmemory", "0")])
    );
    assert_eq!(
        config_get(&mut raw, &["MAXMEMORY"]),
        map(&[("MAXMEMORY", "0")]),
        "an exact name is echoed as typed"
    );
    assert_eq!(
        config_get(&mut raw, &["max*", "hz", "maxmemory"]),
        map(&[
            ("maxclients", "10000"),
            ("maxmemory", "0"),
            ("maxmemory-clients", "0"),
            ("maxmemory-policy", "noeviction"),
            ("maxmemory-samples", "5"),
            ("hz", "10"),
        ])
    );
    assert_eq!(
        config_get(&mut raw, &["hash-max-*-entries"]),
        map(&[
            ("hash-max-listpack-entries", "512"),
            ("hash-max-ziplist-entries", "512"),
        ])
    );
    assert_eq!(
        config_get(&mut raw, &["port", "databases", "appendonly", "save"]),
        map(&[
            ("port", &server.port.to_string()),
            ("databases", "16"),
            ("appendonly", "yes"),
            ("save", ""),
        ])
    );
    assert!(config_get(&mut raw, &["nosuchparameter"]).is_empty());
    assert!(config_get(&mut raw, &["*"]).len() > 50);
    assert_eq!(
        raw.q(&["CONFIG", "GET"]),
        err("ERR wrong number of arguments for 'config|get' command")
    );
}

#[test]
fn config_set_reaches_every_core_and_is_atomic() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["CONFIG", "SET", "maxmemory", "10mb", "timeout", "30"]),
        OK
    );
    // Connections are spread over the 4 cores; each core has its own copy of the parameters.
    for _ in 0..12 {
        let mut other = server.raw();
        assert_eq!(
            config_get(&mut other, &["maxmemory", "timeout"]),
            map(&[("maxmemory", "10485760"), ("timeout", "30")])
        );
    }
    // A bad pair anywhere leaves every parameter as it was.
    assert_eq!(
        raw.q(&[
            "CONFIG",
            "SET",
            "timeout",
            "5",
            "maxmemory-policy",
            "allkeys-lru",
            "hz",
            "abc"
        ]),
        err(
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        )
    );
    assert_eq!(
        config_get(&mut raw, &["timeout", "maxmemory-policy", "hz"]),
        map(&[
            ("timeout", "30"),
            ("maxmemory-policy", "noeviction"),
            ("hz", "10")
        ])
    );
    assert_eq!(
        info(&mut raw, &["memory"]).num("maxmemory"),
        10 * 1024 * 1024
    );
}

#[test]
fn config_set_errors_have_redis_text() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let failed = |name: &str, why: &str| {
        err(&format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["nosuch", "1"],
            err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
        ),
        (
            vec!["timeout", "x", "nosuch", "1"],
            err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
        ),
        (
            vec!["maxmemory", "abc"],
            failed("maxmemory", "argument must be a memory value"),
        ),
        (
            vec!["timeout", "-1"],
            failed(
                "timeout",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            vec!["TIMEOUT", "+5"],
            failed("timeout", "argument couldn't be parsed into an integer"),
        ),
        (
            vec!["appendonly", "maybe"],
            failed("appendonly", "argument must be 'yes' or 'no'"),
        ),
        (
            vec!["maxmemory-policy", "lru"],
            failed(
                "maxmemory-policy",
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
            ),
        ),
        (
            vec!["appendfsync", "x"],
            failed(
                "appendfsync",
                "argument(s) must be one of the following: everysec, always, no",
            ),
        ),
        (
            vec!["DAEMONIZE", "yes"],
            failed("DAEMONIZE", "can't set immutable config"),
        ),
        (
            vec!["databases", "4"],
            failed("databases", "can't set immutable config"),
        ),
        (
            vec!["dir", "/tmp"],
            failed("dir", "can't set protected config"),
        ),
        (
            vec!["timeout", "1", "TIMEOUT", "2"],
            failed("TIMEOUT", "duplicate parameter"),
        ),
        (
            vec!["save", "0 1"],
            failed("save", "Invalid save parameters"),
        ),
        (
            vec!["maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            vec!["latency-tracking-info-percentiles", "50 abc"],
            failed(
                "latency-tracking-info-percentiles",
                "Invalid latency-tracking-info-percentiles parameters",
            ),
        ),
        (
            vec!["notify-keyspace-events", "Q"],
            failed(
                "notify-keyspace-events",
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            ),
        ),
        (vec!["timeout", "1", "hz"], err("ERR syntax error")),
        (
            vec!["timeout"],
            err("ERR wrong number of arguments for 'config|set' command"),
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["CONFIG", "SET"];
        full.extend_from_slice(&args);
        assert_eq!(raw.q(&full), expected, "{args:?}");
    }
    assert_eq!(
        config_get(&mut raw, &["timeout", "maxmemory", "appendonly", "save"]),
        map(&[
            ("timeout", "0"),
            ("maxmemory", "0"),
            ("appendonly", "yes"),
            ("save", "")
        ])
    );
}

#[test]
fn config_set_canonical_values() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    for (name, value, shown) in [
        ("maxmemory", "1gb", "1073741824"),
        ("maxmemory", "1k", "1000"),
        ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
        ("appendonly", "NO", "no"),
        ("hz", "1000", "500"),
        ("hz", "0", "1"),
        ("save", "3600 1 300 100", "3600 1 300 100"),
        ("notify-keyspace-events", "KEA", "AKE"),
        ("maxmemory-clients", "10%", "10%"),
        (
            "client-output-buffer-limit",
            "pubsub 1mb 2kb 5",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2048 5",
        ),
        ("hash-max-ziplist-entries", "100", "100"),
    ] {
        assert_eq!(raw.q(&["CONFIG", "SET", name, value]), OK, "{name} {value}");
        assert_eq!(config_get(&mut raw, &[name]), map(&[(name, shown)]));
    }
    assert_eq!(
        config_get(&mut raw, &["hash-max-listpack-entries"]),
        map(&[("hash-max-listpack-entries", "100")])
    );
}

#[test]
fn config_subcommand_errors() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["CONFIG"]),
        err("ERR wrong number of arguments for 'config' command")
    );
    assert_eq!(
        raw.q(&["CONFIG", "foo"]),
        err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")
    );
    assert_eq!(
        raw.q(&["CONFIG", "RESETSTAT", "x"]),
        err("ERR wrong number of arguments for 'config|resetstat' command")
    );
    assert_eq!(
        raw.q(&["CONFIG", "HELP", "x"]),
        err("ERR wrong number of arguments for 'config|help' command")
    );
    assert_eq!(
        raw.q(&["CONFIG", "REWRITE"]),
        err("ERR The server is running without a config file")
    );
    let help = raw.call(&["CONFIG", "HELP"]);
    assert_eq!(
        help.items()[0].text(),
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
}

#[test]
fn requirepass_set_at_runtime_applies_to_new_connections_on_every_core() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["CONFIG", "SET", "requirepass", "secret"]), OK);
    // The connection that set it stays authenticated, as in Redis.
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n");
    for _ in 0..8 {
        let mut other = server.raw();
        assert_eq!(other.q(&["PING"]), err("NOAUTH Authentication required."));
        assert_eq!(other.q(&["AUTH", "secret"]), OK);
        assert_eq!(other.q(&["PING"]), "+PONG\r\n");
    }
    assert_eq!(raw.q(&["CONFIG", "SET", "requirepass", ""]), OK);
    assert_eq!(server.raw().q(&["PING"]), "+PONG\r\n");
}

// ---------------------------------------------------------------------------------------
// CLIENT
// ---------------------------------------------------------------------------------------

/// `field -> value` of one CLIENT INFO / LIST line.
fn client_fields(line: &str) -> BTreeMap<String, String> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// CLIENT LIST, one map per line.
fn client_list(raw: &mut Raw, filter: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(filter);
    let text = raw.call(&args).text();
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines().map(client_fields).collect()
}

#[test]
fn client_id_name_info_and_setinfo() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let id = raw.call(&["CLIENT", "ID"]).int();
    assert!(id > 0);
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.q(&["CLIENT", "SETNAME", "worker-1"]), OK);
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), bulk("worker-1"));
    assert_eq!(
        raw.q(&["CLIENT", "SETNAME", "bad name"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), bulk("worker-1"));
    assert_eq!(
        raw.q(&["CLIENT", "SETINFO", "LIB-NAME", "corekv-tests"]),
        OK
    );
    assert_eq!(raw.q(&["CLIENT", "SETINFO", "lib-ver", "1.2.3"]), OK);
    assert_eq!(
        raw.q(&["CLIENT", "SETINFO", "lib-ver", "1 2"]),
        err("ERR LIB-VER cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        raw.q(&["CLIENT", "SETINFO", "lib-foo", "x"]),
        err("ERR Unrecognized option 'lib-foo'")
    );
    assert_eq!(raw.q(&["SELECT", "3"]), OK);
    let text = raw.call(&["CLIENT", "INFO"]).text();
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "{text:?}"
    );
    let fields = client_fields(text.trim_end());
    let expect = |k: &str, v: &str| assert_eq!(fields[k], v, "{k} in {text}");
    expect("id", &id.to_string());
    expect("name", "worker-1");
    expect("db", "3");
    expect("flags", "N");
    expect("user", "default");
    expect("resp", "2");
    expect("lib-name", "corekv-tests");
    expect("lib-ver", "1.2.3");
    expect("laddr", &format!("127.0.0.1:{}", server.port));
    expect("addr", &raw.stream.local_addr().unwrap().to_string());
    // Field order as Redis 7.0 prints it.
    let names: Vec<&str> = text
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        &names[..23],
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem"
        ]
    );
    assert_eq!(raw.q(&["CLIENT", "SETNAME", ""]), OK);
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn client_list_shows_clients_of_every_core_and_filters() {
    let server = Server::start(4, &[]);
    let mut raw = server.raw();
    let mut others: Vec<(i64, Raw)> = Vec::new();
    for i in 0..8 {
        let mut o = server.raw();
        assert_eq!(o.q(&["CLIENT", "SETNAME", &format!("c{i}")]), OK);
        others.push((o.call(&["CLIENT", "ID"]).int(), o));
    }
    // (The start-up probe's connection may take a moment to leave the list.)
    assert!(eventually(Duration::from_secs(5), || client_list(
        &mut raw,
        &[]
    )
    .len()
        == 9));
    let all = client_list(&mut raw, &[]);
    assert_eq!(all.len(), 9);
    let mut ids: Vec<i64> = all.iter().map(|c| c["id"].parse().unwrap()).collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 9, "ids are unique across cores");
    ids.sort_unstable();
    for (id, _) in &others {
        assert!(ids.binary_search(id).is_ok());
    }
    let named: BTreeSet<String> = all.iter().map(|c| c["name"].clone()).collect();
    assert!((0..8).all(|i| named.contains(&format!("c{i}"))));
    let picked = client_list(
        &mut raw,
        &[
            "ID",
            &others[1].0.to_string(),
            &others[6].0.to_string(),
            "999999",
        ],
    );
    let names: BTreeSet<&str> = picked.iter().map(|c| c["name"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(["c1", "c6"]));
    assert_eq!(client_list(&mut raw, &["TYPE", "normal"]).len(), 9);
    assert_eq!(client_list(&mut raw, &["TYPE", "pubsub"]).len(), 0);
    assert_eq!(client_list(&mut raw, &["TYPE", "master"]).len(), 0);
    assert_eq!(
        raw.q(&["CLIENT", "LIST", "TYPE", "foo"]),
        err("ERR Unknown client type 'foo'")
    );
    assert_eq!(
        raw.q(&["CLIENT", "LIST", "ID", "x"]),
        err("ERR Invalid client ID")
    );
    assert_eq!(raw.q(&["CLIENT", "LIST", "foo"]), err("ERR syntax error"));
}

#[test]
fn client_kill_by_id_and_addr_on_other_cores() {
    let server = Server::start(4, &[]);
    let mut killer = server.raw();
    let mut victims: Vec<(i64, String, Raw)> = (0..12)
        .map(|_| {
            let mut v = server.raw();
            let id = v.call(&["CLIENT", "ID"]).int();
            let addr = v.stream.local_addr().unwrap().to_string();
            (id, addr, v)
        })
        .collect();
    // The connections are spread over several cores, so some victims are on other cores
    // than the killer.
    let shards = killer.call(&["INFO", "shards"]).text();
    let busy_cores = shards
        .lines()
        .skip(1)
        .filter(|l| !l.contains("connected_clients=0,"))
        .count();
    assert!(busy_cores >= 2, "{shards}");

    for (i, (id, addr, _)) in victims.iter().enumerate() {
        let reply = match i % 3 {
            0 => killer.q(&["CLIENT", "KILL", "ID", &id.to_string()]),
            1 => killer.q(&["CLIENT", "KILL", "ADDR", addr]),
            _ => killer.q(&["CLIENT", "KILL", addr]),
        };
        let expected = if i % 3 == 2 { OK } else { ":1\r\n" };
        assert_eq!(reply, expected, "victim {i}");
    }
    for (_, _, v) in &mut victims {
        assert_eq!(
            v.read_to_close(),
            b"",
            "a killed client is closed without a reply"
        );
    }
    assert!(eventually(Duration::from_secs(5), || client_list(
        &mut killer,
        &[]
    )
    .len()
        == 1));
    let (id, addr, _) = &victims[0];
    assert_eq!(
        killer.q(&["CLIENT", "KILL", "ID", &id.to_string()]),
        ":0\r\n"
    );
    assert_eq!(
        killer.q(&["CLIENT", "KILL", addr]),
        err("ERR No such client")
    );
}

#[test]
fn client_kill_filters_and_errors() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let my_id = raw.call(&["CLIENT", "ID"]).int().to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["ID", "0"],
            err("ERR client-id should be greater than 0"),
        ),
        (
            vec!["ID", "x"],
            err("ERR client-id should be greater than 0"),
        ),
        (
            vec!["ID", "0", "SKIPME"],
            err("ERR client-id should be greater than 0"),
        ),
        (vec!["ID", "5", "SKIPME"], err("ERR syntax error")),
        (vec!["SKIPME", "maybe"], err("ERR syntax error")),
        (vec!["FOO", "bar"], err("ERR syntax error")),
        (vec!["TYPE", "foo"], err("ERR Unknown client type 'foo'")),
        (vec!["USER", "bob"], err("ERR No such user 'bob'")),
        (vec!["TYPE", "master"], ":0\r\n".to_string()),
        (vec!["LADDR", "1.2.3.4:5"], ":0\r\n".to_string()),
        (vec!["1.2.3.4:5"], err("ERR No such client")),
        // SKIPME defaults to yes: a client does not kill itself by accident.
        (vec!["ID", &my_id], ":0\r\n".to_string()),
        (
            vec!["USER", "default", "ID", "999999"],
            ":0\r\n".to_string(),
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["CLIENT", "KILL"];
        full.extend_from_slice(&args);
        assert_eq!(raw.q(&full), expected, "{args:?}");
    }
    assert_eq!(
        raw.q(&["CLIENT", "KILL"]),
        err("ERR wrong number of arguments for 'client|kill' command")
    );
    // SKIPME no: the reply comes first, then the connection closes and later commands do
    // not run.
    raw.send(b"CLIENT KILL ID ");
    raw.send(my_id.as_bytes());
    raw.send(b" SKIPME no\r\nSET after-kill 1\r\n");
    assert_eq!(raw.text_to_close(), ":1\r\n");
    assert_eq!(server.raw().q(&["EXISTS", "after-kill"]), ":0\r\n");
}

#[test]
fn client_subcommand_errors() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["CLIENT"]),
        err("ERR wrong number of arguments for 'client' command")
    );
    assert_eq!(
        raw.q(&["CLIENT", "foo"]),
        err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")
    );
    for sub in ["id", "getname", "info"] {
        assert_eq!(
            raw.q(&["CLIENT", sub, "x"]),
            err(&format!(
                "ERR wrong number of arguments for 'client|{sub}' command"
            ))
        );
    }
    assert_eq!(
        raw.q(&["CLIENT", "SETNAME"]),
        err("ERR wrong number of arguments for 'client|setname' command")
    );
    assert_eq!(
        raw.q(&["CLIENT", "NO-EVICT", "maybe"]),
        err("ERR syntax error")
    );
    assert_eq!(raw.q(&["CLIENT", "NO-EVICT", "on"]), OK);
}

// ---------------------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------------------

#[test]
fn command_count_list_and_info_agree() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    let count = raw.call(&["COMMAND", "COUNT"]).int() as usize;
    let all = raw.call(&["COMMAND"]);
    let list = raw.call(&["COMMAND", "LIST"]);
    assert_eq!(all.items().len(), count);
    assert_eq!(list.items().len(), count);
    assert_eq!(raw.call(&["COMMAND", "INFO"]).items().len(), count);
    let names: BTreeSet<String> = list.items().iter().map(Resp::text).collect();
    for entry in all.items() {
        let fields = entry.items();
        assert_eq!(fields.len(), 10, "{entry:?}");
        assert!(names.contains(&fields[0].text()));
    }
    for must in [
        "get", "set", "del", "ping", "hello", "auth", "client", "config", "command", "info",
        "select", "shutdown", "time", "lastsave",
    ] {
        assert!(names.contains(must), "{must}");
    }
    assert_eq!(
        raw.q(&["COMMAND", "INFO", "GET"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
         *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n\
         +access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
         *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
         $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n\
         *0\r\n"
    );
    let two = raw.call(&["COMMAND", "INFO", "nosuch", "ping"]);
    assert_eq!(two.items()[0], Resp::Nil);
    assert_eq!(two.items()[1].items()[0].text(), "ping");
}

#[test]
fn command_getkeys_list_docs_and_errors() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["GETKEYS", "GET", "k"], "*1\r\n$1\r\nk\r\n".into()),
        (
            vec!["GETKEYS", "MSET", "a", "1", "b", "2"],
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n".into(),
        ),
        (
            vec!["GETKEYS", "DEL", "a", "b", "c"],
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n".into(),
        ),
        (
            vec!["GETKEYSANDFLAGS", "GET", "k"],
            "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n".into(),
        ),
        (
            vec!["GETKEYS", "GET"],
            err("ERR wrong number of arguments for 'command|getkeys' command"),
        ),
        (
            vec!["GETKEYS"],
            err("ERR wrong number of arguments for 'command|getkeys' command"),
        ),
        (
            vec!["GETKEYS", "GET", "a", "b"],
            err("ERR Invalid number of arguments specified for command"),
        ),
        (
            vec!["GETKEYS", "SET", "a"],
            err("ERR Invalid number of arguments specified for command"),
        ),
        (
            vec!["GETKEYS", "PING", "x"],
            err("ERR The command has no key arguments"),
        ),
        (
            vec!["GETKEYS", "nosuch", "x"],
            err("ERR Invalid command specified"),
        ),
        (
            vec!["COUNT", "x"],
            err("ERR wrong number of arguments for 'command|count' command"),
        ),
        (
            vec!["foo"],
            err("ERR unknown subcommand 'foo'. Try COMMAND HELP."),
        ),
        (
            vec!["LIST", "FILTERBY", "foo", "x"],
            err("ERR syntax error"),
        ),
        (vec!["LIST", "foo"], err("ERR syntax error")),
        (vec!["LIST", "FILTERBY", "MODULE", "x"], "*0\r\n".into()),
    ];
    for (args, expected) in cases {
        let mut full = vec!["COMMAND"];
        full.extend_from_slice(&args);
        assert_eq!(raw.q(&full), expected, "{args:?}");
    }
    let by_pattern: BTreeSet<String> = raw
        .call(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"])
        .items()
        .iter()
        .map(Resp::text)
        .collect();
    assert!(by_pattern.contains("get") && by_pattern.contains("getset"));
    assert!(by_pattern.iter().all(|n| n.starts_with("get")));
    let keyspace: BTreeSet<String> = raw
        .call(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "keyspace"])
        .items()
        .iter()
        .map(Resp::text)
        .collect();
    assert!(keyspace.contains("del") && keyspace.contains("dbsize"));
    assert!(!keyspace.contains("get"));
    assert_eq!(
        raw.q(&["COMMAND", "DOCS", "nosuch"]),
        "*0\r\n",
        "unknown names are left out"
    );
}

/// Field by field, COMMAND INFO and COMMAND DOCS of every corekv command against a real
/// redis-server 7.0.
#[test]
fn command_info_and_docs_match_redis_for_every_command() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(1, &[]);
    let mut theirs = reference.raw();
    let mut ours = server.raw();
    let names: Vec<String> = ours
        .call(&["COMMAND", "LIST"])
        .items()
        .iter()
        .map(Resp::text)
        .collect();
    let set = |r: &Resp| -> BTreeSet<String> { r.items().iter().map(Resp::text).collect() };
    let mut mismatches = Vec::new();
    for name in &names {
        let a = ours.call(&["COMMAND", "INFO", name]).items()[0].clone();
        let b = theirs.call(&["COMMAND", "INFO", name]).items()[0].clone();
        if b == Resp::Nil {
            mismatches.push(format!("{name}: redis-server has no such command"));
            continue;
        }
        let (a, b) = (a.items(), b.items());
        let labels = [
            "name",
            "arity",
            "flags",
            "first key",
            "last key",
            "key step",
            "acl",
        ];
        for (i, label) in labels.iter().enumerate() {
            let same = match i {
                2 | 6 => set(&a[i]) == set(&b[i]),
                _ => a[i] == b[i],
            };
            if !same {
                mismatches.push(format!(
                    "{name}: {label}: corekv {:?}, redis {:?}",
                    a[i], b[i]
                ));
            }
        }
        let docs = |raw: &mut Raw| -> BTreeMap<String, String> {
            let reply = raw.call(&["COMMAND", "DOCS", name]);
            let fields = reply.items()[1].items().to_vec();
            fields
                .chunks(2)
                .filter(|c| matches!(&c[1], Resp::Bulk(_)))
                .map(|c| (c[0].text(), c[1].text()))
                .collect()
        };
        let (da, db) = (docs(&mut ours), docs(&mut theirs));
        for field in ["summary", "since", "group", "complexity"] {
            if da.get(field) != db.get(field) {
                mismatches.push(format!(
                    "{name}: docs {field}: corekv {:?}, redis {:?}",
                    da.get(field),
                    db.get(field)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "COMMAND INFO / DOCS differ from redis-server:\n{}",
        mismatches.join("\n")
    );
}

/// Error and fixed replies of the connection and server commands, byte for byte against a
/// real redis-server.
#[test]
fn connection_and_server_replies_match_redis() {
    let reference = RefRedis::start(&[]);
    let server = Server::start(2, &[]);
    let commands: &[&[&str]] = &[
        &["PING"],
        &["PING", "hello"],
        &["PING", "a", "b"],
        &["ECHO"],
        &["ECHO", "x"],
        &["SELECT", "16"],
        &["SELECT", "-1"],
        &["SELECT", "x"],
        &["SELECT", "1.5"],
        &["SELECT", "2147483648"],
        &["SELECT", "-2147483649"],
        &["SWAPDB", "0", "99999999999"],
        &["SWAPDB", "x", "0"],
        &["SWAPDB", "0", "16"],
        &["FLUSHALL", "x"],
        &["FLUSHDB", "SYNC", "x"],
        &["SELECT", "15"],
        &["SELECT", "0"],
        &["AUTH", "x"],
        &["AUTH", "default", "x"],
        &["AUTH", "nobody", "x"],
        &["AUTH", "a", "b", "c"],
        &["AUTH"],
        &["HELLO", "4"],
        &["HELLO", "x"],
        &["HELLO", "3", "foo"],
        &["HELLO", "2", "SETNAME", "a b"],
        &["TIME", "x"],
        &["LASTSAVE", "x"],
        &["DEBUG"],
        &["DEBUG", "SLEEP", "0"],
        &["SHUTDOWN", "foo"],
        &["SHUTDOWN", "ABORT"],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "NOSAVE", "SAVE"],
        &["DBSIZE", "x"],
        &["CONFIG", "SET", "nosuch", "1"],
        &["CONFIG", "SET", "timeout", "x", "nosuch", "1"],
        &["CONFIG", "SET", "daemonize", "yes"],
        &["CONFIG", "SET", "maxmemory", "-5"],
        &["CONFIG", "SET", "maxmemory-clients", "101%"],
        &["CONFIG", "SET", "hz", "-1"],
        &["CONFIG", "SET", "loglevel", "nothing"],
        &["CONFIG", "SET", "timeout", "1", "hz"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "GET", "MAXMEMORY"],
        &["CONFIG", "GET", "nosuch"],
        &["CONFIG", "RESETSTAT", "x"],
        &["CONFIG", "REWRITE"],
        &["CONFIG", "REWRITE", "x"],
        &["CONFIG", "foo"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "a b"],
        &["CLIENT", "SETNAME", "ok-name"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "KILL", "ID", "0"],
        &["CLIENT", "KILL", "ID", "999999"],
        &["CLIENT", "KILL", "USER", "bob"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "TYPE", "foo"],
        &["CLIENT", "KILL", "SKIPME", "x"],
        &["CLIENT", "LIST", "TYPE", "foo"],
        &["CLIENT", "LIST", "ID", "x"],
        &["CLIENT", "LIST", "TYPE", "pubsub"],
        &["CLIENT", "LIST", "TYPE"],
        &["CLIENT", "LIST", "ID"],
        &["CLIENT", "LIST", "ID", "0", "-5"],
        &["CLIENT", "LIST", "TYPE", "normal", "ID", "1"],
        &["CLIENT", "LIST", "ID", "1", "TYPE", "normal"],
        &["CLIENT", "NO-EVICT", "maybe"],
        &["CLIENT", "foo"],
        &["CLIENT", "ID", "x"],
        &["COMMAND", "GETKEYS", "GET"],
        &["COMMAND", "GETKEYS", "PING", "x"],
        &["COMMAND", "GETKEYS", "SET", "a"],
        &["COMMAND", "GETKEYS", "nosuch", "a"],
        &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
        &["COMMAND", "COUNT", "x"],
        &["COMMAND", "foo"],
        &["COMMAND", "INFO", "nosuch"],
        &["COMMAND", "DOCS", "nosuch"],
        &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
        &["INFO", "nosuch"],
        &["NOSUCHCOMMAND", "a", "b"],
        &["HELLO", "3", "SETNAME", "resp3-client"],
        &["GET", "nokey"],
        &["CONFIG", "GET", "timeout"],
        &["CLIENT", "GETNAME"],
        &["RESET"],
        &["GET", "nokey"],
        &["CLIENT", "GETNAME"],
    ];
    let mut theirs = reference.raw();
    let mut ours = server.raw();
    let mut mismatches = Vec::new();
    for args in commands {
        let (mut a, mut b) = (ours.q(args), theirs.q(args));
        if args[0] == "HELLO" && a.starts_with('%') {
            // The client id differs; compare the map with it blanked out.
            let blank_id = |s: &str| {
                let at = s.find("$2\r\nid\r\n:").expect("id field") + 9;
                let end = at + s[at..].find("\r\n").expect("CRLF");
                format!("{}N{}", &s[..at], &s[end..])
            };
            (a, b) = (blank_id(&a), blank_id(&b));
        }
        if a != b {
            mismatches.push(format!("{args:?}:\n  corekv {a:?}\n  redis  {b:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---------------------------------------------------------------------------------------
// AUTH, SELECT, TIME, LASTSAVE, DEBUG
// ---------------------------------------------------------------------------------------

#[test]
fn auth_with_requirepass() {
    let server = Server::start_with_password(2, "s3cret", &[]);
    let mut raw = server.raw();
    let noauth = err("NOAUTH Authentication required.");
    let wrongpass = err("WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(raw.q(&["PING"]), noauth);
    assert_eq!(raw.q(&["GET", "k"]), noauth);
    assert_eq!(raw.q(&["SELECT", "1"]), noauth);
    assert_eq!(raw.q(&["CLIENT", "ID"]), noauth);
    assert_eq!(raw.q(&["AUTH", "wrong"]), wrongpass);
    assert_eq!(raw.q(&["AUTH", "default", "wrong"]), wrongpass);
    assert_eq!(raw.q(&["AUTH", "nobody", "s3cret"]), wrongpass);
    assert_eq!(raw.q(&["AUTH", "a", "b", "c"]), err("ERR syntax error"));
    assert_eq!(
        raw.q(&["GET"]),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(raw.q(&["AUTH", "default", "s3cret"]), OK);
    assert_eq!(raw.q(&["SET", "k", "v"]), OK);
    assert_eq!(raw.q(&["GET", "k"]), bulk("v"));
    // RESET forgets the authentication.
    assert_eq!(raw.q(&["RESET"]), "+RESET\r\n");
    assert_eq!(raw.q(&["GET", "k"]), noauth);
    assert_eq!(raw.q(&["AUTH", "s3cret"]), OK);
    assert_eq!(raw.q(&["GET", "k"]), bulk("v"));
    // QUIT needs no authentication.
    let mut other = server.raw();
    other.send(b"QUIT\r\n");
    assert_eq!(other.text_to_close(), OK);
}

#[test]
fn auth_then_commands_in_one_pipeline() {
    let server = Server::start_with_password(4, "pw", &[]);
    let mut raw = server.raw();
    raw.send(b"AUTH pw\r\nSET k v\r\nGET k\r\nPING\r\n");
    raw.expect(b"+OK\r\n+OK\r\n$1\r\nv\r\n+PONG\r\n");
    let mut other = server.raw();
    other.send(b"GET k\r\nAUTH pw\r\nGET k\r\nRESET\r\nGET k\r\n");
    other.expect(b"-NOAUTH Authentication required.\r\n+OK\r\n$1\r\nv\r\n+RESET\r\n");
    other.expect(b"-NOAUTH Authentication required.\r\n");
}

#[test]
fn auth_without_requirepass() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["AUTH", "x"]),
        err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        )
    );
    assert_eq!(raw.q(&["AUTH", "default", "anything"]), OK);
}

#[test]
fn select_switches_databases_and_refuses_bad_indexes() {
    let server = Server::start(4, &["--databases", "4"]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["SET", "k", "db0"]), OK);
    assert_eq!(raw.q(&["SELECT", "3"]), OK);
    assert_eq!(raw.q(&["GET", "k"]), "$-1\r\n");
    assert_eq!(raw.q(&["SET", "k", "db3"]), OK);
    assert_eq!(raw.q(&["DBSIZE"]), ":1\r\n");
    for bad in ["4", "-1", "99999999999999999999"] {
        assert_eq!(
            raw.q(&["SELECT", bad]),
            if bad.len() > 19 {
                err("ERR value is not an integer or out of range")
            } else {
                err("ERR DB index is out of range")
            },
            "{bad}"
        );
    }
    assert_eq!(
        raw.q(&["SELECT", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        raw.q(&["GET", "k"]),
        bulk("db3"),
        "a failed SELECT keeps the db"
    );
    assert_eq!(raw.q(&["SELECT", "0"]), OK);
    assert_eq!(raw.q(&["GET", "k"]), bulk("db0"));
}

#[test]
fn reset_restores_the_connection_defaults() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let id = raw.call(&["CLIENT", "ID"]).int();
    assert_eq!(raw.q(&["SELECT", "3"]), OK);
    assert_eq!(raw.q(&["CLIENT", "SETNAME", "before-reset"]), OK);
    assert!(raw.q(&["HELLO", "3"]).starts_with("%7\r\n"));
    assert_eq!(raw.q(&["SET", "in3", "v"]), OK);
    assert_eq!(raw.q(&["RESET"]), "+RESET\r\n");
    assert_eq!(raw.q(&["GET", "in3"]), "$-1\r\n", "back to RESP2 and db 0");
    assert_eq!(raw.q(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.call(&["CLIENT", "ID"]).int(), id, "same connection");
    let fields = client_fields(raw.call(&["CLIENT", "INFO"]).text().trim_end());
    assert_eq!((fields["db"].as_str(), fields["resp"].as_str()), ("0", "2"));
}

#[test]
fn time_and_lastsave() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let started = unix_secs();
    let time = raw.call(&["TIME"]);
    let parts = time.items();
    assert_eq!(parts.len(), 2);
    let secs: u64 = parts[0].text().parse().expect("seconds");
    let micros: u64 = parts[1].text().parse().expect("microseconds");
    assert!(micros < 1_000_000);
    assert!(
        secs.abs_diff(started) <= 5,
        "TIME {secs} vs system {started}"
    );
    let lastsave = raw.call(&["LASTSAVE"]).int() as u64;
    assert!(
        lastsave <= unix_secs() && lastsave + 600 >= started,
        "{lastsave}"
    );
    assert_eq!(
        raw.q(&["TIME", "x"]),
        err("ERR wrong number of arguments for 'time' command")
    );
}

#[test]
fn debug_is_refused_by_default() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    let refused = err(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
    );
    assert_eq!(raw.q(&["DEBUG", "SLEEP", "0"]), refused);
    assert_eq!(raw.q(&["DEBUG", "HELP"]), refused);
    assert_eq!(
        raw.q(&["DEBUG"]),
        err("ERR wrong number of arguments for 'debug' command")
    );
}

#[test]
fn debug_error_replies_with_its_argument_verbatim() {
    let server = Server::start(1, &["--enable-debug-command", "yes"]);
    let mut raw = server.raw();
    // Byte for byte what redis-server 7.0.15 sends.
    assert_eq!(
        raw.q(&["DEBUG", "ERROR", "hello world"]),
        "-hello world\r\n"
    );
    assert_eq!(raw.q(&["DEBUG", "ERROR", "ERR x"]), "-ERR x\r\n");
    assert_eq!(raw.q(&["DEBUG", "ERROR", ""]), "-\r\n");
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n", "the connection goes on");
}

// ---------------------------------------------------------------------------------------
// SHUTDOWN and signals
// ---------------------------------------------------------------------------------------

#[test]
fn shutdown_closes_the_client_without_reply_and_exits_0() {
    let mut server = Server::start(4, &[]);
    let mut bystanders: Vec<Raw> = (0..6).map(|_| server.raw()).collect();
    for b in &mut bystanders {
        assert_eq!(b.q(&["PING"]), "+PONG\r\n");
    }
    let mut raw = server.raw();
    assert_eq!(raw.q(&["SHUTDOWN", "foo"]), err("ERR syntax error"));
    assert_eq!(
        raw.q(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        err("ERR syntax error")
    );
    assert_eq!(
        raw.q(&["SHUTDOWN", "ABORT"]),
        err("ERR No shutdown in progress.")
    );
    raw.send(b"SET before 1\r\nSHUTDOWN NOSAVE\r\nSET after 1\r\n");
    assert_eq!(raw.text_to_close(), OK);
    for b in &mut bystanders {
        assert_eq!(b.read_to_close(), b"", "other clients are closed too");
    }
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("corekv exits after SHUTDOWN");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

fn signal_exits_0(signal: libc::c_int) {
    let mut server = Server::start(4, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["SET", "k", "v"]), OK);
    // SAFETY: sending a signal to the child process this test started.
    let rc = unsafe { libc::kill(server.pid() as libc::pid_t, signal) };
    assert_eq!(rc, 0);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("corekv exits on the signal");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(raw.read_to_close(), b"");
}

#[test]
fn sigterm_exits_0() {
    signal_exits_0(libc::SIGTERM);
}

#[test]
fn sigint_exits_0() {
    signal_exits_0(libc::SIGINT);
}

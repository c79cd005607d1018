//! Persistence over real restarts: what a server wrote is what the next one on the same
//! `--dir` serves, under every `appendfsync` policy and every clean way to stop (SHUTDOWN,
//! SIGTERM, SIGINT); expiries are absolute; the shard count may change between runs; clients
//! get `-LOADING` while the log replays; the persistence options are visible in CONFIG / INFO.
//!
//! Crash, damage and disk-full cases live in `persistence_crash.rs`, `persistence_damage.rs`
//! and `persistence_disk_full.rs`.

mod common;

use std::time::{Duration, Instant};

use common::persist::{
    Keyspace, assert_same_keyspace, dump, generation_dirs, read_layout, read_manifest, shard_dirs,
};
use common::{LOAD_TIMEOUT, NIL, OK, Raw, Server, TempDir, bulk, encode, err, info_fields, int};

const LOADING: &str = "LOADING Redis is loading the dataset in memory";

/// A clean way to stop a server; every one must flush, fsync and exit 0.
#[derive(Clone, Copy, Debug)]
enum Stop {
    Shutdown,
    Sigterm,
    Sigint,
}

fn stop(server: &mut Server, how: Stop) {
    let status = match how {
        Stop::Shutdown => server.shutdown(),
        Stop::Sigterm => server.sigterm(),
        Stop::Sigint => server.signal(libc::SIGINT),
    };
    assert_eq!(status.code(), Some(0), "{how:?}: {status:?}");
}

/// A clean stop leaves nothing to truncate: a restart must not report a torn tail.
fn assert_nothing_torn(server: &Server) {
    let stderr = server.stderr_text();
    assert!(
        !stderr.to_lowercase().contains("torn"),
        "a start after a clean stop truncated something:\n{stderr}"
    );
}

/// 3 MB of every byte value, `\r\n` and NULs included: one record larger than recovery's
/// 1 MiB read window.
fn binary_value() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// Writes a bit of everything the log must carry: plain and expiring SETs, DEL, EXPIRE,
/// PERSIST, counters, APPEND, SETRANGE, multi-shard MSET / RENAME / COPY / MOVE, FLUSHDB,
/// SWAPDB and several databases.
fn write_scenario(raw: &mut Raw) {
    let far_future_ms = unix_ms() + 900_000;
    let steps: &[(&[&str], String)] = &[
        (&["SET", "s1", "v1"], OK.into()),
        (&["SET", "ttl", "v", "EX", "1000"], OK.into()),
        (&["SET", "gone", "x"], OK.into()),
        (&["DEL", "gone"], int(1)),
        (&["SET", "persisted", "v", "PX", "100000"], OK.into()),
        (&["PERSIST", "persisted"], int(1)),
        (&["SET", "exp", "v"], OK.into()),
        (&["EXPIRE", "exp", "500"], int(1)),
        (&["SET", "pexpat", "v"], OK.into()),
        (&["SETEX", "sx", "2000", "v"], OK.into()),
        (&["INCR", "counter"], int(1)),
        (&["INCR", "counter"], int(2)),
        (&["INCRBY", "counter", "11"], int(13)),
        (&["DECRBY", "counter", "3"], int(10)),
        (&["INCRBYFLOAT", "f", "1.5"], bulk("1.5")),
        (&["INCRBYFLOAT", "f", "0.25"], bulk("1.75")),
        (&["APPEND", "ap", "ab"], int(2)),
        (&["APPEND", "ap", "cd"], int(4)),
        (&["SETRANGE", "sr", "3", "xyz"], int(6)),
        (
            &["MSET", "m1", "a", "m2", "b", "m3", "c", "m4", "d"],
            OK.into(),
        ),
        (&["RENAME", "s1", "renamed"], OK.into()),
        (&["GETDEL", "m4"], bulk("d")),
        (&["UNLINK", "m2"], int(1)),
        (&["COPY", "renamed", "copied"], int(1)),
        (&["MOVE", "m3", "7"], int(1)),
        (&["SELECT", "1"], OK.into()),
        (&["SET", "a", "1"], OK.into()),
        (&["SET", "b", "2"], OK.into()),
        (&["FLUSHDB"], OK.into()),
        (&["SET", "c", "3"], OK.into()),
        (&["SELECT", "2"], OK.into()),
        (&["SET", "x2", "two"], OK.into()),
        (&["SELECT", "3"], OK.into()),
        (&["SET", "x3", "three"], OK.into()),
        (&["SWAPDB", "2", "3"], OK.into()),
        (&["SELECT", "5"], OK.into()),
        (&["SET", "only5", "v", "EX", "2000"], OK.into()),
        (&["SELECT", "0"], OK.into()),
    ];
    for (args, expected) in steps {
        assert_eq!(&raw.q(args), expected, "{args:?}");
    }
    let at = far_future_ms.to_string();
    assert_eq!(raw.q(&["PEXPIREAT", "pexpat", &at]), int(1));
    assert_eq!(raw.qb(&[b"SET", b"big", &binary_value()]), OK);
}

/// The scenario's outcome, spelled out (the keyspace dump compares everything else).
fn assert_scenario(raw: &mut Raw) {
    let checks: &[(&[&str], String)] = &[
        (&["GET", "renamed"], bulk("v1")),
        (&["EXISTS", "s1", "gone", "m2", "m3", "m4"], int(0)),
        (&["GET", "counter"], bulk("10")),
        (&["GET", "f"], bulk("1.75")),
        (&["GET", "ap"], bulk("abcd")),
        (&["GET", "sr"], bulk("\0\0\0xyz")),
        (&["PTTL", "persisted"], int(-1)),
        (&["GET", "m1"], bulk("a")),
        (&["GET", "copied"], bulk("v1")),
        (&["SELECT", "1"], OK.into()),
        (&["DBSIZE"], int(1)),
        (&["GET", "c"], bulk("3")),
        (&["SELECT", "2"], OK.into()),
        (&["GET", "x3"], bulk("three")),
        (&["EXISTS", "x2"], int(0)),
        (&["SELECT", "3"], OK.into()),
        (&["GET", "x2"], bulk("two")),
        (&["SELECT", "7"], OK.into()),
        (&["GET", "m3"], bulk("c")),
        (&["SELECT", "0"], OK.into()),
    ];
    for (args, expected) in checks {
        assert_eq!(&raw.q(args), expected, "{args:?}");
    }
    let ttl = raw.call(&["TTL", "exp"]).int();
    assert!((1..=500).contains(&ttl), "TTL exp = {ttl}");
    let pexpat = raw.call(&["PEXPIRETIME", "pexpat"]).int();
    assert!(pexpat > unix_ms() as i64, "PEXPIRETIME pexpat = {pexpat}");
    assert_eq!(raw.qb(&[b"GET", b"big"]), bulk_bytes(&binary_value()));
}

fn bulk_bytes(v: &[u8]) -> String {
    let mut out = format!("${}\r\n", v.len()).into_bytes();
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
    String::from_utf8_lossy(&out).into_owned()
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// Writes the scenario, then restarts three times on the same directory (one per clean stop),
/// each time comparing the whole keyspace with the one before the stop and adding a write.
/// Keys set with a short PX expire before a stop (`short`) or while the server is down
/// (`short2`) and must not come back.
fn round_trip(policy: &str, shards: usize) {
    let dir = TempDir::new();
    let args = ["--appendfsync", policy];
    let mut server = Server::start_in(dir.path(), shards, &args);
    let mut raw = server.raw();
    write_scenario(&mut raw);
    assert_eq!(raw.q(&["SET", "short", "v", "PX", "300"]), OK);
    let short_set = Instant::now();
    assert_scenario(&mut raw);
    while short_set.elapsed() < Duration::from_millis(400) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut before = dump(&mut server.conn(), 16);
    let mut dumped = Instant::now();
    assert!(!before.contains_key(&(0, b"short".to_vec())));
    assert_eq!(raw.q(&["SET", "short2", "v", "PX", "1500"]), OK);
    let short2_set = Instant::now();
    for (round, how) in [Stop::Shutdown, Stop::Sigterm, Stop::Sigint]
        .into_iter()
        .enumerate()
    {
        stop(&mut server, how);
        server = Server::start_in(dir.path(), shards, &args);
        assert_nothing_torn(&server);
        raw = server.raw();
        let mut after = dump(&mut server.conn(), 16);
        after.remove(&(0, b"short2".to_vec()));
        assert_same_keyspace(&before, &after, dumped.elapsed());
        assert_scenario(&mut raw);
        assert_eq!(
            raw.q(&["EXISTS", "short"]),
            int(0),
            "expired before {how:?}"
        );
        let key = format!("after-{how:?}");
        assert_eq!(raw.q(&["SET", &key, &round.to_string()]), OK);
        before = dump(&mut server.conn(), 16);
        before.remove(&(0, b"short2".to_vec()));
        dumped = Instant::now();
    }
    while short2_set.elapsed() < Duration::from_millis(1600) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(raw.q(&["EXISTS", "short2"]), int(0), "expired while down");
    stop(&mut server, Stop::Shutdown);
}

#[test]
fn restart_round_trip_appendfsync_always() {
    round_trip("always", 4);
}

#[test]
fn restart_round_trip_appendfsync_everysec() {
    round_trip("everysec", 4);
}

#[test]
fn restart_round_trip_appendfsync_no() {
    round_trip("no", 4);
}

#[test]
fn restart_round_trip_one_shard() {
    round_trip("everysec", 1);
}

fn config_get(raw: &mut Raw, name: &str) -> String {
    let reply = raw.call(&["CONFIG", "GET", name]);
    let items = reply.items();
    assert_eq!(items.len(), 2, "CONFIG GET {name}: {reply:?}");
    assert_eq!(items[0].text(), name);
    items[1].text()
}

#[test]
fn config_appendfsync_is_mutable_and_the_log_options_are_reported() {
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 2, &[]);
    let mut raw = server.raw();
    assert_eq!(config_get(&mut raw, "appendonly"), "yes");
    assert_eq!(config_get(&mut raw, "appendfsync"), "everysec");
    assert_eq!(config_get(&mut raw, "dir"), dir.path().to_string_lossy());
    for policy in ["always", "no", "everysec", "always"] {
        assert_eq!(raw.q(&["CONFIG", "SET", "appendfsync", policy]), OK);
        assert_eq!(config_get(&mut raw, "appendfsync"), policy);
        assert_eq!(raw.q(&["SET", &format!("under-{policy}"), policy]), OK);
    }
    let bad = raw.q(&["CONFIG", "SET", "appendfsync", "sometimes"]);
    assert!(bad.starts_with("-ERR CONFIG SET failed"), "{bad:?}");
    assert_eq!(config_get(&mut raw, "appendfsync"), "always");
    // Redis's defaults, and both are mutable.
    assert_eq!(config_get(&mut raw, "auto-aof-rewrite-percentage"), "100");
    assert_eq!(
        config_get(&mut raw, "auto-aof-rewrite-min-size"),
        "67108864"
    );
    let set = ["CONFIG", "SET", "auto-aof-rewrite-percentage", "50"];
    assert_eq!(raw.q(&set), OK);
    let set = ["CONFIG", "SET", "auto-aof-rewrite-min-size", "1048576"];
    assert_eq!(raw.q(&set), OK);
    assert_eq!(config_get(&mut raw, "auto-aof-rewrite-percentage"), "50");
    assert_eq!(config_get(&mut raw, "auto-aof-rewrite-min-size"), "1048576");
    // Under `always` a crash loses nothing acknowledged.
    assert_eq!(raw.q(&["SET", "last", "always"]), OK);
    server.kill9();
    let server = Server::start_in(dir.path(), 2, &[]);
    let mut raw = server.raw();
    for policy in ["always", "no", "everysec"] {
        assert_eq!(raw.q(&["GET", &format!("under-{policy}")]), bulk(policy));
    }
    assert_eq!(raw.q(&["GET", "last"]), bulk("always"));
    // CONFIG SET is not persisted: the command line's policy is back.
    assert_eq!(config_get(&mut raw, "appendfsync"), "everysec");
}

#[test]
fn info_persistence_reports_the_log() {
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    let info = info_fields(&mut raw, "persistence");
    for field in [
        "aof_enabled",
        "aof_rewrite_in_progress",
        "aof_rewrite_scheduled",
        "aof_last_rewrite_time_sec",
        "aof_current_rewrite_time_sec",
        "aof_last_bgrewrite_status",
        "aof_rewrites",
        "aof_last_write_status",
        "aof_current_size",
        "aof_base_size",
        "aof_buffer_length",
        "aof_delayed_fsync",
        "loading",
    ] {
        assert!(
            info.contains_key(field),
            "INFO persistence lacks {field}: {info:?}"
        );
    }
    assert_eq!(info["aof_enabled"], "1");
    assert_eq!(info["loading"], "0");
    assert_eq!(info["aof_rewrite_in_progress"], "0");
    assert_eq!(info["aof_last_write_status"], "ok");
    assert_eq!(info["aof_last_bgrewrite_status"], "ok");
    let size_before: u64 = info["aof_current_size"].parse().expect("size");
    for i in 0..100 {
        assert_eq!(raw.q(&["SET", &format!("k{i}"), &"v".repeat(100)]), OK);
    }
    let info = info_fields(&mut raw, "persistence");
    let size_after: u64 = info["aof_current_size"].parse().expect("size");
    assert!(
        size_after >= size_before + 100 * 100,
        "aof_current_size {size_before} -> {size_after} after 10 KB of values"
    );
}

#[test]
fn appendonly_no_is_reported() {
    let server = Server::start(1, &["--appendonly", "no"]);
    let mut raw = server.raw();
    assert_eq!(config_get(&mut raw, "appendonly"), "no");
    assert_eq!(info_fields(&mut raw, "persistence")["aof_enabled"], "0");
    assert_eq!(raw.q(&["SET", "k", "v"]), OK);
    assert_eq!(raw.q(&["GET", "k"]), bulk("v"));
}

/// Writes `n` keys spread over databases 0..4, every third with a TTL, in pipelines.
/// Polls INFO until no rewrite is in progress and at least `rewrites` have completed.
fn wait_rewrites(raw: &mut Raw, rewrites: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = info_fields(raw, "persistence");
        if info["aof_rewrite_in_progress"] == "0"
            && info["aof_rewrites"].parse::<u64>().unwrap_or(0) >= rewrites
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rewrite never finished: {info:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn config_set_appendonly_turns_the_log_on_and_off_at_runtime() {
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 2, &["--appendonly", "no"]);
    let mut raw = server.raw();
    for i in 0..300 {
        assert_eq!(raw.q(&["SET", &format!("before{i}"), "v"]), OK);
    }
    assert!(raw.q(&["BGREWRITEAOF"]).starts_with("-ERR Can't execute"));
    // On: the data in memory becomes the base of a new generation; writes after it are logged.
    assert_eq!(raw.q(&["CONFIG", "SET", "appendonly", "yes"]), OK);
    assert_eq!(raw.q(&["SET", "during", "v"]), OK);
    wait_rewrites(&mut raw, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("LAYOUT").exists() {
        assert!(Instant::now() < deadline, "LAYOUT never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(common::persist::read_layout(dir.path()).shards, 2);
    assert_eq!(raw.q(&["SET", "after", "v"]), OK);
    assert_eq!(info_fields(&mut raw, "persistence")["aof_enabled"], "1");
    server.kill9();
    let mut server = Server::start_in(dir.path(), 2, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["DBSIZE"]), int(302));
    assert_eq!(raw.q(&["GET", "before7"]), bulk("v"));
    assert_eq!(raw.q(&["GET", "after"]), bulk("v"));
    // Off: later writes are not logged; what was logged stays.
    assert_eq!(raw.q(&["CONFIG", "SET", "appendonly", "no"]), OK);
    assert_eq!(info_fields(&mut raw, "persistence")["aof_enabled"], "0");
    assert_eq!(raw.q(&["SET", "unlogged", "v"]), OK);
    server.kill9();
    let server = Server::start_in(dir.path(), 2, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["DBSIZE"]), int(302));
    assert_eq!(raw.q(&["GET", "unlogged"]), NIL);
}

/// Sums `field=N` over the `INFO shards` lines.
fn shards_sum(raw: &mut Raw, field: &str) -> u64 {
    let text = raw.call(&["INFO", "shards"]).text();
    text.lines()
        .flat_map(|l| l.split([':', ',']))
        .filter_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .map(|v| v.parse::<u64>().expect("number"))
        .sum()
}

#[test]
fn a_pipeline_of_writes_shares_fdatasyncs_under_always() {
    let server = Server::start(2, &["--appendfsync", "always"]);
    let mut raw = server.raw();
    let before = (
        shards_sum(&mut raw, "log_records"),
        shards_sum(&mut raw, "log_commits"),
    );
    let mut pipeline = Vec::new();
    for i in 0..200 {
        pipeline.extend(encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
    }
    raw.send(&pipeline);
    for _ in 0..200 {
        assert_eq!(raw.read_reply(), b"+OK\r\n");
    }
    let records = shards_sum(&mut raw, "log_records") - before.0;
    let commits = shards_sum(&mut raw, "log_commits") - before.1;
    assert_eq!(records, 200, "one record per SET");
    assert!(commits >= 1, "the records were committed");
    assert!(
        commits * 4 <= records,
        "group commit: {commits} fdatasyncs for {records} records"
    );
}

fn write_keys_across_dbs(server: &Server, n: usize) {
    let mut con = server.conn();
    for db in 0..4 {
        let mut pipe = redis::pipe();
        pipe.cmd("SELECT").arg(db).ignore();
        for i in (0..n).filter(|i| i % 4 == db) {
            let key = if i % 10 == 0 {
                format!("{{tag{}}}key{i}", i % 7)
            } else {
                format!("key{i}")
            };
            pipe.cmd("SET").arg(&key).arg(format!("value-{i}")).ignore();
            if i % 3 == 0 {
                pipe.cmd("EXPIRE").arg(&key).arg(1000 + i).ignore();
            }
        }
        pipe.query::<()>(&mut con).expect("pipelined SETs");
    }
}

#[test]
fn changing_the_shard_count_keeps_every_key_and_ttl() {
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 4, &[]);
    write_keys_across_dbs(&server, 2000);
    let mut before: Keyspace = dump(&mut server.conn(), 16);
    assert_eq!(before.len(), 2000);
    let mut dumped = Instant::now();
    let mut generation = read_layout(dir.path()).generation;
    stop(&mut server, Stop::Shutdown);
    for shards in [1, 3, 2] {
        let mut server = Server::start_in(dir.path(), shards, &[]);
        let after = dump(&mut server.conn(), 16);
        assert_same_keyspace(&before, &after, dumped.elapsed());
        // A write under the new layout must reach the next one.
        let mut raw = server.raw();
        assert_eq!(raw.q(&["SELECT", "9"]), OK);
        let key = format!("written-with-{shards}-shards");
        assert_eq!(raw.q(&["SET", &key, "x", "EX", "5000"]), OK);
        before = dump(&mut server.conn(), 16);
        dumped = Instant::now();
        stop(&mut server, Stop::Sigterm);

        let layout = read_layout(dir.path());
        assert_eq!(layout.shards, shards);
        assert_ne!(
            layout.generation, generation,
            "a new generation for {shards}"
        );
        generation = layout.generation;
        assert_eq!(
            generation_dirs(dir.path()),
            vec![format!("gen-{generation}")],
            "only the current generation is left"
        );
        let gen_dir = dir.path().join(format!("gen-{generation}"));
        let mut shard_names: Vec<String> = std::fs::read_dir(&gen_dir)
            .expect("list generation")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("shard-"))
            .collect();
        shard_names.sort();
        let expected: Vec<String> = (0..shards).map(|j| format!("shard-{j}")).collect();
        assert_eq!(shard_names, expected);
        for shard in shard_dirs(dir.path()) {
            assert!(!read_manifest(&shard).is_empty(), "{}", shard.display());
        }
    }
    let server = Server::start_in(dir.path(), 2, &[]);
    let after = dump(&mut server.conn(), 16);
    assert_same_keyspace(&before, &after, dumped.elapsed());
    assert_eq!(after.len(), 2003);
}

/// SETs `k{i}` to `i` for i in 0..n, pipelined.
fn fill(server: &Server, n: usize) {
    let mut con = server.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
        }
        pipe.query::<()>(&mut con).expect("pipelined SETs");
    }
}

/// The keyspace is exactly what [`fill`] wrote.
fn assert_filled(server: &Server, n: usize) {
    let mut con = server.conn();
    let size: usize = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    assert_eq!(size, n, "DBSIZE");
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("k{i}")).collect();
        let values: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query(&mut con).expect("MGET");
        for (i, v) in chunk.iter().zip(values) {
            assert_eq!(v, Some(i.to_string()), "k{i}");
        }
    }
}

/// Waits until INFO says `loading:1` (the replay is under way), for at most 10 s.
fn wait_loading_started(server: &Server) {
    let mut raw = server.raw();
    for _poll in 0..2000 {
        if info_fields(&mut raw, "persistence")["loading"] == "1" {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("never saw loading:1");
}

#[test]
fn clients_get_loading_while_the_log_replays() {
    const KEYS: usize = 50_000;
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 2, &[]);
    fill(&server, KEYS);
    stop(&mut server, Stop::Shutdown);

    // 100 µs per record, 25 000 records per shard: seconds of loading.
    let server = Server::start_in_loading(dir.path(), 2, &["--key-load-delay", "100"]);
    let mut raw = server.raw();
    let (mut get_loading, mut ping_loading, mut info_loading) = (false, false, false);
    for _poll in 0..20_000 {
        let info = info_fields(&mut raw, "persistence");
        if info.get("loading").map(String::as_str) == Some("0") {
            break;
        }
        assert_eq!(
            info.get("loading").map(String::as_str),
            Some("1"),
            "{info:?}"
        );
        info_loading = true;
        match raw.q(&["GET", "k0"]) {
            r if r == err(LOADING) => get_loading = true,
            r => assert_eq!(r, bulk("0"), "GET while loading"),
        }
        match raw.q(&["PING"]) {
            r if r == err(LOADING) => ping_loading = true,
            r => assert_eq!(r, "+PONG\r\n", "PING while loading"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(info_loading, "INFO never showed loading:1");
    assert!(get_loading, "GET never answered -{LOADING}");
    assert!(ping_loading, "PING never answered -{LOADING}");
    server.wait_loaded(LOAD_TIMEOUT);
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n");
    assert_filled(&server, KEYS);
    assert_eq!(raw.q(&["GET", "nosuchkey"]), NIL);
}

/// Loading reads the log and changes nothing on disk until it is done: a crash mid-replay
/// loses nothing.
#[test]
fn kill9_while_loading_loses_nothing() {
    const KEYS: usize = 20_000;
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 4, &[]);
    fill(&server, KEYS);
    stop(&mut server, Stop::Shutdown);
    for pause_ms in [0, 30, 120] {
        let mut server = Server::start_in_loading(dir.path(), 4, &["--key-load-delay", "50"]);
        wait_loading_started(&server);
        std::thread::sleep(Duration::from_millis(pause_ms));
        server.kill9();
    }
    let server = Server::start_in(dir.path(), 4, &[]);
    assert_filled(&server, KEYS);
}

/// A crash while re-sharding (a new generation being written) loses nothing, whichever
/// shard count the next start uses.
#[test]
fn kill9_while_resharding_loses_nothing() {
    const KEYS: usize = 20_000;
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 4, &[]);
    fill(&server, KEYS);
    stop(&mut server, Stop::Shutdown);
    for (shards, pause_ms) in [(2, 0), (2, 60), (3, 150), (1, 300)] {
        let extra = ["--key-load-delay", "50"];
        let mut server = Server::start_in_loading(dir.path(), shards, &extra);
        wait_loading_started(&server);
        std::thread::sleep(Duration::from_millis(pause_ms));
        server.kill9();
    }
    for shards in [2, 4] {
        let mut server = Server::start_in(dir.path(), shards, &[]);
        assert_filled(&server, KEYS);
        stop(&mut server, Stop::Sigterm);
        assert_eq!(read_layout(dir.path()).shards, shards);
        assert_eq!(
            generation_dirs(dir.path()).len(),
            1,
            "{:?}",
            generation_dirs(dir.path())
        );
    }
}

//! The shipped load generator, `corekv-bench`, run as users run it: the built binary against a
//! real corekv from the harness, a few hundred requests per run. Each run checks its JSON
//! report (counts add up, percentiles are ordered, no errors) and, where it can, the server's
//! own counters, so a generator that only claims to send is caught. Fake servers stand in for
//! a server that answers wrongly or not at all. Nothing asserts on speed.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::thread;

use common::{Raw, Resp, Server, info_fields};
use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corekv-bench"))
        .args(args)
        .output()
        .expect("run corekv-bench")
}

/// Runs `kv` with `--json --quiet`; expects exit 0 and returns the report.
fn kv(port: u16, args: &[&str]) -> Value {
    let port = port.to_string();
    let mut all = vec!["kv", "--port", &port, "--json", "--quiet"];
    all.extend_from_slice(args);
    let out = bench(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{all:?}: {:?}\n{stderr}", out.status);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{all:?}: not JSON ({e})"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// p50 <= p90 <= p99 <= p99.9 <= max, all positive, and `count` samples.
fn assert_percentiles(latency: &Value, count: u64) {
    assert_eq!(latency["count"], count, "{latency}");
    let p: Vec<f64> = ["p50", "p90", "p99", "p99_9", "max"]
        .iter()
        .map(|k| num(&latency[k]))
        .collect();
    assert!(p[0] > 0.0, "{latency}");
    assert!(p.windows(2).all(|w| w[0] <= w[1]), "{latency}");
}

/// Common checks: ok, no errors, `requests` measured, per-command counts that add up.
fn assert_clean(report: &Value, requests: u64) {
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["requests"], requests, "{report}");
    assert_percentiles(&report["latency_us"], requests);
    let commands = report["commands"].as_object().expect("commands");
    let sum: u64 = commands
        .values()
        .map(|c| c["requests"].as_u64().expect("count"))
        .sum();
    assert_eq!(sum, requests, "{report}");
    for c in commands.values() {
        assert_percentiles(&c["latency_us"], c["requests"].as_u64().expect("count"));
    }
    let busy = report["client_cpu_busy"].as_array().expect("per thread");
    assert_eq!(
        busy.len() as u64,
        report["threads"].as_u64().expect("threads")
    );
    assert!(
        busy.iter().all(|b| (0.0..=1.5).contains(&num(b))),
        "{report}"
    );
}

/// `calls=N` of `INFO commandstats`' line for `command`.
fn calls(raw: &mut Raw, command: &str) -> u64 {
    let stats = info_fields(raw, "commandstats");
    let line = stats
        .get(&format!("cmdstat_{command}"))
        .unwrap_or_else(|| panic!("no cmdstat_{command} in {stats:?}"));
    line.trim_start_matches("calls=")
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("calls=N")
}

#[test]
fn closed_loop_pipelined_with_prefill() {
    let server = Server::start(2, &[]);
    let report = kv(
        server.port,
        &[
            "--connections",
            "4",
            "--threads",
            "2",
            "--pipeline",
            "4",
            "--requests",
            "400",
            "--ratio",
            "1:3",
            "--keyspace",
            "200",
            "--prefill",
        ],
    );
    assert_clean(&report, 400);
    assert_eq!(
        (report["mode"].as_str(), report["pipeline"].as_u64()),
        (Some("closed loop"), Some(4))
    );
    // 1:3 is exact: each connection's 100 requests are 25 cycles of SET, GET, GET, GET.
    assert_eq!(report["commands"]["SET"]["requests"], 100);
    assert_eq!(report["commands"]["GET"]["requests"], 300);
    assert_eq!(report["misses"], 0, "every key was prefilled");
    assert_eq!(report["prefill"]["keys"], 200);
    let mut raw = server.raw();
    assert_eq!(raw.call(&["DBSIZE"]), Resp::Int(200));
    assert_eq!(calls(&mut raw, "set"), 200 + 100);
    assert_eq!(calls(&mut raw, "get"), 300);
    assert_eq!(raw.call(&["STRLEN", "key:000000000199"]), Resp::Int(16));
}

#[test]
fn open_loop_keeps_its_schedule_and_reports_lag() {
    let server = Server::start(1, &[]);
    // 300 requests at 2000/s over 3 connections: the last one is due 148.5 ms in.
    let report = kv(
        server.port,
        &[
            "--rate",
            "2000",
            "--connections",
            "3",
            "--requests",
            "300",
            "--ratio",
            "1:1",
        ],
    );
    assert_clean(&report, 300);
    assert!(
        num(&report["measured_s"]) >= 0.14,
        "sent faster than the rate: {report}"
    );
    let schedule = &report["schedule"];
    assert_eq!(schedule["target_ops_per_sec"], 2000.0);
    assert_percentiles(&schedule["lag_us"], 300);
    let mut raw = server.raw();
    assert_eq!(calls(&mut raw, "set") + calls(&mut raw, "get"), 300);
}

#[test]
fn websocket_zipf_and_resp3_with_warmup() {
    let server = Server::start(2, &[]);
    let ws = kv(
        server.ws_port,
        &[
            "--protocol",
            "ws",
            "--connections",
            "3",
            "--pipeline",
            "2",
            "--requests",
            "300",
            "--distribution",
            "zipf",
            "--zipf-exponent",
            "1.2",
            "--keyspace",
            "50",
        ],
    );
    assert_clean(&ws, 300);
    assert_eq!(
        (ws["protocol"].as_str(), ws["distribution"].as_str()),
        (Some("ws"), Some("zipf"))
    );
    let mut raw = server.raw();
    let set = calls(&mut raw, "set");
    assert_eq!(
        set,
        ws["commands"]["SET"]["requests"].as_u64().expect("SETs")
    );
    // Zipf over 50 keys at 1.2: key 0, the hottest, takes about 28% of the draws.
    assert_eq!(raw.call(&["EXISTS", "key:000000000000"]), Resp::Int(1));

    let resp3 = kv(
        server.port,
        &[
            "--resp",
            "3",
            "--connections",
            "2",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
        ],
    );
    let requests = resp3["requests"].as_u64().expect("count");
    assert!(requests > 0, "{resp3}");
    assert_clean(&resp3, requests);
    assert_eq!(
        (resp3["protocol"].as_str(), resp3["warmup_s"].as_f64()),
        (Some("resp3"), Some(0.1))
    );
}

#[test]
fn error_replies_are_counted_and_fail_the_exit_status() {
    let server = Server::start(1, &[]);
    let port = server.port.to_string();
    // Prefilled values are `x`s: INCR answers every one with an error.
    let out = bench(&[
        "kv",
        "--port",
        &port,
        "--json",
        "--quiet",
        "--prefill",
        "--keyspace",
        "10",
        "--connections",
        "2",
        "--requests",
        "50",
        "--command",
        "INCR __key__",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (report["ok"].as_bool(), report["errors"].as_u64()),
        (Some(false), Some(50))
    );
    assert_eq!(report["commands"]["INCR __key__"]["errors"], 50);
    assert_eq!(
        report["first_error"],
        "ERR value is not an integer or out of range"
    );

    // The text report has the table and the warning.
    let text = bench(&[
        "kv",
        "--port",
        &port,
        "--quiet",
        "--requests",
        "20",
        "--ratio",
        "0:1",
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{stdout}");
    assert!(stdout.contains("measured: 20 requests in"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("GET ") && l.contains(" 20 ")),
        "{stdout}"
    );
    assert!(stdout.contains("client cpu busy per thread: "), "{stdout}");
}

/// A fake server on a free loopback port that answers every read with `reply` (or never,
/// when it is empty), for one connection.
fn fake_server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 || (!reply.is_empty() && stream.write_all(reply).is_err()) {
                return;
            }
        }
    });
    port
}

#[test]
fn wrong_replies_and_silence_fail_the_run() {
    let port = fake_server(b":1\r\n").to_string();
    let out = bench(&[
        "kv",
        "--port",
        &port,
        "--connections",
        "1",
        "--requests",
        "5",
        "--ratio",
        "1:0",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED: connection 0: SET: Ok expected, got Int(1)"),
        "{stderr}"
    );

    let port = fake_server(b"").to_string();
    let out = bench(&[
        "kv",
        "--port",
        &port,
        "--connections",
        "1",
        "--requests",
        "5",
        "--quiet",
        "--json",
        "--reply-timeout-s",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("waited 1 s without a reply"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["ok"], false);
}

#[test]
fn only_loopback_targets_and_sane_options_are_accepted() {
    for tool in [&["kv"][..], &["pubsub"][..]] {
        let mut args = tool.to_vec();
        args.extend_from_slice(&["--host", "10.1.2.3", "--port", "6379"]);
        let out = bench(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("not a loopback address"), "{stderr}");
    }
    for bad in [
        &["--pipeline", "0"][..],
        &["--rate", "-5"],
        &["--ratio", "0:0"],
        &["--keyspace", "0"],
        &["--threads", "3", "--connections", "2"],
        &["--cpus", "99999"],
    ] {
        let mut args = vec!["kv", "--port", "1"];
        args.extend_from_slice(bad);
        let out = bench(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?} was accepted");
    }
}

#[test]
fn pubsub_reports_percentiles_as_json() {
    let server = Server::start(2, &[]);
    let port = server.port.to_string();
    let out = bench(&[
        "pubsub",
        "--port",
        &port,
        "--subscribers",
        "3",
        "--messages",
        "200",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(report["ok"], true);
    assert_eq!(report["deliveries"], 600);
    assert_percentiles(&report["latency_us"], 600);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RESULT ok=1"),
        "the text goes to stderr: {stderr}"
    );
}

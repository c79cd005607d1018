//! The config file (redis.conf syntax) over the real binary: values reach CONFIG GET, flags
//! given on the command line win, a bad file stops the start with its file and line, CONFIG
//! REWRITE writes the running values back with minimal changes; and `--log-format json`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{OK, Raw, Server, TempDir, bulk, err};

/// How long a corekv given a bad configuration may take to exit.
const BAD_CONFIG_EXIT: Duration = Duration::from_secs(10);

/// Writes `text` as `name` in `dir` and returns its path.
fn write_conf(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write config file");
    path
}

/// `CONFIG GET name` on `raw`: the value.
fn config_get(raw: &mut Raw, name: &str) -> String {
    let reply = raw.q(&["CONFIG", "GET", name]);
    let expected_head = format!("*2\r\n{}", bulk(name));
    let value = reply
        .strip_prefix(&expected_head)
        .unwrap_or_else(|| panic!("CONFIG GET {name}: {reply:?}"));
    let (_, rest) = value.split_once("\r\n").expect("bulk header");
    rest.strip_suffix("\r\n").expect("bulk end").to_string()
}

/// Runs corekv with `args` (on a free data directory and port), expecting it to exit by
/// itself; returns its exit code and stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let data = TempDir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--port", "0", "--ws-port", "0", "--no-pin", "--dir"])
        .arg(data.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn corekv");
    let deadline = Instant::now() + BAD_CONFIG_EXIT;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("corekv {args:?} still running after {BAD_CONFIG_EXIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn file_sets_options_and_command_line_flags_override_it() {
    let dir = TempDir::new();
    let path = write_conf(
        &dir,
        "corekv.conf",
        "# corekv test configuration\n\
         \n\
         port 1\n\
         shards 3\n\
         requirepass \"file pass\"\n\
         MaxClients 321\n\
         timeout \"45\"\n\
         save \"\"\n\
         notify-keyspace-events KEA\n\
         hash-max-ziplist-entries '99'\n\
         client-output-buffer-limit pubsub 64mb 16mb 120\n\
         loglevel warning\n",
    );
    let path_arg = path.to_str().expect("utf-8 path");
    // The harness gives --port, --shards 2 and --requirepass on the command line.
    let server = Server::start_with_password(2, "cli pass", &[path_arg]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["AUTH", "cli pass"]), OK);
    assert_eq!(config_get(&mut raw, "maxclients"), "321");
    assert_eq!(config_get(&mut raw, "timeout"), "45");
    assert_eq!(config_get(&mut raw, "save"), "");
    assert_eq!(config_get(&mut raw, "notify-keyspace-events"), "AKE");
    assert_eq!(config_get(&mut raw, "hash-max-listpack-entries"), "99");
    assert_eq!(
        config_get(&mut raw, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 120"
    );
    assert_eq!(config_get(&mut raw, "loglevel"), "warning");
    assert_eq!(config_get(&mut raw, "requirepass"), "cli pass");
    assert_eq!(config_get(&mut raw, "port"), server.port.to_string());
    let info = common::info_fields(&mut raw, "server");
    assert_eq!(info["corekv_shards"], "2");
    // CONFIG SET still works on values the file set.
    assert_eq!(raw.q(&["CONFIG", "SET", "maxclients", "400"]), OK);
    assert_eq!(config_get(&mut raw, "maxclients"), "400");
}

#[test]
fn unknown_option_stops_the_start_naming_file_and_line() {
    let dir = TempDir::new();
    let path = write_conf(
        &dir,
        "bad.conf",
        "# a typo on line 3\nmaxmemory 1gb\nmaxmemmory 2gb\n",
    );
    let (code, stderr) = run_to_exit(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("corekv: {}:3: unknown option 'maxmemmory'", path.display())
    );
}

#[test]
fn invalid_values_stop_the_start_naming_file_and_line() {
    let dir = TempDir::new();
    let cases: &[(&str, &str)] = &[
        (
            "timeout 5\nmaxclients 0\n",
            ":2: invalid value for 'maxclients': argument must be between 1 and 4294967295 inclusive",
        ),
        (
            "save 10\n",
            ":1: invalid value for 'save': Invalid save parameters",
        ),
        ("requirepass \"unterminated\n", ":1: unbalanced quotes"),
        (
            "include /etc/other.conf\n",
            ":1: 'include' is not supported",
        ),
        // A flag that overrides the option does not excuse a bad value in the file.
        ("\n\nshards 0\n", ":3: invalid value for 'shards'"),
    ];
    for (n, (text, expected)) in cases.iter().enumerate() {
        let path = write_conf(&dir, &format!("bad{n}.conf"), text);
        let (code, stderr) = run_to_exit(&["--shards", "1", "--config", path.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{text:?}: {stderr}");
        let prefix = format!("corekv: {}{expected}", path.display());
        assert!(stderr.starts_with(&prefix), "{text:?}: {stderr}");
    }
    // A missing file, and a bad flag, exit with the same status.
    let missing = dir.path().join("missing.conf");
    let (code, stderr) = run_to_exit(&[missing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("missing.conf"), "{stderr}");
    let (code, stderr) = run_to_exit(&["--shards", "0"]);
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn config_rewrite_without_a_file_is_redis_error() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["CONFIG", "REWRITE"]),
        err("ERR The server is running without a config file")
    );
}

/// The file a rewrite test starts from: comments, options at and off their defaults, two
/// `save` lines.
const REWRITE_BEFORE: &str = "\
# corekv: rewrite test
maxmemory 1gb

# persistence
save 100 1
save 200 2
timeout 0
hash-max-ziplist-entries 100
# end of the hand-written part
";

#[test]
fn config_rewrite_round_trip() {
    let dir = TempDir::new();
    let path = write_conf(&dir, "corekv.conf", REWRITE_BEFORE);
    let path_arg = path.to_str().unwrap();
    let mut server = Server::start(1, &[path_arg]);
    let mut raw = server.raw();
    let set = [
        "CONFIG",
        "SET",
        "timeout",
        "30",
        "save",
        "300 3",
        "maxclients",
        "77",
        "notify-keyspace-events",
        "KEA",
        "maxmemory",
        "1gb",
    ];
    assert_eq!(raw.q(&set), OK);
    assert_eq!(raw.q(&["CONFIG", "REWRITE"]), OK);
    let after = std::fs::read_to_string(&path).expect("read rewritten file");
    let lines: Vec<&str> = after.lines().collect();
    // The hand-written part keeps its comments and order; changed values replace their
    // lines in place, the unneeded second `save` line goes, unchanged lines stay as written.
    assert_eq!(
        lines[..8],
        [
            "# corekv: rewrite test",
            "maxmemory 1gb",
            "",
            "# persistence",
            "save 300 3",
            "timeout 30",
            "hash-max-ziplist-entries 100",
            "# end of the hand-written part",
        ],
        "{after}"
    );
    assert_eq!(lines[8], "# Generated by CONFIG REWRITE", "{after}");
    let generated = &lines[9..];
    assert!(generated.contains(&"maxclients 77"), "{after}");
    assert!(generated.contains(&"notify-keyspace-events AKE"), "{after}");
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["corekv.conf"]);

    // A second rewrite with nothing changed leaves the file as it is.
    assert_eq!(raw.q(&["CONFIG", "REWRITE"]), OK);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);

    drop(raw);
    assert_eq!(server.shutdown().code(), Some(0));
    let server = Server::start(1, &[path_arg]);
    let mut raw = server.raw();
    assert_eq!(config_get(&mut raw, "timeout"), "30");
    assert_eq!(config_get(&mut raw, "save"), "300 3");
    assert_eq!(config_get(&mut raw, "maxclients"), "77");
    assert_eq!(config_get(&mut raw, "notify-keyspace-events"), "AKE");
    assert_eq!(config_get(&mut raw, "maxmemory"), "1073741824");
    assert_eq!(config_get(&mut raw, "hash-max-listpack-entries"), "100");
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let mut server = Server::start(1, &["--log-format", "json"]);
    // The harness logs at `warn`; SHUTDOWN from a client is logged at that level.
    assert_eq!(server.shutdown().code(), Some(0));
    let stderr = server.stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        assert!(v["target"].is_string(), "{line}");
        assert!(v["fields"]["message"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("SHUTDOWN requested")),
        "{stderr}"
    );
}

#[test]
fn log_format_comes_from_the_file_too() {
    let dir = TempDir::new();
    let path = write_conf(&dir, "corekv.conf", "log-format json\n");
    let mut server = Server::start(1, &[path.to_str().unwrap()]);
    assert_eq!(server.shutdown().code(), Some(0));
    let stderr = server.stderr_text();
    let first = stderr.lines().next().expect("a log line");
    let v: serde_json::Value = serde_json::from_str(first).expect("JSON log line");
    assert_eq!(v["level"], "WARN", "{first}");
}

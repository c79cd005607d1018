//! Real clients as subprocesses: redis-cli (one-shot commands, stdin input, interactive mode
//! driven through a pseudo-terminal) and redis-benchmark. These are the tools operators point
//! at a server first; they must work without an error line.
//!
//! redis-cli and redis-benchmark come from Debian's redis-tools package (tests/run.sh
//! installs it); a missing tool fails the test with a message saying so.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{Resp, Server, require_tool};

fn redis_cli() -> PathBuf {
    require_tool("redis-cli")
}

/// Runs a program to completion with `stdin` as its input.
fn run_with_input(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("client output")
}

/// `redis-cli -p PORT args...` with empty input; returns stdout, asserting a clean exit.
fn cli(server: &Server, args: &[&str]) -> String {
    let mut cmd = Command::new(redis_cli());
    cmd.args(["-p", &server.port.to_string()]).args(args);
    let out = run_with_input(cmd, b"");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "redis-cli {args:?} failed: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn redis_cli_one_shot_commands() {
    let server = Server::start(2, &[]);
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(
        cli(&server, &["--no-raw", "GET", "greeting"]),
        "\"hello world\"\n"
    );
    assert_eq!(
        cli(&server, &["--no-raw", "INCR", "visits"]),
        "(integer) 1\n"
    );
    assert_eq!(cli(&server, &["--no-raw", "GET", "missing"]), "(nil)\n");
    assert_eq!(
        cli(&server, &["MSET", "a", "1", "b", "2", "c", "3"]),
        "OK\n"
    );
    assert_eq!(
        cli(&server, &["MGET", "a", "b", "missing", "c"]),
        "1\n2\n\n3\n"
    );
    // -n selects a database before the command.
    assert_eq!(cli(&server, &["-n", "5", "SET", "in5", "yes"]), "OK\n");
    assert_eq!(cli(&server, &["-n", "5", "GET", "in5"]), "yes\n");
    assert_eq!(cli(&server, &["GET", "in5"]), "\n");
    assert_eq!(
        cli(&server, &["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nnoeviction\n"
    );
    let info = cli(&server, &["INFO", "server"]);
    assert!(info.contains("redis_version:7.0.15"), "{info}");
    assert_eq!(
        cli(&server, &["NOSUCH", "x"]),
        "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n"
    );
    // RESP3 through redis-cli.
    let hello = cli(&server, &["-3", "--no-raw", "HELLO", "3"]);
    assert!(hello.contains("\"proto\""), "{hello}");
    assert!(hello.contains("(integer) 3"), "{hello}");
}

#[test]
fn redis_cli_reads_values_and_commands_from_stdin() {
    let server = Server::start(2, &[]);
    let port = server.port.to_string();
    // -x: the last argument comes from stdin.
    let mut cmd = Command::new(redis_cli());
    cmd.args(["-p", &port, "-x", "SET", "from-stdin"]);
    let out = run_with_input(cmd, b"line one\nline two\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    assert_eq!(
        cli(&server, &["GET", "from-stdin"]),
        "line one\nline two\n\n"
    );
    // Commands on stdin, one per line, including redis-cli's quoting.
    let mut cmd = Command::new(redis_cli());
    cmd.args(["-p", &port]);
    let out = run_with_input(
        cmd,
        b"SET \"key with spaces\" 'and a value'\nGET \"key with spaces\"\nINCRBY n 5\nECHO \"\\x41\\x42\"\n",
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "OK\nand a value\n5\nAB\n"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn redis_cli_with_a_password() {
    let server = Server::start_with_password(2, "pw", &[]);
    let port = server.port.to_string();
    let mut cmd = Command::new(redis_cli());
    cmd.args(["-p", &port, "PING"]);
    let out = run_with_input(cmd, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NOAUTH Authentication required.\n\n"
    );
    let mut cmd = Command::new(redis_cli());
    cmd.args([
        "-p",
        &port,
        "-a",
        "pw",
        "--no-auth-warning",
        "SET",
        "k",
        "v",
    ]);
    let out = run_with_input(cmd, b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let mut cmd = Command::new(redis_cli());
    cmd.args([
        "-p",
        &port,
        "--user",
        "default",
        "--pass",
        "pw",
        "--no-auth-warning",
    ])
    .args(["GET", "k"]);
    let out = run_with_input(cmd, b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "v\n");
}

/// Interactive redis-cli under a pseudo-terminal (`script`), so it runs its interactive
/// start-up: it fetches COMMAND DOCS to build its help and hints. TERM=dumb keeps linenoise
/// from asking the terminal for its cursor position.
#[test]
fn interactive_redis_cli_reads_command_docs_without_errors() {
    let cli_path = redis_cli();
    let script = require_tool("script");
    let server = Server::start(2, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let session = b"SET greeting hello\nGET greeting\nhelp GET\nhelp @string\nCLIENT SETNAME cli\nCLIENT GETNAME\nquit\n";
    let mut cmd = Command::new(script);
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} -p {}", cli_path.display(), server.port))
        .arg("/dev/null")
        .env("TERM", "dumb");
    let out = run_with_input(cmd, session);
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{:?}\n{text}", out.status);
    let prompt = format!("127.0.0.1:{}> ", server.port);
    assert!(text.contains(&format!("{prompt}OK\n")), "{text}");
    assert!(text.contains(&format!("{prompt}\"hello\"\n")), "{text}");
    assert!(text.contains(&format!("{prompt}\"cli\"\n")), "{text}");
    // `help GET` and `help @string` print the docs corekv served.
    assert!(text.contains("Get the value of a key"), "{text}");
    assert!(text.contains("Set the string value of a key"), "{text}");
    assert!(text.contains("since:"), "{text}");
    for bad in ["ERR", "Error", "error", "(error)"] {
        assert!(!text.contains(bad), "{bad} in the session:\n{text}");
    }
    // The docs came from the server: redis-cli sent COMMAND DOCS at start-up.
    let stats = raw.call(&["INFO", "commandstats"]).text();
    let command_calls = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_command|docs:"))
        .unwrap_or_else(|| panic!("redis-cli never sent COMMAND DOCS:\n{stats}"));
    assert!(command_calls.contains("failed_calls=0"), "{command_calls}");
}

/// Runs redis-benchmark against `server` and returns its output, asserting a clean exit and
/// no error or warning line.
fn benchmark(server: &Server, args: &[&str]) -> String {
    let bin = require_tool("redis-benchmark");
    let mut cmd = Command::new(bin);
    cmd.args(["-p", &server.port.to_string()]).args(args);
    let out = run_with_input(cmd, b"");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress lines end in '\r'; keep the lines that remain.
    let lines: Vec<&str> = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        out.status.success(),
        "redis-benchmark {args:?}: {:?}\n{text}",
        out.status
    );
    for line in &lines {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.contains("error") && !lower.contains("warning") && !line.contains("ERR"),
            "redis-benchmark {args:?} printed {line:?}"
        );
    }
    text
}

/// The final `NAME: N requests per second` line of each test, by name.
fn finished_tests(text: &str) -> Vec<String> {
    text.split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn redis_benchmark_pipelined() {
    let server = Server::start(2, &[]);
    let text = benchmark(
        &server,
        &["-t", "set,get,incr,mset", "-P", "16", "-q", "-n", "20000"],
    );
    assert_eq!(
        finished_tests(&text),
        ["SET", "GET", "INCR", "MSET (10 keys)"],
        "{text}"
    );
    // Every request arrived and ran: INCR hit one counter 20,000 times.
    let mut raw = server.raw();
    assert_eq!(raw.q(&["GET", "counter:__rand_int__"]), "$5\r\n20000\r\n");
    assert_eq!(raw.q(&["EXISTS", "key:__rand_int__"]), ":1\r\n");
    let errors = raw.call(&["INFO", "errorstats"]);
    assert_eq!(errors, Resp::Bulk(b"# Errorstats\r\n".to_vec()));
}

#[test]
fn redis_benchmark_50_clients() {
    let server = Server::start(2, &[]);
    let text = benchmark(&server, &["-t", "set,get", "-c", "50", "-q", "-n", "20000"]);
    assert_eq!(finished_tests(&text), ["SET", "GET"], "{text}");
    let mut raw = server.raw();
    let stats = raw.call(&["INFO", "commandstats"]).text();
    for cmd in ["set", "get"] {
        let line = stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{cmd}:")))
            .unwrap_or_else(|| panic!("{stats}"));
        assert!(
            line.starts_with(&format!("cmdstat_{cmd}:calls=20000,")),
            "{line}"
        );
        assert!(line.ends_with("rejected_calls=0,failed_calls=0"), "{line}");
    }
}

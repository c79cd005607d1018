//! Running as a service: systemd's notify protocol over a socket the test controls, SIGTERM
//! under load, and the shipped unit file checked by `systemd-analyze verify`.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{OK, Raw, TempDir, free_port};

/// Reads notify datagrams until one contains `want` (or the deadline passes).
fn wait_for(sock: &UnixDatagram, want: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return;
            }
        }
    }
    panic!("no {want} from corekv; got {seen:?}");
}

#[test]
fn notify_socket_gets_status_ready_then_stopping() {
    let dir = TempDir::new();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let data = dir.path().join("data");
    // A first run leaves a log, so the second one has something to load (slowly).
    {
        let mut server = common::Server::start_in(&data, 1, &[]);
        let mut raw = server.raw();
        for i in 0..300 {
            assert_eq!(raw.q(&["SET", &format!("k{i}"), "v"]), OK);
        }
        server.sigterm();
    }
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--port", &port.to_string(), "--shards", "1", "--no-pin"])
        .args(["--ws-port", "0"])
        .args(["--log-level", "warn", "--key-load-delay", "3000"])
        .arg("--dir")
        .arg(&data)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn corekv");
    let mut seen = Vec::new();
    wait_for(&sock, "READY=1", &mut seen);
    let before_ready = &seen[..seen.len() - 1];
    assert!(
        before_ready.iter().any(|m| m.starts_with("STATUS=Loading")),
        "loading progress before READY=1: {seen:?}"
    );
    // READY means loaded: every key is there.
    let mut raw = Raw::connect(port);
    assert_eq!(raw.q(&["DBSIZE"]), common::int(300));
    // SIGTERM: STOPPING=1, then exit 0.
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    wait_for(&sock, "STOPPING=1", &mut seen);
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn without_notify_socket_nothing_is_sent_and_the_server_runs() {
    // The common harness never sets NOTIFY_SOCKET: a plain start must work (covered by every
    // other test); here only check that an unusable NOTIFY_SOCKET does not stop the server.
    let dir = TempDir::new();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--port", &port.to_string(), "--shards", "1", "--no-pin"])
        .args(["--ws-port", "0"])
        .args(["--log-level", "error"])
        .arg("--dir")
        .arg(dir.path())
        .env("NOTIFY_SOCKET", dir.path().join("nobody-listens"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn corekv");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !common::owns_listener(child.id(), port) {
        assert!(Instant::now() < deadline, "corekv did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut raw = Raw::connect(port);
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("SKIPPED: systemd-analyze is not installed");
        return;
    };
    assert!(out.status.success());
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tuning/systemd/corekv.service"
    ))
    .expect("read the unit");
    assert!(unit.contains("Type=notify"));
    assert!(
        !unit.contains("~@resources"),
        "@resources must stay allowed: sched_setaffinity pins shards"
    );
    // verify needs ExecStart to exist: point it at the binary under test.
    let dir = TempDir::new();
    let path = dir.path().join("corekv.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/corekv", env!("CARGO_BIN_EXE_corekv")),
    )
    .expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    assert!(
        !stderr.contains("corekv.service:"),
        "warnings about the unit:\n{stderr}"
    );
}

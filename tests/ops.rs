//! Running as a service: systemd's notify protocol over a socket the test controls, SIGTERM
//! under load, a host whose locked-memory limit is too low, and the shipped unit file, its low-latency drop-in and the THP unit checked by
//! `systemd-analyze verify`.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
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

/// A corekv started here by hand (not through the harness, which always adds `--no-pin`),
/// with `args` after the port, data directory and `--ws-port 0`; killed on drop.
struct Spawned(std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts corekv on a free port with `args` (and `env`), waits until it listens and has
/// replayed its (empty) log, and returns it with a connection: listening comes before
/// loading, so commands get -LOADING for a moment.
fn spawn_ready(dir: &TempDir, args: &[&str], env: &[(&str, PathBuf)]) -> (Spawned, Raw) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["--port", &port.to_string(), "--ws-port", "0"])
        .args(["--log-level", "error"])
        .arg("--dir")
        .arg(dir.path())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn corekv");
    let child = Spawned(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !common::owns_listener(child.0.id(), port) {
        assert!(Instant::now() < deadline, "corekv did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut raw = Raw::connect(port);
    loop {
        let reply = raw.q(&["PING"]);
        if reply.starts_with("-LOADING") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        assert_eq!(reply, "+PONG\r\n");
        break;
    }
    (child, raw)
}

#[test]
fn without_notify_socket_nothing_is_sent_and_the_server_runs() {
    // The common harness never sets NOTIFY_SOCKET: a plain start must work (covered by every
    // other test); here only check that an unusable NOTIFY_SOCKET does not stop the server.
    let dir = TempDir::new();
    let nobody = dir.path().join("nobody-listens");
    let (_child, mut raw) = spawn_ready(
        &dir,
        &["--shards", "1", "--no-pin"],
        &[("NOTIFY_SOCKET", nobody)],
    );
    assert_eq!(raw.q(&["SET", "k", "v"]), OK);
}

#[test]
fn a_memlock_limit_too_low_for_io_uring_is_refused_before_touching_the_data() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new();
    let data = dir.path().join("data");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corekv"));
    cmd.args(["--port", "0", "--ws-port", "0", "--shards", "2", "--no-pin"])
        .arg("--dir")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("run corekv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the locked-memory limit is 64 KiB")
            && stderr.contains("at least 512 KiB")
            && stderr.contains("LimitMEMLOCK=infinity"),
        "{stderr}"
    );
    assert!(!stderr.contains("ready to accept"), "{stderr}");
    assert!(!data.exists(), "nothing written before refusing");
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn spin_before_park_keeps_idle_shards_polling_and_serving() {
    // The spin window restarts with every event, and a shard's housekeeping timers fire more
    // often than once a second: with a 1 s window an idle shard never parks, so it uses CPU
    // while nothing happens. Without the option an idle corekv uses next to none. (CPU time
    // is behaviour here, not speed: the two differ by two orders of magnitude.)
    const WINDOW: Duration = Duration::from_millis(600);
    let mut used = Vec::new();
    for spin in ["0", "1000000"] {
        let dir = TempDir::new();
        let (child, mut raw) =
            spawn_ready(&dir, &["--shards", "2", "--spin-before-park-us", spin], &[]);
        for i in 0..100 {
            let key = format!("k{i}");
            assert_eq!(raw.q(&["SET", &key, "v"]), OK);
            assert_eq!(raw.q(&["GET", &key]), "$1\r\nv\r\n");
        }
        let before = cpu_ticks(child.0.id());
        std::thread::sleep(WINDOW);
        used.push(cpu_ticks(child.0.id()) - before);
    }
    // Clock ticks are 10 ms: 600 ms of spinning by two shards is up to 120 ticks.
    assert!(used[0] < 15, "idle without spinning used {} ticks", used[0]);
    assert!(
        used[1] >= 15,
        "idle with spinning used only {} ticks",
        used[1]
    );
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

/// `systemd-analyze verify` of the unit with `tuning/`'s low-latency drop-in installed beside
/// it (verify reads `<unit>.d/` next to the unit file) and of `thp-never.service`: success and
/// no warning about any of the three files. Returns verify's stderr.
fn verify_with_drop_in(drop_in: &str) -> (bool, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tuning/systemd");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).expect("read unit");
    let dir = TempDir::new();
    let unit =
        read("corekv.service").replace("/usr/local/bin/corekv", env!("CARGO_BIN_EXE_corekv"));
    std::fs::write(dir.path().join("corekv.service"), unit).expect("write unit");
    std::fs::create_dir(dir.path().join("corekv.service.d")).expect("mkdir");
    std::fs::write(
        dir.path().join("corekv.service.d/low-latency.conf"),
        drop_in,
    )
    .expect("write drop-in");
    std::fs::write(
        dir.path().join("thp-never.service"),
        read("thp-never.service"),
    )
    .expect("write thp unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("corekv.service"))
        .arg(dir.path().join("thp-never.service"))
        .output()
        .expect("run systemd-analyze");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_low_latency_drop_in_and_thp_unit_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: systemd-analyze is not installed");
        return;
    }
    let drop_in = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tuning/systemd/corekv.service.d/low-latency.conf"
    ))
    .expect("read the drop-in");
    let active: Vec<&str> = drop_in
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for want in [
        "CPUAffinity=",
        "LimitMEMLOCK=infinity",
        "LimitNOFILE=",
        "After=thp-never.service",
    ] {
        assert!(active.iter().any(|l| l.starts_with(want)), "no {want}");
    }
    // Shards must stay pinned, and the unit's RestrictRealtime= must not be contradicted.
    assert!(
        !active
            .iter()
            .any(|l| l.contains("--no-pin") || l.starts_with("CPUSchedulingPolicy="))
    );

    let (ok, stderr) = verify_with_drop_in(&drop_in);
    assert!(ok, "systemd-analyze verify failed:\n{stderr}");
    for file in ["corekv.service", "low-latency.conf", "thp-never.service"] {
        assert!(
            !stderr.contains(&format!("{file}:")),
            "warnings about {file}:\n{stderr}"
        );
    }
    // The check above means something only if verify reads the drop-in: a bad line in it must
    // be reported.
    let (_, stderr) = verify_with_drop_in(&format!("{drop_in}\nNoSuchDirective=1\n"));
    assert!(
        stderr.contains("low-latency.conf:") && stderr.contains("NoSuchDirective"),
        "verify did not read the drop-in:\n{stderr}"
    );
}

//! The tuning scripts (`tuning/check`, `tuning/irq-affinity`, `tuning/measure`): output format,
//! exit codes consistent with what they print, usage errors, and that `check` works without
//! privileges. Nothing here changes the host: `irq-affinity` only ever runs as a dry run.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::TempDir;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tuning")
        .join(name)
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script(name))
        .args(args)
        .output()
        .expect("run bash")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The status of each non-comment line of `check`'s output; panics on a line that is neither
/// a `#` comment nor `ok|differs|n/a  ITEM: DETAIL`.
fn statuses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let (status, rest) = line.split_once(' ').unwrap_or((line, ""));
        assert!(
            matches!(status, "ok" | "differs" | "n/a"),
            "bad status in {line:?}"
        );
        let rest = rest.trim_start();
        let (item, detail) = rest.split_once(": ").unwrap_or(("", ""));
        assert!(
            !item.is_empty() && !detail.is_empty(),
            "not ITEM: DETAIL in {line:?}"
        );
        found.push(status.to_string());
    }
    found
}

/// Exit 0 when no line says `differs`, 1 when one does.
fn assert_consistent(out: &Output) -> Vec<String> {
    let text = stdout(out);
    let st = statuses(&text);
    let differs = st.iter().any(|s| s == "differs");
    assert_eq!(
        out.status.code(),
        Some(i32::from(differs)),
        "exit code vs lines:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    st
}

fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn check_reports_every_section_and_its_exit_code_matches_its_lines() {
    let out = run("check", &["--cpus", "0"]);
    let st = assert_consistent(&out);
    let text = stdout(&out);
    // One line at least per section: 7 sysctls, THP, governor, IRQs, systemd, 2 limits, backlog.
    assert!(st.len() >= 14, "too few lines:\n{text}");
    for item in [
        "net.core.somaxconn:",
        "net.core.busy_read:",
        "transparent huge pages:",
        "cpu frequency governor:",
        "systemd drop-in:",
        "memlock limit",
        "open files limit",
        "somaxconn vs tcp-backlog:",
    ] {
        assert!(text.contains(item), "no {item} line:\n{text}");
    }
}

#[test]
fn check_compares_sysctls_with_the_profile_it_is_given() {
    let dir = TempDir::new();
    let now = std::fs::read_to_string("/proc/sys/net/core/somaxconn").expect("read somaxconn");
    let now: u64 = now.trim().parse().expect("a number");
    let profile = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write profile");
        p.to_string_lossy().into_owned()
    };
    let same = profile(
        "same.conf",
        &format!("# comment\nnet.core.somaxconn = {now}\nkernel.no_such_knob = 1\n"),
    );
    let out = run("check", &["--only", "sysctl", "--profile", &same]);
    assert_eq!(assert_consistent(&out), ["ok", "n/a"]);
    assert_eq!(out.status.code(), Some(0));

    // somaxconn is a minimum: one more than the host has differs, one less is fine.
    let above = profile("above.conf", &format!("net.core.somaxconn={}\n", now + 1));
    let out = run("check", &["--only", "sysctl", "--profile", &above]);
    assert_eq!(assert_consistent(&out), ["differs"]);
    let below = profile("below.conf", &format!("net.core.somaxconn = {}\n", now - 1));
    let out = run("check", &["--only", "sysctl", "--profile", &below]);
    assert_eq!(assert_consistent(&out), ["ok"]);

    // A tcp-backlog above somaxconn is capped by the kernel: reported.
    let backlog = (now + 1).to_string();
    let out = run("check", &["--only", "backlog", "--tcp-backlog", &backlog]);
    assert_eq!(assert_consistent(&out), ["differs"]);
    let out = run("check", &["--only", "backlog", "--tcp-backlog", "1"]);
    assert_eq!(assert_consistent(&out), ["ok"]);
}

#[test]
fn check_runs_unprivileged() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let has_setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !is_root || !has_setpriv {
        // Not root: this very process is unprivileged, which the other tests cover.
        println!("SKIPPED: needs root and setpriv to drop privileges");
        return;
    }
    let as_nobody = || {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash"]);
        c
    };
    // A checkout under a private home directory is not readable by nobody.
    let readable = as_nobody()
        .args(["-c", "test -r \"$0\""])
        .arg(script("check"))
        .status()
        .is_ok_and(|s| s.success());
    if !readable {
        println!(
            "SKIPPED: user nobody cannot read {}",
            script("check").display()
        );
        return;
    }
    let out = as_nobody()
        .arg(script("check"))
        .args(["--cpus", "0"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Permission denied"),
        "check needs privileges:\n{stderr}"
    );
    assert_consistent(&out);
}

#[test]
fn check_refuses_bad_usage_with_exit_2() {
    for args in [
        &["--only", "bogus"][..],
        &["--cpus", "3-1"],
        &["--cpus", "x"],
        &["--cpus"],
        &["--tcp-backlog", "many"],
        &["--profile", "/nonexistent/profile.conf"],
        &["--no-such-flag"],
    ] {
        let out = run("check", args);
        assert_eq!(out.status.code(), Some(2), "check {args:?}");
        assert!(out.stdout.is_empty(), "check {args:?} printed a report");
    }
}

#[test]
fn irq_affinity_is_a_dry_run_unless_asked() {
    let cpus = online_cpus();
    let out = run("irq-affinity", &["--cpus", "0"]);
    let text = stdout(&out);
    if cpus == 1 {
        // Every CPU is a shard CPU: nowhere to move interrupts to.
        assert_eq!(out.status.code(), Some(1), "{text}");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("# dry run"), "{text}");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("keep ") || line.starts_with("would "),
            "a dry run changed something? {line:?}"
        );
    }
    let all = format!("0-{}", cpus - 1);
    assert_eq!(
        run("irq-affinity", &["--cpus", &all]).status.code(),
        Some(1)
    );
}

#[test]
fn irq_affinity_and_measure_refuse_bad_usage_with_exit_2() {
    for args in [&[][..], &["--cpus"], &["--cpus", "a-b"], &["--bogus"]] {
        let out = run("irq-affinity", args);
        assert_eq!(out.status.code(), Some(2), "irq-affinity {args:?}");
    }
    for args in [&["--test", "hset"][..], &["--reps", "x"], &["--bogus"]] {
        let out = run("measure", args);
        assert_eq!(out.status.code(), Some(2), "measure {args:?}");
    }
}

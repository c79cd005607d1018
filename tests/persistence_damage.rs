//! Damaged logs at start-up. A torn final record is truncated with a WARN (or refused with
//! `--aof-load-truncated no`); damage anywhere else (a flipped byte, a bad segment header, a
//! missing segment, a bad MANIFEST) stops the server with exit status 1 and a message naming
//! the file and byte offset, unless `--aof-load-corrupt yes` cuts the log there (never for a
//! bad MANIFEST). `corekv check-log` reports the same damage and `--fix` repairs it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::persist::{
    RECORD_HEADER_BYTES, Record, append_bytes, check_log, copy_tree, flip_byte,
    last_segment_with_records, manifest_segments, read_manifest, shard_dir, truncate_file,
};
use common::{Exited, NIL, OK, Server, TempDir, bulk};

/// Starts a server on `dir`, SETs `key -> "v-" + key` for every key (one record each), and
/// stops it with SHUTDOWN.
fn write_run(dir: &Path, shards: usize, keys: &[String]) {
    let mut server = Server::start_in(dir, shards, &[]);
    let mut raw = server.raw();
    for k in keys {
        assert_eq!(raw.q(&["SET", k, &format!("v-{k}")]), OK);
    }
    assert_eq!(server.shutdown().code(), Some(0));
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Asserts that each of `present` holds its value and each of `absent` is gone.
fn assert_keys(server: &Server, present: &[String], absent: &[String]) {
    let mut raw = server.raw();
    for k in present {
        assert_eq!(
            raw.q(&["GET", k]),
            bulk(&format!("v-{k}")),
            "{k} must be there"
        );
    }
    for k in absent {
        assert_eq!(raw.q(&["GET", k]), NIL, "{k} must be gone");
    }
}

fn all_except(all: &[String], gone: &[String]) -> Vec<String> {
    all.iter().filter(|k| !gone.contains(k)).cloned().collect()
}

fn record_keys(records: &[Record]) -> Vec<String> {
    records.iter().map(Record::key).collect()
}

/// Expects the start to fail with exit status 1; returns the stderr.
fn start_fails(dir: &Path, shards: usize, extra: &[&str]) -> String {
    match Server::try_start_in(dir, shards, extra) {
        Ok(server) => panic!(
            "corekv started on a damaged log ({extra:?}); stderr:\n{}",
            server.stderr_text()
        ),
        Err(Exited { status, stderr }) => {
            assert_eq!(status.code(), Some(1), "{status:?}\n{stderr}");
            stderr
        }
    }
}

/// The WARN line about the torn tail: it says "torn" and how many bytes were cut.
fn assert_torn_warning(stderr: &str, bytes_cut: u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("WARN") && l.to_lowercase().contains("torn"))
        .unwrap_or_else(|| panic!("no WARN line about a torn tail:\n{stderr}"));
    // Only what follows the level: the timestamp's digits must not count.
    let (_, message) = line.split_once("WARN").expect("WARN");
    let numbers: Vec<&str> = message.split(|c: char| !c.is_ascii_digit()).collect();
    assert!(
        numbers.contains(&bytes_cut.to_string().as_str()),
        "the WARN line does not say {bytes_cut} bytes were cut: {line}"
    );
}

#[test]
fn torn_partial_record_is_truncated_with_a_warning() {
    let dir = TempDir::new();
    let all = keys("k", 100);
    write_run(dir.path(), 1, &all);
    let seg = last_segment_with_records(&shard_dir(dir.path(), 0));
    // The frame header promises 5000 bytes of payload; 1023 made it to the disk.
    truncate_file(&seg.path, seg.valid_end);
    let mut torn = Vec::new();
    torn.extend_from_slice(&5000u32.to_le_bytes());
    torn.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    torn.extend_from_slice(&[b'x'; 1023]);
    append_bytes(&seg.path, &torn);

    let mut server = Server::start_in(dir.path(), 1, &[]);
    assert_torn_warning(&server.stderr_text(), torn.len() as u64);
    assert_keys(&server, &all, &[]);
    assert_eq!(server.raw().q(&["SET", "later", "v-later"]), OK);
    assert_eq!(server.shutdown().code(), Some(0));
    let server = Server::start_in(dir.path(), 1, &[]);
    let stderr = server.stderr_text();
    assert!(
        !stderr.to_lowercase().contains("torn"),
        "torn twice:\n{stderr}"
    );
    assert_keys(&server, &[all, vec!["later".into()]].concat(), &[]);
}

#[test]
fn chopped_tail_loses_only_the_last_record() {
    let dir = TempDir::new();
    let all = keys("k", 200);
    write_run(dir.path(), 4, &all);
    let seg = last_segment_with_records(&shard_dir(dir.path(), 1));
    let last = seg.records.last().expect("records").clone();
    truncate_file(&seg.path, last.end() - 3);
    let bytes_cut = RECORD_HEADER_BYTES + last.payload_bytes - 3;

    let server = Server::start_in(dir.path(), 4, &[]);
    assert_torn_warning(&server.stderr_text(), bytes_cut);
    let lost = vec![last.key()];
    assert_keys(&server, &all_except(&all, &lost), &lost);
}

#[test]
fn torn_tail_with_aof_load_truncated_no_refuses_to_start() {
    let dir = TempDir::new();
    let all = keys("k", 50);
    write_run(dir.path(), 2, &all);
    let seg = last_segment_with_records(&shard_dir(dir.path(), 0));
    let last = seg.records.last().expect("records").clone();
    truncate_file(&seg.path, last.end() - 1);
    let stderr = start_fails(dir.path(), 2, &["--aof-load-truncated", "no"]);
    assert!(
        stderr.contains(&*seg.path.to_string_lossy()),
        "stderr does not name {}:\n{stderr}",
        seg.path.display()
    );
    // The default truncates it.
    let lost = vec![last.key()];
    let server = Server::start_in(dir.path(), 2, &[]);
    assert_keys(&server, &all_except(&all, &lost), &lost);
}

/// A flipped byte inside a record before the tail: exit 1 naming file and offset;
/// check-log reports it; `--aof-load-corrupt yes` (on a copy) and `check-log --fix` (on the
/// original) both cut the damaged shard's log there, and the other shards lose nothing.
#[test]
fn flipped_byte_mid_segment_is_damage() {
    let dir = TempDir::new();
    let all = keys("k", 400);
    write_run(dir.path(), 4, &all);
    let shard = shard_dir(dir.path(), 2);
    let seg = last_segment_with_records(&shard);
    assert!(seg.records.len() >= 10, "{} records", seg.records.len());
    let victim_index = seg.records.len() / 2;
    let victim = seg.records[victim_index].clone();
    flip_byte(&seg.path, victim.offset + RECORD_HEADER_BYTES + 2);
    // Keys of shard 2 from the damaged record on are cut; everything before stays.
    let segments = manifest_segments(&shard);
    let position = segments
        .iter()
        .position(|s| s.path == seg.path)
        .expect("in manifest");
    let mut cut = record_keys(&seg.records[victim_index..]);
    for later in &segments[position + 1..] {
        cut.extend(record_keys(&later.records));
    }

    let stderr = start_fails(dir.path(), 4, &[]);
    assert_names(&stderr, &seg.path, victim.offset..=victim.offset);
    let (code, report) = check_log(&[dir.path()]);
    assert_eq!(code, Some(1), "check-log on the data dir:\n{report}");
    assert_names(&report, &seg.path, victim.offset..=victim.offset);
    let (code, report) = check_log(&[&shard]);
    assert_eq!(code, Some(1), "check-log on the shard dir:\n{report}");

    let copy = TempDir::new();
    copy_tree(dir.path(), copy.path());
    let server = Server::start_in(copy.path(), 4, &["--aof-load-corrupt", "yes"]);
    assert_keys(&server, &all_except(&all, &cut), &cut);
    drop(server);

    let fix = std::process::Command::new(env!("CARGO_BIN_EXE_corekv"))
        .args(["check-log", "--fix"])
        .arg(dir.path())
        .output()
        .expect("check-log --fix");
    assert_eq!(fix.status.code(), Some(0), "{fix:?}");
    let (code, report) = check_log(&[dir.path()]);
    assert_eq!(code, Some(0), "check-log after --fix:\n{report}");
    let server = Server::start_in(dir.path(), 4, &[]);
    assert_keys(&server, &all_except(&all, &cut), &cut);
}

/// Asserts that `text` names `path` and, after the word "offset", a byte offset in `offsets`.
fn assert_names(text: &str, path: &Path, offsets: std::ops::RangeInclusive<u64>) {
    assert!(
        text.contains(&*path.to_string_lossy()),
        "does not name {}:\n{text}",
        path.display()
    );
    let named: Vec<u64> = text
        .split("offset")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest
                .trim_start_matches([' ', '=', ':'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect();
    assert!(
        named.iter().any(|o| offsets.contains(o)),
        "does not name a byte offset in {offsets:?} (named: {named:?}):\n{text}"
    );
}

#[test]
fn bad_segment_header_is_damage() {
    let dir = TempDir::new();
    let all = keys("k", 100);
    write_run(dir.path(), 2, &all);
    let shard = shard_dir(dir.path(), 1);
    let seg = last_segment_with_records(&shard);
    assert_eq!(
        manifest_segments(&shard).len(),
        1,
        "one segment after one run"
    );
    flip_byte(&seg.path, 20); // inside segment_id: the header crc fails
    let stderr = start_fails(dir.path(), 2, &[]);
    let header = 0..=common::persist::SEGMENT_HEADER_BYTES;
    assert_names(&stderr, &seg.path, header.clone());
    let (code, report) = check_log(&[dir.path()]);
    assert_eq!(code, Some(1), "check-log:\n{report}");
    assert_names(&report, &seg.path, header);
    // Dropping the segment drops every key of shard 1.
    let cut = record_keys(&seg.records);
    let server = Server::start_in(dir.path(), 2, &["--aof-load-corrupt", "yes"]);
    assert_keys(&server, &all_except(&all, &cut), &cut);
}

#[test]
fn missing_segment_is_damage() {
    let dir = TempDir::new();
    let first = keys("a", 60);
    let second = keys("b", 60);
    write_run(dir.path(), 4, &first);
    write_run(dir.path(), 4, &second);
    let shard = shard_dir(dir.path(), 0);
    let manifest = read_manifest(&shard);
    assert!(manifest.len() >= 2, "two runs, two segments: {manifest:?}");
    let seg = last_segment_with_records(&shard);
    assert_eq!(
        seg.path,
        shard.join(manifest.last().expect("entry").file_name())
    );
    std::fs::remove_file(&seg.path).expect("delete the segment");

    let stderr = start_fails(dir.path(), 4, &[]);
    assert!(
        stderr.contains(&*seg.path.to_string_lossy()),
        "does not name {}:\n{stderr}",
        seg.path.display()
    );
    let (code, report) = check_log(&[dir.path()]);
    assert_eq!(code, Some(1), "check-log:\n{report}");
    // Cut at the missing segment: shard 0 keeps the first run's keys only.
    let cut = record_keys(&seg.records);
    assert!(cut.iter().all(|k| k.starts_with('b')), "{cut:?}");
    let all = [first, second].concat();
    let server = Server::start_in(dir.path(), 4, &["--aof-load-corrupt", "yes"]);
    assert_keys(&server, &all_except(&all, &cut), &cut);
}

#[test]
fn bad_manifest_refuses_to_start_even_with_aof_load_corrupt() {
    let dir = TempDir::new();
    write_run(dir.path(), 2, &keys("k", 20));
    let manifest = shard_dir(dir.path(), 1).join("MANIFEST");
    flip_byte(&manifest, 40); // first entry's seed: the manifest crc fails
    for extra in [&[][..], &["--aof-load-corrupt", "yes"][..]] {
        let stderr = start_fails(dir.path(), 2, extra);
        assert!(
            stderr.contains(&*manifest.to_string_lossy()),
            "{extra:?}: does not name {}:\n{stderr}",
            manifest.display()
        );
    }
    let (code, report) = check_log(&[dir.path()]);
    assert_eq!(code, Some(1), "check-log:\n{report}");
}

/// Sends `SET key v` in pipelined batches over and over (reconnecting while the server is
/// not up yet) until `stop`; returns how many were acknowledged with `+OK`.
fn hammer_set(port: u16, key: &str, stop: &AtomicBool) -> usize {
    const BATCH: usize = 32;
    let request = common::encode(&[b"SET", key.as_bytes(), b"v"]).repeat(BATCH);
    let mut acked = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let Ok(mut writer) = stream.try_clone() else {
            continue;
        };
        let mut reader = BufReader::new(stream);
        'connection: while !stop.load(Ordering::Relaxed) {
            if writer.write_all(&request).is_err() {
                break;
            }
            for _ in 0..BATCH {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break 'connection,
                    Ok(_) if line == OK => acked += 1,
                    Ok(_) => {}
                }
            }
        }
    }
    acked
}

/// A server that finds damage while loading exits 1, so it must not acknowledge a single
/// write on the way: such a write is lost (on the damaged shard it is not even logged).
/// Clients write in a tight loop from before the listener is up until the process is gone.
/// Shard 1 holds most records and its damage sits near its end, so it is the last shard to
/// finish (fail) loading.
#[test]
fn a_log_that_fails_to_load_acknowledges_no_write() {
    let dir = TempDir::new();
    let on_shard = |shard: usize, n: usize| -> Vec<String> {
        (0..)
            .map(|i| format!("h{i}"))
            .filter(|k| common::shard_of(k.as_bytes(), 2) == shard)
            .take(n)
            .collect()
    };
    write_run(
        dir.path(),
        2,
        &[on_shard(0, 20), on_shard(1, 1500)].concat(),
    );
    let seg = last_segment_with_records(&shard_dir(dir.path(), 1));
    let victim = seg.records[seg.records.len() - 2].clone();
    flip_byte(&seg.path, victim.offset + RECORD_HEADER_BYTES + 2);
    let key = common::key_on_shard("probe", 1, 2);
    for attempt in 0..5 {
        let port = common::free_port();
        let stop = AtomicBool::new(false);
        let (acked, status) = std::thread::scope(|s| {
            let hammers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| hammer_set(port, &key, &stop)))
                .collect();
            let mut child = Command::new(env!("CARGO_BIN_EXE_corekv"))
                .args(["--port", &port.to_string(), "--shards", "2", "--no-pin"])
                .args(["--ws-port", "0"])
                .args(["--log-level", "error", "--key-load-delay", "20", "--dir"])
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn corekv");
            let deadline = Instant::now() + Duration::from_secs(20);
            let status = loop {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    break Some(status);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            stop.store(true, Ordering::Relaxed);
            let acked: usize = hammers
                .into_iter()
                .map(|h| h.join().expect("hammer thread"))
                .sum();
            (acked, status)
        });
        let status = status.expect("corekv did not exit on a damaged log");
        assert_eq!(status.code(), Some(1), "attempt {attempt}: {status:?}");
        assert_eq!(
            acked, 0,
            "attempt {attempt}: {acked} SETs of {key} (on the damaged shard) were acknowledged \
             by a server that then exited 1"
        );
    }
}

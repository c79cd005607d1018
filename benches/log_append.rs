//! The append-only log: what logging a SET costs a shard.
//!
//! Uses the server's own `persistence::Log` on `UringStorage` (page-cache files: `pwrite(2)`
//! on the executor thread, fdatasync through glommio's io_uring), opened through `Recovery`
//! in a fresh directory, on one glommio executor:
//! - **encode**: `Log::append_command(db, ["SET", key, value])`, the call a shard makes per
//!   write: frames the record (length, crc32fast checksum over the segment seed, length and
//!   payload) into the log's buffer; no I/O. Timed in runs of 1024 appends, each followed by
//!   an untimed `flush` so the buffer stays small.
//! - **append + flush**: one `flush` (a `pwrite` to the page cache, no fdatasync) per
//!   record, and per 16 records: `appendfsync everysec` / `no`, where the server writes once
//!   per batch and fdatasyncs once a second off the request path.
//! - **append + sync**: one `sync` (write + io_uring fdatasync) per record, and per 16 records
//!   (group commit): `appendfsync always`. Few iterations in quick mode: each is a disk flush.
//!
//! The I/O cases run twice: on `UringStorage` (the server's, rows "server") and on
//! `StdStorage` (plain blocking `write(2)`/`fdatasync(2)` on the executor thread, what
//! `check-log` uses), so the cost of an fdatasync through io_uring, which the kernel hands to
//! an io-wq worker thread, shows beside the system call itself. (Until the server's writes
//! became `pwrite`, an io_uring buffered write cost 30-110 µs here against 1-2 µs.)
//!
//! The server's aof driver (`src/aof/driver.rs`) adds its scheduling on top; this measures the
//! log layer it drives. The directory is under `$COREKV_BENCH_DIR` if set, else the system
//! temp dir (`/tmp`): fdatasync figures are those of that filesystem and device (a tmpfs makes
//! them meaningless). After the run the log is reopened and every record is read back and
//! checked. `cargo bench --bench log_append [-- FILTER]`.

mod common;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use common::{PerOp, Run, Table};
use corekv::persistence::{
    Log, LogOptions, Recovery, StdStorage, Storage, UringStorage, decode_command,
};
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;

/// Records per batch in the batched cases (a pipeline of 16 SETs).
const BATCH: usize = 16;
/// Appends per timed run of the encode case.
const ENCODE_RUN: usize = 1024;

fn main() {
    let run = Run::start(
        "log_append",
        "append-only log: encode a SET record, write it, fdatasync it",
    );
    let dir = scratch_dir();
    println!("== log directory: {}", dir.display());
    let full = run.full;
    let filter: Vec<bool> = CASES.iter().map(|c| run.wants(c.name)).collect();
    let dir2 = dir.clone();
    let results = LocalExecutorBuilder::new(Placement::Unbound)
        .name("log-bench")
        .spawn(move || async move {
            common::spawn_ticker();
            let mut results = run_cases(UringStorage, "server", &dir2, full, &filter, true).await;
            let std = run_cases(StdStorage, "std", &dir2, full, &filter, false).await;
            results.extend(std);
            results
        })
        .expect("start a glommio executor")
        .join()
        .expect("executor ran");
    let _ = std::fs::remove_dir_all(&dir);
    let mut encode = Table::new("Encode a SET record into the log buffer", &PerOp::HEADERS);
    // The checksum alone, for scale: the record's cost beyond it is framing and copying.
    let block = vec![b'v'; 1024];
    let crc_case = "crc32fast over 1 KiB (checksum alone)";
    if run.wants(crc_case) {
        let t = run.per_op(|| crc32fast::hash(std::hint::black_box(&block)));
        encode.push(t.row(crc_case, 1));
    }
    let mut io = Table::new(
        "Append and write (µs per flush or sync; records/s)",
        &["case", "p50", "p99", "p99.9", "max", "records/s"],
    );
    for r in results {
        match r {
            CaseResult::Encode(name, t) => encode.push(t.row(&name, 1)),
            CaseResult::Io(name, hist, per_s) => {
                let mut row = vec![name];
                row.extend(common::latency_cells(&hist));
                row.push(common::group_thousands(per_s));
                io.push(row);
            }
        }
    }
    encode.print();
    io.print();
}

fn scratch_dir() -> PathBuf {
    let base = std::env::var_os("COREKV_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("corekv-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the log directory");
    dir
}

enum Kind {
    Encode {
        value_bytes: usize,
    },
    /// Records per write, and whether each write is followed by fdatasync.
    Io {
        per_write: usize,
        sync: bool,
    },
}

struct Case {
    name: &'static str,
    kind: Kind,
    /// Records written in a full run and in a quick run.
    full: u64,
    quick: u64,
}

const CASES: [Case; 6] = [
    Case {
        name: "append_command SET, 16 B value",
        kind: Kind::Encode { value_bytes: 16 },
        full: 0,
        quick: 0,
    },
    Case {
        name: "append_command SET, 1 KiB value",
        kind: Kind::Encode { value_bytes: 1024 },
        full: 0,
        quick: 0,
    },
    Case {
        name: "1 SET + flush (everysec/no)",
        kind: Kind::Io {
            per_write: 1,
            sync: false,
        },
        full: 100_000,
        quick: 200,
    },
    Case {
        name: "16 SETs + flush (everysec/no)",
        kind: Kind::Io {
            per_write: BATCH,
            sync: false,
        },
        full: 400_000,
        quick: 320,
    },
    Case {
        name: "1 SET + sync (always)",
        kind: Kind::Io {
            per_write: 1,
            sync: true,
        },
        full: 2_000,
        quick: 5,
    },
    Case {
        name: "16 SETs + sync (always, group commit)",
        kind: Kind::Io {
            per_write: BATCH,
            sync: true,
        },
        full: 16_000,
        quick: 32,
    },
];

enum CaseResult {
    Encode(String, PerOp),
    Io(String, Histogram<u64>, f64),
}

fn set_args(i: u64, value: &Bytes) -> [Bytes; 3] {
    [
        Bytes::from_static(b"SET"),
        Bytes::from(format!("key:{:06}", i % 1_000_000)),
        value.clone(),
    ]
}

/// Runs the wanted cases on a fresh log in `base/<label>` on `storage`; the encode cases only
/// when `encode` (they do no I/O, so one storage is enough).
async fn run_cases<S: Storage + Copy>(
    storage: S,
    label: &str,
    base: &Path,
    full: bool,
    wanted: &[bool],
    encode: bool,
) -> Vec<CaseResult> {
    let dir = &base.join(label);
    let mut rec = Recovery::open(storage, dir, LogOptions::new(0))
        .await
        .expect("open a fresh log");
    assert!(
        rec.next().await.expect("read").is_none(),
        "a fresh log is empty"
    );
    let (log, _) = rec.finish().await.expect("finish recovery");
    let log = Rc::new(log);
    let mut results = Vec::new();
    let mut records = 0u64;
    for (case, _) in CASES.iter().zip(wanted).filter(|(_, w)| **w) {
        let count = if full { case.full } else { case.quick };
        match case.kind {
            Kind::Encode { .. } if !encode => {}
            Kind::Encode { value_bytes } => {
                let value = Bytes::from(vec![b'v'; value_bytes]);
                let (t, n) = encode_case(&log, &value, full).await;
                records += n;
                results.push(CaseResult::Encode(case.name.to_string(), t));
            }
            Kind::Io { per_write, sync } => {
                let value = Bytes::from(vec![b'v'; 16]);
                let (hist, per_s) = io_case(&log, &value, count, per_write, sync).await;
                records += count;
                let name = format!("{label}: {}", case.name);
                results.push(CaseResult::Io(name, hist, per_s));
            }
        }
    }
    let durable = log.sync().await.expect("final sync");
    assert_eq!(
        durable,
        log.appended_lsn(),
        "everything appended is durable"
    );
    match Rc::try_unwrap(log) {
        Ok(log) => {
            log.close().await.expect("close the log");
        }
        Err(_) => unreachable!("no other owner of the log"),
    }
    check_read_back(storage, label, dir, records).await;
    results
}

/// Times `append_command` in runs of [`ENCODE_RUN`], flushing (untimed) after each run.
async fn encode_case<S>(log: &Log<S>, value: &Bytes, full: bool) -> (PerOp, u64)
where
    S: corekv::persistence::Storage,
{
    let runs = if full { 400 } else { 2 };
    let keys: Vec<[Bytes; 3]> = (0..ENCODE_RUN as u64).map(|i| set_args(i, value)).collect();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        for args in &keys {
            std::hint::black_box(log.append_command(0, args).expect("append"));
        }
        samples.push(t.elapsed().as_nanos() as f64 / ENCODE_RUN as f64);
        log.flush().await.expect("flush");
    }
    samples.sort_by(f64::total_cmp);
    let ops = (runs * ENCODE_RUN) as u64;
    let t = PerOp {
        median_ns: samples[samples.len() / 2],
        min_ns: samples[0],
        ops,
    };
    (t, ops)
}

/// Appends `count` SETs, `per_write` at a time, each group followed by a flush or a sync;
/// records each flush/sync's latency (append included).
async fn io_case<S>(
    log: &Log<S>,
    value: &Bytes,
    count: u64,
    per_write: usize,
    sync: bool,
) -> (Histogram<u64>, f64)
where
    S: corekv::persistence::Storage,
{
    let mut hist = common::histogram();
    let groups = count / per_write as u64;
    let t0 = Instant::now();
    for g in 0..groups {
        let t = Instant::now();
        for j in 0..per_write as u64 {
            let args = set_args(g * per_write as u64 + j, value);
            log.append_command(0, &args).expect("append");
        }
        let lsn = if sync {
            log.sync().await.expect("sync")
        } else {
            log.flush().await.expect("flush")
        };
        assert_eq!(lsn, log.appended_lsn(), "the write covers every record");
        let _ = hist.record(t.elapsed().as_nanos() as u64);
    }
    let per_s = (groups * per_write as u64) as f64 / t0.elapsed().as_secs_f64();
    (hist, per_s)
}

/// Reopens the log and checks it holds exactly `records` SET records.
async fn check_read_back<S: Storage>(storage: S, label: &str, dir: &Path, records: u64) {
    let mut rec = Recovery::open(storage, dir, LogOptions::new(0))
        .await
        .expect("reopen the log");
    let mut n = 0u64;
    while let Some(payload) = rec.next().await.expect("read a record") {
        let (db, args) = decode_command(&payload).expect("a command record");
        assert_eq!(db, 0);
        assert_eq!(args.len(), 3);
        assert_eq!(&args[0][..], b"SET");
        n += 1;
    }
    assert_eq!(n, records, "every appended record reads back");
    println!("== {label}: read back {n} records: all SETs, checksums valid");
}

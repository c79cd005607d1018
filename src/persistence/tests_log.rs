//! Tests of the log's behaviour on [`MemStorage`]: recovery of damage, poisoning and healing,
//! group commit, rotation and rewrites. The model-based crash test is in `tests_crash.rs`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_lite::future::{block_on, yield_now, zip};

use super::*;

pub(crate) fn shard0() -> PathBuf {
    PathBuf::from("/data/shard-0")
}

pub(crate) fn opts() -> LogOptions {
    LogOptions {
        seed_entropy: 42,
        ..LogOptions::new(0)
    }
}

pub(crate) fn cmd(args: &[&str]) -> Vec<u8> {
    let args: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    encode_command(0, &args)
}

/// Opens the log, collecting every record replayed.
pub(crate) async fn open_with<S: Storage>(
    storage: S,
    dir: &Path,
    o: LogOptions,
) -> Result<(Log<S>, Vec<Bytes>, RecoveryReport), LogError> {
    let mut r = Recovery::open(storage, dir, o).await?;
    let mut records = Vec::new();
    while let Some(p) = r.next().await? {
        records.push(p);
    }
    let (log, report) = r.finish().await?;
    Ok((log, records, report))
}

fn open(mem: &MemStorage) -> Result<(Log<MemStorage>, Vec<Bytes>, RecoveryReport), LogError> {
    block_on(open_with(mem.clone(), &shard0(), opts()))
}

fn reopen(mem: &MemStorage, o: LogOptions) -> Result<Vec<Bytes>, LogError> {
    block_on(open_with(mem.clone(), &shard0(), o)).map(|(_, r, _)| r)
}

fn files(mem: &MemStorage, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mem
        .paths()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// A log on a fresh `MemStorage` holding `payloads`, synced, in one incremental segment;
/// returns the storage and that segment's path (the process is then "restarted").
fn log_with(payloads: &[Vec<u8>]) -> (MemStorage, PathBuf) {
    let mem = MemStorage::new(9);
    let (log, _, report) = open(&mem).unwrap();
    assert!(report.fresh);
    for p in payloads {
        log.append(p).unwrap();
    }
    block_on(log.sync()).unwrap();
    let seg = files(&mem, ".incr").pop().unwrap();
    (mem, seg)
}

fn three() -> Vec<Vec<u8>> {
    vec![
        cmd(&["SET", "a", "1"]),
        cmd(&["SET", "b", "2"]),
        cmd(&["DEL", "a"]),
    ]
}

#[test]
fn append_sync_reopen_replays_in_order() {
    let (mem, _) = log_with(&three());
    mem.crash();
    let records = reopen(&mem, opts()).unwrap();
    assert_eq!(records, three());
    // The restart's empty segment is dropped by the next restart: no pile-up.
    let records = reopen(&mem, opts()).unwrap();
    assert_eq!(records, three());
    assert_eq!(files(&mem, ".incr").len(), 2);
}

#[test]
fn lsns_count_record_bytes_and_sync_reports_durability() {
    let mem = MemStorage::new(1);
    let (log, _, _) = open(&mem).unwrap();
    let a = log.append(b"x").unwrap();
    let b = log.append_command(0, &["SET", "k", "v"]).unwrap();
    assert_eq!(a, 9);
    assert_eq!(b, a + 8 + cmd(&["SET", "k", "v"]).len() as u64);
    assert_eq!(log.durable_lsn(), 0);
    assert_eq!(block_on(log.flush()).unwrap(), b);
    assert_eq!(log.durable_lsn(), 0);
    assert_eq!(block_on(log.sync()).unwrap(), b);
    assert!(matches!(log.append(b""), Err(LogError::EmptyRecord)));
    let stats = log.stats();
    assert_eq!(
        (stats.durable_lsn, stats.segments, stats.pending_bytes),
        (b, 1, 0)
    );
    mem.crash();
    assert_eq!(
        reopen(&mem, opts()).unwrap(),
        vec![Bytes::from_static(b"x"), cmd(&["SET", "k", "v"]).into()]
    );
}

#[test]
fn torn_tail_is_truncated_with_its_byte_count() {
    let (mem, seg) = log_with(&three());
    let bytes = mem.read(&seg).unwrap();
    let cut = bytes.len() - 5;
    mem.overwrite(&seg, &bytes[..cut]);
    let last_len = 8 + three()[2].len();
    let torn_at = (bytes.len() - last_len) as u64;

    let mut strict = opts();
    strict.truncate_torn_tail = false;
    match reopen(&mem, strict) {
        Err(LogError::Corrupt { path, offset, .. }) => {
            assert_eq!((path, offset), (seg.clone(), torn_at))
        }
        other => panic!("expected a torn-tail error, got {other:?}"),
    }

    let (_, records, report) = open(&mem).unwrap();
    assert_eq!(records, three()[..2].to_vec());
    let torn = report.torn_tail.unwrap();
    assert_eq!(
        (torn.path, torn.offset, torn.bytes),
        (seg.clone(), torn_at, (last_len - 5) as u64)
    );
    assert_eq!(mem.read(&seg).unwrap().len() as u64, torn_at);
}

#[test]
fn bad_checksum_on_the_final_record_and_zero_fill_are_torn() {
    let (mem, seg) = log_with(&three());
    let mut bytes = mem.read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1; // the final record now fails its checksum and ends exactly at EOF
    mem.overwrite(&seg, &bytes);
    let (_, records, report) = open(&mem).unwrap();
    assert_eq!(records.len(), 2);
    assert!(report.torn_tail.is_some());

    let (mem, seg) = log_with(&three());
    let mut bytes = mem.read(&seg).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]); // size extended, data never written
    mem.overwrite(&seg, &bytes);
    let (_, records, report) = open(&mem).unwrap();
    assert_eq!(records, three());
    assert_eq!(report.torn_tail.unwrap().bytes, 4096);
}

#[test]
fn flipped_byte_mid_segment_is_an_error_naming_file_and_offset() {
    let (mem, seg) = log_with(&three());
    let mut bytes = mem.read(&seg).unwrap();
    let second = 44 + 8 + three()[0].len();
    bytes[second + 10] ^= 0x20;
    mem.overwrite(&seg, &bytes);
    let err = reopen(&mem, opts()).unwrap_err();
    let text = err.to_string();
    assert!(err.is_overridable());
    match err {
        LogError::Corrupt { path, offset, .. } => {
            assert_eq!((path, offset), (seg.clone(), second as u64))
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(
        text.contains(&seg.display().to_string()) && text.contains(&format!("offset {second}")),
        "{text}"
    );
    assert_eq!(
        mem.read(&seg).unwrap(),
        bytes,
        "a failed recovery changes nothing"
    );

    let mut lenient = opts();
    lenient.load_truncated = true;
    let (_, records, report) = block_on(open_with(mem.clone(), &shard0(), lenient)).unwrap();
    assert_eq!(records, three()[..1].to_vec());
    assert_eq!(report.load_truncated.unwrap().offset, second as u64);
    assert_eq!(mem.read(&seg).unwrap().len(), second);
}

#[test]
fn record_copied_from_another_segment_never_validates() {
    let (mem, seg_a) = log_with(&three());
    let a = mem.read(&seg_a).unwrap();
    let first = a[44..44 + 8 + three()[0].len()].to_vec();
    mem.crash();
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "z", "9"])).unwrap();
    block_on(log.sync()).unwrap();
    let seg_b = files(&mem, ".incr").pop().unwrap();
    assert_ne!(seg_a, seg_b);
    // Splice segment A's first record into B before B's own record: B's seed rejects it.
    let b = mem.read(&seg_b).unwrap();
    let spliced = [&b[..44], &first[..], &b[44..]].concat();
    mem.overwrite(&seg_b, &spliced);
    match reopen(&mem, opts()) {
        Err(LogError::Corrupt {
            path,
            offset,
            reason,
            ..
        }) => {
            assert_eq!((path, offset), (seg_b, 44));
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn missing_segment_is_an_error_unless_load_truncated() {
    let mem = MemStorage::new(3);
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "a", "1"])).unwrap();
    block_on(log.rotate()).unwrap();
    log.append(&cmd(&["SET", "b", "2"])).unwrap();
    block_on(log.rotate()).unwrap();
    log.append(&cmd(&["SET", "c", "3"])).unwrap();
    block_on(log.sync()).unwrap();
    let segs = files(&mem, ".incr");
    assert_eq!(segs.len(), 3);
    block_on(async {
        mem.remove(&segs[1]).await.unwrap();
        mem.sync_dir(&shard0()).await.unwrap();
    });
    match reopen(&mem, opts()) {
        Err(LogError::MissingSegment { path }) => assert_eq!(path, segs[1]),
        other => panic!("expected a missing segment, got {other:?}"),
    }
    let mut lenient = opts();
    lenient.load_truncated = true;
    let (_, records, report) = block_on(open_with(mem.clone(), &shard0(), lenient)).unwrap();
    assert_eq!(records, vec![Bytes::from(cmd(&["SET", "a", "1"]))]);
    let cut = report.load_truncated.unwrap();
    assert_eq!(cut.path, segs[1]);
    assert_eq!(
        cut.dropped_segments.len(),
        1,
        "the later segment is kept aside as .corrupt"
    );
    assert!(mem.read(&cut.dropped_segments[0]).is_some());
    // The cut is durable: a normal open now succeeds with the same records.
    assert_eq!(reopen(&mem, opts()).unwrap().len(), 1);
}

#[test]
fn bad_manifest_is_an_error_with_offset_and_never_overridden() {
    let (mem, _) = log_with(&three());
    let manifest = shard0().join(MANIFEST_FILE);
    let mut bytes = mem.read(&manifest).unwrap();
    bytes[40] ^= 1;
    mem.overwrite(&manifest, &bytes);
    let mut lenient = opts();
    lenient.load_truncated = true;
    for o in [opts(), lenient] {
        match reopen(&mem, o) {
            Err(e @ LogError::Corrupt { .. }) => {
                assert!(!e.is_overridable());
                let LogError::Corrupt { path, offset, .. } = e else {
                    unreachable!()
                };
                assert_eq!(path, manifest);
                assert_eq!(offset, bytes.len() as u64 - 4, "the checksum catches it");
            }
            other => panic!("expected a bad manifest, got {other:?}"),
        }
    }
    let mut wrong_shard = opts();
    wrong_shard.shard_id = 1;
    let mem2 = log_with(&three()).0;
    assert!(matches!(
        reopen(&mem2, wrong_shard),
        Err(LogError::Corrupt { offset: 12, .. })
    ));
}

#[test]
fn missing_manifest_is_fresh_only_without_records() {
    let (mem, seg) = log_with(&three());
    let manifest = shard0().join(MANIFEST_FILE);
    let keep = mem.read(&manifest).unwrap();
    block_on(mem.remove(&manifest)).unwrap();
    match reopen(&mem, opts()) {
        Err(LogError::Corrupt { path, .. }) => assert_eq!(path, manifest),
        other => panic!("expected a missing-manifest error, got {other:?}"),
    }
    // A crash during the very first open leaves a header-only segment and no manifest.
    let header_only = mem.read(&seg).unwrap()[..44].to_vec();
    mem.overwrite(&seg, &header_only);
    let (_, records, report) = open(&mem).unwrap();
    assert!(records.is_empty() && report.fresh);
    assert!(report.removed_files.contains(&seg));
    assert_ne!(mem.read(&manifest).unwrap(), keep);
}

#[test]
fn failed_sync_poisons_until_a_rewrite_heals() {
    let mem = MemStorage::new(5);
    let (log, _, _) = open(&mem).unwrap();
    let a = log.append(&cmd(&["SET", "a", "1"])).unwrap();
    assert_eq!(block_on(log.sync()).unwrap(), a);
    let b = log.append(&cmd(&["SET", "b", "2"])).unwrap();
    mem.fail_op(1, Fault::Eio); // op 0 is the write, op 1 the fdatasync
    assert!(matches!(
        block_on(log.sync()),
        Err(LogError::Io {
            op: "fdatasync",
            ..
        })
    ));
    assert!(log.is_poisoned());
    assert_eq!(
        log.durable_lsn(),
        a,
        "the failed bytes are never reported durable"
    );
    assert!(
        matches!(block_on(log.sync()), Err(LogError::Poisoned { durable_lsn, .. }) if durable_lsn == a)
    );
    assert!(matches!(log.append(b"c"), Err(LogError::Poisoned { .. })));
    assert!(matches!(
        block_on(log.rotate()),
        Err(LogError::Poisoned { .. })
    ));

    // Heal: the base holds the shard's state, including b, whose write failed.
    let mut base = block_on(log.start_rewrite()).unwrap();
    assert!(
        log.append(b"c").is_err(),
        "still refused until the rewrite finishes"
    );
    block_on(base.append(&cmd(&["SET", "a", "1"]))).unwrap();
    block_on(base.append(&cmd(&["SET", "b", "2"]))).unwrap();
    let report = block_on(log.finish_rewrite(base)).unwrap();
    assert!(report.healed && !log.is_poisoned());
    assert!(log.durable_lsn() >= b);
    let c = log.append(&cmd(&["SET", "c", "3"])).unwrap();
    assert_eq!(block_on(log.sync()).unwrap(), c);
    mem.crash();
    let records = reopen(&mem, opts()).unwrap();
    assert_eq!(
        records,
        vec![
            cmd(&["SET", "a", "1"]),
            cmd(&["SET", "b", "2"]),
            cmd(&["SET", "c", "3"])
        ]
    );
}

#[test]
fn crash_while_poisoned_recovers_the_durable_prefix() {
    let mem = MemStorage::new(6);
    mem.set_torn_writes(TornWrites::Prefix);
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "a", "1"])).unwrap();
    block_on(log.sync()).unwrap();
    log.append(&cmd(&["SET", "b", "2"])).unwrap();
    mem.fail_op(1, Fault::Eio);
    assert!(block_on(log.sync()).is_err());
    mem.crash();
    // The poisoned segment was cut back to its durable length.
    assert_eq!(reopen(&mem, opts()).unwrap(), vec![cmd(&["SET", "a", "1"])]);
}

#[test]
fn full_disk_poisons_and_healing_waits_for_space() {
    let mem = MemStorage::new(7);
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "a", "1"])).unwrap();
    mem.set_disk_full(true);
    match block_on(log.flush()) {
        Err(LogError::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::ENOSPC)),
        other => panic!("expected ENOSPC, got {other:?}"),
    }
    assert!(log.is_poisoned());
    assert!(
        block_on(log.start_rewrite()).is_err(),
        "no space for the new segment"
    );
    mem.set_disk_full(false);
    let mut base = block_on(log.start_rewrite()).unwrap();
    block_on(base.append(&cmd(&["SET", "a", "1"]))).unwrap();
    block_on(log.finish_rewrite(base)).unwrap();
    assert!(!log.is_poisoned());
    mem.crash();
    assert_eq!(reopen(&mem, opts()).unwrap(), vec![cmd(&["SET", "a", "1"])]);
}

#[test]
fn group_commit_never_claims_records_appended_during_a_sync() {
    let mem = MemStorage::new(8);
    let (log, _, _) = open(&mem).unwrap();
    mem.set_yield_each_op(true);
    let first = log.append(b"one").unwrap();
    let (synced, second) = block_on(zip(log.sync(), async {
        yield_now().await; // the sync has taken the buffer and is waiting on the disk
        log.append(b"two").unwrap()
    }));
    assert_eq!(synced.unwrap(), first);
    assert!(second > first);
    assert_eq!(log.pending_bytes(), 11);
    // Two syncs racing: the second waits for the first, then covers what is left.
    let (x, y) = block_on(zip(log.sync(), log.sync()));
    assert_eq!((x.unwrap().max(y.unwrap())), second);
    assert_eq!(log.durable_lsn(), second);
}

#[test]
fn rotation_keeps_records_appended_during_it_in_order() {
    let mem = MemStorage::new(10);
    let (log, _, _) = open(&mem).unwrap();
    mem.set_yield_each_op(true);
    log.append(b"before").unwrap();
    let (rotated, _) = block_on(zip(log.rotate(), async {
        yield_now().await;
        log.append(b"during").unwrap();
    }));
    rotated.unwrap();
    log.append(b"after").unwrap();
    block_on(log.sync()).unwrap();
    mem.set_yield_each_op(false);
    mem.crash();
    let got = reopen(&mem, opts()).unwrap();
    assert_eq!(
        got,
        vec![
            Bytes::from_static(b"before"),
            Bytes::from_static(b"during"),
            Bytes::from_static(b"after")
        ]
    );
}

#[test]
fn rewrite_replaces_old_segments_and_keeps_later_writes() {
    let mem = MemStorage::new(11);
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "a", "1"])).unwrap();
    log.append(&cmd(&["SET", "a", "2"])).unwrap();
    block_on(log.rotate()).unwrap();
    log.append(&cmd(&["SET", "b", "1"])).unwrap();
    let old = files(&mem, ".incr");
    let mut base = block_on(log.start_rewrite()).unwrap();
    assert!(matches!(
        block_on(log.start_rewrite()),
        Err(LogError::Busy { .. })
    ));
    log.append(&cmd(&["DEL", "a"])).unwrap(); // after the switch: in the new segment
    block_on(base.append(&cmd(&["SET", "a", "2"]))).unwrap();
    block_on(base.append(&cmd(&["SET", "b", "1"]))).unwrap();
    block_on(log.sync()).unwrap();
    let report = block_on(log.finish_rewrite(base)).unwrap();
    assert_eq!(
        (report.base_records, report.removed_segments, report.healed),
        (2, old.len(), false)
    );
    for p in &old {
        assert!(mem.read(p).is_none(), "{} deleted", p.display());
    }
    let stats = log.stats();
    assert_eq!(stats.segments, 2);
    assert!(stats.base_bytes > 44 && !stats.rewrite_in_progress);
    mem.crash();
    let got = reopen(&mem, opts()).unwrap();
    assert_eq!(
        got,
        vec![
            cmd(&["SET", "a", "2"]),
            cmd(&["SET", "b", "1"]),
            cmd(&["DEL", "a"])
        ]
    );
}

#[test]
fn aborted_or_dropped_rewrite_leaves_the_log_as_it_was() {
    let mem = MemStorage::new(12);
    let (log, _, _) = open(&mem).unwrap();
    log.append(&cmd(&["SET", "a", "1"])).unwrap();
    let base = block_on(log.start_rewrite()).unwrap();
    block_on(log.abort_rewrite(base));
    assert!(files(&mem, ".base").is_empty());
    let base = block_on(log.start_rewrite()).unwrap();
    drop(base);
    let base = block_on(log.start_rewrite()).unwrap(); // the dropped one no longer blocks
    assert_eq!(
        files(&mem, ".base").len(),
        1,
        "the dropped base was deleted"
    );
    drop(base);
    block_on(log.sync()).unwrap();
    mem.crash();
    assert_eq!(reopen(&mem, opts()).unwrap(), vec![cmd(&["SET", "a", "1"])]);
    assert!(
        files(&mem, ".base").is_empty(),
        "orphan bases are deleted at open"
    );
}

#[test]
fn std_storage_round_trip_on_a_real_directory() {
    let tmp = super::storage::tests::TempDir::new("log");
    let dir = shard_dir(&tmp.0, 0);
    block_on(async {
        let (log, records, report) = open_with(StdStorage, &dir, opts()).await.unwrap();
        assert!(records.is_empty() && report.fresh);
        for p in three() {
            log.append(&p).unwrap();
        }
        let base_len = 2000 * 1024; // larger than the read window: read directly
        log.append(&vec![7u8; base_len]).unwrap();
        log.sync().await.unwrap();
        log.close().await.unwrap();
        let (_, records, _) = open_with(StdStorage, &dir, opts()).await.unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[..3], three()[..]);
        assert_eq!(records[3].len(), base_len);
    });
}

#[test]
fn a_busy_group_commit_driver_does_not_starve_a_rotation() {
    let mem = MemStorage::new(13);
    let (log, _, _) = open(&mem).unwrap();
    mem.set_yield_each_op(true);
    let syncs_done = std::cell::Cell::new(0);
    let driver = async {
        for i in 0..20u8 {
            log.append(&[i + 1]).unwrap();
            log.sync().await.unwrap();
            syncs_done.set(syncs_done.get() + 1);
        }
    };
    let rotation = async {
        yield_now().await;
        log.rotate().await.unwrap();
        syncs_done.get()
    };
    let (_, rotated_after) = block_on(zip(driver, rotation));
    assert!(
        rotated_after <= 2,
        "rotation waited for {rotated_after} syncs"
    );
}

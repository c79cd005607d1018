//! `check_log`: the redis-check-aof of corekv. Validates every shard directory's manifest and
//! segments, reports counts and the first problem with its file and byte offset, and with
//! `fix` cuts the log there (a torn tail or damage: truncate the segment, drop later ones).
//! It never asks anything interactively and never starts a new segment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::LogError;
use super::manifest::{MANIFEST_FILE, load_manifest};
use super::reader::{LogReader, Problem, SegmentSummary, Step};
use super::recover::{apply_cut, list_or_empty, segment_id_of};
use super::storage::{StdStorage, Storage};

/// What kind of problem a shard's log has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// An interrupted final write in the last segment (recovery truncates it by default).
    TornTail,
    /// A bad record or segment header before the tail.
    Corrupt,
    /// A segment the manifest names does not exist.
    MissingSegment,
    /// The manifest is unreadable or missing while segments hold records: not fixable here.
    BadManifest,
    /// The storage failed while checking: not fixable here.
    Io,
}

/// The first problem in a shard's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub path: PathBuf,
    pub offset: u64,
    pub detail: String,
}

/// The result for one shard directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardCheck {
    pub dir: PathBuf,
    /// False when the directory holds no log at all.
    pub has_log: bool,
    pub segments: Vec<SegmentSummary>,
    pub records: u64,
    /// Segment files the manifest does not name (deleted at the next open).
    pub orphans: Vec<PathBuf>,
    pub finding: Option<Finding>,
    /// The finding was repaired (`fix`).
    pub fixed: bool,
}

impl ShardCheck {
    pub fn is_ok(&self) -> bool {
        self.finding.is_none() || self.fixed
    }
}

/// The result for a data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    pub shards: Vec<ShardCheck>,
}

impl CheckReport {
    /// Every shard is clean (or was fixed).
    pub fn is_ok(&self) -> bool {
        self.shards.iter().all(ShardCheck::is_ok)
    }
}

/// Checks `dir`: a shard directory (it holds a manifest) or a data directory whose `shard-*`
/// subdirectories are shard directories.
pub async fn check_log<S: Storage>(storage: S, dir: &Path, fix: bool) -> CheckReport {
    let storage = Rc::new(storage);
    let mut dirs = Vec::new();
    if let Ok(entries) = list_or_empty(&*storage, dir).await {
        if entries
            .iter()
            .any(|p| p.file_name() == Some(MANIFEST_FILE.as_ref()))
        {
            dirs.push(dir.to_path_buf());
        } else {
            let is_shard = |p: &&PathBuf| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("shard-"))
            };
            dirs.extend(entries.iter().filter(is_shard).cloned());
        }
    }
    if dirs.is_empty() {
        dirs.push(dir.to_path_buf());
    }
    let mut shards = Vec::new();
    for d in dirs {
        shards.push(check_shard(&storage, &d, fix).await);
    }
    CheckReport { shards }
}

/// [`check_log`] on the real filesystem, blocking (for the `check-log` tool).
pub fn check_log_dir(dir: &Path, fix: bool) -> CheckReport {
    futures_lite::future::block_on(check_log(StdStorage, dir, fix))
}

async fn check_shard<S: Storage>(storage: &Rc<S>, dir: &Path, fix: bool) -> ShardCheck {
    let mut check = ShardCheck {
        dir: dir.to_path_buf(),
        has_log: true,
        segments: Vec::new(),
        records: 0,
        orphans: Vec::new(),
        finding: None,
        fixed: false,
    };
    let listing = list_or_empty(&**storage, dir).await.unwrap_or_default();
    let segment_files: Vec<PathBuf> = listing
        .into_iter()
        .filter(|p| segment_id_of(p).is_some())
        .collect();
    let manifest = match load_manifest(&**storage, dir).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            check.has_log = !segment_files.is_empty();
            if check.has_log {
                check.finding = Some(Finding {
                    kind: FindingKind::BadManifest,
                    path: dir.join(MANIFEST_FILE),
                    offset: 0,
                    detail: "manifest is missing but segment files exist".into(),
                });
            }
            return check;
        }
        Err(e) => {
            check.finding = Some(finding_of_error(&e));
            return check;
        }
    };
    check.orphans = segment_files
        .into_iter()
        .filter(|p| {
            !manifest
                .segments
                .iter()
                .any(|s| Some(s.id) == segment_id_of(p))
        })
        .collect();
    let mut manifest_copy = manifest.clone();
    let mut reader = LogReader::new(storage.clone(), dir, manifest);
    let problem = loop {
        match reader.next().await {
            Ok(Step::Record(_)) => check.records += 1,
            Ok(Step::End) => break None,
            Ok(Step::Problem(p)) => break Some(p),
            Err(e) => {
                check.finding = Some(finding_of_error(&e));
                break None;
            }
        }
    };
    check.segments = reader.summaries().to_vec();
    if let Some(p) = problem {
        check.finding = Some(finding_of_problem(&p));
        if fix {
            let cut = apply_cut(&**storage, dir, &mut manifest_copy, &check.segments, &p).await;
            match cut {
                Ok(_) => check.fixed = true,
                Err(e) => {
                    if let Some(f) = check.finding.as_mut() {
                        f.detail.push_str(&format!(" (fix failed: {e})"));
                    }
                }
            }
        }
    }
    check
}

fn finding_of_problem(p: &Problem) -> Finding {
    match p {
        Problem::TornTail {
            path,
            offset,
            bytes,
            reason,
            ..
        } => Finding {
            kind: FindingKind::TornTail,
            path: path.clone(),
            offset: *offset,
            detail: format!("torn final record, {bytes} bytes: {reason}"),
        },
        Problem::Corrupt {
            path,
            offset,
            reason,
            ..
        } => Finding {
            kind: FindingKind::Corrupt,
            path: path.clone(),
            offset: *offset,
            detail: reason.to_string(),
        },
        Problem::Missing { path, .. } => Finding {
            kind: FindingKind::MissingSegment,
            path: path.clone(),
            offset: 0,
            detail: "segment named by the manifest is missing".into(),
        },
    }
}

fn finding_of_error(e: &LogError) -> Finding {
    match e {
        LogError::Corrupt {
            path,
            offset,
            reason,
            ..
        } => Finding {
            kind: FindingKind::BadManifest,
            path: path.clone(),
            offset: *offset,
            detail: reason.clone(),
        },
        LogError::Io { path, .. } => Finding {
            kind: FindingKind::Io,
            path: path.clone(),
            offset: 0,
            detail: e.to_string(),
        },
        other => Finding {
            kind: FindingKind::Io,
            path: PathBuf::new(),
            offset: 0,
            detail: other.to_string(),
        },
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.shards {
            if !s.has_log {
                writeln!(f, "{}: no log", s.dir.display())?;
                continue;
            }
            let bytes: u64 = s.segments.iter().map(|x| x.valid_bytes).sum();
            writeln!(
                f,
                "{}: {} segments, {} records, {} valid bytes",
                s.dir.display(),
                s.segments.len(),
                s.records,
                bytes
            )?;
            for o in &s.orphans {
                writeln!(f, "  orphan (not in the manifest): {}", o.display())?;
            }
            match &s.finding {
                None => writeln!(f, "  OK")?,
                Some(x) => {
                    let state = if s.fixed { "FIXED" } else { "PROBLEM" };
                    writeln!(
                        f,
                        "  {state} {:?} in {} at byte offset {}: {}",
                        x.kind,
                        x.path.display(),
                        x.offset,
                        x.detail
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::storage::tests::TempDir;
    use super::super::tests_log::{cmd, open_with, opts};
    use super::super::{LogOptions, shard_dir};
    use super::*;
    use futures_lite::future::block_on;
    use std::fs;

    /// A data directory with shard 0 holding three synced records; returns it and the
    /// segment that holds them.
    fn data_dir_with_log() -> (TempDir, PathBuf) {
        let tmp = TempDir::new("check");
        let dir = shard_dir(&tmp.0, 0);
        block_on(async {
            let (log, _, _) = open_with(StdStorage, &dir, opts()).await.unwrap();
            for k in ["a", "b", "c"] {
                log.append(&cmd(&["SET", k, "v"])).unwrap();
            }
            log.close().await.unwrap();
        });
        let mut segs: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "incr"))
            .collect();
        segs.sort();
        (tmp, segs.pop().unwrap())
    }

    #[test]
    fn clean_log_checks_ok() {
        let (tmp, seg) = data_dir_with_log();
        let report = check_log_dir(&tmp.0, false);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.shards.len(), 1);
        let s = &report.shards[0];
        assert_eq!(
            (s.records, s.segments.len(), s.finding.clone()),
            (3, 1, None)
        );
        assert_eq!(s.segments[0].valid_bytes, fs::metadata(&seg).unwrap().len());
        assert!(report.to_string().contains("OK"));
        // A shard directory can be checked directly too.
        assert!(check_log_dir(&shard_dir(&tmp.0, 0), false).is_ok());
    }

    #[test]
    fn torn_tail_is_reported_and_fixed_only_with_fix() {
        let (tmp, seg) = data_dir_with_log();
        let len = fs::metadata(&seg).unwrap().len();
        let record = (8 + cmd(&["SET", "c", "v"]).len()) as u64;
        fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 3)
            .unwrap();

        let report = check_log_dir(&tmp.0, false);
        assert!(!report.is_ok());
        let f = report.shards[0].finding.clone().unwrap();
        assert_eq!(
            (f.kind, f.path.clone(), f.offset),
            (FindingKind::TornTail, seg.clone(), len - record)
        );
        assert_eq!(
            fs::metadata(&seg).unwrap().len(),
            len - 3,
            "no fix without --fix"
        );

        let fixed = check_log_dir(&tmp.0, true);
        assert!(fixed.is_ok() && fixed.shards[0].fixed, "{fixed}");
        assert_eq!(fs::metadata(&seg).unwrap().len(), len - record);
        let again = check_log_dir(&tmp.0, false);
        assert!(again.is_ok() && again.shards[0].records == 2, "{again}");
    }

    #[test]
    fn corruption_is_reported_with_file_and_offset_and_cut_only_with_fix() {
        let (tmp, seg) = data_dir_with_log();
        let mut bytes = fs::read(&seg).unwrap();
        bytes[44 + 12] ^= 0xff; // inside the first record's payload
        fs::write(&seg, &bytes).unwrap();

        let report = check_log_dir(&tmp.0, false);
        let f = report.shards[0].finding.clone().unwrap();
        assert_eq!(
            (f.kind, f.path.clone(), f.offset),
            (FindingKind::Corrupt, seg.clone(), 44)
        );
        let text = report.to_string();
        assert!(
            text.contains(&seg.display().to_string()) && text.contains("offset 44"),
            "{text}"
        );
        assert_eq!(fs::read(&seg).unwrap(), bytes, "no fix without --fix");
        // Recovery refuses it too, unless told to load truncated.
        let err = block_on(open_with(StdStorage, &shard_dir(&tmp.0, 0), opts()))
            .err()
            .unwrap();
        assert!(matches!(err, LogError::Corrupt { offset: 44, .. }));

        let fixed = check_log_dir(&tmp.0, true);
        assert!(fixed.is_ok() && fixed.shards[0].fixed, "{fixed}");
        assert_eq!(fs::metadata(&seg).unwrap().len(), 44);
        let (_, records, _) =
            block_on(open_with(StdStorage, &shard_dir(&tmp.0, 0), opts())).unwrap();
        assert!(records.is_empty());
    }

    #[test]
    fn bad_manifest_is_reported_and_never_fixed() {
        let (tmp, _) = data_dir_with_log();
        let manifest = shard_dir(&tmp.0, 0).join(MANIFEST_FILE);
        let mut bytes = fs::read(&manifest).unwrap();
        bytes[0] = b'X';
        fs::write(&manifest, &bytes).unwrap();
        let report = check_log_dir(&tmp.0, true);
        let s = &report.shards[0];
        assert!(!report.is_ok() && !s.fixed);
        let f = s.finding.clone().unwrap();
        assert_eq!(
            (f.kind, f.path, f.offset),
            (FindingKind::BadManifest, manifest.clone(), 0)
        );
        assert_eq!(fs::read(&manifest).unwrap(), bytes);
    }

    #[test]
    fn every_shard_directory_is_checked() {
        let (tmp, _) = data_dir_with_log();
        let dir1 = shard_dir(&tmp.0, 1);
        block_on(async {
            let (log, _, _) = open_with(StdStorage, &dir1, LogOptions::new(1))
                .await
                .unwrap();
            log.append(&cmd(&["SET", "x", "y"])).unwrap();
            log.close().await.unwrap();
        });
        fs::write(dir1.join("00000099.incr"), b"orphan").unwrap();
        let report = check_log_dir(&tmp.0, false);
        assert_eq!(report.shards.len(), 2);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.shards[1].records, 1);
        assert_eq!(report.shards[1].orphans, vec![dir1.join("00000099.incr")]);
        assert!(
            check_log_dir(&tmp.0.join("nothing-here"), false).shards[0]
                .finding
                .is_none()
        );
    }
}

//! Opening a shard's log: [`Recovery`] streams the records for replay, then
//! [`Recovery::finish`] repairs what the options allow, starts a fresh segment and returns the
//! [`Log`]. Reading changes nothing on disk; all writes happen in `finish`, so a replay that
//! fails halfway leaves the directory exactly as it was.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use bytes::Bytes;

use super::LogError;
use super::log::{Active, Log, State, create_segment};
use super::manifest::{
    MANIFEST_FILE, MANIFEST_TMP_FILE, Manifest, SegmentRef, load_manifest, parse_segment_file_name,
    segment_path, store_manifest,
};
use super::reader::{LogReader, Problem, SegmentSummary, Step, has_records};
use super::record::{RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SegmentKind};
use super::storage::Storage;
use crate::util::Rng;

/// How to open a shard's log.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub shard_id: u32,
    /// Truncate a torn final record instead of failing (Redis's `aof-load-truncated yes`).
    pub truncate_torn_tail: bool,
    /// Truncate at the first damaged record anywhere, dropping everything after it: a bad
    /// checksum or garbage before the tail, a bad segment header, a missing segment. A bad or
    /// missing manifest, or one naming another shard, is never overridden.
    pub load_truncated: bool,
    /// Entropy for segment seeds; 0 takes it from the clock and the process id.
    pub seed_entropy: u64,
}

impl LogOptions {
    /// The defaults: truncate a torn tail, refuse any other damage.
    pub fn new(shard_id: u32) -> LogOptions {
        LogOptions {
            shard_id,
            truncate_torn_tail: true,
            load_truncated: false,
            seed_entropy: 0,
        }
    }
}

/// Bytes cut from a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub path: PathBuf,
    /// Where the bad data started (the segment's new length, unless it was dropped).
    pub offset: u64,
    /// Bytes removed from this segment.
    pub bytes: u64,
    pub reason: String,
    /// Later segments dropped from the manifest (renamed to `<name>.corrupt`).
    pub dropped_segments: Vec<PathBuf>,
}

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// No manifest existed: a new log was created.
    pub fresh: bool,
    pub segments_read: usize,
    pub records: u64,
    /// Bytes of the records read, frame headers included.
    pub record_bytes: u64,
    /// A torn final record that was truncated.
    pub torn_tail: Option<Cut>,
    /// Damage that `load_truncated` cut away.
    pub load_truncated: Option<Cut>,
    /// Orphans and record-free segments deleted after the new manifest was stored.
    pub removed_files: Vec<PathBuf>,
}

enum Phase {
    Reading,
    Done,
    Failed,
}

/// A log being opened. Drain [`Recovery::next`] until `None`, then call [`Recovery::finish`].
pub struct Recovery<S: Storage> {
    storage: Rc<S>,
    dir: PathBuf,
    opts: LogOptions,
    reader: LogReader<S>,
    fresh: bool,
    cut: Option<Problem>,
    phase: Phase,
    report: RecoveryReport,
}

impl<S: Storage> Recovery<S> {
    /// Reads the manifest of the shard directory `dir` (which need not exist yet).
    pub async fn open(storage: S, dir: &Path, opts: LogOptions) -> Result<Recovery<S>, LogError> {
        let storage = Rc::new(storage);
        let (manifest, fresh) = match load_manifest(&*storage, dir).await? {
            Some(m) if m.shard_id != opts.shard_id => {
                let why = format!(
                    "manifest is for shard {}, not {}",
                    m.shard_id, opts.shard_id
                );
                return Err(LogError::corrupt(dir.join(MANIFEST_FILE), 12, why, false));
            }
            Some(m) => (m, false),
            None => (fresh_manifest(&storage, dir, opts.shard_id).await?, true),
        };
        Ok(Recovery {
            reader: LogReader::new(storage.clone(), dir, manifest),
            storage,
            dir: dir.to_path_buf(),
            opts,
            fresh,
            cut: None,
            phase: Phase::Reading,
            report: RecoveryReport {
                fresh,
                ..RecoveryReport::default()
            },
        })
    }

    /// The next record payload to replay, or `None` at the end of the (valid) log.
    pub async fn next(&mut self) -> Result<Option<Bytes>, LogError> {
        match self.phase {
            Phase::Reading => {}
            Phase::Done => return Ok(None),
            Phase::Failed => {
                return Err(LogError::Busy {
                    what: "recovery has failed",
                });
            }
        }
        let step = self
            .reader
            .next()
            .await
            .inspect_err(|_| self.phase = Phase::Failed)?;
        match step {
            Step::Record(p) => {
                self.report.records += 1;
                self.report.record_bytes += (RECORD_HEADER_BYTES + p.len()) as u64;
                return Ok(Some(p));
            }
            Step::End => {}
            Step::Problem(p) => {
                let allowed = match p {
                    Problem::TornTail { .. } => {
                        self.opts.truncate_torn_tail || self.opts.load_truncated
                    }
                    _ => self.opts.load_truncated,
                };
                if !allowed {
                    self.phase = Phase::Failed;
                    return Err(p.to_error());
                }
                self.cut = Some(p);
            }
        }
        self.phase = Phase::Done;
        self.report.segments_read = self.reader.summaries().len();
        Ok(None)
    }

    /// What has been found so far.
    pub fn report(&self) -> &RecoveryReport {
        &self.report
    }

    /// Repairs what the options allow, starts a new incremental segment, stores the manifest,
    /// deletes orphans, and returns the log ready for appends.
    pub async fn finish(mut self) -> Result<(Log<S>, RecoveryReport), LogError> {
        if !matches!(self.phase, Phase::Done) {
            return Err(LogError::Busy {
                what: "finish() called before next() returned None",
            });
        }
        let storage = &*self.storage;
        let dir = self.dir.as_path();
        if self.fresh {
            storage
                .create_dir_all(dir)
                .await
                .map_err(|e| LogError::io("create directory", dir, e))?;
            if let Some(parent) = dir.parent() {
                storage
                    .sync_dir(parent)
                    .await
                    .map_err(|e| LogError::io("fsync directory", parent, e))?;
            }
        }
        let listing = list_or_empty(storage, dir).await?;
        let mut manifest = self.reader.manifest().clone();
        let summaries = self.reader.summaries().to_vec();
        if let Some(problem) = self.cut.take() {
            let cut = apply_cut(storage, dir, &mut manifest, &summaries, &problem).await?;
            match problem {
                Problem::TornTail { .. } => self.report.torn_tail = Some(cut),
                _ => self.report.load_truncated = Some(cut),
            }
        }
        let max_listed = listing.iter().filter_map(|p| segment_id_of(p)).max();
        let next_id = manifest
            .next_segment_id
            .max(max_listed.map_or(1, |id| id + 1));
        // Mixing in the id keeps seeds distinct across restarts even if the entropy repeats.
        let mut rng =
            Rng::new(seed_entropy(&self.opts) ^ next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let next = SegmentRef::open(next_id, SegmentKind::Incr, rng.next_u64());
        let summary_of = |seg: &SegmentRef| summaries.iter().find(|s| s.seg.id == seg.id);
        // Incremental segments without records contribute nothing: dropping them keeps
        // restarts from piling up empty segments. Every kept segment is now sealed at its
        // valid length (a torn tail was truncated above).
        let mut kept = Vec::new();
        for seg in &manifest.segments {
            let summary = summary_of(seg);
            if seg.kind == SegmentKind::Incr && summary.is_some_and(|x| x.records == 0) {
                continue;
            }
            let mut seg = *seg;
            if let Some(s) = summary {
                seg.sealed_bytes = s.valid_bytes;
            }
            kept.push(seg);
        }
        let file = create_segment(storage, dir, self.opts.shard_id, &next).await?;
        let mut new_manifest = Manifest {
            shard_id: self.opts.shard_id,
            generation: manifest.generation + 1,
            next_segment_id: next.id + 1,
            segments: kept,
        };
        new_manifest.segments.push(next);
        if let Err(e) = store_manifest(storage, dir, &new_manifest).await {
            let _ = storage.close(file).await;
            return Err(e);
        }
        self.report.removed_files = remove_orphans(storage, dir, &listing, &new_manifest).await;
        let sizes = segment_sizes(&new_manifest, &summaries);
        let header = SEGMENT_HEADER_BYTES as u64;
        let state = State {
            sizes,
            active: Active {
                seg: next,
                path: segment_path(dir, &next),
                file: Some(file),
                written_bytes: header,
                durable_bytes: header,
            },
            frame_seed: next.seed,
            pending: Vec::new(),
            spare: Vec::new(),
            appended: 0,
            written: 0,
            durable: 0,
            switch: None,
            poison: None,
            rewrite: None,
            next_id: new_manifest.next_segment_id,
            rng,
            manifest: new_manifest,
        };
        let log = Log::from_state(
            self.storage.clone(),
            self.dir.clone(),
            self.opts.shard_id,
            state,
        );
        Ok((log, self.report))
    }
}

/// The manifest of a directory that has none: fine if no segment file in it holds a record
/// (a crash during the very first open leaves at most an empty segment), an error otherwise.
async fn fresh_manifest<S: Storage>(
    storage: &Rc<S>,
    dir: &Path,
    shard_id: u32,
) -> Result<Manifest, LogError> {
    let mut max_id = 0;
    for path in list_or_empty(&**storage, dir).await? {
        let Some(id) = segment_id_of(&path) else {
            continue;
        };
        if has_records(storage.clone(), &path).await? {
            let why = format!("missing, but {} holds records", path.display());
            return Err(LogError::corrupt(dir.join(MANIFEST_FILE), 0, why, false));
        }
        max_id = max_id.max(id);
    }
    Ok(Manifest {
        shard_id,
        generation: 0,
        next_segment_id: max_id + 1,
        segments: Vec::new(),
    })
}

/// Cuts the log at `problem`: truncates the damaged segment at the damage and drops every
/// later segment from the manifest. Order matters for crashes: the dropped files are renamed
/// first and the shortened manifest stored before anything is truncated, so a crash in
/// between finds the same damage again (or a missing segment), never a log with a hole.
/// A torn tail is truncated in place (it is in the last segment, so nothing is dropped).
pub(crate) async fn apply_cut<S: Storage>(
    storage: &S,
    dir: &Path,
    manifest: &mut Manifest,
    summaries: &[SegmentSummary],
    problem: &Problem,
) -> Result<Cut, LogError> {
    let index = problem.index();
    let summary = summaries.get(index);
    let file_bytes = summary.map_or(0, |s| s.file_bytes);
    let (path, offset, reason, truncate, keep) = match problem {
        Problem::TornTail {
            path,
            offset,
            reason,
            ..
        } => (path, *offset, reason.to_string(), true, index + 1),
        Problem::Corrupt {
            path,
            offset,
            in_header,
            reason,
            ..
        } => {
            let keep = if *in_header { index } else { index + 1 };
            (path, *offset, reason.to_string(), !*in_header, keep)
        }
        Problem::Missing { path, .. } => (path, 0, "missing".to_string(), false, index),
    };
    let mut dropped_segments = Vec::new();
    if keep < manifest.segments.len() {
        if truncate {
            // The damaged segment becomes the last one, sealed where the damage starts: a
            // crash before the truncation below then finds a clean log.
            manifest.segments[index].sealed_bytes = offset;
        }
        for seg in manifest.segments.split_off(keep) {
            let from = segment_path(dir, &seg);
            let mut to = from.clone().into_os_string();
            to.push(".corrupt");
            match storage.rename(&from, Path::new(&to)).await {
                Ok(()) => dropped_segments.push(PathBuf::from(to)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io("rename", from, e)),
            }
        }
        manifest.generation += 1;
        store_manifest(storage, dir, manifest).await?;
    }
    if truncate {
        storage
            .truncate(path, offset)
            .await
            .map_err(|e| LogError::io("truncate", path, e))?;
    }
    Ok(Cut {
        path: path.clone(),
        offset,
        bytes: if truncate {
            file_bytes.saturating_sub(offset)
        } else {
            file_bytes
        },
        reason,
        dropped_segments,
    })
}

/// Deletes segment files the manifest does not name and a leftover temporary manifest. Best
/// effort: a file that cannot be deleted now is tried again at the next open.
async fn remove_orphans<S: Storage>(
    storage: &S,
    dir: &Path,
    listing: &[PathBuf],
    manifest: &Manifest,
) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for path in listing {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let orphan = match parse_segment_file_name(name) {
            Some((id, _)) => !manifest.segments.iter().any(|s| s.id == id),
            None => name == MANIFEST_TMP_FILE,
        };
        if orphan && storage.remove(path).await.is_ok() {
            removed.push(path.clone());
        }
    }
    if !removed.is_empty() {
        let _ = storage.sync_dir(dir).await;
    }
    removed
}

fn segment_sizes(manifest: &Manifest, summaries: &[SegmentSummary]) -> BTreeMap<u64, u64> {
    let mut sizes = BTreeMap::new();
    for seg in &manifest.segments {
        if let Some(s) = summaries.iter().find(|s| s.seg.id == seg.id) {
            sizes.insert(seg.id, s.valid_bytes);
        }
    }
    sizes
}

pub(crate) fn segment_id_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    parse_segment_file_name(name).map(|(id, _)| id)
}

pub(crate) async fn list_or_empty<S: Storage>(
    storage: &S,
    dir: &Path,
) -> Result<Vec<PathBuf>, LogError> {
    match storage.list(dir).await {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(LogError::io("list", dir, e)),
    }
}

fn seed_entropy(opts: &LogOptions) -> u64 {
    if opts.seed_entropy != 0 {
        return opts.seed_entropy;
    }
    let pid = u64::from(std::process::id());
    crate::util::now_us() ^ pid.rotate_left(32) ^ u64::from(opts.shard_id).rotate_left(48)
}

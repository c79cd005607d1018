//! [`LogReader`]: walks the segments a manifest names, in order, yielding records and stopping
//! at the first problem, which it classifies. Recovery and `check_log` share it; each decides
//! what a problem means for it.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use bytes::Bytes;

use super::LogError;
use super::manifest::{Manifest, SegmentRef, segment_path};
use super::scan::{Opened, Scanned, SegmentScanner};
use super::storage::Storage;

/// What a reader found in one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub seg: SegmentRef,
    pub path: PathBuf,
    /// Valid records read.
    pub records: u64,
    /// Bytes of the valid part (header and records), i.e. where a cut would truncate.
    pub valid_bytes: u64,
    /// The file's length (0 if it is missing).
    pub file_bytes: u64,
}

/// The first problem in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Torn-shaped damage in the last segment: an interrupted final write of `bytes` bytes.
    TornTail {
        index: usize,
        path: PathBuf,
        offset: u64,
        bytes: u64,
        reason: &'static str,
    },
    /// Damage anywhere else (or not torn-shaped). `in_header`: the whole segment is unusable.
    Corrupt {
        index: usize,
        path: PathBuf,
        offset: u64,
        in_header: bool,
        reason: &'static str,
    },
    /// A segment the manifest names does not exist.
    Missing { index: usize, path: PathBuf },
}

impl Problem {
    /// Index in the manifest of the segment with the problem.
    pub fn index(&self) -> usize {
        match self {
            Problem::TornTail { index, .. }
            | Problem::Corrupt { index, .. }
            | Problem::Missing { index, .. } => *index,
        }
    }

    /// The problem as an error (when nothing may override it).
    pub fn to_error(&self) -> LogError {
        match self {
            Problem::TornTail {
                path,
                offset,
                bytes,
                reason,
                ..
            } => LogError::corrupt(
                path,
                *offset,
                format!("torn final record ({bytes} bytes: {reason}) and truncation is off"),
                true,
            ),
            Problem::Corrupt {
                path,
                offset,
                reason,
                ..
            } => LogError::corrupt(path, *offset, *reason, true),
            Problem::Missing { path, .. } => LogError::MissingSegment { path: path.clone() },
        }
    }
}

/// One step of reading the log.
pub enum Step {
    Record(Bytes),
    End,
    Problem(Problem),
}

/// Reads every segment a manifest names, base first.
pub struct LogReader<S: Storage> {
    storage: Rc<S>,
    dir: PathBuf,
    shard_id: u32,
    manifest: Manifest,
    index: usize,
    scanner: Option<SegmentScanner<S>>,
    summaries: Vec<SegmentSummary>,
    done: bool,
}

impl<S: Storage> LogReader<S> {
    pub fn new(storage: Rc<S>, dir: &Path, manifest: Manifest) -> LogReader<S> {
        LogReader {
            storage,
            dir: dir.to_path_buf(),
            shard_id: manifest.shard_id,
            manifest,
            index: 0,
            scanner: None,
            summaries: Vec::new(),
            done: false,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// One summary per segment fully read, plus the one with the problem, if any.
    pub fn summaries(&self) -> &[SegmentSummary] {
        &self.summaries
    }

    /// The next record, the end of the log, or the first problem (after which it returns
    /// `End`). I/O errors are returned as errors: they say nothing about the data.
    pub async fn next(&mut self) -> Result<Step, LogError> {
        while !self.done {
            if self.scanner.is_none() {
                if self.index == self.manifest.segments.len() {
                    self.done = true;
                    break;
                }
                if let Some(p) = self.open_current().await? {
                    self.done = true;
                    return Ok(Step::Problem(p));
                }
            }
            let scanner = self.scanner.as_mut().expect("opened above");
            let summary = self.summaries.last_mut().expect("pushed when opened");
            match scanner.next().await? {
                Scanned::Record(payload) => {
                    summary.records += 1;
                    summary.valid_bytes = scanner.offset();
                    return Ok(Step::Record(payload));
                }
                Scanned::End => {
                    self.scanner = None;
                    self.index += 1;
                }
                Scanned::Damaged(d) => {
                    self.done = true;
                    let last = self.index + 1 == self.manifest.segments.len();
                    let path = summary.path.clone();
                    let p = if last && d.torn_shaped {
                        Problem::TornTail {
                            index: self.index,
                            path,
                            offset: d.offset,
                            bytes: summary.file_bytes.saturating_sub(d.offset),
                            reason: d.reason,
                        }
                    } else {
                        Problem::Corrupt {
                            index: self.index,
                            path,
                            offset: d.offset,
                            in_header: false,
                            reason: d.reason,
                        }
                    };
                    return Ok(Step::Problem(p));
                }
            }
        }
        Ok(Step::End)
    }

    /// Opens the segment at `self.index`; a problem if it is missing or its header is bad.
    async fn open_current(&mut self) -> Result<Option<Problem>, LogError> {
        let seg = self.manifest.segments[self.index];
        let path = segment_path(&self.dir, &seg);
        let opened =
            SegmentScanner::open(self.storage.clone(), &path, Some(self.shard_id), Some(&seg))
                .await?;
        let mut summary = SegmentSummary {
            seg,
            path: path.clone(),
            records: 0,
            valid_bytes: 0,
            file_bytes: 0,
        };
        let problem = match opened {
            Opened::Ok(scanner) => {
                summary.valid_bytes = scanner.offset();
                summary.file_bytes = scanner.file_len();
                self.scanner = Some(scanner);
                None
            }
            Opened::Missing => Some(Problem::Missing {
                index: self.index,
                path,
            }),
            Opened::Damaged(d) => Some(Problem::Corrupt {
                index: self.index,
                path,
                offset: d.offset,
                in_header: true,
                reason: d.reason,
            }),
        };
        self.summaries.push(summary);
        Ok(problem)
    }
}

/// Whether the segment file at `path` holds at least one valid record, judged by its own
/// header whatever shard it names (used when there is no manifest to say what it should be).
pub async fn has_records<S: Storage>(storage: Rc<S>, path: &Path) -> Result<bool, LogError> {
    match SegmentScanner::open(storage, path, None, None).await? {
        Opened::Ok(mut s) => Ok(matches!(s.next().await?, Scanned::Record(_))),
        Opened::Missing | Opened::Damaged(_) => Ok(false),
    }
}

//! The one error type of the persistence layer: every variant names the file (and, for damage,
//! the byte offset) so an operator can find the problem with `check-log` or a hex dump.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::Lsn;

/// Why an operation on the log failed.
#[derive(Debug)]
pub enum LogError {
    /// The storage refused an operation (`op` is the step, e.g. "fdatasync").
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Bytes on disk are not what the format allows: a bad manifest, a bad segment header, a
    /// record whose checksum fails before the tail, or a torn tail when truncation is not
    /// allowed. `offset` is the byte offset in `path` where the bad data starts.
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
        /// Whether `RecoverOptions::load_truncated` may override it by truncating here.
        overridable: bool,
    },
    /// The manifest names a segment file that does not exist.
    MissingSegment { path: PathBuf },
    /// An earlier write or fdatasync failed. Bytes after `durable_lsn` may or may not be on
    /// disk, so the log refuses to append or to claim durability until a rewrite started after
    /// the failure completes (or the log is re-opened). See the module docs.
    Poisoned { durable_lsn: Lsn, cause: String },
    /// A payload larger than [`super::MAX_RECORD_PAYLOAD_BYTES`].
    RecordTooLarge { bytes: usize },
    /// An empty payload: never valid, so an all-zero header can mean "no record".
    EmptyRecord,
    /// A rotation or rewrite is already in progress, or `next()` was not drained before
    /// `finish()`.
    Busy { what: &'static str },
}

impl LogError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> LogError {
        LogError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
        overridable: bool,
    ) -> LogError {
        LogError::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
            overridable,
        }
    }

    /// Whether this error came from damaged data that `load_truncated` can cut away.
    pub fn is_overridable(&self) -> bool {
        match self {
            LogError::Corrupt { overridable, .. } => *overridable,
            LogError::MissingSegment { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Io { op, path, source } => {
                write!(f, "{op} failed on {}: {source}", path.display())
            }
            LogError::Corrupt {
                path,
                offset,
                reason,
                ..
            } => write!(f, "{} at byte offset {offset}: {reason}", path.display()),
            LogError::MissingSegment { path } => {
                write!(
                    f,
                    "{}: segment named by the manifest is missing",
                    path.display()
                )
            }
            LogError::Poisoned { durable_lsn, cause } => write!(
                f,
                "log is poisoned after a failed write (durable up to lsn {durable_lsn}): {cause}"
            ),
            LogError::RecordTooLarge { bytes } => write!(
                f,
                "record payload of {bytes} bytes exceeds the limit of {} bytes",
                super::MAX_RECORD_PAYLOAD_BYTES
            ),
            LogError::EmptyRecord => write!(f, "empty record payload"),
            LogError::Busy { what } => write!(f, "log busy: {what}"),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

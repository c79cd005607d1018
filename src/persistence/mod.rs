//! Durable storage: one append-only log per shard, written as commands in effect form and
//! replayed through the command table at startup. This layer never interprets a command: it
//! stores and returns `(db, args)` losslessly. The byte format is in docs/PERSISTENCE.md.
//!
//! # Contract
//! - **A shard directory** (`<dir>/shard-<id>/`) holds a `MANIFEST` naming, in replay order,
//!   an optional **base** segment (written by a rewrite) and **incremental** segments. Files
//!   the manifest does not name are orphans of an interrupted step, deleted at open.
//! - **Positions.** [`Log::append`] buffers a record (no I/O, no await) and returns its
//!   [`Lsn`], the count of record bytes appended since open, after the record.
//!   [`Log::sync`] writes the buffer, fdatasyncs, and returns the durable position.
//!   **A reply may be released only when its record's LSN ≤ a durable position returned by
//!   `sync`** (for `appendfsync always`).
//! - **Group commit** falls out: one driver task per shard loops "await `sync()`, release the
//!   replies whose LSN ≤ the result"; records appended meanwhile ride the next sync.
//!   `flush()` writes without fdatasync (appendfsync everysec/no, once per event-loop turn);
//!   `sync()` once a second then. `pending_bytes()` is the back-pressure signal.
//! - **Failures poison.** If a write or fdatasync fails, the bytes since the last durable
//!   position may or may not be on disk (Linux may drop dirty pages after a failed fsync), so
//!   the log never reports them durable: the error is returned, the segment is truncated to
//!   its last trustworthy byte (best effort), the buffer is dropped, and from then on
//!   `append`, `sync`, `flush` and `rotate` fail with [`LogError::Poisoned`]. The caller
//!   refuses write commands while [`Log::is_poisoned`] (Redis's `-MISCONF`) and heals by
//!   starting a rewrite: its base covers every record, including the lost ones, and once
//!   [`Log::finish_rewrite`] succeeds the poison is gone and everything appended is durable.
//!   Re-opening the log (a restart) also clears it.
//! - **Sealed segments are complete.** A segment is fdatasynced before a manifest names its
//!   successor, and that manifest records its exact length, so damage can only be torn in the
//!   last (open) segment; anywhere else, including a sealed segment that got shorter, it is an
//!   error.
//!
//! # Recovery, step by step ([`Recovery`])
//! 1. Read `MANIFEST`. Bad → error (never overridden). Missing → a fresh log, unless some
//!    segment file holds a valid record (then error: a lost manifest is not an empty log).
//! 2. Read the segments in order (base first), each header checked against the manifest
//!    entry (id, kind, seed) and the shard id, yielding each record's payload for replay.
//!    Memory: about 1 MiB of read window plus the current record, whatever the log's size.
//! 3. Stop at the first problem. A torn final record in the last segment is truncated when
//!    `truncate_torn_tail` (default) and reported with its byte count. Anything else (bad
//!    checksum or garbage before the tail, bad segment header, missing segment) is an error
//!    naming the file and byte offset, unless `load_truncated`: then the log is cut there
//!    (that segment truncated, later ones renamed `*.corrupt` and dropped from the manifest).
//! 4. [`Recovery::finish`]: apply the cut, create a fresh incremental segment (the log never
//!    appends to a file an earlier process wrote), store the manifest without record-free
//!    incremental segments, delete orphans. Nothing on disk changes before this step.
//!
//! # Rewrites
//! See `rewrite.rs`: [`Log::start_rewrite`] switches new records to a fresh segment and returns
//! a [`RewriteBase`] to stream the snapshot into; [`Log::finish_rewrite`] makes
//! `[base, segments since the switch]` the manifest and only then deletes the old files.
//!
//! # Module map
//! - `record`: segment header, record frame, command payload (pure).
//! - `manifest`: manifest format, file names, atomic replacement.
//! - `storage`: the [`Storage`] trait and [`StdStorage`]; `mem`: [`MemStorage`] for tests.
//! - `scan`: one segment, streamed; `reader`: the segments of a manifest, in order.
//! - `recover`: [`Recovery`]; `log`: [`Log`]; `rewrite`: rewrites; `check`: [`check_log`].

mod check;
mod error;
mod iolock;
mod log;
mod manifest;
mod mem;
mod reader;
mod record;
mod recover;
mod rewrite;
mod scan;
mod storage;
mod uring;

#[cfg(test)]
mod tests_crash;
#[cfg(test)]
mod tests_log;

pub use check::{CheckReport, Finding, FindingKind, ShardCheck, check_log, check_log_dir};
pub use error::LogError;
pub use log::{Log, LogStats};
pub use manifest::{MANIFEST_FILE, segment_file_name};
pub use mem::{Fault, MemStorage, TornWrites};
pub use reader::SegmentSummary;
pub use record::{
    CommandDecodeError, MAX_RECORD_PAYLOAD_BYTES, SegmentKind, decode_command,
    decode_command_bytes, encode_command,
};
pub use recover::{Cut, LogOptions, Recovery, RecoveryReport};
pub use rewrite::{RewriteBase, RewriteReport};
pub use storage::{StdStorage, Storage};
pub use uring::UringStorage;

/// A log position: record bytes appended through a [`Log`] since it was opened.
pub type Lsn = u64;

/// The directory of shard `shard_id` under the data directory (`--dir`).
pub fn shard_dir(data_dir: &std::path::Path, shard_id: u32) -> std::path::PathBuf {
    data_dir.join(format!("shard-{shard_id}"))
}

//! [`Log`]: one shard's append-only log after recovery: append, flush, sync, rotate. Rewrites
//! are in `rewrite.rs`; opening is [`super::Recovery`].
//!
//! # Positions
//! An [`Lsn`] counts record bytes (frame headers included) appended through this `Log` since
//! it was opened; it never goes back, across rotations and rewrites alike. `append` returns the
//! position just after its record; a record is durable once [`Log::durable_lsn`] reaches it.
//! Three positions only move forward: `durable <= written <= appended`.
//!
//! # Concurrency (one executor, several tasks)
//! `append` is synchronous and only touches the in-memory buffer, so a shard op can call it
//! without awaiting. Everything that touches a file takes the [`IoLock`] first, and takes the
//! active file out of the state for the duration of its I/O, so no `RefCell` borrow is ever
//! held across an `.await`. Records appended while a write or sync is in flight wait in the
//! buffer for the next one: that is group commit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::mem;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::iolock::IoLock;
use super::manifest::{Manifest, SegmentRef, segment_path, store_manifest};
use super::record::{
    RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SegmentHeader, SegmentKind, check_payload_len,
    command_payload_len, encode_command_into, encode_record_into, record_crc,
};
use super::rewrite::RewriteState;
use super::storage::Storage;
use super::{LogError, Lsn};
use crate::util::Rng;

/// A spare append buffer larger than this is freed after a write instead of reused, so one
/// burst of huge records does not pin memory forever.
const MAX_SPARE_BUFFER_BYTES: usize = 16 << 20;

/// The segment new records are written to.
pub(crate) struct Active<F> {
    pub seg: SegmentRef,
    pub path: PathBuf,
    /// `None` only while an operation holding the I/O lock is using it.
    pub file: Option<F>,
    pub written_bytes: u64,
    pub durable_bytes: u64,
}

pub(crate) struct Poison {
    pub durable_lsn: Lsn,
    pub cause: String,
}

/// A rotation between its first poll and the moment the new segment is installed.
pub(crate) struct Switch {
    /// Records up to here belong to the old segment; later ones to the new one.
    pub at: Lsn,
}

pub(crate) struct State<F> {
    pub manifest: Manifest,
    /// Bytes of each segment named by the manifest other than the active one.
    pub sizes: BTreeMap<u64, u64>,
    pub active: Active<F>,
    /// Seed of the segment the next appended record will be written to.
    pub frame_seed: u64,
    /// Framed records in `(written, appended]`.
    pub pending: Vec<u8>,
    pub spare: Vec<u8>,
    pub appended: Lsn,
    pub written: Lsn,
    pub durable: Lsn,
    pub switch: Option<Switch>,
    pub poison: Option<Poison>,
    pub rewrite: Option<RewriteState>,
    pub next_id: u64,
    pub rng: Rng,
}

/// Counters for INFO and for deciding when to rewrite.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    pub appended_lsn: Lsn,
    pub written_lsn: Lsn,
    pub durable_lsn: Lsn,
    pub pending_bytes: usize,
    pub segments: usize,
    pub base_bytes: u64,
    /// Bytes of the incremental segments, the active one included.
    pub incr_bytes: u64,
    pub poisoned: bool,
    pub rewrite_in_progress: bool,
}

/// One shard's log. See the module docs of [`super`] for the contract.
pub struct Log<S: Storage> {
    pub(crate) storage: Rc<S>,
    pub(crate) dir: PathBuf,
    pub(crate) shard_id: u32,
    pub(crate) io: IoLock,
    pub(crate) st: RefCell<State<S::File>>,
}

impl<S: Storage> Log<S> {
    pub(crate) fn from_state(
        storage: Rc<S>,
        dir: PathBuf,
        shard_id: u32,
        st: State<S::File>,
    ) -> Log<S> {
        Log {
            storage,
            dir,
            shard_id,
            io: IoLock::default(),
            st: RefCell::new(st),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn shard_id(&self) -> u32 {
        self.shard_id
    }

    /// Buffers one record; returns its end position. Never awaits and never does I/O.
    /// Fails if the payload is empty or too large, or if the log is poisoned (check
    /// [`Log::is_poisoned`] before executing a write command, as Redis checks for MISCONF).
    pub fn append(&self, payload: &[u8]) -> Result<Lsn, LogError> {
        check_payload_len(payload.len())?;
        let mut st = self.st.borrow_mut();
        check_poison(&st)?;
        let seed = st.frame_seed;
        encode_record_into(&mut st.pending, seed, payload);
        st.appended += (RECORD_HEADER_BYTES + payload.len()) as u64;
        Ok(st.appended)
    }

    /// [`Log::append`] of `encode_command(db, args)`, framed in place without a temporary.
    pub fn append_command<A: AsRef<[u8]>>(&self, db: u16, args: &[A]) -> Result<Lsn, LogError> {
        let len = command_payload_len(args);
        check_payload_len(len)?;
        let mut st = self.st.borrow_mut();
        check_poison(&st)?;
        let seed = st.frame_seed;
        let start = st.pending.len();
        st.pending.reserve(RECORD_HEADER_BYTES + len);
        st.pending.extend_from_slice(&(len as u32).to_le_bytes());
        st.pending.extend_from_slice(&[0; 4]);
        encode_command_into(&mut st.pending, db, args);
        let crc = record_crc(seed, &st.pending[start + RECORD_HEADER_BYTES..]);
        st.pending[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        st.appended += (RECORD_HEADER_BYTES + len) as u64;
        Ok(st.appended)
    }

    /// Writes buffered records to the active segment without fdatasync (appendfsync
    /// no/everysec between syncs). Returns the written position.
    pub async fn flush(&self) -> Result<Lsn, LogError> {
        let _io = self.io.lock().await;
        self.write_locked(false).await
    }

    /// Writes buffered records and fdatasyncs the active segment. Returns the durable position:
    /// every record whose LSN is at most this is durable. Records appended while this waits
    /// on the disk are left for the next call. A failure poisons the log (see the module docs).
    pub async fn sync(&self) -> Result<Lsn, LogError> {
        let _io = self.io.lock().await;
        self.write_locked(true).await
    }

    /// Seals the active segment and starts a new incremental one. Records appended before
    /// the first poll of this future go to the old segment, later ones to the new one.
    pub async fn rotate(&self) -> Result<(), LogError> {
        let next = self.begin_switch()?;
        let _io = self.io.lock().await;
        self.switch_locked(next).await
    }

    /// Syncs and closes the active segment.
    pub async fn close(self) -> Result<Lsn, LogError> {
        let durable = self.sync().await?;
        let file = self.st.borrow_mut().active.file.take();
        if let Some(f) = file {
            let path = self.st.borrow().active.path.clone();
            self.storage
                .close(f)
                .await
                .map_err(|e| LogError::io("close", path, e))?;
        }
        Ok(durable)
    }

    pub fn appended_lsn(&self) -> Lsn {
        self.st.borrow().appended
    }

    pub fn durable_lsn(&self) -> Lsn {
        self.st.borrow().durable
    }

    pub fn pending_bytes(&self) -> usize {
        self.st.borrow().pending.len()
    }

    /// Whether appends are refused: a write failed and no rewrite has healed the log yet.
    pub fn is_poisoned(&self) -> bool {
        self.st.borrow().poison.is_some()
    }

    /// Why the log is poisoned (for the MISCONF-style error and INFO).
    pub fn poison_cause(&self) -> Option<String> {
        self.st.borrow().poison.as_ref().map(|p| p.cause.clone())
    }

    pub fn stats(&self) -> LogStats {
        let st = self.st.borrow();
        let mut s = LogStats {
            appended_lsn: st.appended,
            written_lsn: st.written,
            durable_lsn: st.durable,
            pending_bytes: st.pending.len(),
            segments: st.manifest.segments.len(),
            poisoned: st.poison.is_some(),
            rewrite_in_progress: st.rewrite.is_some(),
            ..LogStats::default()
        };
        for seg in &st.manifest.segments {
            let bytes = if seg.id == st.active.seg.id {
                st.active.written_bytes
            } else {
                st.sizes.get(&seg.id).copied().unwrap_or(0)
            };
            match seg.kind {
                SegmentKind::Base => s.base_bytes += bytes,
                SegmentKind::Incr => s.incr_bytes += bytes,
            }
        }
        s
    }

    /// Writes `(written, limit]` to the active file, then fdatasyncs if asked. The caller holds
    /// the I/O lock. `limit` is `appended`, or the switch point during a rotation.
    pub(crate) async fn write_locked(&self, fsync: bool) -> Result<Lsn, LogError> {
        let (bytes, end, mut file) = {
            let mut st = self.st.borrow_mut();
            check_poison(&st)?;
            let limit = st.switch.as_ref().map_or(st.appended, |s| s.at);
            let n = (limit - st.written) as usize;
            if n == 0 && (!fsync || st.durable == st.written) {
                return Ok(if fsync { st.durable } else { st.written });
            }
            let bytes = if n == st.pending.len() {
                let spare = mem::take(&mut st.spare);
                mem::replace(&mut st.pending, spare)
            } else {
                let rest = st.pending.split_off(n);
                mem::replace(&mut st.pending, rest)
            };
            let file = st
                .active
                .file
                .take()
                .expect("the I/O lock holder owns the file");
            (bytes, limit, file)
        };
        let mut result = Ok(());
        if !bytes.is_empty() {
            result = self.storage.write(&mut file, &bytes).await;
        }
        let wrote = result.is_ok();
        if wrote && fsync {
            result = self.storage.sync_data(&mut file).await;
        }
        let (path, truncate_to) = {
            let mut st = self.st.borrow_mut();
            st.active.file = Some(file);
            if wrote {
                st.written = end;
                st.active.written_bytes += bytes.len() as u64;
            }
            if result.is_ok() {
                if fsync {
                    st.durable = st.written;
                    st.active.durable_bytes = st.active.written_bytes;
                }
                if bytes.capacity() <= MAX_SPARE_BUFFER_BYTES {
                    st.spare = bytes;
                    st.spare.clear();
                }
                return Ok(if fsync { st.durable } else { st.written });
            }
            // After a failed write the file ends in some prefix of `bytes`; after a failed
            // fdatasync the kernel may have dropped the dirty pages: either way nothing past
            // the last durable (or, for a write, the last written) byte can be trusted.
            let to = if wrote {
                st.active.durable_bytes
            } else {
                st.active.written_bytes
            };
            (st.active.path.clone(), to)
        };
        let op = if wrote { "fdatasync" } else { "write" };
        let err = LogError::io(op, &path, result.expect_err("handled Ok above"));
        self.poison(&err, Some((&path, truncate_to))).await;
        Err(err)
    }

    /// Marks the log poisoned by `err`, drops the unwritten buffer, and tries once to truncate
    /// the segment to the last trustworthy byte (so a crash before healing finds no garbage).
    pub(crate) async fn poison(&self, err: &LogError, truncate: Option<(&Path, u64)>) {
        {
            let mut st = self.st.borrow_mut();
            if st.poison.is_none() {
                let durable_lsn = st.durable;
                st.poison = Some(Poison {
                    durable_lsn,
                    cause: err.to_string(),
                });
            }
            st.pending.clear();
            st.switch = None;
        }
        if let Some((path, len)) = truncate {
            let _ = self.storage.truncate(path, len).await;
        }
    }

    /// The synchronous first step of a rotation: pick the new segment and the switch point.
    pub(crate) fn begin_switch(&self) -> Result<SegmentRef, LogError> {
        let mut st = self.st.borrow_mut();
        check_poison(&st)?;
        if st.switch.is_some() {
            return Err(LogError::Busy {
                what: "a rotation is already in progress",
            });
        }
        let next = SegmentRef::open(st.next_id, SegmentKind::Incr, st.rng.next_u64());
        st.next_id += 1;
        st.switch = Some(Switch { at: st.appended });
        st.frame_seed = next.seed;
        Ok(next)
    }

    /// The rest of a rotation, under the I/O lock: seal the old segment (write and sync up to
    /// the switch point), create the new one, publish it in the manifest, install it.
    pub(crate) async fn switch_locked(&self, next: SegmentRef) -> Result<(), LogError> {
        self.write_locked(true).await?;
        let file = match create_segment(&*self.storage, &self.dir, self.shard_id, &next).await {
            Ok(f) => f,
            Err(e) => {
                self.poison(&e, None).await;
                return Err(e);
            }
        };
        let manifest = {
            let st = self.st.borrow();
            let mut m = st.manifest.clone();
            let (old_id, sealed) = (st.active.seg.id, st.active.written_bytes);
            if let Some(old) = m.segments.iter_mut().find(|s| s.id == old_id) {
                old.sealed_bytes = sealed; // complete and durable: written and synced above
            }
            m.segments.push(next);
            m.generation += 1;
            m.next_segment_id = st.next_id;
            m
        };
        if let Err(e) = store_manifest(&*self.storage, &self.dir, &manifest).await {
            self.poison(&e, None).await;
            let _ = self.storage.close(file).await;
            return Err(e);
        }
        let old = self.install(next, file, Some(manifest));
        if let Some(f) = old.file {
            // Already durable: a failed close cannot lose anything.
            let _ = self.storage.close(f).await;
        }
        Ok(())
    }

    /// Makes `seg` the active segment (and `manifest` the current one); returns the old one.
    pub(crate) fn install(
        &self,
        seg: SegmentRef,
        file: S::File,
        manifest: Option<Manifest>,
    ) -> Active<S::File> {
        let mut st = self.st.borrow_mut();
        let header = SEGMENT_HEADER_BYTES as u64;
        let new = Active {
            seg,
            path: segment_path(&self.dir, &seg),
            file: Some(file),
            written_bytes: header,
            durable_bytes: header,
        };
        let old = mem::replace(&mut st.active, new);
        st.sizes.insert(old.seg.id, old.written_bytes);
        if let Some(m) = manifest {
            st.manifest = m;
        }
        st.switch = None;
        st.frame_seed = seg.seed;
        let named: Vec<u64> = st.manifest.segments.iter().map(|s| s.id).collect();
        st.sizes.retain(|id, _| named.contains(id));
        old
    }
}

pub(crate) fn check_poison<F>(st: &State<F>) -> Result<(), LogError> {
    match &st.poison {
        Some(p) => Err(LogError::Poisoned {
            durable_lsn: p.durable_lsn,
            cause: p.cause.clone(),
        }),
        None => Ok(()),
    }
}

/// Creates a segment file and writes its header; fdatasyncs it when `sync` (a new incremental
/// segment must be complete before a manifest names it; a base is synced when finished).
pub(crate) async fn create_segment_file<S: Storage>(
    storage: &S,
    dir: &Path,
    shard_id: u32,
    seg: &SegmentRef,
    sync: bool,
) -> Result<S::File, LogError> {
    let path = segment_path(dir, seg);
    let mut f = storage
        .create(&path)
        .await
        .map_err(|e| LogError::io("create", &path, e))?;
    let header = SegmentHeader {
        kind: seg.kind,
        segment_id: seg.id,
        shard_id,
        seed: seg.seed,
    }
    .encode();
    let mut result = storage.write(&mut f, &header).await;
    if result.is_ok() && sync {
        result = storage.sync_data(&mut f).await;
    }
    match result {
        Ok(()) => Ok(f),
        Err(e) => {
            let _ = storage.close(f).await;
            Err(LogError::io("write segment header", &path, e))
        }
    }
}

/// A new, synced incremental segment.
pub(crate) async fn create_segment<S: Storage>(
    storage: &S,
    dir: &Path,
    shard_id: u32,
    seg: &SegmentRef,
) -> Result<S::File, LogError> {
    create_segment_file(storage, dir, shard_id, seg, true).await
}

//! Rewrites: replace the log by a base (the shard's state as commands) plus the segments
//! written since the rewrite started.
//!
//! # Protocol
//! 1. `start_rewrite` (first poll, synchronous): picks the new incremental segment and the
//!    switch point; every record appended before it is covered by the base the caller is about
//!    to write, so the caller must take its snapshot in the same synchronous stretch.
//! 2. Under the I/O lock: seal the old segment, create the new one, store manifest
//!    `[old..., new]`, install it (see `Log::rotate`). Create the base file with its header.
//! 3. The caller streams the snapshot into the [`RewriteBase`] (no lock: another file).
//! 4. `finish_rewrite`: write the rest of the base, fdatasync it, store manifest
//!    `[base, segments since the switch]`, and only then delete the old files.
//!
//! A crash before step 4's rename is durable finds the old manifest, which names complete,
//! durable files (the new base is an orphan, deleted at the next open); after it, the new
//! one. Old files are deleted only after the new manifest is durable.
//!
//! # Healing
//! A rewrite started while the log is poisoned heals it: the base covers every record, even
//! those whose write failed. It creates the new segment without naming it in the manifest
//! (so the poisoned segment stays last, where a damaged tail is a torn tail), appends stay
//! refused until it finishes, and `finish_rewrite` stores `[base, new]`, clears the poison and
//! declares everything appended so far durable.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

use super::LogError;
use super::log::{Log, create_segment, create_segment_file};
use super::manifest::{Manifest, SegmentRef, segment_path, store_manifest};
use super::record::{
    RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SegmentKind, check_payload_len, encode_command,
    encode_record_into,
};
use super::storage::Storage;

/// The base buffers this much before writing.
const BASE_WRITE_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct RewriteState {
    base: SegmentRef,
    /// The first incremental segment the new manifest keeps.
    first_kept: SegmentRef,
    heals: bool,
    /// False once the caller dropped the [`RewriteBase`] without finishing or aborting it.
    alive: Rc<Cell<bool>>,
}

/// What a finished rewrite did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteReport {
    pub base_records: u64,
    pub base_bytes: u64,
    /// Old segment files deleted (best effort: one that could not be is deleted at next open).
    pub removed_segments: usize,
    /// The rewrite healed a poisoned log.
    pub healed: bool,
}

/// The base file of a rewrite in progress. Finish it with [`Log::finish_rewrite`] or drop it
/// with [`Log::abort_rewrite`]; merely dropping it aborts too, but leaves the file behind until
/// the next rewrite or open.
pub struct RewriteBase<S: Storage> {
    storage: Rc<S>,
    seg: SegmentRef,
    path: PathBuf,
    file: Option<S::File>,
    buf: Vec<u8>,
    bytes: u64,
    records: u64,
    failed: bool,
    alive: Rc<Cell<bool>>,
}

impl<S: Storage> Drop for RewriteBase<S> {
    fn drop(&mut self) {
        self.alive.set(false);
    }
}

impl<S: Storage> RewriteBase<S> {
    /// Adds one record to the base.
    pub async fn append(&mut self, payload: &[u8]) -> Result<(), LogError> {
        check_payload_len(payload.len())?;
        if self.failed {
            return Err(LogError::io(
                "write",
                &self.path,
                std::io::Error::other("an earlier write to this base failed"),
            ));
        }
        encode_record_into(&mut self.buf, self.seg.seed, payload);
        self.bytes += (RECORD_HEADER_BYTES + payload.len()) as u64;
        self.records += 1;
        if self.buf.len() >= BASE_WRITE_BYTES {
            self.write_buf().await?;
        }
        Ok(())
    }

    /// Adds `encode_command(db, args)` to the base.
    pub async fn append_command<A: AsRef<[u8]>>(
        &mut self,
        db: u16,
        args: &[A],
    ) -> Result<(), LogError> {
        check_payload_len(super::record::command_payload_len(args))?;
        self.append(&encode_command(db, args)).await
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes of the base file so far, header included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    async fn write_buf(&mut self) -> Result<(), LogError> {
        let file = self.file.as_mut().expect("open until sealed");
        if let Err(e) = self.storage.write(file, &self.buf).await {
            self.failed = true;
            return Err(LogError::io("write", &self.path, e));
        }
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest, fdatasyncs and closes the base.
    async fn seal(&mut self) -> Result<(), LogError> {
        if self.failed {
            return Err(LogError::io(
                "write",
                &self.path,
                std::io::Error::other("an earlier write to this base failed"),
            ));
        }
        if !self.buf.is_empty() {
            self.write_buf().await?;
        }
        let mut file = self.file.take().expect("sealed once");
        let synced = self.storage.sync_data(&mut file).await;
        let closed = self.storage.close(file).await;
        synced
            .and(closed)
            .map_err(|e| LogError::io("fdatasync", &self.path, e))
    }

    /// Closes (if open) and deletes the base file, ignoring errors: it is an orphan either way.
    async fn discard(mut self) {
        if let Some(f) = self.file.take() {
            let _ = self.storage.close(f).await;
        }
        let _ = self.storage.remove(&self.path).await;
    }
}

enum Plan {
    Normal { base: SegmentRef, next: SegmentRef },
    Heal { base: SegmentRef, next: SegmentRef },
}

impl<S: Storage> Log<S> {
    /// Starts a rewrite (see the module docs): new writes go to a fresh incremental segment
    /// and the returned handle writes the new base. Take the snapshot the base will hold in the
    /// same synchronous stretch as the first poll of this future.
    pub async fn start_rewrite(&self) -> Result<RewriteBase<S>, LogError> {
        let (plan, stale) = self.plan_rewrite()?;
        if let Some(stale) = stale {
            let _ = self.storage.remove(&stale).await;
        }
        let _io = self.io.lock().await;
        let (base, next, heals) = match plan {
            Plan::Normal { base, next } => {
                self.switch_locked(next).await?;
                (base, next, false)
            }
            Plan::Heal { base, next } => {
                self.start_healing_segment(next).await?;
                (base, next, true)
            }
        };
        let file = create_segment_file(&*self.storage, &self.dir, self.shard_id, &base, false)
            .await
            .inspect_err(|_| self.st.borrow_mut().rewrite = None)?;
        let alive = Rc::new(Cell::new(true));
        self.st.borrow_mut().rewrite = Some(RewriteState {
            base,
            first_kept: next,
            heals,
            alive: alive.clone(),
        });
        Ok(RewriteBase {
            storage: self.storage.clone(),
            seg: base,
            path: segment_path(&self.dir, &base),
            file: Some(file),
            buf: Vec::new(),
            bytes: SEGMENT_HEADER_BYTES as u64,
            records: 0,
            failed: false,
            alive,
        })
    }

    /// Completes a rewrite: the base becomes durable, the manifest becomes
    /// `[base, segments since the switch]` and the old files are deleted. On error the old
    /// manifest stays in force (a failed manifest store also poisons the log, since the
    /// directory is then in an unknown state).
    pub async fn finish_rewrite(
        &self,
        mut base: RewriteBase<S>,
    ) -> Result<RewriteReport, LogError> {
        let _io = self.io.lock().await;
        let rw = self.current_rewrite(&base)?;
        let poisoned = self.st.borrow().poison.is_some();
        if poisoned && !rw.heals {
            // The base does not cover the records whose write failed: it cannot heal.
            self.st.borrow_mut().rewrite = None;
            let err = super::log::check_poison(&self.st.borrow()).expect_err("poisoned");
            base.discard().await;
            return Err(err);
        }
        if let Err(e) = base.seal().await {
            self.st.borrow_mut().rewrite = None;
            base.discard().await;
            return Err(e);
        }
        let manifest = self.rewritten_manifest(&rw, base.bytes);
        if let Err(e) = store_manifest(&*self.storage, &self.dir, &manifest).await {
            // The rename may or may not have happened: keep the base file (it may be named).
            self.st.borrow_mut().rewrite = None;
            self.poison(&e, None).await;
            return Err(e);
        }
        let obsolete = self.install_rewritten(manifest, &rw, base.bytes);
        for seg in &obsolete {
            let _ = self.storage.remove(&segment_path(&self.dir, seg)).await;
        }
        let _ = self.storage.sync_dir(&self.dir).await;
        Ok(RewriteReport {
            base_records: base.records,
            base_bytes: base.bytes,
            removed_segments: obsolete.len(),
            healed: rw.heals,
        })
    }

    /// Abandons a rewrite and deletes its base. Records keep going to the current segments.
    pub async fn abort_rewrite(&self, base: RewriteBase<S>) {
        {
            let mut st = self.st.borrow_mut();
            if st
                .rewrite
                .as_ref()
                .is_some_and(|r| r.base.id == base.seg.id)
            {
                st.rewrite = None;
            }
        }
        base.discard().await;
    }

    /// The synchronous part of `start_rewrite`: pick ids (and the switch point, via
    /// `begin_switch`). Returns the base file of an abandoned rewrite to delete, if any.
    fn plan_rewrite(&self) -> Result<(Plan, Option<PathBuf>), LogError> {
        let mut stale = None;
        {
            let mut st = self.st.borrow_mut();
            if let Some(rw) = &st.rewrite {
                if rw.alive.get() {
                    return Err(LogError::Busy {
                        what: "a rewrite is already in progress",
                    });
                }
                stale = Some(segment_path(&self.dir, &rw.base));
                st.rewrite = None;
            }
        }
        let base = self.allocate(SegmentKind::Base);
        let plan = if self.st.borrow().poison.is_some() {
            Plan::Heal {
                base,
                next: self.allocate(SegmentKind::Incr),
            }
        } else {
            Plan::Normal {
                base,
                next: self.begin_switch()?,
            }
        };
        Ok((plan, stale))
    }

    fn allocate(&self, kind: SegmentKind) -> SegmentRef {
        let mut st = self.st.borrow_mut();
        let seg = SegmentRef::open(st.next_id, kind, st.rng.next_u64());
        st.next_id += 1;
        seg
    }

    /// Healing: a fresh segment becomes active but is not named in the manifest until the
    /// rewrite finishes. A segment from an earlier failed healing attempt is deleted.
    async fn start_healing_segment(&self, next: SegmentRef) -> Result<(), LogError> {
        let file = create_segment(&*self.storage, &self.dir, self.shard_id, &next).await?;
        let old = self.install(next, file, None);
        if let Some(f) = old.file {
            let _ = self.storage.close(f).await;
        }
        let named = self
            .st
            .borrow()
            .manifest
            .segments
            .iter()
            .any(|s| s.id == old.seg.id);
        if !named {
            let _ = self.storage.remove(&old.path).await;
        }
        Ok(())
    }

    fn current_rewrite(&self, base: &RewriteBase<S>) -> Result<RewriteState, LogError> {
        match &self.st.borrow().rewrite {
            Some(rw) if rw.base.id == base.seg.id => Ok(rw.clone()),
            _ => Err(LogError::Busy {
                what: "this rewrite is not the one in progress",
            }),
        }
    }

    fn rewritten_manifest(&self, rw: &RewriteState, base_bytes: u64) -> Manifest {
        let st = self.st.borrow();
        let mut base = rw.base;
        base.sealed_bytes = base_bytes;
        let mut segments = vec![base];
        if rw.heals {
            segments.push(st.active.seg);
        } else {
            let from = st
                .manifest
                .segments
                .iter()
                .position(|s| s.id == rw.first_kept.id);
            let from = from.expect("segments since the switch stay named until the rewrite ends");
            segments.extend_from_slice(&st.manifest.segments[from..]);
        }
        Manifest {
            shard_id: self.shard_id,
            generation: st.manifest.generation + 1,
            next_segment_id: st.next_id,
            segments,
        }
    }

    /// Makes the rewritten manifest current; returns the segments it no longer names.
    fn install_rewritten(
        &self,
        manifest: Manifest,
        rw: &RewriteState,
        base_bytes: u64,
    ) -> Vec<SegmentRef> {
        let mut st = self.st.borrow_mut();
        let obsolete: Vec<SegmentRef> = st
            .manifest
            .segments
            .iter()
            .filter(|s| !manifest.segments.iter().any(|m| m.id == s.id))
            .copied()
            .collect();
        st.manifest = manifest;
        st.sizes.insert(rw.base.id, base_bytes);
        for seg in &obsolete {
            st.sizes.remove(&seg.id);
        }
        st.rewrite = None;
        if rw.heals {
            debug_assert!(st.pending.is_empty(), "appends are refused while poisoned");
            st.poison = None;
            st.written = st.appended;
            st.durable = st.appended;
        }
        obsolete
    }
}

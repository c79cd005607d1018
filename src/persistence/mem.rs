//! [`MemStorage`]: an in-memory [`Storage`] that models what a crash keeps, with fault
//! injection. Tests run the real log against it and check the result against a model.
//!
//! # The durability model
//! - A file (an inode) has *written* bytes and *durable* bytes; `sync_data` copies written to
//!   durable. At [`MemStorage::crash`] a file keeps its durable bytes plus, depending on
//!   [`TornWrites`], nothing, a random prefix of the unsynced bytes, or that many zeros (a
//!   filesystem that extended the size but never wrote the data).
//! - Names are separate from inodes. `create`, `rename` and `remove` change the visible
//!   namespace at once but are durable only after `sync_dir` of the directory; at a crash a
//!   random prefix of the un-synced directory operations survives (in order, like a journal),
//!   or none with [`TornWrites::Drop`]. An inode no durable name points to is gone.
//! - `truncate` is durable at once (its contract). Directories themselves are durable at once
//!   (a simplification: the log never depends on a new directory surviving without data).
//!
//! # Fault injection
//! Every trait call is one numbered operation ([`MemStorage::op_count`]).
//! [`MemStorage::fail_op`] fails one chosen operation with EIO or ENOSPC (a failed write may
//! leave a random prefix, as a real one can); [`MemStorage::crash_after`] makes the process
//! "die" at an operation: it and every later one fail until [`MemStorage::crash`];
//! [`MemStorage::set_disk_full`] fails every write with ENOSPC until cleared.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::storage::Storage;
use crate::util::Rng;

/// What a crash keeps of bytes written but not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TornWrites {
    /// Unsynced bytes and unsynced directory operations all vanish.
    Drop,
    /// A random prefix of each survives.
    Prefix,
    /// Like `Prefix`, but a surviving unsynced file tail may read back as zeros instead.
    PrefixOrZeros,
}

/// An injected error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Eio,
    Enospc,
}

impl Fault {
    fn error(self) -> io::Error {
        match self {
            Fault::Eio => io::Error::from_raw_os_error(libc::EIO),
            Fault::Enospc => io::Error::from_raw_os_error(libc::ENOSPC),
        }
    }
}

#[derive(Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

enum DirOp {
    Link(PathBuf, u64),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf, u64),
}

impl DirOp {
    fn dir(&self) -> Option<&Path> {
        match self {
            DirOp::Link(p, _) | DirOp::Unlink(p) | DirOp::Rename(_, p, _) => p.parent(),
        }
    }

    fn apply(&self, names: &mut BTreeMap<PathBuf, u64>) {
        match self {
            DirOp::Link(p, ino) => {
                names.insert(p.clone(), *ino);
            }
            DirOp::Unlink(p) => {
                names.remove(p);
            }
            DirOp::Rename(from, to, ino) => {
                names.remove(from);
                names.insert(to.clone(), *ino);
            }
        }
    }
}

struct State {
    rng: Rng,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    pending: Vec<DirOp>,
    ops: u64,
    faults: BTreeMap<u64, Fault>,
    crash_at: Option<u64>,
    crashed: bool,
    disk_full: bool,
    torn: TornWrites,
    yield_each_op: bool,
}

/// An in-memory filesystem with a crash model; cheap to clone (clones share the files).
#[derive(Clone)]
pub struct MemStorage(Rc<RefCell<State>>);

/// A file open for appending.
pub struct MemFile {
    inode: u64,
}

/// A file open for reading.
pub struct MemReader {
    inode: u64,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: not found", path.display()),
    )
}

impl MemStorage {
    /// An empty filesystem; `seed` drives every random choice (torn prefixes, partial writes).
    pub fn new(seed: u64) -> MemStorage {
        MemStorage(Rc::new(RefCell::new(State {
            rng: Rng::new(seed),
            inodes: BTreeMap::new(),
            next_inode: 1,
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            dirs: BTreeSet::from([PathBuf::from("/")]),
            pending: Vec::new(),
            ops: 0,
            faults: BTreeMap::new(),
            crash_at: None,
            crashed: false,
            disk_full: false,
            torn: TornWrites::Prefix,
            yield_each_op: false,
        })))
    }

    pub fn set_torn_writes(&self, torn: TornWrites) {
        self.0.borrow_mut().torn = torn;
    }

    /// Operations performed so far (every trait call counts one, failed ones included).
    pub fn op_count(&self) -> u64 {
        self.0.borrow().ops
    }

    /// Fails the operation `k` operations from now (0 = the next one) with `fault`.
    pub fn fail_op(&self, k: u64, fault: Fault) {
        let mut st = self.0.borrow_mut();
        let at = st.ops + k;
        st.faults.insert(at, fault);
    }

    /// The process dies at the operation `k` operations from now: it and every later operation
    /// fail with EIO until [`MemStorage::crash`].
    pub fn crash_after(&self, k: u64) {
        let mut st = self.0.borrow_mut();
        st.crash_at = Some(st.ops + k);
    }

    /// Whether an armed crash has happened (operations are failing).
    pub fn is_crashed(&self) -> bool {
        self.0.borrow().crashed
    }

    /// While set, every write fails with ENOSPC after writing a random prefix.
    pub fn set_disk_full(&self, full: bool) {
        self.0.borrow_mut().disk_full = full;
    }

    /// Makes every operation yield to the executor once, so tests can interleave tasks.
    pub fn set_yield_each_op(&self, on: bool) {
        self.0.borrow_mut().yield_each_op = on;
    }

    /// Simulates power loss and reboot: keeps durable state plus what [`TornWrites`] allows,
    /// then clears armed faults so the next "process" can run.
    pub fn crash(&self) {
        let mut guard = self.0.borrow_mut();
        let st = &mut *guard;
        let keep_ops = match st.torn {
            TornWrites::Drop => 0,
            _ => (st.rng.next_u64() % (st.pending.len() as u64 + 1)) as usize,
        };
        for op in st.pending.drain(..).take(keep_ops) {
            op.apply(&mut st.durable_names);
        }
        st.names = st.durable_names.clone();
        let live: BTreeSet<u64> = st.names.values().copied().collect();
        st.inodes.retain(|ino, _| live.contains(ino));
        for inode in st.inodes.values_mut() {
            let mut kept = inode.durable.clone();
            let dl = kept.len();
            if inode.data.len() > dl && inode.data.starts_with(&inode.durable) {
                let extra = (st.rng.next_u64() % (inode.data.len() - dl + 1) as u64) as usize;
                match st.torn {
                    TornWrites::Drop => {}
                    TornWrites::Prefix => kept.extend_from_slice(&inode.data[dl..dl + extra]),
                    TornWrites::PrefixOrZeros => {
                        if st.rng.next_u64().is_multiple_of(2) {
                            kept.resize(dl + extra, 0);
                        } else {
                            kept.extend_from_slice(&inode.data[dl..dl + extra]);
                        }
                    }
                }
            }
            inode.data = kept.clone();
            inode.durable = kept;
        }
        st.faults.clear();
        st.crash_at = None;
        st.crashed = false;
        st.disk_full = false;
    }

    /// The visible contents of `path`, if it exists.
    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let st = self.0.borrow();
        let ino = st.names.get(path)?;
        Some(st.inodes[ino].data.clone())
    }

    /// Replaces the contents of an existing file, durably (tests use it to corrupt files).
    pub fn overwrite(&self, path: &Path, bytes: &[u8]) {
        let mut st = self.0.borrow_mut();
        let ino = *st.names.get(path).expect("overwrite: file exists");
        let inode = st.inodes.get_mut(&ino).expect("inode exists");
        inode.data = bytes.to_vec();
        inode.durable = bytes.to_vec();
    }

    /// Every visible file path.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.0.borrow().names.keys().cloned().collect()
    }

    /// Counts one operation and decides whether it fails. `writes` marks operations that need
    /// free space (they fail while the disk is full).
    async fn begin(&self, writes: bool) -> io::Result<()> {
        if self.0.borrow().yield_each_op {
            YieldOnce(false).await;
        }
        let mut st = self.0.borrow_mut();
        let op = st.ops;
        st.ops += 1;
        if st.crash_at.is_some_and(|at| op >= at) {
            st.crashed = true;
        }
        if st.crashed {
            return Err(io::Error::other("simulated crash"));
        }
        if let Some(fault) = st.faults.remove(&op) {
            return Err(fault.error());
        }
        if writes && st.disk_full {
            return Err(Fault::Enospc.error());
        }
        Ok(())
    }

    fn inode_of(&self, path: &Path) -> io::Result<u64> {
        self.0
            .borrow()
            .names
            .get(path)
            .copied()
            .ok_or_else(|| not_found(path))
    }
}

impl Storage for MemStorage {
    type File = MemFile;
    type Reader = MemReader;

    async fn create(&self, path: &Path) -> io::Result<MemFile> {
        self.begin(false).await?;
        let mut st = self.0.borrow_mut();
        let parent = path.parent().unwrap_or(Path::new("/"));
        if !st.dirs.contains(parent) {
            return Err(not_found(parent));
        }
        let ino = st.next_inode;
        st.next_inode += 1;
        st.inodes.insert(ino, Inode::default());
        st.names.insert(path.to_path_buf(), ino);
        st.pending.push(DirOp::Link(path.to_path_buf(), ino));
        Ok(MemFile { inode: ino })
    }

    async fn write(&self, f: &mut MemFile, bytes: &[u8]) -> io::Result<()> {
        let result = self.begin(true).await;
        let mut st = self.0.borrow_mut();
        if let Err(e) = result {
            // A failed write may still have written part of the data (not after a crash: the
            // process is gone, and the crash model decides what the disk keeps).
            if !st.crashed && !bytes.is_empty() {
                let n = (st.rng.next_u64() % bytes.len() as u64) as usize;
                if let Some(inode) = st.inodes.get_mut(&f.inode) {
                    inode.data.extend_from_slice(&bytes[..n]);
                }
            }
            return Err(e);
        }
        if let Some(inode) = st.inodes.get_mut(&f.inode) {
            inode.data.extend_from_slice(bytes);
        }
        Ok(())
    }

    async fn sync_data(&self, f: &mut MemFile) -> io::Result<()> {
        self.begin(false).await?;
        let mut st = self.0.borrow_mut();
        if let Some(inode) = st.inodes.get_mut(&f.inode) {
            inode.durable = inode.data.clone();
        }
        Ok(())
    }

    async fn close(&self, _f: MemFile) -> io::Result<()> {
        self.begin(false).await
    }

    async fn open_read(&self, path: &Path) -> io::Result<(MemReader, u64)> {
        self.begin(false).await?;
        let ino = self.inode_of(path)?;
        let len = self.0.borrow().inodes[&ino].data.len() as u64;
        Ok((MemReader { inode: ino }, len))
    }

    async fn read_at(&self, r: &MemReader, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        self.begin(false).await?;
        let st = self.0.borrow();
        let data = st.inodes.get(&r.inode).map_or(&[][..], |i| &i.data[..]);
        let start = (pos.min(data.len() as u64)) as usize;
        let end = start + len.min(data.len() - start);
        Ok(data[start..end].to_vec())
    }

    async fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.begin(false).await?;
        let ino = self.inode_of(path)?;
        let mut st = self.0.borrow_mut();
        let inode = st.inodes.get_mut(&ino).expect("named inode exists");
        inode.data.resize(len as usize, 0);
        inode.durable.resize(len as usize, 0);
        Ok(())
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.begin(false).await?;
        let ino = self.inode_of(from)?;
        let mut st = self.0.borrow_mut();
        st.names.remove(from);
        st.names.insert(to.to_path_buf(), ino);
        st.pending
            .push(DirOp::Rename(from.to_path_buf(), to.to_path_buf(), ino));
        Ok(())
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        self.begin(false).await?;
        self.inode_of(path)?;
        let mut st = self.0.borrow_mut();
        st.names.remove(path);
        st.pending.push(DirOp::Unlink(path.to_path_buf()));
        Ok(())
    }

    async fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.begin(false).await?;
        let st = self.0.borrow();
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let files = st.names.keys().filter(|p| p.parent() == Some(dir));
        let dirs = st.dirs.iter().filter(|p| p.parent() == Some(dir));
        let mut out: Vec<PathBuf> = files.chain(dirs).cloned().collect();
        out.sort();
        Ok(out)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.begin(false).await?;
        let mut guard = self.0.borrow_mut();
        let st = &mut *guard;
        let mut rest = Vec::new();
        for op in st.pending.drain(..) {
            if op.dir() == Some(dir) {
                op.apply(&mut st.durable_names);
            } else {
                rest.push(op);
            }
        }
        st.pending = rest;
        Ok(())
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.begin(false).await?;
        let mut st = self.0.borrow_mut();
        for d in dir.ancestors() {
            st.dirs.insert(d.to_path_buf());
        }
        Ok(())
    }
}

/// Returns Pending once (waking itself), then Ready: lets other tasks run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn crash_keeps_synced_data_and_synced_names_only() {
        let m = MemStorage::new(1);
        m.set_torn_writes(TornWrites::Drop);
        block_on(async {
            m.create_dir_all(&p("/d")).await.unwrap();
            let mut a = m.create(&p("/d/a")).await.unwrap();
            m.write(&mut a, b"durable").await.unwrap();
            m.sync_data(&mut a).await.unwrap();
            m.sync_dir(&p("/d")).await.unwrap();
            m.write(&mut a, b" lost").await.unwrap();
            let mut b = m.create(&p("/d/b")).await.unwrap();
            m.write(&mut b, b"x").await.unwrap();
            m.sync_data(&mut b).await.unwrap(); // data synced, name not
            m.rename(&p("/d/a"), &p("/d/c")).await.unwrap();
        });
        m.crash();
        assert_eq!(m.paths(), vec![p("/d/a")]);
        assert_eq!(m.read(&p("/d/a")).unwrap(), b"durable");
    }

    #[test]
    fn torn_prefix_keeps_a_prefix_of_unsynced_bytes() {
        for seed in 0..50 {
            let m = MemStorage::new(seed);
            m.set_torn_writes(TornWrites::PrefixOrZeros);
            block_on(async {
                m.create_dir_all(&p("/d")).await.unwrap();
                let mut a = m.create(&p("/d/a")).await.unwrap();
                m.write(&mut a, b"sync").await.unwrap();
                m.sync_data(&mut a).await.unwrap();
                m.sync_dir(&p("/d")).await.unwrap();
                m.write(&mut a, b"unsynced").await.unwrap();
            });
            m.crash();
            let got = m.read(&p("/d/a")).unwrap();
            assert!(got.starts_with(b"sync") && got.len() <= 12);
            let tail = &got[4..];
            assert!(b"unsynced".starts_with(tail) || tail.iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn injected_faults_crash_and_full_disk() {
        let m = MemStorage::new(2);
        block_on(async {
            m.create_dir_all(&p("/d")).await.unwrap();
            let mut a = m.create(&p("/d/a")).await.unwrap();
            m.fail_op(1, Fault::Eio);
            m.write(&mut a, b"ok").await.unwrap();
            let e = m.sync_data(&mut a).await.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EIO));
            m.set_disk_full(true);
            let e = m.write(&mut a, b"more").await.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
            m.set_disk_full(false);
            m.crash_after(1);
            m.sync_data(&mut a).await.unwrap();
            assert!(m.write(&mut a, b"x").await.is_err());
            assert!(m.is_crashed());
            assert!(m.list(&p("/d")).await.is_err());
        });
        m.crash();
        assert!(!m.is_crashed());
    }
}

//! The narrow I/O trait the log is written against, and [`StdStorage`], its blocking std::fs
//! implementation (for `check-log` and tests on real directories).
//!
//! Tests use [`super::MemStorage`], which models what survives a crash; the server will use a
//! glommio DMA implementation. Keeping the trait this small is what makes both possible.
//!
//! # Contract an implementation must keep
//! - Everything is single-threaded: no `Send` bounds, futures may hold `Rc`s.
//! - `write` appends all bytes at the file's end or fails. After a failed write the file may
//!   hold any prefix of those bytes (the log poisons itself and never writes there again).
//! - `sync_data` returns only once every byte written to that file before the call is durable
//!   (fdatasync). After a crash, bytes written after the last successful `sync_data` may be
//!   lost, kept in part (a prefix), or read back as **zeros**; they must never read back as
//!   other garbage. (A DMA writer that pads the last block must pad with zeros.)
//! - `truncate` is durable when it returns (ftruncate + fsync): recovery truncates a torn tail
//!   and then writes a manifest naming a newer segment, and the tail must not come back.
//! - `create`, `rename` and `remove` are durable only after `sync_dir` of the directory; until
//!   then a crash may undo any suffix of them (in order).
//!
//! # Design choices
//! - **Streaming reads** (`open_read` + `read_at`) instead of `read_all`: a log can be many
//!   gigabytes and recovery must not hold it in memory. Recovery reads in 1 MiB chunks and
//!   holds at most one chunk plus the largest record.
//! - **No `open_append`**: the log never appends to a file it did not create in this process.
//!   Recovery always starts a fresh segment, so a DMA implementation never has to
//!   read-modify-write an unaligned last block, and a file that saw a failed write is never
//!   written again.
//! - **`close`** exists because a glommio `DmaStreamWriter` must be closed asynchronously (it
//!   flushes and truncates its padding); std's implementation just drops the file.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Durable file operations, as the log needs them. See the module docs for the contract.
#[allow(async_fn_in_trait)]
pub trait Storage {
    /// A file open for appending (created by [`Storage::create`]).
    type File;
    /// A file open for positional reads.
    type Reader;

    /// Creates `path` (truncating any existing file) for appending.
    async fn create(&self, path: &Path) -> io::Result<Self::File>;
    /// Appends all of `bytes` at the end of the file.
    async fn write(&self, f: &mut Self::File, bytes: &[u8]) -> io::Result<()>;
    /// fdatasync: every byte written before the call is durable when it returns Ok.
    async fn sync_data(&self, f: &mut Self::File) -> io::Result<()>;
    /// Closes a file opened by `create`. Bytes not yet synced are not made durable by this.
    async fn close(&self, f: Self::File) -> io::Result<()>;
    /// Opens `path` for reading; returns the reader and the file's current length.
    async fn open_read(&self, path: &Path) -> io::Result<(Self::Reader, u64)>;
    /// Reads up to `len` bytes at `pos`: fewer only when the file ends first.
    async fn read_at(&self, r: &Self::Reader, pos: u64, len: usize) -> io::Result<Vec<u8>>;
    /// Durably truncates `path` to `len` bytes.
    async fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Atomically renames `from` over `to` (durable after `sync_dir`).
    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file (durable after `sync_dir`).
    async fn remove(&self, path: &Path) -> io::Result<()>;
    /// The entries (files and directories) directly inside `dir`, as full paths, sorted.
    async fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    async fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates a directory and its parents.
    async fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
}

/// [`Storage`] over blocking std::fs calls. Fine for tools and tests; on a glommio executor
/// it would stall the core, so the server uses a DMA implementation instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdStorage;

impl Storage for StdStorage {
    type File = fs::File;
    type Reader = fs::File;

    async fn create(&self, path: &Path) -> io::Result<fs::File> {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    async fn write(&self, f: &mut fs::File, bytes: &[u8]) -> io::Result<()> {
        f.write_all(bytes)
    }

    async fn sync_data(&self, f: &mut fs::File) -> io::Result<()> {
        f.sync_data()
    }

    async fn close(&self, f: fs::File) -> io::Result<()> {
        drop(f);
        Ok(())
    }

    async fn open_read(&self, path: &Path) -> io::Result<(fs::File, u64)> {
        let f = fs::File::open(path)?;
        let len = f.metadata()?.len();
        Ok((f, len))
    }

    async fn read_at(&self, r: &fs::File, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            match r.read_at(&mut buf[filled..], pos + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    async fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    async fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            out.push(entry?.path());
        }
        out.sort();
        Ok(out)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        fs::File::open(dir)?.sync_all()
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!(
                "corekv-{tag}-{}-{n}-{}",
                std::process::id(),
                crate::util::now_us()
            ));
            fs::create_dir_all(&p).expect("create temp dir");
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn std_storage_basic_operations() {
        let t = TempDir::new("std");
        let s = StdStorage;
        block_on(async {
            let p = t.0.join("a");
            let mut f = s.create(&p).await.unwrap();
            s.write(&mut f, b"hello ").await.unwrap();
            s.write(&mut f, b"world").await.unwrap();
            s.sync_data(&mut f).await.unwrap();
            s.close(f).await.unwrap();
            let (r, len) = s.open_read(&p).await.unwrap();
            assert_eq!(len, 11);
            assert_eq!(s.read_at(&r, 6, 100).await.unwrap(), b"world");
            s.truncate(&p, 5).await.unwrap();
            let q = t.0.join("b");
            s.rename(&p, &q).await.unwrap();
            s.sync_dir(&t.0).await.unwrap();
            assert_eq!(s.list(&t.0).await.unwrap(), vec![q.clone()]);
            let (r, len) = s.open_read(&q).await.unwrap();
            assert_eq!(
                (len, s.read_at(&r, 0, 5).await.unwrap()),
                (5, b"hello".to_vec())
            );
            s.remove(&q).await.unwrap();
            assert!(s.list(&t.0).await.unwrap().is_empty());
        });
    }
}

//! [`Storage`] for the running server, on a glommio executor.
//!
//! Log files are `BufferedFile`s (page cache, not O_DIRECT). Appends are a plain `pwrite(2)`
//! on the executor thread, as Redis's event loop does its `write(2)`: copying a batch into the
//! page cache takes a couple of microseconds, while the same write submitted through io_uring
//! is handed to an io-wq worker thread by the kernel (buffered writes may block) and costs
//! 30-110 µs of latency and a cross-thread wake-up (`cargo bench --bench log_append`). Every
//! write-command reply under `appendfsync everysec`/`no` waits for its record's write, so
//! that is latency every write pays. `fdatasync` stays an io_uring op: it waits for the
//! device, and must not block the shard's executor (`always`'s group commit, everysec's
//! once-a-second sync). The page cache is deliberate: `everysec` and `no` must make a reply's
//! record survive a process crash as soon as it is written, which the page cache gives
//! without waiting for the device; `always` then pays one fdatasync per group commit.
//! Directory listing and creation use std (metadata only, at startup and rewrite, never per
//! request).

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, Directory, OpenOptions};

use super::storage::Storage;

/// glommio-backed storage; valid only on a glommio executor thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct UringStorage;

/// A log file being appended to, with its write position.
pub struct UringFile {
    file: BufferedFile,
    pos: u64,
}

/// Keeps the OS error code (ENOSPC, EIO...), which glommio's own conversion drops for its
/// enhanced errors: the caller names the operation and path, and MISCONF needs the errno.
fn io_err(e: glommio::GlommioError<()>) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::from(e),
    }
}

impl Storage for UringStorage {
    type File = UringFile;
    type Reader = BufferedFile;

    async fn create(&self, path: &Path) -> io::Result<UringFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .buffered_open(path)
            .await
            .map_err(io_err)?;
        Ok(UringFile { file, pos: 0 })
    }

    async fn write(&self, f: &mut UringFile, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: the descriptor belongs to `f.file`, which outlives this borrow; ManuallyDrop
        // keeps the temporary File from closing it.
        let file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(f.file.as_raw_fd()) });
        let mut done = 0;
        // write_all_at, but counting what landed: after a short write followed by an error
        // (ENOSPC), the position must still say where the file ends.
        while done < bytes.len() {
            match file.write_at(&bytes[done..], f.pos) {
                Ok(0) => {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
                }
                Ok(n) => {
                    done += n;
                    f.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn sync_data(&self, f: &mut UringFile) -> io::Result<()> {
        f.file.fdatasync().await.map_err(io_err)
    }

    async fn close(&self, f: UringFile) -> io::Result<()> {
        f.file.close().await.map_err(io_err)
    }

    async fn open_read(&self, path: &Path) -> io::Result<(BufferedFile, u64)> {
        let file = BufferedFile::open(path).await.map_err(io_err)?;
        let len = file.file_size().await.map_err(io_err)?;
        Ok((file, len))
    }

    async fn read_at(&self, r: &BufferedFile, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(1 << 20));
        while out.len() < len {
            let chunk = r
                .read_at(pos + out.len() as u64, len - out.len())
                .await
                .map_err(io_err)?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    async fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .buffered_open(path)
            .await
            .map_err(io_err)?;
        file.truncate(len).await.map_err(io_err)?;
        file.fdatasync().await.map_err(io_err)?;
        file.close().await.map_err(io_err)
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        glommio::io::rename(from, to).await.map_err(io_err)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        glommio::io::remove(path).await.map_err(io_err)
    }

    async fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            out.push(entry?.path());
        }
        out.sort();
        Ok(out)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let d = Directory::open(dir).await.map_err(io_err)?;
        d.sync().await.map_err(io_err)?;
        d.close().await.map_err(io_err)
    }

    async fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }
}

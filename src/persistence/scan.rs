//! Streaming reads of one segment: validate the header, then yield records until the end of
//! the file or the first damaged record, which is classified as torn-shaped or not.
//!
//! # Memory
//! The scanner reads [`READ_CHUNK_BYTES`] at a time and keeps at most one chunk plus the
//! record being read; a record larger than a chunk is read straight into its own buffer. So
//! recovering a 50 GB log needs about 1 MiB plus the largest record (at most
//! [`MAX_RECORD_PAYLOAD_BYTES`]), never the log.
//!
//! # Torn-shaped damage
//! A bad record at offset `p` is *torn-shaped* when it looks like an interrupted final write:
//! its header is incomplete at EOF, or its payload runs past EOF, or its checksum fails and
//! every byte after the record's end is zero (including when the record ends exactly at
//! EOF), or its length field is invalid and every byte after the header is zero. Zeros count
//! because a filesystem may extend a file's size before its data reaches the disk, and a DMA
//! writer pads the last block with zeros. Whether torn-shaped damage really is a torn tail
//! depends on where it is: only in the last segment of the log (the reader decides).

use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use bytes::Bytes;

use super::LogError;
use super::manifest::SegmentRef;
use super::record::{
    MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SegmentHeader, le_u32,
    record_crc,
};
use super::storage::Storage;

/// How much recovery reads per I/O.
pub const READ_CHUNK_BYTES: usize = 1 << 20;

/// Damage found in a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where the bad data starts: the valid part of the segment is `[0, offset)`.
    pub offset: u64,
    /// The segment header itself is bad, so no byte of the segment is usable.
    pub in_header: bool,
    /// It looks like an interrupted final write (see the module docs).
    pub torn_shaped: bool,
    pub reason: &'static str,
}

/// One step of a scan.
pub enum Scanned {
    Record(Bytes),
    End,
    Damaged(Damage),
}

/// Reads one segment front to back.
pub struct SegmentScanner<S: Storage> {
    storage: Rc<S>,
    path: PathBuf,
    reader: S::Reader,
    /// Where reading stops: the file's length, or the sealed length if that is smaller.
    end: u64,
    /// The file's actual length.
    file_len: u64,
    /// The manifest gives the segment's exact length (it is not the open segment).
    sealed: Option<u64>,
    header: SegmentHeader,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_pos: u64,
    /// Index in `buf` of the next unread byte.
    cursor: usize,
}

/// What opening a segment found.
pub enum Opened<S: Storage> {
    Ok(SegmentScanner<S>),
    Missing,
    Damaged(Damage),
}

impl<S: Storage> SegmentScanner<S> {
    /// Opens `path` and validates its header: against `shard_id` and `expect` (the manifest's
    /// entry) when given.
    pub async fn open(
        storage: Rc<S>,
        path: &Path,
        shard_id: Option<u32>,
        expect: Option<&SegmentRef>,
    ) -> Result<Opened<S>, LogError> {
        let (reader, file_len) = match storage.open_read(path).await {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::Missing),
            Err(e) => return Err(LogError::io("open", path, e)),
        };
        let head = storage
            .read_at(&reader, 0, SEGMENT_HEADER_BYTES)
            .await
            .map_err(|e| LogError::io("read", path, e))?;
        let damaged = |offset, reason| {
            Ok(Opened::Damaged(Damage {
                offset,
                in_header: true,
                torn_shaped: false,
                reason,
            }))
        };
        let header = match SegmentHeader::decode(&head) {
            Ok(h) => h,
            Err((offset, reason)) => return damaged(offset, reason),
        };
        if shard_id.is_some_and(|id| id != header.shard_id) {
            return damaged(24, "segment belongs to another shard");
        }
        if let Some(e) = expect
            && (header.segment_id != e.id || header.kind != e.kind || header.seed != e.seed)
        {
            return damaged(12, "segment header does not match the manifest entry");
        }
        // Bytes past a sealed length are ignored: a DMA writer may leave zero padding there.
        let sealed = expect.map(|e| e.sealed_bytes).filter(|&n| n > 0);
        Ok(Opened::Ok(SegmentScanner {
            storage,
            path: path.to_path_buf(),
            reader,
            end: sealed.map_or(file_len, |n| n.min(file_len)),
            file_len,
            sealed,
            header,
            buf: Vec::new(),
            buf_pos: SEGMENT_HEADER_BYTES as u64,
            cursor: 0,
        }))
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// File offset of the next record.
    pub fn offset(&self) -> u64 {
        self.buf_pos + self.cursor as u64
    }

    /// The next record, the end of the segment, or the first damage (after which the scanner
    /// must not be used).
    pub async fn next(&mut self) -> Result<Scanned, LogError> {
        let offset = self.offset();
        // A sealed segment is complete by construction: no damage in it is a torn write.
        let sealed = self.sealed.is_some();
        let damaged = |torn_shaped: bool, reason| {
            Ok(Scanned::Damaged(Damage {
                offset,
                in_header: false,
                torn_shaped: torn_shaped && !sealed,
                reason,
            }))
        };
        if offset >= self.end {
            if self.sealed.is_some_and(|n| self.file_len < n) {
                return damaged(false, "segment is shorter than its sealed length");
            }
            return Ok(Scanned::End);
        }
        if !self.ensure(RECORD_HEADER_BYTES).await? {
            return damaged(true, "incomplete record header at end of file");
        }
        let h = &self.buf[self.cursor..self.cursor + RECORD_HEADER_BYTES];
        let (len, crc) = (le_u32(&h[0..4]), le_u32(&h[4..8]));
        if len == 0 || len > MAX_RECORD_PAYLOAD_BYTES {
            let torn = self.zero_from(offset + RECORD_HEADER_BYTES as u64).await?;
            return damaged(torn, "record length is zero or above the limit");
        }
        let end = offset + (RECORD_HEADER_BYTES as u64) + len as u64;
        if end > self.end {
            return damaged(true, "record extends past the end of the file");
        }
        let payload = self.read_payload(offset, len as usize).await?;
        if record_crc(self.header.seed, &payload) != crc {
            let torn = self.zero_from(end).await?;
            return damaged(torn, "record checksum mismatch");
        }
        Ok(Scanned::Record(Bytes::from(payload)))
    }

    /// Reads the payload of the record at `offset` and moves past the record.
    async fn read_payload(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, LogError> {
        let start = offset + RECORD_HEADER_BYTES as u64;
        if len > READ_CHUNK_BYTES {
            // Large records bypass the window: one read, one allocation, no copy.
            let payload = self.read(start, len).await?;
            self.buf.clear();
            self.buf_pos = start + payload.len() as u64;
            self.cursor = 0;
            return Ok(payload);
        }
        self.ensure(RECORD_HEADER_BYTES + len).await?;
        let from = self.cursor + RECORD_HEADER_BYTES;
        let avail = (self.buf.len() - from).min(len);
        let payload = self.buf[from..from + avail].to_vec();
        self.cursor = from + avail;
        Ok(payload)
    }

    /// Makes at least `n` unread bytes available in the window; false at end of file.
    async fn ensure(&mut self, n: usize) -> Result<bool, LogError> {
        if self.buf.len() - self.cursor >= n {
            return Ok(true);
        }
        self.buf.drain(..self.cursor);
        self.buf_pos += self.cursor as u64;
        self.cursor = 0;
        let read_to = self.buf_pos + self.buf.len() as u64;
        let file_rest = self.end.saturating_sub(read_to);
        let want = ((n - self.buf.len()).max(READ_CHUNK_BYTES) as u64).min(file_rest) as usize;
        if want > 0 {
            let more = self.read(read_to, want).await?;
            self.buf.extend_from_slice(&more);
        }
        Ok(self.buf.len() >= n)
    }

    /// Whether every byte from `pos` to the end of the file is zero (true if none are left).
    async fn zero_from(&self, mut pos: u64) -> Result<bool, LogError> {
        while pos < self.end {
            let n = ((self.end - pos) as usize).min(READ_CHUNK_BYTES);
            let chunk = self.read(pos, n).await?;
            if chunk.is_empty() {
                break;
            }
            if chunk.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            pos += chunk.len() as u64;
        }
        Ok(true)
    }

    async fn read(&self, pos: u64, len: usize) -> Result<Vec<u8>, LogError> {
        self.storage
            .read_at(&self.reader, pos, len)
            .await
            .map_err(|e| LogError::io("read", &self.path, e))
    }
}

//! The manifest: which segment files make up a shard's log, in replay order, and how it is
//! replaced atomically.
//!
//! # Format (little-endian)
//! ```text
//! 0   magic "CKVMAN\r\n"       8
//! 8   version u32              4
//! 12  shard_id u32             4
//! 16  generation u64           8   incremented by every manifest write
//! 24  next_segment_id u64      8   segment ids are never reused
//! 32  count u32                4   <= MAX_MANIFEST_SEGMENTS
//! 36  count * (segment_id u64 | seed u64 | sealed_bytes u64 | kind u32 | reserved u32)  32 each
//! ..  crc u32                      crc32 of every byte before it
//! ```
//! A base segment, if any, comes first; incremental segments follow in replay order.
//! `sealed_bytes` is the exact length of a sealed segment, so losing a sealed segment's tail
//! (even at a record boundary) is detected; 0 marks the open segment, which can only be last.
//!
//! # Replacing it
//! [`store_manifest`]: write `MANIFEST.tmp`, fdatasync it, rename it over `MANIFEST`, fsync the
//! directory. Until the rename is durable the old manifest is the one a crash finds, and it is
//! complete because callers delete the files only the old manifest names after this returns.

use std::path::{Path, PathBuf};

use super::LogError;
use super::record::{FORMAT_VERSION, SEGMENT_HEADER_BYTES, SegmentKind, le_u32, le_u64};
use super::storage::Storage;

/// The manifest's file name inside a shard directory.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// The temporary file a new manifest is written to before the rename.
pub const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";
pub const MANIFEST_MAGIC: [u8; 8] = *b"CKVMAN\r\n";
/// More segments than this is damage: rewrites keep the count small.
pub const MAX_MANIFEST_SEGMENTS: usize = 100_000;
const FIXED_BYTES: usize = 36;
const ENTRY_BYTES: usize = 32;

/// One segment the manifest names. The seed must match the segment header's. Segments are
/// identified by `id` (unique in a directory); compare ids, not whole entries, since
/// `sealed_bytes` changes when a segment is sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentRef {
    pub id: u64,
    pub kind: SegmentKind,
    pub seed: u64,
    /// The segment's exact length once sealed; 0 while it is open (only the last can be).
    pub sealed_bytes: u64,
}

impl SegmentRef {
    /// A new segment, open.
    pub fn open(id: u64, kind: SegmentKind, seed: u64) -> SegmentRef {
        SegmentRef {
            id,
            kind,
            seed,
            sealed_bytes: 0,
        }
    }
}

/// The decoded manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub shard_id: u32,
    pub generation: u64,
    pub next_segment_id: u64,
    pub segments: Vec<SegmentRef>,
}

/// `00000007.base`, `00000008.incr`: zero-padded so a directory listing sorts by id.
pub fn segment_file_name(id: u64, kind: SegmentKind) -> String {
    format!("{id:08}.{}", kind.suffix())
}

/// The inverse of [`segment_file_name`]; `None` for any other name.
pub fn parse_segment_file_name(name: &str) -> Option<(u64, SegmentKind)> {
    let (digits, suffix) = name.split_once('.')?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = match suffix {
        "base" => SegmentKind::Base,
        "incr" => SegmentKind::Incr,
        _ => return None,
    };
    Some((digits.parse().ok()?, kind))
}

pub fn segment_path(dir: &Path, seg: &SegmentRef) -> PathBuf {
    dir.join(segment_file_name(seg.id, seg.kind))
}

impl Manifest {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(FIXED_BYTES + ENTRY_BYTES * self.segments.len() + 4);
        b.extend_from_slice(&MANIFEST_MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&self.shard_id.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&self.next_segment_id.to_le_bytes());
        b.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        for s in &self.segments {
            b.extend_from_slice(&s.id.to_le_bytes());
            b.extend_from_slice(&s.seed.to_le_bytes());
            b.extend_from_slice(&s.sealed_bytes.to_le_bytes());
            b.extend_from_slice(&s.kind.code().to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and validates; on failure returns the byte offset of the problem and why.
    pub fn decode(b: &[u8]) -> Result<Manifest, (u64, String)> {
        let bad = |off: usize, why: &str| Err((off as u64, why.to_string()));
        if b.len() < FIXED_BYTES + 4 {
            return bad(b.len(), "manifest is shorter than its fixed header");
        }
        if b[0..8] != MANIFEST_MAGIC {
            return bad(0, "bad manifest magic");
        }
        let count = le_u32(&b[32..36]) as usize;
        if count > MAX_MANIFEST_SEGMENTS {
            return bad(32, "segment count exceeds MAX_MANIFEST_SEGMENTS");
        }
        let expected = FIXED_BYTES + ENTRY_BYTES * count + 4;
        if b.len() != expected {
            return bad(
                b.len().min(expected),
                "manifest length does not match its count",
            );
        }
        let crc_at = expected - 4;
        if le_u32(&b[crc_at..]) != crc32fast::hash(&b[..crc_at]) {
            return bad(crc_at, "manifest checksum mismatch");
        }
        if le_u32(&b[8..12]) != FORMAT_VERSION {
            return bad(8, "unsupported manifest format version");
        }
        let m = Manifest {
            shard_id: le_u32(&b[12..16]),
            generation: le_u64(&b[16..24]),
            next_segment_id: le_u64(&b[24..32]),
            segments: Vec::with_capacity(count),
        };
        decode_entries(m, &b[FIXED_BYTES..crc_at], count)
    }
}

fn decode_entries(mut m: Manifest, b: &[u8], count: usize) -> Result<Manifest, (u64, String)> {
    for i in 0..count {
        let e = &b[i * ENTRY_BYTES..(i + 1) * ENTRY_BYTES];
        let off = (FIXED_BYTES + i * ENTRY_BYTES) as u64;
        let kind = SegmentKind::from_code(le_u32(&e[24..28]))
            .ok_or((off + 24, "bad segment kind".to_string()))?;
        if kind == SegmentKind::Base && i != 0 {
            return Err((off + 24, "a base segment that is not first".to_string()));
        }
        if le_u32(&e[28..32]) != 0 {
            return Err((off + 28, "reserved entry field is not zero".to_string()));
        }
        let sealed_bytes = le_u64(&e[16..24]);
        let open_ok = i + 1 == count && kind == SegmentKind::Incr;
        if (sealed_bytes == 0 && !open_ok)
            || (sealed_bytes != 0 && sealed_bytes < SEGMENT_HEADER_BYTES as u64)
        {
            let why = "sealed length is below the header size, or an open segment is not last";
            return Err((off + 16, why.to_string()));
        }
        let id = le_u64(&e[0..8]);
        if id >= m.next_segment_id || m.segments.iter().any(|s| s.id == id) {
            return Err((
                off,
                format!("segment id {id} is duplicated or not below next id"),
            ));
        }
        m.segments.push(SegmentRef {
            id,
            kind,
            seed: le_u64(&e[8..16]),
            sealed_bytes,
        });
    }
    Ok(m)
}

/// Reads `dir/MANIFEST`; `Ok(None)` when the directory or the manifest does not exist.
pub async fn load_manifest<S: Storage>(
    storage: &S,
    dir: &Path,
) -> Result<Option<Manifest>, LogError> {
    let path = dir.join(MANIFEST_FILE);
    let (reader, len) = match storage.open_read(&path).await {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io("open", path, e)),
    };
    let max = (FIXED_BYTES + ENTRY_BYTES * MAX_MANIFEST_SEGMENTS + 4) as u64;
    if len > max {
        return Err(LogError::corrupt(path, max, "manifest is too large", false));
    }
    let bytes = storage
        .read_at(&reader, 0, len as usize)
        .await
        .map_err(|e| LogError::io("read", &path, e))?;
    match Manifest::decode(&bytes) {
        Ok(m) => Ok(Some(m)),
        Err((offset, reason)) => Err(LogError::corrupt(path, offset, reason, false)),
    }
}

/// Atomically replaces `dir/MANIFEST` (see the module docs). When this returns Ok the new
/// manifest, and every file created in `dir` before the call, is durable.
pub async fn store_manifest<S: Storage>(
    storage: &S,
    dir: &Path,
    m: &Manifest,
) -> Result<(), LogError> {
    let tmp = dir.join(MANIFEST_TMP_FILE);
    let path = dir.join(MANIFEST_FILE);
    let mut f = storage
        .create(&tmp)
        .await
        .map_err(|e| LogError::io("create", &tmp, e))?;
    let written = async {
        storage.write(&mut f, &m.encode()).await?;
        storage.sync_data(&mut f).await
    }
    .await;
    let closed = storage.close(f).await;
    written
        .and(closed)
        .map_err(|e| LogError::io("write", &tmp, e))?;
    storage
        .rename(&tmp, &path)
        .await
        .map_err(|e| LogError::io("rename", &path, e))?;
    storage
        .sync_dir(dir)
        .await
        .map_err(|e| LogError::io("fsync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            shard_id: 2,
            generation: 9,
            next_segment_id: 12,
            segments: vec![
                SegmentRef {
                    id: 10,
                    kind: SegmentKind::Base,
                    seed: 77,
                    sealed_bytes: 1000,
                },
                SegmentRef::open(11, SegmentKind::Incr, 78),
            ],
        }
    }

    #[test]
    fn manifest_round_trips_and_rejects_damage() {
        let m = sample();
        let b = m.encode();
        assert_eq!(Manifest::decode(&b), Ok(m));
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 1;
            assert!(Manifest::decode(&bad).is_err(), "flip at {i}");
        }
        for cut in 0..b.len() {
            assert!(Manifest::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn manifest_rejects_inconsistent_contents() {
        let mut m = sample();
        m.segments.swap(0, 1);
        assert!(Manifest::decode(&m.encode()).is_err(), "base not first");
        let mut m = sample();
        m.next_segment_id = 11;
        assert!(
            Manifest::decode(&m.encode()).is_err(),
            "id not below next id"
        );
        let mut m = sample();
        m.segments[1].id = 10;
        assert!(Manifest::decode(&m.encode()).is_err(), "duplicate id");
        let mut m = sample();
        m.segments[0].sealed_bytes = 0;
        assert!(
            Manifest::decode(&m.encode()).is_err(),
            "open segment not last"
        );
        let mut m = sample();
        m.segments[1].sealed_bytes = 43;
        assert!(
            Manifest::decode(&m.encode()).is_err(),
            "sealed below the header size"
        );
    }

    #[test]
    fn segment_names_round_trip() {
        for (id, kind) in [(1, SegmentKind::Base), (123_456_789_012, SegmentKind::Incr)] {
            let name = segment_file_name(id, kind);
            assert_eq!(parse_segment_file_name(&name), Some((id, kind)));
        }
        for bad in [
            "MANIFEST",
            "1.incr",
            "00000001.aof",
            "0000000x.base",
            "00000001",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
    }
}

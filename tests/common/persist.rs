//! The data directory of a persistent corekv, read independently of the server's code: the
//! `LAYOUT` file, `gen-<G>/shard-<j>/` directories, manifests and segments as
//! docs/PERSISTENCE.md specifies them. Also byte surgery on those files (truncate, flip,
//! append) to make damage, the `check-log` tool, and a dump of the whole keyspace to compare a
//! server's state across a restart.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Segment header size (docs/PERSISTENCE.md §2.1).
pub const SEGMENT_HEADER_BYTES: u64 = 44;
/// Record frame header: `len` and `crc` (§2.2).
pub const RECORD_HEADER_BYTES: u64 = 8;
/// Segment kinds (§2.1).
pub const KIND_BASE: u32 = 1;
pub const KIND_INCR: u32 = 2;
const SEGMENT_MAGIC: &[u8; 8] = b"CKVSEG\r\n";
const MANIFEST_MAGIC: &[u8; 8] = b"CKVMAN\r\n";
const MANIFEST_HEADER_BYTES: usize = 36;
const MANIFEST_ENTRY_BYTES: usize = 32;

// ---- LAYOUT and directories ----

/// `<dir>/LAYOUT`: `corekv-layout 1`, `shards N`, `generation G`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shards: usize,
    pub generation: u64,
}

pub fn read_layout(dir: &Path) -> Layout {
    let path = dir.join("LAYOUT");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(text.lines().next(), Some("corekv-layout 1"), "{text}");
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{name} N` line in LAYOUT:\n{text}"))
    };
    Layout {
        shards: field("shards") as usize,
        generation: field("generation"),
    }
}

/// The names of the `gen-*` entries in `dir`, sorted.
pub fn generation_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    names.sort();
    names
}

/// `<dir>/gen-<G>/shard-<j>` for the generation LAYOUT names.
pub fn shard_dir(dir: &Path, shard: usize) -> PathBuf {
    let layout = read_layout(dir);
    assert!(shard < layout.shards, "shard {shard} of {layout:?}");
    dir.join(format!("gen-{}", layout.generation))
        .join(format!("shard-{shard}"))
}

/// Every shard directory of the current generation, in shard order.
pub fn shard_dirs(dir: &Path) -> Vec<PathBuf> {
    let layout = read_layout(dir);
    (0..layout.shards).map(|j| shard_dir(dir, j)).collect()
}

/// The names of the `*.base` / `*.incr` files in a shard directory, sorted.
pub fn segment_files(shard_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(shard_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", shard_dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".base") || n.ends_with(".incr"))
        .collect();
    names.sort();
    names
}

// ---- MANIFEST ----

/// One manifest entry (§4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub segment_id: u64,
    pub seed: u64,
    pub sealed_bytes: u64,
    pub kind: u32,
}

impl ManifestEntry {
    /// `NNNNNNNN.base` / `NNNNNNNN.incr`.
    pub fn file_name(&self) -> String {
        let ext = if self.kind == KIND_BASE {
            "base"
        } else {
            "incr"
        };
        format!("{:08}.{ext}", self.segment_id)
    }
}

/// Reads and checks (magic, length, crc) a shard directory's `MANIFEST`.
pub fn read_manifest(shard_dir: &Path) -> Vec<ManifestEntry> {
    let path = shard_dir.join("MANIFEST");
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(bytes.len() >= MANIFEST_HEADER_BYTES + 4, "short manifest");
    assert_eq!(&bytes[..8], MANIFEST_MAGIC, "manifest magic");
    let count = u32_at(&bytes, 32) as usize;
    let end = MANIFEST_HEADER_BYTES + MANIFEST_ENTRY_BYTES * count;
    assert_eq!(bytes.len(), end + 4, "manifest length for {count} entries");
    assert_eq!(
        crc32fast::hash(&bytes[..end]),
        u32_at(&bytes, end),
        "manifest crc"
    );
    (0..count)
        .map(|i| {
            let at = MANIFEST_HEADER_BYTES + MANIFEST_ENTRY_BYTES * i;
            ManifestEntry {
                segment_id: u64_at(&bytes, at),
                seed: u64_at(&bytes, at + 8),
                sealed_bytes: u64_at(&bytes, at + 16),
                kind: u32_at(&bytes, at + 24),
            }
        })
        .collect()
}

// ---- Segments ----

/// One record of a segment, decoded (§2.2, §3).
#[derive(Clone, Debug)]
pub struct Record {
    /// Byte offset of the record's frame header in the segment file.
    pub offset: u64,
    pub payload_bytes: u64,
    pub db: u16,
    pub args: Vec<Vec<u8>>,
}

impl Record {
    /// The offset just past the record.
    pub fn end(&self) -> u64 {
        self.offset + RECORD_HEADER_BYTES + self.payload_bytes
    }

    /// The first key argument (`args[1]`), as text.
    pub fn key(&self) -> String {
        self.args
            .get(1)
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default()
    }
}

/// A segment file read up to its first invalid record.
#[derive(Clone, Debug)]
pub struct Segment {
    pub path: PathBuf,
    pub seed: u64,
    pub kind: u32,
    pub records: Vec<Record>,
    /// Offset just past the last valid record (the header's end when there are none).
    pub valid_end: u64,
    pub file_bytes: u64,
}

/// Reads a segment: checks its header, then decodes records until the first one that is
/// incomplete, zero-length or fails its checksum.
pub fn scan_segment(path: &Path) -> Segment {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let header = SEGMENT_HEADER_BYTES as usize;
    assert!(bytes.len() >= header, "{}: short header", path.display());
    assert_eq!(&bytes[..8], SEGMENT_MAGIC, "{}: magic", path.display());
    assert_eq!(
        crc32fast::hash(&bytes[..40]),
        u32_at(&bytes, 40),
        "{}: header crc",
        path.display()
    );
    let seed = u64_at(&bytes, 32);
    let mut records = Vec::new();
    let mut at = header;
    while at + RECORD_HEADER_BYTES as usize <= bytes.len() {
        let len = u32_at(&bytes, at) as usize;
        let body = at + RECORD_HEADER_BYTES as usize;
        if len == 0 || body + len > bytes.len() {
            break;
        }
        let payload = &bytes[body..body + len];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&seed.to_le_bytes());
        hasher.update(&(len as u32).to_le_bytes());
        hasher.update(payload);
        if hasher.finalize() != u32_at(&bytes, at + 4) {
            break;
        }
        let (db, args) = decode_command(payload);
        records.push(Record {
            offset: at as u64,
            payload_bytes: len as u64,
            db,
            args,
        });
        at = body + len;
    }
    Segment {
        path: path.to_path_buf(),
        seed,
        kind: u32_at(&bytes, 12),
        records,
        valid_end: at as u64,
        file_bytes: bytes.len() as u64,
    }
}

/// Every segment the shard's manifest names, in replay order.
pub fn manifest_segments(shard_dir: &Path) -> Vec<Segment> {
    read_manifest(shard_dir)
        .iter()
        .map(|e| scan_segment(&shard_dir.join(e.file_name())))
        .collect()
}

/// The last segment (in manifest order) that holds at least one record.
pub fn last_segment_with_records(shard_dir: &Path) -> Segment {
    manifest_segments(shard_dir)
        .into_iter()
        .rev()
        .find(|s| !s.records.is_empty())
        .unwrap_or_else(|| panic!("no records under {}", shard_dir.display()))
}

fn decode_command(payload: &[u8]) -> (u16, Vec<Vec<u8>>) {
    let db = u16::from_le_bytes([payload[0], payload[1]]);
    let argc = u32_at(payload, 2) as usize;
    let mut at = 6;
    let mut args = Vec::with_capacity(argc.min(payload.len()));
    for _ in 0..argc {
        let n = u32_at(payload, at) as usize;
        args.push(payload[at + 4..at + 4 + n].to_vec());
        at += 4 + n;
    }
    assert_eq!(at, payload.len(), "payload consumed exactly");
    (db, args)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

// ---- Byte surgery ----

pub fn truncate_file(path: &Path, len: u64) {
    let f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.set_len(len).expect("truncate");
}

pub fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(bytes).expect("append");
}

/// Inverts every bit of the byte at `offset`.
pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[offset as usize] ^= 0xff;
    fs::write(path, bytes).expect("write");
}

/// Copies a directory tree (the data directory, to try two repairs on the same damage).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("list").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

// ---- check-log ----

/// `corekv check-log args...`: exit code and stdout + stderr.
pub fn check_log(args: &[&Path]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corekv"))
        .arg("check-log")
        .args(args)
        .output()
        .expect("run corekv check-log");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

// ---- Keyspace dumps ----

/// A string key's value and its PTTL (-1: no expiry) at dump time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub pttl_ms: i64,
}

/// Every key of every database: `(db, key) -> entry`.
pub type Keyspace = BTreeMap<(u16, Vec<u8>), Entry>;

/// Reads every key of databases `0..dbs` (string keys only) with its value and PTTL. Leaves
/// the connection on database 0.
pub fn dump(con: &mut redis::Connection, dbs: u16) -> Keyspace {
    let mut out = Keyspace::new();
    for db in 0..dbs {
        redis::cmd("SELECT")
            .arg(db)
            .query::<()>(con)
            .expect("SELECT");
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for k in chunk {
                pipe.cmd("GET").arg(k).cmd("PTTL").arg(k);
            }
            let replies: Vec<(Option<Vec<u8>>, i64)> = pipe.query(con).expect("GET/PTTL");
            for (k, (value, pttl_ms)) in chunk.iter().zip(replies) {
                // A key that expired between KEYS and GET is simply not there.
                if let Some(value) = value {
                    out.insert((db, k.clone()), Entry { value, pttl_ms });
                }
            }
        }
    }
    redis::cmd("SELECT")
        .arg(0)
        .query::<()>(con)
        .expect("SELECT 0");
    out
}

/// Asserts that `after` holds exactly the keys and values of `before`, and that every TTL
/// went down by about the time between the dumps (`elapsed`) and no more than that.
pub fn assert_same_keyspace(before: &Keyspace, after: &Keyspace, elapsed: Duration) {
    let missing: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let extra: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} keys missing (first: {:?}), {} keys extra (first: {:?})",
        missing.len(),
        missing.iter().take(5).map(|k| show(k)).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).map(|k| show(k)).collect::<Vec<_>>()
    );
    // The slack covers the dumps themselves (they take time) and millisecond rounding.
    let slack_ms = 2_000;
    let elapsed_ms = elapsed.as_millis() as i64;
    for (key, b) in before {
        let a = &after[key];
        assert!(a.value == b.value, "{}: value changed", show(key));
        if b.pttl_ms < 0 {
            assert_eq!(a.pttl_ms, b.pttl_ms, "{}: TTL appeared", show(key));
        } else {
            assert!(
                a.pttl_ms <= b.pttl_ms + 5 && a.pttl_ms >= b.pttl_ms - elapsed_ms - slack_ms,
                "{}: PTTL {} before, {} after, {elapsed_ms} ms apart",
                show(key),
                b.pttl_ms,
                a.pttl_ms
            );
        }
    }
}

fn show(key: &(u16, Vec<u8>)) -> String {
    format!("db{}:{}", key.0, String::from_utf8_lossy(&key.1))
}

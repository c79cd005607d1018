//! Bytes on disk: the segment header, the record frame, and the command payload. Pure
//! functions, no I/O. docs/PERSISTENCE.md specifies every byte; keep the two in step.
//!
//! # Format
//! ```text
//! segment  = header(44) record*
//! header   = magic "CKVSEG\r\n" | version u32 | kind u32 | segment_id u64 | shard_id u32
//!          | reserved u32 (0) | seed u64 | header_crc u32          (crc32 of bytes 0..40)
//! record   = len u32 | crc u32 | payload[len]        crc = crc32(seed_le | len_le | payload)
//! payload  = db u16 | argc u32 | (arglen u32 | arg[arglen])*      (a command in effect form)
//! ```
//! All integers are little-endian. The per-segment random seed enters every record checksum,
//! so a record copied from another segment, or left over in a recycled file, never validates.

use bytes::Bytes;

/// First 8 bytes of every segment. `\r\n` catches text-mode mangling, as PNG's magic does.
pub const SEGMENT_MAGIC: [u8; 8] = *b"CKVSEG\r\n";
/// The on-disk format version written into segment headers and the manifest.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the segment header; the first record starts at this offset.
pub const SEGMENT_HEADER_BYTES: usize = 44;
/// Size of a record frame header (`len` and `crc`).
pub const RECORD_HEADER_BYTES: usize = 8;
/// Largest payload a record may carry: a key and a value can each be 512 MB
/// (proto-max-bulk-len), plus 1 MiB of slack for the other arguments and the framing. A length
/// field above this is damage, never a torn write, and bounds what recovery allocates.
pub const MAX_RECORD_PAYLOAD_BYTES: u32 = (1 << 30) + (1 << 20);

/// What a segment holds: a base written by a rewrite, or incremental writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    Base,
    Incr,
}

impl SegmentKind {
    pub fn code(self) -> u32 {
        match self {
            SegmentKind::Base => 1,
            SegmentKind::Incr => 2,
        }
    }

    pub fn from_code(code: u32) -> Option<SegmentKind> {
        match code {
            1 => Some(SegmentKind::Base),
            2 => Some(SegmentKind::Incr),
            _ => None,
        }
    }

    /// The file name suffix: `00000007.base`, `00000008.incr`.
    pub fn suffix(self) -> &'static str {
        match self {
            SegmentKind::Base => "base",
            SegmentKind::Incr => "incr",
        }
    }
}

/// The decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub kind: SegmentKind,
    pub segment_id: u64,
    pub shard_id: u32,
    pub seed: u64,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut h = [0u8; SEGMENT_HEADER_BYTES];
        h[0..8].copy_from_slice(&SEGMENT_MAGIC);
        h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&self.kind.code().to_le_bytes());
        h[16..24].copy_from_slice(&self.segment_id.to_le_bytes());
        h[24..28].copy_from_slice(&self.shard_id.to_le_bytes());
        // 28..32 reserved, zero.
        h[32..40].copy_from_slice(&self.seed.to_le_bytes());
        let crc = crc32fast::hash(&h[0..40]);
        h[40..44].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes and validates a header. On failure returns the offset of the bad field and why.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, (u64, &'static str)> {
        if b.len() < SEGMENT_HEADER_BYTES {
            return Err((b.len() as u64, "segment header is incomplete"));
        }
        if b[0..8] != SEGMENT_MAGIC {
            return Err((0, "bad segment magic"));
        }
        if le_u32(&b[40..44]) != crc32fast::hash(&b[0..40]) {
            return Err((40, "segment header checksum mismatch"));
        }
        if le_u32(&b[8..12]) != FORMAT_VERSION {
            return Err((8, "unsupported segment format version"));
        }
        let kind = SegmentKind::from_code(le_u32(&b[12..16])).ok_or((12, "bad segment kind"))?;
        if le_u32(&b[28..32]) != 0 {
            return Err((28, "reserved header field is not zero"));
        }
        Ok(SegmentHeader {
            kind,
            segment_id: le_u64(&b[16..24]),
            shard_id: le_u32(&b[24..28]),
            seed: le_u64(&b[32..40]),
        })
    }
}

/// The checksum of a record: crc32 over the segment seed, the length field and the payload.
pub fn record_crc(seed: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Checks a payload length against the format's limits.
pub fn check_payload_len(len: usize) -> Result<(), super::LogError> {
    if len == 0 {
        return Err(super::LogError::EmptyRecord);
    }
    if len > MAX_RECORD_PAYLOAD_BYTES as usize {
        return Err(super::LogError::RecordTooLarge { bytes: len });
    }
    Ok(())
}

/// Appends one framed record to `out`. The caller has checked the length
/// ([`check_payload_len`]).
pub fn encode_record_into(out: &mut Vec<u8>, seed: u64, payload: &[u8]) {
    debug_assert!(!payload.is_empty() && payload.len() <= MAX_RECORD_PAYLOAD_BYTES as usize);
    out.reserve(RECORD_HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&record_crc(seed, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Why a payload is not a well-formed command. `offset` is within the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandDecodeError {
    pub offset: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for CommandDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bad command payload at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for CommandDecodeError {}

/// Size of the payload [`encode_command_into`] writes for these arguments.
pub fn command_payload_len<A: AsRef<[u8]>>(args: &[A]) -> usize {
    6 + args.iter().map(|a| 4 + a.as_ref().len()).sum::<usize>()
}

/// Appends `db | argc | (arglen | arg)*` to `out`.
///
/// # Panics
/// If there are 2^32 or more arguments or an argument of 4 GiB or more; neither can pass the
/// protocol's limits, and [`super::Log::append_command`] checks the total size first.
pub fn encode_command_into<A: AsRef<[u8]>>(out: &mut Vec<u8>, db: u16, args: &[A]) {
    out.reserve(command_payload_len(args));
    out.extend_from_slice(&db.to_le_bytes());
    let argc = u32::try_from(args.len()).expect("argument count fits in u32");
    out.extend_from_slice(&argc.to_le_bytes());
    for a in args {
        let a = a.as_ref();
        let len = u32::try_from(a.len()).expect("argument length fits in u32");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(a);
    }
}

/// Encodes a command in effect form as a record payload (`db | argc | (arglen | arg)*`).
///
/// # Panics
/// On 2^32 or more arguments or an argument of 4 GiB or more; unreachable for arguments
/// within the protocol's limits.
pub fn encode_command<A: AsRef<[u8]>>(db: u16, args: &[A]) -> Vec<u8> {
    let mut out = Vec::with_capacity(command_payload_len(args));
    encode_command_into(&mut out, db, args);
    out
}

/// Decodes a payload into `(db, args)`, copying each argument into its own allocation (so a
/// stored value owns exactly its bytes). Never panics; allocates at most in proportion to
/// `p.len()` whatever the bytes claim.
pub fn decode_command(p: &[u8]) -> Result<(u16, Vec<Bytes>), CommandDecodeError> {
    decode_with(p, |start, end| Bytes::copy_from_slice(&p[start..end]))
}

/// Like [`decode_command`], but the arguments are zero-copy slices of `p`: cheaper for huge
/// values, at the price that any argument kept alive keeps the whole payload alive.
pub fn decode_command_bytes(p: &Bytes) -> Result<(u16, Vec<Bytes>), CommandDecodeError> {
    decode_with(p, |start, end| p.slice(start..end))
}

fn decode_with(
    p: &[u8],
    mut take: impl FnMut(usize, usize) -> Bytes,
) -> Result<(u16, Vec<Bytes>), CommandDecodeError> {
    let err = |offset, reason| CommandDecodeError { offset, reason };
    if p.len() < 6 {
        return Err(err(0, "payload shorter than db and argc"));
    }
    let db = u16::from_le_bytes([p[0], p[1]]);
    let argc = le_u32(&p[2..6]) as usize;
    // Every argument takes at least its 4-byte length: a larger argc is a lie, and checking it
    // before allocating keeps hostile bytes from reserving gigabytes.
    if argc > (p.len() - 6) / 4 {
        return Err(err(2, "argument count exceeds what the payload can hold"));
    }
    let mut args = Vec::with_capacity(argc);
    let mut pos = 6;
    for _ in 0..argc {
        if p.len() - pos < 4 {
            return Err(err(pos, "truncated argument length"));
        }
        let len = le_u32(&p[pos..pos + 4]) as usize;
        pos += 4;
        if len > p.len() - pos {
            return Err(err(pos - 4, "argument extends past the payload"));
        }
        args.push(take(pos, pos + len));
        pos += len;
    }
    if pos != p.len() {
        return Err(err(pos, "trailing bytes after the last argument"));
    }
    Ok((db, args))
}

pub(crate) fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

pub(crate) fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn command_round_trips() {
        let cases: Vec<(u16, Vec<Bytes>)> = vec![
            (0, args(&["SET", "k", "v", "PXAT", "1700000000000"])),
            (15, args(&["DEL", "k"])),
            (3, args(&["PEXPIREAT", "k", "1700000000000"])),
            (0, args(&["FLUSHDB"])),
            (0, args(&["SWAPDB", "0", "1"])),
            (
                u16::MAX,
                vec![Bytes::new(), Bytes::from(vec![0u8, 255, 10, 13])],
            ),
            (1, vec![]),
        ];
        for (db, a) in cases {
            let p = encode_command(db, &a);
            assert_eq!(p.len(), command_payload_len(&a));
            assert_eq!(decode_command(&p).unwrap(), (db, a.clone()));
            assert_eq!(decode_command_bytes(&Bytes::from(p)).unwrap(), (db, a));
        }
    }

    #[test]
    fn decode_rejects_malformed_payloads() {
        let good = encode_command(0, &args(&["SET", "k", "v"]));
        for cut in 0..good.len() {
            assert!(decode_command(&good[..cut]).is_err(), "prefix {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode_command(&trailing).unwrap_err().offset, good.len());
        let mut huge_argc = good.clone();
        huge_argc[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_command(&huge_argc).unwrap_err().offset, 2);
    }

    #[test]
    fn decode_never_panics_on_random_bytes() {
        let mut rng = Rng::new(0xdec0de);
        for case in 0..20_000u32 {
            let len = (rng.next_u64() % 64) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            // Make the interesting prefix plausible half of the time: small argc and lengths.
            if case % 2 == 0 && len >= 6 {
                p[2..6].copy_from_slice(&((rng.next_u64() % 5) as u32).to_le_bytes());
                let mut pos = 6;
                while pos + 4 <= len {
                    let l = (rng.next_u64() % 8) as u32;
                    p[pos..pos + 4].copy_from_slice(&l.to_le_bytes());
                    pos += 4 + l as usize;
                }
            }
            if let Ok((db, a)) = decode_command(&p) {
                assert_eq!(
                    encode_command(db, &a),
                    p,
                    "decoded payload re-encodes exactly"
                );
            }
        }
    }

    #[test]
    fn header_round_trips_and_detects_damage() {
        let h = SegmentHeader {
            kind: SegmentKind::Incr,
            segment_id: 42,
            shard_id: 3,
            seed: 0x1234_5678_9abc_def0,
        };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        for i in 0..SEGMENT_HEADER_BYTES {
            let mut bad = b;
            bad[i] ^= 0x40;
            assert!(SegmentHeader::decode(&bad).is_err(), "flip at {i}");
        }
        assert!(SegmentHeader::decode(&b[..43]).is_err());
    }

    #[test]
    fn record_from_one_segment_fails_in_another() {
        let payload = encode_command(0, &args(&["SET", "k", "v"]));
        let mut rec = Vec::new();
        encode_record_into(&mut rec, 1111, &payload);
        let crc = le_u32(&rec[4..8]);
        assert_eq!(crc, record_crc(1111, &payload));
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let other = rng.next_u64();
            if other != 1111 {
                assert_ne!(record_crc(other, &payload), crc);
            }
        }
    }

    /// The worked example in docs/PERSISTENCE.md, byte for byte.
    #[test]
    fn golden_bytes_match_the_spec() {
        let seed = 0x0123_4567_89ab_cdef;
        let header = SegmentHeader {
            kind: SegmentKind::Incr,
            segment_id: 7,
            shard_id: 0,
            seed,
        };
        let hex = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            hex(&header.encode()),
            "43 4b 56 53 45 47 0d 0a 01 00 00 00 02 00 00 00 07 00 00 00 00 00 00 00 \
             00 00 00 00 00 00 00 00 ef cd ab 89 67 45 23 01 18 e6 1d 8f"
        );
        let mut rec = Vec::new();
        encode_record_into(
            &mut rec,
            seed,
            &encode_command(0, &args(&["SET", "k", "v"])),
        );
        assert_eq!(
            hex(&rec),
            "17 00 00 00 35 ab bc a1 00 00 03 00 00 00 03 00 00 00 53 45 54 01 00 00 00 \
             6b 01 00 00 00 76"
        );
    }

    #[test]
    fn payload_limits() {
        assert!(matches!(
            check_payload_len(0),
            Err(super::super::LogError::EmptyRecord)
        ));
        assert!(check_payload_len(MAX_RECORD_PAYLOAD_BYTES as usize).is_ok());
        assert!(check_payload_len(MAX_RECORD_PAYLOAD_BYTES as usize + 1).is_err());
    }
}

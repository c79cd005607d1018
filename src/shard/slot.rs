//! Redis Cluster key slots: `CRC16(key) mod 16384`, with hash tags.
//!
//! # Contract
//!
//! [`key_slot`] returns exactly what Redis's `keyHashSlot` (`cluster.c`) returns, so that
//! `CLUSTER KEYSLOT`, cluster-aware clients and our own routing agree on where a key lives.
//! Keys that share a hash tag (`{user1000}.following`, `{user1000}.followers`) share a slot,
//! which is what lets multi-key commands on them run on one shard.
//!
//! The hash tag is the part between the first `{` and the first `}` after it. If there is
//! no `{`, no `}` after it, or nothing between them (`{}`), the whole key is hashed.
//!
//! [`crc16`] is CRC16-CCITT in the XMODEM variant (polynomial 0x1021, initial value 0, no
//! reflection, no final xor), as in Redis's `crc16.c`; its check value is
//! `crc16(b"123456789") == 0x31C3`.

/// Number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// Byte-at-a-time lookup table for [`crc16`], computed at compile time.
const CRC16_TABLE: [u16; 256] = crc16_table();

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC16-CCITT (XMODEM) of `data`, as Redis computes it for key slots.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The Redis Cluster slot of `key`, in `0..SLOT_COUNT`.
pub fn key_slot(key: &[u8]) -> u16 {
    // SLOT_COUNT is a power of two, so the mask is the modulus Redis uses (`& 0x3FFF`).
    crc16(hashed_part(key)) & (SLOT_COUNT - 1)
}

/// The bytes that decide the slot: the hash tag if there is a non-empty one, else the key.
fn hashed_part(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let after_open = &key[open + 1..];
    match after_open.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &after_open[..close],
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_redis() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
        // First and last entries of crc16tab in Redis's crc16.c.
        assert_eq!(&CRC16_TABLE[..4], &[0x0000, 0x1021, 0x2042, 0x3063]);
        assert_eq!(CRC16_TABLE[255], 0x1ef0);
    }

    #[test]
    fn known_slots() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
        assert!((0..10_000).all(|i| key_slot(format!("key:{i}").as_bytes()) < SLOT_COUNT));
    }

    #[test]
    fn hash_tags_follow_key_hash_slot() {
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // Empty tag: the whole key.
        assert_eq!(hashed_part(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 0x3FFF);
        // First `{`, then the first `}` after it.
        assert_eq!(hashed_part(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(hashed_part(b"foo{bar}{zap}"), b"bar");
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        // No closing brace, or a `}` only before the `{`: the whole key.
        assert_eq!(hashed_part(b"foo{bar"), b"foo{bar");
        assert_eq!(hashed_part(b"}foo{bar"), b"}foo{bar");
        assert_eq!(hashed_part(b"{}"), b"{}");
        assert_eq!(hashed_part(b"a{b}"), b"b");
    }
}

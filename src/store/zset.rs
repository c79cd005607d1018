//! The sorted-set type: members ordered by (score, member), in Redis's two encodings.
//!
//! - `Pack`: a [`Listpack`] of member, score, member, score... in order, while the set has
//!   at most `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes
//!   (OBJECT ENCODING `listpack`). A score is stored as the 8 bytes of its IEEE-754 bits,
//!   little-endian, so it round-trips exactly.

use super::listpack::Listpack;

#[derive(Clone, Debug, PartialEq)]
pub enum ZSet {
    Pack(Listpack),
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::Pack(Listpack::new())
    }
}

/// A packed score's bytes back to the double.
pub fn unpack_score(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    f64::from_le_bytes(a)
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.len() / 2,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
        }
    }

    /// Every (member, score), lowest score first.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSet::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || {
                    let m = it.next()?;
                    Some((m, unpack_score(it.next()?)))
                }))
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.heap_bytes(),
        }
    }
}

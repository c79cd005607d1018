//! The hash type: field → value, in one of Redis's two encodings.
//!
//! - `Pack`: a [`Listpack`] of field, value, field, value... in insertion order, while the
//!   hash has at most `hash-max-listpack-entries` fields and every field and value is at
//!   most `hash-max-listpack-value` bytes (OBJECT ENCODING `listpack`). Lookups are linear,
//!   which on a few hundred short entries beats hashing, and memory is ~2 bytes of overhead
//!   per string.
//! - `Table`: a [`Dict`] (OBJECT ENCODING `hashtable`) once either limit is crossed. Like
//!   Redis, a hash never converts back. Each entry's key is a [`Pair`]: field and value in
//!   one allocation, so a field costs one 24-byte dict entry plus one small block (measured
//!   by benches/memory.sh) instead of an entry holding two 32-byte `Bytes` handles, each with
//!   its own block.

use std::borrow::Borrow;

use super::dict::Dict;
use super::encoding::limits;
use super::listpack::Listpack;

#[derive(Clone, Debug)]
pub enum Hash {
    Pack(Listpack),
    /// Boxed so a packed hash (the common case) does not carry a dict's size.
    Table(Box<Dict<Pair, ()>>),
}

/// A field and its value in one block: `[field length: u32 LE][field][value]`. Hashes and
/// compares as its field alone (it is the dict key, looked up by `&[u8]` field).
#[derive(Clone)]
pub struct Pair(Box<[u8]>);

impl Pair {
    fn new(field: &[u8], value: &[u8]) -> Pair {
        let mut b = Vec::with_capacity(4 + field.len() + value.len());
        b.extend_from_slice(&(field.len() as u32).to_le_bytes());
        b.extend_from_slice(field);
        b.extend_from_slice(value);
        Pair(b.into_boxed_slice())
    }

    fn field_len(&self) -> usize {
        let mut n = [0u8; 4];
        n.copy_from_slice(&self.0[..4]);
        u32::from_le_bytes(n) as usize
    }

    pub fn field(&self) -> &[u8] {
        &self.0[4..4 + self.field_len()]
    }

    pub fn value(&self) -> &[u8] {
        &self.0[4 + self.field_len()..]
    }
}

impl Borrow<[u8]> for Pair {
    fn borrow(&self) -> &[u8] {
        self.field()
    }
}

impl PartialEq for Pair {
    fn eq(&self, other: &Pair) -> bool {
        self.field() == other.field()
    }
}

impl Eq for Pair {}

impl std::hash::Hash for Pair {
    /// Exactly as the field slice hashes, so `Borrow<[u8]>` lookups agree.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.field().hash(h);
    }
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}={:?}",
            String::from_utf8_lossy(self.field()),
            String::from_utf8_lossy(self.value())
        )
    }
}

impl Default for Hash {
    fn default() -> Hash {
        Hash::Pack(Listpack::new())
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values, whatever the encoding or order.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Pack(p) => p.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack(p) => p.find_key(field).and_then(|o| p.next(o)).map(|v| p.get(v)),
            Hash::Table(d) => d.get_key_value(field).map(|(p, _)| p.value()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => p.find_key(field).is_some(),
            Hash::Table(d) => d.contains_key(field),
        }
    }

    /// Sets `field` to `value`. Returns true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Hash::Pack(p) = self {
            if let Some(f) = p.find_key(field) {
                let v = p.next(f).expect("a packed field is followed by its value");
                p.replace_at(v, value);
                if value.len() > limits().hash_max_listpack_value {
                    self.convert();
                }
                return false;
            }
            let l = limits();
            let fits = field.len() <= l.hash_max_listpack_value
                && value.len() <= l.hash_max_listpack_value
                && p.len() / 2 < l.hash_max_listpack_entries;
            if fits {
                p.push_back(field);
                p.push_back(value);
                return true;
            }
            self.convert();
        }
        match self {
            Hash::Table(d) => {
                // The value lives in the key's block: replace the entry.
                let existed = d.remove(field).is_some();
                d.insert(Pair::new(field, value), ());
                !existed
            }
            Hash::Pack(_) => unreachable!("converted above"),
        }
    }

    /// Removes `field`. Returns true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => match p.find_key(field) {
                Some(f) => {
                    p.remove_run(f, 2);
                    p.shrink_if_sparse();
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// Turns a packed hash into a table (one-way, as in Redis).
    fn convert(&mut self) {
        if let Hash::Pack(p) = self {
            let mut d = Box::new(Dict::new());
            let mut it = p.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert(Pair::new(f, v), ());
            }
            *self = Hash::Table(d);
        }
    }

    /// Every (field, value): insertion order for a pack, bucket order for a table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            Hash::Table(d) => Box::new(d.iter().map(|(p, _)| (p.field(), p.value()))),
        }
    }

    /// One HSCAN step: calls `f` on the entries under `cursor` and returns the next cursor
    /// (0 = done). A pack is returned whole in one step, as Redis does for listpacks.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Pack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            Hash::Table(d) => d.scan(cursor, |p, _| f(p.field(), p.value())),
        }
    }

    /// A uniformly random (field, value) for a pack; Redis's fair random entry for a table.
    pub fn random(&self, rand: &mut impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Pack(p) => {
                if p.is_empty() {
                    return None;
                }
                let i = (rand() % (p.len() as u64 / 2)) as i64;
                let f = p.seek(i * 2)?;
                Some((p.get(f), p.get(p.next(f)?)))
            }
            Hash::Table(d) => d.random_entry(rand).map(|(p, _)| (p.field(), p.value())),
        }
    }

    /// Approximate heap bytes, for INFO memory and MEMORY USAGE.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Hash::Pack(p) => p.heap_bytes(),
            Hash::Table(d) => d.heap_bytes() + d.iter().map(|(p, _)| p.0.len()).sum::<usize>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoding::{Limits, set_limits};

    #[test]
    fn converts_on_size_and_keeps_every_field() {
        set_limits(Limits {
            hash_max_listpack_entries: 4,
            ..Limits::default()
        });
        let mut h = Hash::new();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f0", b"w"), "an existing field is not new");
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        assert!(h.set(b"f4", b"v"));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        assert!(h.remove(b"f0"));
        assert!(!h.remove(b"f0"));
        assert_eq!(h.len(), 4);
        set_limits(Limits::default());
    }

    #[test]
    fn a_long_value_converts_and_order_is_insertion_order_while_packed() {
        let mut h = Hash::new();
        h.set(b"b", b"1");
        h.set(b"a", b"2");
        let fields: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec![&b"b"[..], &b"a"[..]]);
        h.set(b"a", &[b'x'; 65]);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a").map(<[u8]>::len), Some(65));
        assert_eq!(h.get(b"b"), Some(&b"1"[..]));
        let mut n = 0;
        let mut rand = || 7u64;
        assert!(h.random(&mut rand).is_some());
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, |_, _| n += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(n, 2);
    }
}

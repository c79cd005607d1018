//! `Listpack`: a compact sequence of byte strings in one allocation, after Redis's listpack.
//!
//! Small hashes, lists (each node of a list) and sorted sets keep their elements here instead
//! of one heap block per element: a 10-byte element costs 12 bytes, not the 32-byte `Bytes`
//! handle plus its own allocation. Operations are O(n) in the pack's byte length (memmove),
//! which is why owners convert to a hash table or skiplist past a size threshold, as Redis
//! does (`hash-max-listpack-entries` and friends).
//!
//! # Layout
//!
//! Entries follow each other in `buf`. Each entry is `header, data, trailer`, where header and
//! trailer both encode the data length so the pack can be walked in both directions:
//!
//! - data shorter than 128 bytes: header = trailer = one byte, the length;
//! - otherwise: header = `0x80` then the length as `u32` little-endian; trailer = the length
//!   as `u32` little-endian then `0x80`.
//!
//! An entry is addressed by its byte offset (an [`Off`]); offsets stay valid until the next
//! mutation. Elements are limited to `u32::MAX - 1` bytes (the protocol's bulk limit is far
//! below that).

/// Byte offset of an entry's header in the pack.
pub type Off = usize;

const LONG: u8 = 0x80;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    count: u32,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

fn entry_size(len: usize) -> usize {
    if len < LONG as usize {
        len + 2
    } else {
        len + 10
    }
}

fn encode_into(out: &mut [u8], data: &[u8]) {
    let len = data.len();
    if len < LONG as usize {
        out[0] = len as u8;
        out[1..1 + len].copy_from_slice(data);
        out[1 + len] = len as u8;
    } else {
        let n = (len as u32).to_le_bytes();
        out[0] = LONG;
        out[1..5].copy_from_slice(&n);
        out[5..5 + len].copy_from_slice(data);
        out[5 + len..9 + len].copy_from_slice(&n);
        out[9 + len] = LONG;
    }
}

impl Listpack {
    pub fn new() -> Listpack {
        Listpack::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of encoded entries (what the pack would occupy if exactly sized).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Offset of the first entry, if any.
    pub fn first(&self) -> Option<Off> {
        (!self.buf.is_empty()).then_some(0)
    }

    /// Offset of the last entry, if any.
    pub fn last(&self) -> Option<Off> {
        let end = self.buf.len();
        if end == 0 {
            return None;
        }
        Some(end - entry_size(self.len_before(end)))
    }

    /// Data length of the entry that ends at byte `end`.
    fn len_before(&self, end: usize) -> usize {
        let t = self.buf[end - 1];
        if t != LONG {
            return t as usize;
        }
        let mut n = [0u8; 4];
        n.copy_from_slice(&self.buf[end - 5..end - 1]);
        u32::from_le_bytes(n) as usize
    }

    /// (data start, data length) of the entry at `off`.
    fn span(&self, off: Off) -> (usize, usize) {
        let h = self.buf[off];
        if h != LONG {
            return (off + 1, h as usize);
        }
        let mut n = [0u8; 4];
        n.copy_from_slice(&self.buf[off + 1..off + 5]);
        (off + 5, u32::from_le_bytes(n) as usize)
    }

    /// The data of the entry at `off`.
    pub fn get(&self, off: Off) -> &[u8] {
        let (start, len) = self.span(off);
        &self.buf[start..start + len]
    }

    /// Offset of the entry after the one at `off`.
    pub fn next(&self, off: Off) -> Option<Off> {
        let (_, len) = self.span(off);
        let n = off + entry_size(len);
        (n < self.buf.len()).then_some(n)
    }

    /// Offset of the entry before the one at `off`.
    pub fn prev(&self, off: Off) -> Option<Off> {
        (off > 0).then(|| off - entry_size(self.len_before(off)))
    }

    /// Offset of entry number `index` (0-based; negative counts from the end), walking from
    /// the nearer end.
    pub fn seek(&self, index: i64) -> Option<Off> {
        let n = self.len() as i64;
        let i = if index < 0 { n + index } else { index };
        if i < 0 || i >= n {
            return None;
        }
        if i <= n / 2 {
            let mut off = self.first()?;
            for _ in 0..i {
                off = self.next(off)?;
            }
            Some(off)
        } else {
            let mut off = self.last()?;
            for _ in 0..(n - 1 - i) {
                off = self.prev(off)?;
            }
            Some(off)
        }
    }

    /// Inserts `data` as a new entry at byte offset `at` (an entry's offset: before that
    /// entry; `byte_len()`: at the end).
    pub fn insert_at(&mut self, at: Off, data: &[u8]) {
        let size = entry_size(data.len());
        let old_len = self.buf.len();
        // Grow by an eighth, not by doubling: packs are small and long-lived, and slack is
        // most of what a pack would waste (Redis reallocates to the exact size every time).
        if self.buf.capacity() - old_len < size {
            self.buf.reserve_exact(size.max(old_len / 8));
        }
        self.buf.resize(old_len + size, 0);
        self.buf.copy_within(at..old_len, at + size);
        encode_into(&mut self.buf[at..at + size], data);
        self.count += 1;
    }

    pub fn push_back(&mut self, data: &[u8]) {
        self.insert_at(self.buf.len(), data);
    }

    pub fn push_front(&mut self, data: &[u8]) {
        self.insert_at(0, data);
    }

    /// Removes the entry at `off`. Returns the offset of the entry that now sits there, if
    /// any (so a forward walk can continue).
    pub fn remove_at(&mut self, off: Off) -> Option<Off> {
        let (_, len) = self.span(off);
        self.buf.drain(off..off + entry_size(len));
        self.count -= 1;
        (off < self.buf.len()).then_some(off)
    }

    /// Removes `n` consecutive entries starting at `off`.
    pub fn remove_run(&mut self, off: Off, n: usize) {
        let mut end = off;
        let mut removed = 0;
        while removed < n && end < self.buf.len() {
            end += entry_size(self.span(end).1);
            removed += 1;
        }
        self.buf.drain(off..end);
        self.count -= removed as u32;
    }

    /// Replaces the data of the entry at `off`.
    pub fn replace_at(&mut self, off: Off, data: &[u8]) {
        let (start, len) = self.span(off);
        if len == data.len() {
            self.buf[start..start + len].copy_from_slice(data);
            return;
        }
        let old = entry_size(len);
        let new = entry_size(data.len());
        let mut entry = vec![0u8; new];
        encode_into(&mut entry, data);
        self.buf.splice(off..off + old, entry);
    }

    /// Every entry, first to last (double-ended).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            pack: self,
            front: 0,
            back: self.buf.len(),
        }
    }

    /// Offset of the first entry at an even index (0, 2, 4...) equal to `data`: the lookup
    /// of a field in a pack of (field, value) pairs.
    pub fn find_key(&self, data: &[u8]) -> Option<Off> {
        let mut off = self.first();
        while let Some(o) = off {
            if self.get(o) == data {
                return Some(o);
            }
            off = self.next(o).and_then(|v| self.next(v));
        }
        None
    }

    /// Offset of the first entry equal to `data`.
    pub fn find(&self, data: &[u8]) -> Option<Off> {
        let mut off = self.first();
        while let Some(o) = off {
            if self.get(o) == data {
                return Some(o);
            }
            off = self.next(o);
        }
        None
    }

    /// Shrinks the allocation when it is much larger than the content.
    pub fn shrink_if_sparse(&mut self) {
        if self.buf.capacity() > 64 && self.buf.capacity() > self.buf.len() * 2 {
            self.buf.shrink_to_fit();
        }
    }
}

/// Iterator over a pack's entries.
pub struct Iter<'a> {
    pack: &'a Listpack,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (start, len) = self.pack.span(self.front);
        self.front += entry_size(len);
        Some(&self.pack.buf[start..start + len])
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        let len = self.pack.len_before(self.back);
        self.back -= entry_size(len);
        let (start, len) = self.pack.span(self.back);
        Some(&self.pack.buf[start..start + len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(p: &Listpack) -> Vec<Vec<u8>> {
        p.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn matches_a_vec_model_under_random_edits() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut p = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for step in 0..4000 {
            let len = match rand() % 10 {
                0 => 127 + (rand() % 3) as usize,
                1 => 300,
                _ => (rand() % 20) as usize,
            };
            let data: Vec<u8> = (0..len).map(|i| (i as u64 ^ step) as u8).collect();
            match rand() % 6 {
                0 => {
                    p.push_back(&data);
                    model.push(data);
                }
                1 => {
                    p.push_front(&data);
                    model.insert(0, data);
                }
                2 if !model.is_empty() => {
                    let i = (rand() % model.len() as u64) as usize;
                    let off = p.seek(i as i64).unwrap();
                    p.remove_at(off);
                    model.remove(i);
                }
                3 if !model.is_empty() => {
                    let i = (rand() % model.len() as u64) as usize;
                    let off = p.seek(-(model.len() as i64) + i as i64).unwrap();
                    p.replace_at(off, &data);
                    model[i] = data;
                }
                4 => {
                    let i = (rand() % (model.len() as u64 + 1)) as usize;
                    let at = p.seek(i as i64).unwrap_or(p.byte_len());
                    p.insert_at(at, &data);
                    model.insert(i, data);
                }
                _ if model.len() > 2 => {
                    let i = (rand() % (model.len() as u64 - 1)) as usize;
                    p.remove_run(p.seek(i as i64).unwrap(), 2);
                    model.drain(i..i + 2);
                }
                _ => {}
            }
            assert_eq!(p.len(), model.len());
        }
        assert_eq!(items(&p), model);
        let rev: Vec<Vec<u8>> = p.iter().rev().map(<[u8]>::to_vec).collect();
        let mut m = model.clone();
        m.reverse();
        assert_eq!(rev, m);
        // Walking by offsets agrees with the iterator both ways.
        let mut off = p.last();
        let mut back = Vec::new();
        while let Some(o) = off {
            back.push(p.get(o).to_vec());
            off = p.prev(o);
        }
        assert_eq!(back, m);
    }

    #[test]
    fn finds_keys_only_at_even_positions() {
        let mut p = Listpack::new();
        for s in ["f1", "v", "f2", "f1"] {
            p.push_back(s.as_bytes());
        }
        assert_eq!(p.find_key(b"v"), None, "v is a value");
        assert_eq!(p.find(b"v"), p.seek(1));
        assert_eq!(p.find_key(b"f1"), Some(0));
        assert_eq!(p.find_key(b"f2"), p.seek(2));
        assert_eq!(p.find(b"f1"), Some(0));
    }

    #[test]
    fn long_entries_round_trip() {
        let mut p = Listpack::new();
        let big = vec![7u8; 70_000];
        p.push_back(b"a");
        p.push_back(&big);
        p.push_back(b"b");
        assert_eq!(p.get(p.seek(1).unwrap()), &big[..]);
        assert_eq!(p.get(p.last().unwrap()), b"b");
        assert_eq!(p.prev(p.last().unwrap()), p.seek(1));
        assert_eq!(p.byte_len(), 3 + 70_010 + 3);
    }
}

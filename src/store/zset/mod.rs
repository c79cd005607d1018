//! The sorted-set type: members ordered by (score, member), in Redis's two encodings.
//!
//! - `Pack`: a [`Listpack`] of member, score, member, score... in order, while the set has
//!   at most `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes
//!   (OBJECT ENCODING `listpack`). A score is stored as the 8 bytes of its IEEE-754 bits,
//!   little-endian, so it round-trips exactly. Every operation is a linear walk, which on at
//!   most a few hundred short entries is cheap and compact.
//! - `Skip`: a [`SkipList`] with spans (rank queries in O(log n)) plus a [`Dict`]
//!   member → score (ZSCORE in O(1)), reported as `skiplist`. Like Redis, the conversion is
//!   one-way; only a whole new value (a *STORE result) picks its encoding from its size.
//!
//! Every range query is expressed in ranks: a score or lex bound becomes "how many elements
//! lie before it" ([`ZSet::count_while`]), so ZCOUNT, ZRANGEBYSCORE and ZREMRANGEBYLEX all
//! reduce to a rank interval.

mod skiplist;

use bytes::Bytes;

pub use skiplist::SkipList;

use super::dict::Dict;
use super::encoding::limits;
use super::listpack::Listpack;

#[derive(Clone, Debug)]
pub enum ZSet {
    Pack(Listpack),
    Skip(Box<SkipSet>),
}

/// The large encoding: the order and the lookup, always holding the same members.
#[derive(Clone, Debug, Default)]
pub struct SkipSet {
    pub list: SkipList,
    pub dict: Dict<Bytes, f64>,
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::Pack(Listpack::new())
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

/// A packed score's bytes back to the double.
pub fn unpack_score(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    if b.len() >= 8 {
        a.copy_from_slice(&b[..8]);
    }
    f64::from_le_bytes(a)
}

/// (a_score, a_member) < (b_score, b_member): the set's order.
pub fn less(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> bool {
    a_score < b_score || (a_score == b_score && a_member < b_member)
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// A new set holding `items` (distinct members), packed when it fits the limits, as
    /// Redis sizes a ZUNIONSTORE / ZRANGESTORE destination.
    pub fn from_items(items: impl IntoIterator<Item = (Bytes, f64)>) -> ZSet {
        let items: Vec<(Bytes, f64)> = items.into_iter().collect();
        let l = limits();
        let fits = items.len() <= l.zset_max_listpack_entries
            && items
                .iter()
                .all(|(m, _)| m.len() <= l.zset_max_listpack_value);
        let mut z = if fits {
            ZSet::new()
        } else {
            ZSet::Skip(Box::default())
        };
        for (m, s) in items {
            z.insert(&m, s);
        }
        z
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.len() / 2,
            ZSet::Skip(s) => s.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip(_) => "skiplist",
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
            ZSet::Skip(s) => Box::new(s.list.iter().map(|(m, s)| (&m[..], s))),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => p
                .find_key(member)
                .and_then(|o| p.next(o))
                .map(|o| unpack_score(p.get(o))),
            ZSet::Skip(s) => s.dict.get(member).copied(),
        }
    }

    /// Sets `member`'s score, adding it if missing. Returns true if it was added.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if let ZSet::Pack(p) = self {
            let old = p.find_key(member);
            let l = limits();
            let grows = old.is_none() && p.len() / 2 + 1 > l.zset_max_listpack_entries;
            if grows || member.len() > l.zset_max_listpack_value {
                self.convert();
            } else {
                if let Some(o) = old {
                    p.remove_run(o, 2);
                }
                // Redis's listpack keeps a zero score as the integer 0, so a packed -0 reads
                // back as 0 (the skiplist keeps the sign, as Redis's does).
                let score = if score == 0.0 { 0.0 } else { score };
                pack_insert(p, member, score);
                return old.is_none();
            }
        }
        let ZSet::Skip(s) = self else {
            unreachable!("converted above")
        };
        let key = Bytes::copy_from_slice(member);
        match s.dict.insert(key.clone(), score) {
            Some(old) => {
                s.list.remove(old, member);
                s.list.insert(key, score);
                false
            }
            None => {
                s.list.insert(key, score);
                true
            }
        }
    }

    /// Removes `member`. Returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Pack(p) => match p.find_key(member) {
                Some(o) => {
                    p.remove_run(o, 2);
                    p.shrink_if_sparse();
                    true
                }
                None => false,
            },
            ZSet::Skip(s) => match s.dict.remove(member) {
                Some(score) => s.list.remove(score, member),
                None => false,
            },
        }
    }

    /// 0-based rank of `member`, lowest score first.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.count_while(|m, s| less(s, m, score, member)))
    }

    /// How many elements, from the lowest, satisfy `before` (true for a prefix of the
    /// order): the first rank past a range bound. O(log n) on a skiplist.
    pub fn count_while(&self, before: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            ZSet::Pack(_) => self.iter().take_while(|(m, s)| before(m, *s)).count(),
            ZSet::Skip(s) => s.list.count_while(before),
        }
    }

    /// Elements at ranks `start..end` ascending, or from `end - 1` down to `start` if `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(Bytes, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match self {
            ZSet::Pack(_) => {
                let mut v: Vec<(Bytes, f64)> = self
                    .iter()
                    .skip(start)
                    .take(end - start)
                    .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                    .collect();
                if rev {
                    v.reverse();
                }
                v
            }
            ZSet::Skip(s) => s.list.range(start, end, rev),
        }
    }

    /// Removes the elements at ranks `start..end`; returns them, lowest first.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Bytes, f64)> {
        let gone = self.range(start, end, false);
        match self {
            ZSet::Pack(p) => {
                if let Some(o) = p.seek(start as i64 * 2) {
                    p.remove_run(o, gone.len() * 2);
                    p.shrink_if_sparse();
                }
            }
            ZSet::Skip(s) => {
                for (m, score) in &gone {
                    s.dict.remove(&m[..]);
                    s.list.remove(*score, m);
                }
            }
        }
        gone
    }

    /// One ZSCAN step: calls `f` on the entries under `cursor` and returns the next cursor
    /// (0 = done). A pack is returned whole in one step, as Redis does for listpacks.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Pack(_) => {
                for (m, s) in self.iter() {
                    f(m, s);
                }
                0
            }
            ZSet::Skip(s) => s.dict.scan(cursor, |m, s| f(m, *s)),
        }
    }

    /// A uniformly random element for a pack; Redis's fair random entry for a skiplist.
    pub fn random(&self, rand: &mut impl FnMut() -> u64) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Pack(p) => {
                if p.is_empty() {
                    return None;
                }
                let i = (rand() % (p.len() as u64 / 2)) as i64;
                let m = p.seek(i * 2)?;
                Some((p.get(m), unpack_score(p.get(p.next(m)?))))
            }
            ZSet::Skip(s) => s.dict.random_entry(rand).map(|(m, s)| (&m[..], *s)),
        }
    }

    /// Turns a pack into a skiplist (one-way, as in Redis).
    fn convert(&mut self) {
        if let ZSet::Pack(_) = self {
            let mut set = SkipSet::default();
            for (m, s) in self.iter() {
                let key = Bytes::copy_from_slice(m);
                set.dict.insert(key.clone(), s);
                set.list.insert(key, s);
            }
            *self = ZSet::Skip(Box::new(set));
        }
    }

    /// Approximate heap bytes, for INFO memory and MEMORY USAGE.
    pub fn heap_bytes(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.heap_bytes(),
            ZSet::Skip(s) => {
                s.list.heap_bytes()
                    + s.dict.heap_bytes()
                    + s.dict.iter().map(|(m, _)| m.len()).sum::<usize>()
            }
        }
    }
}

/// Inserts (member, score) at its ordered place in a pack without that member.
fn pack_insert(p: &mut Listpack, member: &[u8], score: f64) {
    let mut off = p.first();
    while let Some(o) = off {
        let Some(so) = p.next(o) else { break };
        if less(score, member, unpack_score(p.get(so)), p.get(o)) {
            p.insert_at(o, &score.to_le_bytes());
            p.insert_at(o, member);
            return;
        }
        off = p.next(so);
    }
    p.push_back(member);
    p.push_back(&score.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoding::{Limits, set_limits};

    #[test]
    fn converts_at_the_limits_and_keeps_order_and_ranks() {
        set_limits(Limits {
            zset_max_listpack_entries: 4,
            ..Limits::default()
        });
        let mut z = ZSet::new();
        for (i, m) in ["d", "b", "a", "c"].iter().enumerate() {
            assert!(z.insert(m.as_bytes(), (i % 2) as f64));
        }
        assert_eq!(z.encoding(), "listpack");
        assert!(!z.insert(b"d", 5.0));
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(order, [&b"a"[..], b"b", b"c", b"d"]);
        assert!(z.insert(b"e", -1.0));
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.rank(b"e"), Some(0));
        assert_eq!(z.rank(b"d"), Some(4));
        assert_eq!(z.score(b"d"), Some(5.0));
        let removed = z.remove_range(1, 3);
        assert_eq!(removed.len(), 2);
        assert_eq!(z.len(), 3);
        assert_eq!(z.range(0, 3, true)[0].0, Bytes::from_static(b"d"));
        set_limits(Limits::default());
        let mut long = ZSet::new();
        long.insert(&[b'x'; 65], 1.0);
        assert_eq!(long.encoding(), "skiplist");
    }

    #[test]
    fn a_packed_negative_zero_reads_back_as_zero() {
        let mut z = ZSet::new();
        z.insert(b"a", -0.0);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
    }
}

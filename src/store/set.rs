//! The set type, in Redis 7.0's two encodings.
//!
//! - `Ints`: a sorted `Vec<i64>` while every member is an integer in canonical form and the
//!   set has at most `set-max-intset-entries` members (OBJECT ENCODING `intset`): 8 bytes a
//!   member, binary search, members come back in ascending order as in Redis.
//! - `Table`: a [`Dict`] of members (OBJECT ENCODING `hashtable`). One-way, as in Redis:
//!   a set that once held a non-integer or grew past the limit stays a table.
//!
//! "Canonical" is Redis's `string2ll`: no sign but `-`, no leading zeros, no `-0`, fits in
//! an `i64` ([`crate::util::parse_i64`]). `"01"` is a string member, distinct from `"1"`.

use bytes::Bytes;

use super::dict::Dict;
use super::encoding::limits;
use crate::util::parse_i64;

#[derive(Clone, Debug)]
pub enum Set {
    Ints(Vec<i64>),
    /// Members as boxed slices (16 bytes in the entry, one exact-size block each) rather
    /// than `Bytes` (32 bytes): ~16 bytes less per member (benches/memory.sh). Boxed so an
    /// intset does not carry a dict's size.
    Table(Box<Dict<Box<[u8]>, ()>>),
}

impl Default for Set {
    fn default() -> Set {
        Set::Ints(Vec::new())
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encoding or order.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.members().iter().all(|m| other.contains(m))
    }
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    /// A set of `members` built the way SADD builds one (so with the same encoding).
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Set {
        let mut s = Set::new();
        for m in members {
            s.insert(m);
        }
        s
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(v) => parse_i64(member).is_some_and(|i| v.binary_search(&i).is_ok()),
            Set::Table(d) => d.contains_key(member),
        }
    }

    /// Adds `member`. Returns true if it is new. Converts to a table when the member is not
    /// a canonical integer or the intset would pass `set-max-intset-entries`.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if let Set::Ints(v) = self {
            if let Some(i) = parse_i64(member) {
                let at = match v.binary_search(&i) {
                    Ok(_) => return false,
                    Err(at) => at,
                };
                if v.len() < limits().set_max_intset_entries {
                    v.insert(at, i);
                    return true;
                }
            }
            self.convert();
        }
        match self {
            Set::Table(d) => d.insert(Box::from(member), ()).is_none(),
            Set::Ints(_) => unreachable!("converted above"),
        }
    }

    /// Removes `member`. Returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(v) => match parse_i64(member).map(|i| v.binary_search(&i)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Set::Table(d) => d.remove(member).is_some(),
        }
    }

    /// Turns an intset into a table (one-way, as in Redis).
    fn convert(&mut self) {
        if let Set::Ints(v) = self {
            let mut d = Box::new(Dict::new());
            let mut buf = itoa::Buffer::new();
            for &i in v.iter() {
                d.insert(Box::from(buf.format(i).as_bytes()), ());
            }
            *self = Set::Table(d);
        }
    }

    /// Calls `f` on every member (integers in their decimal form): ascending for an intset,
    /// bucket order for a table.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Ints(v) => {
                let mut buf = itoa::Buffer::new();
                for &i in v {
                    f(buf.format(i).as_bytes());
                }
            }
            Set::Table(d) => {
                for (m, _) in d.iter() {
                    f(m);
                }
            }
        }
    }

    /// Every member, owned, in [`Set::for_each`] order.
    pub fn members(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.len());
        match self {
            Set::Ints(_) => self.for_each(|m| out.push(Bytes::copy_from_slice(m))),
            Set::Table(d) => out.extend(d.iter().map(|(m, _)| Bytes::copy_from_slice(m))),
        }
        out
    }

    /// A uniformly random member of an intset; Redis's fair random entry for a table.
    pub fn random(&self, rand: &mut impl FnMut() -> u64) -> Option<Bytes> {
        match self {
            Set::Ints(v) if v.is_empty() => None,
            Set::Ints(v) => {
                let i = v[(rand() % v.len() as u64) as usize];
                Some(Bytes::from(i.to_string()))
            }
            Set::Table(d) => d.random_entry(rand).map(|(m, _)| Bytes::copy_from_slice(m)),
        }
    }

    /// One SSCAN step: calls `f` on the members under `cursor` and returns the next cursor
    /// (0 = done). An intset is returned whole in one step, as Redis does.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Ints(_) => {
                self.for_each(f);
                0
            }
            Set::Table(d) => d.scan(cursor, |m, _| f(m)),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Set::Ints(v) => v.capacity() * 8,
            Set::Table(d) => d.heap_bytes() + d.iter().map(|(m, _)| m.len()).sum::<usize>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoding::{Limits, set_limits};

    #[test]
    fn integers_stay_an_ordered_intset_until_the_limit() {
        set_limits(Limits {
            set_max_intset_entries: 3,
            ..Limits::default()
        });
        let mut s = Set::new();
        assert!(s.insert(b"3"));
        assert!(s.insert(b"-1"));
        assert!(!s.insert(b"3"));
        assert!(s.insert(b"2"));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.members(), vec!["-1", "2", "3"]);
        assert!(s.insert(b"4"), "the fourth integer converts");
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 4);
        assert!(s.contains(b"-1") && s.contains(b"4"));
        assert!(s.remove(b"4") && !s.remove(b"4"));
        assert_eq!(s.encoding(), "hashtable", "one-way");
        set_limits(Limits::default());
    }

    #[test]
    fn non_canonical_integers_are_strings() {
        for m in [
            &b"01"[..],
            b"-0",
            b"+1",
            b" 1",
            b"9223372036854775808",
            b"a",
        ] {
            let mut s = Set::from_members([&b"1"[..]]);
            assert!(!s.contains(m));
            assert!(s.insert(m));
            assert_eq!(s.encoding(), "hashtable", "{m:?}");
            assert!(s.contains(m) && s.contains(b"1"));
        }
        let s = Set::from_members([&b"-9223372036854775808"[..], b"0"]);
        assert_eq!(s.encoding(), "intset");
        assert!(!s.remove_probe(b"00"));
    }

    impl Set {
        fn remove_probe(&self, m: &[u8]) -> bool {
            self.clone().remove(m)
        }
    }

    #[test]
    fn random_and_scan_see_every_member() {
        let mut s = Set::from_members([&b"a"[..], b"b", b"c"]);
        let mut x = 1u64;
        let mut rand = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            x >> 11
        };
        assert!(s.random(&mut rand).is_some_and(|m| s.contains(&m)));
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = s.scan(cursor, |m| seen.push(m.to_vec()));
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        s.remove(b"a");
        assert_eq!(s, Set::from_members([&b"c"[..], b"b"]));
    }
}

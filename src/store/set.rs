//! The set type, in Redis 7.0's two encodings.
//!
//! - `Ints`: a sorted `Vec<i64>` while every member is an integer in canonical form and the
//!   set has at most `set-max-intset-entries` members (OBJECT ENCODING `intset`): 8 bytes a
//!   member, binary search, members come back in ascending order as in Redis.
//! - `Table`: a [`Dict`] of members (OBJECT ENCODING `hashtable`). One-way, as in Redis.

use bytes::Bytes;

use super::dict::Dict;

#[derive(Clone, Debug)]
pub enum Set {
    Ints(Vec<i64>),
    Table(Dict<Bytes, ()>),
}

impl Default for Set {
    fn default() -> Set {
        Set::Ints(Vec::new())
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        let mut a: Vec<Vec<u8>> = Vec::new();
        let mut b: Vec<Vec<u8>> = Vec::new();
        self.for_each(|m| a.push(m.to_vec()));
        other.for_each(|m| b.push(m.to_vec()));
        a.sort();
        b.sort();
        a == b
    }
}

impl Set {
    pub fn new() -> Set {
        Set::default()
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

    /// Calls `f` on every member (integers in their decimal form).
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

    pub fn heap_bytes(&self) -> usize {
        match self {
            Set::Ints(v) => v.capacity() * 8,
            Set::Table(d) => d.heap_bytes() + d.iter().map(|(m, _)| m.len()).sum::<usize>(),
        }
    }
}

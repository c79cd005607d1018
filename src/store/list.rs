//! The list type: a quicklist, after Redis's — a deque of [`Listpack`] nodes.
//!
//! Each node holds up to `list-max-listpack-size` worth of elements (by default 8 KiB of
//! encoded entries), so a list of short strings costs ~2 bytes of overhead per element and
//! pushes and pops at either end are O(1) amortised (a memmove inside one small node).
//! Index operations walk node counts from the nearer end, then inside one node.
//! OBJECT ENCODING reports `quicklist`, as Redis 7.0 does for every list.

use std::collections::VecDeque;

use super::encoding::limits;
use super::listpack::Listpack;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    nodes: VecDeque<Listpack>,
    len: usize,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Whether `node` can take one more element of `size` bytes under the current limits.
    fn node_has_room(node: &Listpack, size: usize) -> bool {
        let l = limits();
        match l.list_node_bytes() {
            Some(max) => node.byte_len() + size + 10 <= max || node.is_empty(),
            None => node.len() < l.list_node_entries(),
        }
    }

    pub fn push_back(&mut self, value: &[u8]) {
        match self.nodes.back_mut() {
            Some(n) if Self::node_has_room(n, value.len()) => n.push_back(value),
            _ => {
                let mut n = Listpack::new();
                n.push_back(value);
                self.nodes.push_back(n);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, value: &[u8]) {
        match self.nodes.front_mut() {
            Some(n) if Self::node_has_room(n, value.len()) => n.push_front(value),
            _ => {
                let mut n = Listpack::new();
                n.push_front(value);
                self.nodes.push_front(n);
            }
        }
        self.len += 1;
    }

    /// Every element, head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.nodes.iter().flat_map(Listpack::iter)
    }

    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * size_of::<Listpack>()
            + self.nodes.iter().map(Listpack::heap_bytes).sum::<usize>()
    }
}

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

    /// Whether `node` holds more than the limits allow (and could be split: 2+ entries).
    fn node_too_big(node: &Listpack) -> bool {
        if node.len() < 2 {
            return false;
        }
        let l = limits();
        match l.list_node_bytes() {
            Some(max) => node.byte_len() > max,
            None => node.len() > l.list_node_entries(),
        }
    }

    /// Whether two nodes fit in one under the limits.
    fn fits_together(a: &Listpack, b: &Listpack) -> bool {
        let l = limits();
        match l.list_node_bytes() {
            Some(max) => a.byte_len() + b.byte_len() <= max,
            None => a.len() + b.len() <= l.list_node_entries(),
        }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let off = node.first()?;
        let v = node.get(off).to_vec();
        node.remove_at(off);
        if node.is_empty() {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let off = node.last()?;
        let v = node.get(off).to_vec();
        node.remove_at(off);
        if node.is_empty() {
            self.nodes.pop_back();
        }
        self.len -= 1;
        Some(v)
    }

    /// Normalises a Redis index (negative counts from the tail) to `0..len`, if in range.
    pub fn normalize(&self, index: i64) -> Option<usize> {
        let n = self.len as i64;
        let i = if index < 0 {
            n.checked_add(index)?
        } else {
            index
        };
        (0..n).contains(&i).then_some(i as usize)
    }

    /// (node number, index inside that node) of element `i` (< len), walking node counts
    /// from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut rest = i;
            for (ni, n) in self.nodes.iter().enumerate() {
                if rest < n.len() {
                    return (ni, rest);
                }
                rest -= n.len();
            }
        } else {
            let mut from_tail = self.len - 1 - i;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if from_tail < n.len() {
                    return (ni, n.len() - 1 - from_tail);
                }
                from_tail -= n.len();
            }
        }
        unreachable!("index {i} checked against len {}", self.len)
    }

    /// The element at `index` (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let (ni, ii) = self.locate(self.normalize(index)?);
        let node = &self.nodes[ni];
        node.seek(ii as i64).map(|off| node.get(off))
    }

    /// Replaces the element at `index`; false when out of range.
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        let Some(i) = self.normalize(index) else {
            return false;
        };
        let (ni, ii) = self.locate(i);
        let node = &mut self.nodes[ni];
        if let Some(off) = node.seek(ii as i64) {
            node.replace_at(off, value);
        }
        self.split_if_big(ni);
        true
    }

    /// Inserts `value` before or after the first element equal to `pivot`. Returns false
    /// when there is no such element.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool) -> bool {
        for ni in 0..self.nodes.len() {
            let node = &mut self.nodes[ni];
            let Some(off) = node.find(pivot) else {
                continue;
            };
            let at = if after {
                node.next(off).unwrap_or(node.byte_len())
            } else {
                off
            };
            node.insert_at(at, value);
            self.len += 1;
            self.split_if_big(ni);
            return true;
        }
        false
    }

    /// Splits node `ni` in two halves while it is over the limits.
    fn split_if_big(&mut self, ni: usize) {
        if !Self::node_too_big(&self.nodes[ni]) {
            return;
        }
        let node = &mut self.nodes[ni];
        let keep = node.len() / 2;
        let mut tail = Listpack::new();
        for e in node.iter().skip(keep) {
            tail.push_back(e);
        }
        if let Some(off) = node.seek(keep as i64) {
            node.remove_run(off, usize::MAX);
        }
        node.shrink_if_sparse();
        self.nodes.insert(ni + 1, tail);
        self.split_if_big(ni + 1);
        self.split_if_big(ni);
    }

    /// Removes up to `count` elements equal to `value` (0 = all; negative = from the tail).
    /// Returns how many were removed.
    pub fn remove(&mut self, value: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        let mut removed = 0;
        let order: Vec<usize> = if count < 0 {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        for ni in order {
            if removed >= limit {
                break;
            }
            let node = &mut self.nodes[ni];
            if count < 0 {
                let mut cur = node.last();
                while let Some(off) = cur {
                    if removed >= limit {
                        break;
                    }
                    let prev = node.prev(off);
                    if node.get(off) == value {
                        node.remove_at(off);
                        removed += 1;
                    }
                    cur = prev;
                }
            } else {
                let mut cur = node.first();
                while let Some(off) = cur {
                    if removed >= limit {
                        break;
                    }
                    cur = if node.get(off) == value {
                        removed += 1;
                        node.remove_at(off)
                    } else {
                        node.next(off)
                    };
                }
            }
        }
        self.len -= removed;
        if removed > 0 {
            self.compact();
        }
        removed
    }

    /// Drops empty nodes and merges neighbours that fit in one node together.
    fn compact(&mut self) {
        self.nodes.retain(|n| !n.is_empty());
        let mut i = 0;
        while i + 1 < self.nodes.len() {
            if Self::fits_together(&self.nodes[i], &self.nodes[i + 1]) {
                let next = self.nodes.remove(i + 1).unwrap_or_default();
                let node = &mut self.nodes[i];
                for e in next.iter() {
                    node.push_back(e);
                }
            } else {
                self.nodes[i].shrink_if_sparse();
                i += 1;
            }
        }
    }

    /// Keeps only elements `start..=stop` (Redis indices, clamped as LTRIM does).
    pub fn trim(&mut self, start: i64, stop: i64) {
        let Some((from, to)) = self.clamp_range(start, stop) else {
            self.nodes.clear();
            self.len = 0;
            return;
        };
        self.drop_front(from);
        self.drop_back(self.len - (to - from + 1));
        self.compact();
    }

    fn drop_front(&mut self, mut n: usize) {
        while n > 0 {
            let Some(node) = self.nodes.front_mut() else {
                return;
            };
            let k = node.len().min(n);
            if k == node.len() {
                self.nodes.pop_front();
            } else if let Some(off) = node.first() {
                node.remove_run(off, k);
            }
            self.len -= k;
            n -= k;
        }
    }

    fn drop_back(&mut self, mut n: usize) {
        while n > 0 {
            let Some(node) = self.nodes.back_mut() else {
                return;
            };
            let k = node.len().min(n);
            if k == node.len() {
                self.nodes.pop_back();
            } else if let Some(off) = node.seek(-(k as i64)) {
                node.remove_run(off, k);
            }
            self.len -= k;
            n -= k;
        }
    }

    /// LRANGE's clamping of `start`, `stop`: the inclusive range `from..=to` of existing
    /// indices, or `None` when it is empty.
    pub fn clamp_range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        let n = self.len as i64;
        let mut start = if start < 0 {
            n.saturating_add(start)
        } else {
            start
        };
        let mut stop = if stop < 0 {
            n.saturating_add(stop)
        } else {
            stop
        };
        if start < 0 {
            start = 0;
        }
        if start > stop || start >= n {
            return None;
        }
        if stop >= n {
            stop = n - 1;
        }
        Some((start as usize, stop as usize))
    }

    /// Elements from index `from` towards the tail.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ni, ii) = if from < self.len {
            self.locate(from)
        } else {
            (self.nodes.len(), 0)
        };
        self.nodes.range(ni..).flat_map(Listpack::iter).skip(ii)
    }

    /// Elements from index `from` towards the head.
    pub fn iter_back_from(&self, from: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ni, skip) = if from < self.len {
            let (ni, ii) = self.locate(from);
            (ni + 1, self.nodes[ni].len() - 1 - ii)
        } else {
            (0, 0)
        };
        self.nodes
            .range(..ni)
            .rev()
            .flat_map(|n| n.iter().rev())
            .skip(skip)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque as Model;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(<[u8]>::to_vec).collect()
    }

    fn check(l: &List, m: &Model<Vec<u8>>) {
        assert_eq!(l.len(), m.len());
        assert_eq!(items(l), m.iter().cloned().collect::<Vec<_>>());
        assert!(l.nodes.iter().all(|n| !n.is_empty()), "no empty node");
        assert_eq!(l.nodes.iter().map(Listpack::len).sum::<usize>(), l.len);
    }

    #[test]
    fn random_operations_match_a_deque() {
        let small = crate::store::encoding::Limits {
            list_max_listpack_size: 4,
            ..Default::default()
        };
        crate::store::encoding::set_limits(small);
        let mut rng = crate::util::Rng::new(7);
        let mut l = List::new();
        let mut m: Model<Vec<u8>> = Model::new();
        for _ in 0..20_000 {
            let v = format!("v{}", rng.next_u64() % 8).into_bytes();
            let n = m.len() as i64;
            let idx = (rng.next_u64() % (2 * n as u64 + 3)) as i64 - n - 1;
            match rng.next_u64() % 10 {
                0 | 1 => {
                    l.push_back(&v);
                    m.push_back(v);
                }
                2 | 3 => {
                    l.push_front(&v);
                    m.push_front(v);
                }
                4 => assert_eq!(l.pop_front(), m.pop_front()),
                5 => assert_eq!(l.pop_back(), m.pop_back()),
                6 => {
                    let i = if idx < 0 { n + idx } else { idx };
                    let ok = (0..n).contains(&i);
                    assert_eq!(l.set(idx, &v), ok);
                    if ok {
                        m[i as usize] = v;
                    }
                    assert_eq!(l.get(idx), ok.then(|| &m[i as usize][..]));
                }
                7 => {
                    let after = rng.next_u64().is_multiple_of(2);
                    let pivot = format!("v{}", rng.next_u64() % 8).into_bytes();
                    let pos = m.iter().position(|e| *e == pivot);
                    assert_eq!(l.insert(&pivot, &v, after), pos.is_some());
                    if let Some(p) = pos {
                        m.insert(p + after as usize, v);
                    }
                }
                8 => {
                    let count = (rng.next_u64() % 5) as i64 - 2;
                    let mut want = 0;
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let mut out: Model<Vec<u8>> = Model::new();
                    if count < 0 {
                        for e in m.drain(..).rev() {
                            if e == v && want < limit {
                                want += 1;
                            } else {
                                out.push_front(e);
                            }
                        }
                    } else {
                        for e in m.drain(..) {
                            if e == v && want < limit {
                                want += 1;
                            } else {
                                out.push_back(e);
                            }
                        }
                    }
                    m = out;
                    assert_eq!(l.remove(&v, count), want);
                }
                _ => {
                    if rng.next_u64().is_multiple_of(4) {
                        let a = (rng.next_u64() % 6) as i64 - 2;
                        let b = n - (rng.next_u64() % 4) as i64;
                        let range = l.clamp_range(a, b);
                        l.trim(a, b);
                        m = match range {
                            None => Model::new(),
                            Some((f, t)) => m.range(f..=t).cloned().collect(),
                        };
                    }
                }
            }
            check(&l, &m);
            if !m.is_empty() {
                let f = (rng.next_u64() % m.len() as u64) as usize;
                let fwd: Vec<_> = l.iter_from(f).map(<[u8]>::to_vec).collect();
                assert_eq!(fwd, m.range(f..).cloned().collect::<Vec<_>>());
                let back: Vec<_> = l.iter_back_from(f).map(<[u8]>::to_vec).collect();
                assert_eq!(back, m.range(..=f).rev().cloned().collect::<Vec<_>>());
            }
        }
        crate::store::encoding::set_limits(Default::default());
    }
}

//! The bucket array and chains behind [`super::Dict`].

use std::borrow::Borrow;

/// Smallest non-empty table (Redis's `DICT_HT_INITIAL_SIZE`).
pub(super) const INITIAL_BUCKETS: usize = 4;
/// Below this fill (entries per 100 buckets) a table shrinks (Redis's `HASHTABLE_MIN_FILL`).
pub(super) const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets one rehash step may skip before giving up (Redis uses `n * 10`).
pub(super) const EMPTY_VISITS_PER_STEP: usize = 10;
/// Entries `random_entry` samples before choosing one (Redis's `GETFAIR_NUM_ENTRIES`).
pub(super) const FAIR_SAMPLE_ENTRIES: usize = 15;
/// Random bucket probes before `random_entry` falls back to a linear walk. With a fill of at
/// least 10% the chance of 1024 misses is below 1e-40; the fallback only matters for a
/// caller-supplied source that is not random, or a table mid-shrink from very sparse.
pub(super) const MAX_RANDOM_BUCKET_PROBES: usize = 1024;

pub(super) type Link<K, V> = Option<Box<Entry<K, V>>>;

pub(super) struct Entry<K, V> {
    pub(super) key: K,
    pub(super) value: V,
    pub(super) next: Link<K, V>,
}

/// Never called. `vec![None; n]` needs `Option<Box<Entry>>: Clone`, and with that bound the
/// standard library allocates the bucket array zeroed instead of writing `n` `None`s. Only
/// `None` is ever cloned (cloning `None` doesn't touch `Entry`), and `Entry` is private, so
/// no `Some` can be cloned from outside this module.
impl<K, V> Clone for Entry<K, V> {
    fn clone(&self) -> Self {
        unreachable!("dict entries are never cloned")
    }
}

/// One bucket array and the number of entries chained from it.
pub(super) struct Table<K, V> {
    pub(super) buckets: Vec<Link<K, V>>,
    pub(super) used: usize,
}

impl<K, V> Table<K, V> {
    pub(super) const fn unallocated() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    pub(super) fn with_buckets(nr_buckets: usize) -> Self {
        assert!(nr_buckets.is_power_of_two() && nr_buckets >= INITIAL_BUCKETS);
        Table {
            buckets: vec![None; nr_buckets],
            used: 0,
        }
    }

    /// `buckets.len() - 1`; only meaningful for an allocated table.
    pub(super) fn mask(&self) -> usize {
        debug_assert!(!self.buckets.is_empty());
        self.buckets.len() - 1
    }

    pub(super) fn index(&self, hash: u64) -> usize {
        // Truncation on 32-bit targets is fine: only the low bits are used.
        hash as usize & self.mask()
    }

    pub(super) fn chain(&self, idx: usize) -> impl Iterator<Item = &Entry<K, V>> {
        std::iter::successors(self.buckets[idx].as_deref(), |e| e.next.as_deref())
    }

    pub(super) fn push_front(
        &mut self,
        idx: usize,
        mut entry: Box<Entry<K, V>>,
    ) -> &mut Entry<K, V> {
        entry.next = self.buckets[idx].take();
        self.used += 1;
        self.buckets[idx].insert(entry)
    }

    pub(super) fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.used == 0 {
            return None;
        }
        self.chain(self.index(hash)).find(|e| e.key.borrow() == key)
    }

    pub(super) fn find_mut<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.used == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut cur = self.buckets[idx].as_deref_mut();
        while let Some(e) = cur {
            if e.key.borrow() == key {
                return Some(e);
            }
            cur = e.next.as_deref_mut();
        }
        None
    }

    /// Unlinks the entry for `key` from its chain.
    pub(super) fn remove<Q>(&mut self, hash: u64, key: &Q) -> Option<Box<Entry<K, V>>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.used == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut cur = &mut self.buckets[idx];
        loop {
            match cur {
                None => return None,
                Some(e) if e.key.borrow() == key => {
                    let next = e.next.take();
                    self.used -= 1;
                    return std::mem::replace(cur, next);
                }
                Some(e) => cur = &mut e.next,
            }
        }
    }

    /// Keeps the entries for which `keep` returns true, preserving chain order.
    pub(super) fn retain(&mut self, keep: &mut impl FnMut(&K, &mut V) -> bool) {
        if self.used == 0 {
            return; // Don't walk a large, empty, about-to-be-freed array.
        }
        for slot in &mut self.buckets {
            let mut rest = slot.take();
            let mut tail = slot;
            while let Some(mut e) = rest {
                rest = e.next.take();
                if keep(&e.key, &mut e.value) {
                    tail = &mut tail.insert(e).next;
                } else {
                    self.used -= 1;
                }
            }
        }
    }
}

impl<K, V> Drop for Table<K, V> {
    /// Drops chains iteratively: the default recursive drop of a `Box` list would overflow
    /// the stack on a long chain (possible with a degenerate `Hash` impl). An empty table is
    /// not walked, so freeing the old array at the end of a rehash costs no scan.
    fn drop(&mut self) {
        if self.used == 0 {
            return;
        }
        for slot in &mut self.buckets {
            let mut cur = slot.take();
            while let Some(mut e) = cur {
                cur = e.next.take();
            }
        }
    }
}

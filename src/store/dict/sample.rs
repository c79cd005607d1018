//! SCAN cursors and random sampling for [`super::Dict`].

use std::hash::Hash;

use super::Dict;
use super::table::*;

impl<K: Hash + Eq, V> Dict<K, V> {
    /// Redis's `dictScan`: calls `f` on every entry in the bucket(s) that `cursor` names and
    /// returns the next cursor; 0 means the scan is complete. Start with cursor 0.
    ///
    /// While rehashing, visits bucket `cursor & small_mask` of the smaller table and every
    /// bucket of the larger table that it expands to. The cursor is incremented in
    /// bit-reversed order, so the buckets still to visit are the same set whether the table
    /// has since grown or shrunk; that is the whole `SCAN` guarantee.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut visit = |table: &Table<K, V>, v: u64| {
            for e in table.chain(v as usize & table.mask()) {
                f(&e.key, &e.value);
            }
        };
        let mut v = cursor;
        if !self.is_rehashing() {
            let m0 = self.ht0.mask() as u64;
            visit(&self.ht0, v);
            // Set the unmasked bits so the reversed increment carries into the masked ones.
            v |= !m0;
            return v.reverse_bits().wrapping_add(1).reverse_bits();
        }
        let (small, large) = if self.ht0.buckets.len() <= self.ht1.buckets.len() {
            (&self.ht0, &self.ht1)
        } else {
            (&self.ht1, &self.ht0)
        };
        let m0 = small.mask() as u64;
        let m1 = large.mask() as u64;
        visit(small, v);
        loop {
            visit(large, v);
            v |= !m1;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
            // Stop once the bits that only the larger mask covers have wrapped to zero.
            if v & (m0 ^ m1) == 0 {
                return v;
            }
        }
    }

    /// A random entry, like Redis's `dictGetFairRandomKey`: sample up to 15 entries with
    /// [`Dict::sample`] and pick one of them, which is fairer than "random bucket, then
    /// random chain element" (that favours entries in short chains). If the sample comes
    /// back empty (possible in a sparse table) falls back to the random bucket method.
    pub fn random_entry(&self, rand: &mut impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let mut picked: [Option<&Entry<K, V>>; FAIR_SAMPLE_ENTRIES] = [None; FAIR_SAMPLE_ENTRIES];
        let mut nr_picked = 0;
        self.sample_entries(FAIR_SAMPLE_ENTRIES, rand, |e| {
            picked[nr_picked] = Some(e);
            nr_picked += 1;
        });
        let entry = if nr_picked > 0 {
            picked[(rand() % nr_picked as u64) as usize]
        } else {
            self.random_bucket_entry(rand)
        };
        entry.map(|e| (&e.key, &e.value))
    }

    /// Redis's `dictGetRandomKey`: a random non-empty bucket, then a random chain element.
    /// Buckets are numbered across both tables, skipping `ht0`'s already-moved prefix.
    fn random_bucket_entry(&self, rand: &mut impl FnMut() -> u64) -> Option<&Entry<K, V>> {
        let first = self.rehash_idx.unwrap_or(0);
        let nr_slots = (self.bucket_count() - first) as u64;
        let head_at = |i: u64| {
            let h = first + i as usize;
            match h.checked_sub(self.ht0.buckets.len()) {
                None => self.ht0.buckets[h].as_deref(),
                Some(h1) => self.ht1.buckets[h1].as_deref(),
            }
        };
        let head = (0..MAX_RANDOM_BUCKET_PROBES)
            .find_map(|_| head_at(rand() % nr_slots))
            .or_else(|| {
                let start = rand() % nr_slots;
                (0..nr_slots).find_map(|i| head_at((start + i) % nr_slots))
            })?;
        let chain = || std::iter::successors(Some(head), |e| e.next.as_deref());
        let nr_chained = chain().count() as u64;
        chain().nth((rand() % nr_chained) as usize)
    }

    /// Calls `f` on up to `count` entries near a random bucket and returns how many it
    /// visited, like Redis's `dictGetSomeKeys`: walk buckets forward from a random index
    /// (in both tables while rehashing), jumping elsewhere after a run of empty buckets,
    /// for at most `10 * count` buckets. Cheap, not uniform, and an entry may be visited
    /// twice; it may also visit fewer than `count` entries even if the dict has more.
    /// Used for active expiry and eviction sampling.
    pub fn sample(
        &self,
        count: usize,
        rand: &mut impl FnMut() -> u64,
        mut f: impl FnMut(&K, &V),
    ) -> usize {
        self.sample_entries(count, rand, |e| f(&e.key, &e.value))
    }

    fn sample_entries<'a>(
        &'a self,
        count: usize,
        rand: &mut impl FnMut() -> u64,
        mut f: impl FnMut(&'a Entry<K, V>),
    ) -> usize {
        let count = count.min(self.len());
        if count == 0 {
            return 0;
        }
        let tables: &[&Table<K, V>] = if self.is_rehashing() {
            &[&self.ht0, &self.ht1]
        } else {
            &[&self.ht0]
        };
        let rehash_idx = self.rehash_idx.unwrap_or(0);
        let max_mask = self
            .ht0
            .mask()
            .max(self.ht1.buckets.len().saturating_sub(1));
        let mut i = rand() as usize & max_mask;
        let mut nr_empty_run = 0;
        let mut nr_visited = 0;
        for _ in 0..count.saturating_mul(10) {
            for (j, table) in tables.iter().enumerate() {
                // ht0 buckets below rehash_idx are empty. If i is also past the end of ht1
                // (shrinking), nothing lives below rehash_idx in either table: jump there.
                if j == 0 && tables.len() == 2 && i < rehash_idx {
                    if i >= self.ht1.buckets.len() {
                        i = rehash_idx;
                    } else {
                        continue;
                    }
                }
                if i >= table.buckets.len() {
                    continue;
                }
                if table.buckets[i].is_none() {
                    nr_empty_run += 1;
                    if nr_empty_run >= 5 && nr_empty_run > count {
                        i = rand() as usize & max_mask;
                        nr_empty_run = 0;
                    }
                    continue;
                }
                nr_empty_run = 0;
                for e in table.chain(i) {
                    f(e);
                    nr_visited += 1;
                    if nr_visited == count {
                        return nr_visited;
                    }
                }
            }
            i = (i + 1) & max_mask;
        }
        nr_visited
    }
}

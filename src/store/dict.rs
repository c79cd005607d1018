//! `Dict`: a chained hash table with incremental rehashing, after Redis's `dict.c`.
//!
//! # Contract
//!
//! - No operation rehashes more than a bounded amount of work: a resize allocates the new
//!   bucket array and then moves **one bucket per mutating call** (`insert`, `remove`,
//!   `get_mut`, ...) plus whatever the owner asks for through [`Dict::rehash_steps`] (a shard
//!   calls it from a timer with a time budget, like Redis's `databasesCron`). A 10M-key
//!   resize therefore never stalls the shard the way a `hashbrown` resize does.
//! - [`Dict::scan`] keeps Redis's `SCAN` guarantee: every entry present for the whole scan
//!   is returned at least once, even if the table grows, shrinks or is mid-rehash between
//!   calls. Entries may be returned more than once.
//! - [`Dict::random_entry`] and [`Dict::sample`] pick entries at random without an RNG of
//!   their own: the caller passes a `u64` source (the shard owns one RNG for everything).
//! - Nothing is allocated until the first insert; `clear` returns to that state.
//!
//! # Layout, and why
//!
//! Bucket arrays have a power-of-two length and a key lives in bucket `hash & mask`. That
//! is what makes the reverse-binary `SCAN` cursor work: growing the table splits bucket `i`
//! into buckets `i` and `i | old_size`, shrinking merges them back, and a cursor that counts
//! with its bits reversed visits "all expansions of `i`" before moving on.
//!
//! While rehashing there are two tables: `ht0` (old) and `ht1` (new). Buckets of `ht0` below
//! `rehash_idx` are already empty; new entries always go to `ht1`; lookups check both.
//! When `ht0` is empty, `ht1` becomes `ht0`. One rehash step moves one non-empty bucket and
//! skips at most 10 empty ones, so a step is O(chain length) no matter how sparse the table.
//!
//! Chains are singly linked boxes (`Option<Box<Entry>>`). Memory per entry, on 64-bit:
//!
//! - one heap block of `size_of::<K>() + size_of::<V>() + 8` (the `next` pointer), plus the
//!   allocator's rounding;
//! - 8 bytes per bucket (`Option<Box<_>>` is one pointer thanks to the null niche). With a
//!   load factor between 0.5 and 1 after a grow that is 8-16 bytes per entry, 24 at worst
//!   while both tables exist, and up to 80 in a table that has shrunk to just above 10%
//!   fill.
//!
//! A `Vec<Vec<(K, V)>>` was rejected: every bucket costs a 24-byte header even when empty,
//! a one-entry bucket allocates room for four entries (`Vec`'s minimum capacity), and moving
//! an entry between tables copies `K` and `V` and may reallocate. Box chains move by
//! relinking a pointer, so a rehash step never allocates. The hash is not cached in the
//! entry (Redis doesn't either): recomputing it during rehash costs far less than 8 bytes
//! on each of ten million entries.
//!
//! The bucket array is built with `vec![None; n]`, which the standard library turns into a
//! zeroed allocation (`calloc`) for `Option<Box<_>>`: a 2^25-bucket table (256 MiB) costs
//! microseconds to create instead of ~200 ms of page faults up front; the pages are then
//! touched one bucket at a time by the rehash. That is the only reason `Entry` implements
//! `Clone` (see there).
//!
//! # Costs that are not bounded
//!
//! - `clear`, `retain`, `iter` and dropping the dict are O(buckets + entries).
//! - When a rehash finishes, the old bucket array is freed at once: one more pass over it
//!   (dropping `None`s) and an `munmap`. Measured ~45 ms for 2^25 buckets (256 MiB, a
//!   16-32M-entry dict), so ~1.5 ms at 2^20. Redis pays the `munmap` part too. Avoiding
//!   the pass would take `unsafe` (`set_len(0)`), not worth it at these numbers.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use ahash::RandomState;

/// Smallest non-empty table (Redis's `DICT_HT_INITIAL_SIZE`).
const INITIAL_BUCKETS: usize = 4;
/// Below this fill (entries per 100 buckets) a table shrinks (Redis's `HASHTABLE_MIN_FILL`).
const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets one rehash step may skip before giving up (Redis uses `n * 10`).
const EMPTY_VISITS_PER_STEP: usize = 10;
/// Entries `random_entry` samples before choosing one (Redis's `GETFAIR_NUM_ENTRIES`).
const FAIR_SAMPLE_ENTRIES: usize = 15;
/// Random bucket probes before `random_entry` falls back to a linear walk. With a fill of at
/// least 10% the chance of 1024 misses is below 1e-40; the fallback only matters for a
/// caller-supplied source that is not random, or a table mid-shrink from very sparse.
const MAX_RANDOM_BUCKET_PROBES: usize = 1024;

type Link<K, V> = Option<Box<Entry<K, V>>>;

struct Entry<K, V> {
    key: K,
    value: V,
    next: Link<K, V>,
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
struct Table<K, V> {
    buckets: Vec<Link<K, V>>,
    used: usize,
}

impl<K, V> Table<K, V> {
    const fn unallocated() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    fn with_buckets(nr_buckets: usize) -> Self {
        assert!(nr_buckets.is_power_of_two() && nr_buckets >= INITIAL_BUCKETS);
        Table {
            buckets: vec![None; nr_buckets],
            used: 0,
        }
    }

    /// `buckets.len() - 1`; only meaningful for an allocated table.
    fn mask(&self) -> usize {
        debug_assert!(!self.buckets.is_empty());
        self.buckets.len() - 1
    }

    fn index(&self, hash: u64) -> usize {
        // Truncation on 32-bit targets is fine: only the low bits are used.
        hash as usize & self.mask()
    }

    fn chain(&self, idx: usize) -> impl Iterator<Item = &Entry<K, V>> {
        std::iter::successors(self.buckets[idx].as_deref(), |e| e.next.as_deref())
    }

    fn push_front(&mut self, idx: usize, mut entry: Box<Entry<K, V>>) -> &mut Entry<K, V> {
        entry.next = self.buckets[idx].take();
        self.used += 1;
        self.buckets[idx].insert(entry)
    }

    fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.used == 0 {
            return None;
        }
        self.chain(self.index(hash)).find(|e| e.key.borrow() == key)
    }

    fn find_mut<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut Entry<K, V>>
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
    fn remove<Q>(&mut self, hash: u64, key: &Q) -> Option<Box<Entry<K, V>>>
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
    fn retain(&mut self, keep: &mut impl FnMut(&K, &mut V) -> bool) {
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

/// A hash map with incremental rehashing, a `SCAN` cursor and random sampling.
/// See the module documentation for the contract.
pub struct Dict<K, V> {
    /// The main table; while rehashing, the old one (buckets below `rehash_idx` are empty).
    ht0: Table<K, V>,
    /// Unallocated unless rehashing; then the destination of the rehash and of new entries.
    ht1: Table<K, V>,
    /// `Some(next bucket of ht0 to move)` while rehashing.
    rehash_idx: Option<usize>,
    hasher: RandomState,
}

impl<K: Hash + Eq, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries().map(|e| (&e.key, &e.value)))
            .finish()
    }
}

impl<K, V> Dict<K, V> {
    fn entries(&self) -> impl Iterator<Item = &Entry<K, V>> {
        self.ht0
            .buckets
            .iter()
            .chain(self.ht1.buckets.iter())
            .flat_map(|slot| std::iter::successors(slot.as_deref(), |e| e.next.as_deref()))
    }
}

impl<K: Hash + Eq, V> Dict<K, V> {
    /// An empty dict. Allocates nothing; the hash seed is drawn here, once per dict.
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    fn with_hasher(hasher: RandomState) -> Self {
        Dict {
            ht0: Table::unallocated(),
            ht1: Table::unallocated(),
            rehash_idx: None,
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        self.ht0.used + self.ht1.used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets across both tables (0 before the first insert). For `DEBUG HTSTATS`.
    pub fn bucket_count(&self) -> usize {
        self.ht0.buckets.len() + self.ht1.buckets.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// The one place keys are hashed (`K` and its `Borrow` forms must agree, and the
    /// rehash must agree with lookups). Through the `BuildHasher` trait on purpose: ahash
    /// also has an inherent `hash_one` with a different signature.
    fn hash<Q: ?Sized + Hash>(&self, key: &Q) -> u64 {
        BuildHasher::hash_one(&self.hasher, key)
    }

    fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.ht0
            .find(hash, key)
            .or_else(|| self.ht1.find(hash, key))
    }

    fn find_mut<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if let Some(e) = self.ht0.find_mut(hash, key) {
            return Some(e);
        }
        self.ht1.find_mut(hash, key)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        self.find(self.hash(key), key).map(|e| (&e.key, &e.value))
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get_key_value(key).is_some()
    }

    /// Like `get`, and also does one rehash step (as Redis's `dictFind` does), so that
    /// read-mostly workloads that go through `get_mut` still finish a resize.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        self.rehash_steps(1);
        let hash = self.hash(key);
        self.find_mut(hash, key).map(|e| &mut e.value)
    }

    /// Inserts or replaces. On replace the old key is kept (like `HashMap::insert`) and the
    /// old value returned.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.rehash_steps(1);
        let hash = self.hash(&key);
        if let Some(e) = self.find_mut(hash, &key) {
            return Some(std::mem::replace(&mut e.value, value));
        }
        self.insert_new(hash, key, value);
        None
    }

    /// The value for `key`, inserting `make()` first if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.rehash_steps(1);
        let hash = self.hash(&key);
        if self.find(hash, &key).is_none() {
            return &mut self.insert_new(hash, key, make()).value;
        }
        // Found above, and nothing moved since: `find` takes `&self`.
        let entry = self.find_mut(hash, &key).expect("entry found just above");
        &mut entry.value
    }

    /// Adds an entry known to be absent. Grows first if needed, then links the entry at the
    /// head of its chain in the table that receives new entries.
    fn insert_new(&mut self, hash: u64, key: K, value: V) -> &mut Entry<K, V> {
        self.expand_if_needed();
        let table = if self.is_rehashing() {
            &mut self.ht1
        } else {
            &mut self.ht0
        };
        let idx = table.index(hash);
        table.push_front(
            idx,
            Box::new(Entry {
                key,
                value,
                next: None,
            }),
        )
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        self.rehash_steps(1);
        let hash = self.hash(key);
        let entry = match self.ht0.remove(hash, key) {
            Some(e) => e,
            None => self.ht1.remove(hash, key)?,
        };
        self.shrink_if_needed();
        let Entry { key, value, .. } = *entry;
        Some((key, value))
    }

    /// Drops every entry and frees both tables; the dict is as if new (same hash seed).
    pub fn clear(&mut self) {
        self.ht0 = Table::unallocated();
        self.ht1 = Table::unallocated();
        self.rehash_idx = None;
    }

    /// All entries, in bucket order. Visits every bucket: O(buckets + entries).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries().map(|e| (&e.key, &e.value))
    }

    /// Keeps only the entries for which `keep` returns true, then shrinks if the table got
    /// sparse. Visits every bucket: O(buckets + entries).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.rehash_steps(1);
        self.ht0.retain(&mut keep);
        self.ht1.retain(&mut keep);
        self.shrink_if_needed();
    }

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

    /// Moves up to `n` non-empty buckets from the old table to the new one (skipping at
    /// most `10 * n` empty buckets). Returns true if rehashing is still in progress.
    /// The shard's timer calls this in a loop, e.g. `rehash_steps(100)` until a time budget
    /// of about 1 ms is spent, as Redis's `dictRehashMilliseconds` does.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut nr_empty_visits_left = n.saturating_mul(EMPTY_VISITS_PER_STEP);
        let mut nr_steps_left = n;
        while nr_steps_left > 0 && self.ht0.used != 0 {
            nr_steps_left -= 1;
            // ht0.used != 0, so a non-empty bucket exists at or after idx: this stays in bounds.
            while self.ht0.buckets[idx].is_none() {
                idx += 1;
                nr_empty_visits_left -= 1;
                if nr_empty_visits_left == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.ht0.buckets[idx].take();
            while let Some(mut e) = chain {
                chain = e.next.take();
                let to = self.ht1.index(self.hash(&e.key));
                self.ht0.used -= 1;
                self.ht1.push_front(to, e);
            }
            idx += 1;
        }
        self.rehash_idx = Some(idx);
        if self.ht0.used == 0 {
            self.finish_rehash();
        }
        self.is_rehashing()
    }

    /// Grows when there are at least as many entries as buckets (load factor 1), to the next
    /// power of two above the entry count. Allocates the first table on first insert.
    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        if self.ht0.buckets.is_empty() {
            self.ht0 = Table::with_buckets(INITIAL_BUCKETS);
        } else if self.ht0.used >= self.ht0.buckets.len() {
            self.start_rehash(buckets_for(self.ht0.used + 1));
        }
    }

    /// Shrinks when under 10% full, to the next power of two >= the entry count (min 4).
    /// Checked after removals and when a rehash finishes (removals during a rehash can't
    /// start one).
    fn shrink_if_needed(&mut self) {
        let nr_buckets = self.ht0.buckets.len();
        if self.is_rehashing() || nr_buckets <= INITIAL_BUCKETS {
            return;
        }
        if self.ht0.used * 100 / nr_buckets < MIN_FILL_PERCENT {
            self.start_rehash(buckets_for(self.ht0.used));
        }
    }

    fn start_rehash(&mut self, nr_buckets: usize) {
        assert!(!self.is_rehashing());
        assert!(nr_buckets != self.ht0.buckets.len());
        self.ht1 = Table::with_buckets(nr_buckets);
        self.rehash_idx = Some(0);
        if self.ht0.used == 0 {
            self.finish_rehash(); // Nothing to move: swap now rather than on the next step.
        }
    }

    fn finish_rehash(&mut self) {
        assert!(self.is_rehashing() && self.ht0.used == 0);
        self.ht0 = std::mem::replace(&mut self.ht1, Table::unallocated());
        self.rehash_idx = None;
        self.shrink_if_needed();
    }

    /// Approximate heap bytes owned by the dict itself: bucket arrays plus one `Entry` block
    /// per entry (without allocator rounding, and without what `K` and `V` point to).
    pub fn heap_bytes(&self) -> usize {
        let nr_slots = self.ht0.buckets.capacity() + self.ht1.buckets.capacity();
        nr_slots * size_of::<Link<K, V>>() + self.len() * size_of::<Entry<K, V>>()
    }
}

/// Bucket count for a table that must hold `nr_entries`: a power of two, at least 4.
fn buckets_for(nr_entries: usize) -> usize {
    nr_entries.max(INITIAL_BUCKETS).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// splitmix64: deterministic, so a failing seed reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn seeded<K: Hash + Eq, V>(seed: u64) -> Dict<K, V> {
        Dict::with_hasher(RandomState::with_seeds(seed, !seed, 0x5EED, 42))
    }

    impl<K: Hash + Eq, V> Dict<K, V> {
        fn check_invariants(&self) {
            assert_eq!(self.is_rehashing(), !self.ht1.buckets.is_empty());
            for table in [&self.ht0, &self.ht1] {
                let n = table.buckets.len();
                assert!(n == 0 || (n.is_power_of_two() && n >= INITIAL_BUCKETS));
                let mut nr_entries = 0;
                for (i, _) in table.buckets.iter().enumerate() {
                    for e in table.chain(i) {
                        assert_eq!(table.index(self.hash(&e.key)), i, "entry in wrong bucket");
                        nr_entries += 1;
                    }
                }
                assert_eq!(nr_entries, table.used);
            }
            if let Some(idx) = self.rehash_idx {
                assert!(!self.ht0.buckets.is_empty());
                assert!(self.ht0.buckets[..idx].iter().all(Option::is_none));
            }
            // No duplicate keys: callers compare `len` against a model holding distinct keys.
        }
    }

    fn assert_matches_model(dict: &Dict<u32, u64>, model: &HashMap<u32, u64>, key_space: u32) {
        assert_eq!(dict.len(), model.len());
        assert_eq!(dict.is_empty(), model.is_empty());
        for k in 0..key_space {
            assert_eq!(dict.get(&k), model.get(&k), "key {k}");
        }
    }

    #[test]
    fn matches_hashmap_model_under_random_ops() {
        let (mut nr_grows, mut nr_shrinks) = (0, 0);
        for seed in 0..30 {
            let mut rng = Rng(seed);
            let mut dict: Dict<u32, u64> = seeded(seed);
            let mut model: HashMap<u32, u64> = HashMap::new();
            let key_space = [8, 64, 300][seed as usize % 3];
            let mut filling = true;
            for step in 0..2400 {
                // Alternate fill and drain phases so tables grow and shrink repeatedly.
                if step % 400 == 0 {
                    filling = !filling;
                }
                let key = rng.below(key_space as u64) as u32;
                let value = rng.next();
                let buckets_before = dict.bucket_count();
                match rng.below(100) {
                    0..=44 if filling => {
                        assert_eq!(dict.insert(key, value), model.insert(key, value))
                    }
                    0..=44 => assert_eq!(dict.remove(&key), model.remove(&key)),
                    45..=59 => assert_eq!(dict.insert(key, value), model.insert(key, value)),
                    60..=69 => assert_eq!(dict.remove(&key), model.remove(&key)),
                    70..=74 => assert_eq!(dict.remove_entry(&key), model.remove_entry(&key)),
                    75..=79 => {
                        assert_eq!(dict.get_key_value(&key), model.get_key_value(&key));
                        assert_eq!(dict.contains_key(&key), model.contains_key(&key));
                    }
                    80..=84 => {
                        if let Some(v) = dict.get_mut(&key) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&key) {
                            *v = v.wrapping_add(1);
                        }
                    }
                    85..=89 => {
                        *dict.get_or_insert_with(key, || value) ^= 1;
                        *model.entry(key).or_insert(value) ^= 1;
                    }
                    90..=97 => {
                        let n = rng.below(4) as usize;
                        let still = dict.rehash_steps(n);
                        assert_eq!(still, dict.is_rehashing());
                    }
                    98 => {
                        let keep = |k: &u32, v: &mut u64| {
                            *v = v.wrapping_mul(3);
                            !u64::from(*k).wrapping_add(*v).is_multiple_of(3)
                        };
                        dict.retain(keep);
                        model.retain(keep);
                    }
                    _ if rng.below(8) == 0 => {
                        dict.clear();
                        model.clear();
                        assert_eq!(dict.bucket_count(), 0);
                    }
                    _ => {}
                }
                let buckets_after = dict.bucket_count();
                nr_grows += usize::from(buckets_after > buckets_before && buckets_before > 0);
                nr_shrinks += usize::from(buckets_after < buckets_before && buckets_after > 0);
                dict.check_invariants();
                assert_matches_model(&dict, &model, key_space);
            }
        }
        assert!(nr_grows > 50, "grows: {nr_grows}");
        assert!(nr_shrinks > 25, "shrinks: {nr_shrinks}");
    }

    #[test]
    fn empty_dict_edge_cases() {
        let mut d: Dict<String, u32> = Dict::new();
        assert_eq!((d.len(), d.bucket_count(), d.heap_bytes()), (0, 0, 0));
        assert!(d.is_empty() && !d.is_rehashing() && !d.rehash_steps(100));
        assert_eq!(d.get("x"), None);
        assert_eq!(d.get_mut("x"), None);
        assert_eq!(d.remove("x"), None);
        assert!(!d.contains_key("x"));
        assert_eq!(d.iter().count(), 0);
        let mut calls = 0;
        assert_eq!(d.scan(0, |_, _| calls += 1), 0);
        assert_eq!(d.scan(12345, |_, _| calls += 1), 0);
        let mut rng = Rng(1);
        let mut rand = || rng.next();
        assert_eq!(d.random_entry(&mut rand), None);
        assert_eq!(d.sample(20, &mut rand, |_, _| calls += 1), 0);
        d.retain(|_, _| true);
        d.clear();
        assert_eq!(calls, 0);
        assert_eq!(d.bucket_count(), 0, "no table allocated by reads");
        assert_eq!(format!("{d:?}"), "{}");

        // A table, once allocated, stays at its minimum when emptied; clear frees it.
        d.insert("a".to_string(), 1);
        assert_eq!(d.bucket_count(), INITIAL_BUCKETS);
        assert_eq!(d.remove("a"), Some(1));
        assert_eq!((d.len(), d.bucket_count()), (0, INITIAL_BUCKETS));
        assert_eq!(d.scan(0, |_, _| calls += 1), 0);
        assert_eq!(d.random_entry(&mut rand), None);
        d.insert("b".to_string(), 2);
        d.clear();
        assert_eq!((d.len(), d.bucket_count(), d.heap_bytes()), (0, 0, 0));
    }

    #[test]
    fn grows_incrementally_at_load_factor_one() {
        let mut d: Dict<u64, ()> = seeded(7);
        for k in 0..4 {
            d.insert(k, ());
        }
        assert_eq!(d.bucket_count(), 4);
        assert!(!d.is_rehashing());
        d.insert(4, ());
        assert!(d.is_rehashing(), "the 5th entry starts a grow to 8");
        assert_eq!(d.bucket_count(), 4 + 8);
        assert!(!d.rehash_steps(usize::MAX));
        assert_eq!(d.bucket_count(), 8);

        // A grow of a big table moves only a bucket or so per operation.
        let mut d: Dict<u64, ()> = seeded(8);
        let mut k = 0;
        while !d.is_rehashing() || d.bucket_count() < 3 * 65536 {
            d.insert(k, ());
            k += 1;
        }
        assert_eq!(d.len(), 65537);
        assert!(
            d.ht1.used <= 8,
            "moved {} entries in one insert",
            d.ht1.used
        );
        let mut nr_steps = 0;
        while d.rehash_steps(1) {
            nr_steps += 1;
        }
        assert!(nr_steps > 1000, "rehash took {nr_steps} steps");
        d.check_invariants();
    }

    #[test]
    fn shrinks_below_ten_percent_fill() {
        let mut d: Dict<u64, u64> = seeded(9);
        for k in 0..1000 {
            d.insert(k, k);
        }
        while d.rehash_steps(100) {}
        assert_eq!(d.bucket_count(), 1024);
        for k in 0..990 {
            assert_eq!(d.remove(&k), Some(k));
        }
        while d.rehash_steps(100) {}
        // 10 entries: 16 buckets is 62% full; the shrink happened in stages as fill fell.
        assert_eq!(d.bucket_count(), 16);
        for k in 990..1000 {
            d.remove(&k);
        }
        while d.rehash_steps(100) {}
        assert_eq!(d.bucket_count(), INITIAL_BUCKETS);

        // retain() shrinks too, and a shrink of an empty table completes at once.
        for k in 0..1000 {
            d.insert(k, k);
        }
        while d.rehash_steps(100) {}
        d.retain(|_, _| false);
        assert!(d.is_empty() && !d.is_rehashing());
        assert_eq!(d.bucket_count(), INITIAL_BUCKETS);
        d.check_invariants();
    }

    #[test]
    fn scan_without_changes_returns_each_entry_exactly_once() {
        for n in [1u64, 3, 4, 5, 100, 1000] {
            let mut d: Dict<u64, u64> = seeded(n);
            for k in 0..n {
                d.insert(k, k * 2);
            }
            for frozen_mid_rehash in [true, false] {
                if !frozen_mid_rehash {
                    while d.rehash_steps(100) {}
                }
                let mut counts: HashMap<u64, usize> = HashMap::new();
                let mut cursor = 0;
                loop {
                    cursor = d.scan(cursor, |k, v| {
                        assert_eq!(*v, k * 2);
                        *counts.entry(*k).or_default() += 1;
                    });
                    if cursor == 0 {
                        break;
                    }
                }
                assert_eq!(counts.len() as u64, n);
                if !d.is_rehashing() {
                    assert!(
                        counts.values().all(|&c| c == 1),
                        "duplicates without a rehash"
                    );
                }
            }
        }
    }

    #[test]
    fn scan_returns_stable_entries_across_grow_shrink_and_removals() {
        let (mut scans_across_grow, mut scans_across_shrink) = (0, 0);
        for seed in 0..60 {
            let mut rng = Rng(seed);
            let mut d: Dict<u64, ()> = seeded(seed);
            let nr_stable = 1 + rng.below(40);
            let stable: Vec<u64> = (0..nr_stable).collect();
            let mut ever: HashSet<u64> = stable.iter().copied().collect();
            // Start at a random size, sometimes mid-rehash.
            let mut churn: Vec<u64> = Vec::new();
            let mut next_churn = 1 << 32;
            for _ in 0..rng.below(600) {
                churn.push(next_churn);
                next_churn += 1;
            }
            for &k in stable.iter().chain(&churn) {
                d.insert(k, ());
            }
            ever.extend(&churn);

            let mut seen = HashSet::new();
            let (mut grew, mut shrank) = (false, false);
            let mut cursor = 0;
            for nr_calls in 0.. {
                assert!(nr_calls < 1_000_000, "scan does not terminate");
                cursor = d.scan(cursor, |k, _| {
                    seen.insert(*k);
                });
                if cursor == 0 {
                    break;
                }
                let before = d.bucket_count();
                let filling = (nr_calls / 16 + seed) % 2 == 0;
                for _ in 0..rng.below(60) {
                    if filling {
                        d.insert(next_churn, ());
                        churn.push(next_churn);
                        ever.insert(next_churn);
                        next_churn += 1;
                    } else if !churn.is_empty() {
                        let k = churn.swap_remove(rng.below(churn.len() as u64) as usize);
                        assert_eq!(d.remove(&k), Some(()));
                    }
                }
                if rng.below(3) == 0 {
                    d.rehash_steps(rng.below(8) as usize);
                }
                let after = d.bucket_count();
                grew |= after > before;
                shrank |= after < before;
            }
            for k in &stable {
                assert!(
                    seen.contains(k),
                    "seed {seed}: stable key {k} never returned"
                );
            }
            assert!(
                seen.is_subset(&ever),
                "scan returned a key that was never inserted"
            );
            scans_across_grow += usize::from(grew);
            scans_across_shrink += usize::from(shrank);
            d.check_invariants();
        }
        assert!(scans_across_grow > 10 && scans_across_shrink > 10);
    }

    /// A dict holding 0..n, left mid-rehash (grow or shrink) with entries in both tables
    /// (for n >= 2; a single entry moves in one step).
    fn dict_mid_rehash(n: u64) -> Dict<u64, u64> {
        for seed in 0..1000 {
            let mut d = seeded(seed);
            for k in 0..n {
                d.insert(k, k + 1);
            }
            while d.rehash_steps(100) {}
            let size = d.ht0.buckets.len();
            let shrink = seed % 2 == 1 && size > INITIAL_BUCKETS;
            d.start_rehash(if shrink { size / 2 } else { size * 2 });
            while d.ht1.used == 0 && d.rehash_steps(1) {}
            if n == 1 || (d.ht0.used > 0 && d.ht1.used > 0) {
                assert_eq!(d.len() as u64, n);
                return d;
            }
        }
        unreachable!("no seed left {n} entries split across two tables");
    }

    fn assert_random_entry_covers_all(d: &Dict<u64, u64>, rand: &mut impl FnMut() -> u64) {
        let mut seen = HashSet::new();
        for _ in 0..100 * d.len() {
            let (k, v) = d.random_entry(rand).expect("non-empty");
            assert_eq!(d.get(k), Some(v));
            seen.insert(*k);
        }
        assert_eq!(seen.len(), d.len());
    }

    fn assert_sample_covers_all(d: &Dict<u64, u64>, rand: &mut impl FnMut() -> u64) {
        let mut seen = HashSet::new();
        for _ in 0..100 * d.len() {
            let mut nr_called = 0;
            let n = d.sample(20, rand, |k, v| {
                assert_eq!(*v, k + 1);
                assert_eq!(d.get(k), Some(v));
                seen.insert(*k);
                nr_called += 1;
            });
            assert_eq!(n, nr_called);
            assert!(n <= 20.min(d.len()));
        }
        assert_eq!(seen.len(), d.len());
    }

    #[test]
    fn random_entry_and_sample_return_present_entries_and_cover_all() {
        let mut rng = Rng(3);
        let mut rand = || rng.next();
        for n in [1, 2, 5, 64, 300] {
            let mut d = dict_mid_rehash(n);
            assert_random_entry_covers_all(&d, &mut rand);
            assert_sample_covers_all(&d, &mut rand);
            while d.rehash_steps(100) {}
            assert_random_entry_covers_all(&d, &mut rand);
            assert_sample_covers_all(&d, &mut rand);
        }
    }

    #[test]
    fn random_entry_terminates_with_a_degenerate_source_and_a_sparse_table() {
        // Shrink from 4096 buckets to 1 entry, stopping mid-rehash: very sparse.
        let mut d: Dict<u64, u64> = seeded(5);
        for k in 0..4000 {
            d.insert(k, k + 1);
        }
        while d.rehash_steps(100) {}
        for k in 1..4000 {
            d.remove(&k);
        }
        for mut rand in [
            Box::new(|| 0u64) as Box<dyn FnMut() -> u64>,
            Box::new(|| u64::MAX),
        ] {
            assert_eq!(d.random_entry(&mut rand), Some((&0, &1)));
            let mut nr = 0;
            d.sample(20, &mut rand, |_, _| nr += 1);
            assert!(nr <= 1);
        }
        let mut rng = Rng(11);
        assert_eq!(d.random_entry(&mut || rng.next()), Some((&0, &1)));
    }

    #[test]
    fn borrowed_lookups_and_get_or_insert_with() {
        let mut d: Dict<String, u32> = Dict::default();
        *d.get_or_insert_with("hits".to_string(), || 0) += 1;
        *d.get_or_insert_with("hits".to_string(), || unreachable!()) += 1;
        assert_eq!(d.get("hits"), Some(&2));
        assert_eq!(d.remove_entry("hits"), Some(("hits".to_string(), 2)));

        let mut b: Dict<bytes::Bytes, u8> = Dict::new();
        b.insert(bytes::Bytes::from_static(b"k"), 1);
        assert_eq!(b.get(&b"k"[..]), Some(&1));
        // insert keeps the original key object and returns the old value.
        assert_eq!(b.insert(bytes::Bytes::from(b"k".to_vec()), 2), Some(1));
        assert_eq!(format!("{b:?}"), r#"{b"k": 2}"#);
    }

    #[test]
    fn colliding_hashes_still_work() {
        #[derive(PartialEq, Eq, Debug)]
        struct Collide(u32);
        impl Hash for Collide {
            fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
        }
        let mut d = Dict::new();
        for i in 0..500 {
            assert_eq!(d.insert(Collide(i), i), None);
        }
        while d.rehash_steps(10) {}
        assert!((0..500).all(|i| d.get(&Collide(i)) == Some(&i)));
        d.retain(|k, _| k.0 % 2 == 0);
        assert_eq!(d.len(), 250);
        for i in (0..500).step_by(2) {
            assert_eq!(d.remove(&Collide(i)), Some(i));
        }
        assert!(d.is_empty());
    }

    #[test]
    fn heap_bytes_counts_tables_and_entries() {
        let mut d: Dict<u64, u64> = seeded(1);
        for k in 0..100 {
            d.insert(k, k);
        }
        while d.rehash_steps(100) {}
        let expected = 128 * size_of::<Link<u64, u64>>() + 100 * size_of::<Entry<u64, u64>>();
        assert_eq!(d.heap_bytes(), expected);
        assert_eq!(size_of::<Link<u64, u64>>(), size_of::<usize>());
    }
}

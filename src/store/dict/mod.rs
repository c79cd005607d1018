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

mod sample;
mod table;

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use ahash::RandomState;

use table::*;

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

/// A deep copy (COPY of a collection value): entries re-inserted into a fresh table with
/// the same hash seed.
impl<K: Hash + Eq + Clone, V: Clone> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        let mut d = Dict::with_hasher(self.hasher.clone());
        for (k, v) in self.iter() {
            d.insert(k.clone(), v.clone());
        }
        d
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
mod tests;

//! Tests for the dict: model-based against HashMap, SCAN guarantees, sampling.
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

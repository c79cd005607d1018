//! Snapshot tests against a model: the T-state of every db, recorded as a `BTreeMap` at
//! `begin`, must be exactly what the emitted commands rebuild, whatever happens in between.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{abort, begin, is_active, step};
use crate::store::{Db, Value};
use crate::util::Rng;

/// "Now" for every operation that takes a clock: deadlines below it are past.
const NOW_MS: u64 = 1_000_000;
/// Deadlines from here on never pass during a test.
const FAR_MS: u64 = 4_000_000_000_000;

/// One db's state: key -> (value, deadline).
type State = BTreeMap<Bytes, (Bytes, Option<u64>)>;
type Out = Vec<(u16, Vec<Bytes>)>;

struct Gen {
    rng: Rng,
    /// Feeds active expiry's sampling, which draws a number of values that depends on each
    /// dict's (random) hash seed: kept apart so `rng` yields the same operations every run.
    sample_rng: Rng,
    nr_keys: u64,
    /// Whether deadlines may be in the past (then lazy and active expiry remove keys).
    past: bool,
}

impl Gen {
    fn new(seed: u64, nr_keys: u64, past: bool) -> Gen {
        Gen {
            rng: Rng::new(seed),
            sample_rng: Rng::new(seed ^ 0x5eed),
            nr_keys,
            past,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    fn key(&mut self) -> Bytes {
        Bytes::from(format!("k{}", self.below(self.nr_keys)))
    }

    fn value(&mut self) -> Value {
        Value::Str(Bytes::from(format!("v{}", self.below(1_000_000))))
    }

    fn at(&mut self) -> u64 {
        if self.past && self.below(2) == 0 {
            NOW_MS - 1 - self.below(1000)
        } else {
            FAR_MS + self.below(1000)
        }
    }

    fn deadline(&mut self) -> Option<u64> {
        match self.below(3) {
            0 => Some(self.at()),
            _ => None,
        }
    }
}

fn new_dbs(nr_dbs: usize) -> Vec<Db> {
    (0..nr_dbs).map(|_| Db::default()).collect()
}

/// Fills `dbs` with random keys; bypasses nothing (plain inserts, before any snapshot).
fn fill(dbs: &mut [Db], g: &mut Gen, nr_inserts: usize) {
    for _ in 0..nr_inserts {
        let i = g.below(dbs.len() as u64) as usize;
        let (k, v, at) = (g.key(), g.value(), g.deadline());
        dbs[i].insert(&k, v, at);
    }
}

/// The raw state of every db, including keys whose deadline has passed but that are still
/// stored: those are part of the state at T too (replay expires them).
fn state(dbs: &[Db]) -> Vec<State> {
    dbs.iter()
        .map(|db| {
            db.keys()
                .iter()
                .map(|(k, v)| {
                    let Value::Str(v) = v else {
                        panic!("these tests store strings only")
                    };
                    (k.clone(), (v.clone(), db.expires().get(k).copied()))
                })
                .collect()
        })
        .collect()
}

/// One `SET key value [PXAT at]` restore command, as (key, (value, deadline)).
fn parse_set(cmd: &[Bytes]) -> (Bytes, (Bytes, Option<u64>)) {
    assert_eq!(&cmd[0][..], b"SET", "{cmd:?}");
    let at = match cmd.len() {
        3 => None,
        5 => {
            assert_eq!(&cmd[3][..], b"PXAT", "{cmd:?}");
            Some(std::str::from_utf8(&cmd[4]).unwrap().parse().unwrap())
        }
        _ => panic!("not a restore command: {cmd:?}"),
    };
    (cmd[1].clone(), (cmd[2].clone(), at))
}

/// Replays `out` per origin db (later duplicates replace earlier ones) and checks that it
/// rebuilds `at_t` exactly, and that no command carried anything but a T-state.
fn assert_rebuilds(at_t: &[State], out: &Out) {
    let mut rebuilt: Vec<State> = vec![State::new(); at_t.len()];
    for (origin, cmd) in out {
        let origin = usize::from(*origin);
        let (k, entry) = parse_set(cmd);
        assert_eq!(
            at_t[origin].get(&k),
            Some(&entry),
            "db {origin} key {k:?}: emitted something that is not its T-state"
        );
        rebuilt[origin].insert(k, entry);
    }
    for (i, (got, want)) in rebuilt.iter().zip(at_t).enumerate() {
        assert_eq!(got.len(), want.len(), "db {i}: key count");
        assert!(got == want, "db {i}: rebuilt state differs");
    }
}

/// Swaps the data of two distinct dbs.
fn swap(dbs: &mut [Db], a: usize, b: usize) {
    let (lo, hi) = (a.min(b), a.max(b));
    let (left, right) = dbs.split_at_mut(hi);
    left[lo].swap_data(&mut right[0]);
}

/// One random mutation (or lazy-expiring read). `rare` enables FLUSHDB and SWAPDB.
fn mutate(dbs: &mut [Db], g: &mut Gen, rare: bool) {
    let i = g.below(dbs.len() as u64) as usize;
    let k = g.key();
    match g.below(20) {
        0..=4 => {
            let (v, at) = (g.value(), g.deadline());
            dbs[i].insert(&k, v, at);
        }
        5..=6 => {
            let v = g.value();
            dbs[i].insert_keep_ttl(&k, v);
        }
        7..=8 => {
            dbs[i].remove(&k);
        }
        9..=10 => {
            // MOVE-like: take from one db, put into another.
            if let Some((v, at)) = dbs[i].take(&k, NOW_MS) {
                let j = g.below(dbs.len() as u64) as usize;
                dbs[j].insert(&k, v, at);
            }
        }
        11..=12 => {
            let at = g.at();
            dbs[i].set_deadline(&k, at);
        }
        13 => {
            dbs[i].persist(&k);
        }
        14..=15 => {
            dbs[i].lookup(&k, NOW_MS);
        }
        16 => {
            let rng = &mut g.sample_rng;
            dbs[i].expire_sample(5, NOW_MS, &mut || rng.next_u64());
        }
        17 if rare && g.below(8) == 0 => dbs[i].clear(),
        18 if rare && g.below(3) == 0 && dbs.len() > 1 => {
            let j = (i + 1 + g.below(dbs.len() as u64 - 1) as usize) % dbs.len();
            swap(dbs, i, j);
        }
        _ => {
            dbs[i].contains(&k, NOW_MS);
        }
    }
}

/// Steps with small random budgets, with up to `max_ops` random mutations between steps,
/// until the snapshot completes. Returns what was emitted.
fn run_to_end(dbs: &mut [Db], g: &mut Gen, max_ops: u64, rare: bool) -> Out {
    let mut out = Out::new();
    for _ in 0..1_000_000 {
        for _ in 0..g.below(max_ops + 1) {
            mutate(dbs, g, rare);
        }
        let budget = 1 + g.below(7) as usize;
        let before = out.len();
        let done = step(dbs, budget, &mut out);
        // About `budget`: a bucket's chain (or, mid-rehash, a bucket and its expansions in
        // the larger table) is emitted whole; at load factor <= 1 that is a few keys.
        assert!(
            out.len() - before <= budget + 32,
            "step overshot its budget"
        );
        if done {
            assert!(!is_active(dbs));
            assert!(
                dbs.iter()
                    .all(|db| db.snap.is_none() && db.detached.is_empty())
            );
            return out;
        }
        assert!(is_active(dbs));
    }
    panic!("snapshot never completed");
}

/// Builds random dbs, snapshots them under random mutations, and checks the base.
fn check_model(seed: u64, nr_dbs: usize, nr_keys: u64, past: bool, rare: bool) {
    let mut g = Gen::new(seed, nr_keys, past);
    let mut dbs = new_dbs(nr_dbs);
    fill(&mut dbs, &mut g, nr_keys as usize * nr_dbs / 2);
    begin(&mut dbs);
    let at_t = state(&dbs);
    let out = run_to_end(&mut dbs, &mut g, 8, rare);
    assert_rebuilds(&at_t, &out);
}

#[test]
fn base_equals_state_at_begin_under_random_mutations() {
    for seed in 1..=300 {
        check_model(seed, 3, 20 + seed % 200, false, false);
    }
}

#[test]
fn base_equals_state_at_begin_with_flushdb_and_swapdb() {
    for seed in 1..=300 {
        check_model(seed, 1 + seed as usize % 4, 20 + seed % 150, false, true);
    }
}

#[test]
fn base_keeps_past_deadlines_under_lazy_and_active_expiry() {
    for seed in 1..=300 {
        check_model(seed, 3, 20 + seed % 150, true, seed % 2 == 0);
    }
}

#[test]
fn base_survives_rehash_while_scanning() {
    for seed in 1..=20 {
        let mut g = Gen::new(seed, 3000, false);
        let mut dbs = new_dbs(2);
        fill(&mut dbs, &mut g, 3000);
        begin(&mut dbs);
        let at_t = state(&dbs);
        let mut out = Out::new();
        let mut done = false;
        // Grow: many new keys after T force several incremental rehashes mid-scan.
        for n in 0..20_000u64 {
            let k = format!("new{n}");
            let v = g.value();
            dbs[(n % 2) as usize].insert(k.as_bytes(), v, None);
            if n % 16 == 0 && !done {
                done = step(&mut dbs, 1 + g.below(3) as usize, &mut out);
            }
        }
        // Shrink: removing them (and some T-keys) forces rehashes the other way.
        for n in 0..20_000u64 {
            let k = format!("new{n}");
            dbs[(n % 2) as usize].remove(k.as_bytes());
            if n % 7 == 0 {
                let k = g.key();
                dbs[(n % 2) as usize].remove(&k);
            }
            if n % 16 == 0 && !done {
                done = step(&mut dbs, 1 + g.below(3) as usize, &mut out);
            }
        }
        while !done {
            done = step(&mut dbs, 5, &mut out);
        }
        assert_rebuilds(&at_t, &out);
    }
}

#[test]
fn step_without_snapshot_is_done_at_once() {
    let mut g = Gen::new(7, 100, false);
    let mut dbs = new_dbs(4);
    fill(&mut dbs, &mut g, 200);
    let mut out = Out::new();
    assert!(!is_active(&dbs));
    assert!(step(&mut dbs, 5, &mut out));
    assert!(out.is_empty());
    // Empty dbs: begin has nothing to track.
    let mut empty = new_dbs(16);
    begin(&mut empty);
    assert!(!is_active(&empty));
    assert!(step(&mut empty, 1, &mut out));
    assert!(out.is_empty());
}

#[test]
fn unmutated_snapshot_emits_each_key_once() {
    let mut g = Gen::new(11, 500, false);
    let mut dbs = new_dbs(3);
    fill(&mut dbs, &mut g, 1000);
    begin(&mut dbs);
    let at_t = state(&dbs);
    let mut out = Out::new();
    while !step(&mut dbs, 3, &mut out) {}
    let nr_keys: usize = at_t.iter().map(|s| s.len()).sum();
    assert_eq!(out.len(), nr_keys);
    assert_rebuilds(&at_t, &out);
}

#[test]
fn begin_while_active_restarts_from_now() {
    let mut g = Gen::new(5, 100, false);
    let mut dbs = new_dbs(3);
    fill(&mut dbs, &mut g, 150);
    begin(&mut dbs);
    let mut out = Out::new();
    for _ in 0..10 {
        mutate(&mut dbs, &mut g, true);
        step(&mut dbs, 3, &mut out);
    }
    begin(&mut dbs);
    let at_t = state(&dbs);
    let out = run_to_end(&mut dbs, &mut g, 6, true);
    assert_rebuilds(&at_t, &out);
}

#[test]
fn tracking_is_bounded_by_touched_keys_and_freed() {
    let mut g = Gen::new(3, 1000, false);
    let mut dbs = new_dbs(1);
    fill(&mut dbs, &mut g, 1000);
    let nr_at_t = dbs[0].len();
    begin(&mut dbs);
    for n in 0..10 {
        dbs[0].remove(format!("k{n}").as_bytes()); // may or may not exist
        dbs[0].remove(format!("k{n}").as_bytes()); // second touch: no new capture
    }
    let snap = dbs[0].snap.as_deref().unwrap();
    assert_eq!(snap.emitted.len(), 10);
    assert_eq!(snap.pre.len(), nr_at_t - dbs[0].len());
    abort(&mut dbs);
    assert!(!is_active(&dbs));
    assert!(dbs[0].snap.is_none());
    let mut out = Out::new();
    assert!(step(&mut dbs, 5, &mut out));
    assert!(out.is_empty());
}

/// The journal of a fixed sequence of mutations, with no snapshot: the effect records
/// every mutation wrote before snapshots existed.
#[test]
fn journal_without_snapshot_is_unchanged() {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let cmd = |parts: &[&str]| parts.iter().map(|p| b(p)).collect::<Vec<_>>();
    let v = |s: &str| Value::Str(b(s));
    let mut db = Db::default();
    db.set_journaling(true);
    db.insert(b"a", v("1"), None);
    db.insert(b"b", v("2"), Some(FAR_MS));
    db.insert_keep_ttl(b"b", v("3"));
    db.set_deadline(b"a", FAR_MS + 1);
    assert!(!db.set_deadline(b"zz", FAR_MS));
    assert!(db.persist(b"a"));
    assert!(!db.persist(b"a"));
    db.remove(b"missing");
    db.take(b"b", NOW_MS);
    db.insert(b"c", v("4"), Some(NOW_MS - 1));
    db.lookup(b"c", NOW_MS); // lazy expiry: no record
    db.insert(b"d", v("5"), Some(NOW_MS - 1));
    db.expire_sample(10, NOW_MS, &mut || 0); // active expiry: no record
    assert!(db.lookup(b"d", NOW_MS).0.is_none());
    db.journal_command(cmd(&["SWAPDB", "0", "1"]));
    db.clear();
    db.clear(); // empty: no record
    let far = FAR_MS.to_string();
    let far1 = (FAR_MS + 1).to_string();
    let past = (NOW_MS - 1).to_string();
    let want = vec![
        cmd(&["SET", "a", "1"]),
        cmd(&["SET", "b", "2", "PXAT", &far]),
        cmd(&["SET", "b", "3", "KEEPTTL"]),
        cmd(&["PEXPIREAT", "a", &far1]),
        cmd(&["PERSIST", "a"]),
        cmd(&["DEL", "b"]),
        cmd(&["SET", "c", "4", "PXAT", &past]),
        cmd(&["SET", "d", "5", "PXAT", &past]),
        cmd(&["SWAPDB", "0", "1"]),
        cmd(&["FLUSHDB"]),
    ];
    assert_eq!(db.take_journal(), want);
    // Journaling off: journal_command records nothing.
    db.set_journaling(false);
    db.journal_command(cmd(&["SWAPDB", "0", "1"]));
    assert!(db.take_journal().is_empty());
}

/// The same mutations write the same journal whether or not a snapshot is running (no
/// deadline passes here, so active expiry's random sampling cannot make the runs differ).
#[test]
fn journal_is_independent_of_snapshot() {
    for seed in 1..=50 {
        let run = |snapshot: bool| {
            let mut g = Gen::new(seed, 60, false);
            let mut dbs = new_dbs(3);
            dbs.iter_mut().for_each(|db| db.set_journaling(true));
            fill(&mut dbs, &mut g, 90);
            if snapshot {
                begin(&mut dbs);
            }
            let mut out = Out::new();
            for n in 0..400 {
                mutate(&mut dbs, &mut g, true);
                if snapshot && n % 3 == 0 {
                    step(&mut dbs, 2, &mut out);
                }
            }
            dbs.iter_mut()
                .map(|db| db.take_journal())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(false), run(true), "seed {seed}");
    }
}

//! Point-in-time snapshots of a shard's databases, by per-key copy-on-write: no fork, no copy.
//!
//! # Contract
//!
//! A log rewrite picks an instant T (the switch: later effects go to a fresh log segment) and
//! needs the *base*: every key as it was at T, as restore commands `SET key value [PXAT t]`
//! (replace semantics), each tagged with the index of the db that held it at T. Replaying the
//! base and then the effects after T rebuilds the data. The base is produced in small
//! synchronous slices ([`step`]) while clients keep mutating the dbs between slices, so:
//!
//! - every key that existed at T is emitted at least once, with its T-value and T-deadline
//!   (a deadline already past at T is emitted as is: replay expires the key);
//! - nothing else is ever emitted: no key created after T, no value or deadline set after T;
//! - a key may be emitted twice (always with its T-value), which replace semantics make
//!   harmless; emitted commands come in no particular order.
//!
//! # Protocol, step by step
//!
//! 1. [`begin`] gives each non-empty db a `Snap`: its origin (the db index at T), an empty
//!    `emitted` set, an empty `pre` list and a scan cursor at 0. No data is copied.
//! 2. Every mutation calls [`Db::modified`] before it changes a key. While a snap is live,
//!    the first call for a key inserts it into `emitted` and, if it exists, pushes its
//!    restore command onto `pre`. Before that first call, nothing has
//!    changed the key since T, so what is captured is the T-state; a key absent at that
//!    moment was absent at T, and marking it emitted keeps the scan from picking up whatever
//!    is created there later.
//! 3. [`step`] drains `pre`, then advances the cursor with [`Dict::scan`], emitting every
//!    visited key not in `emitted`: untouched since T, so its current value is its T-value.
//!    `Dict::scan` visits every key present for the whole scan; a key present at T that is
//!    not is one that was removed, which went through step 2.
//! 4. When the scan ends the snap is finished and dropped: `pre` was drained before the scan
//!    slice and nothing mutates during a step, so every T-key has been emitted. From then on
//!    the db pays nothing again.
//! 5. SWAPDB moves a live snap with the data it describes (`Db::swap_data`), so captures and
//!    the scan keep following that data, and emission keeps using the snap's origin.
//! 6. FLUSHDB during a snapshot *detaches*: the live snap moves, together with the old
//!    dicts, into the db's `detached` list, where the dicts are frozen (nothing reaches them
//!    any more, so nothing needs capturing); the db gets empty dicts and no snap, because
//!    what is created there after T is not part of the base. [`step`] finishes detached
//!    snaps exactly like live ones. They carry their own origin and data, so it does not
//!    matter which db's list holds them; SWAPDB leaves them where they are.
//!
//! # Costs
//!
//! With no snapshot active: one branch per mutation. While one is active: one set lookup per
//! mutation, and memory for the keys touched during the snapshot (`emitted`) plus the
//! pre-images not yet emitted. A [`step`] emits about `budget` commands (a bucket's chain is
//! emitted whole) and visits at most `budget * SCAN_VISITS_PER_COMMAND` buckets. Finishing a
//! detached snap drops its frozen dicts at once: the O(entries) cost FLUSHDB used to pay.

use ahash::AHashSet;
use bytes::Bytes;

use super::{Db, Dict, Value, value};

/// Most buckets a step visits per command of budget, so a sparse table cannot make one step
/// walk millions of empty buckets (Redis's SCAN uses the same factor, `count * 10`).
const SCAN_VISITS_PER_COMMAND: usize = 10;

// Origins are u16 (the base's record format); the configured db count must fit.
const _: () = assert!(crate::config::MAX_DATABASES <= u16::MAX as usize + 1);

/// The snapshot state of one db's data (see the module documentation).
#[derive(Default)]
pub(super) struct Snap {
    /// The db index that held this data at T; every command from this snap is tagged with it.
    origin: u16,
    /// Keys whose T-state has been captured into `pre`, or that were absent at T when first
    /// touched: the scan skips them.
    emitted: AHashSet<Bytes>,
    /// Restore commands of captured pre-images, one group per key (a collection takes
    /// several commands, which must stay in order), waiting for [`step`].
    pre: Vec<Vec<Vec<Bytes>>>,
    /// [`Dict::scan`] cursor over the data's `keys`.
    cursor: u64,
    /// The scan has visited every bucket (a cursor of 0 also means "not started").
    scan_done: bool,
}

/// A snapshot detached by FLUSHDB, with the data it describes, frozen.
pub(super) struct Detached {
    snap: Box<Snap>,
    keys: Dict<Bytes, Value>,
    expires: Dict<Bytes, u64>,
}

/// Starts a point-in-time snapshot of every db (db index i is the origin of `dbs[i]`).
/// Never panics; if a snapshot is already active, it is aborted first. Empty dbs get no
/// snap: there is nothing to emit for them, and data created there later is not in the base.
pub fn begin(dbs: &mut [Db]) {
    abort(dbs);
    for (db, origin) in dbs.iter_mut().zip(0..=u16::MAX) {
        if !db.keys.is_empty() {
            db.snap = Some(Box::new(Snap {
                origin,
                ..Snap::default()
            }));
        }
    }
}

/// Emits up to about `budget` restore commands into `out` as (origin db index, args), db by
/// db: a db's detached snaps before its live snap (finishing them frees their frozen data),
/// and within a snap, pre-images before scanned keys. Returns true when the snapshot is complete, which also
/// ends it. Never emits a key's post-T value. A `budget` of 0 counts as 1, so every call
/// makes progress.
pub fn step(dbs: &mut [Db], budget: usize, out: &mut Vec<(u16, Vec<Bytes>)>) -> bool {
    let mut budget = budget.max(1);
    for db in dbs.iter_mut() {
        if budget == 0 {
            break;
        }
        db.detached
            .retain_mut(|d| !emit(&mut d.snap, &d.keys, &d.expires, &mut budget, out));
        if let Some(snap) = &mut db.snap
            && emit(snap, &db.keys, &db.expires, &mut budget, out)
        {
            db.snap = None;
        }
    }
    !is_active(dbs)
}

/// Abandons an active snapshot, dropping all its state (and any frozen data it held).
pub fn abort(dbs: &mut [Db]) {
    for db in dbs.iter_mut() {
        db.snap = None;
        db.detached.clear();
    }
}

/// True while a snapshot is active on any db (for INFO and tests).
pub fn is_active(dbs: &[Db]) -> bool {
    dbs.iter()
        .any(|db| db.snap.is_some() || !db.detached.is_empty())
}

/// FLUSHDB during a snapshot: moves the live snap and the data it describes to `detached`,
/// leaving `db` empty and untracked. The caller (`Db::clear`) checked that a snap is live.
pub(super) fn detach(db: &mut Db) {
    if let Some(snap) = db.snap.take() {
        db.detached.push(Detached {
            snap,
            keys: std::mem::take(&mut db.keys),
            expires: std::mem::take(&mut db.expires),
        });
    }
}

/// Approximate heap bytes of `db`'s snapshot state: frozen data, the `emitted` table and the
/// `pre` list, without the key and value bytes they point to (mostly shared with the data:
/// `Bytes` clones share one allocation). O(1) per snap, since INFO calls it.
pub(super) fn heap_bytes(db: &Db) -> usize {
    let snap_bytes = |s: &Snap| {
        // One control byte per hashbrown slot besides the `Bytes` itself.
        s.emitted.capacity() * (size_of::<Bytes>() + 1)
            + s.pre.capacity() * size_of::<Vec<Vec<Bytes>>>()
    };
    let live = db.snap.as_deref().map_or(0, snap_bytes);
    let detached: usize = db
        .detached
        .iter()
        .map(|d| snap_bytes(&d.snap) + d.keys.heap_bytes() + d.expires.heap_bytes())
        .sum();
    live + detached
}

impl Snap {
    /// The copy-on-write hook, called by [`Db::modified`] before `key` changes: the first time
    /// a key is touched, remembers it and captures its T-state (value and deadline, even a
    /// past one) if it exists.
    pub(super) fn capture(
        &mut self,
        key: &[u8],
        keys: &Dict<Bytes, Value>,
        expires: &Dict<Bytes, u64>,
    ) {
        if self.emitted.contains(key) {
            return;
        }
        match keys.get_key_value(key) {
            Some((k, v)) => {
                let at = expires.get(key).copied();
                self.pre.push(value::restore_commands(k, v, at));
                self.emitted.insert(k.clone());
            }
            None => {
                self.emitted.insert(Bytes::copy_from_slice(key));
            }
        }
    }
}

/// One slice of one snap over its data: drains `pre`, then scans, spending `budget`.
/// Returns true when the snap is finished (scan done and `pre` empty).
fn emit(
    snap: &mut Snap,
    keys: &Dict<Bytes, Value>,
    expires: &Dict<Bytes, u64>,
    budget: &mut usize,
    out: &mut Vec<(u16, Vec<Bytes>)>,
) -> bool {
    let origin = snap.origin;
    // `pre` holds one group per distinct key, so the order of groups does not matter: pop
    // whole groups from the end.
    let nr_pre = snap.pre.len().min(*budget);
    let from = snap.pre.len() - nr_pre;
    out.extend(snap.pre.drain(from..).flatten().map(|cmd| (origin, cmd)));
    *budget -= nr_pre;
    let mut nr_visits_left = budget.saturating_mul(SCAN_VISITS_PER_COMMAND);
    while !snap.scan_done && *budget > 0 && nr_visits_left > 0 {
        nr_visits_left -= 1;
        let emitted = &snap.emitted;
        snap.cursor = keys.scan(snap.cursor, |k, v| {
            if !emitted.contains(k) {
                let at = expires.get(k).copied();
                let cmds = value::restore_commands(k, v, at);
                out.extend(cmds.into_iter().map(|cmd| (origin, cmd)));
                *budget = budget.saturating_sub(1);
            }
        });
        snap.scan_done = snap.cursor == 0;
    }
    snap.scan_done && snap.pre.is_empty()
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;

//! A shard's data: logical databases of keys, values and expiry deadlines.
//!
//! Only the owning shard touches a [`Db`]. Every read goes through [`Db::lookup`], which
//! applies lazy expiry, so no caller can observe a key past its deadline. Deadlines are
//! absolute Unix milliseconds, so they mean the same thing after a restart or a move.
//!
//! Every mutation calls [`Db::modified`] *before* it changes anything: that one hook serves
//! WATCH and the copy-on-write of a point-in-time [`snapshot`] (used by the log rewrite).

pub mod dict;
pub mod encoding;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod snapshot;
pub mod value;
pub mod zset;

use ahash::AHashMap;
use bytes::Bytes;
pub use dict::Dict;
pub use value::Value;

/// One logical database (SELECT n) on one shard.
#[derive(Default)]
pub struct Db {
    keys: Dict<Bytes, Value>,
    /// Keys that have a deadline, like Redis's `expires` dict: lets active expiry sample only
    /// keys that can expire. Invariant: every key here is also in `keys`.
    expires: Dict<Bytes, u64>,
    /// Average remaining TTL (ms) of sampled keys, smoothed like Redis's `db->avg_ttl`.
    pub avg_ttl_ms: u64,
    /// Keys some client WATCHes, with a version bumped by every modification (WATCH/EXEC).
    /// Empty unless a client watches a key here, so the hook costs one branch otherwise.
    watched: AHashMap<Bytes, Watch>,
    /// Effects of mutations, as commands in effect form, waiting to be appended to the
    /// shard's log; `None` when the log is off (then recording costs one branch).
    journal: Option<Vec<Vec<Bytes>>>,
    /// The point-in-time snapshot tracking this db's data (see [`snapshot`]); it moves with
    /// the data on SWAPDB. `None` unless a log rewrite is producing its base.
    snap: Option<Box<snapshot::Snap>>,
    /// Snapshots detached by FLUSHDB together with the data they describe (frozen), waiting
    /// for [`snapshot::step`] to finish them. Empty unless a snapshot met a FLUSHDB.
    detached: Vec<snapshot::Detached>,
}

/// WATCH bookkeeping for one key.
#[derive(Debug, Clone, Copy, Default)]
struct Watch {
    version: u64,
    watchers: u32,
}

/// What lazy expiry found during one operation, for stats and (later) notifications.
#[derive(Default, Debug, Clone, Copy)]
pub struct Expired(pub u64);

impl Db {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Turns effect recording on or off (on when the append-only log is enabled).
    pub fn set_journaling(&mut self, on: bool) {
        match (on, self.journal.is_some()) {
            (true, false) => self.journal = Some(Vec::new()),
            (false, true) => self.journal = None,
            _ => {}
        }
    }

    /// Whether effects are waiting to be taken (one branch per db for ops that wrote none).
    #[inline]
    pub fn has_journal(&self) -> bool {
        matches!(&self.journal, Some(j) if !j.is_empty())
    }

    /// Takes the effects recorded since the last call, oldest first.
    pub fn take_journal(&mut self) -> Vec<Vec<Bytes>> {
        match &mut self.journal {
            Some(j) if !j.is_empty() => std::mem::take(j),
            _ => Vec::new(),
        }
    }

    fn record(&mut self, effect: impl FnOnce() -> Vec<Bytes>) {
        if let Some(j) = &mut self.journal {
            j.push(effect());
        }
    }

    fn record_all(&mut self, effects: impl FnOnce() -> Vec<Vec<Bytes>>) {
        if let Some(j) = &mut self.journal {
            j.extend(effects());
        }
    }

    /// Whether effects are being recorded (so a command can skip building its record).
    pub fn journaling(&self) -> bool {
        self.journal.is_some()
    }

    /// Appends a raw effect record to the journal if journaling is on: for effects that no
    /// single-db mutation records, such as `SWAPDB a b` (logged once, by the caller).
    pub fn journal_command(&mut self, cmd: Vec<Bytes>) {
        if let Some(j) = &mut self.journal {
            j.push(cmd);
        }
    }

    /// Records that `key` is about to change: bumps its version for clients that WATCH it and,
    /// while a [`snapshot`] is active, captures the key's current value and deadline first
    /// (copy-on-write). Hence the rule: call it BEFORE changing `key`. Every mutation below
    /// does; code that mutates a value in place through [`Db::lookup_mut`] must call
    /// `modified(key)` before it mutates (before `lookup_mut`, since that borrow is held).
    /// Costs one branch per concern when neither WATCH nor a snapshot is active.
    pub fn modified(&mut self, key: &[u8]) {
        if let Some(snap) = &mut self.snap {
            snap.capture(key, &self.keys, &self.expires);
        }
        if !self.watched.is_empty()
            && let Some(w) = self.watched.get_mut(key)
        {
            w.version += 1;
        }
    }

    /// Marks every watched key changed (FLUSHDB, FLUSHALL, SWAPDB).
    pub fn modified_all(&mut self) {
        for w in self.watched.values_mut() {
            w.version += 1;
        }
    }

    /// Starts watching `key`; returns its current version and deadline (a key that is live at
    /// WATCH time and has expired by EXEC counts as modified, as in Redis).
    pub fn watch(&mut self, key: &[u8]) -> (u64, Option<u64>) {
        let deadline = self.expires.get(key).copied();
        let w = self.watched.entry(Bytes::copy_from_slice(key)).or_default();
        w.watchers += 1;
        (w.version, deadline)
    }

    /// Stops one watcher of `key`.
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(w) = self.watched.get_mut(key) {
            w.watchers = w.watchers.saturating_sub(1);
            if w.watchers == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// True when `key` is unchanged since a WATCH that saw `version` and `deadline`.
    pub fn watch_intact(
        &self,
        key: &[u8],
        version: u64,
        deadline: Option<u64>,
        now_ms: u64,
    ) -> bool {
        let same = self.watched.get(key).is_some_and(|w| w.version == version);
        let expired_since = deadline.is_some_and(|at| at <= now_ms);
        same && !expired_since
    }

    /// Swaps the data (not the watch tables or the journal, which belong to the database
    /// number) with `other`. A live snapshot moves with the data it describes. The caller logs
    /// the swap (a SWAPDB record names both databases; see [`Db::journal_command`]).
    pub fn swap_data(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.avg_ttl_ms, &mut other.avg_ttl_ms);
        std::mem::swap(&mut self.snap, &mut other.snap);
        self.modified_all();
        other.modified_all();
    }

    /// Drops `key` if its deadline has passed. Returns true if it was dropped.
    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self.expires.get(key) {
            Some(&at) if at <= now_ms => {
                self.modified(key);
                self.expires.remove(key);
                self.keys.remove(key);
                true
            }
            _ => false,
        }
    }

    /// The live value of `key`, applying lazy expiry first. The bool says whether an expired
    /// key was dropped on the way.
    pub fn lookup(&mut self, key: &[u8], now_ms: u64) -> (Option<&Value>, bool) {
        let expired = self.expire_if_needed(key, now_ms);
        (self.keys.get(key), expired)
    }

    /// Like [`Db::lookup`], for changing the value in place: call [`Db::modified`] for `key`
    /// first (WATCH and snapshot copy-on-write must see the value before it changes).
    pub fn lookup_mut(&mut self, key: &[u8], now_ms: u64) -> (Option<&mut Value>, bool) {
        let expired = self.expire_if_needed(key, now_ms);
        (self.keys.get_mut(key), expired)
    }

    /// True when `key` exists with a deadline that has passed (lazy expiry would drop it).
    pub fn contains_expired(&self, key: &[u8], now_ms: u64) -> bool {
        !self.expires.is_empty() && self.expires.get(key).is_some_and(|&at| at <= now_ms)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        self.keys.contains_key(key)
    }

    /// Sets `key` to `value`. `expire_at_ms`: `Some(t)` sets a deadline, `None` clears any
    /// (as SET does without KEEPTTL); use [`Db::insert_keep_ttl`] to keep it.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) {
        self.modified(key);
        self.record_all(|| value::restore_commands(key, &value, expire_at_ms));
        let key = self.owned_key(key);
        match expire_at_ms {
            Some(at) => {
                self.expires.insert(key.clone(), at);
            }
            None => {
                if !self.expires.is_empty() {
                    self.expires.remove(&key[..]);
                }
            }
        }
        self.keys.insert(key, value);
    }

    /// Adds a new collection at `key` (which must not exist) without recording anything:
    /// the command that creates it records its own effect (`HSET k f v` recreates the hash on
    /// replay), so the log holds one record, not a restore plus the command.
    pub fn create(&mut self, key: &[u8], value: Value) {
        debug_assert!(!self.keys.contains_key(key), "create() on an existing key");
        self.modified(key);
        let key = Bytes::copy_from_slice(key);
        self.keys.insert(key, value);
    }

    /// Sets `key` to a string keeping its current deadline (KEEPTTL, SETRANGE, APPEND, INCR).
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value) {
        debug_assert!(
            matches!(value, Value::Str(_)),
            "KEEPTTL records are SET records"
        );
        self.modified(key);
        self.record_all(|| {
            let mut c = value::restore_commands(key, &value, None);
            if let Some(set) = c.first_mut() {
                set.push(Bytes::from_static(b"KEEPTTL"));
            }
            c
        });
        if let Some(v) = self.keys.get_mut(key) {
            *v = value;
        } else {
            let key = self.owned_key(key);
            self.keys.insert(key, value);
        }
    }

    /// Reuses the stored key's allocation when the key exists, else copies it out of the
    /// request buffer (so a stored key never pins a whole read buffer in memory).
    fn owned_key(&self, key: &[u8]) -> Bytes {
        match self.keys.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Bytes::copy_from_slice(key),
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        self.modified(key);
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        let old = self.keys.remove(key);
        if old.is_some() {
            self.record(|| vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
        }
        old
    }

    /// Removes `key` and returns its value and deadline (for RENAME and MOVE).
    pub fn take(&mut self, key: &[u8], now_ms: u64) -> Option<(Value, Option<u64>)> {
        self.expire_if_needed(key, now_ms);
        self.modified(key);
        let at = self.expires.remove(key);
        let taken = self.keys.remove(key).map(|v| (v, at));
        if taken.is_some() {
            self.record(|| vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
        }
        taken
    }

    /// The deadline of a live key: `None` if the key is missing, `Some(None)` if it has none.
    pub fn deadline(&mut self, key: &[u8], now_ms: u64) -> Option<Option<u64>> {
        self.expire_if_needed(key, now_ms);
        if !self.keys.contains_key(key) {
            return None;
        }
        Some(self.expires.get(key).copied())
    }

    /// Sets a deadline on an existing key. Returns false if the key does not exist.
    pub fn set_deadline(&mut self, key: &[u8], at_ms: u64) -> bool {
        self.modified(key);
        match self.keys.get_key_value(key) {
            Some((k, _)) => {
                let k = k.clone();
                self.expires.insert(k.clone(), at_ms);
                self.record(|| {
                    vec![
                        Bytes::from_static(b"PEXPIREAT"),
                        k,
                        Bytes::from(at_ms.to_string()),
                    ]
                });
                true
            }
            None => false,
        }
    }

    /// Removes a key's deadline. Returns true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if !self.expires.contains_key(key) {
            return false;
        }
        self.modified(key);
        self.expires.remove(key);
        self.record(|| vec![Bytes::from_static(b"PERSIST"), Bytes::copy_from_slice(key)]);
        true
    }

    /// FLUSHDB. During a snapshot the old data is detached with it rather than dropped, so
    /// the snapshot can still emit what the db held at its start.
    pub fn clear(&mut self) {
        self.modified_all();
        if !self.keys.is_empty() {
            self.record(|| vec![Bytes::from_static(b"FLUSHDB")]);
        }
        if self.snap.is_some() {
            snapshot::detach(self);
        } else {
            self.keys.clear();
            self.expires.clear();
        }
    }

    pub fn keys(&self) -> &Dict<Bytes, Value> {
        &self.keys
    }

    pub fn expires(&self) -> &Dict<Bytes, u64> {
        &self.expires
    }

    /// One bounded step of incremental rehashing for both tables (called from the shard's
    /// housekeeping timer so idle databases still finish rehashing).
    pub fn rehash_steps(&mut self, n: usize) {
        self.keys.rehash_steps(n);
        self.expires.rehash_steps(n);
    }

    /// Active expiry: samples up to `sample` keys that have deadlines and removes the expired
    /// ones. Returns how many were sampled and expired, so the caller can repeat while the
    /// expired ratio is high, like Redis's activeExpireCycle; also folds the live samples'
    /// remaining TTL into `avg_ttl_ms` the way Redis does.
    pub fn expire_sample(
        &mut self,
        sample: usize,
        now_ms: u64,
        rand: &mut impl FnMut() -> u64,
    ) -> (usize, usize) {
        self.expire_sample_into(sample, now_ms, rand, None)
    }

    /// [`Db::expire_sample`], also collecting the removed keys into `removed_keys`.
    pub fn expire_sample_into(
        &mut self,
        sample: usize,
        now_ms: u64,
        rand: &mut impl FnMut() -> u64,
        mut removed_keys: Option<&mut Vec<Bytes>>,
    ) -> (usize, usize) {
        let mut dead: Vec<Bytes> = Vec::new();
        let (mut ttl_sum, mut ttl_n) = (0u64, 0u64);
        let sampled = self.expires.sample(sample, rand, |k, &at| {
            if at <= now_ms {
                dead.push(k.clone());
            } else {
                ttl_sum += at - now_ms;
                ttl_n += 1;
            }
        });
        // Sampling may visit a key twice: count only keys actually removed.
        let mut removed = 0;
        for k in &dead {
            if self.expires.contains_key(&k[..]) {
                self.modified(k);
                self.expires.remove(&k[..]);
                self.keys.remove(&k[..]);
                removed += 1;
                if let Some(out) = removed_keys.as_deref_mut() {
                    out.push(k.clone());
                }
            }
        }
        if let Some(avg) = ttl_sum.checked_div(ttl_n) {
            self.avg_ttl_ms = if self.avg_ttl_ms == 0 {
                avg
            } else {
                self.avg_ttl_ms / 50 * 49 + avg / 50
            };
        }
        if self.expires.is_empty() {
            self.avg_ttl_ms = 0;
        }
        (sampled, removed)
    }

    /// Approximate heap bytes held by this database (with any snapshot state), for INFO memory.
    pub fn heap_bytes(&self) -> usize {
        self.keys.heap_bytes() + self.expires.heap_bytes() + snapshot::heap_bytes(self)
    }
}

//! The shard: the only owner of mutable data on its core.
//!
//! A shard holds its slice of every logical database, its expiry state and its per-command
//! statistics. All access is synchronous (`&mut Shard`) from tasks on the shard's own executor;
//! other cores reach it only through the [`router`] mesh. Key → shard routing is one function,
//! [`shard_for_key`].

pub mod expire;
pub mod router;
pub mod slot;

use crate::commands::stats::CommandStats;
use crate::store::Db;
use crate::util::Rng;

/// Which shard owns `slot` when there are `nr_shards`: contiguous slot ranges, like a Redis
/// Cluster whose nodes each own one range. Depends only on the slot and the shard count, so the
/// mapping is stable across restarts with the same `--shards`.
pub fn shard_for_slot(slot: u16, nr_shards: usize) -> usize {
    slot as usize * nr_shards / slot::SLOT_COUNT as usize
}

/// The shard that owns `key` (hash tags honoured: `{user1}.a` and `{user1}.b` share a shard).
pub fn shard_for_key(key: &[u8], nr_shards: usize) -> usize {
    if nr_shards == 1 {
        return 0;
    }
    shard_for_slot(slot::key_slot(key), nr_shards)
}

/// Counters a shard keeps about its keyspace, reported by INFO stats.
#[derive(Default, Debug, Clone, Copy)]
pub struct KeyspaceStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_cpu_us: u64,
}

pub struct Shard {
    pub id: usize,
    pub nr_shards: usize,
    pub dbs: Vec<Db>,
    pub stats: KeyspaceStats,
    pub commands: CommandStats,
    pub rng: Rng,
    /// Active expiry on/off (DEBUG SET-ACTIVE-EXPIRE); lazy expiry always runs.
    pub active_expire: bool,
    /// This shard's append-only log, once loaded (`None` with `--appendonly no`).
    pub aof: Option<std::rc::Rc<crate::aof::ShardAof>>,
    /// Pub/sub counts for the channels this shard owns, and every pattern.
    pub pubsub: crate::pubsub::Owner,
    /// `notify-keyspace-events` as flag bits (`pubsub::notify`); 0 = off.
    pub notify_flags: u32,
    /// Whether the dbs record effects (see [`Shard::update_journaling`]): when not, a batch
    /// skips looking for effects after every op.
    pub journaling: bool,
    /// The command a shard task is running for, so its effects raise the right keyspace
    /// events (RENAME's move is `rename_from`/`rename_to`, not `del`/`set`). Taken per op.
    pub notify_cmd: Option<&'static str>,
    /// Deliveries an op started on other cores that must be done before its reply leaves
    /// (taken by `router::run_ops` into the batch's `Settle`).
    pub deferred: Vec<router::Deferred>,
    /// This shard's slowlog and latency events (SLOWLOG, LATENCY), with the thresholds that
    /// decide what is recorded.
    pub slow: crate::commands::server::slowlog::SlowRecords,
    /// Clients blocked on this shard's keys (BLPOP and friends), FIFO per key.
    pub blocked: crate::commands::blocking::ShardWaiters,
}

impl Shard {
    pub fn new(id: usize, nr_shards: usize, databases: usize) -> Shard {
        Shard {
            id,
            nr_shards,
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KeyspaceStats::default(),
            commands: CommandStats::default(),
            rng: Rng::new(crate::util::now_us() ^ ((id as u64 + 1) << 40)),
            active_expire: true,
            aof: None,
            pubsub: crate::pubsub::Owner::default(),
            notify_flags: 0,
            journaling: false,
            notify_cmd: None,
            deferred: Vec::new(),
            slow: Default::default(),
            blocked: Default::default(),
        }
    }

    /// Effects are recorded while the log or keyspace notifications need them.
    pub fn update_journaling(&mut self) {
        let on = self.aof.is_some() || crate::pubsub::notify::active(self.notify_flags);
        self.journaling = on;
        for db in self.dbs.iter_mut() {
            db.set_journaling(on);
        }
    }

    /// Total keys over all databases on this shard.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_covers_every_shard_and_respects_hash_tags() {
        for n in [1, 2, 3, 4, 7, 64] {
            let mut seen = vec![false; n];
            for slot in 0..slot::SLOT_COUNT {
                let s = shard_for_slot(slot, n);
                assert!(s < n);
                seen[s] = true;
            }
            assert!(seen.iter().all(|&b| b), "every shard owns slots with n={n}");
            assert_eq!(
                shard_for_key(b"{user1}.a", n),
                shard_for_key(b"{user1}.b", n)
            );
        }
    }
}

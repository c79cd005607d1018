//! The execution context shard functions run in, and the list of coordinated commands.

use bytes::Bytes;

use crate::commands::server::slowlog;
use crate::commands::spec::CommandSpec;
use crate::protocol::Reply;
use crate::pubsub::notify::{self, notify};
use crate::shard::Shard;
use crate::store::Db;

/// A command's work on the shard that owns its keys: synchronous, never awaits, no I/O.
/// `args[0]` is the command name as the client sent it.
pub type ShardFn = fn(&mut ExecCtx<'_>, &[Bytes]) -> Reply;

/// What a shard function gets: its shard, the client's selected database and one clock
/// reading, so every key a command touches is judged against the same time.
pub struct ExecCtx<'a> {
    pub shard: &'a mut Shard,
    pub db: usize,
    pub now_ms: u64,
}

impl<'a> ExecCtx<'a> {
    pub fn new(shard: &'a mut Shard, db: usize) -> ExecCtx<'a> {
        ExecCtx {
            shard,
            db,
            now_ms: crate::util::now_ms(),
        }
    }

    pub fn db(&mut self) -> &mut Db {
        &mut self.shard.dbs[self.db]
    }

    /// Looks a key up for reading, counting keyspace hits and misses like Redis's
    /// lookupKeyRead, and applying lazy expiry.
    pub fn read(&mut self, key: &[u8]) -> Option<&crate::store::Value> {
        let now = self.now_ms;
        if self.shard.notify_flags != 0 {
            return self.read_notifying(key);
        }
        let shard = &mut *self.shard;
        let (v, expired) = shard.dbs[self.db].lookup(key, now);
        if expired {
            shard.stats.expired_keys += 1;
        }
        if v.is_some() {
            shard.stats.keyspace_hits += 1;
        } else {
            shard.stats.keyspace_misses += 1;
        }
        v
    }

    /// Looks a key up for writing (lazy expiry, no hit/miss counting, like lookupKeyWrite).
    pub fn write(&mut self, key: &[u8]) -> Option<&mut crate::store::Value> {
        let now = self.now_ms;
        if self.shard.notify_flags != 0 && self.shard.dbs[self.db].contains_expired(key, now) {
            // Expire it here, where the event can be raised; the lookup below then misses.
            self.shard.dbs[self.db].lookup(key, now);
            self.shard.stats.expired_keys += 1;
            notify(self.shard, notify::EXPIRED, "expired", key, self.db);
        }
        let shard = &mut *self.shard;
        let (v, expired) = shard.dbs[self.db].lookup_mut(key, now);
        if expired {
            shard.stats.expired_keys += 1;
        }
        v
    }

    /// [`ExecCtx::read`] with keyspace notifications on: `expired` and `keymiss` events.
    fn read_notifying(&mut self, key: &[u8]) -> Option<&crate::store::Value> {
        let now = self.now_ms;
        let db = self.db;
        let (found, expired) = {
            let (v, expired) = self.shard.dbs[db].lookup(key, now);
            (v.is_some(), expired)
        };
        if expired {
            self.shard.stats.expired_keys += 1;
            notify(self.shard, notify::EXPIRED, "expired", key, db);
        }
        if found {
            self.shard.stats.keyspace_hits += 1;
        } else {
            self.shard.stats.keyspace_misses += 1;
            notify(self.shard, notify::KEY_MISS, "keymiss", key, db);
        }
        self.shard.dbs[db].keys().get(key)
    }

    /// True when `key` exists (after lazy expiry), without counting a hit or miss.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.write(key).is_some()
    }
}

/// [`run_shard_fn_for`] without a client: the slowlog shows no address or name for it.
/// (A single-shard MULTI/EXEC runs its queue this way; it should pass its session's id.)
pub fn run_shard_fn(
    ctx: &mut ExecCtx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    count_call: bool,
) -> Reply {
    run_shard_fn_for(ctx, spec, args, count_call, slowlog::NO_CLIENT)
}

/// Runs a shard function for client `client` (its id) with the command's stats, latency,
/// slowlog entry and latency event recorded on this shard.
/// `count_call` is false for the extra parts of a command split across shards.
pub fn run_shard_fn_for(
    ctx: &mut ExecCtx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    count_call: bool,
    client: u64,
) -> Reply {
    run_shard_fn_since(ctx, spec, args, count_call, client, crate::util::mono_ns()).0
}

/// [`run_shard_fn_for`] timed from `started` ([`crate::util::mono_ns`]; the end of the
/// previous op of a batch, so a batch reads the clock once per op instead of twice);
/// returns the reply and when it ended.
pub fn run_shard_fn_since(
    ctx: &mut ExecCtx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    count_call: bool,
    client: u64,
    started: u64,
) -> (Reply, u64) {
    let f = match spec.exec {
        crate::commands::spec::Exec::Shard(f)
        | crate::commands::spec::Exec::Split(f, _)
        | crate::commands::spec::Exec::ShardOrCoord(f, _)
        | crate::commands::spec::Exec::Channel(f) => f,
        crate::commands::spec::Exec::Coord(_) => {
            return (
                Reply::error("ERR internal: coordinated command sent to a shard"),
                started,
            );
        }
    };
    let reply = f(ctx, args);
    let ended = crate::util::mono_ns();
    let elapsed_ns = ended.saturating_sub(started);
    let shard = &mut *ctx.shard;
    let tracking = shard.slow.limits().latency_tracking;
    shard
        .commands
        .record_call(spec.name, elapsed_ns, &reply, count_call, tracking);
    shard.slow.after_command(
        spec,
        args,
        elapsed_ns,
        &reply,
        slowlog::who_of_client(client),
    );
    (reply, ended)
}

/// Commands that run on the connection's core: they need the connection's state, talk to
/// several shards, or take several steps. Dispatched in `commands::coord`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordOp {
    Ping,
    Echo,
    Quit,
    Reset,
    Hello,
    Auth,
    Select,
    Client,
    Info,
    Config,
    Command,
    Time,
    LastSave,
    Shutdown,
    DbSize,
    FlushDb,
    FlushAll,
    SwapDb,
    Keys,
    Scan,
    RandomKey,
    Rename,
    RenameNx,
    Copy,
    MSetNx,
    Debug,
    BgRewriteAof,
    Object,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    SSubscribe,
    SUnsubscribe,
    PubSub,
    SlowLog,
    Latency,
    Monitor,
    LMove,
    LMPop,
    Block,
    ZBlock,
    ZCombine,
    ZMPop,
    ZRangeStore,
    /// The multi-key set commands whose keys live on several shards (`commands::sets`).
    Sets,
}

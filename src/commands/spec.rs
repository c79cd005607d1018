//! The declarative command spec: one entry per command, read by routing, arity checks,
//! `COMMAND` (INFO, DOCS, COUNT, LIST, GETKEYS) and the stats code. Nothing else may hold its
//! own copy of a command's arity, flags or key positions.

use bytes::Bytes;

use crate::commands::exec::{CoordOp, ShardFn};

/// Command flags, as Redis 7 names them in `COMMAND INFO`.
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const SENTINEL: u32 = 1 << 16;
    pub const ONLY_SENTINEL: u32 = 1 << 17;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 18;
    pub const NO_ASYNC_LOADING: u32 = 1 << 19;
    /// Key positions depend on the arguments (a `numkeys` argument): COMMAND INFO prints it
    /// when the spec has a key finder ([`super::CommandSpec::movable`]).
    pub const MOVABLEKEYS: u32 = 1 << 20;

    /// Names in the order Redis prints them in `COMMAND INFO`.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// How a command is executed; decided once, here, from its spec.
#[derive(Clone, Copy)]
pub enum Exec {
    /// Runs synchronously on the shard that owns all of its keys. If the keys live on several
    /// shards the command is refused with CROSSSLOT-like semantics unless it is `Split`.
    Shard(ShardFn),
    /// Keys may span shards: the key list is split per owning shard, the same `ShardFn` runs on
    /// every subset, and the partial replies are merged.
    Split(ShardFn, Merge),
    /// Coordinated on the connection's core: connection state, fan-out, or multi-step work.
    Coord(CoordOp),
    /// Runs on the shard that owns the pub/sub channel named by the first argument (which is
    /// not a key: PUBLISH declares none), so pipelined PUBLISHes travel as one batch.
    Channel(ShardFn),
    /// A multi-key command that is atomic when its keys live together: then the `ShardFn`
    /// runs on that shard like `Shard` (pipelined, and inside a one-shard MULTI); when they
    /// live apart the `CoordOp` gathers and combines on the connection's core (SINTER, ZUNION,
    /// SMOVE, LMOVE...).
    ShardOrCoord(ShardFn, CoordOp),
}

/// How the partial replies of a `Split` command are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Integer replies added up (DEL, EXISTS, TOUCH, UNLINK).
    Sum,
    /// Array replies put back in the order of the keys in the request (MGET).
    KeyOrder,
    /// All parts reply +OK (MSET).
    AllOk,
}

/// A key finder: the key positions of one request (see [`CommandSpec::keys_fn`]).
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// One command, as data.
pub struct CommandSpec {
    /// Lower-case name, as `COMMAND` prints it.
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments including the name, -N means at least N.
    pub arity: i32,
    pub flags: u32,
    /// 1-based position of the first key (0: no keys), last key (-1: last argument, -2: one
    /// before it), and step between keys: Redis's legacy key specification.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// ACL categories without the '@', e.g. ["read", "string", "fast"].
    pub acl: &'static [&'static str],
    /// `COMMAND DOCS` fields.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub exec: Exec,
    /// Finds the key positions of commands whose keys move with a `numkeys` argument
    /// (SINTERCARD, ZUNION, LMPOP...): indices into the arguments, or an empty list when the
    /// arguments are malformed (the command itself then reports the error).
    pub keys_fn: Option<KeysFn>,
}

impl CommandSpec {
    /// Starts a spec with no docs and no ACL categories; chain [`CommandSpec::acl`] and
    /// [`CommandSpec::doc`]. `keys` is (first, last, step) as in Redis's legacy key spec.
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i32, i32, i32),
        exec: Exec,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            key_step: keys.2,
            acl: &[],
            group: "generic",
            summary: "",
            since: "1.0.0",
            complexity: "O(1)",
            exec,
            keys_fn: None,
        }
    }

    /// Declares a key finder for a command with movable keys (see [`CommandSpec::keys_fn`]);
    /// sets the `movablekeys` flag.
    pub const fn movable(mut self, f: KeysFn) -> CommandSpec {
        self.keys_fn = Some(f);
        self.flags |= flag::MOVABLEKEYS;
        self
    }

    pub const fn acl(mut self, acl: &'static [&'static str]) -> CommandSpec {
        self.acl = acl;
        self
    }

    /// `COMMAND DOCS` fields: group, since, summary, complexity.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
    ) -> CommandSpec {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self.complexity = complexity;
        self
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn is_write(&self) -> bool {
        self.has(flag::WRITE)
    }

    /// True when `argc` (name included) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Indices into `args` (0 = the command name) of this command's keys: the key finder's
    /// answer for movable keys, else the legacy key spec. What routing, transactions and
    /// COMMAND GETKEYS use.
    pub fn keys(&self, args: &[Bytes]) -> KeyPositions {
        match self.keys_fn {
            Some(f) => KeyPositions::Found(f(args).into_iter()),
            None => KeyPositions::Legacy(self.key_indices(args.len())),
        }
    }

    /// Indices into `args` (0 = the command name) of this command's keys, per the legacy key
    /// spec. Out-of-range specs yield no keys rather than panicking.
    pub fn key_indices(&self, argc: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
        let (first, step) = (self.first_key, self.key_step.max(1));
        let last = match self.last_key {
            l if l < 0 => argc as i32 + l,
            l => l,
        };
        let range = if first <= 0 || last < first {
            0..0
        } else {
            first as usize..(last.min(argc as i32 - 1) + 1).max(first) as usize
        };
        range.step_by(step as usize)
    }
}

/// Key positions of one request: see [`CommandSpec::keys`]. An enum rather than a boxed
/// iterator so the common (legacy) case allocates nothing.
pub enum KeyPositions {
    Legacy(std::iter::StepBy<std::ops::Range<usize>>),
    Found(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Legacy(it) => it.next(),
            KeyPositions::Found(it) => it.next(),
        }
    }
}

/// A key finder for `numkeys key [key ...]` at argument `at` (1 for SINTERCARD and ZUNION,
/// 2 for ZUNIONSTORE's sources after the destination): the keys it names, or none when
/// `numkeys` is not a positive integer that fits.
pub fn numkeys_at(args: &[Bytes], at: usize) -> Vec<usize> {
    let n = args
        .get(at)
        .and_then(|a| crate::util::parse_i64(a))
        .filter(|&n| n > 0 && (n as usize) < args.len().saturating_sub(at))
        .unwrap_or(0) as usize;
    (at + 1..at + 1 + n).collect()
}

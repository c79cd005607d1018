//! SLOWLOG: the commands that ran for at least `slowlog-log-slower-than` microseconds, and the
//! per-shard recorder behind it and behind the latency monitor (`LATENCY`, [`super::latency`]).
//!
//! # Contract
//! Replies are Redis 7.0's, byte for byte: an entry is `[id, unix time, duration µs, [args],
//! "ip:port", client name]`, arguments cut as Redis cuts them (at most 32, the last replaced by
//! `... (N more arguments)`; each at most 128 bytes, then `... (N more bytes)`), AUTH / HELLO
//! AUTH / CONFIG SET secrets shown as `(redacted)`, EXEC (`skip_slowlog`) never logged, and a
//! command refused before it ran (subcommand arity, unknown subcommand) never logged either.
//!
//! # Thread-per-core design
//! 1. Every shard keeps its own bounded log ([`SlowRecords`], a field of the shard): the
//!    commands it executed, and the coordinated commands run on its core. It holds at most
//!    `slowlog-max-len` entries, newest first, trimmed on every push as Redis trims.
//! 2. Entry ids come from one process-wide atomic counter ([`NEXT_ID`]): unique, and increasing
//!    in the order entries are logged on any core.
//! 3. SLOWLOG GET asks every shard for its newest `count` entries, merges them by id (newest
//!    first) and cuts at `count`. Since every shard keeps its own newest max-len entries, the
//!    merged newest max-len are exactly the entries one global Redis log would hold.
//!    LEN is the merged length capped at max-len; RESET clears every shard.
//!
//! # Durations
//! A shard command's duration is its execution on its shard (`exec::run_shard_fn`), as Redis
//! times `call()`; a coordinated command's is what `coord::run` measured, waits for other
//! shards included. A command split over shards (MGET, DEL, MSET... across shards) runs one
//! part per shard, and each part is timed and logged on its own, with the arguments it carried:
//! that is what ran where. Redis logs such a command once.
//!
//! # Client address and name
//! A shard op knows its client only by id. When the client's connection lives on the logging
//! core (always so for coordinated commands), its address and name are read at log time, as
//! Redis does. Otherwise the id is kept and resolved when SLOWLOG GET runs, by asking every
//! core's client registry: the name shown is then the current one, and a client that has
//! disconnected meanwhile shows "" and "" (Redis keeps what it saw). Commands of a
//! single-shard MULTI/EXEC run without a client id (see `exec::run_shard_fn`) and show "".
//!
//! # Cached parameters
//! The thresholds are read on every command, so each shard caches them ([`Limits`]); CONFIG SET
//! invalidates every shard's copy before it replies (`coord::run`), so a new threshold applies
//! from the next command on, as in Redis.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use ahash::AHashMap;
use bytes::Bytes;

use crate::commands::server::latency;
use crate::commands::spec::{CommandSpec, flag};
use crate::commands::strings::c_str;
use crate::core::{ClientHandle, Core};
use crate::protocol::Reply;
use crate::util::parse_i64;

/// The next slowlog entry id, shared by every core (Redis's `slowlog_entry_id`). RESET does
/// not rewind it. The one datum shared between cores here, on purpose: ids must be unique and
/// ordered across shards, and a cross-core message per logged command would cost far more
/// than one atomic add (taken only when an entry is made).
pub static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Most arguments an entry keeps; the last kept one says how many more there were.
pub const MAX_ARGC: usize = 32;
/// Most bytes kept of one argument.
pub const MAX_ARG_BYTES: usize = 128;
/// SLOWLOG GET's count when none is given.
const DEFAULT_COUNT: usize = 10;
/// The client id of a command run without a connection (id 0 is never handed out).
pub const NO_CLIENT: u64 = 0;

/// The parameters that decide what is recorded, as one shard caches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `slowlog-log-slower-than`: negative disables the slowlog, 0 logs every command.
    pub slowlog_slower_than_us: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: usize,
    /// `latency-monitor-threshold`: 0 records no latency event.
    pub latency_threshold_ms: u64,
    /// `latency-tracking`: per-command latency histograms on or off.
    pub latency_tracking: bool,
}

impl Limits {
    /// Redis 7.0's defaults, for a shard with no core (unit tests).
    pub const DEFAULT: Limits = Limits {
        slowlog_slower_than_us: 10_000,
        slowlog_max_len: 128,
        latency_threshold_ms: 0,
        latency_tracking: true,
    };

    /// Reads this core's runtime parameters; `None` when there is no core or its parameters
    /// are being changed right now.
    fn load() -> Option<Limits> {
        let core = Core::current()?;
        let p = core.params.try_borrow().ok()?;
        Some(Limits {
            slowlog_slower_than_us: p.int("slowlog-log-slower-than"),
            slowlog_max_len: usize::try_from(p.int("slowlog-max-len")).unwrap_or(0),
            latency_threshold_ms: u64::try_from(p.int("latency-monitor-threshold")).unwrap_or(0),
            latency_tracking: p.yes("latency-tracking"),
        })
    }
}

/// Who ran a logged command, as far as the code that logged it knows.
#[derive(Clone, Debug)]
pub enum Who {
    /// Read when the entry was logged.
    Known {
        addr: SocketAddr,
        name: Option<Bytes>,
    },
    /// A client of another core: resolved when SLOWLOG GET runs.
    Id(u64),
    /// No client: shown as "" and "".
    Nobody,
}

impl Who {
    /// The address and name of `handle`, now.
    pub fn of(handle: &ClientHandle) -> Who {
        let name = handle.meta.try_borrow().ok().and_then(|m| m.name.clone());
        Who::Known {
            addr: handle.addr,
            name,
        }
    }

    /// The client `id` of a shard op: read now if it lives on this core, else kept as an id.
    fn of_id(id: u64) -> Who {
        if id == NO_CLIENT {
            return Who::Nobody;
        }
        let core = Core::current();
        let local = core.as_ref().and_then(|c| {
            let clients = c.clients.try_borrow().ok()?;
            clients.get(&id).map(|h| Who::of(h))
        });
        local.unwrap_or(Who::Id(id))
    }
}

/// One logged command.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u64,
    pub time_s: u64,
    pub duration_us: u64,
    /// Redacted and cut as Redis does; copies, so an entry never pins a request buffer.
    pub args: Vec<Bytes>,
    pub who: Who,
}

/// One shard's record of slow commands: its slowlog, its latency events, and the cached
/// parameters that decide what is recorded.
#[derive(Default)]
pub struct SlowRecords {
    /// Newest first; at most `slowlog-max-len` after every push.
    pub log: VecDeque<Entry>,
    pub events: latency::Events,
    limits: Option<Limits>,
}

impl SlowRecords {
    /// The parameters in force (cached; re-read after [`SlowRecords::invalidate`]).
    pub fn limits(&mut self) -> Limits {
        if let Some(l) = self.limits {
            return l;
        }
        match Limits::load() {
            Some(l) => {
                self.limits = Some(l);
                l
            }
            None => Limits::DEFAULT,
        }
    }

    /// Forgets the cached parameters: CONFIG SET may have changed them.
    pub fn invalidate(&mut self) {
        self.limits = None;
    }

    /// Records a command that ran for `elapsed_ns`: a latency event when the latency monitor
    /// is on and it was slow enough, a slowlog entry when the slowlog is on and it was slow
    /// enough (Redis's `call()`: `latencyAddSampleIfNeeded`, `slowlogPushCurrentCommand`).
    /// `who` is only asked when an entry is made.
    pub fn after_command(
        &mut self,
        spec: &CommandSpec,
        args: &[Bytes],
        elapsed_ns: u64,
        reply: &Reply,
        who: impl FnOnce() -> Who,
    ) {
        let limits = self.limits();
        let duration_us = elapsed_ns / 1_000;
        if limits.latency_threshold_ms > 0 {
            let ms = duration_us / 1_000;
            if ms >= limits.latency_threshold_ms && !refused(reply) {
                let event = if spec.has(flag::FAST) {
                    latency::FAST_COMMAND
                } else {
                    latency::COMMAND
                };
                self.events.add(event, ms, now_s());
            }
        }
        if limits.slowlog_slower_than_us < 0 {
            return;
        }
        if duration_us as i64 >= limits.slowlog_slower_than_us
            && !spec.has(flag::SKIP_SLOWLOG)
            && !refused(reply)
        {
            self.log.push_front(Entry {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                time_s: now_s(),
                duration_us,
                args: logged_args(spec.name, args),
                who: who(),
            });
        }
        self.log.truncate(limits.slowlog_max_len);
    }
}

/// Builds the `who` of a shard op run for client `id`.
pub fn who_of_client(id: u64) -> impl FnOnce() -> Who {
    move || Who::of_id(id)
}

fn now_s() -> u64 {
    crate::util::now_ms() / 1_000
}

/// Errors Redis gives before a command runs (a container's subcommand arity, an unknown
/// subcommand): such a command is never logged there. corekv's containers answer these from
/// inside the command, so the reply tells.
fn refused(reply: &Reply) -> bool {
    match reply {
        Reply::Error(text) => {
            text.starts_with(b"ERR wrong number of arguments for '")
                || text.starts_with(b"ERR unknown subcommand '")
        }
        _ => false,
    }
}

/// The arguments an entry keeps: secrets redacted, then cut (Redis's `slowlogCreateEntry`).
fn logged_args(name: &str, args: &[Bytes]) -> Vec<Bytes> {
    let redacted = redacted_positions(name, args);
    let argc = args.len();
    let kept = argc.min(MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for (j, arg) in args.iter().take(kept).enumerate() {
        if kept != argc && j == kept - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                argc - kept + 1
            )));
        } else if redacted.contains(&j) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if arg.len() > MAX_ARG_BYTES {
            let mut cut = Vec::with_capacity(MAX_ARG_BYTES + 32);
            cut.extend_from_slice(&arg[..MAX_ARG_BYTES]);
            cut.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
            );
            out.push(Bytes::from(cut));
        } else {
            out.push(Bytes::copy_from_slice(arg));
        }
    }
    out
}

/// CONFIG parameters whose values Redis 7.0 redacts (`SENSITIVE_CONFIG`).
const SENSITIVE_PARAMS: &[&str] = &["requirepass", "masterauth", "masteruser"];

/// Which arguments Redis replaces with "(redacted)" before logging, exactly as far as the
/// command got before it redacted them (`redactClientCommandArgument` calls in AUTH, HELLO
/// and CONFIG SET).
fn redacted_positions(name: &str, args: &[Bytes]) -> Vec<usize> {
    match name {
        // AUTH refuses more than two arguments before redacting anything.
        "auth" if args.len() <= 3 => (1..args.len()).collect(),
        "hello" => hello_redacted(args),
        "config"
            if args.len() >= 4
                && args.len().is_multiple_of(2)
                && args[1].eq_ignore_ascii_case(b"set") =>
        {
            (2..args.len())
                .step_by(2)
                .filter(|&i| {
                    SENSITIVE_PARAMS
                        .iter()
                        .any(|p| args[i].eq_ignore_ascii_case(p.as_bytes()))
                })
                .map(|i| i + 1)
                .collect()
        }
        _ => Vec::new(),
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: Redis checks the version first and
/// scans the options in order, redacting AUTH's two arguments as it meets them and stopping
/// at the first bad option.
fn hello_redacted(args: &[Bytes]) -> Vec<usize> {
    let mut out = Vec::new();
    if args.len() < 2 || !matches!(parse_i64(&args[1]), Some(2 | 3)) {
        return out;
    }
    let mut j = 2;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args[j].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            out.extend([j + 1, j + 2]);
            j += 3;
        } else if args[j].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            j += 2;
        } else {
            break;
        }
    }
    out
}

/// Redis 7.0's SLOWLOG HELP.
const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

/// SLOWLOG GET [count] | LEN | RESET | HELP.
pub async fn slowlog(core: &Core, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("get", 2) => get(core, DEFAULT_COUNT).await,
        ("get", 3) => match parse_i64(&args[2]) {
            Some(-1) => get(core, usize::MAX).await,
            Some(n) if n >= 0 => get(core, usize::try_from(n).unwrap_or(usize::MAX)).await,
            _ => Reply::error("ERR count should be greater than or equal to -1"),
        },
        ("get", _) => subcommand_syntax_error("SLOWLOG", &args[1]),
        ("len", 2) => {
            let max_len = max_len(core);
            let lens = core.router.run_on_all(|s| s.slow.log.len()).await;
            let total: usize = lens.into_iter().flatten().sum();
            Reply::Integer(total.min(max_len) as i64)
        }
        ("reset", 2) => {
            core.router.run_on_all(|s| s.slow.log.clear()).await;
            Reply::ok()
        }
        ("help", 2) => help_reply(HELP),
        ("len" | "reset" | "help", _) => subcommand_arity_error("slowlog", &sub),
        _ => unknown_subcommand("SLOWLOG", &args[1]),
    }
}

fn max_len(core: &Core) -> usize {
    usize::try_from(core.params.borrow().int("slowlog-max-len")).unwrap_or(0)
}

/// The newest `count` entries of every shard, merged newest first.
async fn get(core: &Core, count: usize) -> Reply {
    let want = count.min(max_len(core));
    let mut entries: Vec<Entry> = core
        .router
        .run_on_all(move |s| s.slow.log.iter().take(want).cloned().collect::<Vec<_>>())
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    entries.truncate(want);
    let clients = resolve(core, &entries).await;
    Reply::Array(
        entries
            .into_iter()
            .map(|e| entry_reply(e, &clients))
            .collect(),
    )
}

/// Looks up the clients of entries logged on another core than their connection's.
async fn resolve(core: &Core, entries: &[Entry]) -> AHashMap<u64, (SocketAddr, Option<Bytes>)> {
    let mut ids: Vec<u64> = entries
        .iter()
        .filter_map(|e| match e.who {
            Who::Id(id) => Some(id),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return AHashMap::new();
    }
    ids.sort_unstable();
    ids.dedup();
    core.router
        .run_on_all(move |_| {
            let Some(core) = Core::current() else {
                return Vec::new();
            };
            let Ok(clients) = core.clients.try_borrow() else {
                return Vec::new();
            };
            ids.iter()
                .filter_map(|id| {
                    let h = clients.get(id)?;
                    let name = h.meta.try_borrow().ok().and_then(|m| m.name.clone());
                    Some((*id, (h.addr, name)))
                })
                .collect::<Vec<_>>()
        })
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect()
}

fn entry_reply(e: Entry, clients: &AHashMap<u64, (SocketAddr, Option<Bytes>)>) -> Reply {
    let (addr, name) = match e.who {
        Who::Known { addr, name } => (Some(addr), name),
        Who::Id(id) => match clients.get(&id) {
            Some((addr, name)) => (Some(*addr), name.clone()),
            None => (None, None),
        },
        Who::Nobody => (None, None),
    };
    Reply::Array(vec![
        Reply::Integer(e.id as i64),
        Reply::Integer(e.time_s as i64),
        Reply::Integer(e.duration_us as i64),
        Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
        Reply::Bulk(addr.map_or_else(Bytes::new, |a| Bytes::from(a.to_string()))),
        Reply::Bulk(name.unwrap_or_default()),
    ])
}

/// A `HELP` reply: one status line each.
pub(super) fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// The argument as Redis's `%.128s` prints it: up to a NUL, at most 128 bytes.
fn shown(arg: &[u8]) -> &[u8] {
    let arg = c_str(arg);
    &arg[..arg.len().min(128)]
}

fn error_text(parts: &[&[u8]]) -> Reply {
    Reply::Error(Bytes::from(parts.concat()))
}

/// Redis's error for a container's unknown subcommand.
pub(super) fn unknown_subcommand(container: &str, sub: &[u8]) -> Reply {
    error_text(&[
        b"ERR unknown subcommand '",
        shown(sub),
        b"'. Try ",
        container.as_bytes(),
        b" HELP.",
    ])
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(container: &str, sub: &[u8]) -> Reply {
    error_text(&[
        b"ERR unknown subcommand or wrong number of arguments for '",
        shown(sub),
        b"'. Try ",
        container.as_bytes(),
        b" HELP.",
    ])
}

/// Redis's arity error for a container's subcommand (`'slowlog|len'`).
pub(super) fn subcommand_arity_error(container: &str, sub: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{container}|{sub}' command"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn long_commands_are_cut_as_redis_cuts_them() {
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let kept = logged_args("sadd", &args(&many));
        assert_eq!(kept.len(), MAX_ARGC);
        assert_eq!(kept[30], "30");
        assert_eq!(kept[31], "... (9 more arguments)");
        let long = "x".repeat(200);
        let kept = logged_args("set", &args(&["SET", "k", &long]));
        assert_eq!(kept[2].len(), 128 + "... (72 more bytes)".len());
        assert!(kept[2].ends_with(b"x... (72 more bytes)"));
        let exact = "y".repeat(128);
        assert_eq!(
            logged_args("set", &args(&["SET", &exact]))[1],
            exact.as_bytes()
        );
    }

    #[test]
    fn secrets_are_redacted_only_where_redis_redacts_them() {
        let r = |a: &[&str]| logged_args(&a[0].to_ascii_lowercase(), &args(a));
        assert_eq!(r(&["AUTH", "pw"])[1], "(redacted)");
        assert_eq!(r(&["AUTH", "u", "pw"])[1..], ["(redacted)", "(redacted)"]);
        assert_eq!(r(&["AUTH", "a", "b", "c"])[1], "a");
        let hello = r(&["HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"]);
        assert_eq!(hello[3..], ["(redacted)", "(redacted)", "SETNAME", "n"]);
        assert_eq!(r(&["HELLO", "4", "AUTH", "u", "p"])[3], "u");
        assert_eq!(r(&["HELLO", "3", "FOO", "AUTH", "u", "p"])[4], "u");
        assert_eq!(r(&["HELLO", "2", "AUTH", "u"])[3], "u");
        let config = r(&["CONFIG", "SET", "nosuch", "1", "REQUIREPASS", "z"]);
        assert_eq!(config[3..], ["1", "REQUIREPASS", "(redacted)"]);
        assert_eq!(r(&["CONFIG", "SET", "requirepass", "z", "x"])[3], "z");
    }

    #[test]
    fn the_log_is_bounded_and_newest_first() {
        let mut rec = SlowRecords {
            limits: Some(Limits {
                slowlog_slower_than_us: 0,
                slowlog_max_len: 3,
                ..Limits::DEFAULT
            }),
            ..SlowRecords::default()
        };
        let spec = crate::commands::lookup(b"get").expect("get");
        for i in 0..5 {
            let a = args(&["GET", &i.to_string()]);
            rec.after_command(spec, &a, 1_000, &Reply::Nil, || Who::Nobody);
        }
        assert_eq!(rec.log.len(), 3);
        assert_eq!(rec.log[0].args[1], "4");
        assert!(rec.log[0].id > rec.log[1].id && rec.log[1].id > rec.log[2].id);
        let exec = crate::commands::lookup(b"exec").expect("exec");
        rec.after_command(exec, &args(&["EXEC"]), 1_000, &Reply::Nil, || Who::Nobody);
        assert_eq!(rec.log[0].args[1], "4", "EXEC is skip_slowlog");
        rec.limits = Some(Limits {
            slowlog_slower_than_us: -1,
            ..Limits::DEFAULT
        });
        rec.after_command(spec, &args(&["GET", "x"]), 1_000, &Reply::Nil, || {
            Who::Nobody
        });
        assert_eq!(
            rec.log[0].args[1], "4",
            "a negative threshold disables the log"
        );
    }
}

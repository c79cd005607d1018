//! Runs coordinated commands (see [`CoordOp`]) on the connection's core. The command name was
//! matched once, in the table; from here on everything is typed.

use bytes::Bytes;

use crate::commands::exec::CoordOp;
use crate::commands::server::slowlog::Who;
use crate::commands::spec::{CommandSpec, Exec};
use crate::commands::{connection, keys, pubsub, server, sets, strings, transactions, zsets};
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::pubsub::Kind;

pub async fn run(
    core: &Core,
    sess: &mut Session,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Reply {
    let op = match spec.exec {
        Exec::Coord(op) | Exec::ShardOrCoord(_, op) => op,
        _ => return Reply::error("ERR internal: not a coordinated command"),
    };
    let stat_name = stat_name(spec, &args);
    let started = std::time::Instant::now();
    let reply = match op {
        CoordOp::Ping => connection::ping(sess, &args),
        CoordOp::Echo => Reply::Bulk(args[1].clone()),
        CoordOp::Quit => {
            sess.close_after_reply = true;
            Reply::ok()
        }
        CoordOp::Reset => {
            sess.multi = None;
            transactions::unwatch_all(core, sess).await;
            pubsub::unsubscribe_all(core, sess).await;
            connection::reset(core, sess)
        }
        CoordOp::Hello => connection::hello(core, sess, &args),
        CoordOp::Auth => connection::auth(core, sess, &args),
        CoordOp::Select => connection::select(core, sess, &args),
        CoordOp::Client => connection::client(core, sess, &args).await,
        CoordOp::Info => server::info(core, &args).await,
        CoordOp::Config => server::config(core, &args).await,
        CoordOp::Command => server::command(core, &args),
        CoordOp::Time => server::time(),
        CoordOp::BgRewriteAof => server::bgrewriteaof(core).await,
        CoordOp::LastSave => Reply::Integer((core.started_ms / 1000) as i64),
        CoordOp::Shutdown => server::shutdown(core, sess, &args).await,
        CoordOp::DbSize => server::dbsize(core, sess.db).await,
        CoordOp::FlushDb => server::flush(core, &args, Some(sess.db)).await,
        CoordOp::FlushAll => server::flush(core, &args, None).await,
        CoordOp::SwapDb => server::swapdb(core, &args).await,
        CoordOp::Debug => server::debug(core, sess, &args).await,
        CoordOp::Keys => keys::keys(core, sess.db, &args).await,
        CoordOp::Scan => keys::scan(core, sess.db, &args).await,
        CoordOp::RandomKey => keys::randomkey(core, sess.db).await,
        CoordOp::Rename => keys::rename(core, sess.db, &args, false).await,
        CoordOp::RenameNx => keys::rename(core, sess.db, &args, true).await,
        CoordOp::Copy => keys::copy(core, sess.db, &args).await,
        CoordOp::MSetNx => strings::msetnx(core, sess.db, &args).await,
        CoordOp::Object => keys::object_coord(core, sess.db, &args).await,
        CoordOp::Multi => transactions::multi(sess),
        CoordOp::Exec => transactions::exec(core, sess).await,
        CoordOp::Discard => transactions::discard(core, sess).await,
        CoordOp::Watch => transactions::watch(core, sess, &args).await,
        CoordOp::Unwatch => transactions::unwatch(core, sess).await,
        CoordOp::Subscribe => pubsub::subscribe(core, sess, Kind::Channel, &args[1..]).await,
        CoordOp::Unsubscribe => pubsub::unsubscribe(core, sess, Kind::Channel, &args[1..]).await,
        CoordOp::PSubscribe => pubsub::subscribe(core, sess, Kind::Pattern, &args[1..]).await,
        CoordOp::PUnsubscribe => pubsub::unsubscribe(core, sess, Kind::Pattern, &args[1..]).await,
        CoordOp::SSubscribe => pubsub::subscribe(core, sess, Kind::Shard, &args[1..]).await,
        CoordOp::SUnsubscribe => pubsub::unsubscribe(core, sess, Kind::Shard, &args[1..]).await,
        CoordOp::PubSub => pubsub::pubsub(core, &args).await,
        CoordOp::SlowLog => server::slowlog::slowlog(core, &args).await,
        CoordOp::Latency => server::latency::latency(core, &args).await,
        CoordOp::Monitor => crate::commands::monitor::monitor(sess),
        CoordOp::LMove => crate::commands::lists::lmove_coord(core, sess.db, &args).await,
        CoordOp::LMPop => crate::commands::lists::lmpop_coord(core, sess.db, &args).await,
        CoordOp::Block => crate::commands::blocking::lists::run(core, sess, &args).await,
        CoordOp::ZBlock => crate::commands::blocking::zsets::run(core, sess, &args).await,
        CoordOp::ZCombine => zsets::combine_coord(core, sess.db, &args).await,
        CoordOp::ZMPop => zsets::zmpop_coord(core, sess.db, &args).await,
        CoordOp::ZRangeStore => zsets::zrangestore_coord(core, sess.db, &args).await,
        CoordOp::Sets => sets::coord(core, sess.db, spec, &args).await,
    };
    let elapsed_ns = (started.elapsed().as_nanos() as u64)
        .saturating_sub(crate::commands::blocking::take_waited_ns());
    if stat_name == "config|set" && !reply.is_error() {
        // The shards cache the slowlog and latency thresholds: make them re-read before this
        // reply leaves, so the next command (this one's own entry included) sees the change.
        core.router.run_on_all(|s| s.slow.invalidate()).await;
    }
    let mut shard = core.router.local().borrow_mut();
    let shard = &mut *shard;
    let tracking = shard.slow.limits().latency_tracking;
    shard
        .commands
        .record_call(stat_name, elapsed_ns, &reply, true, tracking);
    shard
        .slow
        .after_command(spec, &args, elapsed_ns, &reply, || Who::of(&sess.handle));
    reply
}

/// The subcommands of container commands, named in INFO commandstats as Redis 7 does
/// (`cmdstat_config|resetstat`).
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "slowlog",
        &[
            "slowlog|get",
            "slowlog|len",
            "slowlog|reset",
            "slowlog|help",
        ],
    ),
    (
        "latency",
        &[
            "latency|latest",
            "latency|history",
            "latency|reset",
            "latency|graph",
            "latency|doctor",
            "latency|histogram",
            "latency|help",
        ],
    ),
    (
        "config",
        &[
            "config|get",
            "config|set",
            "config|resetstat",
            "config|rewrite",
            "config|help",
        ],
    ),
    (
        "client",
        &[
            "client|id",
            "client|setname",
            "client|getname",
            "client|setinfo",
            "client|list",
            "client|info",
            "client|kill",
            "client|no-evict",
            "client|no-touch",
            "client|help",
            "client|reply",
            "client|pause",
            "client|unpause",
            "client|tracking",
            "client|trackinginfo",
            "client|caching",
            "client|getredir",
            "client|unblock",
        ],
    ),
    (
        "command",
        &[
            "command|count",
            "command|info",
            "command|docs",
            "command|getkeys",
            "command|getkeysandflags",
            "command|list",
            "command|help",
        ],
    ),
    (
        "pubsub",
        &[
            "pubsub|channels",
            "pubsub|numsub",
            "pubsub|numpat",
            "pubsub|shardchannels",
            "pubsub|shardnumsub",
            "pubsub|help",
        ],
    ),
    (
        "object",
        &[
            "object|encoding",
            "object|refcount",
            "object|freq",
            "object|idletime",
            "object|help",
        ],
    ),
];

/// The full names (`container|sub`) of a container command's subcommands; empty for any
/// other command.
pub fn subcommands_of(name: &str) -> &'static [&'static str] {
    SUBCOMMANDS
        .iter()
        .find(|(c, _)| *c == name)
        .map_or(&[], |(_, subs)| subs)
}

/// The name a call is counted under: `container|sub` for a known subcommand, else the command.
pub fn stat_name(spec: &'static CommandSpec, args: &[Bytes]) -> &'static str {
    let Some(sub) = args.get(1) else {
        return spec.name;
    };
    let Some((_, subs)) = SUBCOMMANDS.iter().find(|(c, _)| *c == spec.name) else {
        return spec.name;
    };
    subs.iter()
        .find(|full| full.as_bytes()[spec.name.len() + 1..].eq_ignore_ascii_case(sub))
        .copied()
        .unwrap_or(spec.name)
}

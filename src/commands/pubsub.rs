//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. The
//! cross-core design is in `crate::pubsub`.

use bytes::Bytes;

use crate::commands::exec::{CoordOp, ExecCtx};
use crate::commands::spec::{CommandSpec, Exec, flag::*};
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::pubsub::{Kind, registry};
use crate::shard::router::{ShardOp, ShardReply};
use crate::shard::shard_for_key;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Subscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "2.0.0", "Listen for messages published to the given channels", "O(N) where N is the number of channels to subscribe to."),
    CommandSpec::new("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Unsubscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "2.0.0", "Stop listening for messages posted to the given channels", "O(N) where N is the number of clients already subscribed to a channel."),
    CommandSpec::new("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::PSubscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", "O(N) where N is the number of patterns the client is already subscribed to."),
    CommandSpec::new("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::PUnsubscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
    CommandSpec::new("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (1, -1, 1), Exec::Coord(CoordOp::SSubscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "7.0.0", "Listen for messages published to the given shard channels", "O(N) where N is the number of shard channels to subscribe to."),
    CommandSpec::new("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (1, -1, 1), Exec::Coord(CoordOp::SUnsubscribe))
        .acl(&["pubsub", "slow"])
        .doc("pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels", "O(N) where N is the number of clients already subscribed to a shard channel."),
    CommandSpec::new("publish", 3, PUBSUB | LOADING | STALE | FAST | SENTINEL, (0, 0, 0), Exec::Channel(publish))
        .acl(&["pubsub", "fast"])
        .doc("pubsub", "2.0.0", "Post a message to a channel", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    CommandSpec::new("spublish", 3, PUBSUB | LOADING | STALE | FAST, (1, 1, 1), Exec::Shard(spublish))
        .acl(&["pubsub", "fast"])
        .doc("pubsub", "7.0.0", "Post a message to a shard channel", "O(N) where N is the number of clients subscribed to the receiving shard channel."),
    CommandSpec::new("pubsub", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::PubSub))
        .acl(&["slow"])
        .doc("pubsub", "2.8.0", "A container for Pub/Sub commands", "Depends on subcommand."),
];

/// Commands a RESP2 client may send while subscribed (Redis 7.0's list).
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

pub fn subscribed_mode_error(full_name: &str) -> Reply {
    Reply::error(format!(
        "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn frame_name(kind: Kind, subscribe: bool) -> &'static [u8] {
    match (kind, subscribe) {
        (Kind::Channel, true) => b"subscribe",
        (Kind::Channel, false) => b"unsubscribe",
        (Kind::Pattern, true) => b"psubscribe",
        (Kind::Pattern, false) => b"punsubscribe",
        (Kind::Shard, true) => b"ssubscribe",
        (Kind::Shard, false) => b"sunsubscribe",
    }
}

fn confirmation(kind: Kind, subscribe: bool, name: Option<&Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(frame_name(kind, subscribe))),
        name.map_or(Reply::Nil, |n| Reply::Bulk(n.clone())),
        Reply::Integer(count as i64),
    ])
}

fn sync_meta(sess: &Session) {
    let mut m = sess.handle.meta.borrow_mut();
    m.subscriptions = sess.subs.channels.len();
    m.psubscriptions = sess.subs.patterns.len();
    m.ssubscriptions = sess.subs.schannels.len();
}

/// Tells the owners (every shard, for patterns) that this core gained or lost subscribers,
/// and waits until they have counted it. (`/rwa` connections count their SUBs here too.)
pub(crate) async fn register(core: &Core, kind: Kind, names: Vec<Bytes>, delta: i32) {
    if names.is_empty() {
        return;
    }
    let me = core.router.shard_id();
    let n = core.nr_shards();
    let (everywhere, owned): (Vec<Bytes>, Vec<Bytes>) = names.into_iter().partition(|name| {
        kind == Kind::Pattern || (kind == Kind::Channel && registry::replicated(name))
    });
    if !everywhere.is_empty() {
        core.router
            .run_on_all(move |s| s.pubsub.adjust(kind, &everywhere, me, n, delta))
            .await;
    }
    let mut by_owner: Vec<Vec<Bytes>> = vec![Vec::new(); n];
    for name in owned {
        by_owner[shard_for_key(&name, n)].push(name);
    }
    let mut pending = Vec::new();
    for (owner, names) in by_owner.into_iter().enumerate() {
        if names.is_empty() {
            continue;
        }
        let op = ShardOp::Task(Box::new(move |s| {
            s.pubsub.adjust(kind, &names, me, n, delta);
            Box::new(())
        }));
        pending.push(core.router.send(owner, vec![op]).await);
    }
    for p in pending {
        p.wait(1).await;
    }
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name with the running count.
pub async fn subscribe(core: &Core, sess: &mut Session, kind: Kind, names: &[Bytes]) -> Reply {
    let mut frames = Vec::with_capacity(names.len());
    let mut added = Vec::new();
    for name in names {
        if sess.subs.of(kind).insert(name.clone()) {
            core.pubsub.add(kind, name, &sess.handle);
            added.push(name.clone());
        }
        frames.push(confirmation(kind, true, Some(name), sess.subs.count(kind)));
    }
    sync_meta(sess);
    register(core, kind, added, 1).await;
    Reply::Seq(frames)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or all of the kind.
pub async fn unsubscribe(core: &Core, sess: &mut Session, kind: Kind, names: &[Bytes]) -> Reply {
    let targets: Vec<Bytes> = if names.is_empty() {
        sess.subs.of(kind).iter().cloned().collect()
    } else {
        names.to_vec()
    };
    if targets.is_empty() {
        return Reply::Seq(vec![confirmation(kind, false, None, sess.subs.count(kind))]);
    }
    let mut frames = Vec::with_capacity(targets.len());
    let mut removed = Vec::new();
    for name in targets {
        if sess.subs.of(kind).remove(&name) {
            core.pubsub.remove(kind, &name, sess.id());
            removed.push(name.clone());
        }
        frames.push(confirmation(
            kind,
            false,
            Some(&name),
            sess.subs.count(kind),
        ));
    }
    sync_meta(sess);
    register(core, kind, removed, -1).await;
    Reply::Seq(frames)
}

/// Drops every subscription (RESET, or the connection going away), without replies.
pub async fn unsubscribe_all(core: &Core, sess: &mut Session) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let names: Vec<Bytes> = sess.subs.of(kind).drain().collect();
        for name in &names {
            core.pubsub.remove(kind, name, sess.id());
        }
        register(core, kind, names, -1).await;
    }
    sync_meta(sess);
}

/// PUBLISH, on the channel's owner (dispatched there like a keyed command, so a pipeline of
/// PUBLISHes is one batch): the number of receivers. The reply waits (through the batch's
/// settle) until every receiving core has the frame queued.
fn publish(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (channel, payload) = (args[1].clone(), args[2].clone());
    Reply::Integer(registry::publish(
        ctx.shard,
        Kind::Channel,
        channel,
        payload,
    ))
}

/// SPUBLISH, on the shard channel's owner (its key).
fn spublish(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let (channel, payload) = (args[1].clone(), args[2].clone());
    Reply::Integer(registry::publish(ctx.shard, Kind::Shard, channel, payload))
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP.
pub async fn pubsub(core: &Core, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => Reply::Array(
            HELP.iter()
                .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
                .collect(),
        ),
        ("channels" | "shardchannels", 2 | 3) => {
            let kind = if sub == "channels" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let pattern = args.get(2).cloned();
            let lists = core
                .router
                .run_on_all(move |s| s.pubsub.names(kind, pattern.as_deref(), s.id))
                .await;
            Reply::Array(
                lists
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(Reply::Bulk)
                    .collect(),
            )
        }
        ("numsub" | "shardnumsub", _) => {
            let kind = if sub == "numsub" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let names: Vec<Bytes> = args[2..].to_vec();
            let n = core.nr_shards();
            let mut pending = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let name = name.clone();
                let op = ShardOp::Task(Box::new(move |s| Box::new(s.pubsub.count(kind, &name))));
                pending.push((
                    i,
                    core.router
                        .send(shard_for_key(&names[i], n), vec![op])
                        .await,
                ));
            }
            let mut out = Vec::with_capacity(names.len() * 2);
            for (i, p) in pending {
                let count = match p.wait(1).await.pop() {
                    Some(ShardReply::Any(b)) => b.downcast::<u64>().map_or(0, |b| *b),
                    _ => 0,
                };
                out.push(Reply::Bulk(names[i].clone()));
                out.push(Reply::Integer(count as i64));
            }
            Reply::Array(out)
        }
        ("numpat", 2) => {
            let local = core.router.local().borrow();
            Reply::Integer(local.pubsub.len(Kind::Pattern, local.id) as i64)
        }
        ("channels" | "shardchannels", _) => Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
                .chars()
                .take(128)
                .collect::<String>()
        )),
        ("help" | "numpat", _) => Reply::error(format!(
            "ERR wrong number of arguments for 'pubsub|{sub}' command"
        )),
        _ => {
            let shown = String::from_utf8_lossy(&args[1]);
            Reply::error(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                shown.chars().take(128).collect::<String>()
            ))
        }
    }
}

//! Keyspace notifications (`notify-keyspace-events`), emitted by the shard that changed the
//! key.
//!
//! A write's events are derived from the effects it recorded (the same `Db` journal the
//! append-only log reads) and the command that ran: a `SET k ...` record from INCR is event
//! `incrby`, from RENAME `rename_to`; a `DEL k` record from DEL is `del`, from MOVE
//! `move_from`; `PEXPIREAT` is `expire`, `PERSIST` is `persist`; a SET-family command whose
//! record carries a deadline also emits `expire`, after `set`, as Redis does. Expirations
//! (`expired`) come from lazy and active expiry, key misses (`keymiss`) from reads.
//!
//! Each event is published by the shard itself (notification channels are counted on every
//! shard, see `registry::replicated`) on
//! `__keyspace@<db>__:<key>` (payload: the event) and/or `__keyevent@<db>__:<event>`
//! (payload: the key).

use bytes::{Bytes, BytesMut};

use super::Kind;
use super::registry;
use crate::shard::Shard;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;

/// The flag bits of a (canonical or not) `notify-keyspace-events` value.
pub fn parse_flags(text: &str) -> u32 {
    let mut f = 0;
    for c in text.chars() {
        f |= match c {
            'A' => {
                GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE
            }
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            _ => 0,
        };
    }
    f
}

/// Whether any event can be emitted at all with these flags.
pub fn active(flags: u32) -> bool {
    flags & (KEYSPACE | KEYEVENT) != 0 && flags & !(KEYSPACE | KEYEVENT) != 0
}

/// Emits event `event` of class `class` for `key` in database `db`, if enabled.
pub fn notify(shard: &mut Shard, class: u32, event: &str, key: &[u8], db: usize) {
    let flags = shard.notify_flags;
    if flags & class == 0 {
        return;
    }
    if flags & KEYSPACE != 0 {
        let mut ch = BytesMut::with_capacity(key.len() + 20);
        ch.extend_from_slice(format!("__keyspace@{db}__:").as_bytes());
        ch.extend_from_slice(key);
        publish(shard, ch.freeze(), Bytes::copy_from_slice(event.as_bytes()));
    }
    if flags & KEYEVENT != 0 {
        let ch = Bytes::from(format!("__keyevent@{db}__:{event}"));
        publish(shard, ch, Bytes::copy_from_slice(key));
    }
}

/// A PUBLISH from inside a shard: notification channels are counted on every shard
/// (`registry::replicated`), so this shard publishes itself and its events stay in order.
fn publish(shard: &mut Shard, channel: Bytes, payload: Bytes) {
    registry::publish(shard, Kind::Channel, channel, payload);
}

/// The events of one recorded effect of command `cmd` (lower-case name).
pub fn effect_events(cmd: &str, effect: &[Bytes]) -> [Option<(u32, &'static str)>; 2] {
    let Some(first) = effect.first() else {
        return [None, None];
    };
    let set_family = matches!(
        cmd,
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx"
    );
    match first.as_ref() {
        b"SET" => {
            let main = match cmd {
                "incr" | "decr" | "incrby" | "decrby" => (STRING, "incrby"),
                "incrbyfloat" => (STRING, "incrbyfloat"),
                "append" => (STRING, "append"),
                "setrange" => (STRING, "setrange"),
                "restore-silently" => return [None, None],
                _ => match placed_event(cmd) {
                    Some(e) => e,
                    None => (STRING, "set"),
                },
            };
            let with_deadline = effect.len() >= 5 && effect[3].eq_ignore_ascii_case(b"PXAT");
            let expire = (set_family && with_deadline).then_some((GENERIC, "expire"));
            [Some(main), expire]
        }
        b"UNLINK" => [placed_event(cmd), None],
        b"DEL" => match cmd {
            "rename" | "renamenx" => [Some((GENERIC, "rename_from")), None],
            "move" => [Some((GENERIC, "move_from")), None],
            "restore-silently" => [None, None],
            _ => [Some((GENERIC, "del")), None],
        },
        b"PEXPIREAT" => [Some((GENERIC, "expire")), None],
        b"PERSIST" => [Some((GENERIC, "persist")), None],
        name => [collection_event(cmd, name), None],
    }
}

/// The event of a whole value placed at a key by command `cmd` (a `SET` record for a string,
/// an `UNLINK` record opening a collection's restore group): what RENAME, MOVE, COPY and the
/// *STORE commands raise on their destination.
fn placed_event(cmd: &str) -> Option<(u32, &'static str)> {
    Some(match cmd {
        "rename" | "renamenx" => (GENERIC, "rename_to"),
        "move" => (GENERIC, "move_to"),
        "copy" => (GENERIC, "copy_to"),
        "restore" => (GENERIC, "restore"),
        "sinterstore" => (SET, "sinterstore"),
        "sunionstore" => (SET, "sunionstore"),
        "sdiffstore" => (SET, "sdiffstore"),
        "zunionstore" => (ZSET, "zunionstore"),
        "zinterstore" => (ZSET, "zinterstore"),
        "zdiffstore" => (ZSET, "zdiffstore"),
        "zrangestore" => (ZSET, "zrangestore"),
        "sort" => (LIST, "sortstore"),
        _ => return None,
    })
}

/// The event of a collection command's own record (`HSET k f v`, `LPOP k 2`, ...): the
/// record's name in lower case is Redis's event name, with the exceptions Redis has (an
/// HINCRBYFLOAT is logged as the HSET of its result; SPOP as the SREM of what it popped).
fn collection_event(cmd: &str, name: &[u8]) -> Option<(u32, &'static str)> {
    Some(match name {
        b"HSET" if cmd == "hincrbyfloat" => (HASH, "hincrbyfloat"),
        b"HSET" => (HASH, "hset"),
        b"HINCRBY" => (HASH, "hincrby"),
        b"HDEL" => (HASH, "hdel"),
        b"LPUSH" => (LIST, "lpush"),
        b"RPUSH" => (LIST, "rpush"),
        b"LPOP" => (LIST, "lpop"),
        b"RPOP" => (LIST, "rpop"),
        b"LINSERT" => (LIST, "linsert"),
        b"LSET" => (LIST, "lset"),
        b"LREM" => (LIST, "lrem"),
        b"LTRIM" => (LIST, "ltrim"),
        b"SADD" => (SET, "sadd"),
        b"SREM" if cmd == "spop" => (SET, "spop"),
        b"SREM" => (SET, "srem"),
        b"ZADD" => (ZSET, "zadd"),
        b"ZINCRBY" => (ZSET, "zincr"),
        b"ZREM" => (ZSET, "zrem"),
        b"ZREMRANGEBYRANK" => (ZSET, "zremrangebyrank"),
        b"ZREMRANGEBYSCORE" => (ZSET, "zremrangebyscore"),
        b"ZREMRANGEBYLEX" => (ZSET, "zremrangebylex"),
        b"ZPOPMIN" => (ZSET, "zpopmin"),
        b"ZPOPMAX" => (ZSET, "zpopmax"),
        _ => return None,
    })
}

/// Records that continue a restore group opened by `UNLINK key` (see
/// `store::value::restore_commands`): part of one placed value, so they raise nothing.
fn continues_restore(effect: &[Bytes]) -> bool {
    matches!(
        effect.first().map(|b| b.as_ref()),
        Some(b"HSET" | b"RPUSH" | b"SADD" | b"ZADD" | b"PEXPIREAT")
    )
}

/// Emits the events of the effects one op recorded, per database.
pub fn emit_effects(shard: &mut Shard, cmd: &str, effects: &[(usize, Vec<Vec<Bytes>>)]) {
    for (db, list) in effects {
        let mut restoring: Option<&Bytes> = None;
        for effect in list {
            let Some(key) = effect.get(1) else { continue };
            if restoring == Some(key) && continues_restore(effect) {
                continue;
            }
            restoring = (effect[0].as_ref() == b"UNLINK").then_some(key);
            for (class, event) in effect_events(cmd, effect).into_iter().flatten() {
                notify(shard, class, event, key, *db);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn events_follow_the_command_and_the_effect() {
        assert_eq!(
            effect_events("set", &b(&["SET", "k", "v", "PXAT", "1"])),
            [Some((STRING, "set")), Some((GENERIC, "expire"))]
        );
        assert_eq!(
            effect_events("rename", &b(&["SET", "k", "v", "PXAT", "1"])),
            [Some((GENERIC, "rename_to")), None]
        );
        assert_eq!(
            effect_events("incr", &b(&["SET", "k", "1", "KEEPTTL"])),
            [Some((STRING, "incrby")), None]
        );
        assert_eq!(
            effect_events("getdel", &b(&["DEL", "k"])),
            [Some((GENERIC, "del")), None]
        );
        assert_eq!(
            effect_events("move", &b(&["DEL", "k"])),
            [Some((GENERIC, "move_from")), None]
        );
        assert_eq!(effect_events("flushdb", &b(&["FLUSHDB"])), [None, None]);
        assert_eq!(
            effect_events("hincrbyfloat", &b(&["HSET", "k", "f", "1.5"])),
            [Some((HASH, "hincrbyfloat")), None]
        );
        assert_eq!(
            effect_events("spop", &b(&["SREM", "k", "a", "b"])),
            [Some((SET, "spop")), None]
        );
        assert_eq!(
            effect_events("rename", &b(&["UNLINK", "k"])),
            [Some((GENERIC, "rename_to")), None]
        );
        assert_eq!(
            effect_events("sunionstore", &b(&["UNLINK", "k"])),
            [Some((SET, "sunionstore")), None]
        );
    }

    #[test]
    fn flags_parse_like_redis() {
        assert_eq!(
            parse_flags("KEA") & (KEYSPACE | KEYEVENT),
            KEYSPACE | KEYEVENT
        );
        assert_eq!(parse_flags("A") & KEY_MISS, 0, "A excludes keymiss");
        assert!(!active(parse_flags("K")), "K alone emits nothing");
        assert!(active(parse_flags("Kg")));
        assert!(!active(parse_flags("")));
    }
}

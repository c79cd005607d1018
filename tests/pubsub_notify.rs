//! Keyspace notifications as Redis 7.0 sends them: `notify-keyspace-events` flags and their
//! canonical CONFIG GET form, the `__keyspace@0__:<key>` / `__keyevent@0__:<event>` frames
//! (keyspace first) each string and key command emits, in command order, the commands and
//! failures that emit nothing, and `expired` for keys that expire lazily or actively.
//!
//! Every test runs against redis-server 7.0.15 first and then corekv (`--shards 4`): see
//! tests/common/pubsub.rs. A command's events are read before the next command's, so a
//! missing or extra event shows up at the step that caused it (or the one after it).

mod common;
#[path = "common/pubsub.rs"]
mod pubsub_util;

use pubsub_util::*;

const R2: Proto = Proto::Resp2;
const R3: Proto = Proto::Resp3;
/// The pattern the listener subscribes to: every keyspace and keyevent channel.
const ALL_KEYS: &[u8] = b"__key*@*__:*";

/// The two frames one event sends to an [`ALL_KEYS`] listener: keyspace, then keyevent.
fn event(key: &str, event: &str) -> Vec<Vec<u8>> {
    let keyspace = format!("__keyspace@0__:{key}");
    let keyevent = format!("__keyevent@0__:{event}");
    vec![
        pmessage(R2, ALL_KEYS, keyspace.as_bytes(), event.as_bytes()),
        pmessage(R2, ALL_KEYS, keyevent.as_bytes(), key.as_bytes()),
    ]
}

/// A connection listening to every keyspace event, after `CONFIG SET notify-keyspace-events
/// flags` on a connection of its own.
fn listener(t: &Target, flags: &str) -> Conn {
    let mut c = t.conn();
    let got = c.call(&["CONFIG", "SET", "notify-keyspace-events", flags]);
    assert_frame(
        &format!("CONFIG SET notify-keyspace-events {flags}"),
        &got,
        b"+OK\r\n",
    );
    let mut listener = t.conn();
    let got = listener.call(&[b"PSUBSCRIBE".as_slice(), ALL_KEYS]);
    assert_frame(
        "PSUBSCRIBE",
        &got,
        &confirm(R2, "psubscribe", Some(ALL_KEYS), 1),
    );
    listener
}

/// One command, its reply, and the frames it makes an [`ALL_KEYS`] listener receive.
type Step<'a> = (&'a [&'a str], &'a [u8], Vec<Vec<u8>>);

/// Runs each command on `c`, checks its reply, then reads and checks the frames it made the
/// listener receive; finally checks that nothing else arrived.
fn run_steps(c: &mut Conn, listener: &mut Conn, steps: &[Step]) {
    for (args, reply, frames) in steps {
        assert_frame(&format!("reply to {args:?}"), &c.call(args), reply);
        let got = listener.frames(frames.len());
        assert_frames(&format!("events of {args:?}"), &got, frames);
    }
    let extra = listener.barrier();
    let last = steps.last().map(|s| s.0);
    assert_frames(&format!("events after the last step {last:?}"), &extra, &[]);
}

#[test]
fn string_and_key_commands_emit_their_events_in_command_order() {
    on_both("keyspace events", |t| {
        let mut listener = listener(t, "KEA");
        let mut c = t.conn();
        let got = c.call(&["CONFIG", "GET", "notify-keyspace-events"]);
        let want = b"*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n";
        assert_frame("CONFIG GET", &got, want);
        let ok = b"+OK\r\n".as_slice();
        let steps: &[Step] = &[
            (&["SET", "k", "v"], ok, event("k", "set")),
            (
                &["SET", "k", "v2", "EX", "100"],
                ok,
                [event("k", "set"), event("k", "expire")].concat(),
            ),
            (&["EXPIRE", "k", "200"], b":1\r\n", event("k", "expire")),
            (&["PERSIST", "k"], b":1\r\n", event("k", "persist")),
            (&["INCR", "n"], b":1\r\n", event("n", "incrby")),
            (&["INCRBY", "n", "5"], b":6\r\n", event("n", "incrby")),
            (&["DECR", "n"], b":5\r\n", event("n", "incrby")),
            (&["DECRBY", "n", "2"], b":3\r\n", event("n", "incrby")),
            (
                &["INCRBYFLOAT", "n", "1.5"],
                b"$3\r\n4.5\r\n",
                event("n", "incrbyfloat"),
            ),
            (&["APPEND", "k", "x"], b":3\r\n", event("k", "append")),
            (&["APPEND", "new", "x"], b":1\r\n", event("new", "append")),
            (
                &["SETRANGE", "k", "0", "z"],
                b":3\r\n",
                event("k", "setrange"),
            ),
            (
                &["RENAME", "k", "k2"],
                ok,
                [event("k", "rename_from"), event("k2", "rename_to")].concat(),
            ),
            (&["DEL", "k2", "missing"], b":1\r\n", event("k2", "del")),
            (&["UNLINK", "n"], b":1\r\n", event("n", "del")),
            (&["GETDEL", "new"], b"$1\r\nx\r\n", event("new", "del")),
            (&["SET", "a", "1"], ok, event("a", "set")),
            // A TTL in the past deletes: `del`, not `expired`.
            (&["EXPIRE", "a", "0"], b":1\r\n", event("a", "del")),
            (&["SET", "m1", "1"], ok, event("m1", "set")),
            (&["SET", "m2", "2"], ok, event("m2", "set")),
            (&["COPY", "m1", "m3"], b":1\r\n", event("m3", "copy_to")),
            (
                &["GETEX", "m1", "EX", "100"],
                b"$1\r\n1\r\n",
                event("m1", "expire"),
            ),
            (
                &["GETEX", "m1", "PERSIST"],
                b"$1\r\n1\r\n",
                event("m1", "persist"),
            ),
            (
                &["SETEX", "se", "100", "v"],
                ok,
                [event("se", "set"), event("se", "expire")].concat(),
            ),
            (
                &["SET", "m2", "3", "GET"],
                b"$1\r\n2\r\n",
                event("m2", "set"),
            ),
            (&["GETSET", "m2", "4"], b"$1\r\n3\r\n", event("m2", "set")),
            (&["SETNX", "m4", "x"], b":1\r\n", event("m4", "set")),
            (&["SET", "__end__", "1"], ok, event("__end__", "set")),
        ];
        run_steps(&mut c, &mut listener, steps);
    });
}

/// Four keys, one on each of corekv's shards, listed in an order that is not shard order
/// (redis-server has one keyspace; the order matters only to corekv).
fn keys_on_every_shard() -> Vec<String> {
    [3, 1, 2, 0]
        .iter()
        .map(|&shard| common::key_on_shard("mk", shard, NR_SHARDS))
        .collect()
}

/// Like [`run_steps`], but each step's frames are compared as a multiset: corekv runs the parts
/// of a multi-key command on the shards that own the keys, in parallel, so events of keys on
/// different shards arrive in shard order, not argument order (docs/ARCHITECTURE.md). Each
/// key's own events still arrive in order, which the ordered test below checks.
fn run_steps_unordered(c: &mut Conn, listener: &mut Conn, steps: &[Step]) {
    for (args, reply, frames) in steps {
        assert_frame(&format!("reply to {args:?}"), &c.call(args), reply);
        let mut got = listener.frames(frames.len());
        let mut want = frames.clone();
        got.sort();
        want.sort();
        assert_frames(&format!("events of {args:?} (any order)"), &got, &want);
    }
    let extra = listener.barrier();
    assert_frames("events after the last step", &extra, &[]);
}

/// MSET, DEL, MSETNX and UNLINK over four keys, in a scrambled argument order.
fn multi_key_steps<'a>(k: &[&'a str]) -> Vec<Vec<&'a str>> {
    vec![
        vec!["MSET", k[0], "1", k[1], "2", k[2], "3", k[3], "4"],
        vec!["DEL", k[2], k[0], "missing", k[3], k[1]],
        vec!["MSETNX", k[1], "1", k[3], "2", k[0], "3"],
        vec!["UNLINK", k[3], k[1], k[0]],
    ]
}

/// MSET, DEL, MSETNX, UNLINK over `k` (scrambled argument order), then a marker SET; events
/// compared in order when `ordered`, as a multiset otherwise.
fn multi_key_case(c: &mut Conn, listener: &mut Conn, k: &[&str], ordered: bool) {
    let events = |order: &[usize], name: &str| -> Vec<Vec<u8>> {
        order.iter().flat_map(|&i| event(k[i], name)).collect()
    };
    let cmds = multi_key_steps(k);
    let ok = b"+OK\r\n".as_slice();
    let steps: &[Step] = &[
        (&cmds[0], ok, events(&[0, 1, 2, 3], "set")),
        (&cmds[1], b":4\r\n", events(&[2, 0, 3, 1], "del")),
        (&cmds[2], b":1\r\n", events(&[1, 3, 0], "set")),
        (&cmds[3], b":3\r\n", events(&[3, 1, 0], "del")),
        (&["SET", "__end__", "1"], ok, event("__end__", "set")),
    ];
    if ordered {
        run_steps(c, listener, steps);
    } else {
        run_steps_unordered(c, listener, steps);
    }
}

#[test]
fn multi_key_commands_emit_events_for_every_key() {
    on_both("multi-key events across shards", |t| {
        let mut listener = listener(t, "KEA");
        let mut c = t.conn();
        let keys = keys_on_every_shard();
        let k: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        multi_key_case(&mut c, &mut listener, &k, false);
    });
}

#[test]
fn multi_key_commands_on_one_shard_emit_events_in_argument_order() {
    on_both("multi-key event order, one hash tag", |t| {
        let mut listener = listener(t, "KEA");
        let mut c = t.conn();
        let k = ["{t}mk0", "{t}mk1", "{t}mk2", "{t}mk3"];
        multi_key_case(&mut c, &mut listener, &k, true);
    });
}

#[test]
fn commands_that_change_nothing_emit_nothing() {
    on_both("no events", |t| {
        let mut listener = listener(t, "KEA");
        let mut c = t.conn();
        let ok = b"+OK\r\n".as_slice();
        let not_integer = b"-ERR value is not an integer or out of range\r\n".as_slice();
        let steps: &[Step] = &[
            (&["SET", "s", "abc"], ok, event("s", "set")),
            (&["SETNX", "s", "x"], b":0\r\n", vec![]),
            (&["SET", "s", "x", "NX"], b"$-1\r\n", vec![]),
            (&["SET", "nokey", "x", "XX"], b"$-1\r\n", vec![]),
            (&["INCR", "s"], not_integer, vec![]),
            (&["RENAME", "s", "s"], ok, vec![]),
            (&["EXPIRE", "nokey", "10"], b":0\r\n", vec![]),
            (&["PERSIST", "s"], b":0\r\n", vec![]),
            (&["DEL", "nokey"], b":0\r\n", vec![]),
            (&["GETDEL", "nokey"], b"$-1\r\n", vec![]),
            (&["GET", "s"], b"$3\r\nabc\r\n", vec![]),
            (&["MSETNX", "s", "1", "t", "2"], b":0\r\n", vec![]),
            (&["FLUSHALL"], ok, vec![]),
            (&["SET", "__end__", "1"], ok, event("__end__", "set")),
        ];
        run_steps(&mut c, &mut listener, steps);
    });
}

#[test]
fn expired_keys_send_expired_whether_read_or_not() {
    on_both("expired events", |t| {
        let mut listener = listener(t, "KEA");
        let mut c = t.conn();
        // Lazily: read after its TTL.
        assert_frame("SET t", &c.call(&["SET", "t", "v", "PX", "50"]), b"+OK\r\n");
        let want = [event("t", "set"), event("t", "expire")].concat();
        assert_frames("SET t v PX 50", &listener.frames(4), &want);
        wait_for("t expired", || c.call(&["GET", "t"]) == b"$-1\r\n");
        assert_frames("t expired", &listener.frames(2), &event("t", "expired"));

        // Actively: nobody touches it; the server's expiry cycle finds it.
        assert_frame(
            "SET t2",
            &c.call(&["SET", "t2", "v", "PX", "50"]),
            b"+OK\r\n",
        );
        let want = [event("t2", "set"), event("t2", "expire")].concat();
        assert_frames("SET t2 v PX 50", &listener.frames(4), &want);
        assert_frames("t2 expired", &listener.frames(2), &event("t2", "expired"));
        assert_frame("EXISTS t2", &c.call(&["EXISTS", "t2"]), b":0\r\n");
        assert_frames("nothing more", &listener.barrier(), &[]);
    });
}

#[test]
fn event_classes_filter_and_config_get_shows_the_canonical_form() {
    on_both("event classes", |t| {
        let mut c = t.conn();
        for (flags, canonical) in [
            ("KEA", "AKE"),
            ("K$", "$K"),
            ("Eg", "gE"),
            ("Ex", "xE"),
            ("g$lshzxetd", "A"),
            ("KEg$lshzxetd", "AKE"),
            ("KEAm", "AKEm"),
            ("KEn", "nKE"),
            ("", ""),
        ] {
            let got = c.call(&["CONFIG", "SET", "notify-keyspace-events", flags]);
            assert_frame(&format!("CONFIG SET {flags:?}"), &got, b"+OK\r\n");
            let got = c.call(&["CONFIG", "GET", "notify-keyspace-events"]);
            let want = bulk_array(&[b"notify-keyspace-events", canonical.as_bytes()]);
            assert_frame(&format!("CONFIG GET after {flags:?}"), &got, &want);
        }
        let got = c.call(&["CONFIG", "SET", "notify-keyspace-events", "KEZ"]);
        let want = error(
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - \
             Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        );
        assert_frame("CONFIG SET KEZ", &got, &want);

        // Keyspace channel, string commands only: SET yes, DEL (generic) no.
        let mut watcher = listener(t, "K$");
        let keyspace_set = |key: &str| event(key, "set")[..1].to_vec();
        let steps: &[Step] = &[
            (&["SET", "k", "v"], b"+OK\r\n", keyspace_set("k")),
            (&["DEL", "k"], b":1\r\n", vec![]),
            (
                &["SET", "__end__", "1"],
                b"+OK\r\n",
                keyspace_set("__end__"),
            ),
        ];
        run_steps(&mut c, &mut watcher, steps);

        // Keyevent channel, generic commands only.
        let mut watcher = listener(t, "Eg");
        let keyevent_del = |key: &str| event(key, "del")[1..].to_vec();
        let steps: &[Step] = &[
            (&["SET", "k", "v"], b"+OK\r\n", vec![]),
            (&["DEL", "k"], b":1\r\n", keyevent_del("k")),
        ];
        run_steps(&mut c, &mut watcher, steps);

        // Nothing at all.
        let mut watcher = listener(t, "");
        let steps: &[Step] = &[
            (&["SET", "k", "v"], b"+OK\r\n", vec![]),
            (&["DEL", "k"], b":1\r\n", vec![]),
        ];
        run_steps(&mut c, &mut watcher, steps);
    });
}

#[test]
fn a_channel_subscriber_gets_plain_messages() {
    on_both("keyevent channel", |t| {
        let mut c = t.conn();
        let got = c.call(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        assert_frame("CONFIG SET", &got, b"+OK\r\n");
        let mut by_event = subscriber(t, "SUBSCRIBE", &["__keyevent@0__:del"]);
        let mut by_key = subscriber(t, "SUBSCRIBE", &["__keyspace@0__:k"]);
        assert_frame("SET k", &c.call(&["SET", "k", "v"]), b"+OK\r\n");
        assert_frame("SET j", &c.call(&["SET", "j", "v"]), b"+OK\r\n");
        assert_frame("DEL j", &c.call(&["DEL", "j"]), b":1\r\n");
        assert_frame("DEL k", &c.call(&["DEL", "k"]), b":1\r\n");
        let want = vec![
            message(R2, b"__keyevent@0__:del", b"j"),
            message(R2, b"__keyevent@0__:del", b"k"),
        ];
        by_event.expect_frames("__keyevent@0__:del", &want);
        let want = vec![
            message(R2, b"__keyspace@0__:k", b"set"),
            message(R2, b"__keyspace@0__:k", b"del"),
        ];
        by_key.expect_frames("__keyspace@0__:k", &want);
    });
}

#[test]
fn a_resp3_client_gets_its_own_events_before_the_reply() {
    on_both("own events", |t| {
        let mut c = t.conn();
        let got = c.call(&["CONFIG", "SET", "notify-keyspace-events", "E$"]);
        assert_frame("CONFIG SET", &got, b"+OK\r\n");
        let mut own = t.conn3();
        subscribe(&mut own, "SUBSCRIBE", &["__keyevent@0__:set"], 1);
        for i in 0..20 {
            let key = format!("k{i}");
            own.send(&["SET", &key, "v"]);
            let want = vec![
                message(R3, b"__keyevent@0__:set", key.as_bytes()),
                b"+OK\r\n".to_vec(),
            ];
            assert_frames(&format!("SET {key}"), &own.frames(2), &want);
        }
    });
}

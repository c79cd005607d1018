//! Pub/sub protocol, byte for byte as Redis 7.0 speaks it: (un)subscribe confirmations and
//! their running counts, the RESP2 subscribed mode and its allowed commands, RESP3 pushes,
//! how many receivers PUBLISH / SPUBLISH count and reach, that a message is queued before
//! the PUBLISH that counted it replies, and PUBLISH inside MULTI.
//!
//! Every test runs against redis-server 7.0.15 first and then corekv (`--shards 4`): see
//! tests/common/pubsub.rs. Pattern matching, binary names and the introspection commands
//! are in tests/pubsub_match.rs, many connections across cores in tests/pubsub_fanout.rs,
//! keyspace notifications in tests/pubsub_notify.rs.

mod common;
#[path = "common/pubsub.rs"]
mod pubsub_util;

use pubsub_util::*;

const R2: Proto = Proto::Resp2;
const R3: Proto = Proto::Resp3;

#[test]
fn confirmations_carry_running_counts_and_shard_channels_count_apart() {
    on_both("running counts", |t| {
        let mut c = t.conn();
        c.send(&["SUBSCRIBE", "a", "b", "c"]);
        let got = c.frames(3);
        assert_frame(
            "first confirmation, spelled out",
            &got[0],
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
        );
        assert_frames(
            "SUBSCRIBE a b c",
            &got,
            &confirms(R2, "subscribe", &[b"a", b"b", b"c"], 1),
        );
        // Channels and patterns share one count...
        c.send(&["PSUBSCRIBE", "p*", "q?"]);
        let want = confirms(R2, "psubscribe", &[b"p*", b"q?"], 4);
        assert_frames("PSUBSCRIBE p* q?", &c.frames(2), &want);
        // ...shard channels have their own.
        c.send(&["SSUBSCRIBE", "s1", "s2"]);
        let want = confirms(R2, "ssubscribe", &[b"s1", b"s2"], 1);
        assert_frames("SSUBSCRIBE s1 s2", &c.frames(2), &want);
        // Subscribing again to a channel confirms it without counting it twice.
        let got = c.call(&["SUBSCRIBE", "a"]);
        assert_frame(
            "SUBSCRIBE a again",
            &got,
            &confirm(R2, "subscribe", Some(b"a"), 5),
        );

        c.send(&["UNSUBSCRIBE"]);
        let got = c.frames(3);
        assert_unsubscribe_all(
            "UNSUBSCRIBE",
            R2,
            &got,
            "unsubscribe",
            &[b"a", b"b", b"c"],
            4,
        );
        c.send(&["PUNSUBSCRIBE"]);
        let got = c.frames(2);
        assert_unsubscribe_all("PUNSUBSCRIBE", R2, &got, "punsubscribe", &[b"p*", b"q?"], 1);
        // Count 0 for channels and patterns, but the shard channels keep the mode.
        assert_frame(
            "GET with shard channels left",
            &c.call(&["GET", "x"]),
            &not_allowed("get"),
        );
        c.send(&["SUNSUBSCRIBE"]);
        let got = c.frames(2);
        assert_unsubscribe_all("SUNSUBSCRIBE", R2, &got, "sunsubscribe", &[b"s1", b"s2"], 1);
        assert_frame(
            "GET after the last unsubscribe",
            &c.call(&["GET", "x"]),
            b"$-1\r\n",
        );

        for (command, want) in [
            (
                "UNSUBSCRIBE",
                b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n".as_slice(),
            ),
            (
                "PUNSUBSCRIBE",
                b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
            ),
            (
                "SUNSUBSCRIBE",
                b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n",
            ),
        ] {
            assert_frame(
                &format!("{command} from nothing"),
                &c.call(&[command]),
                want,
            );
        }
        assert_frame("still a normal client", &c.call(&["GET", "x"]), b"$-1\r\n");
    });
}

#[test]
fn unsubscribing_from_names_not_subscribed_and_duplicate_names() {
    on_both("names not subscribed", |t| {
        let mut c = t.conn();
        // Not subscribed at all: one frame per name, count 0, and no subscribed mode.
        c.send(&["UNSUBSCRIBE", "x", "y"]);
        let want = vec![
            confirm(R2, "unsubscribe", Some(b"x"), 0),
            confirm(R2, "unsubscribe", Some(b"y"), 0),
        ];
        assert_frames("UNSUBSCRIBE x y", &c.frames(2), &want);
        let got = c.call(&["PUNSUBSCRIBE", "x"]);
        assert_frame(
            "PUNSUBSCRIBE x",
            &got,
            &confirm(R2, "punsubscribe", Some(b"x"), 0),
        );
        let got = c.call(&["SUNSUBSCRIBE", "x"]);
        assert_frame(
            "SUNSUBSCRIBE x",
            &got,
            &confirm(R2, "sunsubscribe", Some(b"x"), 0),
        );
        assert_frame("GET", &c.call(&["GET", "x"]), b"$-1\r\n");

        // A name repeated in one command is confirmed twice and counted once.
        c.send(&["SUBSCRIBE", "d", "d"]);
        let want = vec![
            confirm(R2, "subscribe", Some(b"d"), 1),
            confirm(R2, "subscribe", Some(b"d"), 1),
        ];
        assert_frames("SUBSCRIBE d d", &c.frames(2), &want);
        c.send(&["PSUBSCRIBE", "p", "p", "d"]);
        let want = vec![
            confirm(R2, "psubscribe", Some(b"p"), 2),
            confirm(R2, "psubscribe", Some(b"p"), 2),
            confirm(R2, "psubscribe", Some(b"d"), 3),
        ];
        assert_frames("PSUBSCRIBE p p d (d is a channel too)", &c.frames(3), &want);
        let got = c.call(&["UNSUBSCRIBE", "zz"]);
        assert_frame(
            "UNSUBSCRIBE zz",
            &got,
            &confirm(R2, "unsubscribe", Some(b"zz"), 3),
        );
        // SUNSUBSCRIBE reports the shard-channel count, 0 here, whatever else is subscribed.
        let got = c.call(&["SUNSUBSCRIBE", "zz"]);
        assert_frame(
            "SUNSUBSCRIBE zz",
            &got,
            &confirm(R2, "sunsubscribe", Some(b"zz"), 0),
        );
        assert_frame(
            "still subscribed",
            &c.call(&["GET", "x"]),
            &not_allowed("get"),
        );
        let got = c.call(&["PUNSUBSCRIBE", "d"]);
        assert_frame(
            "PUNSUBSCRIBE d",
            &got,
            &confirm(R2, "punsubscribe", Some(b"d"), 2),
        );
        let got = c.call(&["UNSUBSCRIBE", "d"]);
        assert_frame(
            "UNSUBSCRIBE d",
            &got,
            &confirm(R2, "unsubscribe", Some(b"d"), 1),
        );
    });
}

#[test]
fn subscribed_resp2_client_may_only_subscribe_ping_quit_and_reset() {
    on_both("RESP2 subscribed mode", |t| {
        let mut c = mode_subscriber(t);
        for (args, name) in [
            (&["GET", "x"][..], "get"),
            (&["SET", "x", "1"], "set"),
            (&["PUBLISH", "a", "m"], "publish"),
            (&["CLIENT", "LIST"], "client|list"),
            (&["CLIENT", "ID"], "client|id"),
            (&["HELLO", "3"], "hello"),
            (&["MULTI"], "multi"),
            (&["PUBSUB", "NUMSUB", "a"], "pubsub|numsub"),
        ] {
            assert_frame(&format!("{args:?}"), &c.call(args), &not_allowed(name));
        }
        // Unknown commands and arity are checked first.
        let want = error("ERR unknown command 'FOO', with args beginning with: ");
        assert_frame("FOO", &c.call(&["FOO"]), &want);
        let want = error("ERR wrong number of arguments for 'get' command");
        assert_frame("GET without a key", &c.call(&["GET"]), &want);
        let want = error("ERR wrong number of arguments for 'subscribe' command");
        assert_frame(
            "SUBSCRIBE without a channel",
            &c.call(&["SUBSCRIBE"]),
            &want,
        );
        let want = error("ERR wrong number of arguments for 'ping' command");
        assert_frame("PING a b", &c.call(&["PING", "a", "b"]), &want);

        let got = c.call(&["PING"]);
        assert_frame("PING", &got, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        let got = c.call(&["PING", "hello"]);
        assert_frame("PING hello", &got, b"*2\r\n$4\r\npong\r\n$5\r\nhello\r\n");
        c.send_raw(b"ping\r\nPING x\r\n");
        let want = vec![pong_subscribed(b""), pong_subscribed(b"x")];
        assert_frames("inline PINGs", &c.frames(2), &want);

        // RESET leaves the mode and drops every subscription.
        assert_frame("RESET", &c.call(&["RESET"]), b"+RESET\r\n");
        assert_frame("GET after RESET", &c.call(&["GET", "x"]), b"$-1\r\n");
        let got = t.conn().call(&["PUBSUB", "NUMSUB", "a"]);
        assert_frame("NUMSUB after RESET", &got, b"*2\r\n$1\r\na\r\n:0\r\n");

        let mut c = mode_subscriber(t);
        assert_frame("QUIT", &c.call(&["QUIT"]), b"+OK\r\n");
        assert!(
            c.read_until_closed().is_empty(),
            "QUIT closes the connection"
        );
    });
}

/// A RESP2 connection subscribed to channel `a`, pattern `a*` and shard channel `s`.
fn mode_subscriber(t: &Target) -> Conn {
    let mut c = subscriber(t, "SUBSCRIBE", &["a"]);
    subscribe(&mut c, "PSUBSCRIBE", &["a*"], 2);
    subscribe(&mut c, "SSUBSCRIBE", &["s"], 1);
    c
}

#[test]
fn the_mode_switches_between_commands_of_one_pipeline() {
    on_both("mode switch in a pipeline", |t| {
        let mut c = t.conn();
        let mut pipeline = common::encode(&[b"SUBSCRIBE", b"z"]);
        pipeline.extend(common::encode(&[b"GET", b"k"]));
        pipeline.extend(common::encode(&[b"UNSUBSCRIBE"]));
        pipeline.extend(common::encode(&[b"GET", b"k"]));
        c.send_raw(&pipeline);
        let want = vec![
            confirm(R2, "subscribe", Some(b"z"), 1),
            not_allowed("get"),
            confirm(R2, "unsubscribe", Some(b"z"), 0),
            b"$-1\r\n".to_vec(),
        ];
        assert_frames(
            "SUBSCRIBE z; GET k; UNSUBSCRIBE; GET k",
            &c.frames(4),
            &want,
        );

        // A shard subscription alone enters the mode too.
        let mut c = subscriber(t, "SSUBSCRIBE", &["s"]);
        assert_frame("GET", &c.call(&["GET", "k"]), &not_allowed("get"));
    });
}

#[test]
fn resp3_confirmations_and_messages_are_pushes_and_any_command_runs() {
    on_both("RESP3 pushes", |t| {
        let mut c = t.conn3();
        c.send(&["SUBSCRIBE", "a", "b"]);
        let got = c.frames(2);
        assert_frame(
            "first confirmation, spelled out",
            &got[0],
            b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
        );
        assert_frames(
            "SUBSCRIBE a b",
            &got,
            &confirms(R3, "subscribe", &[b"a", b"b"], 1),
        );
        subscribe(&mut c, "PSUBSCRIBE", &["a*"], 3);
        subscribe(&mut c, "SSUBSCRIBE", &["s"], 1);

        // Not a mode in RESP3: everything runs, PING answers as usual.
        assert_frame("GET", &c.call(&["GET", "x"]), b"_\r\n");
        assert_frame("SET", &c.call(&["SET", "x", "1"]), b"+OK\r\n");
        assert_frame("GET", &c.call(&["GET", "x"]), b"$1\r\n1\r\n");
        assert_frame("PING", &c.call(&["PING"]), b"+PONG\r\n");
        assert_frame("PING hi", &c.call(&["PING", "hi"]), b"$2\r\nhi\r\n");

        let mut publisher = t.conn();
        assert_eq!(publisher.int(&["PUBLISH", "a", "hello"]), 2);
        let want = vec![
            b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n".to_vec(),
            b">4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$5\r\nhello\r\n".to_vec(),
        ];
        c.expect_frames("PUBLISH a hello", &want);
        assert_eq!(publisher.int(&["SPUBLISH", "s", "sh"]), 1);
        let want = vec![b">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$2\r\nsh\r\n".to_vec()];
        c.expect_frames("SPUBLISH s sh", &want);

        // Publishing to itself: both pushes and the count (their order relative to the
        // reply is checked by publish_replies_come_after_the_messages_they_count).
        c.send(&["PUBLISH", "a", "me"]);
        let want = vec![
            message(R3, b"a", b"me"),
            pmessage(R3, b"a*", b"a", b"me"),
            int(2),
        ];
        assert_frames_sorted("PUBLISH a me from the subscriber", &c.frames(3), &want);

        let got = c.call(&["UNSUBSCRIBE", "a"]);
        assert_frame(
            "UNSUBSCRIBE a",
            &got,
            &confirm(R3, "unsubscribe", Some(b"a"), 2),
        );
        let got = c.call(&["PUNSUBSCRIBE"]);
        assert_frame(
            "PUNSUBSCRIBE",
            &got,
            &confirm(R3, "punsubscribe", Some(b"a*"), 1),
        );
        let got = c.call(&["SUNSUBSCRIBE"]);
        assert_frame(
            "SUNSUBSCRIBE",
            &got,
            &confirm(R3, "sunsubscribe", Some(b"s"), 0),
        );
        let got = c.call(&["UNSUBSCRIBE"]);
        assert_frame(
            "UNSUBSCRIBE",
            &got,
            &confirm(R3, "unsubscribe", Some(b"b"), 0),
        );
        let got = c.call(&["UNSUBSCRIBE"]);
        assert_frame(
            "UNSUBSCRIBE from nothing",
            &got,
            b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
        );

        // HELLO 2 while subscribed puts the client under RESP2's rules at once.
        subscribe(&mut c, "SUBSCRIBE", &["z"], 1);
        let hello = c.call(&["HELLO", "2"]);
        assert!(hello.starts_with(b"*14\r\n"), "HELLO 2: {}", esc(&hello));
        c.proto = R2;
        assert_frame(
            "GET under RESP2",
            &c.call(&["GET", "x"]),
            &not_allowed("get"),
        );
        assert_frame(
            "PING under RESP2",
            &c.call(&["PING"]),
            &pong_subscribed(b""),
        );

        // RESET from RESP3 while subscribed: no subscriptions and RESP2 again (a null is `$-1`).
        let mut c = t.conn3();
        subscribe(&mut c, "SUBSCRIBE", &["r"], 1);
        assert_frame("RESET", &c.call(&["RESET"]), b"+RESET\r\n");
        assert_frame("GET after RESET", &c.call(&["GET", "nokey"]), b"$-1\r\n");
        let got = c.call(&["PUBSUB", "NUMSUB", "r"]);
        assert_frame("NUMSUB r after RESET", &got, b"*2\r\n$1\r\nr\r\n:0\r\n");
    });
}

#[test]
fn publish_counts_every_receiving_subscription_and_shard_channels_stay_apart() {
    on_both("receiver counts", |t| {
        let mut by_channel = subscriber(t, "SUBSCRIBE", &["news"]);
        let mut by_pattern = subscriber(t, "PSUBSCRIBE", &["n*"]);
        let mut by_both = subscriber(t, "SUBSCRIBE", &["news"]);
        subscribe(&mut by_both, "PSUBSCRIBE", &["ne*", "n?ws"], 2);
        let mut by_shard = subscriber(t, "SSUBSCRIBE", &["news"]);
        let mut publisher = t.conn();

        // 1 + 1 + 3 (channel and both patterns of by_both); by_shard is not reached.
        assert_eq!(publisher.int(&["PUBLISH", "news", "hi"]), 5);
        assert_eq!(publisher.int(&["SPUBLISH", "news", "sh"]), 1);
        assert_eq!(publisher.int(&["PUBLISH", "other", "x"]), 0);
        assert_eq!(publisher.int(&["SPUBLISH", "other", "x"]), 0);
        assert_eq!(publisher.int(&["PUBLISH", "nope", "x"]), 1, "n* only");

        let want = vec![message(R2, b"news", b"hi")];
        by_channel.expect_frames("channel subscriber", &want);
        let want = vec![
            pmessage(R2, b"n*", b"news", b"hi"),
            pmessage(R2, b"n*", b"nope", b"x"),
        ];
        by_pattern.expect_frames("pattern subscriber", &want);
        // The channel's message first, then one per matching pattern (their order is the
        // server's hash table order).
        let got = by_both.frames(3);
        assert_frame("by_both first frame", &got[0], &message(R2, b"news", b"hi"));
        let want = vec![
            pmessage(R2, b"ne*", b"news", b"hi"),
            pmessage(R2, b"n?ws", b"news", b"hi"),
        ];
        assert_frames_sorted("by_both pattern frames", &got[1..], &want);
        assert_frames("by_both: nothing more", &by_both.barrier(), &[]);
        let want = vec![smessage(R2, b"news", b"sh")];
        by_shard.expect_frames("shard subscriber", &want);

        // An UNSUBSCRIBE confirmation is a barrier too: the next PUBLISH no longer counts it.
        let got = by_both.call(&["UNSUBSCRIBE", "news"]);
        assert_frame(
            "UNSUBSCRIBE news",
            &got,
            &confirm(R2, "unsubscribe", Some(b"news"), 2),
        );
        assert_eq!(publisher.int(&["PUBLISH", "news", "again"]), 4);
        let want = vec![
            pmessage(R2, b"ne*", b"news", b"again"),
            pmessage(R2, b"n?ws", b"news", b"again"),
        ];
        assert_frames_sorted("by_both after UNSUBSCRIBE", &by_both.frames(2), &want);
        by_both.send(&["PUNSUBSCRIBE"]);
        let got = by_both.frames(2);
        let patterns: [&[u8]; 2] = [b"ne*", b"n?ws"];
        assert_unsubscribe_all("PUNSUBSCRIBE", R2, &got, "punsubscribe", &patterns, 1);
        assert_eq!(publisher.int(&["PUBLISH", "news", "again"]), 2);
        let got = by_shard.call(&["SUNSUBSCRIBE", "news"]);
        assert_frame(
            "SUNSUBSCRIBE",
            &got,
            &confirm(R2, "sunsubscribe", Some(b"news"), 0),
        );
        assert_eq!(publisher.int(&["SPUBLISH", "news", "again"]), 0);
    });
}

#[test]
fn publish_and_subscribe_arity_errors() {
    on_both("arity errors", |t| {
        let mut c = t.conn();
        for (args, name) in [
            (&["PUBLISH", "x"][..], "publish"),
            (&["PUBLISH", "x", "1", "2"], "publish"),
            (&["SPUBLISH", "x"], "spublish"),
            (&["SUBSCRIBE"], "subscribe"),
            (&["PSUBSCRIBE"], "psubscribe"),
            (&["SSUBSCRIBE"], "ssubscribe"),
            (&["PUBSUB"], "pubsub"),
            (&["PUBSUB", "NUMPAT", "x"], "pubsub|numpat"),
        ] {
            let want = error(&format!(
                "ERR wrong number of arguments for '{name}' command"
            ));
            assert_frame(&format!("{args:?}"), &c.call(args), &want);
        }
        assert_frame(
            "PING: still a normal client",
            &c.call(&["PING"]),
            b"+PONG\r\n",
        );
    });
}

/// Rounds of the ordering check: enough that a server which delivers asynchronously is
/// caught, few enough to stay quick.
const ORDERING_ROUNDS: usize = 100;

#[test]
fn publish_replies_come_after_the_messages_they_count() {
    on_both("publish happens-before", |t| {
        // Redis appends a message to every receiver's output before it replies to PUBLISH.
        // So once the publisher has its count, a command the subscriber sends is answered
        // after the message, and a subscriber publishing to itself gets the message first.
        let mut sub = subscriber(t, "SUBSCRIBE", &["c"]);
        subscribe(&mut sub, "PSUBSCRIBE", &["p*"], 2);
        subscribe(&mut sub, "SSUBSCRIBE", &["sc"], 1);
        let mut publisher = t.conn();
        for round in 0..ORDERING_ROUNDS {
            let payload = format!("m{round}");
            let p = payload.as_bytes();
            assert_eq!(publisher.int(&["PUBLISH", "c", &payload]), 1);
            let want = vec![message(R2, b"c", p)];
            assert_frames(&format!("round {round}, channel"), &sub.barrier(), &want);
            assert_eq!(publisher.int(&["PUBLISH", "px", &payload]), 1);
            let want = vec![pmessage(R2, b"p*", b"px", p)];
            assert_frames(&format!("round {round}, pattern"), &sub.barrier(), &want);
            assert_eq!(publisher.int(&["SPUBLISH", "sc", &payload]), 1);
            let want = vec![smessage(R2, b"sc", p)];
            assert_frames(&format!("round {round}, shard"), &sub.barrier(), &want);
        }

        let mut own = t.conn3();
        subscribe(&mut own, "SUBSCRIBE", &["self"], 1);
        for round in 0..ORDERING_ROUNDS {
            let payload = format!("m{round}");
            own.send(&["PUBLISH", "self", &payload]);
            let want = vec![message(R3, b"self", payload.as_bytes()), int(1)];
            assert_frames(&format!("round {round}, own"), &own.frames(2), &want);
        }
    });
}

#[test]
fn publish_inside_multi_delivers_at_exec() {
    on_both("PUBLISH in MULTI", |t| {
        let mut sub = subscriber(t, "SUBSCRIBE", &["tx"]);
        subscribe(&mut sub, "SSUBSCRIBE", &["stx"], 1);
        let mut c = t.conn();
        assert_frame("MULTI", &c.call(&["MULTI"]), b"+OK\r\n");
        assert_frame(
            "PUBLISH",
            &c.call(&["PUBLISH", "tx", "one"]),
            b"+QUEUED\r\n",
        );
        assert_frame(
            "SPUBLISH",
            &c.call(&["SPUBLISH", "stx", "two"]),
            b"+QUEUED\r\n",
        );
        assert_frame(
            "PUBLISH",
            &c.call(&["PUBLISH", "none", "x"]),
            b"+QUEUED\r\n",
        );
        assert_frame("EXEC", &c.call(&["EXEC"]), b"*3\r\n:1\r\n:1\r\n:0\r\n");
        let want = vec![message(R2, b"tx", b"one"), smessage(R2, b"stx", b"two")];
        sub.expect_frames("messages published by EXEC", &want);
        // A discarded transaction publishes nothing.
        assert_frame("MULTI", &c.call(&["MULTI"]), b"+OK\r\n");
        assert_frame("PUBLISH", &c.call(&["PUBLISH", "tx", "no"]), b"+QUEUED\r\n");
        assert_frame("DISCARD", &c.call(&["DISCARD"]), b"+OK\r\n");
        assert_eq!(c.int(&["PUBLISH", "tx", "yes"]), 1);
        sub.expect_frames("after DISCARD", &[message(R2, b"tx", b"yes")]);
    });
}

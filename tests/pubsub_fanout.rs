//! Pub/sub under load and across cores: many subscriber connections (which SO_REUSEPORT
//! spreads over corekv's cores) on one channel, its patterns and a shard channel; one and
//! several publishers; subscribers that disconnect; and a subscriber that never reads until
//! `client-output-buffer-limit pubsub` closes it.
//!
//! Every test runs against redis-server 7.0.15 first and then corekv (`--shards 4`): see
//! tests/common/pubsub.rs. Counts are bounded and nothing asserts on time.

mod common;
#[path = "common/pubsub.rs"]
mod pubsub_util;

use std::thread;

use common::Resp;
use pubsub_util::*;

const R2: Proto = Proto::Resp2;

/// Reads `n` frames on a thread of its own, so every subscriber drains while the publisher
/// publishes (none of them should come near an output limit).
fn drain(mut conn: Conn, n: usize) -> thread::JoinHandle<(Conn, Vec<Vec<u8>>)> {
    thread::spawn(move || {
        let frames = conn.frames(n);
        (conn, frames)
    })
}

/// The frames of `kind` (message, pmessage, smessage), in arrival order.
fn of_kind(frames: &[Vec<u8>], kind: &str) -> Vec<Vec<u8>> {
    let prefix = match kind {
        "pmessage" => b"*4\r\n$8\r\npmessage\r\n".to_vec(),
        _ => format!("*3\r\n${}\r\n{kind}\r\n", kind.len()).into_bytes(),
    };
    frames
        .iter()
        .filter(|f| f.starts_with(&prefix))
        .cloned()
        .collect()
}

/// Subscribers taking part in the one-publisher test.
const BY_CHANNEL: usize = 30;
const BY_PATTERN: usize = 10;
/// Of the BY_CHANNEL subscribers, how many also subscribe to a second matching pattern.
const BY_BOTH: usize = 5;
const MESSAGES: usize = 1000;

#[test]
fn one_publisher_reaches_every_subscriber_on_every_core_in_order() {
    on_both("one publisher, 40 subscribers", |t| {
        let mut subs: Vec<(Conn, &str)> = Vec::new();
        for i in 0..BY_CHANNEL {
            let mut conn = subscriber(t, "SUBSCRIBE", &["feed"]);
            let role = if i < BY_BOTH {
                subscribe(&mut conn, "PSUBSCRIBE", &["f*d"], 2);
                "both"
            } else {
                "channel"
            };
            subs.push((conn, role));
        }
        for _ in 0..BY_PATTERN {
            subs.push((subscriber(t, "PSUBSCRIBE", &["fe*"]), "pattern"));
        }
        let mut publisher = t.conn();
        let numsub = publisher.call(&["PUBSUB", "NUMSUB", "feed"]);
        assert_frame("NUMSUB feed", &numsub, b"*2\r\n$4\r\nfeed\r\n:30\r\n");
        assert_eq!(publisher.int(&["PUBSUB", "NUMPAT"]), 2);

        let receivers = (BY_CHANNEL + BY_PATTERN + BY_BOTH) as i64;
        let readers: Vec<_> = subs
            .into_iter()
            .map(|(conn, role)| {
                let n = if role == "both" {
                    2 * MESSAGES
                } else {
                    MESSAGES
                };
                (drain(conn, n), role)
            })
            .collect();
        for i in 0..MESSAGES {
            let count = publisher.int(&["PUBLISH", "feed", &format!("m{i}")]);
            assert_eq!(count, receivers, "PUBLISH #{i}");
        }

        let payloads: Vec<Vec<u8>> = (0..MESSAGES)
            .map(|i| format!("m{i}").into_bytes())
            .collect();
        let by_channel: Vec<Vec<u8>> = payloads.iter().map(|p| message(R2, b"feed", p)).collect();
        let by_fe: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| pmessage(R2, b"fe*", b"feed", p))
            .collect();
        let by_fd: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| pmessage(R2, b"f*d", b"feed", p))
            .collect();
        for (n, (reader, role)) in readers.into_iter().enumerate() {
            let (mut conn, frames) = reader.join().expect("subscriber thread");
            let what = format!("subscriber {n} ({role})");
            match role {
                "channel" => assert_frames(&what, &frames, &by_channel),
                "pattern" => assert_frames(&what, &frames, &by_fe),
                _ => {
                    assert_frames(&what, &of_kind(&frames, "message"), &by_channel);
                    assert_frames(&what, &of_kind(&frames, "pmessage"), &by_fd);
                }
            }
            assert_frames(&format!("{what}: nothing more"), &conn.barrier(), &[]);
        }
    });
}

const PUBLISHERS: usize = 4;
const MESSAGES_PER_PUBLISHER: usize = 250;

#[test]
fn several_publishers_each_keep_their_own_order() {
    on_both("4 publishers, 20 subscribers", |t| {
        let mut subs = Vec::new();
        for _ in 0..16 {
            subs.push(subscriber(t, "SUBSCRIBE", &["multi"]));
        }
        for _ in 0..4 {
            subs.push(subscriber(t, "PSUBSCRIBE", &["mul*"]));
        }
        let receivers = subs.len() as i64;
        let total = PUBLISHERS * MESSAGES_PER_PUBLISHER;
        let readers: Vec<_> = subs.into_iter().map(|c| drain(c, total)).collect();
        let publishers: Vec<_> = (0..PUBLISHERS)
            .map(|p| {
                let mut conn = t.conn();
                thread::spawn(move || {
                    for i in 0..MESSAGES_PER_PUBLISHER {
                        let count = conn.int(&["PUBLISH", "multi", &format!("{p}:{i}")]);
                        assert_eq!(count, receivers, "publisher {p}, message {i}");
                    }
                })
            })
            .collect();
        for p in publishers {
            p.join().expect("publisher thread");
        }
        for (n, reader) in readers.into_iter().enumerate() {
            let (mut conn, frames) = reader.join().expect("subscriber thread");
            // Per publisher, the payloads in the order it published them.
            let mut seen = vec![Vec::new(); PUBLISHERS];
            for frame in &frames {
                let items = Resp::parse(frame);
                let payload = items.items().last().expect("payload").text();
                let (p, i) = payload.split_once(':').expect("p:i payload");
                let p: usize = p.parse().expect("publisher number");
                seen[p].push(i.parse::<usize>().expect("message number"));
            }
            let want: Vec<usize> = (0..MESSAGES_PER_PUBLISHER).collect();
            for (p, got) in seen.iter().enumerate() {
                assert_eq!(got, &want, "subscriber {n}: publisher {p}'s messages");
            }
            assert_frames(
                &format!("subscriber {n}: nothing more"),
                &conn.barrier(),
                &[],
            );
        }
    });
}

#[test]
fn shard_channel_fanout_reaches_every_shard_subscriber_in_order() {
    on_both("SPUBLISH to 20 subscribers", |t| {
        let subs: Vec<Conn> = (0..20)
            .map(|_| subscriber(t, "SSUBSCRIBE", &["sfeed"]))
            .collect();
        let mut publisher = t.conn();
        let got = publisher.call(&["PUBSUB", "SHARDNUMSUB", "sfeed"]);
        assert_frame("SHARDNUMSUB sfeed", &got, b"*2\r\n$5\r\nsfeed\r\n:20\r\n");
        let readers: Vec<_> = subs.into_iter().map(|c| drain(c, 500)).collect();
        for i in 0..500 {
            assert_eq!(
                publisher.int(&["SPUBLISH", "sfeed", &format!("m{i}")]),
                20,
                "#{i}"
            );
        }
        assert_eq!(
            publisher.int(&["PUBLISH", "sfeed", "x"]),
            0,
            "PUBLISH is not SPUBLISH"
        );
        let want: Vec<Vec<u8>> = (0..500)
            .map(|i| smessage(R2, b"sfeed", format!("m{i}").as_bytes()))
            .collect();
        for (n, reader) in readers.into_iter().enumerate() {
            let (mut conn, frames) = reader.join().expect("subscriber thread");
            assert_frames(&format!("shard subscriber {n}"), &frames, &want);
            assert_frames(
                &format!("subscriber {n}: nothing more"),
                &conn.barrier(),
                &[],
            );
        }
    });
}

/// Subscribers of each kind in the disconnect test.
const DROPPED_PER_KIND: usize = 8;

#[test]
fn dropped_subscribers_are_forgotten() {
    on_both("disconnect bookkeeping", |t| {
        let mut subs = Vec::new();
        for _ in 0..DROPPED_PER_KIND {
            subs.push(subscriber(t, "SUBSCRIBE", &["gone", "gone2"]));
            subs.push(subscriber(t, "PSUBSCRIBE", &["go*"]));
            subs.push(subscriber(t, "SSUBSCRIBE", &["gone"]));
        }
        let mut c = t.conn();
        let n = DROPPED_PER_KIND as i64;
        assert_eq!(c.int(&["PUBLISH", "gone", "x"]), 2 * n);
        assert_eq!(c.int(&["SPUBLISH", "gone", "x"]), n);
        // Some unread output when they go.
        for i in 0..100 {
            assert_eq!(c.int(&["PUBLISH", "gone2", &format!("unread {i}")]), 2 * n);
        }
        drop(subs);

        let counts = |c: &mut Conn| {
            let numsub = c.call(&["PUBSUB", "NUMSUB", "gone", "gone2"]);
            let shardnumsub = c.call(&["PUBSUB", "SHARDNUMSUB", "gone"]);
            (numsub, c.int(&["PUBSUB", "NUMPAT"]), shardnumsub)
        };
        let none = (
            b"*4\r\n$4\r\ngone\r\n:0\r\n$5\r\ngone2\r\n:0\r\n".to_vec(),
            0,
            b"*2\r\n$4\r\ngone\r\n:0\r\n".to_vec(),
        );
        wait_for("subscriptions of dropped connections removed", || {
            counts(&mut c) == none
        });
        assert_eq!(c.int(&["PUBLISH", "gone", "x"]), 0);
        assert_eq!(c.int(&["PUBLISH", "gone2", "x"]), 0);
        assert_eq!(c.int(&["SPUBLISH", "gone", "x"]), 0);
        assert_frame("CHANNELS", &c.call(&["PUBSUB", "CHANNELS"]), b"*0\r\n");
        assert_frame(
            "SHARDCHANNELS",
            &c.call(&["PUBSUB", "SHARDCHANNELS"]),
            b"*0\r\n",
        );
        assert_eq!(info_int(&mut c, "stats", "pubsub_channels"), 0);
        assert_eq!(info_int(&mut c, "stats", "pubsub_patterns"), 0);
        assert_eq!(info_int(&mut c, "stats", "pubsubshard_channels"), 0);
    });
}

#[test]
fn client_kill_removes_the_subscriptions() {
    on_both("CLIENT KILL a subscriber", |t| {
        let mut victim = t.conn();
        let id = victim.int(&["CLIENT", "ID"]).to_string();
        subscribe(&mut victim, "SUBSCRIBE", &["k1", "k2"], 1);
        subscribe(&mut victim, "PSUBSCRIBE", &["k*"], 3);
        subscribe(&mut victim, "SSUBSCRIBE", &["k1"], 1);
        let mut c = t.conn();
        assert_eq!(c.int(&["PUBLISH", "k1", "x"]), 2);
        assert_eq!(c.int(&["CLIENT", "KILL", "ID", &id]), 1);
        assert!(victim.read_until_closed().len() < 1024, "killed: closed");
        let none = b"*4\r\n$2\r\nk1\r\n:0\r\n$2\r\nk2\r\n:0\r\n".to_vec();
        wait_for("subscriptions of the killed client removed", || {
            c.call(&["PUBSUB", "NUMSUB", "k1", "k2"]) == none
                && c.int(&["PUBSUB", "NUMPAT"]) == 0
                && c.call(&["PUBSUB", "SHARDNUMSUB", "k1"]) == b"*2\r\n$2\r\nk1\r\n:0\r\n"
        });
        assert_eq!(c.int(&["PUBLISH", "k1", "x"]), 0);
        assert_eq!(c.int(&["SPUBLISH", "k1", "x"]), 0);
    });
}

/// Channels in one SUBSCRIBE in the many-channels test.
const MANY_CHANNELS: usize = 10_000;

#[test]
fn ten_thousand_channels_in_one_subscribe() {
    on_both("10000 channels", |t| {
        let names: Vec<String> = (0..MANY_CHANNELS).map(|i| format!("ch:{i}")).collect();
        let names: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        let mut sub = t.conn();
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend_from_slice(&names);
        sub.send(&args);
        let want = confirms(R2, "subscribe", &names, 1);
        assert_frames("confirmations", &sub.frames(MANY_CHANNELS), &want);

        let mut c = t.conn();
        let channels = sorted_bulks(&c.call(&["PUBSUB", "CHANNELS", "ch:*"]));
        let mut want: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
        want.sort();
        assert!(channels == want, "PUBSUB CHANNELS ch:* lists every channel");
        assert_eq!(
            info_int(&mut c, "stats", "pubsub_channels"),
            MANY_CHANNELS as i64
        );
        for i in (0..MANY_CHANNELS).step_by(997) {
            assert_eq!(c.int(&["PUBLISH", &format!("ch:{i}"), "x"]), 1, "ch:{i}");
        }
        let want: Vec<Vec<u8>> = (0..MANY_CHANNELS)
            .step_by(997)
            .map(|i| message(R2, format!("ch:{i}").as_bytes(), b"x"))
            .collect();
        sub.expect_frames("sampled messages", &want);

        sub.send(&["UNSUBSCRIBE"]);
        let got = sub.frames(MANY_CHANNELS);
        let count = MANY_CHANNELS as i64;
        assert_unsubscribe_all("UNSUBSCRIBE", R2, &got, "unsubscribe", &names, count - 1);
        assert_eq!(info_int(&mut c, "stats", "pubsub_channels"), 0);
        assert_frame("GET", &sub.call(&["GET", "x"]), b"$-1\r\n");
    });
}

/// Payload size in the slow-subscriber test, and the most messages it publishes (32 MB)
/// before declaring that the limit never closed the subscriber.
const BIG_PAYLOAD_BYTES: usize = 64 * 1024;
const MAX_BIG_MESSAGES: usize = 512;
/// How much more memory the server may hold once the slow subscriber is gone.
const MEMORY_SLACK_BYTES: i64 = 4 * 1024 * 1024;

/// Message `i` of the slow-subscriber test: its number, then filler.
fn big_payload(i: usize) -> Vec<u8> {
    let mut payload = format!("{i:08}").into_bytes();
    payload.resize(BIG_PAYLOAD_BYTES, b'.');
    payload
}

#[test]
fn a_subscriber_that_never_reads_is_closed_at_the_output_limit() {
    on_both("slow subscriber", |t| {
        let mut publisher = t.conn();
        let limit = [
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 256kb 2",
        ];
        assert_frame("CONFIG SET", &publisher.call(&limit), b"+OK\r\n");
        let memory_before = info_int(&mut publisher, "memory", "used_memory");

        // A 4 KB receive buffer, so the server's side fills up after a few messages.
        let mut slow = Conn::connect_small_rcvbuf(t.port, 4096);
        subscribe(&mut slow, "SUBSCRIBE", &["big"], 1);
        // A subscriber that keeps up, until the "end" message.
        let fast = subscriber(t, "SUBSCRIBE", &["big"]);
        let fast_reader = thread::spawn(move || {
            let mut fast = fast;
            let mut payloads = Vec::new();
            loop {
                let frame = fast.frame();
                let payload = Resp::parse(&frame).items()[2].clone();
                if payload == Resp::Bulk(b"end".to_vec()) {
                    return payloads;
                }
                payloads.push(frame);
            }
        });

        let mut published = 0;
        let mut closed = false;
        while published < MAX_BIG_MESSAGES && !closed {
            let receivers =
                publisher.int(&[b"PUBLISH".as_slice(), b"big", &big_payload(published)]);
            assert!(
                receivers == 1 || receivers == 2,
                "PUBLISH #{published}: {receivers}"
            );
            closed = receivers == 1;
            published += 1;
        }
        assert!(
            closed,
            "still subscribed after {published} messages of {BIG_PAYLOAD_BYTES} B"
        );
        assert_eq!(publisher.int(&["PUBLISH", "big", "end"]), 1);
        eprintln!(
            "{}: the slow subscriber was closed after {published} messages",
            t.name
        );

        let fast_got = fast_reader.join().expect("fast subscriber");
        let want: Vec<Vec<u8>> = (0..published)
            .map(|i| message(R2, b"big", &big_payload(i)))
            .collect();
        assert_frames("the subscriber that reads got everything", &fast_got, &want);

        // The slow one got a prefix of the same stream, then end of file.
        let got = slow.read_until_closed();
        let stream = want.concat();
        assert!(
            got.len() < stream.len(),
            "closed before all {published} messages"
        );
        if got[..] != stream[..got.len()] {
            let at = got.iter().zip(&stream).take_while(|(a, b)| a == b).count();
            panic!(
                "the slow subscriber's {} bytes differ from the stream at {at}",
                got.len()
            );
        }

        let mut grown = || info_int(&mut publisher, "memory", "used_memory") - memory_before;
        wait_for("memory back near where it was", || {
            grown() < MEMORY_SLACK_BYTES
        });
    });
}

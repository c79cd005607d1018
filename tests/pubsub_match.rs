//! Pub/sub matching and introspection, as Redis 7.0 does them: glob patterns (Redis's
//! `stringmatchlen`, quirks included), binary-safe channel names and payloads, PUBSUB
//! CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB, the INFO counters and the
//! CLIENT LIST fields of a subscribed client.
//!
//! Every test runs against redis-server 7.0.15 first and then corekv (`--shards 4`): see
//! tests/common/pubsub.rs.

mod common;
#[path = "common/pubsub.rs"]
mod pubsub_util;

use std::collections::BTreeSet;

use common::Resp;
use pubsub_util::*;

const R2: Proto = Proto::Resp2;

/// The channels the glob table is checked against.
const CHANNELS: &[&[u8]] = &[
    b"hello", b"hallo", b"hbllo", b"hcllo", b"h!llo", b"h-llo", b"h]llo", b"hllo", b"heello",
    b"news", b"news*", b"news.x", b"a?b", b"axb", b"]", b"a", b"-", b"x\\", b"x[", b"x[]",
    b"\0abc", b"he", b"h\\e", b"a\r\nb",
];

const H_ONE_CHAR_LLO: &[&[u8]] = &[
    b"hello", b"hallo", b"hbllo", b"hcllo", b"h!llo", b"h-llo", b"h]llo",
];

/// Each pattern with the channels of [`CHANNELS`] it matches, as redis-server 7.0.15 decides.
fn glob_table() -> Vec<(&'static [u8], Vec<&'static [u8]>)> {
    vec![
        (b"*", CHANNELS.to_vec()),
        (b"?", vec![b"]", b"a", b"-"]),
        (b"h?llo", H_ONE_CHAR_LLO.to_vec()),
        (b"h*llo", [H_ONE_CHAR_LLO, &[b"hllo", b"heello"]].concat()),
        (b"h[ae]llo", vec![b"hello", b"hallo"]),
        (b"h[^e]llo", H_ONE_CHAR_LLO[1..].to_vec()),
        // `!` does not negate a class in Redis: it is one more member.
        (b"h[!e]llo", vec![b"hello", b"h!llo"]),
        (b"h[a-c]llo", vec![b"hallo", b"hbllo", b"hcllo"]),
        // A reversed range is swapped.
        (b"h[c-a]llo", vec![b"hallo", b"hbllo", b"hcllo"]),
        (b"news\\*", vec![b"news*"]),
        (b"news*", vec![b"news", b"news*", b"news.x"]),
        (b"a\\?b", vec![b"a?b"]),
        (b"[\\]]", vec![b"]"]),
        (b"x\\\\", vec![b"x\\"]),
        // A trailing backslash matches itself.
        (b"x\\", vec![b"x\\"]),
        // An unterminated class ends with the pattern; `a-` at its end is no range.
        (b"[a-", vec![b"a", b"-"]),
        // An empty class matches nothing, terminated or not.
        (b"x[]", vec![]),
        (b"x[", vec![]),
        // `[^]` is an empty negated class: any one character.
        (b"h[^]llo", H_ONE_CHAR_LLO.to_vec()),
        (b"h\\e", vec![b"he"]),
        (b"\0*", vec![b"\0abc"]),
        (b"*\r\n*", vec![b"a\r\nb"]),
    ]
}

#[test]
fn glob_patterns_match_exactly_as_redis_matches_them() {
    on_both("glob patterns", |t| {
        let table = glob_table();
        let mut by_pattern = t.conn();
        let mut args: Vec<&[u8]> = vec![b"PSUBSCRIBE"];
        args.extend(table.iter().map(|(p, _)| *p));
        by_pattern.send(&args);
        let names: Vec<&[u8]> = table.iter().map(|(p, _)| *p).collect();
        let want = confirms(R2, "psubscribe", &names, 1);
        assert_frames(
            "PSUBSCRIBE every pattern",
            &by_pattern.frames(want.len()),
            &want,
        );
        // One connection on every channel, for PUBSUB CHANNELS <pattern>.
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend_from_slice(CHANNELS);
        let mut by_channel = t.conn();
        by_channel.send(&args);
        by_channel.frames(CHANNELS.len());

        let mut publisher = t.conn();
        let mut want = BTreeSet::new();
        for channel in CHANNELS {
            let matching: Vec<&[u8]> = table
                .iter()
                .filter(|(_, chans)| chans.contains(channel))
                .map(|(p, _)| *p)
                .collect();
            let receivers = publisher.int(&[b"PUBLISH", *channel, b"m"]);
            assert_eq!(
                receivers,
                matching.len() as i64 + 1,
                "PUBLISH {}: the channel subscriber and {:?}",
                esc(channel),
                matching.iter().map(|p| esc(p)).collect::<Vec<_>>()
            );
            want.extend(matching.iter().map(|p| pmessage(R2, p, channel, b"m")));
        }
        let got: BTreeSet<Vec<u8>> = by_pattern.frames(want.len()).into_iter().collect();
        let missing: Vec<String> = want.difference(&got).map(|f| esc(f)).collect();
        let extra: Vec<String> = got.difference(&want).map(|f| esc(f)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "pmessages missing: {missing:#?}\npmessages not expected: {extra:#?}"
        );
        assert_frames("no more pmessages", &by_pattern.barrier(), &[]);

        for (pattern, channels) in &table {
            let reply = publisher.call(&[b"PUBSUB".as_slice(), b"CHANNELS", pattern]);
            let mut want: Vec<Vec<u8>> = channels.iter().map(|c| c.to_vec()).collect();
            want.sort();
            let got = sorted_bulks(&reply);
            assert_eq!(
                got.iter().map(|c| esc(c)).collect::<Vec<_>>(),
                want.iter().map(|c| esc(c)).collect::<Vec<_>>(),
                "PUBSUB CHANNELS {}",
                esc(pattern)
            );
        }
        assert_eq!(publisher.int(&["PUBSUB", "NUMPAT"]), table.len() as i64);
    });
}

#[test]
fn channel_names_and_payloads_are_binary_safe() {
    on_both("binary safety", |t| {
        let channel: &[u8] = b"bin\0ch\r\nx";
        let payload: &[u8] = b"\0\r\n$3\r\n*1\r\n:1\r\n";
        let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        let mut sub = t.conn();
        sub.send(&[b"SUBSCRIBE".as_slice(), channel, b""]);
        let want = confirms(R2, "subscribe", &[channel, b""], 1);
        assert_frames("SUBSCRIBE binary and empty", &sub.frames(2), &want);
        let got = sub.call(&[b"PSUBSCRIBE".as_slice(), b"bin\0*"]);
        assert_frame(
            "PSUBSCRIBE bin\\0*",
            &got,
            &confirm(R2, "psubscribe", Some(b"bin\0*"), 3),
        );
        let got = sub.call(&[b"SSUBSCRIBE".as_slice(), channel]);
        assert_frame(
            "SSUBSCRIBE binary",
            &got,
            &confirm(R2, "ssubscribe", Some(channel), 1),
        );

        let mut publisher = t.conn();
        assert_eq!(publisher.int(&[b"PUBLISH".as_slice(), channel, payload]), 2);
        assert_eq!(publisher.int(&[b"PUBLISH".as_slice(), channel, &big]), 2);
        assert_eq!(publisher.int(&[b"PUBLISH".as_slice(), b"", b""]), 1);
        assert_eq!(
            publisher.int(&[b"SPUBLISH".as_slice(), channel, payload]),
            1
        );
        let want = vec![
            message(R2, channel, payload),
            pmessage(R2, b"bin\0*", channel, payload),
            message(R2, channel, &big),
            pmessage(R2, b"bin\0*", channel, &big),
            b"*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$0\r\n\r\n".to_vec(),
            smessage(R2, channel, payload),
        ];
        sub.expect_frames("binary frames", &want);

        let reply = publisher.call(&[b"PUBSUB".as_slice(), b"NUMSUB", channel, b""]);
        let mut want = b"*4\r\n".to_vec();
        for part in [bulk(channel), int(1), bulk(b""), int(1)] {
            want.extend(part);
        }
        assert_frame("PUBSUB NUMSUB binary", &reply, &want);
        let reply = publisher.call(&[b"PUBSUB".as_slice(), b"SHARDNUMSUB", channel]);
        let want = [b"*2\r\n".to_vec(), bulk(channel), int(1)].concat();
        assert_frame("PUBSUB SHARDNUMSUB binary", &reply, &want);
    });
}

#[test]
fn pubsub_subcommands_report_channels_subscribers_and_patterns() {
    on_both("PUBSUB introspection", |t| {
        let mut a = subscriber(t, "SUBSCRIBE", &["x", "y"]);
        subscribe(&mut a, "PSUBSCRIBE", &["p*", "q*"], 3);
        subscribe(&mut a, "SSUBSCRIBE", &["s1", "s2"], 1);
        let mut b = subscriber(t, "SUBSCRIBE", &["x"]);
        subscribe(&mut b, "PSUBSCRIBE", &["p*"], 2);
        subscribe(&mut b, "SSUBSCRIBE", &["s1"], 1);
        let mut c = t.conn();

        let got = sorted_bulks(&c.call(&["PUBSUB", "CHANNELS"]));
        assert_eq!(got, [b"x".to_vec(), b"y".to_vec()], "PUBSUB CHANNELS");
        assert_frame(
            "CHANNELS x*",
            &c.call(&["PUBSUB", "CHANNELS", "x*"]),
            b"*1\r\n$1\r\nx\r\n",
        );
        assert_frame(
            "CHANNELS s*",
            &c.call(&["PUBSUB", "CHANNELS", "s*"]),
            b"*0\r\n",
        );
        assert_frame("NUMSUB", &c.call(&["PUBSUB", "NUMSUB"]), b"*0\r\n");
        let got = c.call(&["PUBSUB", "NUMSUB", "x", "y", "z", "x", "s1"]);
        let want = b"*10\r\n$1\r\nx\r\n:2\r\n$1\r\ny\r\n:1\r\n$1\r\nz\r\n:0\r\n$1\r\nx\r\n:2\r\n\
                     $2\r\ns1\r\n:0\r\n";
        assert_frame("NUMSUB x y z x s1", &got, want);
        assert_frame(
            "NUMPAT: distinct patterns",
            &c.call(&["PUBSUB", "NUMPAT"]),
            b":2\r\n",
        );
        let got = sorted_bulks(&c.call(&["PUBSUB", "SHARDCHANNELS"]));
        assert_eq!(
            got,
            [b"s1".to_vec(), b"s2".to_vec()],
            "PUBSUB SHARDCHANNELS"
        );
        let got = c.call(&["PUBSUB", "SHARDCHANNELS", "*1"]);
        assert_frame("SHARDCHANNELS *1", &got, b"*1\r\n$2\r\ns1\r\n");
        let got = c.call(&["PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3", "x"]);
        let want = b"*8\r\n$2\r\ns1\r\n:2\r\n$2\r\ns2\r\n:1\r\n$2\r\ns3\r\n:0\r\n$1\r\nx\r\n:0\r\n";
        assert_frame("SHARDNUMSUB s1 s2 s3 x", &got, want);
        assert_frame(
            "SHARDNUMSUB",
            &c.call(&["PUBSUB", "SHARDNUMSUB"]),
            b"*0\r\n",
        );
        let got = c.call(&["pubsub", "numsub", "y"]);
        assert_frame("lower case", &got, b"*2\r\n$1\r\ny\r\n:1\r\n");

        // Unsubscribing removes channels and patterns nobody subscribes to any more.
        assert_frame("RESET a", &a.call(&["RESET"]), b"+RESET\r\n");
        assert_frame(
            "CHANNELS",
            &c.call(&["PUBSUB", "CHANNELS"]),
            b"*1\r\n$1\r\nx\r\n",
        );
        assert_frame("NUMPAT", &c.call(&["PUBSUB", "NUMPAT"]), b":1\r\n");
        let got = c.call(&["PUBSUB", "SHARDCHANNELS"]);
        assert_frame("SHARDCHANNELS", &got, b"*1\r\n$2\r\ns1\r\n");
        b.send(&["UNSUBSCRIBE"]);
        b.frame();
        b.send(&["PUNSUBSCRIBE"]);
        b.frame();
        b.send(&["SUNSUBSCRIBE"]);
        b.frame();
        assert_frame("CHANNELS", &c.call(&["PUBSUB", "CHANNELS"]), b"*0\r\n");
        assert_frame("NUMPAT", &c.call(&["PUBSUB", "NUMPAT"]), b":0\r\n");
        assert_frame(
            "SHARDCHANNELS",
            &c.call(&["PUBSUB", "SHARDCHANNELS"]),
            b"*0\r\n",
        );
    });
}

#[test]
fn pubsub_subcommand_errors_and_help() {
    on_both("PUBSUB errors and HELP", |t| {
        let mut c = t.conn();
        let want = error("ERR unknown subcommand 'FOO'. Try PUBSUB HELP.");
        assert_frame("PUBSUB FOO", &c.call(&["PUBSUB", "FOO"]), &want);
        let help = c.call(&["PUBSUB", "HELP"]);
        assert_frame("PUBSUB HELP", &help, PUBSUB_HELP);
        for sub in ["CHANNELS", "SHARDCHANNELS"] {
            let want = error(&format!(
                "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."
            ));
            assert_frame(
                &format!("{sub} x y"),
                &c.call(&["PUBSUB", sub, "x", "y"]),
                &want,
            );
        }
    });
}

const PUBSUB_HELP: &[u8] = b"*14\r\n\
+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
+CHANNELS [<pattern>]\r\n\
+    Return the currently active channels matching a <pattern> (default: '*').\r\n\
+NUMPAT\r\n\
+    Return number of subscriptions to patterns.\r\n\
+NUMSUB [<channel> ...]\r\n\
+    Return the number of subscribers for the specified channels, excluding\r\n\
+    pattern subscriptions(default: no channels).\r\n\
+SHARDCHANNELS [<pattern>]\r\n\
+    Return the currently active shard level channels matching a <pattern> (default: '*').\r\n\
+SHARDNUMSUB [<shardchannel> ...]\r\n\
+    Return the number of subscribers for the specified shard level channel(s)\r\n\
+HELP\r\n\
+    Prints this help.\r\n";

#[test]
fn info_stats_count_channels_patterns_and_shard_channels() {
    on_both("INFO stats", |t| {
        let mut c = t.conn();
        let counts = |c: &mut Conn| {
            [
                info_int(c, "stats", "pubsub_channels"),
                info_int(c, "stats", "pubsub_patterns"),
                info_int(c, "stats", "pubsubshard_channels"),
            ]
        };
        assert_eq!(counts(&mut c), [0, 0, 0]);
        let mut a = subscriber(t, "SUBSCRIBE", &["x", "y"]);
        subscribe(&mut a, "PSUBSCRIBE", &["p*", "q*"], 3);
        subscribe(&mut a, "SSUBSCRIBE", &["s1", "s2", "s3"], 1);
        let mut b = subscriber(t, "SUBSCRIBE", &["x", "z"]);
        subscribe(&mut b, "PSUBSCRIBE", &["p*"], 3);
        subscribe(&mut b, "SSUBSCRIBE", &["s1"], 1);
        // Distinct names, however many subscribers each has.
        assert_eq!(counts(&mut c), [3, 2, 3]);
        assert_frame("RESET a", &a.call(&["RESET"]), b"+RESET\r\n");
        assert_eq!(counts(&mut c), [2, 1, 1]);
        assert_frame("RESET b", &b.call(&["RESET"]), b"+RESET\r\n");
        assert_eq!(counts(&mut c), [0, 0, 0]);
    });
}

/// `flags`, `sub`, `psub` and `ssub` of a CLIENT LIST / CLIENT INFO line.
fn sub_fields(line: &str) -> Vec<String> {
    let wanted = ["flags", "sub", "psub", "ssub"];
    let fields: Vec<String> = line
        .split_whitespace()
        .filter(|f| wanted.iter().any(|w| f.split('=').next() == Some(w)))
        .map(String::from)
        .collect();
    assert_eq!(fields.len(), wanted.len(), "fields of {line}");
    fields
}

/// The `id=` values of a CLIENT LIST reply.
fn listed_ids(reply: &[u8]) -> Vec<String> {
    Resp::parse(reply)
        .text()
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.strip_prefix("id="))
        .map(String::from)
        .collect()
}

#[test]
fn client_list_shows_subscription_counts_and_flag_p() {
    on_both("CLIENT LIST", |t| {
        let mut sub = t.conn();
        let id = sub.int(&["CLIENT", "ID"]).to_string();
        subscribe(&mut sub, "SUBSCRIBE", &["x", "y"], 1);
        subscribe(&mut sub, "PSUBSCRIBE", &["p*"], 3);
        subscribe(&mut sub, "SSUBSCRIBE", &["s1", "s2", "s3"], 1);
        let mut c = t.conn();
        let list = |c: &mut Conn| {
            let reply = c.call(&["CLIENT", "LIST", "ID", &id]);
            sub_fields(&Resp::parse(&reply).text())
        };
        assert_eq!(list(&mut c), ["flags=P", "sub=2", "psub=1", "ssub=3"]);
        let pubsub_clients = c.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        assert_eq!(
            listed_ids(&pubsub_clients),
            std::slice::from_ref(&id),
            "CLIENT LIST TYPE pubsub"
        );
        let normal_clients = c.call(&["CLIENT", "LIST", "TYPE", "normal"]);
        assert!(!listed_ids(&normal_clients).contains(&id), "TYPE normal");

        assert_frame("RESET", &sub.call(&["RESET"]), b"+RESET\r\n");
        assert_eq!(list(&mut c), ["flags=N", "sub=0", "psub=0", "ssub=0"]);
        let pubsub_clients = c.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        assert!(
            listed_ids(&pubsub_clients).is_empty(),
            "TYPE pubsub after RESET"
        );

        // A RESP3 subscriber may ask about itself.
        let mut sub3 = t.conn3();
        subscribe(&mut sub3, "SUBSCRIBE", &["x"], 1);
        let info = Resp::parse(&sub3.call(&["CLIENT", "INFO"])).text();
        assert_eq!(sub_fields(&info), ["flags=P", "sub=1", "psub=0", "ssub=0"]);
    });
}

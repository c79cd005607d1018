//! The `pubsub` summary, the failures, and the `RESULT` line (or one JSON object).

use serde_json::json;

use crate::PubsubArgs;
use crate::latency::Percentiles;
use crate::{publisher, reader};

/// How many failure descriptions are printed.
const MAX_ERRORS_SHOWN: usize = 10;

fn per_second(count: u64, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        count as f64 * 1e9 / ns as f64
    }
}

/// A line of the text report: stdout, or stderr when stdout carries the JSON.
pub fn say(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Prints the results; true when every check passed.
pub fn print(args: &PubsubArgs, run: &publisher::Run, readers: &[reader::Report]) -> bool {
    let mut errors: Vec<String> = Vec::new();
    let mut wrong_replies = 0;
    for publisher in &run.publishers {
        match publisher {
            Ok(r) => {
                wrong_replies += r.wrong_replies;
                errors.extend(r.first_wrong_reply.clone());
            }
            Err(e) => errors.push(e.clone()),
        }
    }
    let mut stats = reader::Stats::new();
    let mut complete = 0;
    let mut delivered = 0u64;
    for reader in readers {
        stats.add(&reader.stats);
        for (index, received, error) in &reader.subscribers {
            delivered += received;
            match error {
                None => complete += 1,
                Some(why) => errors.push(format!("subscriber {index}: {why}")),
            }
        }
    }
    let latency = Percentiles::of(&stats.latency_ns);
    let last_delivery_ns = stats.last_delivery_ns.max(run.start_ns);
    let publish_ns = run.end_ns.saturating_sub(run.start_ns);
    let deliver_ns = last_delivery_ns.saturating_sub(run.start_ns);
    let msg_per_s = per_second(args.messages, publish_ns);
    let deliveries_per_s = per_second(delivered, deliver_ns);
    let (messages, subscribers) = (args.messages, args.subscribers);
    let say = |line: String| say(args.json, &line);
    let publish_s = publish_ns as f64 / 1e9;
    say(format!(
        "publish: {messages} messages in {publish_s:.3} s = {msg_per_s:.0} msg/s; replies != {subscribers}: {wrong_replies}"
    ));
    let deliver_s = deliver_ns as f64 / 1e9;
    say(format!(
        "deliver: {delivered} deliveries in {deliver_s:.3} s = {deliveries_per_s:.0} deliveries/s"
    ));
    // How the server batched its writes, as the subscribers saw it.
    let per_read = delivered as f64 / stats.reads.max(1) as f64;
    let bytes_per_read = stats.read_bytes / stats.reads.max(1);
    let (reads, wakeups) = (stats.reads, stats.wakeups);
    say(format!(
        "reads: {reads} ({per_read:.1} messages, {bytes_per_read} bytes each); epoll wakeups: {wakeups}"
    ));
    say(format!(
        "latency us: {}  ({} samples)",
        latency.text_us(),
        latency.count
    ));
    say(format!(
        "check: {complete}/{subscribers} subscribers received all {messages} messages in order"
    ));
    for why in errors.iter().take(MAX_ERRORS_SHOWN) {
        say(format!("FAIL {why}"));
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        say(format!(
            "FAIL ... and {} more",
            errors.len() - MAX_ERRORS_SHOWN
        ));
    }
    let ok = errors.is_empty() && wrong_replies == 0 && complete == subscribers;
    let us = |ns: u64| ns as f64 / 1e3;
    say(format!(
        "RESULT ok={} subscribers={subscribers} publishers={} messages={messages} payload={} msg_per_s={msg_per_s:.0} deliveries_per_s={deliveries_per_s:.0} p50_us={:.1} p99_us={:.1} max_us={:.1} msgs_per_read={per_read:.1}",
        u8::from(ok),
        args.publishers,
        args.payload,
        us(latency.p50_ns),
        us(latency.p99_ns),
        us(latency.max_ns),
    ));
    if args.json {
        let report = json!({
            "tool": "corekv-bench pubsub",
            "ok": ok,
            "subscribers": subscribers,
            "publishers": args.publishers,
            "messages": messages,
            "payload_bytes": args.payload,
            "window": args.window,
            "resp": args.resp,
            "publish_s": publish_s,
            "msg_per_sec": msg_per_s,
            "deliveries": delivered,
            "deliveries_per_sec": deliveries_per_s,
            "wrong_replies": wrong_replies,
            "complete_subscribers": complete,
            "latency_us": latency.json_us(),
            "msgs_per_read": per_read,
            "failures": errors.iter().take(MAX_ERRORS_SHOWN).collect::<Vec<_>>(),
        });
        println!("{report}");
    }
    ok
}

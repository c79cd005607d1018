//! The summary, the failures, and the `RESULT` line.

use crate::PubsubArgs;
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

fn micros(ns: u64) -> f64 {
    ns as f64 / 1000.0
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
    let latency = &stats.latency_ns;
    let last_delivery_ns = stats.last_delivery_ns.max(run.start_ns);
    let publish_ns = run.end_ns.saturating_sub(run.start_ns);
    let deliver_ns = last_delivery_ns.saturating_sub(run.start_ns);
    let msg_per_s = per_second(args.messages, publish_ns);
    let deliveries_per_s = per_second(delivered, deliver_ns);
    let (messages, subscribers) = (args.messages, args.subscribers);
    let publish_s = publish_ns as f64 / 1e9;
    println!(
        "publish: {messages} messages in {publish_s:.3} s = {msg_per_s:.0} msg/s; replies != {subscribers}: {wrong_replies}"
    );
    let deliver_s = deliver_ns as f64 / 1e9;
    println!(
        "deliver: {delivered} deliveries in {deliver_s:.3} s = {deliveries_per_s:.0} deliveries/s"
    );
    // How the server batched its writes, as the subscribers saw it.
    let per_read = delivered as f64 / stats.reads.max(1) as f64;
    let bytes_per_read = stats.read_bytes / stats.reads.max(1);
    let (reads, wakeups) = (stats.reads, stats.wakeups);
    println!(
        "reads: {reads} ({per_read:.1} messages, {bytes_per_read} bytes each); epoll wakeups: {wakeups}"
    );
    let q = |quantile: f64| micros(latency.value_at_quantile(quantile));
    let (p50, p90, p99, p999, max) = (q(0.5), q(0.9), q(0.99), q(0.999), micros(latency.max()));
    let samples = latency.len();
    println!(
        "latency us: p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  ({samples} samples)"
    );
    println!(
        "check: {complete}/{subscribers} subscribers received all {messages} messages in order"
    );
    for why in errors.iter().take(MAX_ERRORS_SHOWN) {
        println!("FAIL {why}");
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        println!("FAIL ... and {} more", errors.len() - MAX_ERRORS_SHOWN);
    }
    let ok = errors.is_empty() && wrong_replies == 0 && complete == subscribers;
    println!(
        "RESULT ok={} subscribers={subscribers} publishers={} messages={messages} payload={} msg_per_s={msg_per_s:.0} deliveries_per_s={deliveries_per_s:.0} p50_us={p50:.1} p99_us={p99:.1} max_us={max:.1} msgs_per_read={per_read:.1}",
        u8::from(ok),
        args.publishers,
        args.payload,
    );
    ok
}

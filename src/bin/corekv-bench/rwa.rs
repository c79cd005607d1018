//! `corekv-bench rwa`: delivery throughput of the `/rwa` WebSocket dialect (redis_websocket_api)
//! with a bounding-box filter active on every subscriber.
//!
//! 1. N WebSocket connections to `ws://host:ws-port/rwa`; each reads the open envelope, sends
//!    `BBOX l b r t` (then `PROJECTION crs` with `--projection`), `SUB channel` and `PING`,
//!    and waits for the PONG (so its subscription is counted) before the next connects.
//! 2. `PUBSUB NUMSUB channel` over RESP must say N.
//! 3. A few reader threads take the subscribers, nonblocking, each in an epoll loop.
//! 4. K publishers over RESP send M GeoJSON points (`--window` in flight each): a message's
//!    even sequence numbers lie strictly inside the box, odd ones outside. Every PUBLISH reply
//!    must be N (the filter runs at delivery; every subscriber is counted).
//! 5. Each message carries its send time, publisher and sequence number in its properties.
//!    A reader records receive time − send time (one monotonic clock) in an hdrhistogram and
//!    checks that each publisher's inside points arrive as 0, 2, 4, ... and no outside point
//!    ever does.
//!
//! Exit 0 when every check passed, 1 when one failed, 2 when the run could not start. The last
//! line is `RESULT key=value ...` (benches/rwa.sh). Only loopback targets are accepted.
//!
//! WebSocket framing is written out here (client frames masked, RFC 6455 §5), so this tool
//! shares no code with the server it measures.

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;

mod reader;
mod wire;

use reader::{Expect, ReaderReport, Subscriber, read_loop};
use wire::{Resp, subscribe};

#[derive(Args, Debug, Clone)]
pub struct RwaArgs {
    /// Server host; must resolve to loopback addresses only.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// RESP port (publishers, PUBSUB NUMSUB).
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// WebSocket port (`/rwa` subscribers).
    #[arg(long, default_value_t = 8379)]
    ws_port: u16,
    /// `/rwa` subscriber connections, all with the same box on one channel.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// PUBLISH commands in all (half inside the box).
    #[arg(long, default_value_t = 20_000)]
    messages: u64,
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// PUBLISH commands each publisher keeps in flight.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// The box: left bottom right top (degrees).
    #[arg(long, default_value = "5 45 15 55", allow_hyphen_values = true)]
    bbox: String,
    /// Also `PROJECTION` (after BBOX, so the box stays in degrees), e.g. epsg:3857.
    #[arg(long)]
    projection: Option<String>,
    /// Reader threads (0: one per 500 subscribers, at most the CPU count).
    #[arg(long, default_value_t = 0)]
    reader_threads: usize,
    #[arg(long, default_value = "bench:rwa")]
    channel: String,
    /// Limit for the whole run, in seconds; exceeding it fails the run.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

const MAX_SUBSCRIBERS: usize = 10_000;
const MAX_PUBLISHERS: usize = 64;
const MAX_WINDOW: usize = 1024;
/// Largest frame a subscriber accepts (an envelope is about 250 bytes).
const MAX_FRAME_BYTES: usize = 64 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const DRAIN_GRACE: Duration = Duration::from_secs(5);
const LATENCY_MAX_NS: u64 = 600_000_000_000;

/// The clock, stop conditions and failure flag every thread shares.
struct Shared {
    base: Instant,
    deadline_ns: u64,
    drain_deadline_ns: AtomicU64,
    abort: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn expired(&self) -> bool {
        let now = self.now_ns();
        now > self.deadline_ns
            || now > self.drain_deadline_ns.load(Ordering::Relaxed)
            || self.abort.load(Ordering::Relaxed)
    }
}

/// Ok(true): every check passed; Ok(false): a check failed; Err: the run could not start.
pub fn run(args: &RwaArgs) -> Result<bool, String> {
    let bbox = parse_bbox(&args.bbox)?;
    if !(1..=MAX_SUBSCRIBERS).contains(&args.subscribers)
        || !(1..=MAX_PUBLISHERS).contains(&args.publishers)
        || !(1..=MAX_WINDOW).contains(&args.window)
        || args.messages < 2 * args.publishers as u64
    {
        return Err(format!(
            "need 1..={MAX_SUBSCRIBERS} subscribers, 1..={MAX_PUBLISHERS} publishers, a window of 1..={MAX_WINDOW}, and at least 2 messages per publisher"
        ));
    }
    let resp_addr = loopback(&args.host, args.port)?;
    let ws_addr = loopback(&args.host, args.ws_port)?;
    raise_open_files_limit((args.subscribers + args.publishers + 64) as u64)?;
    let shared = Arc::new(Shared {
        base: Instant::now(),
        deadline_ns: args.timeout_s.saturating_mul(1_000_000_000),
        drain_deadline_ns: AtomicU64::new(u64::MAX),
        abort: AtomicBool::new(false),
    });
    let per_publisher: Vec<u64> = (0..args.publishers as u64)
        .map(|p| {
            let k = args.publishers as u64;
            args.messages / k + u64::from(p < args.messages % k)
        })
        .collect();
    // Even sequence numbers are inside.
    let inside_per_publisher: Vec<u64> = per_publisher.iter().map(|n| n.div_ceil(2)).collect();
    let threads = if args.reader_threads > 0 {
        args.reader_threads.min(args.subscribers)
    } else {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        args.subscribers.div_ceil(500).clamp(1, cpus)
    };
    println!(
        "corekv-bench rwa: resp {resp_addr} ws {ws_addr}/rwa subscribers={} publishers={} messages={} window={} bbox=[{}] projection={} reader_threads={threads}",
        args.subscribers,
        args.publishers,
        args.messages,
        args.window,
        args.bbox,
        args.projection.as_deref().unwrap_or("none"),
    );
    let setup = Instant::now();
    let mut subs = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let stream = subscribe(&ws_addr, args).map_err(|e| format!("subscriber {i}: {e}"))?;
        subs.push(Subscriber::new(stream, args.publishers));
    }
    let mut admin = Resp::connect(&resp_addr)?;
    let numsub = admin.numsub(&args.channel)?;
    println!(
        "setup: {} /rwa subscribers in {} ms; PUBSUB NUMSUB {} = {numsub}",
        args.subscribers,
        setup.elapsed().as_millis(),
        args.channel
    );
    if numsub != args.subscribers as i64 {
        return Err(format!(
            "PUBSUB NUMSUB says {numsub}, not {}",
            args.subscribers
        ));
    }
    let mut shares: Vec<Vec<Subscriber>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, s) in subs.into_iter().enumerate() {
        shares[i % threads].push(s);
    }
    let expect = Arc::new(Expect {
        inside: inside_per_publisher.clone(),
        prefix: format!(
            "{{\"source\": \"{}\", \"content\": {{\"type\": \"Feature\", \"properties\": {{\"t\": ",
            args.channel
        )
        .into_bytes(),
    });
    let readers: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (shared, expect) = (Arc::clone(&shared), Arc::clone(&expect));
            thread::spawn(move || read_loop(share, &expect, &shared))
        })
        .collect();
    let publish = publish_all(&resp_addr, args, bbox, &per_publisher, &shared);
    let grace_ns = u64::try_from(DRAIN_GRACE.as_nanos()).unwrap_or(u64::MAX);
    shared
        .drain_deadline_ns
        .store(shared.now_ns().saturating_add(grace_ns), Ordering::Relaxed);
    let reports: Vec<ReaderReport> = readers
        .into_iter()
        .map(|h| h.join().expect("reader thread panicked"))
        .collect();
    Ok(report(
        args,
        &publish?,
        &reports,
        inside_per_publisher.iter().sum(),
    ))
}

fn parse_bbox(text: &str) -> Result<[f64; 4], String> {
    let n: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--bbox '{text}': four numbers"))?;
    match n.as_slice() {
        &[l, b, r, t] if l < r && b < t => Ok([l, b, r, t]),
        _ => Err(format!(
            "--bbox '{text}': left bottom right top, left < right, bottom < top"
        )),
    }
}

fn loopback(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .collect();
    match addrs.first() {
        Some(a) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*a),
        _ => Err(format!("{host}: only loopback targets are allowed")),
    }
}

fn raise_open_files_limit(wanted: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit / setrlimit read or write only `limit`, which we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(format!("getrlimit: {}", io::Error::last_os_error()));
        }
        if limit.rlim_cur >= wanted {
            return Ok(());
        }
        if limit.rlim_max < wanted {
            return Err(format!(
                "{wanted} open files needed; hard limit {}",
                limit.rlim_max
            ));
        }
        limit.rlim_cur = wanted;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(format!("setrlimit: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// A point strictly inside the box for even `seq`, to its right (outside) for odd ones.
fn payload(out: &mut Vec<u8>, bbox: [f64; 4], sent_ns: u64, publisher: usize, seq: u64) {
    let [l, b, r, t] = bbox;
    let frac = ((seq.wrapping_mul(7919) % 1000) as f64 + 1.0) / 1002.0;
    let y = b + (t - b) * frac;
    let x = if seq.is_multiple_of(2) {
        l + (r - l) * frac
    } else {
        r + 1.0 + frac
    };
    out.clear();
    out.extend_from_slice(
        format!(
            "{{\"type\": \"Feature\", \"properties\": {{\"t\": {sent_ns}, \"p\": {publisher}, \"s\": {seq}}}, \"geometry\": {{\"type\": \"Point\", \"coordinates\": [{x:.6}, {y:.6}]}}}}"
        )
        .as_bytes(),
    );
}

struct PublishRun {
    start_ns: u64,
    end_ns: u64,
    wrong_replies: u64,
    errors: Vec<String>,
}

fn publish_all(
    addr: &SocketAddr,
    args: &RwaArgs,
    bbox: [f64; 4],
    per_publisher: &[u64],
    shared: &Arc<Shared>,
) -> Result<PublishRun, String> {
    let conns = (0..args.publishers)
        .map(|_| Resp::connect(addr))
        .collect::<Result<Vec<_>, _>>()?;
    let barrier = Arc::new(Barrier::new(args.publishers + 1));
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(id, mut conn)| {
            let (barrier, shared) = (Arc::clone(&barrier), Arc::clone(shared));
            let (count, window, n) = (per_publisher[id], args.window, args.subscribers as i64);
            let channel = args.channel.clone();
            thread::spawn(move || -> Result<(u64, u64), String> {
                barrier.wait();
                let (mut sent, mut acked, mut wrong) = (0u64, 0u64, 0u64);
                let (mut out, mut body) = (Vec::new(), Vec::new());
                while acked < count {
                    if shared.abort.load(Ordering::Relaxed) {
                        return Err(format!("publisher {id}: aborted"));
                    }
                    out.clear();
                    while sent < count && sent - acked < window as u64 {
                        payload(&mut body, bbox, shared.now_ns(), id, sent);
                        Resp::encode(&mut out, &[b"PUBLISH", channel.as_bytes(), &body]);
                        sent += 1;
                    }
                    conn.stream
                        .write_all(&out)
                        .map_err(|e| format!("publisher {id}: {e}"))?;
                    while acked < sent {
                        let line = conn.line().map_err(|e| format!("publisher {id}: {e}"))?;
                        wrong += u64::from(line != format!(":{n}"));
                        acked += 1;
                    }
                }
                Ok((shared.now_ns(), wrong))
            })
        })
        .collect();
    let start_ns = shared.now_ns();
    barrier.wait();
    let mut run = PublishRun {
        start_ns,
        end_ns: start_ns,
        wrong_replies: 0,
        errors: Vec::new(),
    };
    for h in handles {
        match h.join().expect("publisher thread panicked") {
            Ok((end, wrong)) => {
                run.end_ns = run.end_ns.max(end);
                run.wrong_replies += wrong;
            }
            Err(e) => {
                shared.abort.store(true, Ordering::Relaxed);
                run.errors.push(e);
            }
        }
    }
    Ok(run)
}

fn report(args: &RwaArgs, run: &PublishRun, readers: &[ReaderReport], wanted: u64) -> bool {
    let mut latency = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("bounds");
    let (mut delivered, mut complete, mut last_ns) = (0u64, 0usize, run.start_ns);
    let mut errors = run.errors.clone();
    for r in readers {
        latency.add(&r.latency_ns).expect("same bounds");
        last_ns = last_ns.max(r.last_delivery_ns);
        for (received, error) in &r.subscribers {
            delivered += received;
            match error {
                None => complete += 1,
                Some(e) => errors.push(e.clone()),
            }
        }
    }
    let secs = |ns: u64| ns as f64 / 1e9;
    let publish_s = secs(run.end_ns.saturating_sub(run.start_ns)).max(1e-9);
    let deliver_s = secs(last_ns.saturating_sub(run.start_ns)).max(1e-9);
    let msg_per_s = args.messages as f64 / publish_s;
    let deliveries_per_s = delivered as f64 / deliver_s;
    let filtered = (args.messages - wanted) * args.subscribers as u64;
    println!(
        "publish: {} messages in {publish_s:.3} s = {msg_per_s:.0} msg/s; replies != {}: {}",
        args.messages, args.subscribers, run.wrong_replies
    );
    println!(
        "deliver: {delivered} deliveries in {deliver_s:.3} s = {deliveries_per_s:.0} deliveries/s (+{filtered} filtered out by the box)"
    );
    let q = |x: f64| latency.value_at_quantile(x) as f64 / 1000.0;
    let (p50, p90, p99, p999, max) = (
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        latency.max() as f64 / 1000.0,
    );
    println!(
        "latency us: p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  ({} samples)",
        latency.len()
    );
    println!(
        "check: {complete}/{} subscribers received exactly the {wanted} inside messages, in order",
        args.subscribers
    );
    for e in errors.iter().take(10) {
        println!("FAIL {e}");
    }
    let ok = errors.is_empty() && run.wrong_replies == 0 && complete == args.subscribers;
    println!(
        "RESULT ok={} subscribers={} publishers={} messages={} msg_per_s={msg_per_s:.0} deliveries_per_s={deliveries_per_s:.0} p50_us={p50:.1} p99_us={p99:.1} max_us={max:.1}",
        u8::from(ok),
        args.subscribers,
        args.publishers,
        args.messages,
    );
    ok
}

//! The `pubsub` benchmark: checks, setup, and the run from subscribe to report.

use crate::PubsubArgs;
use crate::conn::Conn;
use crate::resp::Frame;
use crate::run::{Clock, Control};
use crate::{publisher, reader, report};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Payload header: send time (u64 ns), publisher id (u32), sequence number (u64), LE.
pub const PAYLOAD_HEADER_BYTES: usize = 8 + 4 + 8;
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
const MAX_SUBSCRIBERS: usize = 10_000;
const MAX_PUBLISHERS: usize = 64;
const MAX_WINDOW: usize = 1024;
const MAX_CHANNEL_BYTES: usize = 256;
/// Subscribers one reader thread serves by default: threads only pay where cores are
/// spare, and on a small machine the server under test needs them.
const SUBSCRIBERS_PER_READER: usize = 500;
const NUMSUB_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long the channel may take to lose an earlier run's subscribers.
const LEFTOVER_WAIT: Duration = Duration::from_secs(5);
/// After the last PUBLISH reply, how long readers wait for missing deliveries.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// What every subscriber must receive.
#[derive(Clone)]
pub struct Expect {
    pub channel: Vec<u8>,
    pub payload_bytes: usize,
    /// Messages from each publisher, indexed by publisher id.
    pub per_publisher: Vec<u64>,
    pub messages: u64,
}

/// Ok(true): every check passed; Ok(false): a check failed; Err: the run could not start.
pub fn run(args: &PubsubArgs) -> Result<bool, String> {
    validate(args)?;
    let addr = loopback_addr(&args.host, args.port)?;
    // Subscribers, publishers, the admin connection, stdio, epoll sets and some slack.
    raise_open_files_limit((args.subscribers + args.publishers + 64) as u64)?;
    let control = Arc::new(Control::new(
        Clock::start(),
        Duration::from_secs(args.timeout_s),
    ));
    let expect = Expect {
        channel: args.channel.as_bytes().to_vec(),
        payload_bytes: args.payload,
        per_publisher: (0..args.publishers)
            .map(|p| messages_of(p, args.messages, args.publishers))
            .collect(),
        messages: args.messages,
    };
    let threads = reader_thread_count(args);
    report::say(
        args.json,
        &format!(
            "corekv-bench pubsub: {addr} subscribers={} publishers={} messages={} payload={}B window={} resp={} reader_threads={threads}",
            args.subscribers, args.publishers, args.messages, args.payload, args.window, args.resp
        ),
    );

    let mut admin = Conn::connect(&addr, args.resp, &control)?;
    wait_for_empty_channel(&mut admin, &args.channel, &control)?;
    let setup_start = Instant::now();
    let subscribers = subscribe_all(&addr, args, &expect, &control)?;
    let seen = wait_for_numsub(
        &mut admin,
        &expect.channel,
        args.subscribers as i64,
        &control,
    )?;
    let setup_ms = setup_start.elapsed().as_millis();
    report::say(
        args.json,
        &format!(
            "setup: {} subscribers in {setup_ms} ms; PUBSUB NUMSUB {} = {seen}",
            args.subscribers, args.channel
        ),
    );

    let readers = reader::spawn(subscribers, threads, &expect, &control);
    let run = publisher::run_all(&addr, args, &expect, &control);
    control.start_drain(DRAIN_GRACE);
    let reports: Vec<reader::Report> = readers
        .into_iter()
        .map(|h| h.join().expect("reader thread panicked"))
        .collect();
    Ok(report::print(args, &run?, &reports))
}

pub fn messages_of(publisher: usize, messages: u64, publishers: usize) -> u64 {
    let publishers = publishers as u64;
    messages / publishers + u64::from((publisher as u64) < messages % publishers)
}

fn validate(args: &PubsubArgs) -> Result<(), String> {
    let checks = [
        (
            (1..=MAX_SUBSCRIBERS).contains(&args.subscribers),
            format!("--subscribers must be 1..={MAX_SUBSCRIBERS}"),
        ),
        (
            (1..=MAX_PUBLISHERS).contains(&args.publishers),
            format!("--publishers must be 1..={MAX_PUBLISHERS}"),
        ),
        (
            (1..=MAX_WINDOW).contains(&args.window),
            format!("--window must be 1..={MAX_WINDOW}"),
        ),
        (
            (PAYLOAD_HEADER_BYTES..=MAX_PAYLOAD_BYTES).contains(&args.payload),
            format!("--payload must be {PAYLOAD_HEADER_BYTES}..={MAX_PAYLOAD_BYTES}"),
        ),
        (
            args.messages >= args.publishers as u64,
            "--messages must be at least --publishers".to_string(),
        ),
        (
            !args.channel.is_empty() && args.channel.len() <= MAX_CHANNEL_BYTES,
            format!("--channel must be 1..={MAX_CHANNEL_BYTES} bytes"),
        ),
        (
            args.timeout_s >= 1,
            "--timeout-s must be at least 1".to_string(),
        ),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, message)) => Err(message),
        None => Ok(()),
    }
}

/// The target's address; anything but loopback is refused (this tool generates load).
pub fn loopback_addr(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .collect();
    match addrs.first() {
        None => Err(format!("{host} resolves to no address")),
        Some(_) if addrs.iter().any(|a| !a.ip().is_loopback()) => Err(format!(
            "{host} is not a loopback address: only loopback targets are allowed"
        )),
        Some(addr) => Ok(*addr),
    }
}

/// Raises the soft open-files limit to `wanted` if it is lower (1000 subscribers need it).
pub fn raise_open_files_limit(wanted: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into `limit`, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    if limit.rlim_cur >= wanted {
        return Ok(());
    }
    if limit.rlim_max < wanted {
        let hard = limit.rlim_max;
        return Err(format!(
            "{wanted} open files are needed; the hard limit is {hard} (ulimit -Hn)"
        ));
    }
    limit.rlim_cur = wanted;
    // SAFETY: setrlimit only reads `limit`.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// `--reader-threads`, or one per `SUBSCRIBERS_PER_READER` subscribers, at most one per CPU.
pub fn reader_thread_count(args: &PubsubArgs) -> usize {
    if args.reader_threads > 0 {
        return args.reader_threads.min(args.subscribers);
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    args.subscribers
        .div_ceil(SUBSCRIBERS_PER_READER)
        .clamp(1, cpus)
}

fn numsub(admin: &mut Conn, channel: &[u8], control: &Control) -> Result<i64, String> {
    let reply = admin.call(&[b"PUBSUB", b"NUMSUB", channel], control)?;
    match reply.items() {
        Some([Frame::Bulk(name), Frame::Int(n)]) if name == channel => Ok(*n),
        _ => Err(format!(
            "PUBSUB NUMSUB {} replied {}",
            String::from_utf8_lossy(channel),
            reply.describe()
        )),
    }
}

/// Subscribers of an earlier run may still be leaving (a server notices a closed
/// connection when it next polls it): give them a moment, then refuse a shared channel.
fn wait_for_empty_channel(
    admin: &mut Conn,
    channel: &str,
    control: &Control,
) -> Result<(), String> {
    let deadline = Instant::now() + LEFTOVER_WAIT;
    loop {
        let subscribers = numsub(admin, channel.as_bytes(), control)?;
        if subscribers == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let waited_ms = LEFTOVER_WAIT.as_millis();
            return Err(format!(
                "channel {channel} still has {subscribers} subscribers after {waited_ms} ms: pick another --channel"
            ));
        }
        thread::sleep(NUMSUB_POLL_INTERVAL);
    }
}

fn wait_for_numsub(
    admin: &mut Conn,
    channel: &[u8],
    wanted: i64,
    control: &Control,
) -> Result<i64, String> {
    loop {
        let seen = numsub(admin, channel, control)?;
        if seen == wanted {
            return Ok(seen);
        }
        if control.remaining().is_zero() {
            let channel = String::from_utf8_lossy(channel);
            return Err(format!(
                "PUBSUB NUMSUB {channel} still says {seen}, not {wanted}, at the deadline"
            ));
        }
        thread::sleep(NUMSUB_POLL_INTERVAL);
    }
}

/// Connects and subscribes every subscriber, one at a time, each confirmed before the next.
fn subscribe_all(
    addr: &SocketAddr,
    args: &PubsubArgs,
    expect: &Expect,
    control: &Control,
) -> Result<Vec<reader::Subscriber>, String> {
    let mut subscribers = Vec::with_capacity(args.subscribers);
    for index in 0..args.subscribers {
        let mut conn = Conn::connect(addr, args.resp, control)
            .map_err(|e| format!("subscriber {index}: {e}"))?;
        let reply = conn.call(&[b"SUBSCRIBE", &expect.channel], control)?;
        let confirmed = matches!(
            reply.items(),
            Some([Frame::Bulk(kind), Frame::Bulk(name), Frame::Int(1)])
                if kind == b"subscribe" && *name == expect.channel
        );
        if !confirmed {
            return Err(format!(
                "subscriber {index}: SUBSCRIBE replied {}",
                reply.describe()
            ));
        }
        conn.stream
            .set_nonblocking(true)
            .map_err(|e| format!("set_nonblocking: {e}"))?;
        subscribers.push(reader::Subscriber::new(
            index,
            conn.stream,
            conn.buf,
            args.publishers,
        ));
    }
    Ok(subscribers)
}

/// The payload header: where and when a message was sent.
pub fn encode_header(payload: &mut [u8], sent_ns: u64, publisher: u32, seq: u64) {
    payload[..8].copy_from_slice(&sent_ns.to_le_bytes());
    payload[8..12].copy_from_slice(&publisher.to_le_bytes());
    payload[12..20].copy_from_slice(&seq.to_le_bytes());
}

/// (send time ns, publisher id, sequence number); `payload` holds at least the header.
pub fn decode_header(payload: &[u8]) -> (u64, usize, u64) {
    let mut sent = [0u8; 8];
    let mut publisher = [0u8; 4];
    let mut seq = [0u8; 8];
    sent.copy_from_slice(&payload[..8]);
    publisher.copy_from_slice(&payload[8..12]);
    seq.copy_from_slice(&payload[12..20]);
    (
        u64::from_le_bytes(sent),
        u32::from_le_bytes(publisher) as usize,
        u64::from_le_bytes(seq),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_messages_split_evenly() {
        let mut payload = [0u8; PAYLOAD_HEADER_BYTES];
        encode_header(&mut payload, 123_456_789, 7, 42);
        assert_eq!(decode_header(&payload), (123_456_789, 7, 42));
        let split: Vec<u64> = (0..3).map(|p| messages_of(p, 10, 3)).collect();
        assert_eq!(split, [4, 3, 3]);
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(loopback_addr("127.0.0.1", 1).is_ok());
        assert!(loopback_addr("::1", 1).is_ok());
        assert!(loopback_addr("10.0.0.1", 1).is_err());
        assert!(loopback_addr("192.168.1.1", 1).is_err());
    }
}

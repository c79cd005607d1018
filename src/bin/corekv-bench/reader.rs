//! Subscriber reader threads: each waits on its share of the subscribers with epoll, parses
//! `message` frames in place, checks them and records their latency.

use crate::pubsub::{Expect, MAX_PAYLOAD_BYTES, decode_header};
use crate::resp::{Delivery, parse_delivery};
use crate::run::Control;
use hdrhistogram::Histogram;
use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread;

/// Latency histogram range: 1 ns .. 10 minutes, 3 significant digits.
pub const LATENCY_MAX_NS: u64 = 600_000_000_000;
/// One read lands here, after the partial frame left by the previous read: room for at
/// least two of the largest frames.
const SCRATCH_BYTES: usize = 4 * MAX_PAYLOAD_BYTES;
/// Reads of one subscriber per wakeup before the others get their turn.
const MAX_READS_PER_WAKEUP: usize = 4;
/// epoll_wait's timeout: how often a reader looks at the deadline when nothing arrives.
const WAIT_TIMEOUT_MS: libc::c_int = 50;
/// Ready descriptors taken from one epoll_wait.
const EPOLL_BATCH: usize = 256;

/// A subscriber connection as a reader thread owns it.
pub struct Subscriber {
    index: usize,
    stream: TcpStream,
    /// The partial frame left over from the previous read.
    pending: Vec<u8>,
    next_seq: Vec<u64>,
    received: u64,
    error: Option<String>,
}

impl Subscriber {
    pub fn new(index: usize, stream: TcpStream, pending: Vec<u8>, publishers: usize) -> Subscriber {
        Subscriber {
            index,
            stream,
            pending,
            next_seq: vec![0; publishers],
            received: 0,
            error: None,
        }
    }

    fn done(&self, expect: &Expect) -> bool {
        self.error.is_some() || self.received >= expect.messages
    }

    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }
}

/// What one reader thread measured.
pub struct Report {
    pub stats: Stats,
    /// (subscriber index, messages received, failure) for every subscriber of the thread.
    pub subscribers: Vec<(usize, u64, Option<String>)>,
}

pub struct Stats {
    pub latency_ns: Histogram<u64>,
    /// When the last read that brought bytes returned.
    pub last_delivery_ns: u64,
    /// Reads that brought bytes, and the bytes: how the server batches its writes.
    pub reads: u64,
    pub read_bytes: u64,
    /// epoll_wait calls that returned at least one ready subscriber.
    pub wakeups: u64,
}

impl Stats {
    pub fn new() -> Stats {
        let latency_ns =
            Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("histogram bounds");
        Stats {
            latency_ns,
            last_delivery_ns: 0,
            reads: 0,
            read_bytes: 0,
            wakeups: 0,
        }
    }

    pub fn add(&mut self, other: &Stats) {
        self.latency_ns
            .add(&other.latency_ns)
            .expect("same histogram bounds");
        self.last_delivery_ns = self.last_delivery_ns.max(other.last_delivery_ns);
        self.reads += other.reads;
        self.read_bytes += other.read_bytes;
        self.wakeups += other.wakeups;
    }
}
/// Deals the subscribers round-robin to `threads` reader threads and starts them.
pub fn spawn(
    subscribers: Vec<Subscriber>,
    threads: usize,
    expect: &Expect,
    control: &Arc<Control>,
) -> Vec<thread::JoinHandle<Report>> {
    let mut shares: Vec<Vec<Subscriber>> = (0..threads).map(|_| Vec::new()).collect();
    for sub in subscribers {
        let share = sub.index % threads;
        shares[share].push(sub);
    }
    shares
        .into_iter()
        .enumerate()
        .map(|(i, share)| {
            let expect = expect.clone();
            let control = Arc::clone(control);
            thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || run(share, &expect, &control))
                .expect("spawn reader thread")
        })
        .collect()
}

/// A level-triggered epoll set: a reader wakes for the subscribers that have data, at a
/// cost that does not grow with how many it watches (poll(2) scans them all per call).
struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: a plain syscall; the result is checked, then owned.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn control(&self, op: libc::c_int, fd: RawFd, token: usize) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token as u64,
        };
        // SAFETY: `event` is live for the call; the kernel copies it.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Tokens of the ready descriptors, into `ready`: empty after a timeout or a signal.
    fn wait(&self, events: &mut [libc::epoll_event], ready: &mut Vec<usize>) -> io::Result<()> {
        ready.clear();
        let capacity = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `events` is live and exclusively borrowed, with at least `capacity` entries.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                capacity,
                WAIT_TIMEOUT_MS,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        ready.extend(events[..n as usize].iter().map(|e| e.u64 as usize));
        Ok(())
    }
}

/// One reader thread: until each subscriber has every message, has failed, or time is up.
fn run(mut subs: Vec<Subscriber>, expect: &Expect, control: &Control) -> Report {
    let mut stats = Stats::new();
    let watched = Epoll::new().and_then(|epoll| {
        for (token, sub) in subs.iter().enumerate() {
            epoll.control(libc::EPOLL_CTL_ADD, sub.stream.as_raw_fd(), token)?;
        }
        Ok(epoll)
    });
    let result =
        watched.and_then(|epoll| read_until_done(&epoll, &mut subs, expect, control, &mut stats));
    if let Err(err) = result {
        subs.iter_mut()
            .for_each(|s| s.fail(format!("epoll: {err}")));
    }
    for sub in subs.iter_mut().filter(|s| s.received < expect.messages) {
        let why = format!(
            "received {} of {} messages before the deadline",
            sub.received, expect.messages
        );
        sub.fail(why);
    }
    let subscribers = subs
        .into_iter()
        .map(|s| (s.index, s.received, s.error))
        .collect();
    Report { stats, subscribers }
}

fn read_until_done(
    epoll: &Epoll,
    subs: &mut [Subscriber],
    expect: &Expect,
    control: &Control,
    stats: &mut Stats,
) -> io::Result<()> {
    let mut scratch = vec![0u8; SCRATCH_BYTES];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; subs.len().min(EPOLL_BATCH)];
    let mut ready = Vec::with_capacity(events.len());
    let mut open = subs.len();
    while open > 0 && !control.expired() {
        epoll.wait(&mut events, &mut ready)?;
        stats.wakeups += u64::from(!ready.is_empty());
        for &token in &ready {
            let sub = &mut subs[token];
            drain(sub, &mut scratch, expect, control, stats);
            if sub.done(expect) {
                // Stop watching it, so that a closed or chatty socket cannot make us spin.
                epoll.control(libc::EPOLL_CTL_DEL, sub.stream.as_raw_fd(), token)?;
                open -= 1;
            }
        }
    }
    Ok(())
}

/// Reads what the subscriber's socket holds (a few reads at most) and handles every complete
/// frame.
fn drain(
    sub: &mut Subscriber,
    scratch: &mut [u8],
    expect: &Expect,
    control: &Control,
    stats: &mut Stats,
) {
    for _ in 0..MAX_READS_PER_WAKEUP {
        let kept = sub.pending.len();
        if kept > scratch.len() / 2 {
            sub.fail(format!("a frame larger than {} bytes", scratch.len() / 2));
            return;
        }
        scratch[..kept].copy_from_slice(&sub.pending);
        let n = match sub.stream.read(&mut scratch[kept..]) {
            Ok(0) => {
                let received = sub.received;
                return sub.fail(format!(
                    "connection closed by the server after {received} messages"
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return sub.fail(format!("read: {e}")),
        };
        let now_ns = control.clock.now_ns();
        stats.last_delivery_ns = now_ns;
        stats.reads += 1;
        stats.read_bytes += n as u64;
        let filled = kept + n;
        let used = handle_frames(
            sub,
            &scratch[..filled],
            expect,
            now_ns,
            &mut stats.latency_ns,
        );
        sub.pending.clear();
        sub.pending.extend_from_slice(&scratch[used..filled]);
        if sub.error.is_some() || filled < scratch.len() {
            // A short read: the socket is (very likely) empty; wait again.
            return;
        }
    }
}
/// Handles every complete frame in `buf`; returns the bytes used.
fn handle_frames(
    sub: &mut Subscriber,
    buf: &[u8],
    expect: &Expect,
    now_ns: u64,
    latency_ns: &mut Histogram<u64>,
) -> usize {
    let mut pos = 0;
    while sub.error.is_none() {
        match parse_delivery(&buf[pos..]) {
            Ok(None) => break,
            Ok(Some((Delivery::Message { channel, payload }, used))) => {
                pos += used;
                match check_message(sub, channel, payload, expect) {
                    Ok(sent_ns) => {
                        latency_ns.saturating_record(now_ns.saturating_sub(sent_ns).max(1))
                    }
                    Err(why) => sub.fail(why),
                }
            }
            Ok(Some((Delivery::Other(frame), _))) => {
                let received = sub.received;
                sub.fail(format!(
                    "unexpected frame after {received} messages: {}",
                    frame.describe()
                ));
            }
            Err(why) => sub.fail(format!(
                "protocol error after {} messages: {why}",
                sub.received
            )),
        }
    }
    pos
}

/// Checks one message against what was sent; returns its send time.
fn check_message(
    sub: &mut Subscriber,
    channel: &[u8],
    payload: &[u8],
    expect: &Expect,
) -> Result<u64, String> {
    let nth = sub.received;
    if channel != expect.channel {
        return Err(format!(
            "message {nth} on channel {:?}",
            String::from_utf8_lossy(channel)
        ));
    }
    if payload.len() != expect.payload_bytes {
        return Err(format!(
            "message {nth} has {} bytes, not {}",
            payload.len(),
            expect.payload_bytes
        ));
    }
    let (sent_ns, publisher, seq) = decode_header(payload);
    let Some(next) = sub.next_seq.get_mut(publisher) else {
        return Err(format!(
            "message {nth} names publisher {publisher}, which does not exist"
        ));
    };
    if seq != *next {
        return Err(format!(
            "message {nth}: publisher {publisher} sequence {seq}, expected {next} (lost or reordered)"
        ));
    }
    if seq >= expect.per_publisher[publisher] {
        let sent = expect.per_publisher[publisher];
        return Err(format!(
            "message {nth}: publisher {publisher} sent only {sent} messages"
        ));
    }
    *next += 1;
    sub.received += 1;
    Ok(sent_ns)
}

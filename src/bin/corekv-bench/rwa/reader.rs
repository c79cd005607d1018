//! Subscriber reader threads for `corekv-bench rwa`: each waits on its share of the `/rwa`
//! subscribers with epoll, parses frames in place, checks every envelope (source, inside the
//! box, per-publisher order) and records delivery latency.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use hdrhistogram::Histogram;

use super::wire::{client_frame, server_frame};
use super::{LATENCY_MAX_NS, MAX_FRAME_BYTES, Shared};

pub struct Subscriber {
    stream: TcpStream,
    pending: Vec<u8>,
    /// The next even sequence number expected from each publisher.
    next_seq: Vec<u64>,
    received: u64,
    error: Option<String>,
}

impl Subscriber {
    pub fn new(stream: TcpStream, publishers: usize) -> Subscriber {
        Subscriber {
            stream,
            pending: Vec::new(),
            next_seq: vec![0; publishers],
            received: 0,
            error: None,
        }
    }

    fn fail(&mut self, why: String) {
        self.error.get_or_insert(why);
    }
}

pub struct ReaderReport {
    pub latency_ns: Histogram<u64>,
    pub last_delivery_ns: u64,
    /// (messages received, failure) per subscriber.
    pub subscribers: Vec<(u64, Option<String>)>,
}

/// The digits at the start of `text` and what follows them.
fn leading_number(text: &[u8]) -> Option<(u64, &[u8])> {
    let n = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let value = std::str::from_utf8(&text[..n]).ok()?.parse().ok()?;
    Some((value, &text[n..]))
}

/// `(send time, publisher, sequence)` of a bench message's envelope, read at the fixed
/// places the server writes them (json.dumps's layout, the publisher's key order), which
/// also checks the source.
fn fields(text: &[u8], prefix: &[u8]) -> Option<(u64, u64, u64)> {
    let (t, rest) = leading_number(text.strip_prefix(prefix)?)?;
    let (p, rest) = leading_number(rest.strip_prefix(b", \"p\": ")?)?;
    let (s, _) = leading_number(rest.strip_prefix(b", \"s\": ")?)?;
    Some((t, p, s))
}

/// Checks one envelope; returns its send time.
fn check(sub: &mut Subscriber, text: &[u8], expect: &Expect) -> Result<u64, String> {
    let nth = sub.received;
    let Some((t, p, s)) = fields(text, &expect.prefix) else {
        return Err(format!(
            "frame {nth} is not a bench message: {}",
            String::from_utf8_lossy(text)
        ));
    };
    let next = sub
        .next_seq
        .get_mut(p as usize)
        .ok_or(format!("publisher {p}?"))?;
    if s % 2 == 1 {
        return Err(format!(
            "message {s} of publisher {p} lies outside the box and was delivered"
        ));
    }
    if s != *next {
        return Err(format!(
            "publisher {p}: got {s}, expected {next} (lost or reordered)"
        ));
    }
    if s / 2 >= expect.inside[p as usize] {
        return Err(format!("publisher {p}: {s} was never sent"));
    }
    *next += 2;
    sub.received += 1;
    Ok(t)
}

/// What every subscriber must receive.
pub struct Expect {
    /// Inside messages per publisher.
    pub inside: Vec<u64>,
    /// The envelope's text up to the send time.
    pub prefix: Vec<u8>,
}

pub fn read_loop(mut subs: Vec<Subscriber>, expect: &Expect, shared: &Shared) -> ReaderReport {
    let wanted: u64 = expect.inside.iter().sum();
    let mut report = ReaderReport {
        latency_ns: Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("bounds"),
        last_delivery_ns: 0,
        subscribers: Vec::new(),
    };
    // SAFETY: a plain syscall; the descriptor is checked, then owned.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        subs.iter_mut()
            .for_each(|s| s.fail("epoll_create1 failed".into()));
    } else {
        // SAFETY: `epfd` is fresh and owned only here.
        let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
        for (token, s) in subs.iter().enumerate() {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: token as u64,
            };
            // SAFETY: `ev` is live for the call.
            unsafe {
                libc::epoll_ctl(
                    epoll.as_raw_fd(),
                    libc::EPOLL_CTL_ADD,
                    s.stream.as_raw_fd(),
                    &mut ev,
                )
            };
        }
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; subs.len().min(256)];
        let mut scratch = vec![0u8; 4 * MAX_FRAME_BYTES];
        let done = |s: &Subscriber| s.error.is_some() || s.received >= wanted;
        while !shared.expired() && !subs.iter().all(done) {
            // SAFETY: `events` is live and holds `len` entries.
            let n = unsafe {
                libc::epoll_wait(
                    epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    50,
                )
            };
            for e in &events[..n.max(0) as usize] {
                let sub = &mut subs[e.u64 as usize];
                if !done(sub) {
                    drain(sub, &mut scratch, expect, shared, &mut report);
                }
                if done(sub) {
                    // SAFETY: removing a descriptor this thread added; `ev` is ignored.
                    unsafe {
                        libc::epoll_ctl(
                            epoll.as_raw_fd(),
                            libc::EPOLL_CTL_DEL,
                            sub.stream.as_raw_fd(),
                            std::ptr::null_mut(),
                        )
                    };
                }
            }
        }
    }
    for s in subs.iter_mut().filter(|s| s.received < wanted) {
        let why = format!("received {} of {wanted} inside messages", s.received);
        s.fail(why);
    }
    report.subscribers = subs.into_iter().map(|s| (s.received, s.error)).collect();
    report
}

fn drain(
    sub: &mut Subscriber,
    scratch: &mut [u8],
    expect: &Expect,
    shared: &Shared,
    r: &mut ReaderReport,
) {
    loop {
        let kept = sub.pending.len();
        scratch[..kept].copy_from_slice(&sub.pending);
        let n = match sub.stream.read(&mut scratch[kept..]) {
            Ok(0) => {
                return sub.fail(format!(
                    "closed by the server after {} messages",
                    sub.received
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return sub.fail(format!("read: {e}")),
        };
        let now = shared.now_ns();
        r.last_delivery_ns = now;
        let filled = kept + n;
        let mut pos = 0;
        while sub.error.is_none() {
            match server_frame(&scratch[pos..filled]) {
                Ok(None) => break,
                Err(e) => sub.fail(e),
                Ok(Some((op, range, used))) => {
                    let body = &scratch[pos + range.start..pos + range.end];
                    match op {
                        1 => match check(sub, body, expect) {
                            Ok(t) => r.latency_ns.saturating_record(now.saturating_sub(t).max(1)),
                            Err(e) => sub.fail(e),
                        },
                        9 => {
                            let pong = client_frame(10, body);
                            let _ = sub.stream.write_all(&pong);
                        }
                        _ => sub.fail(format!("opcode {op} after {} messages", sub.received)),
                    }
                    pos += used;
                }
            }
        }
        sub.pending.clear();
        sub.pending.extend_from_slice(&scratch[pos..filled]);
        if sub.error.is_some() || filled < scratch.len() {
            return;
        }
    }
}

//! Read readiness for RESP and WebSocket connections from one epoll set per core, instead of
//! one io_uring poll per read.
//!
//! # Why
//! glommio's stream arms a one-shot io_uring poll after every read that did not fill the
//! buffer, which at pipeline 1 is every request: a poll submitted, completed by kernel task
//! work (an inter-processor interrupt when the core is busy running something else), reaped
//! and dropped, for each request. Redis instead keeps every socket registered in one epoll
//! set and asks it once per loop for everything that became readable. This module does the
//! same on each core: a socket is registered once (edge-triggered), and one *poller* task
//! turns epoll's answers into wake-ups of the connections concerned. The core's glommio
//! reactor is involved only when the core has nothing else to do: the poller then waits for
//! the epoll descriptor itself to become readable through one io_uring poll.
//!
//! # The waiting primitive
//! glommio 0.9 keeps its readiness polls crate-private. Its public `TcpStream::from_raw_fd`
//! arms exactly such a poll on the descriptor it is given, and its read waits for that poll
//! before trying `recv`. [`epoll_ready`] uses that on a duplicate of the epoll descriptor and
//! returns as soon as the poll completes, without ever calling `recv` on it; dropping the
//! stream closes the duplicate. A unit test pins this behaviour, so a glommio upgrade that
//! changes it fails the build's tests instead of hanging connections.
//!
//! # Contract
//! - [`Registration::read`] behaves like a nonblocking-socket read that waits: it returns
//!   what `recv` returned (0 at end of stream) or its error, never `WouldBlock`.
//! - Edge-triggered bookkeeping: a registration is *ready* from the start and after any
//!   event; it becomes not-ready only when a `recv` returned less than asked (the socket
//!   was drained at that moment) or `WouldBlock`. Data arriving later raises a new event,
//!   so no wake-up is lost: the poller's next `epoll_wait` sees it. Once an event reported
//!   the peer's close (or an error), the registration stays ready, so the end of the
//!   stream is read even when it came in the same edge as the last data.
//! - Single-threaded: a registration belongs to the core that made it.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Events asked of `epoll_wait` at a time.
const MAX_EVENTS: usize = 256;

/// Readiness of one registered socket.
#[derive(Default)]
struct Entry {
    ready: Cell<bool>,
    /// The peer closed its side, or the socket failed: reads go on until they return 0 or
    /// an error. (A short read does not mean drained here: the end of the stream may have
    /// arrived with the data, in the same edge, and raises no event of its own.)
    hup: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

/// One core's epoll set and its registered sockets.
struct Poller {
    epfd: RawFd,
    /// token -> entry; a token is the slot index plus its generation in the high bits, so a
    /// late event for a closed connection cannot wake the slot's next occupant.
    slots: RefCell<Vec<(u32, Option<Rc<Entry>>)>>,
    free: RefCell<Vec<u32>>,
}

thread_local! {
    static POLLER: RefCell<Option<Rc<Poller>>> = const { RefCell::new(None) };
}

impl Poller {
    /// This core's poller, created (and its task spawned) on first use.
    fn current() -> io::Result<Rc<Poller>> {
        if let Some(p) = POLLER.with(|p| p.borrow().clone()) {
            return Ok(p);
        }
        // SAFETY: plain syscall; the descriptor is owned by the poller from here on.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        let poller = Rc::new(Poller {
            epfd,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
        });
        POLLER.with(|p| *p.borrow_mut() = Some(poller.clone()));
        glommio::spawn_local(run(poller.clone())).detach();
        Ok(poller)
    }

    fn wake(&self, token: u64, events: u32) {
        let index = (token & 0xffff_ffff) as usize;
        let generation = (token >> 32) as u32;
        let entry = match self.slots.borrow().get(index) {
            Some((g, Some(e))) if *g == generation => e.clone(),
            _ => return,
        };
        entry.ready.set(true);
        if events & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
            entry.hup.set(true);
        }
        if let Some(w) = entry.waker.take() {
            w.wake();
        }
    }
}

/// The poller task: hands out events while there are any, and waits on the epoll descriptor
/// through glommio only when a round found none.
async fn run(poller: Rc<Poller>) {
    let mut events: Vec<libc::epoll_event> =
        vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    loop {
        // SAFETY: `events` has room for MAX_EVENTS entries; timeout 0 never blocks.
        let n = unsafe { libc::epoll_wait(poller.epfd, events.as_mut_ptr(), MAX_EVENTS as i32, 0) };
        if n > 0 {
            for ev in &events[..n as usize] {
                poller.wake(ev.u64, ev.events);
            }
            // Let the woken connections run before asking again.
            futures_lite::future::yield_now().await;
            continue;
        }
        if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            tracing::error!(error = %io::Error::last_os_error(), "epoll_wait failed");
            glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        }
        epoll_ready(poller.epfd).await;
    }
}

/// Waits until `epfd` is readable (some registered socket has an event), through one
/// io_uring poll armed by glommio (see the module docs).
async fn epoll_ready(epfd: RawFd) {
    // SAFETY: duplicating a descriptor we own; the duplicate is owned by the stream below.
    let dup = unsafe { libc::fcntl(epfd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        return;
    }
    // SAFETY: `dup` is a fresh descriptor nobody else owns; the stream closes it on drop.
    // It is never read from: only its readiness poll is used.
    let mut stream = unsafe { glommio::net::TcpStream::from_raw_fd(dup) };
    let mut armed = false;
    poll_fn(|cx| {
        if armed {
            return Poll::Ready(());
        }
        armed = true;
        let mut byte = [0u8; 1];
        // The first poll finds the stream's initial readiness poll pending and registers
        // this task's waker with it; it never reaches `recv`.
        match futures_lite::AsyncRead::poll_read(Pin::new(&mut stream), cx, &mut byte) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(()),
        }
    })
    .await;
}

/// A socket registered with its core's poller; deregistered on drop (before the socket is
/// closed by its owner).
pub struct Registration {
    fd: RawFd,
    token: u64,
    entry: Rc<Entry>,
    poller: Rc<Poller>,
}

impl Registration {
    /// Registers `fd` (a nonblocking connected socket) with this core's poller.
    pub fn new(fd: RawFd) -> io::Result<Registration> {
        let poller = Poller::current()?;
        let entry = Rc::new(Entry {
            ready: Cell::new(true),
            hup: Cell::new(false),
            waker: Cell::new(None),
        });
        let index = match poller.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                let mut slots = poller.slots.borrow_mut();
                slots.push((0, None));
                (slots.len() - 1) as u32
            }
        };
        let generation = {
            let mut slots = poller.slots.borrow_mut();
            let slot = &mut slots[index as usize];
            slot.0 = slot.0.wrapping_add(1);
            slot.1 = Some(entry.clone());
            slot.0
        };
        let token = (u64::from(generation) << 32) | u64::from(index);
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: registering our own socket; `ev` is a valid event.
        if unsafe { libc::epoll_ctl(poller.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            let err = io::Error::last_os_error();
            poller.slots.borrow_mut()[index as usize].1 = None;
            poller.free.borrow_mut().push(index);
            return Err(err);
        }
        Ok(Registration {
            fd,
            token,
            entry,
            poller,
        })
    }

    /// Reads what the socket has (up to `buf.len()` bytes), waiting for data if there is
    /// none; 0 is the end of the stream.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// [`Registration::read`] as a poll (for `AsyncRead`): `Pending` with `cx`'s waker kept
    /// until the poller sees the socket become readable.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if !self.entry.ready.get() {
                // Single-threaded: the poller cannot run between the recv that found the
                // socket drained and this, so no edge is missed.
                self.entry.waker.set(Some(cx.waker().clone()));
                return Poll::Pending;
            }
            // SAFETY: `buf` is valid for writes of its length; the socket is ours.
            let n = unsafe {
                libc::recv(
                    self.fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                let n = n as usize;
                if n > 0 && n < buf.len() && !self.entry.hup.get() {
                    // Drained for now: the next arrival raises a new edge.
                    self.entry.ready.set(false);
                }
                return Poll::Ready(Ok(n));
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => {
                    self.entry.ready.set(false);
                    self.entry.hup.set(false);
                }
                io::ErrorKind::Interrupted => {}
                _ => return Poll::Ready(Err(err)),
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: removing our own registration; the socket is still open (its owner closes
        // it after this). A failure only means it was never there or is already gone.
        unsafe {
            libc::epoll_ctl(
                self.poller.epfd,
                libc::EPOLL_CTL_DEL,
                self.fd,
                std::ptr::null_mut(),
            );
        }
        let index = (self.token & 0xffff_ffff) as usize;
        if let Some(slot) = self.poller.slots.borrow_mut().get_mut(index) {
            slot.1 = None;
        }
        self.poller.free.borrow_mut().push(index as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The glommio behaviour [`epoll_ready`] relies on, and the read contract, end to end:
    /// a waiting read wakes when its peer writes, reads everything written, and sees the
    /// end of the stream.
    #[test]
    fn reads_wake_on_data_and_see_the_end() {
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(|| async {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let writer = std::thread::spawn(move || {
                    let (mut s, _) = listener.accept().unwrap();
                    for i in 0..50u8 {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        s.write_all(&[i; 100]).unwrap();
                    }
                });
                let stream = glommio::net::TcpStream::connect(addr).await.unwrap();
                let reg = Registration::new(std::os::fd::AsRawFd::as_raw_fd(&stream)).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    let n = reg.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                writer.join().unwrap();
                let want: Vec<u8> = (0..50u8).flat_map(|i| [i; 100]).collect();
                assert_eq!(got, want);
                drop(reg);
                drop(stream);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

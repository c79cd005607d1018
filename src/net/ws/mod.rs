//! The WebSocket interface: a second listener on every core (`--ws-port`, SO_REUSEPORT like
//! RESP), HTTP/1.1 upgrade ([`handshake`]), and connections ([`conn`]) that run every command
//! through the same dispatcher as RESP, on the core that accepted them.
//!
//! # Per-core state ([`CoreWs`])
//! Each core knows its WebSocket listener and its open WebSocket connections (each with a
//! [`Control`]: requests from outside the connection's task, which is usually waiting on its
//! socket). Nothing here is shared between cores: ABORT reaches every core as a router task.
//!
//! # Housekeeping (every [`TICK`], per core, see [`housekeeping`])
//! - **Pings**: a connection idle for `ws-ping-interval-ms` is asked to ping its peer. Any
//!   frame from the peer answers. A peer that has not answered within `ws-pong-timeout-ms` of
//!   the ping falling due is disconnected; this also catches a peer that stopped reading
//!   (the connection task, blocked writing to it, cannot even send the ping).
//! - **Slow readers**: pushed frames waiting in a connection's outbox above
//!   `ws-max-output-bytes` disconnect it (counted in INFO's
//!   `client_output_buffer_limit_disconnections`), on top of `client-output-buffer-limit pubsub`
//!   which applies to every subscriber.
//! - **`/rwa` timeouts**: an `/rwa` connection pings after `rwa-read-timeout-ms` idle instead,
//!   and one open for `rwa-keep-alive-timeout-ms` is asked to close (1000).
//! - **ABORT and shutdown**: connections asked to close with 1001 that are still there after
//!   [`CLOSE_GRACE`] (a peer that does not read) are cut.
//!
//! # ABORT, step by step ([`abort`])
//! 1. One router task per core: the core marks its WebSocket server aborted, shuts its
//!    listening socket down (its accept loop ends and drops it, releasing the port) and asks
//!    every WebSocket connection to close with 1001.
//! 2. The ABORT caller waits (bounded) until every core's accept loop has ended, then
//!    answers `OK`: from then on the port refuses connections; RESP is untouched.

pub mod batch;
pub mod conn;
pub mod handshake;
pub mod rwa;
pub mod socket;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use ahash::AHashMap;
use glommio::net::TcpListener;

use crate::core::{ClientHandle, Core, NetStats};

/// How often each core's WebSocket housekeeping runs.
pub const TICK: Duration = Duration::from_millis(100);
/// How long a connection asked to close (ABORT, shutdown) may take before it is cut.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long ABORT waits for every core to release the port.
const ABORT_WAIT: Duration = Duration::from_secs(2);

/// What the task of one WebSocket connection is asked to do from outside.
pub struct Control {
    pub handle: Rc<ClientHandle>,
    /// Close with this code and reason (ABORT, shutdown, output limit).
    close: Cell<Option<(u16, &'static str)>>,
    /// When the close was requested (ms), for [`CLOSE_GRACE`].
    close_since_ms: Cell<u64>,
    /// A ping is due and not yet sent.
    ping_due: Cell<bool>,
    /// Since when (ms) an answer from the peer is awaited; 0 when none is.
    awaiting_since_ms: Cell<u64>,
    /// Last time (ms) the peer sent anything (pongs included).
    heard_ms: Cell<u64>,
    /// When the connection opened (ms).
    opened_ms: u64,
    /// This connection's idle time before a ping, when not `ws-ping-interval-ms` (`/rwa`
    /// uses `rwa-read-timeout-ms`).
    ping_interval_ms: Cell<Option<u64>>,
    /// Close (1000) this long after opening; 0: never (`rwa-keep-alive-timeout-ms`).
    max_age_ms: Cell<u64>,
    waker: RefCell<Option<Waker>>,
}

impl Control {
    fn new(handle: Rc<ClientHandle>) -> Control {
        Control {
            handle,
            close: Cell::new(None),
            close_since_ms: Cell::new(0),
            ping_due: Cell::new(false),
            awaiting_since_ms: Cell::new(0),
            heard_ms: Cell::new(crate::util::now_ms()),
            opened_ms: crate::util::now_ms(),
            ping_interval_ms: Cell::new(None),
            max_age_ms: Cell::new(0),
            waker: RefCell::new(None),
        }
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Asks the connection to close with `code` (the first request wins).
    pub fn request_close(&self, code: u16, reason: &'static str) {
        if self.close.get().is_none() {
            self.close.set(Some((code, reason)));
            self.close_since_ms.set(crate::util::now_ms());
        }
        self.wake();
    }

    /// The requested close, if any.
    pub fn close_requested(&self) -> Option<(u16, &'static str)> {
        self.close.get()
    }

    /// Takes a due ping (the connection then sends it).
    pub fn take_ping(&self) -> bool {
        self.ping_due.replace(false)
    }

    /// Pings after `interval_ms` idle instead of `ws-ping-interval-ms` (0: never), and closes
    /// `max_age_ms` after opening (0: never).
    pub fn set_timeouts(&self, interval_ms: u64, max_age_ms: u64) {
        self.ping_interval_ms.set(Some(interval_ms));
        self.max_age_ms.set(max_age_ms);
    }

    /// The peer sent a frame: it is alive.
    pub fn heard(&self) {
        self.heard_ms.set(crate::util::now_ms());
        self.awaiting_since_ms.set(0);
    }

    /// Resolves when a close or a ping is requested.
    pub async fn ready(&self) {
        poll_fn(|cx| {
            if self.close.get().is_some() || self.ping_due.get() {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// One core's WebSocket server.
#[derive(Default)]
pub struct CoreWs {
    /// The listening socket, while the accept loop runs.
    listener_fd: Cell<Option<RawFd>>,
    /// ABORT (or shutdown) stopped this core's WebSocket server for good.
    aborted: Cell<bool>,
    conns: RefCell<AHashMap<u64, Rc<Control>>>,
}

impl CoreWs {
    /// Whether this core's accept loop is running.
    pub fn listening(&self) -> bool {
        self.listener_fd.get().is_some()
    }

    pub fn aborted(&self) -> bool {
        self.aborted.get()
    }

    /// Registers a connection's control; removed again by [`CoreWs::remove`].
    pub fn add(&self, handle: Rc<ClientHandle>) -> Rc<Control> {
        let control = Rc::new(Control::new(handle));
        if self.aborted.get() {
            control.request_close(1001, "WebSocket server stopped");
        }
        self.conns
            .borrow_mut()
            .insert(control.handle.id, control.clone());
        control
    }

    pub fn remove(&self, id: u64) {
        self.conns.borrow_mut().remove(&id);
    }

    /// Open WebSocket connections on this core.
    pub fn len(&self) -> usize {
        self.conns.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.borrow().is_empty()
    }

    /// Stops this core's WebSocket server: no more accepts, every connection asked to close
    /// with 1001 and `reason`.
    pub fn stop(&self, reason: &'static str) {
        self.aborted.set(true);
        if let Some(fd) = self.listener_fd.get() {
            // SAFETY: shutdown(2) on the listening socket the accept loop still owns (it
            // clears `listener_fd` before dropping it); the pending accept then fails.
            unsafe {
                libc::shutdown(fd, libc::SHUT_RDWR);
            }
        }
        for c in self.conns.borrow().values() {
            c.request_close(1001, reason);
        }
    }
}

/// Accepts WebSocket connections until ABORT or shutdown, serving each on this core. The
/// listener is dropped (its port released on this core) when the loop ends.
pub async fn accept_loop(core: Rc<Core>, listener: TcpListener, fd: RawFd) {
    core.ws.listener_fd.set(Some(fd));
    loop {
        if core.ws.aborted() || core.shutting_down.get() {
            break;
        }
        match listener.accept().await {
            Ok(stream) => {
                let core = core.clone();
                glommio::spawn_local(async move { conn::serve(core, stream).await }).detach();
            }
            Err(e) => {
                if core.ws.aborted() || core.shutting_down.get() {
                    break;
                }
                tracing::warn!(error = %e, "WebSocket accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    core.ws.listener_fd.set(None);
    drop(listener);
}

/// Pings, pong deadlines, output caps and close grace for this core's WebSocket
/// connections (see the module docs). Runs until shutdown.
pub async fn housekeeping(core: Rc<Core>) {
    while !core.shutting_down.get() {
        glommio::timer::sleep(TICK).await;
        tick(&core, crate::util::now_ms());
    }
}

fn tick(core: &Core, now: u64) {
    let (interval, timeout, max_output) = {
        let p = core.params.borrow();
        (
            p.int("ws-ping-interval-ms").max(0) as u64,
            p.int("ws-pong-timeout-ms").max(1) as u64,
            p.int("ws-max-output-bytes").max(0) as usize,
        )
    };
    let conns: Vec<Rc<Control>> = core.ws.conns.borrow().values().cloned().collect();
    for c in conns {
        let h = &c.handle;
        if h.killed.get() {
            continue;
        }
        if max_output > 0 && h.outbox.len_bytes() > max_output {
            tracing::warn!(
                client = h.id,
                bytes = h.outbox.len_bytes(),
                "closing a WebSocket client over ws-max-output-bytes"
            );
            NetStats::add(&core.net.output_limit_disconnections, 1);
            h.kill();
            continue;
        }
        let max_age = c.max_age_ms.get();
        if max_age > 0 && now.saturating_sub(c.opened_ms) >= max_age {
            c.request_close(1000, "keep-alive timeout");
        }
        if c.close.get().is_some() {
            if now.saturating_sub(c.close_since_ms.get()) > CLOSE_GRACE.as_millis() as u64 {
                h.kill();
            }
            continue;
        }
        let interval = c.ping_interval_ms.get().unwrap_or(interval);
        let awaiting = c.awaiting_since_ms.get();
        if awaiting != 0 {
            if now.saturating_sub(awaiting) > timeout {
                tracing::debug!(client = h.id, "WebSocket peer did not answer a ping");
                h.kill();
            }
        } else if interval > 0 && now.saturating_sub(c.heard_ms.get()) >= interval {
            c.awaiting_since_ms.set(now);
            c.ping_due.set(true);
            c.wake();
        }
    }
}

/// ABORT: stops the WebSocket server on every core (see the module docs) and waits until
/// every core has released the port. RESP keeps serving.
pub async fn abort(core: &Core) {
    core.router
        .run_on_all(|_shard| {
            if let Some(core) = Core::current() {
                core.ws.stop("WebSocket server stopped by ABORT");
            }
        })
        .await;
    let deadline = std::time::Instant::now() + ABORT_WAIT;
    loop {
        let listening = core
            .router
            .run_on_all(|_shard| Core::current().is_some_and(|c| c.ws.listening()))
            .await;
        if !listening.contains(&Some(true)) || std::time::Instant::now() > deadline {
            return;
        }
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
}

/// At shutdown: closes this core's WebSocket connections with 1001 and waits (bounded) for
/// them to go, before the server kills every remaining client.
pub async fn shut_down(core: &Core) {
    core.ws.stop("server shutting down");
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while !core.ws.is_empty() && std::time::Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
}

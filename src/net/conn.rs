//! One RESP connection: read, parse, dispatch, write, in a loop on the accepting core.
//!
//! Each read takes whatever the socket has; every complete request in the buffer (up to
//! `max_pipeline_batch`) is run as one pipeline, and all of its replies leave in one write.
//! Before authentication requests are parsed and run one at a time, so the pre-auth limits
//! apply exactly to what an unauthenticated client sends.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::commands::dispatch::run_pipeline;
use crate::core::{ClientHandle, ClientMeta, Core, NetStats, Session};
use crate::protocol::{ParseLimits, RequestParser};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Reply buffers that grew beyond this are released after the write, not kept.
const KEEP_OUT_CAPACITY: usize = 1024 * 1024;

/// Registers the connection with its core for CLIENT LIST / KILL; unregisters on drop.
/// (The WebSocket connections register the same way.)
pub(crate) struct Registration {
    pub(crate) core: Rc<Core>,
    pub(crate) handle: Rc<ClientHandle>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.core.clients.borrow_mut().remove(&self.handle.id);
    }
}

/// Redis's cross-protocol defence: an HTTP request line sent to the RESP port.
fn is_http_smuggling(name: &Bytes) -> bool {
    name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:")
}

/// Connections open in the whole process (for `maxclients`), RESP and WebSocket.
static CONNECTED: AtomicUsize = AtomicUsize::new(0);

/// Counts a connection for as long as it lives.
pub(crate) struct Connected;

impl Connected {
    pub(crate) fn new() -> Connected {
        CONNECTED.fetch_add(1, Ordering::Relaxed);
        Connected
    }
}

/// Connections open in the whole process right now.
pub(crate) fn connected_now() -> usize {
    CONNECTED.load(Ordering::Relaxed)
}

impl Drop for Connected {
    fn drop(&mut self) {
        CONNECTED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Redis's reply to a non-loopback client while protected mode is on and no password is set.
const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Why a new connection is refused before it is served, as Redis decides in
/// acceptCommonHandler / clientAcceptHandler: the `-ERR`/`-DENIED` line to send.
pub fn refusal(core: &Core, peer: &SocketAddr, open: usize) -> Option<&'static str> {
    let p = core.params.borrow();
    let maxclients = p.int("maxclients").max(1) as usize;
    if open >= maxclients {
        return Some("-ERR max number of clients reached\r\n");
    }
    if p.yes("protected-mode") && p.text("requirepass").is_empty() && !peer.ip().is_loopback() {
        return Some(DENIED);
    }
    None
}

/// SO_KEEPALIVE with Redis's `tcp-keepalive` period (anetKeepAlive): first probe after
/// `secs` idle, then every secs/3, three probes.
pub(crate) fn set_keepalive(fd: std::os::fd::RawFd, secs: i64) {
    if secs <= 0 {
        return;
    }
    let secs = secs.min(i32::MAX as i64) as libc::c_int;
    let set = |level, opt, v: libc::c_int| {
        // SAFETY: setsockopt on our own socket with an int option.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                opt,
                &v as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (secs / 3).max(1));
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// A new client's handle, registered with its core (CLIENT LIST / KILL) until the returned
/// registration drops.
pub(crate) fn register(
    core: &Rc<Core>,
    stream: &TcpStream,
    peer: SocketAddr,
) -> (Rc<ClientHandle>, Registration) {
    let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
    let handle = Rc::new(ClientHandle {
        id: core.next_client_id(),
        addr: peer,
        laddr: stream.local_addr().unwrap_or(unknown),
        fd: stream.as_raw_fd(),
        created_ms: crate::util::now_ms(),
        meta: std::cell::RefCell::new(ClientMeta {
            last_interaction_ms: crate::util::now_ms(),
            ..ClientMeta::default()
        }),
        killed: std::cell::Cell::new(false),
        outbox: crate::pubsub::Outbox::default(),
    });
    NetStats::add(&core.net.total_connections_received, 1);
    core.clients.borrow_mut().insert(handle.id, handle.clone());
    let reg = Registration {
        core: core.clone(),
        handle: handle.clone(),
    };
    (handle, reg)
}

pub async fn serve(core: Rc<Core>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
    let peer = stream.peer_addr().unwrap_or(unknown);
    let _connected = Connected::new();
    if let Some(refusal) = refusal(&core, &peer, CONNECTED.load(Ordering::Relaxed) - 1) {
        NetStats::add(&core.net.rejected_connections, 1);
        let _ = stream.write_all(refusal.as_bytes()).await;
        let _ = stream.close().await;
        return;
    }
    set_keepalive(
        stream.as_raw_fd(),
        core.params.borrow().int("tcp-keepalive"),
    );
    let (handle, _reg) = register(&core, &stream, peer);
    let needs_auth = !core.params.borrow().text("requirepass").is_empty();
    let mut sess = Session::new(handle, !needs_auth);
    if let Err(e) = run(&core, &mut sess, stream).await {
        tracing::debug!(client = sess.id(), error = %e, "connection closed with an error");
    }
    if !sess.watched.is_empty() {
        crate::commands::transactions::unwatch_all(&core, &mut sess).await;
    }
    if sess.subs.any() {
        crate::commands::pubsub::unsubscribe_all(&core, &mut sess).await;
    }
}

async fn run(core: &Core, sess: &mut Session, mut stream: TcpStream) -> std::io::Result<()> {
    let mut limits = ParseLimits {
        max_inline_bytes: core.config.max_inline_bytes,
        max_bulk_bytes: core.config.proto_max_bulk_len,
        ..ParseLimits::default()
    };
    let max_batch = core.config.max_pipeline_batch;
    let query_limit = core.config.client_query_buffer_limit;
    let mut parser = RequestParser::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let mut scratch = vec![0u8; READ_CHUNK];
    // One read's requests; kept across reads so its capacity is reused.
    let mut reqs: Vec<Vec<Bytes>> = Vec::with_capacity(64);
    // The parameters' generation `limits` was last read at (`u64::MAX`: never).
    let mut params_seen = u64::MAX;
    // Reads wait on the core's epoll set (see `poller`); glommio's own read if that fails.
    let registration = match super::poller::Registration::new(stream.as_raw_fd()) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "epoll registration failed; using glommio's reads");
            None
        }
    };
    loop {
        let pushed_to = sess.subs.any() || sess.handle.meta.borrow().monitor;
        let n = if pushed_to || !sess.handle.outbox.is_empty() {
            // A subscriber: whichever comes first, a request or a pushed message. glommio's
            // read is readiness-based, so abandoning it loses no bytes.
            let handle = sess.handle.clone();
            let ev = futures_lite::future::or(
                async { Some(read(&registration, &mut stream, &mut scratch).await) },
                async {
                    handle.outbox.ready().await;
                    None
                },
            )
            .await;
            match ev {
                Some(r) => r?,
                None => {
                    sess.handle.outbox.drain_into(&mut out);
                    if sess.handle.killed.get() {
                        return Ok(());
                    }
                    NetStats::add(&core.net.total_net_output_bytes, out.len() as u64);
                    stream.write_all(&out).await?;
                    out.clear();
                    continue;
                }
            }
        } else {
            read(&registration, &mut stream, &mut scratch).await?
        };
        if n == 0 || sess.handle.killed.get() {
            return Ok(());
        }
        NetStats::add(&core.net.total_net_input_bytes, n as u64);
        rbuf.extend_from_slice(&scratch[..n]);
        // CONFIG SET proto-max-bulk-len applies to requests read from now on.
        {
            let params = core.params.borrow();
            if params.generation() != params_seen {
                params_seen = params.generation();
                limits.max_bulk_bytes = params.int("proto-max-bulk-len").max(0) as usize;
            }
        }
        sess.handle.meta.borrow_mut().last_interaction_ms = crate::util::now_ms();
        loop {
            reqs.clear();
            let mut fatal: Option<crate::protocol::Reply> = None;
            let mut close_now = false;
            let authenticated_before = sess.authenticated;
            while reqs.len() < max_batch {
                match parser.parse(&mut rbuf, &limits, sess.authenticated) {
                    Ok(Some(req)) => {
                        if is_http_smuggling(&req.args[0]) {
                            tracing::warn!(
                                client = sess.id(),
                                "possible cross-protocol attack (POST or Host: on the RESP port); connection closed"
                            );
                            close_now = true;
                            break;
                        }
                        reqs.push(req.args);
                        if !sess.authenticated {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        fatal = Some(e.to_reply());
                        break;
                    }
                }
            }
            let parsed = reqs.len();
            let full_batch = parsed == max_batch;
            if !reqs.is_empty() {
                run_pipeline(core, sess, reqs.drain(..), &mut out).await;
            }
            if close_now {
                // Like Redis, a cross-protocol request discards the replies not yet sent.
                out.clear();
            }
            if let Some(err) = &fatal {
                err.encode(sess.proto, &mut out);
            }
            if !sess.handle.outbox.is_empty() {
                sess.handle.outbox.drain_into(&mut out);
            }
            if !out.is_empty() {
                NetStats::add(&core.net.total_net_output_bytes, out.len() as u64);
                stream.write_all(&out).await?;
                out.clear();
                if out.capacity() > KEEP_OUT_CAPACITY {
                    out = BytesMut::with_capacity(READ_CHUNK);
                }
            }
            if fatal.is_some() || close_now || sess.close_after_reply || sess.handle.killed.get() {
                let _ = stream.close().await;
                return Ok(());
            }
            // Another round only if something was parsed and more may be waiting: the
            // batch limit cut this round short, or (before AUTH) requests run one by one.
            if parsed == 0 || rbuf.is_empty() || (authenticated_before && !full_batch) {
                break;
            }
        }
        if rbuf.len() > query_limit {
            tracing::warn!(
                client = sess.id(),
                bytes = rbuf.len(),
                "closing client that reached max query buffer length"
            );
            return Ok(());
        }
        sess.handle.meta.borrow_mut().query_buf_bytes = rbuf.len();
    }
}

/// One read from the connection: through its epoll registration when it has one.
async fn read(
    registration: &Option<super::poller::Registration>,
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match registration {
        Some(r) => r.read(buf).await,
        None => stream.read(buf).await,
    }
}

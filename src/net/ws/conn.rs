//! One WebSocket connection, on the core that accepted it: handshake, then a loop that waits
//! for whichever comes first (frames from the peer, pub/sub pushes, a request from
//! housekeeping or ABORT) and runs every batch of frames through the same dispatcher as RESP.
//!
//! # Step by step
//! 1. Read the HTTP request head within `ws-handshake-timeout-ms`; answer HTTP errors
//!    ([`super::handshake`]), the RESP port's refusals (`maxclients`, protected mode) as
//!    `503`/`403`, or `101 Switching Protocols`.
//! 2. Register the client (CLIENT LIST / KILL, `timeout`) and its [`Control`] (pings, ABORT).
//! 3. Loop: a frame wakes the connection; every frame that has already arrived joins it (up
//!    to `max-pipeline-batch`), the batch runs as one pipeline (`run_pipeline`, split at
//!    ABORT), and its replies leave in order, all flushed at once.
//! 4. Errors close with the RFC 6455 code: 1009 message too big, 1007 invalid UTF-8 in a text
//!    frame, 1002 protocol error (and broken RESP in binary frames), 1001 ABORT or shutdown.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{Error as WsError, Message};
use bytes::{Bytes, BytesMut};
use futures_lite::future::{or, poll_once};
use futures_lite::{AsyncWriteExt, StreamExt};
use futures_sink::Sink as _;
use glommio::net::TcpStream;

/// tungstenite's read buffer for the text and envelope dialects: RESP's read size (requests
/// are command lines, pipelined ones included), not its 128 KiB default (see `serve`).
const READ_BUFFER_BYTES: usize = 16 * 1024;

use super::Control;
use super::batch::{Batch, Out, Reader, Sink, Slot, Writer};
use super::handshake::{self, Decision, Dialect};
use crate::commands::dispatch::run_pipeline;
use crate::core::{Core, NetStats, Session};
use crate::net::conn::{Connected, connected_now, refusal, register, set_keepalive};
use crate::protocol::{ParseLimits, Reply};

pub(super) type Ws = WebSocketStream<super::socket::WsSocket>;

/// How long closing may wait for the peer's answering close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Removes the connection's control from its core when the task ends.
struct Registered {
    core: Rc<Core>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.core.ws.remove(self.id);
    }
}

/// What a connection knows about its peer beyond the socket.
struct Peer {
    addr: SocketAddr,
    /// The upgrade came through a proxy: the address is the proxy's.
    proxied: bool,
}

pub async fn serve(core: Rc<Core>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
    let addr = stream.peer_addr().unwrap_or(unknown);
    let _connected = Connected::new();
    let Some((dialect, proxied, rest)) = upgrade(&core, &mut stream, &addr).await else {
        return;
    };
    set_keepalive(
        stream.as_raw_fd(),
        core.params.borrow().int("tcp-keepalive"),
    );
    let (handle, _reg) = register(&core, &stream, addr);
    let control = core.ws.add(handle.clone());
    let _registered = Registered {
        core: core.clone(),
        id: handle.id,
    };
    let max_message = core.params.borrow().int("ws-max-message-bytes").max(1024) as usize;
    let mut config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    // tungstenite zero-fills its whole read buffer before every read attempt, also the ones
    // that find nothing, and a subscriber's task wakes for every batch of pushes: with the
    // 128 KiB default that memset was a third of the server's CPU at 1000 /rwa subscribers.
    // Longer messages still arrive whole, in more reads.
    config = config.read_buffer_size(if dialect == Dialect::Rwa {
        super::rwa::READ_BUFFER_BYTES
    } else {
        READ_BUFFER_BYTES
    });
    let mut ws = WebSocketStream::from_partially_read(
        super::socket::WsSocket::new(stream),
        rest,
        Role::Server,
        Some(config),
    )
    .await;
    if dialect == Dialect::Rwa {
        // The dialect has no AUTH: what it may read is `rwa-allow-channels` (README).
        let mut sess = Session::new(handle, true);
        if let Err(e) = super::rwa::serve(&core, &mut sess, &mut ws, &control).await {
            tracing::debug!(client = sess.id(), error = %e, "/rwa connection closed with an error");
        }
        return;
    }
    let needs_auth = !core.params.borrow().text("requirepass").is_empty();
    let mut sess = Session::new(handle, !needs_auth);
    let peer = Peer { addr, proxied };
    let limits = ParseLimits {
        max_inline_bytes: core.config.max_inline_bytes,
        max_bulk_bytes: core.params.borrow().int("proto-max-bulk-len").max(0) as usize,
        ..ParseLimits::default()
    };
    let mut reader = Reader::new(dialect, limits);
    if let Err(e) = run(&core, &mut sess, &mut ws, &control, &peer, &mut reader).await {
        tracing::debug!(client = sess.id(), error = %e, "WebSocket connection closed with an error");
    }
    if !sess.watched.is_empty() {
        crate::commands::transactions::unwatch_all(&core, &mut sess).await;
    }
    if sess.subs.any() {
        crate::commands::pubsub::unsubscribe_all(&core, &mut sess).await;
    }
}

/// The HTTP half: `Some((dialect, proxied, bytes read past the head))` once `101` is sent.
async fn upgrade(
    core: &Rc<Core>,
    stream: &mut TcpStream,
    addr: &SocketAddr,
) -> Option<(Dialect, bool, Vec<u8>)> {
    let deadline_ms = core.params.borrow().int("ws-handshake-timeout-ms").max(1) as u64;
    let read = or(async { Some(handshake::read_head(stream).await) }, async {
        glommio::timer::sleep(Duration::from_millis(deadline_ms)).await;
        None
    })
    .await;
    let (head, rest) = match read {
        None => {
            tracing::debug!(peer = %addr, "WebSocket handshake timed out");
            let _ = stream.close().await;
            return None;
        }
        Some(Err(_)) => return None,
        Some(Ok(Err(refused))) => {
            let _ = handshake::send_refusal(stream, &refused).await;
            return None;
        }
        Some(Ok(Ok(got))) => got,
    };
    let decision = handshake::decide(&head, core.params.borrow().text("ws-allowed-origins"));
    let Decision::Upgrade {
        accept_key,
        dialect,
        subprotocol,
        proxied,
    } = decision
    else {
        let _ = handshake::send_refusal(stream, &decision).await;
        return None;
    };
    let refused = if core.ws.aborted() {
        Some((
            503,
            "Service Unavailable",
            "WebSocket server stopped".to_string(),
        ))
    } else {
        refusal(core, addr, connected_now().saturating_sub(1)).map(|line| {
            NetStats::add(&core.net.rejected_connections, 1);
            let text = line.trim_start_matches('-').trim_end().to_string();
            if text.starts_with("DENIED") {
                (403, "Forbidden", text)
            } else {
                (503, "Service Unavailable", text)
            }
        })
    };
    if let Some((status, reason, text)) = refused {
        let d = Decision::Refuse {
            status,
            reason,
            headers: "",
            body: format!("{text}\n"),
        };
        let _ = handshake::send_refusal(stream, &d).await;
        return None;
    }
    handshake::send_upgrade(stream, &accept_key, subprotocol)
        .await
        .ok()?;
    Some((dialect, proxied, rest))
}

/// What woke the connection.
enum Event {
    Frame(Option<Result<Message, WsError>>),
    Pushed,
    Control,
}

/// What woke a WebSocket connection's loop (every dialect's loop waits the same way).
pub(super) enum Woken {
    /// CLIENT KILL or an output limit ended the connection: stop without a word.
    Killed,
    /// The connection was asked to close (ABORT, shutdown, a peer that stopped answering
    /// pings) with this code and reason.
    Close(u16, &'static str),
    /// The peer ended the stream.
    End,
    /// Reading the first frame failed.
    Failed(WsError),
    /// Frames read together, at most `max_batch` (the first one waited for, the rest already
    /// there), and the error that stopped the batch, if any.
    Frames(Vec<Message>, Option<WsError>),
    /// Pushed messages wait in the connection's outbox.
    Pushed,
    /// A [`Control`] request (ping due, close).
    Control,
}

/// What the loop must do next: stop if the connection was killed or asked to close, else
/// wait for whichever comes first: a frame from the peer (then take whatever further frames
/// are already readable, up to `max_batch`), a pushed message, or a control request.
pub(super) async fn wait(
    ws: &mut Ws,
    sess: &Session,
    control: &Rc<Control>,
    max_batch: usize,
) -> Woken {
    if sess.handle.killed.get() {
        return Woken::Killed;
    }
    if let Some((code, reason)) = control.close_requested() {
        return Woken::Close(code, reason);
    }
    let event = {
        let (handle, ctl) = (sess.handle.clone(), control.clone());
        or(async { Event::Frame(ws.next().await) }, async move {
            or(
                async {
                    handle.outbox.ready().await;
                    Event::Pushed
                },
                async {
                    ctl.ready().await;
                    Event::Control
                },
            )
            .await
        })
        .await
    };
    match event {
        Event::Frame(None) => Woken::End,
        Event::Frame(Some(Err(e))) => Woken::Failed(e),
        Event::Frame(Some(Ok(first))) => {
            control.heard();
            let mut msgs = vec![first];
            let mut error = None;
            while msgs.len() < max_batch {
                match poll_once(ws.next()).await {
                    Some(Some(Ok(m))) => msgs.push(m),
                    Some(Some(Err(e))) => {
                        error = Some(e);
                        break;
                    }
                    Some(None) | None => break,
                }
            }
            Woken::Frames(msgs, error)
        }
        Event::Pushed => Woken::Pushed,
        Event::Control => Woken::Control,
    }
}

async fn run(
    core: &Core,
    sess: &mut Session,
    ws: &mut Ws,
    control: &Rc<Control>,
    peer: &Peer,
    reader: &mut Reader,
) -> Result<(), WsError> {
    let max_batch = core.config.max_pipeline_batch;
    // Pushed frames go out as raw RESP once the client speaks RESP in binary frames.
    let mut binary_pushes = false;
    loop {
        match wait(ws, sess, control, max_batch).await {
            Woken::Killed | Woken::End => return Ok(()),
            Woken::Close(code, reason) => return close(ws, code, reason).await,
            Woken::Failed(e) => return close_for(ws, e).await,
            Woken::Frames(msgs, error) => {
                if let Some(pos) = oversized_before_auth(&msgs, sess.authenticated) {
                    tracing::debug!(
                        client = sess.id(),
                        frame = pos,
                        "message too big before AUTH"
                    );
                    return close(ws, 1009, "Message too big before AUTH").await;
                }
                let mut batch = Batch::default();
                let mut input = 0;
                for m in &msgs {
                    input += m.len();
                    if matches!(m, Message::Binary(_)) {
                        binary_pushes = true;
                    } else if matches!(m, Message::Text(_)) {
                        binary_pushes = false;
                    }
                    reader.add(m, sess.authenticated, &mut batch);
                }
                NetStats::add(&core.net.total_net_input_bytes, input as u64);
                sess.handle.meta.borrow_mut().last_interaction_ms = crate::util::now_ms();
                let fatal = batch.fatal;
                let out = execute(core, sess, peer, batch, reader.dialect, binary_pushes).await;
                send_all(core, ws, out).await?;
                if fatal {
                    return close(ws, 1002, "Protocol error in a RESP binary frame").await;
                }
                if sess.close_after_reply {
                    return close(ws, 1000, "QUIT").await;
                }
                if let Some(e) = error {
                    return close_for(ws, e).await;
                }
            }
            Woken::Pushed => {
                let mut frames = BytesMut::new();
                sess.handle.outbox.drain_into(&mut frames);
                let mut w = Writer::new(reader.dialect);
                w.pushes(&frames, binary_pushes);
                send_all(core, ws, w.finish()).await?;
            }
            Woken::Control => {
                if control.take_ping() {
                    ws.send(Message::Ping(Bytes::from_static(b"corekv")))
                        .await?;
                }
            }
        }
    }
}

/// Largest message an unauthenticated client may send (Redis's limit on a bulk string before
/// AUTH, plus room for the command name): nobody can make the server parse megabytes without
/// the password.
const UNAUTHENTICATED_MAX_MESSAGE_BYTES: usize =
    crate::protocol::request::UNAUTHENTICATED_MAX_BULK_BYTES + 1024;

/// The index of a message too large for a client that has not authenticated by then
/// (optimistically, an AUTH or HELLO earlier in the batch counts as authenticating).
fn oversized_before_auth(msgs: &[Message], authenticated: bool) -> Option<usize> {
    let mut maybe_authenticated = authenticated;
    for (i, m) in msgs.iter().enumerate() {
        if maybe_authenticated {
            return None;
        }
        if m.len() > UNAUTHENTICATED_MAX_MESSAGE_BYTES {
            return Some(i);
        }
        let head: Vec<u8> = match m {
            Message::Text(t) => t.as_bytes().iter().take(32).copied().collect(),
            Message::Binary(b) => b.iter().take(32).copied().collect(),
            _ => continue,
        };
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        maybe_authenticated = head.contains("auth") || head.contains("hello");
    }
    None
}

/// Runs a batch: `run_pipeline` over the requests between ABORTs, ABORT itself in its
/// place; returns the frames of every reply and push, in order, and their size.
async fn execute(
    core: &Core,
    sess: &mut Session,
    peer: &Peer,
    batch: Batch,
    dialect: Dialect,
    binary_pushes: bool,
) -> (Vec<Message>, usize) {
    let mut sink = Sink::default();
    let mut reqs = batch.reqs.into_iter();
    let mut pending: Vec<Vec<Bytes>> = Vec::new();
    for slot in &batch.slots {
        match slot {
            Slot::Run(_) => pending.extend(reqs.next()),
            Slot::Abort(_) => {
                let _ = reqs.next();
                if !pending.is_empty() {
                    run_pipeline(core, sess, std::mem::take(&mut pending), &mut sink).await;
                }
                let reply = abort(core, sess, peer).await;
                sink.0.push(Out::Reply(reply, sess.proto));
            }
            Slot::Ready(..) => {}
        }
    }
    if !pending.is_empty() {
        run_pipeline(core, sess, pending, &mut sink).await;
    }
    let mut w = Writer::new(dialect);
    let mut outs = sink.0.into_iter();
    for slot in &batch.slots {
        match slot {
            Slot::Ready(origin, reply) => w.reply(origin, reply, sess.proto),
            Slot::Run(origin) | Slot::Abort(origin) => loop {
                match outs.next() {
                    Some(Out::Pushes(frames)) => w.pushes(&frames, binary_pushes),
                    Some(Out::Reply(reply, proto)) => {
                        w.reply(origin, &reply, proto);
                        break;
                    }
                    // QUIT or SHUTDOWN: no more replies.
                    None => break,
                }
            },
        }
    }
    for out in outs {
        if let Out::Pushes(frames) = out {
            w.pushes(&frames, binary_pushes);
        }
    }
    w.finish()
}

/// ABORT: who may (see the README), then every core's WebSocket server stops.
async fn abort(core: &Core, sess: &Session, peer: &Peer) -> Reply {
    if !core.params.borrow().yes("ws-abort") {
        return Reply::error("ERR ABORT is disabled on this server (ws-abort no)");
    }
    let password_set = !core.params.borrow().text("requirepass").is_empty();
    if password_set && !sess.authenticated {
        return Reply::error("NOAUTH Authentication required.");
    }
    if !password_set && (!peer.addr.ip().is_loopback() || peer.proxied) {
        return Reply::error(
            "ERR ABORT is only allowed from a loopback client, or from an authenticated client when requirepass is set",
        );
    }
    tracing::warn!(client = sess.id(), peer = %peer.addr, "ABORT: stopping the WebSocket server on every core");
    super::abort(core).await;
    Reply::ok()
}

/// Queues every frame and flushes once.
pub(super) async fn send_all(
    core: &Core,
    ws: &mut Ws,
    (msgs, bytes): (Vec<Message>, usize),
) -> Result<(), WsError> {
    if msgs.is_empty() {
        return Ok(());
    }
    NetStats::add(&core.net.total_net_output_bytes, bytes as u64);
    for m in msgs {
        poll_fn(|cx| Pin::new(&mut *ws).poll_ready(cx)).await?;
        Pin::new(&mut *ws).start_send(m)?;
    }
    poll_fn(|cx| Pin::new(&mut *ws).poll_flush(cx)).await
}

/// Closes after a read error, with the code RFC 6455 gives it.
pub(super) async fn close_for(ws: &mut Ws, e: WsError) -> Result<(), WsError> {
    match e {
        WsError::Capacity(_) => close(ws, 1009, "Message too big (ws-max-message-bytes)").await,
        WsError::Utf8(_) => close(ws, 1007, "Invalid UTF-8 in a text frame").await,
        WsError::Protocol(_) => close(ws, 1002, "WebSocket protocol error").await,
        WsError::ConnectionClosed | WsError::AlreadyClosed => Ok(()),
        other => Err(other),
    }
}

/// Sends a close frame and waits (bounded) for the peer's, so the peer sees a clean close.
pub(super) async fn close(ws: &mut Ws, code: u16, reason: &'static str) -> Result<(), WsError> {
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let handshake = async {
        ws.close(Some(frame)).await?;
        while let Some(m) = ws.next().await {
            m?;
        }
        Ok(())
    };
    or(handshake, async {
        glommio::timer::sleep(CLOSE_WAIT).await;
        Ok(())
    })
    .await
}

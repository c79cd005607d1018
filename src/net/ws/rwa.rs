//! One `/rwa` connection: the redis_websocket_api dialect (README "The redis_websocket_api
//! dialect"), served directly, with no proxy and no separate Redis.
//!
//! # Step by step
//! 1. Send `{"source": "websocket", "content": {"status": "open"}, ...}`.
//! 2. Loop on whichever comes first: frames from the peer, messages pushed by pub/sub
//!    (already envelopes, built on this core by `pubsub::rwa`), housekeeping (pings after
//!    `rwa-read-timeout-ms` idle, the `rwa-keep-alive-timeout-ms` close, ABORT, shutdown).
//! 3. Each text frame is one request ([`crate::protocol::rwa`]), run in order:
//!    - `GET` / `PGET` run `HVALS` / `HGET` through the dispatcher (`run_pipeline`, like any
//!      WebSocket or RESP request, so a key on another core's shard works), then filter and
//!      project each value with the connection's [`View`];
//!    - `SUB` / `DEL` register the connection as a channel subscriber of its core and count it
//!      at the channel's owner (as SUBSCRIBE does), so PUBLISH from any protocol reaches it;
//!    - `BBOX` / `PROJECTION` change the [`View`] that delivery reads;
//!    - `PING` answers `"PONG"`.
//! 4. On close, the connection's subscriptions are removed and uncounted.
//!
//! Binary frames are ignored, as the package ignores them (it reads them as an unknown
//! command). Where the package hangs up (bad arguments, values or messages that are not
//! JSON, a key of the wrong type), corekv sends an error envelope (`"source": "error"`) and
//! keeps the connection; a channel the allow-list refuses is answered the same way (the
//! package says nothing).

use std::cell::Cell;
use std::rc::Rc;

use ahash::AHashSet;
use async_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use bytes::Bytes;

use super::Control;
use super::conn::{Woken, Ws, close, close_for, send_all, wait};
use crate::commands::dispatch::{Collect, run_pipeline};
use crate::core::{Core, NetStats, Session};
use crate::geo::View;
use crate::geo::crs::Epsg;
use crate::geo::geojson;
use crate::protocol::rwa::{self, Content, Parsed, Request};
use crate::protocol::{Reply, pyjson};
use crate::pubsub::Kind;
use crate::pubsub::rwa::{RwaClient, unprojectable_text};
use crate::util::glob::glob_match;

/// tungstenite's read buffer for an `/rwa` connection (see `conn::serve`).
pub const READ_BUFFER_BYTES: usize = 4096;
/// Most channels one `/rwa` connection may be subscribed to.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// Serves an upgraded `/rwa` connection until it closes (see the module docs).
pub async fn serve(
    core: &Rc<Core>,
    sess: &mut Session,
    ws: &mut Ws,
    control: &Rc<Control>,
) -> Result<(), WsError> {
    {
        let p = core.params.borrow();
        control.set_timeouts(
            p.int("rwa-read-timeout-ms").max(0) as u64,
            p.int("rwa-keep-alive-timeout-ms").max(0) as u64,
        );
    }
    let mut conn = RwaConn {
        client: Rc::new(RwaClient {
            handle: sess.handle.clone(),
            view: Cell::new(View::default()),
        }),
        channels: AHashSet::new(),
    };
    let result = run(core, sess, ws, control, &mut conn).await;
    conn.unsubscribe_all(core).await;
    result
}

async fn run(
    core: &Core,
    sess: &mut Session,
    ws: &mut Ws,
    control: &Rc<Control>,
    conn: &mut RwaConn,
) -> Result<(), WsError> {
    let open = rwa::envelope(
        "websocket",
        Content::Json(br#"{"status": "open"}"#),
        rwa::timestamp_ms(),
        None,
    );
    send_frames(core, ws, vec![Bytes::from(open)]).await?;
    let max_batch = core.config.max_pipeline_batch;
    loop {
        match wait(ws, sess, control, max_batch).await {
            Woken::Killed | Woken::End => return Ok(()),
            Woken::Close(code, reason) => return close(ws, code, reason).await,
            Woken::Failed(e) => return close_for(ws, e).await,
            Woken::Frames(msgs, error) => {
                // Messages that arrived before these requests leave first.
                let mut out = Vec::new();
                sess.handle.outbox.drain_frames(&mut out);
                let mut input = 0;
                for m in &msgs {
                    input += m.len();
                    if let Message::Text(text) = m {
                        conn.request(core, sess, text.as_str(), &mut out).await;
                    }
                }
                NetStats::add(&core.net.total_net_input_bytes, input as u64);
                sess.handle.meta.borrow_mut().last_interaction_ms = crate::util::now_ms();
                send_frames(core, ws, out).await?;
                if let Some(e) = error {
                    return close_for(ws, e).await;
                }
            }
            Woken::Pushed => {
                let mut out = Vec::new();
                sess.handle.outbox.drain_frames(&mut out);
                send_frames(core, ws, out).await?;
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

/// Sends envelopes as text frames, flushed once.
async fn send_frames(core: &Core, ws: &mut Ws, frames: Vec<Bytes>) -> Result<(), WsError> {
    let mut bytes = 0;
    let msgs: Vec<Message> = frames
        .into_iter()
        .filter_map(|f| {
            bytes += f.len();
            // Envelopes are ASCII (pyjson escapes everything else), so this always holds.
            Utf8Bytes::try_from(f).ok().map(Message::Text)
        })
        .collect();
    send_all(core, ws, (msgs, bytes)).await
}

/// Whether `rwa-allow-channels` lets the dialect read `name` (a channel or a hash key).
fn allowed(core: &Core, name: &str) -> bool {
    let p = core.params.borrow();
    p.text("rwa-allow-channels")
        .split_whitespace()
        .any(|g| g == "*" || glob_match(g.as_bytes(), name.as_bytes(), false))
}

/// An error envelope about `request`, now.
fn error(text: &str, context: &[(&str, &str)], client_ref: Option<&str>) -> Bytes {
    Bytes::from(rwa::error_envelope(
        text,
        context,
        rwa::timestamp_ms(),
        client_ref,
    ))
}

/// A data envelope, now.
fn envelope(source: &str, content: Content<'_>, client_ref: Option<&str>) -> Bytes {
    Bytes::from(rwa::envelope(
        source,
        content,
        rwa::timestamp_ms(),
        client_ref,
    ))
}

/// The connection's dialect state: its delivery handle (with the view) and its channels.
struct RwaConn {
    client: Rc<RwaClient>,
    channels: AHashSet<Bytes>,
}

/// What GET / PGET fetch and how they filter.
struct Fetch {
    key: String,
    field: Option<String>,
    client_ref: Option<String>,
    /// PGET's own projection (`None`: this is GET, which uses the connection's view).
    pget: Option<Option<Epsg>>,
}

impl RwaConn {
    /// Runs one request frame, appending the envelopes it answers to `out`.
    async fn request(&mut self, core: &Core, sess: &mut Session, text: &str, out: &mut Vec<Bytes>) {
        let req = match rwa::parse(text) {
            Parsed::Ignored => return,
            Parsed::Invalid {
                error: e,
                client_ref,
            } => {
                out.push(error(&e, &[("request", text)], client_ref.as_deref()));
                return;
            }
            Parsed::Request(r) => r,
        };
        match req {
            Request::Ping => out.push(envelope("websocket", Content::Str("PONG"), None)),
            Request::Sub(channel) => self.subscribe(core, channel, out).await,
            Request::Del(channel) => self.unsubscribe(core, channel).await,
            Request::BBox(bbox) => {
                let mut v = self.client.view.get();
                match bbox {
                    Some(b) => v.set_bbox(b),
                    None => v.clear_bbox(),
                }
                self.client.view.set(v);
            }
            Request::Projection(crs) => match Epsg::parse(&crs) {
                Ok(p) => {
                    let mut v = self.client.view.get();
                    v.set_projection(p);
                    self.client.view.set(v);
                }
                Err(e) => out.push(error(&e, &[("request", text)], None)),
            },
            Request::Get {
                key,
                field,
                client_ref,
            } => {
                let f = Fetch {
                    key,
                    field,
                    client_ref,
                    pget: None,
                };
                self.fetch(core, sess, f, out).await;
            }
            Request::PGet {
                key,
                field,
                client_ref,
                projection,
            } => {
                let crs = projection.as_deref().map_or(Ok(None), Epsg::parse);
                match crs {
                    Ok(crs) => {
                        let f = Fetch {
                            key,
                            field,
                            client_ref,
                            pget: Some(crs),
                        };
                        self.fetch(core, sess, f, out).await;
                    }
                    Err(e) => out.push(error(&e, &[("request", text)], client_ref.as_deref())),
                }
            }
        }
    }

    /// GET / PGET: at least one envelope whose source is the key (`"key field"` with a
    /// field), `null` content when nothing could be sent, as the package guarantees.
    async fn fetch(&self, core: &Core, sess: &mut Session, f: Fetch, out: &mut Vec<Bytes>) {
        let cref = f.client_ref.as_deref();
        if !allowed(core, &f.key) {
            let e = "not allowed by rwa-allow-channels";
            out.push(error(e, &[("key", &f.key)], cref));
            return;
        }
        let key = Bytes::from(f.key.clone());
        let (source, args) = match &f.field {
            Some(field) => (
                format!("{} {field}", f.key),
                vec![Bytes::from_static(b"HGET"), key, Bytes::from(field.clone())],
            ),
            None => (f.key.clone(), vec![Bytes::from_static(b"HVALS"), key]),
        };
        let mut replies = Collect::default();
        run_pipeline(core, sess, vec![args], &mut replies).await;
        let values: Vec<Option<Bytes>> = match replies.0.pop() {
            Some(Reply::Array(items)) => items
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Bulk(b) => Some(Some(b)),
                    _ => None,
                })
                .collect(),
            Some(Reply::Bulk(b)) => vec![Some(b)],
            Some(Reply::Nil) => vec![None],
            Some(Reply::Error(e)) => {
                out.push(error(
                    &String::from_utf8_lossy(&e),
                    &[("key", &f.key)],
                    cref,
                ));
                Vec::new()
            }
            _ => Vec::new(),
        };
        let view = self.client.view.get();
        let mut sent = 0;
        for value in values {
            let Some(bytes) = value else {
                out.push(envelope(&source, Content::Null, cref));
                sent += 1;
                continue;
            };
            let parsed = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    let text = format!("value is not valid JSON ({e})");
                    out.push(error(&text, &[("key", &f.key)], cref));
                    continue;
                }
            };
            let filtered = match f.pget {
                // PGET projects with its own CRS; the package runs the box too but sends
                // whatever it says (its result is overwritten), so a box never hides a value.
                Some(crs) => {
                    let mut v = parsed;
                    match crs {
                        Some(c) => geojson::project(&mut v, c).map(|()| (true, v)),
                        None => Ok((true, v)),
                    }
                }
                None => view.apply(parsed),
            };
            let crs = f.pget.unwrap_or(view.projection);
            match filtered {
                Err(p) => out.push(error(&unprojectable_text(p, crs), &[("key", &f.key)], cref)),
                // HGET's value is sent whether it passed or not (the package's GET with a
                // field ignores the verdict); HVALS sends the values that pass.
                Ok((passed, data)) if passed || f.field.is_some() => {
                    let mut content = Vec::new();
                    pyjson::write_value(&data, &mut content);
                    out.push(envelope(&source, Content::Json(&content), cref));
                    sent += 1;
                }
                Ok(_) => {}
            }
        }
        if sent == 0 {
            out.push(envelope(&source, Content::Null, cref));
        }
    }

    /// SUB: counted at the channel's owner before the next request runs, so a PUBLISH after
    /// the client's next answer (a PING's PONG, say) reaches it.
    async fn subscribe(&mut self, core: &Core, channel: String, out: &mut Vec<Bytes>) {
        if !allowed(core, &channel) {
            let e = "not allowed by rwa-allow-channels";
            out.push(error(e, &[("channel", &channel)], None));
            return;
        }
        let ch = Bytes::from(channel);
        if self.channels.contains(&ch) {
            return;
        }
        if self.channels.len() >= MAX_SUBSCRIPTIONS {
            let e = format!("too many subscriptions (at most {MAX_SUBSCRIPTIONS})");
            out.push(error(
                &e,
                &[("channel", &String::from_utf8_lossy(&ch))],
                None,
            ));
            return;
        }
        self.channels.insert(ch.clone());
        core.pubsub.rwa.add(&ch, &self.client);
        self.sync_meta();
        crate::commands::pubsub::register(core, Kind::Channel, vec![ch], 1).await;
    }

    /// DEL: no answer, allowed or not (the package's `discard`).
    async fn unsubscribe(&mut self, core: &Core, channel: String) {
        let ch = Bytes::from(channel);
        if self.channels.remove(&ch) {
            core.pubsub.rwa.remove(&ch, self.client.handle.id);
            self.sync_meta();
            crate::commands::pubsub::register(core, Kind::Channel, vec![ch], -1).await;
        }
    }

    async fn unsubscribe_all(&mut self, core: &Core) {
        let channels: Vec<Bytes> = self.channels.drain().collect();
        for ch in &channels {
            core.pubsub.rwa.remove(ch, self.client.handle.id);
        }
        self.sync_meta();
        crate::commands::pubsub::register(core, Kind::Channel, channels, -1).await;
    }

    /// CLIENT LIST's `sub=` and `flags=P`.
    fn sync_meta(&self) {
        self.client.handle.meta.borrow_mut().subscriptions = self.channels.len();
    }
}

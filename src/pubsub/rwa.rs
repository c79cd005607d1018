//! Pub/sub delivery to `/rwa` WebSocket subscribers (the redis_websocket_api dialect), whose
//! messages are JSON envelopes filtered by a bounding box and projected per client.
//!
//! An `/rwa` subscriber is an ordinary channel subscriber to the rest of pub/sub: its core
//! counts it at the channel's owner ([`super::Owner`]), so PUBLISH from RESP, from a
//! WebSocket or from another `/rwa` client's core reaches it, PUBLISH's reply counts it, and
//! PUBSUB NUMSUB lists it. Only the last step differs: instead of a RESP frame, the receiving
//! core builds an envelope (`{"source": channel, "content": <message>, ...}`).
//!
//! # Work per message, not per subscriber
//! [`deliver`] runs on the subscriber's core, once per message for all of that core's `/rwa`
//! subscribers of the channel, and does each piece of work once ([`Delivery`]):
//! 1. the payload is parsed as JSON once;
//! 2. for each distinct projection among the subscribers, the coordinates are projected once
//!    and the envelope is written once (a `Bytes` every subscriber with that projection
//!    shares);
//! 3. for each distinct (box, coordinates it applies to) pair, the box test runs once, on a
//!    vertex list taken once per projection ([`Summary`]).
//!
//! So a message to a thousand subscribers that all use one BBOX and one PROJECTION costs one
//! parse, one projection, one envelope and one box test, then a thousand reference-count
//! increments; a thousand distinct boxes cost a thousand box tests over one vertex list.
//!
//! # Messages that cannot be delivered
//! A payload that is not JSON (the package hangs up on the subscriber) becomes one error
//! envelope, `{"source": "error", "content": {"error": ..., "channel": ...}}`, shared by every
//! subscriber of the channel on the core. A message with a vertex that has no image in a
//! subscriber's CRS becomes such an error envelope for the subscribers using that CRS.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ahash::AHashMap;
use bytes::Bytes;
use serde_json::Value;

use super::Limits;
use crate::core::{ClientHandle, Core};
use crate::geo::crs::Epsg;
use crate::geo::geojson::{self, Summary, Unprojectable};
use crate::geo::{BBox, View};
use crate::protocol::pyjson;
use crate::protocol::rwa::{self, Content};

/// One `/rwa` connection as delivery sees it: where frames go and its current filters (the
/// connection's task changes `view` on BBOX / PROJECTION).
pub struct RwaClient {
    pub handle: Rc<ClientHandle>,
    pub view: Cell<View>,
}

/// This core's `/rwa` subscribers, by channel.
#[derive(Default)]
pub struct Subscribers {
    channels: RefCell<AHashMap<Bytes, Vec<Rc<RwaClient>>>>,
}

impl Subscribers {
    pub fn add(&self, channel: &Bytes, client: &Rc<RwaClient>) {
        self.channels
            .borrow_mut()
            .entry(channel.clone())
            .or_default()
            .push(client.clone());
    }

    pub fn remove(&self, channel: &[u8], client_id: u64) {
        let mut t = self.channels.borrow_mut();
        if let Some(list) = t.get_mut(channel) {
            list.retain(|c| c.handle.id != client_id);
            if list.is_empty() {
                t.remove(channel);
            }
        }
    }
}

/// Queues one message for this core's `/rwa` subscribers of `channel` (see the module docs).
/// Subscribers over their output limit are added to `closed`.
pub fn deliver(
    core: &Core,
    channel: &[u8],
    payload: &[u8],
    limits: Limits,
    closed: &mut Vec<Rc<ClientHandle>>,
) {
    let table = core.pubsub.rwa.channels.borrow();
    let Some(subs) = table.get(channel) else {
        return;
    };
    let channel = String::from_utf8_lossy(channel);
    let timestamp_ms = rwa::timestamp_ms();
    let mut push = |c: &RwaClient, frame: Bytes| {
        if !c.handle.outbox.push(frame, limits) {
            closed.push(c.handle.clone());
        }
    };
    match serde_json::from_slice::<Value>(payload) {
        Err(e) => {
            let frame = Bytes::from(rwa::error_envelope(
                &format!("message is not valid JSON ({e})"),
                &[("channel", &channel)],
                timestamp_ms,
                None,
            ));
            for c in subs {
                push(c, frame.clone());
            }
        }
        Ok(message) => {
            let mut d = Delivery::new(&channel, message, timestamp_ms);
            for c in subs {
                if let Some(frame) = d.frame_for(&c.view.get()) {
                    push(c, frame);
                }
            }
        }
    }
}

/// The message in one CRS: its value (projected, or why it cannot be), and what has been
/// derived from it so far.
struct Space {
    projection: Option<Epsg>,
    /// `None` for the original (no projection): read from [`Delivery::original`].
    projected: Option<Result<Value, Unprojectable>>,
    summary: Option<Summary>,
    frame: Option<Bytes>,
}

/// One message on its way to one core's subscribers: everything computed at most once per
/// projection and per (box, projection) (see the module docs).
pub struct Delivery<'a> {
    channel: &'a str,
    timestamp_ms: f64,
    original: Value,
    spaces: Vec<Space>,
    verdicts: AHashMap<([u64; 4], Option<u16>), bool>,
    /// The previous subscriber's view and frame: neighbours usually share their view, so
    /// most subscribers cost one comparison.
    last: Option<(View, Option<Bytes>)>,
    /// Work done, for tests: projections, summaries, envelopes.
    pub projections: usize,
    pub summaries: usize,
    pub envelopes: usize,
}

impl<'a> Delivery<'a> {
    pub fn new(channel: &'a str, original: Value, timestamp_ms: f64) -> Delivery<'a> {
        Delivery {
            channel,
            timestamp_ms,
            original,
            spaces: Vec::new(),
            verdicts: AHashMap::new(),
            last: None,
            projections: 0,
            summaries: 0,
            envelopes: 0,
        }
    }

    /// The frame a subscriber with `view` gets, or `None` when its box filters the message
    /// out. The same view always gets the same `Bytes`.
    pub fn frame_for(&mut self, view: &View) -> Option<Bytes> {
        if let Some((v, frame)) = &self.last
            && v == view
        {
            return frame.clone();
        }
        let frame = self.compute_frame(view);
        self.last = Some((*view, frame.clone()));
        frame
    }

    fn compute_frame(&mut self, view: &View) -> Option<Bytes> {
        if let Some(bbox) = view.bbox {
            // The box sees projected coordinates only when PROJECTION came first.
            let tested = if view.projection_first {
                view.projection
            } else {
                None
            };
            match self.verdict(bbox, tested) {
                Some(false) => return None,
                Some(true) => {}
                // The coordinates the box needs have no image: say so.
                None => return Some(self.frame(tested)),
            }
        }
        Some(self.frame(view.projection))
    }

    /// The box test in the CRS `space`; `None` when the message cannot be projected there.
    fn verdict(&mut self, bbox: BBox, space: Option<Epsg>) -> Option<bool> {
        let key = (bbox.key(), space.map(|p| p.0));
        if let Some(&v) = self.verdicts.get(&key) {
            return Some(v);
        }
        let i = self.space(space);
        if self.spaces[i].summary.is_none() {
            let summary = match &self.spaces[i].projected {
                None => Summary::of(&self.original),
                Some(Ok(v)) => Summary::of(v),
                Some(Err(_)) => return None,
            };
            self.summaries += 1;
            self.spaces[i].summary = Some(summary);
        }
        let passed = self.spaces[i].summary.as_ref()?.passes(&bbox);
        self.verdicts.insert(key, passed);
        Some(passed)
    }

    /// The envelope of the message in `space` (an error envelope if it has no image there).
    fn frame(&mut self, space: Option<Epsg>) -> Bytes {
        let i = self.space(space);
        if let Some(f) = &self.spaces[i].frame {
            return f.clone();
        }
        self.envelopes += 1;
        let s = &self.spaces[i];
        let bytes = match &s.projected {
            Some(Err(p)) => rwa::error_envelope(
                &unprojectable_text(*p, space),
                &[("channel", self.channel)],
                self.timestamp_ms,
                None,
            ),
            projected => {
                let value = match projected {
                    Some(Ok(v)) => v,
                    _ => &self.original,
                };
                let mut content = Vec::new();
                pyjson::write_value(value, &mut content);
                rwa::envelope(
                    self.channel,
                    Content::Json(&content),
                    self.timestamp_ms,
                    None,
                )
            }
        };
        let frame = Bytes::from(bytes);
        self.spaces[i].frame = Some(frame.clone());
        frame
    }

    /// The index of `projection`'s space, projecting the message on first use.
    fn space(&mut self, projection: Option<Epsg>) -> usize {
        if let Some(i) = self.spaces.iter().position(|s| s.projection == projection) {
            return i;
        }
        let projected = projection.map(|crs| {
            self.projections += 1;
            let mut v = self.original.clone();
            geojson::project(&mut v, crs).map(|()| v)
        });
        self.spaces.push(Space {
            projection,
            projected,
            summary: None,
            frame: None,
        });
        self.spaces.len() - 1
    }
}

/// The error text for a vertex with no image in `crs`.
pub fn unprojectable_text(p: Unprojectable, crs: Option<Epsg>) -> String {
    format!(
        "cannot project [{}, {}] to epsg:{}: outside the CRS's domain",
        p.lon,
        p.lat,
        crs.map_or(4326, |c| c.0)
    )
}

#[cfg(test)]
#[path = "rwa_tests.rs"]
mod tests;

//! Pub/sub across cores.
//!
//! # Who knows what
//! - A **connection** lives on one core. Its subscriptions are in its `Session` (for counts,
//!   UNSUBSCRIBE without arguments, cleanup) and in its core's [`Local`] registry
//!   (channel → this core's subscribed connections), which delivery reads.
//! - A **channel** has an owner: the shard `shard_for_key(channel)` (hash tags honoured). The
//!   owner's [`Owner`] table counts, per core, the connections subscribed to the channel.
//! - **Patterns** cannot be owned by a channel, so every shard keeps the full pattern table
//!   (pattern → subscribed connections per core). PSUBSCRIBE updates every shard; PUBLISH then
//!   needs no extra hop for patterns.
//!
//! # PUBLISH, step by step
//! 1. The publisher's core sends one task to the channel's owner (none if it is the owner).
//! 2. The owner adds up the exact receivers: the channel's per-core counts plus, for every
//!    pattern that matches (Redis's glob), its per-core counts. That sum is PUBLISH's reply.
//! 3. For every core with at least one receiver the owner posts one delivery (channel,
//!    payload, the matching patterns), batched per peer, in order, and acknowledged
//!    ([`crate::shard::router::Router::post_acked`]); the reply waits for the
//!    acknowledgements, so once PUBLISH returns, every counted receiver has the frame queued.
//!    Cross-core messages per PUBLISH: the request and reply, plus a delivery and an
//!    acknowledgement per *core* with subscribers (both batched with others in flight),
//!    whatever the number of subscribers.
//! 4. The receiving core encodes each frame once per protocol (RESP2 array, RESP3 push) and
//!    queues the same `Bytes` on every subscriber's [`Outbox`]; the connection task writes it,
//!    before the replies of the pipeline it is running (so a client's own pushes come first).
//!
//! Order: one publisher's PUBLISHes reach the owner in order (one connection runs its
//! commands in order; the mesh is FIFO), the owner posts to each core in order, and each core
//! queues in order, so every subscriber sees one publisher's messages on one channel in order.
//!
//! SUBSCRIBE registers locally first, then waits for the owner to count it, and only then
//! replies: a PUBLISH that starts after the confirmation reaches the new subscriber. A
//! connection that unsubscribes (or goes away) while a delivery is in flight may be counted
//! in a PUBLISH's reply and not receive it: the only way the reply can be too high.
//!
//! `/rwa` WebSocket subscribers are counted like any channel subscriber; their core builds
//! JSON envelopes instead of RESP frames, filtered and projected per client ([`rwa`]).
//!
//! # Slow subscribers
//! Pushed frames wait in the connection's [`Outbox`]. Redis's `client-output-buffer-limit
//! pubsub <hard> <soft> <seconds>` applies to it: past the hard limit, or past the soft limit
//! for longer than the period, the connection is closed and its queue freed (INFO stats
//! `client_output_buffer_limit_disconnections`), so no subscriber can grow memory unboundedly.

pub mod notify;
pub mod registry;
pub mod rwa;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use registry::{Kind, Local, Owner};

/// The shard a PUBLISH of `channel` runs on: the channel's owner, or this core's own shard
/// for keyspace-notification channels (counted on every shard).
pub fn channel_shard(core: &crate::core::Core, channel: &[u8]) -> usize {
    if registry::replicated(channel) {
        core.router.shard_id()
    } else {
        crate::shard::shard_for_key(channel, core.nr_shards())
    }
}

/// Frames pushed to one connection and not yet written.
#[derive(Default)]
pub struct Outbox {
    frames: RefCell<VecDeque<Bytes>>,
    bytes: Cell<usize>,
    waker: RefCell<Option<Waker>>,
    /// When the queue last went over the soft limit (cleared when it drops below).
    soft_since: Cell<Option<Instant>>,
    /// The limit was hit: the connection is being closed and takes no more frames.
    overflowed: Cell<bool>,
}

/// Redis's `client-output-buffer-limit` for the pubsub class, in bytes and seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

impl Limits {
    /// The `pubsub` triple of a canonical `client-output-buffer-limit` value.
    pub fn from_param(text: &str) -> Limits {
        let words: Vec<&str> = text.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "pubsub");
        let num = |i: usize| {
            at.and_then(|a| words.get(a + i))
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Limits {
            hard: num(1),
            soft: num(2),
            soft_secs: num(3),
        }
    }
}

impl Outbox {
    pub fn len_bytes(&self) -> usize {
        self.bytes.get()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.borrow().is_empty()
    }

    /// Queues a frame. Returns false if the connection must be closed for exceeding `limits`
    /// (its queue is then freed).
    pub fn push(&self, frame: Bytes, limits: Limits) -> bool {
        if self.overflowed.get() {
            return false;
        }
        let total = self.bytes.get() + frame.len();
        let over_hard = limits.hard > 0 && total as u64 > limits.hard;
        let over_soft = limits.soft > 0 && total as u64 > limits.soft;
        let soft_expired = if over_soft {
            let since = *self.soft_since.get().get_or_insert_with(Instant::now);
            self.soft_since.set(Some(since));
            since.elapsed().as_secs() >= limits.soft_secs
        } else {
            self.soft_since.set(None);
            false
        };
        if over_hard || soft_expired {
            self.overflowed.set(true);
            self.frames.borrow_mut().clear();
            self.bytes.set(0);
            return false;
        }
        self.frames.borrow_mut().push_back(frame);
        self.bytes.set(total);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
        true
    }

    /// Moves every queued frame to `out`.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut frames = self.frames.borrow_mut();
        for f in frames.drain(..) {
            out.extend_from_slice(&f);
        }
        self.bytes.set(0);
        if self.soft_since.get().is_some() {
            self.soft_since.set(None);
        }
    }

    /// Moves every queued frame to `out`, one `Bytes` each (for connections whose frames are
    /// whole messages, such as `/rwa` envelopes).
    pub fn drain_frames(&self, out: &mut Vec<Bytes>) {
        out.extend(self.frames.borrow_mut().drain(..));
        self.bytes.set(0);
        if self.soft_since.get().is_some() {
            self.soft_since.set(None);
        }
    }

    /// Resolves when a frame is queued.
    pub async fn ready(&self) {
        poll_fn(|cx| {
            if !self.frames.borrow().is_empty() {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Appends a RESP bulk string.
fn put_bulk(out: &mut BytesMut, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// `message` / `smessage` (3 items) or `pmessage` (4 items), as an array (RESP2) or a push
/// (RESP3).
pub fn encode_message(
    proto: u8,
    kind: &'static [u8],
    pattern: Option<&[u8]>,
    channel: &[u8],
    payload: &[u8],
) -> Bytes {
    let mut out = BytesMut::with_capacity(channel.len() + payload.len() + 48);
    let head = if proto >= 3 { b'>' } else { b'*' };
    out.extend_from_slice(&[
        head,
        if pattern.is_some() { b'4' } else { b'3' },
        b'\r',
        b'\n',
    ]);
    put_bulk(&mut out, kind);
    if let Some(p) = pattern {
        put_bulk(&mut out, p);
    }
    put_bulk(&mut out, channel);
    put_bulk(&mut out, payload);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_redis_bytes() {
        assert_eq!(
            &encode_message(2, b"message", None, b"ch", b"hi")[..],
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            &encode_message(3, b"pmessage", Some(b"c*"), b"ch", b"")[..],
            b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn limits_parse_the_pubsub_class() {
        let l = Limits::from_param(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        );
        assert_eq!(
            l,
            Limits {
                hard: 33554432,
                soft: 8388608,
                soft_secs: 60
            }
        );
    }

    #[test]
    fn hard_limit_frees_the_queue() {
        let o = Outbox::default();
        let limits = Limits {
            hard: 10,
            soft: 0,
            soft_secs: 0,
        };
        assert!(o.push(Bytes::from_static(b"12345"), limits));
        assert!(!o.push(Bytes::from_static(b"123456"), limits));
        assert_eq!(o.len_bytes(), 0);
        assert!(!o.push(Bytes::from_static(b"1"), limits), "stays closed");
    }

    #[test]
    fn soft_limit_needs_its_period() {
        let o = Outbox::default();
        let limits = Limits {
            hard: 0,
            soft: 4,
            soft_secs: 3600,
        };
        assert!(
            o.push(Bytes::from_static(b"123456"), limits),
            "over soft, period not over"
        );
        let mut out = BytesMut::new();
        o.drain_into(&mut out);
        assert_eq!(&out[..], b"123456");
        let zero = Limits {
            soft_secs: 0,
            ..limits
        };
        assert!(
            !o.push(Bytes::from_static(b"123456"), zero),
            "period 0: at once"
        );
    }
}

//! The two tables of pub/sub (see the module docs of [`super`]): [`Local`], per core, of the
//! connections subscribed here; [`Owner`], per shard, of how many connections on each core
//! are subscribed to the channels it owns and to every pattern. And the two halves of a
//! PUBLISH: [`publish`] on the owner, [`deliver`] on each core with receivers.

use std::cell::RefCell;
use std::rc::Rc;

use ahash::AHashMap;
use bytes::Bytes;

use super::Limits;
use crate::core::{ClientHandle, Core};
use crate::shard::Shard;
use crate::shard::router::ShardOp;
use crate::util::glob::glob_match;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE: a glob over channel names.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH (shard channels).
    Shard,
}

type Subscribers = AHashMap<Bytes, Vec<Rc<ClientHandle>>>;

/// Keyspace-notification channels are counted on every shard, like patterns, so the shard
/// that changed a key publishes its events itself: all events of one shard then reach each
/// subscriber in the order they happened (keyspace and keyevent interleaved as in Redis).
pub fn replicated(channel: &[u8]) -> bool {
    channel.starts_with(b"__keyspace@") || channel.starts_with(b"__keyevent@")
}

/// This core's subscribed connections, by channel, pattern and shard channel.
#[derive(Default)]
pub struct Local {
    channels: RefCell<Subscribers>,
    patterns: RefCell<Subscribers>,
    schannels: RefCell<Subscribers>,
    /// `/rwa` WebSocket subscribers (counted at the owners as channel subscribers).
    pub rwa: super::rwa::Subscribers,
}

impl Local {
    fn table(&self, kind: Kind) -> &RefCell<Subscribers> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.schannels,
        }
    }

    pub fn add(&self, kind: Kind, name: &Bytes, client: &Rc<ClientHandle>) {
        self.table(kind)
            .borrow_mut()
            .entry(name.clone())
            .or_default()
            .push(client.clone());
    }

    pub fn remove(&self, kind: Kind, name: &[u8], client_id: u64) {
        let mut t = self.table(kind).borrow_mut();
        if let Some(list) = t.get_mut(name) {
            list.retain(|c| c.id != client_id);
            if list.is_empty() {
                t.remove(name);
            }
        }
    }
}

/// Subscribed connections per core.
type Counts = Vec<u32>;

/// One shard's view: per-core counts for the channels and shard channels it owns, and for
/// every pattern (patterns are replicated on every shard).
#[derive(Default)]
pub struct Owner {
    channels: AHashMap<Bytes, Counts>,
    patterns: AHashMap<Bytes, Counts>,
    schannels: AHashMap<Bytes, Counts>,
}

impl Owner {
    fn table(&self, kind: Kind) -> &AHashMap<Bytes, Counts> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.schannels,
        }
    }

    /// Adds `delta` (+1 or -1) to core `core`'s count of each name.
    pub fn adjust(
        &mut self,
        kind: Kind,
        names: &[Bytes],
        core: usize,
        nr_cores: usize,
        delta: i32,
    ) {
        let t = match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.schannels,
        };
        for name in names {
            let counts = t.entry(name.clone()).or_insert_with(|| vec![0; nr_cores]);
            counts[core] = counts[core].saturating_add_signed(delta);
            if counts.iter().all(|&c| c == 0) {
                t.remove(name);
            }
        }
    }

    /// Connections subscribed to `name` over all cores.
    pub fn count(&self, kind: Kind, name: &[u8]) -> u64 {
        self.table(kind)
            .get(name)
            .map_or(0, |c| c.iter().map(|&n| n as u64).sum())
    }

    /// The names with subscribers that match `pattern` (all without one); replicated
    /// channels only from shard 0, so the union over shards lists each once.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>, shard_id: usize) -> Vec<Bytes> {
        self.table(kind)
            .keys()
            .filter(|n| shard_id == 0 || kind != Kind::Channel || !replicated(n))
            .filter(|n| pattern.is_none_or(|p| glob_match(p, n, false)))
            .cloned()
            .collect()
    }

    /// Distinct names with subscribers. Replicated channels are counted by shard 0 only, so
    /// the sum over shards counts each channel once.
    pub fn len(&self, kind: Kind, shard_id: usize) -> usize {
        match kind {
            Kind::Channel if shard_id != 0 => {
                self.channels.keys().filter(|c| !replicated(c)).count()
            }
            _ => self.table(kind).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.schannels.is_empty()
    }
}

/// What one core must deliver for one PUBLISH.
struct Delivery {
    exact: bool,
    patterns: Vec<Bytes>,
}

/// PUBLISH / SPUBLISH on the channel's owner: returns the number of receivers and posts the
/// deliveries (one per core with receivers; this core's are made at once).
pub fn publish(shard: &mut Shard, kind: Kind, channel: Bytes, payload: Bytes) -> i64 {
    let n = shard.nr_shards;
    let me = shard.id;
    let mut per_core: Vec<Delivery> = (0..n)
        .map(|_| Delivery {
            exact: false,
            patterns: Vec::new(),
        })
        .collect();
    let mut receivers = 0u64;
    if let Some(counts) = shard.pubsub.table(kind).get(&channel) {
        for (c, &k) in counts.iter().enumerate() {
            if k > 0 {
                receivers += k as u64;
                per_core[c].exact = true;
            }
        }
    }
    if kind == Kind::Channel {
        for (pattern, counts) in &shard.pubsub.patterns {
            if !glob_match(pattern, &channel, false) {
                continue;
            }
            for (c, &k) in counts.iter().enumerate() {
                if k > 0 {
                    receivers += k as u64;
                    per_core[c].patterns.push(pattern.clone());
                }
            }
        }
    }
    let Some(core) = Core::current() else {
        return receivers as i64;
    };
    for (c, d) in per_core.into_iter().enumerate() {
        if !d.exact && d.patterns.is_empty() {
            continue;
        }
        if c == me {
            deliver(&core, kind, &channel, &payload, d.exact, &d.patterns);
            continue;
        }
        let (channel, payload) = (channel.clone(), payload.clone());
        // Acknowledged, so this op's reply (PUBLISH's count, or the reply of the write that
        // raised a keyspace event) leaves only once every receiver has the frame queued.
        let delivered = core.router.post_acked(
            c,
            ShardOp::Task(Box::new(move |_shard| {
                if let Some(core) = Core::current() {
                    deliver(&core, kind, &channel, &payload, d.exact, &d.patterns);
                }
                Box::new(())
            })),
        );
        shard.deferred.push(delivered);
    }
    receivers as i64
}

/// Queues one PUBLISH's frames for this core's receivers: each frame encoded once per
/// protocol and shared by every receiver.
fn deliver(
    core: &Core,
    kind: Kind,
    channel: &Bytes,
    payload: &Bytes,
    exact: bool,
    patterns: &[Bytes],
) {
    let limits = Limits::from_param(core.params.borrow().text("client-output-buffer-limit"));
    let mut closed: Vec<Rc<ClientHandle>> = Vec::new();
    let mut send = |subs: &[Rc<ClientHandle>], pattern: Option<&Bytes>| {
        let mut frames: [Option<Bytes>; 2] = [None, None];
        let name: &'static [u8] = match (kind, pattern) {
            (Kind::Shard, _) => b"smessage",
            (_, Some(_)) => b"pmessage",
            _ => b"message",
        };
        for c in subs {
            let proto = c.meta.borrow().proto;
            let slot = usize::from(proto >= 3);
            let frame = frames[slot]
                .get_or_insert_with(|| {
                    super::encode_message(proto, name, pattern.map(|p| &p[..]), channel, payload)
                })
                .clone();
            if !c.outbox.push(frame, limits) {
                closed.push(c.clone());
            }
        }
    };
    if exact && let Some(subs) = core.pubsub.table(kind).borrow().get(channel) {
        send(subs, None);
    }
    for p in patterns {
        if let Some(subs) = core.pubsub.table(Kind::Pattern).borrow().get(p) {
            send(subs, Some(p));
        }
    }
    if exact && kind == Kind::Channel {
        super::rwa::deliver(core, channel, payload, limits, &mut closed);
    }
    for c in closed {
        if !c.killed.get() {
            tracing::warn!(
                client = c.id,
                "closing a subscriber over its client-output-buffer-limit (pubsub)"
            );
            crate::core::NetStats::add(&core.net.output_limit_disconnections, 1);
            c.kill();
        }
    }
}

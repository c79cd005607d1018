//! Cross-core messaging: how a command reaches the shard that owns its keys.
//!
//! # Protocol
//! Every core joins two full glommio channel meshes with bounded channels:
//! 1. the **request mesh** carries [`Request`]s: a batch of [`ShardOp`]s plus a token;
//! 2. the **response mesh** carries the matching [`Response`] back to the asking core.
//!
//! Step by step, for a connection on core A whose batch targets shard B:
//! 1. A registers a oneshot under a fresh token in its `pending` table and sends one `Request`
//!    (all of the batch's ops for B) on the request mesh. If the A→B channel is full the
//!    connection's task waits there: back-pressure reaches that client's socket, while other
//!    connections on A keep running.
//! 2. B's request task for peer A receives it, runs every op synchronously on B's shard (ops
//!    never await), and sends one `Response` on the response mesh.
//! 3. A's response task for peer B completes the oneshot; the connection task resumes.
//!
//! Two meshes instead of one avoid a deadlock: response tasks never block on anything but their
//! own receive (completing a oneshot cannot block), so responses always drain, so request tasks
//! blocked on sending a response always make progress, so request channels always drain.
//!
//! Ops for the local shard never touch a channel: they run inline.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ahash::AHashMap;
use bytes::Bytes;
use glommio::channels::channel_mesh::{MeshBuilder, Receivers, Senders};

use crate::aof::{self, BatchAppends, Ticket};
use crate::commands::exec::{ExecCtx, run_shard_fn_since};
use crate::commands::spec::CommandSpec;
use crate::protocol::Reply;
use crate::shard::Shard;
use crate::util::oneshot;

/// A closure shipped to another shard. It runs synchronously there and its result is boxed.
pub type ShardTask = Box<dyn FnOnce(&mut Shard) -> Box<dyn Any + Send> + Send>;

/// One unit of work for a shard.
pub enum ShardOp {
    /// Run a command's shard function on `args` in database `db`.
    Exec {
        spec: &'static CommandSpec,
        db: usize,
        args: Vec<Bytes>,
        /// False for the second and later parts of a split command, so one client command
        /// counts as one call in INFO commandstats.
        count_call: bool,
        /// The id of the client that sent it (`slowlog::NO_CLIENT` for none), for the slowlog.
        client: u64,
    },
    /// Run an arbitrary closure (fan-out and multi-step commands).
    Task(ShardTask),
}

pub enum ShardReply {
    Reply(Reply),
    Any(Box<dyn Any + Send>),
}

pub struct Request {
    from: usize,
    token: u64,
    ops: Vec<ShardOp>,
    /// For a posted batch: the sequence number of its last op (acknowledged when run).
    seq: u64,
}

pub struct Response {
    token: u64,
    replies: Vec<ShardReply>,
    from: usize,
    /// For an acknowledgement ([`ACKED`]): posted ops from this core up to here have run.
    seq: u64,
}

/// Work a shard op left to finish before its reply may leave: pub/sub deliveries on other
/// cores that must be queued first (futures resolved by [`Router::post_acked`]).
pub type Deferred = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// What a batch's replies wait for: its log records, and deferred deliveries.
#[derive(Default)]
pub struct Settle {
    pub ticket: Option<Ticket>,
    pub waits: Vec<Deferred>,
}

impl Settle {
    pub fn is_ready(&self) -> bool {
        self.waits.is_empty() && self.ticket.as_ref().is_none_or(Ticket::is_released)
    }
}

/// Waits until a batch's replies may leave (see [`Settle`]).
pub async fn settle(replies: Vec<ShardReply>, s: Settle) -> Vec<ShardReply> {
    for w in s.waits {
        w.await;
    }
    aof::settle(replies, s.ticket).await
}

/// The per-core handle for talking to shards (including its own).
pub struct Router {
    shard_id: usize,
    nr_shards: usize,
    shard: Rc<RefCell<Shard>>,
    requests: Option<Senders<Request>>,
    responses: Option<Senders<Response>>,
    pending: RefCell<AHashMap<u64, oneshot::Sender<Vec<ShardReply>>>>,
    next_token: Cell<u64>,
    /// Fire-and-forget ops waiting to be sent to each peer, in order ([`Router::post`]).
    outq: Vec<Rc<PostQueue>>,
    /// Per peer: sequence number of the last op posted to it, and the last it acknowledged.
    post_seq: Vec<Cell<u64>>,
    acked: Vec<Cell<u64>>,
    ack_waiters: Vec<RefCell<AckWaiters>>,
}

/// Futures waiting for a peer to acknowledge posted ops up to a sequence number.
type AckWaiters = std::collections::VecDeque<(u64, oneshot::Sender<()>)>;

/// Ops posted to one peer: drained, in order and in batches, by one task per peer.
#[derive(Default)]
struct PostQueue {
    ops: RefCell<Vec<ShardOp>>,
    wake: crate::aof::Signal,
    running: Cell<bool>,
}

/// The token of a posted batch: the receiver runs it and answers only with an [`ACKED`].
const POSTED: u64 = 0;
/// The token of an acknowledgement of posted batches (a response carrying only `seq`).
const ACKED: u64 = u64::MAX;

/// A reply that has been asked for and not yet received.
pub enum Pending {
    /// Ran on the local shard; released once settled (see [`Settle`]).
    Ready(Vec<ShardReply>, Settle),
    Remote(oneshot::Receiver<Vec<ShardReply>>),
}

impl Pending {
    /// Waits for the replies. A shard that went away (shutdown) yields an error per op.
    pub async fn wait(self, nr_ops: usize) -> Vec<ShardReply> {
        match self {
            Pending::Ready(r, s) => settle(r, s).await,
            Pending::Remote(rx) => rx.await.unwrap_or_else(|| {
                (0..nr_ops)
                    .map(|_| ShardReply::Reply(Reply::error("ERR shard unavailable")))
                    .collect()
            }),
        }
    }
}

/// Builders for both meshes, created once before the executors start.
#[derive(Clone)]
pub struct MeshBuilders {
    requests: MeshBuilder<Request, glommio::channels::channel_mesh::Full>,
    responses: MeshBuilder<Response, glommio::channels::channel_mesh::Full>,
}

impl MeshBuilders {
    pub fn new(nr_shards: usize, capacity: usize) -> MeshBuilders {
        MeshBuilders {
            requests: MeshBuilder::full(nr_shards, capacity),
            responses: MeshBuilder::full(nr_shards, capacity),
        }
    }
}

/// Runs a batch of ops on `shard`, in order, appending each op's effects to the shard's log.
/// The replies must not leave before the returned [`Settle`] is settled ([`settle`]).
pub fn run_ops(shard: &mut Shard, ops: Vec<ShardOp>) -> (Vec<ShardReply>, Settle) {
    let mut replies = Vec::with_capacity(ops.len());
    let settle = run_ops_into(shard, ops, &mut replies);
    (replies, settle)
}

/// [`run_ops`] into a caller's (empty) vector, so a connection running its local ops reuses
/// one reply vector for every batch.
pub fn run_ops_into(
    shard: &mut Shard,
    ops: impl IntoIterator<Item = ShardOp>,
    replies: &mut Vec<ShardReply>,
) -> Settle {
    debug_assert!(replies.is_empty());
    let mut appends = BatchAppends::default();
    // Each op is timed from the end of the one before: one clock read per op.
    let mut clock = crate::util::mono_ns();
    for (idx, op) in ops.into_iter().enumerate() {
        let mut cmd = "";
        let before = BatchAppends::position(shard);
        let reply = match op {
            ShardOp::Exec { spec, .. } if spec.is_write() && BatchAppends::refuse_write(shard) => {
                ShardReply::Reply(aof::misconf())
            }
            ShardOp::Exec {
                spec,
                db,
                args,
                count_call,
                client,
            } => {
                cmd = spec.name;
                let mut ctx = ExecCtx::new(shard, db);
                let (reply, ended) =
                    run_shard_fn_since(&mut ctx, spec, &args, count_call, client, clock);
                clock = ended;
                ShardReply::Reply(reply)
            }
            ShardOp::Task(f) => {
                let r = f(shard);
                clock = crate::util::mono_ns();
                cmd = shard.notify_cmd.take().unwrap_or("");
                ShardReply::Any(r)
            }
        };
        if shard.blocked.has_ready() {
            // Serve clients blocked on keys this op pushed to, before the next op runs.
            crate::commands::blocking::serve_ready(shard);
        }
        replies.push(reply);
        appends.after_op(shard, idx, cmd, before);
    }
    let ticket = appends.finish(shard, replies);
    let waits = std::mem::take(&mut shard.deferred);
    Settle { ticket, waits }
}

impl Router {
    /// Joins the meshes (every core must call this) and spawns the tasks that serve requests
    /// from peers and deliver their responses.
    pub async fn start(
        builders: MeshBuilders,
        shard: Rc<RefCell<Shard>>,
        shard_id: usize,
        nr_shards: usize,
    ) -> Rc<Router> {
        if nr_shards == 1 {
            return Rc::new(Router::local_only(shard));
        }
        let (req_tx, req_rx) = join(builders.requests).await;
        let (resp_tx, resp_rx) = join(builders.responses).await;
        assert_eq!(
            req_tx.peer_id(),
            shard_id,
            "mesh order must match shard order"
        );
        assert_eq!(
            resp_tx.peer_id(),
            shard_id,
            "mesh order must match shard order"
        );
        let router = Rc::new(Router {
            shard_id,
            nr_shards,
            shard,
            requests: Some(req_tx),
            responses: Some(resp_tx),
            pending: RefCell::new(AHashMap::new()),
            next_token: Cell::new(1),
            outq: (0..nr_shards).map(|_| Rc::default()).collect(),
            post_seq: (0..nr_shards).map(|_| Cell::new(0)).collect(),
            acked: (0..nr_shards).map(|_| Cell::new(0)).collect(),
            ack_waiters: (0..nr_shards).map(|_| RefCell::default()).collect(),
        });
        spawn_request_servers(router.clone(), req_rx);
        spawn_response_readers(router.clone(), resp_rx);
        router
    }

    fn local_only(shard: Rc<RefCell<Shard>>) -> Router {
        Router {
            shard_id: 0,
            nr_shards: 1,
            shard,
            requests: None,
            responses: None,
            pending: RefCell::new(AHashMap::new()),
            next_token: Cell::new(1),
            outq: vec![Rc::default()],
            post_seq: vec![Cell::new(0)],
            acked: vec![Cell::new(0)],
            ack_waiters: vec![RefCell::default()],
        }
    }

    pub fn shard_id(&self) -> usize {
        self.shard_id
    }

    pub fn nr_shards(&self) -> usize {
        self.nr_shards
    }

    /// The local shard, for synchronous use by code on this core. Never hold the borrow across
    /// an await.
    pub fn local(&self) -> &Rc<RefCell<Shard>> {
        &self.shard
    }

    /// Sends `ops` to `target` (or runs them now if local). Await the returned [`Pending`]
    /// later, so several shards can work at once.
    pub async fn send(&self, target: usize, ops: Vec<ShardOp>) -> Pending {
        if target == self.shard_id {
            let (replies, s) = run_ops(&mut self.shard.borrow_mut(), ops);
            return Pending::Ready(replies, s);
        }
        let mut token = self.next_token.get();
        if token == POSTED {
            token = 1;
        }
        self.next_token.set(token.wrapping_add(1));
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(token, tx);
        let req = Request {
            from: self.shard_id,
            token,
            ops,
            seq: 0,
        };
        let sent = match &self.requests {
            Some(s) => s.send_to(target, req).await.is_ok(),
            None => false,
        };
        if !sent {
            // Dropping the sender makes the receiver yield `None`: reported as unavailable.
            self.pending.borrow_mut().remove(&token);
        }
        Pending::Remote(rx)
    }

    /// Queues `op` for `target` without waiting for it or for any answer (pub/sub deliveries).
    /// Ops posted to one target run there in the order they were posted; ops posted while a
    /// batch is in flight go together in the next one. On this shard it runs at once.
    ///
    /// Never post to this core's own shard from code that holds the shard's borrow.
    pub fn post(self: &Rc<Self>, target: usize, op: ShardOp) {
        if target == self.shard_id {
            let _ = run_ops(&mut self.shard.borrow_mut(), vec![op]);
            return;
        }
        self.enqueue(target, op);
    }

    /// [`Router::post`] to another core, returning a future that resolves once `target` has
    /// run the op (posted ops are acknowledged in batches, over the response mesh).
    pub fn post_acked(self: &Rc<Self>, target: usize, op: ShardOp) -> Deferred {
        let seq = self.enqueue(target, op);
        let (tx, rx) = oneshot::channel();
        if seq <= self.acked[target].get() {
            tx.send(());
        } else {
            self.ack_waiters[target].borrow_mut().push_back((seq, tx));
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }

    /// Records an acknowledgement from `peer` and wakes what waited for it.
    fn acknowledge(&self, peer: usize, seq: u64) {
        if seq > self.acked[peer].get() {
            self.acked[peer].set(seq);
        }
        let mut ready = Vec::new();
        {
            let mut w = self.ack_waiters[peer].borrow_mut();
            while w.front().is_some_and(|(s, _)| *s <= seq) {
                if let Some((_, tx)) = w.pop_front() {
                    ready.push(tx);
                }
            }
        }
        for tx in ready {
            tx.send(());
        }
    }

    /// Queues `op` for `target`'s drain task; returns the op's sequence number.
    fn enqueue(self: &Rc<Self>, target: usize, op: ShardOp) -> u64 {
        let seq = self.post_seq[target].get() + 1;
        self.post_seq[target].set(seq);
        let q = &self.outq[target];
        q.ops.borrow_mut().push(op);
        q.wake.notify();
        if !q.running.replace(true) {
            let router = self.clone();
            let q = q.clone();
            glommio::spawn_local(async move {
                loop {
                    let ops = std::mem::take(&mut *q.ops.borrow_mut());
                    if ops.is_empty() {
                        q.wake.wait().await;
                        continue;
                    }
                    let req = Request {
                        from: router.shard_id,
                        token: POSTED,
                        ops,
                        seq: router.post_seq[target].get(),
                    };
                    let sent = match &router.requests {
                        Some(s) => s.send_to(target, req).await.is_ok(),
                        None => false,
                    };
                    if !sent {
                        return;
                    }
                }
            })
            .detach();
        }
        seq
    }

    /// Sends `ops` to `target` and waits for the replies.
    pub async fn call(&self, target: usize, ops: Vec<ShardOp>) -> Vec<ShardReply> {
        let n = ops.len();
        self.send(target, ops).await.wait(n).await
    }

    /// Runs `f` on shard `target` and returns its result.
    pub async fn run_on<T, F>(&self, target: usize, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Shard) -> T + Send + 'static,
    {
        let task: ShardTask = Box::new(move |s| Box::new(f(s)) as Box<dyn Any + Send>);
        let mut replies = self.call(target, vec![ShardOp::Task(task)]).await;
        match replies.pop() {
            Some(ShardReply::Any(b)) => b.downcast::<T>().ok().map(|b| *b),
            _ => None,
        }
    }

    /// Runs `f` on every shard concurrently; results in shard order (`None` for a shard that
    /// did not answer).
    pub async fn run_on_all<T, F>(&self, f: F) -> Vec<Option<T>>
    where
        T: Send + 'static,
        F: Fn(&mut Shard) -> T + Send + Clone + 'static,
    {
        let mut pending = Vec::with_capacity(self.nr_shards);
        for target in 0..self.nr_shards {
            let f = f.clone();
            let task: ShardTask = Box::new(move |s| Box::new(f(s)) as Box<dyn Any + Send>);
            pending.push(self.send(target, vec![ShardOp::Task(task)]).await);
        }
        let mut out = Vec::with_capacity(self.nr_shards);
        for p in pending {
            let r = match p.wait(1).await.pop() {
                Some(ShardReply::Any(b)) => b.downcast::<T>().ok().map(|b| *b),
                _ => None,
            };
            out.push(r);
        }
        out
    }

    /// Sends a batch's replies back to the core that asked. False if that core is gone.
    async fn send_response(
        &self,
        to: usize,
        token: u64,
        replies: Vec<ShardReply>,
        seq: u64,
    ) -> bool {
        let resp = Response {
            token,
            replies,
            from: self.shard_id,
            seq,
        };
        match &self.responses {
            Some(tx) => tx.send_to(to, resp).await.is_ok(),
            None => false,
        }
    }

    fn complete(&self, token: u64, replies: Vec<ShardReply>) {
        if let Some(tx) = self.pending.borrow_mut().remove(&token) {
            tx.send(replies);
        }
    }
}

async fn join<T: Send + 'static>(
    b: MeshBuilder<T, glommio::channels::channel_mesh::Full>,
) -> (Senders<T>, Receivers<T>) {
    match b.join().await {
        Ok(pair) => pair,
        Err(e) => panic!("joining the shard mesh failed: {e}"),
    }
}

fn spawn_request_servers(router: Rc<Router>, mut rx: Receivers<Request>) {
    for (_peer, stream) in rx.streams() {
        let router = router.clone();
        glommio::spawn_local(async move {
            while let Some(req) = stream.recv().await {
                let (replies, s) = run_ops(&mut router.shard.borrow_mut(), req.ops);
                let (from, token, seq) = (req.from, req.token, req.seq);
                let (token, seq) = if token == POSTED {
                    (ACKED, seq)
                } else {
                    (token, 0)
                };
                if s.is_ready() {
                    if !router.send_response(from, token, replies, seq).await {
                        break;
                    }
                    continue;
                }
                // Wait for the log (and deliveries) in a task of its own, so this peer's next
                // batch runs (and shares the next fdatasync) meanwhile.
                let router = router.clone();
                glommio::spawn_local(async move {
                    let replies = settle(replies, s).await;
                    router.send_response(from, token, replies, seq).await;
                })
                .detach();
            }
        })
        .detach();
    }
}

fn spawn_response_readers(router: Rc<Router>, mut rx: Receivers<Response>) {
    for (_peer, stream) in rx.streams() {
        let router = router.clone();
        glommio::spawn_local(async move {
            while let Some(resp) = stream.recv().await {
                if resp.token == ACKED {
                    router.acknowledge(resp.from, resp.seq);
                } else {
                    router.complete(resp.token, resp.replies);
                }
            }
        })
        .detach();
    }
}

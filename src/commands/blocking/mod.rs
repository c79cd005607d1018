//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP; BZPOP* can join): a client
//! waits on keys that may live on any shard and is served once, in Redis's FIFO order.
//!
//! # Protocol, step by step
//! 1. The command is coordinated on the client's core ([`block`]). It puts a oneshot in this
//!    core's table of waiting sessions (`WAITING`, by waiter id) and creates the waiter's
//!    *claim*, an `Arc<AtomicBool>` shared by the client core and the shards it registers on.
//! 2. For every run of consecutive keys living on one shard, in key order, it runs
//!    *register-or-serve* there: the run's keys are tried in order (the non-blocking
//!    form); if one has data, the shard wins the claim and serves at once; otherwise the waiter
//!    joins the FIFO queue of each of those keys ([`ShardWaiters`]). Checking and registering
//!    in one shard op means a push between the first try and the registration is never missed.
//!    Inside MULTI nothing registers: the first try's answer (or the timeout reply) is final.
//! 3. A push to a key with waiters (`signal`, called by LPUSH/RPUSH/LINSERT/LMOVE's push)
//!    marks the key ready. Right after the op that pushed, before the next op on that shard
//!    (`shard::router::run_ops`, one branch when nobody waits), the shard serves the key's
//!    waiters in FIFO order while it has data: it wins each waiter's claim with a
//!    compare-exchange (a waiter whose claim is taken is stale and dropped), pops and journals
//!    the pop (so the log reads push, then pop), and posts the result to the waiter's core.
//!    Under appendfsync always the delivery first waits for the pop record to be durable.
//! 4. The client core waits for the delivery, its timeout, or its connection going away. On
//!    timeout or disconnect it tries the claim itself: winning means no shard will serve it, so
//!    it answers the timeout reply and posts *unregister* to the shards. Losing means a value
//!    is already in flight: it waits for it; on a disconnect it then runs the served value's
//!    `undo` command (LPUSH back to the head it came from), so nothing is lost.
//! 5. BLMOVE served on the source's shard moves atomically when the destination lives there
//!    too; otherwise the delivery carries a `then` command (the push) that the client core runs
//!    on the destination's shard before replying (non-atomic, like LMOVE across shards).
//!
//! # Why one shared atomic
//! The claim is the only word shared between cores here: a waiter registered on several
//! shards must be served at most once, and the shards serve concurrently. A message round trip
//! through the client core before each serve would put a hop in every push's path and let a
//! second push be served in between; a compare-exchange on a flag the waiter owns settles it
//! in the serving shard's op. It is not a lock (nobody waits on it) and not a shared map.
//!
//! # Type-agnostic
//! A waiter names its keys, a [`WaitSpec`] and a [`ServeFn`]; the list family supplies
//! `lists::serve`. A sorted-set BZPOPMIN needs its own serve function and a coordinated entry
//! that calls [`block`].

pub mod lists;
mod now;
pub mod zsets;

pub use now::{answer_now, parse_timeout};

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ahash::AHashMap;
use bytes::Bytes;

use crate::commands::exec::ExecCtx;
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::shard::router::ShardOp;
use crate::shard::{Shard, shard_for_key};
use crate::util::oneshot;

/// Clients blocked on any core (INFO `blocked_clients`).
pub static BLOCKED_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// How often a blocked client checks that its connection is still there.
const DISCONNECT_POLL_MS: u64 = 100;

/// What a waiter wants, as its serve function reads it.
#[derive(Clone, Debug)]
pub struct WaitSpec {
    /// Pop from the head (BLPOP, BLMOVE LEFT, BZPOPMIN) or the tail.
    pub from_front: bool,
    /// Elements per pop (BLMPOP / BZMPOP COUNT); 1 otherwise.
    pub count: usize,
    /// The reply names the key and carries an array of values (BLMPOP, BZMPOP).
    pub multi: bool,
    /// BLMOVE / BRPOPLPUSH: destination key, and whether it is pushed at its head.
    pub dst: Option<(Bytes, bool)>,
}

/// What a served waiter gets.
pub struct Served {
    pub reply: Reply,
    /// A command (key at position 1) that puts the served elements back, run if the client
    /// went away before the reply could be sent.
    pub undo: Option<Vec<Bytes>>,
    /// A command the client core runs (on its key's shard) before replying: BLMOVE's push
    /// when the destination lives on another shard.
    pub then: Option<Vec<Bytes>>,
}

/// The claim a serving shard must win (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Claim(Arc<AtomicBool>);

impl Claim {
    /// Takes the claim; false if somebody else already did.
    pub fn take(&self) -> bool {
        self.0
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn is_taken(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Serves a waiter from `key` on this shard: `Ok(None)` when the key has nothing to give
/// (the waiter stays), an error for the first try's WRONGTYPE. Must take the claim (and
/// give up if it cannot) before changing anything.
pub type ServeFn = fn(&mut ExecCtx<'_>, &Bytes, &WaitSpec, &Claim) -> Result<Option<Served>, Reply>;

/// One waiter, as registered on one shard.
#[derive(Clone)]
struct Waiter {
    id: u64,
    core: usize,
    db: usize,
    /// Its keys on this shard.
    keys: Vec<Bytes>,
    claim: Claim,
    spec: Arc<WaitSpec>,
    serve: ServeFn,
}

/// A shard's waiters: per (db, key), a FIFO queue; and keys pushed to since the last serve.
#[derive(Default)]
pub struct ShardWaiters {
    queues: AHashMap<(usize, Bytes), VecDeque<Waiter>>,
    ready: VecDeque<(usize, Bytes)>,
}

impl ShardWaiters {
    /// Whether some key got data for its waiters (the check on the op path).
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn remove(&mut self, db: usize, id: u64, keys: &[Bytes]) {
        for k in keys {
            let slot = (db, k.clone());
            if let Some(q) = self.queues.get_mut(&slot) {
                q.retain(|w| w.id != id);
                if q.is_empty() {
                    self.queues.remove(&slot);
                }
            }
        }
    }
}

/// Marks `key` ready if clients wait on it (called by every push).
pub fn signal(ctx: &mut ExecCtx<'_>, key: &Bytes) {
    let w = &mut ctx.shard.blocked;
    if w.queues.is_empty() {
        return;
    }
    let slot = (ctx.db, key.clone());
    if w.queues.contains_key(&slot) && !w.ready.contains(&slot) {
        w.ready.push_back(slot);
    }
}

/// Serves the waiters of every ready key, FIFO, while the keys have data.
pub fn serve_ready(shard: &mut Shard) {
    while let Some((db, key)) = shard.blocked.ready.pop_front() {
        loop {
            let slot = (db, key.clone());
            let Some(w) = shard
                .blocked
                .queues
                .get(&slot)
                .and_then(|q| q.front().cloned())
            else {
                shard.blocked.queues.remove(&slot);
                break;
            };
            if w.claim.is_taken() {
                shard.blocked.remove(db, w.id, &w.keys);
                continue;
            }
            let served = (w.serve)(&mut ExecCtx::new(shard, db), &key, &w.spec, &w.claim);
            if !w.claim.is_taken() {
                break;
            }
            shard.blocked.remove(db, w.id, &w.keys);
            if let Ok(Some(s)) = served {
                deliver(shard, w.core, w.id, s);
            }
        }
    }
}

/// Sends a served waiter its result once its pop record may be acknowledged.
fn deliver(shard: &mut Shard, core: usize, id: u64, mut served: Served) {
    let lsn = match crate::aof::append_effects(shard, "blocked") {
        Ok(lsn) => lsn,
        Err(_) => {
            served.reply = crate::aof::misconf();
            0
        }
    };
    let aof = shard.aof.clone().filter(|a| lsn > 0 && !a.is_released(lsn));
    let local = shard.id;
    match aof {
        None => send(local, core, id, served),
        Some(aof) => {
            aof.wake.notify();
            glommio::spawn_local(async move {
                if !aof.wait(lsn).await {
                    served.reply = crate::aof::misconf();
                }
                send(local, core, id, served);
            })
            .detach();
        }
    }
}

fn send(local: usize, core: usize, id: u64, served: Served) {
    if core == local {
        complete(id, served);
        return;
    }
    let Some(c) = Core::current() else {
        return;
    };
    c.router.post(
        core,
        ShardOp::Task(Box::new(move |_s| {
            complete(id, served);
            Box::new(())
        })),
    );
}

thread_local! {
    /// This core's blocked sessions, by waiter id: where deliveries land.
    static WAITING: RefCell<AHashMap<u64, oneshot::Sender<Served>>> = RefCell::new(AHashMap::new());
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
    /// Time the last blocking command on this core spent waiting, taken by the stats code so
    /// latency and the slowlog count execution only, as Redis does.
    static WAITED_NS: Cell<u64> = const { Cell::new(0) };
    /// This core's blocked clients by client id, for CLIENT UNBLOCK (true: with an error).
    static UNBLOCKERS: RefCell<AHashMap<u64, oneshot::Sender<bool>>> = RefCell::new(AHashMap::new());
}

/// Takes the time the last blocking command spent waiting (0 if none).
pub fn take_waited_ns() -> u64 {
    WAITED_NS.with(|w| w.replace(0))
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: 1 if that client was blocked (on any core).
pub async fn client_unblock(core: &Core, args: &[Bytes]) -> Reply {
    let Some(id) = crate::util::parse_i64(&args[0]) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    let error = match args.get(1) {
        None => false,
        Some(r) if r.eq_ignore_ascii_case(b"TIMEOUT") => false,
        Some(r) if r.eq_ignore_ascii_case(b"ERROR") => true,
        Some(_) => {
            return Reply::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    };
    let id = id as u64;
    let found = core
        .router
        .run_on_all(move |_s| {
            UNBLOCKERS
                .with(|u| u.borrow_mut().remove(&id))
                .map(|tx| tx.send(error))
                .is_some()
        })
        .await;
    Reply::Integer(found.into_iter().any(|f| f == Some(true)) as i64)
}

fn complete(id: u64, served: Served) {
    if let Some(tx) = WAITING.with(|w| w.borrow_mut().remove(&id)) {
        tx.send(served);
    }
}

/// A blocking request, parsed.
pub struct Block {
    pub db: usize,
    pub keys: Vec<Bytes>,
    /// `None`: forever.
    pub timeout_ms: Option<u64>,
    pub spec: WaitSpec,
    pub serve: ServeFn,
    /// What a timeout answers.
    pub timeout_reply: Reply,
    /// What the command answers inside MULTI when there is nothing to serve.
    pub multi_reply: Reply,
}

/// What woke a blocked client.
enum Wake {
    Served(Option<Served>),
    /// CLIENT UNBLOCK (true: with an error).
    Unblocked(bool),
    Tick,
}

/// What register-or-serve found on one shard.
enum Outcome {
    Served(Served),
    Registered,
    /// Another shard won the claim: a delivery is on its way.
    Lost,
    Failed(Reply),
}

fn register_or_serve(s: &mut Shard, w: Waiter, register: bool) -> Outcome {
    for key in &w.keys {
        if w.claim.is_taken() {
            return Outcome::Lost;
        }
        match (w.serve)(&mut ExecCtx::new(s, w.db), key, &w.spec, &w.claim) {
            Ok(Some(served)) => return Outcome::Served(served),
            Ok(None) if w.claim.is_taken() => return Outcome::Lost,
            Ok(None) => {}
            Err(e) => {
                return if w.claim.take() {
                    Outcome::Failed(e)
                } else {
                    Outcome::Lost
                };
            }
        }
    }
    if register {
        for key in &w.keys {
            s.blocked
                .queues
                .entry((w.db, key.clone()))
                .or_default()
                .push_back(w.clone());
        }
    }
    Outcome::Registered
}

/// Runs a blocking request for `sess` (see the module docs).
pub async fn block(core: &Core, sess: &Session, b: Block) -> Reply {
    let n = core.nr_shards();
    let local = core.router.shard_id();
    // Unique across cores: shards hold waiters from every core and remove them by id.
    let id = NEXT_ID.with(|c| {
        let v = c.get();
        c.set(v + 1);
        v
    }) * n as u64
        + local as u64;
    let claim = Claim::default();
    let spec = Arc::new(b.spec);
    let (tx, mut rx) = oneshot::channel();
    WAITING.with(|w| w.borrow_mut().insert(id, tx));
    // Runs of consecutive keys on one shard, so the first try honours the key order exactly
    // (a shard may appear in several runs; each run registers separately).
    let mut groups: Vec<(usize, Vec<Bytes>)> = Vec::new();
    let mut seen = ahash::AHashSet::with_capacity(b.keys.len());
    for k in &b.keys {
        if !seen.insert(k) {
            continue;
        }
        let s = shard_for_key(k, n);
        match groups.last_mut() {
            Some((g, keys)) if *g == s => keys.push(k.clone()),
            _ => groups.push((s, vec![k.clone()])),
        }
    }
    let register = !sess.in_exec;
    let mut registered: Vec<(usize, Vec<Bytes>)> = Vec::new();
    let mut result: Option<Served> = None;
    let mut lost = false;
    for (shard, keys) in groups {
        let w = Waiter {
            id,
            core: local,
            db: b.db,
            keys: keys.clone(),
            claim: claim.clone(),
            spec: spec.clone(),
            serve: b.serve,
        };
        let outcome = core
            .router
            .run_on(shard, move |s| register_or_serve(s, w, register))
            .await;
        match outcome {
            None => {
                if claim.take() {
                    WAITING.with(|w| w.borrow_mut().remove(&id));
                    unregister(core, b.db, id, &registered);
                    return Reply::error("ERR shard unavailable");
                }
                lost = true;
                break;
            }
            Some(Outcome::Registered) => registered.push((shard, keys)),
            Some(Outcome::Served(s)) => {
                result = Some(s);
                break;
            }
            Some(Outcome::Lost) => {
                lost = true;
                break;
            }
            Some(Outcome::Failed(e)) => {
                unregister(core, b.db, id, &registered);
                WAITING.with(|w| w.borrow_mut().remove(&id));
                return e;
            }
        }
    }
    if result.is_none() && !lost {
        if !register {
            WAITING.with(|w| w.borrow_mut().remove(&id));
            return b.multi_reply;
        }
        let _blocked = BlockedGuard::new(sess);
        let (unblock_tx, mut unblock_rx) = oneshot::channel();
        UNBLOCKERS.with(|u| u.borrow_mut().insert(sess.id(), unblock_tx));
        // A deadline past what Instant can hold is no deadline.
        let deadline = b
            .timeout_ms
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
        loop {
            let tick = Duration::from_millis(DISCONNECT_POLL_MS);
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(tick),
                None => tick,
            };
            let got = futures_lite::future::or(async { Wake::Served((&mut rx).await) }, async {
                futures_lite::future::or(
                    async { Wake::Unblocked((&mut unblock_rx).await.unwrap_or(false)) },
                    async {
                        glommio::timer::sleep(wait).await;
                        Wake::Tick
                    },
                )
                .await
            })
            .await;
            let unblocked = match got {
                Wake::Served(s) => {
                    result = s;
                    break;
                }
                Wake::Unblocked(error) => Some(error),
                Wake::Tick => None,
            };
            let gone = disconnected(sess);
            let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
            if !gone && !timed_out && unblocked.is_none() {
                continue;
            }
            if claim.take() {
                WAITING.with(|w| w.borrow_mut().remove(&id));
                UNBLOCKERS.with(|u| u.borrow_mut().remove(&sess.id()));
                unregister(core, b.db, id, &registered);
                if unblocked == Some(true) {
                    return Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                }
                return b.timeout_reply;
            }
            lost = true;
            break;
        }
    }
    UNBLOCKERS.with(|u| u.borrow_mut().remove(&sess.id()));
    if result.is_none() && lost {
        result = (&mut rx).await;
    }
    WAITING.with(|w| w.borrow_mut().remove(&id));
    unregister(core, b.db, id, &registered);
    let Some(served) = result else {
        return Reply::error("ERR shard unavailable");
    };
    finish(core, sess, b.db, served).await
}

/// Runs a served value's follow-up (BLMOVE's push elsewhere), or puts it back when the
/// client is gone.
async fn finish(core: &Core, sess: &Session, db: usize, served: Served) -> Reply {
    if let Some(then) = served.then {
        let r = run_command(core, db, then).await;
        if r.is_error() {
            if let Some(undo) = served.undo {
                run_command(core, db, undo).await;
            }
            return r;
        }
        return served.reply;
    }
    if disconnected(sess)
        && let Some(undo) = served.undo
    {
        run_command(core, db, undo).await;
    }
    served.reply
}

/// Runs a command (key at position 1) on its key's shard.
async fn run_command(core: &Core, db: usize, args: Vec<Bytes>) -> Reply {
    let Some(spec) = crate::commands::lookup(&args[0]) else {
        return Reply::error("ERR internal: unknown follow-up command");
    };
    let shard = shard_for_key(&args[1], core.nr_shards());
    core.router
        .run_on(shard, move |s| {
            crate::commands::exec::run_shard_fn(&mut ExecCtx::new(s, db), spec, &args, false)
        })
        .await
        .unwrap_or_else(|| Reply::error("ERR shard unavailable"))
}

fn unregister(core: &Core, db: usize, id: u64, registered: &[(usize, Vec<Bytes>)]) {
    for (shard, keys) in registered {
        let keys = keys.clone();
        core.router.post(
            *shard,
            ShardOp::Task(Box::new(move |s| {
                s.blocked.remove(db, id, &keys);
                Box::new(())
            })),
        );
    }
}

/// Whether the client was killed or closed its side of the connection.
fn disconnected(sess: &Session) -> bool {
    if sess.handle.killed.get() {
        return true;
    }
    let mut b = [0u8; 1];
    // SAFETY: `fd` is this connection's open socket (the session outlives this call); a
    // one-byte peek into a local buffer neither consumes data nor blocks.
    let n = unsafe {
        libc::recv(
            sess.handle.fd,
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n == 0
}

/// Counts a client as blocked (INFO blocked_clients, CLIENT LIST flag `b`) while alive.
struct BlockedGuard<'a>(&'a Session, Instant);

impl<'a> BlockedGuard<'a> {
    fn new(sess: &'a Session) -> BlockedGuard<'a> {
        BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
        sess.handle.meta.borrow_mut().blocked = true;
        BlockedGuard(sess, Instant::now())
    }
}

impl Drop for BlockedGuard<'_> {
    fn drop(&mut self) {
        let waited = self.1.elapsed().as_nanos() as u64;
        WAITED_NS.with(|w| w.set(w.get().saturating_add(waited)));
        BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
        self.0.handle.meta.borrow_mut().blocked = false;
    }
}

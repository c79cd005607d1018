//! Executes a pipeline read from one connection, in request order.
//!
//! # How a pipeline runs
//! 1. Each request is looked up once and checked (unknown command, arity, authentication);
//!    refusals become ready replies without touching a shard.
//! 2. Shard commands are appended to a per-shard op list of the current *segment*; a command
//!    whose keys live on several shards (MGET, DEL, MSET...) is split into one op per shard
//!    and remembered as a merge.
//! 3. A coordinated command (SELECT, HELLO, INFO, RENAME...) is a *barrier*: the segment before
//!    it is flushed first, so it observes every earlier command's effect, and a protocol change
//!    (HELLO) applies exactly from the next reply on.
//! 4. Flushing a segment sends one message per remote shard (all sent before any is awaited,
//!    so shards work in parallel), runs the local shard's ops inline, then encodes every reply
//!    in request order.
//!
//! Commands for one shard keep their relative order; commands for different shards touch
//! disjoint keys, so their relative order within a segment is unobservable by this client.

use bytes::{Bytes, BytesMut};

use crate::commands::spec::{CommandSpec, Exec, Merge, flag};
use crate::commands::{coord, monitor, transactions};
use crate::commands::{lookup, stats::CommandStats};
use crate::core::{Core, NetStats, Session};
use crate::protocol::Reply;
use crate::shard::router::{Pending, ShardOp, ShardReply, run_ops_into, settle};
use crate::shard::shard_for_key;

enum Slot {
    Ready(Reply),
    Op {
        shard: usize,
        idx: usize,
    },
    Split {
        merge: Merge,
        nkeys: usize,
        parts: Vec<Part>,
    },
}

struct Part {
    shard: usize,
    idx: usize,
    /// Position, in the request's key order, of each key this part carries.
    positions: Vec<usize>,
}

/// Where replies go: encoded onto the connection's output, or collected (EXEC).
pub trait ReplySink {
    fn push(&mut self, reply: Reply, proto: u8);
    /// Writes the connection's queued pub/sub frames ahead of the next reply (the output
    /// stream only; collected replies leave them for later).
    fn push_outbox(&mut self, _outbox: &crate::pubsub::Outbox) {}
}

impl ReplySink for BytesMut {
    fn push(&mut self, reply: Reply, proto: u8) {
        reply.encode(proto, self);
    }

    fn push_outbox(&mut self, outbox: &crate::pubsub::Outbox) {
        if !outbox.is_empty() {
            outbox.drain_into(self);
        }
    }
}

/// Collects replies as values (for EXEC's array).
#[derive(Default)]
pub struct Collect(pub Vec<Reply>);

impl ReplySink for Collect {
    fn push(&mut self, reply: Reply, _proto: u8) {
        self.0.push(reply);
    }
}

/// The segment being accumulated between barriers.
struct Segment {
    ops: Vec<Vec<ShardOp>>,
    slots: Vec<Slot>,
    /// Replies per shard while a flush merges them (empty between flushes).
    results: Vec<Vec<ShardReply>>,
}

thread_local! {
    /// Segments of finished pipelines, kept with their capacity: a pipeline takes one and
    /// gives it back, so steady traffic allocates no per-pipeline vectors. Pipelines of one
    /// core interleave at awaits, hence a small pool rather than one.
    static SEGMENTS: std::cell::RefCell<Vec<Segment>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Segments kept in a core's pool at most.
const POOLED_SEGMENTS: usize = 64;
/// A segment whose vectors grew beyond this many entries is not pooled.
const POOLED_SEGMENT_CAPACITY: usize = 4096;

impl Segment {
    fn new(nr_shards: usize) -> Segment {
        let pooled = SEGMENTS.with(|p| p.borrow_mut().pop());
        match pooled {
            Some(seg) if seg.ops.len() == nr_shards => seg,
            _ => Segment {
                ops: (0..nr_shards).map(|_| Vec::new()).collect(),
                slots: Vec::new(),
                results: (0..nr_shards).map(|_| Vec::new()).collect(),
            },
        }
    }

    /// Returns an emptied segment to the pool.
    fn recycle(self) {
        let small = self.slots.capacity() <= POOLED_SEGMENT_CAPACITY
            && self
                .ops
                .iter()
                .all(|o| o.is_empty() && o.capacity() <= POOLED_SEGMENT_CAPACITY)
            && self
                .results
                .iter()
                .all(|r| r.is_empty() && r.capacity() <= POOLED_SEGMENT_CAPACITY);
        if small && self.slots.is_empty() {
            SEGMENTS.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < POOLED_SEGMENTS {
                    p.push(self);
                }
            });
        }
    }

    fn push_op(&mut self, shard: usize, op: ShardOp) -> usize {
        self.ops[shard].push(op);
        self.ops[shard].len() - 1
    }

    /// Runs the accumulated ops and encodes every reply, in order, into `out`.
    async fn flush<S: ReplySink>(
        &mut self,
        core: &Core,
        proto: u8,
        outbox: Option<&crate::pubsub::Outbox>,
        out: &mut S,
    ) {
        if self.slots.is_empty() {
            return;
        }
        let router = &core.router;
        let local = router.shard_id();
        let results = &mut self.results;
        let mut pending: Vec<(usize, usize, Pending)> = Vec::new();
        for (shard, ops) in self.ops.iter_mut().enumerate() {
            if shard != local && !ops.is_empty() {
                let n = ops.len();
                pending.push((shard, n, router.send(shard, std::mem::take(ops)).await));
            }
        }
        let mut local_settle = None;
        if !self.ops[local].is_empty() {
            let s = run_ops_into(
                &mut router.local().borrow_mut(),
                self.ops[local].drain(..),
                &mut results[local],
            );
            local_settle = Some(s).filter(|s| !s.is_ready());
        }
        if let Some(s) = local_settle {
            let replies = std::mem::take(&mut results[local]);
            results[local] = settle(replies, s).await;
        }
        for (shard, n, p) in pending {
            results[shard] = p.wait(n).await;
        }
        // Pushes this segment caused for this very connection (its own keyspace events, a
        // PUBLISH to itself) go before the replies, as Redis sends them.
        if let Some(outbox) = outbox {
            out.push_outbox(outbox);
        }
        for slot in self.slots.drain(..) {
            let reply = match slot {
                Slot::Ready(r) => r,
                Slot::Op { shard, idx } => take_reply(&mut results[shard], idx),
                Slot::Split {
                    merge,
                    nkeys,
                    parts,
                } => merge_parts(merge, nkeys, parts, results),
            };
            out.push(reply, proto);
        }
        for r in results.iter_mut() {
            r.clear();
        }
    }
}

fn take_reply(replies: &mut [ShardReply], idx: usize) -> Reply {
    match replies.get_mut(idx) {
        Some(r) => match std::mem::replace(r, ShardReply::Reply(Reply::Nil)) {
            ShardReply::Reply(reply) => reply,
            ShardReply::Any(_) => Reply::error("ERR internal: unexpected shard reply"),
        },
        None => Reply::error("ERR shard unavailable"),
    }
}

fn merge_parts(
    merge: Merge,
    nkeys: usize,
    parts: Vec<Part>,
    results: &mut [Vec<ShardReply>],
) -> Reply {
    let mut sum = 0i64;
    let mut items: Vec<Reply> = match merge {
        Merge::KeyOrder => vec![Reply::Nil; nkeys],
        _ => Vec::new(),
    };
    for part in parts {
        let reply = take_reply(&mut results[part.shard], part.idx);
        match (merge, reply) {
            (_, e @ Reply::Error(_)) => return e,
            (Merge::Sum, Reply::Integer(n)) => sum += n,
            (Merge::KeyOrder, Reply::Array(values)) => {
                for (pos, v) in part.positions.iter().zip(values) {
                    items[*pos] = v;
                }
            }
            (Merge::AllOk, _) => {}
            _ => return Reply::error("ERR internal: unexpected partial reply"),
        }
    }
    match merge {
        Merge::Sum => Reply::Integer(sum),
        Merge::KeyOrder => Reply::Array(items),
        Merge::AllOk => Reply::ok(),
    }
}

/// Redis 7's text for an unknown command: name and up to ~128 bytes of arguments, quoted.
pub fn unknown_command(args: &[Bytes]) -> Reply {
    // Redis formats with %s: each argument is cut at its first NUL and echoed as raw bytes.
    let c_str = |b: &[u8]| -> Vec<u8> { b.split(|&c| c == 0).next().unwrap_or(b).to_vec() };
    let mut text = b"ERR unknown command '".to_vec();
    let name = c_str(&args[0]);
    text.extend_from_slice(&name[..name.len().min(128)]);
    text.extend_from_slice(b"', with args beginning with: ");
    let mut listed = 0usize;
    for a in &args[1..] {
        if listed >= 128 {
            break;
        }
        let a = c_str(a);
        let take = a.len().min(128 - listed);
        text.push(b'\'');
        text.extend_from_slice(&a[..take]);
        text.extend_from_slice(b"' ");
        listed += take + 3;
    }
    Reply::Error(Bytes::from(text))
}

pub fn wrong_arity(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// Commands whose keys come with values (MSET: key value [key value ...]) need whole groups;
/// checked before a split so a malformed command changes nothing on any shard.
fn complete_key_groups(spec: &CommandSpec, argc: usize) -> bool {
    if spec.key_step <= 1 || spec.last_key >= 0 || spec.first_key <= 0 {
        return true;
    }
    let tail = argc as i64 - spec.first_key as i64;
    tail >= 0 && tail % spec.key_step as i64 == 0
}

/// Redis's refusals for the state of persistence, in processCommand's order: `-MISCONF` for
/// writes (and PING) while a log is failing, `-LOADING` while shards are still loading.
pub fn persistence_refusal(spec: &CommandSpec) -> Option<Reply> {
    if crate::aof::write_error() && (spec.is_write() || spec.name == "ping") {
        Some(crate::aof::misconf())
    } else if crate::aof::is_loading() && !spec.has(flag::LOADING) {
        Some(Reply::error(crate::aof::LOADING_ERROR))
    } else {
        None
    }
}

/// What the dispatcher decided for one request.
enum Route {
    Ready(Reply),
    Op(usize, &'static CommandSpec),
    Split(&'static CommandSpec, Merge),
    Barrier(&'static CommandSpec),
}

fn route(core: &Core, sess: &Session, args: &[Bytes], stats: &mut CommandStats) -> Route {
    let Some(spec) = lookup(&args[0]) else {
        let r = unknown_command(args);
        stats.record_rejected(None, &r);
        return Route::Ready(r);
    };
    let refusal = if !spec.arity_ok(args.len()) || !complete_key_groups(spec, args.len()) {
        Some(wrong_arity(spec.name))
    } else if !sess.authenticated && !spec.has(flag::NO_AUTH) {
        Some(Reply::error("NOAUTH Authentication required."))
    } else if sess.proto == 2
        && sess.subs.any()
        && !crate::commands::pubsub::allowed_while_subscribed(spec.name)
    {
        Some(crate::commands::pubsub::subscribed_mode_error(
            crate::commands::coord::stat_name(spec, args),
        ))
    } else {
        persistence_refusal(spec)
    };
    if let Some(r) = refusal {
        stats.record_rejected(Some(spec.name), &r);
        return Route::Ready(r);
    }
    let n = core.nr_shards();
    match spec.exec {
        Exec::Coord(_) => Route::Barrier(spec),
        Exec::Channel(_) => Route::Op(crate::pubsub::channel_shard(core, &args[1]), spec),
        Exec::Shard(_) => {
            let mut shards = spec.keys(args).map(|i| shard_for_key(&args[i], n));
            let first = shards.next().unwrap_or(core.router.shard_id());
            if shards.all(|s| s == first) {
                Route::Op(first, spec)
            } else {
                Route::Ready(Reply::error(
                    "CROSSSLOT Keys in request don't hash to the same slot",
                ))
            }
        }
        // A blocking command may wait: coordinated even when its keys live together (a
        // one-shard MULTI still runs its shard function, the non-blocking form).
        Exec::ShardOrCoord(..) if spec.has(flag::BLOCKING) => Route::Barrier(spec),
        Exec::ShardOrCoord(..) => {
            let mut shards = spec.keys(args).map(|i| shard_for_key(&args[i], n));
            let first = shards.next().unwrap_or(core.router.shard_id());
            if shards.all(|s| s == first) {
                Route::Op(first, spec)
            } else {
                Route::Barrier(spec)
            }
        }
        Exec::Split(_, merge) => {
            let mut shards = spec.keys(args).map(|i| shard_for_key(&args[i], n));
            let first = shards.next().unwrap_or(core.router.shard_id());
            if shards.all(|s| s == first) {
                Route::Op(first, spec)
            } else {
                Route::Split(spec, merge)
            }
        }
    }
}

/// Splits a multi-key command into one op per shard (each with the command name, its keys
/// and the arguments that travel with each key, e.g. MSET's values).
fn split(
    seg: &mut Segment,
    core: &Core,
    db: usize,
    client: u64,
    spec: &'static CommandSpec,
    args: &[Bytes],
    merge: Merge,
) {
    let n = core.nr_shards();
    let step = spec.key_step.max(1) as usize;
    let mut per_shard: Vec<(Vec<Bytes>, Vec<usize>)> =
        (0..n).map(|_| (Vec::new(), Vec::new())).collect();
    let mut nkeys = 0;
    for (pos, i) in spec.key_indices(args.len()).enumerate() {
        let s = shard_for_key(&args[i], n);
        let (part_args, positions) = &mut per_shard[s];
        if part_args.is_empty() {
            part_args.push(args[0].clone());
        }
        part_args.extend(args[i..(i + step).min(args.len())].iter().cloned());
        positions.push(pos);
        nkeys = pos + 1;
    }
    let mut parts = Vec::new();
    for (shard, (part_args, positions)) in per_shard.into_iter().enumerate() {
        if part_args.is_empty() {
            continue;
        }
        let count_call = parts.is_empty();
        let idx = seg.push_op(
            shard,
            ShardOp::Exec {
                spec,
                db,
                args: part_args,
                count_call,
                client,
            },
        );
        parts.push(Part {
            shard,
            idx,
            positions,
        });
    }
    seg.slots.push(Slot::Split {
        merge,
        nkeys,
        parts,
    });
}

/// Runs `reqs` (one read's worth of pipelined requests) and appends every reply to `out`.
pub async fn run_pipeline<S: ReplySink, I: IntoIterator<Item = Vec<Bytes>>>(
    core: &Core,
    sess: &mut Session,
    reqs: I,
    out: &mut S,
) {
    let mut seg = Segment::new(core.nr_shards());
    for args in reqs {
        if sess.close_after_reply || sess.handle.killed.get() {
            break;
        }
        if sess.multi.is_some() && !transactions::runs_inside_multi(&args[0]) {
            let reply = match transactions::check_queueable(sess, &args) {
                Ok(()) => {
                    if let Some(m) = sess.multi.as_mut() {
                        m.queued.push(args);
                    }
                    Reply::Status(Bytes::from_static(b"QUEUED"))
                }
                Err(e) => {
                    if let Some(m) = sess.multi.as_mut() {
                        m.aborted = true;
                    }
                    core.router.local().borrow_mut().commands.record_error(&e);
                    e
                }
            };
            seg.slots.push(Slot::Ready(reply));
            continue;
        }
        let routed = {
            let mut shard = core.router.local().borrow_mut();
            route(core, sess, &args, &mut shard.commands)
        };
        match routed {
            Route::Ready(r) => seg.slots.push(Slot::Ready(r)),
            Route::Op(shard, spec) => {
                monitor::feed(core, sess, spec, &args);
                sess.handle.meta.borrow_mut().last_cmd = spec.name;
                NetStats::add(&core.net.total_commands_processed, 1);
                let idx = seg.push_op(
                    shard,
                    ShardOp::Exec {
                        spec,
                        db: sess.db,
                        args,
                        count_call: true,
                        client: sess.id(),
                    },
                );
                seg.slots.push(Slot::Op { shard, idx });
            }
            Route::Split(spec, merge) => {
                monitor::feed(core, sess, spec, &args);
                sess.handle.meta.borrow_mut().last_cmd = spec.name;
                NetStats::add(&core.net.total_commands_processed, 1);
                split(&mut seg, core, sess.db, sess.id(), spec, &args, merge);
            }
            Route::Barrier(spec) => {
                seg.flush(core, sess.proto, Some(&sess.handle.outbox), out)
                    .await;
                if spec.name == "exec"
                    && let Some(m) = &sess.multi
                    && !m.aborted
                {
                    // As in Redis, EXEC shows the commands it runs, then itself.
                    for q in &m.queued {
                        if let Some(qs) = lookup(&q[0]) {
                            monitor::feed(core, sess, qs, q);
                        }
                    }
                }
                // Shown after it ran, as Redis does (SELECT shows the new db).
                let shown = monitor::active().then(|| args.clone());
                sess.handle.meta.borrow_mut().last_cmd = coord::stat_name(spec, &args);
                let reply = coord::run(core, sess, spec, args).await;
                if let Some(args) = shown {
                    monitor::feed(core, sess, spec, &args);
                }
                NetStats::add(&core.net.total_commands_processed, 1);
                if !std::mem::take(&mut sess.skip_reply) {
                    out.push_outbox(&sess.handle.outbox);
                    out.push(reply, sess.proto);
                }
            }
        }
    }
    seg.flush(core, sess.proto, Some(&sess.handle.outbox), out)
        .await;
    seg.recycle();
}

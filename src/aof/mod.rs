//! The append-only log in the server: what makes an acknowledged write durable.
//!
//! [`crate::persistence`] stores and returns records; this module decides *what* is logged,
//! *when* a reply may leave, how a shard loads at start and how the log is compacted.
//!
//! # The write path, step by step
//! 1. A shard op runs synchronously (`shard::router::run_ops`). Every [`crate::store::Db`]
//!    mutation records its effect (`SET k v PXAT t`, `DEL k`, ...) in the db's journal.
//! 2. Right after each op, [`append_effects`] moves the journal into the shard's [`Log`]
//!    buffer (no I/O) and notes the op's end position (LSN). The batch's [`Ticket`] carries the
//!    highest LSN and which ops wrote.
//! 3. The replies wait in [`settle`] until the shard's *release position* reaches that LSN:
//!    under `always` the durable position (an fdatasync covering the record completed), under
//!    `everysec`/`no` the written position (the bytes are in the file, so a process crash
//!    loses nothing acknowledged). A remote batch waits on its owning shard before its
//!    response is sent, so no core ever releases another shard's reply early.
//! 4. One [`driver::commit_loop`] task per shard turns waiting into I/O: woken by an append,
//!    it writes (and under `always` fdatasyncs) everything buffered, releases the replies it
//!    covers, and goes again if more arrived meanwhile: group commit, so a shard never waits
//!    idle and the cost of one fdatasync is shared by every write that arrived during the
//!    previous one.
//!
//! # Failures
//! A failed write or fdatasync poisons the shard's log (see [`crate::persistence`]): waiting
//! replies become `-MISCONF`, and from then on every write command and PING on every core get
//! `-MISCONF Errors writing to the AOF file: <strerror>` (Redis's text and scope), while reads
//! keep working. About once a second the shard tries to heal by rewriting its log from memory;
//! once that succeeds, writes resume. A write that ran but whose record failed gets -MISCONF,
//! never OK (its effect is in memory and is covered by the healing rewrite).
//!
//! # Module map
//! - `layout`: the data directory: `LAYOUT`, generations, re-sharding plans.
//! - `load`: replay at start (in parallel per shard, `-LOADING` meanwhile), re-routing.
//! - `driver`: group commit, everysec fsync, healing, rewrite triggers.
//! - `rewrite`: a compact base from a copy-on-write snapshot, without stopping service.
//! - `toggle`: CONFIG SET appendonly at runtime.

pub mod driver;
pub mod layout;
pub mod load;
pub mod rewrite;
pub mod toggle;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::time::Instant;

use crate::config::Fsync;
use crate::persistence::{Log, LogError, Lsn, UringStorage};
use crate::protocol::Reply;
use crate::shard::Shard;
use crate::shard::router::ShardReply;
use crate::util::oneshot;

/// Shards still replaying their log; while non-zero, commands without the `loading` flag get
/// `-LOADING`.
static LOADING_SHARDS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static LOADING_STARTED_MS: AtomicU64 = AtomicU64::new(0);
pub(crate) static LOADING_TOTAL_BYTES: AtomicU64 = AtomicU64::new(0);
pub(crate) static LOADING_LOADED_BYTES: AtomicU64 = AtomicU64::new(0);
/// Shards whose last log write failed and has not been healed yet.
static WRITE_ERRORS: AtomicUsize = AtomicUsize::new(0);
/// errno of the most recent log write failure (for the MISCONF text and INFO).
static LAST_WRITE_ERRNO: AtomicI32 = AtomicI32::new(0);
/// A shard that cannot load sets this and requests shutdown; the process then exits 1.
static FATAL: Mutex<Option<String>> = Mutex::new(None);

pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// True while any shard is still loading.
pub fn is_loading() -> bool {
    LOADING_SHARDS.load(Ordering::Relaxed) != 0
}

pub(crate) fn set_loading(shards: usize) {
    LOADING_SHARDS.store(shards, Ordering::SeqCst);
    if shards != 0 {
        LOADING_STARTED_MS.store(crate::util::now_ms(), Ordering::Relaxed);
    }
}

/// A one-line loading progress for systemd's STATUS.
pub fn loading_status() -> String {
    let total = LOADING_TOTAL_BYTES.load(Ordering::Relaxed);
    let loaded = LOADING_LOADED_BYTES.load(Ordering::Relaxed).min(total);
    let shards = LOADING_SHARDS.load(Ordering::Relaxed);
    if total == 0 {
        return format!("Loading the append-only log ({shards} shards to go)");
    }
    format!(
        "Loading the append-only log: {:.1}% of {} bytes ({shards} shards to go)",
        loaded as f64 * 100.0 / total as f64,
        total
    )
}

pub(crate) fn shard_loaded() {
    LOADING_SHARDS.fetch_sub(1, Ordering::SeqCst);
}

/// True while some shard's log refuses writes (Redis's writeCommandsDeniedByDiskError).
pub fn write_error() -> bool {
    WRITE_ERRORS.load(Ordering::Relaxed) != 0
}

/// The `-MISCONF` reply for writes while a log is failing.
pub fn misconf() -> Reply {
    let errno = LAST_WRITE_ERRNO.load(Ordering::Relaxed);
    Reply::error(format!(
        "MISCONF Errors writing to the AOF file: {}",
        strerror(errno)
    ))
}

/// The C library's text for `errno` ("No space left on device"), without Rust's suffix.
pub fn strerror(errno: i32) -> String {
    if errno == 0 {
        return "Unknown error".into();
    }
    let full = std::io::Error::from_raw_os_error(errno).to_string();
    match full.rfind(" (os error") {
        Some(i) => full[..i].to_string(),
        None => full,
    }
}

/// Records a load failure; the process exits 1 once every core has stopped.
pub fn fatal(msg: String) {
    tracing::error!("{msg}");
    if let Ok(mut f) = FATAL.lock() {
        f.get_or_insert(msg);
    }
    crate::commands::server::SHUTDOWN_REQUESTED.store(true, Ordering::SeqCst);
}

pub fn take_fatal() -> Option<String> {
    FATAL.lock().ok().and_then(|mut f| f.take())
}

pub(crate) fn fatal_pending() -> bool {
    FATAL.lock().map(|f| f.is_some()).unwrap_or(true)
}

/// A wake-up flag for one waiting task on the same executor.
#[derive(Default)]
pub struct Signal {
    set: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Rewrite bookkeeping, for INFO and for the triggers.
#[derive(Default)]
pub struct RewriteStatus {
    pub requested: bool,
    pub started: Option<Instant>,
    pub last_secs: Option<u64>,
    pub last_ok: bool,
    pub count: u64,
    pub consecutive_failures: u64,
    /// Log size right after the last rewrite (or load): the base of auto-aof-rewrite-percentage.
    pub base_size: u64,
}

/// One shard's log in the server.
pub struct ShardAof {
    pub log: Log<UringStorage>,
    pub policy: Cell<Fsync>,
    /// Replies for records up to here may be sent (see the module docs).
    released: Cell<Lsn>,
    waiters: RefCell<VecDeque<(Lsn, oneshot::Sender<bool>)>>,
    pub(crate) wake: Signal,
    /// False from a failed write until a healing rewrite succeeds.
    write_ok: Cell<bool>,
    pub(crate) rewrite: RefCell<RewriteStatus>,
    pub(crate) delayed_fsync: Cell<u64>,
    pub(crate) closed: Cell<bool>,
    /// Records appended and commits (writes, or write+fdatasync under `always`) done by the
    /// commit loop: their ratio is the group-commit batch size (INFO shards).
    pub(crate) records: Cell<u64>,
    pub(crate) commits: Cell<u64>,
}

impl ShardAof {
    pub fn new(log: Log<UringStorage>, policy: Fsync) -> ShardAof {
        let durable = log.durable_lsn();
        let base = log.stats();
        ShardAof {
            log,
            policy: Cell::new(policy),
            released: Cell::new(durable),
            waiters: RefCell::new(VecDeque::new()),
            wake: Signal::default(),
            write_ok: Cell::new(true),
            rewrite: RefCell::new(RewriteStatus {
                last_ok: true,
                base_size: base.base_bytes + base.incr_bytes,
                ..RewriteStatus::default()
            }),
            delayed_fsync: Cell::new(0),
            closed: Cell::new(false),
            records: Cell::new(0),
            commits: Cell::new(0),
        }
    }

    pub fn write_ok(&self) -> bool {
        self.write_ok.get()
    }

    /// Waits until the record ending at `lsn` may be acknowledged. False if its write failed.
    pub async fn wait(&self, lsn: Lsn) -> bool {
        if lsn <= self.released.get() {
            return true;
        }
        if self.log.is_poisoned() {
            return false;
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.borrow_mut().push_back((lsn, tx));
        self.wake.notify();
        rx.await.unwrap_or(false)
    }

    pub fn is_released(&self, lsn: Lsn) -> bool {
        lsn <= self.released.get()
    }

    /// Everything up to `pos` may be acknowledged.
    pub(crate) fn release(&self, pos: Lsn) {
        if pos > self.released.get() {
            self.released.set(pos);
        }
        let mut ready = Vec::new();
        {
            let mut w = self.waiters.borrow_mut();
            while w.front().is_some_and(|(lsn, _)| *lsn <= pos) {
                if let Some((_, tx)) = w.pop_front() {
                    ready.push(tx);
                }
            }
        }
        for tx in ready {
            tx.send(true);
        }
    }

    /// Fails every waiting reply: their records may or may not be on disk.
    pub(crate) fn fail_waiters(&self) {
        let failed: Vec<_> = self.waiters.borrow_mut().drain(..).collect();
        for (_, tx) in failed {
            tx.send(false);
        }
    }

    pub(crate) fn note_write_error(&self, e: &LogError) {
        if let LogError::Io { source, .. } = e {
            LAST_WRITE_ERRNO.store(
                source.raw_os_error().unwrap_or(libc::EIO),
                Ordering::Relaxed,
            );
        } else if LAST_WRITE_ERRNO.load(Ordering::Relaxed) == 0 {
            LAST_WRITE_ERRNO.store(libc::EIO, Ordering::Relaxed);
        }
        if self.write_ok.replace(false) {
            WRITE_ERRORS.fetch_add(1, Ordering::SeqCst);
            tracing::error!(shard = self.log.shard_id(), error = %e,
                "writing the append-only log failed; refusing writes until it heals");
        }
    }

    /// A healing rewrite succeeded: everything appended is durable again.
    pub(crate) fn note_healed(&self) {
        self.release(self.log.durable_lsn());
        if !self.write_ok.replace(true) {
            WRITE_ERRORS.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(
                shard = self.log.shard_id(),
                "append-only log healed; writes resume"
            );
        }
    }

    /// What INFO persistence reports for this shard.
    pub fn info(&self) -> AofInfo {
        let st = self.log.stats();
        let rw = self.rewrite.borrow();
        AofInfo {
            enabled: true,
            rewrite_in_progress: rw.started.is_some(),
            rewrite_scheduled: rw.requested && rw.started.is_none(),
            last_rewrite_secs: rw.last_secs,
            current_rewrite_secs: rw.started.map(|t| t.elapsed().as_secs()),
            last_rewrite_ok: rw.last_ok,
            rewrites: rw.count,
            consecutive_failures: rw.consecutive_failures,
            write_ok: self.write_ok.get(),
            current_size: st.base_bytes + st.incr_bytes,
            base_size: rw.base_size,
            buffer_length: st.pending_bytes as u64,
            delayed_fsync: self.delayed_fsync.get(),
            records: self.records.get(),
            commits: self.commits.get(),
        }
    }
}

/// INFO persistence figures of one shard (summed or combined over shards).
#[derive(Clone, Debug, Default)]
pub struct AofInfo {
    pub enabled: bool,
    pub rewrite_in_progress: bool,
    pub rewrite_scheduled: bool,
    pub last_rewrite_secs: Option<u64>,
    pub current_rewrite_secs: Option<u64>,
    pub last_rewrite_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub write_ok: bool,
    pub current_size: u64,
    pub base_size: u64,
    pub buffer_length: u64,
    pub delayed_fsync: u64,
    pub records: u64,
    pub commits: u64,
}

impl AofInfo {
    /// Combines shards: sizes and counters add up, a status is bad if any shard's is.
    pub fn merge(parts: impl IntoIterator<Item = AofInfo>) -> AofInfo {
        let mut out = AofInfo {
            last_rewrite_ok: true,
            write_ok: true,
            ..AofInfo::default()
        };
        for p in parts {
            out.enabled |= p.enabled;
            out.rewrite_in_progress |= p.rewrite_in_progress;
            out.rewrite_scheduled |= p.rewrite_scheduled;
            out.last_rewrite_secs = out.last_rewrite_secs.max(p.last_rewrite_secs);
            out.current_rewrite_secs = out.current_rewrite_secs.max(p.current_rewrite_secs);
            out.last_rewrite_ok &= p.last_rewrite_ok;
            out.rewrites = out.rewrites.max(p.rewrites);
            out.consecutive_failures = out.consecutive_failures.max(p.consecutive_failures);
            out.write_ok &= p.write_ok;
            out.current_size += p.current_size;
            out.base_size += p.base_size;
            out.buffer_length += p.buffer_length;
            out.delayed_fsync += p.delayed_fsync;
            out.records += p.records;
            out.commits += p.commits;
        }
        out
    }
}

/// What a batch of ops appended: replies wait on it before they leave.
pub struct Ticket {
    aof: Rc<ShardAof>,
    lsn: Lsn,
    /// Indices of the ops that appended records (their replies become -MISCONF on failure).
    wrote: Vec<u32>,
}

impl Ticket {
    pub fn is_released(&self) -> bool {
        self.aof.is_released(self.lsn)
    }
}

/// Collects the appends of a batch of ops, op by op.
#[derive(Default)]
pub struct BatchAppends {
    lsn: Lsn,
    wrote: Vec<u32>,
    failed: Vec<u32>,
}

impl BatchAppends {
    /// Whether op `idx` may run: a write command is refused while the shard's log is failing.
    pub fn refuse_write(shard: &Shard) -> bool {
        shard
            .aof
            .as_ref()
            .is_some_and(|a| a.log.is_poisoned() || !a.write_ok())
    }

    /// The log position before an op runs (for [`BatchAppends::after_op`]).
    pub fn position(shard: &Shard) -> Lsn {
        shard.aof.as_ref().map_or(0, |a| a.log.appended_lsn())
    }

    /// Appends what op `idx` (command `cmd`) recorded, and raises its keyspace events. An op
    /// may have appended records itself (a transaction drains after each queued command, so
    /// each raises its own events): anything past `before` counts as this op's.
    pub fn after_op(&mut self, shard: &mut Shard, idx: usize, cmd: &str, before: Lsn) {
        match append_effects(shard, cmd) {
            Err(AppendRefused) => self.failed.push(idx as u32),
            Ok(_) => {
                let now = Self::position(shard);
                if now > before {
                    self.lsn = now;
                    self.wrote.push(idx as u32);
                }
            }
        }
    }

    /// Applies immediate failures to `replies` and returns the ticket to wait on, if any.
    pub fn finish(self, shard: &Shard, replies: &mut [ShardReply]) -> Option<Ticket> {
        for i in self.failed {
            replies[i as usize] = ShardReply::Reply(misconf());
        }
        let aof = shard.aof.as_ref()?;
        if self.lsn == 0 {
            return None;
        }
        aof.wake.notify();
        Some(Ticket {
            aof: aof.clone(),
            lsn: self.lsn,
            wrote: self.wrote,
        })
    }
}

/// An append was refused (the log is poisoned, or a record is too large).
#[derive(Debug)]
pub struct AppendRefused;

/// Moves every db's recorded effects into the shard's log buffer (and raises the keyspace
/// events of command `cmd`). Returns the end position of the last record appended (0 if none).
pub fn append_effects(shard: &mut Shard, cmd: &str) -> Result<Lsn, AppendRefused> {
    if !shard.journaling || !shard.dbs.iter().any(crate::store::Db::has_journal) {
        return Ok(0);
    }
    let effects: Vec<(usize, Vec<Vec<bytes::Bytes>>)> = shard
        .dbs
        .iter_mut()
        .enumerate()
        .map(|(i, db)| (i, db.take_journal()))
        .filter(|(_, j)| !j.is_empty())
        .collect();
    if effects.is_empty() {
        return Ok(0);
    }
    if crate::pubsub::notify::active(shard.notify_flags) {
        crate::pubsub::notify::emit_effects(shard, cmd, &effects);
    }
    append_to_log(shard, effects)
}

/// Appends already-drained effects to the log, if there is one.
fn append_to_log(
    shard: &Shard,
    effects: Vec<(usize, Vec<Vec<bytes::Bytes>>)>,
) -> Result<Lsn, AppendRefused> {
    let Some(aof) = &shard.aof else {
        return Ok(0);
    };
    let mut end = 0;
    let mut failed = false;
    for (i, list) in effects {
        for cmd in list {
            match aof.log.append_command(i as u16, &cmd) {
                Ok(lsn) => {
                    end = lsn;
                    aof.records.set(aof.records.get() + 1);
                }
                Err(e) => {
                    if !matches!(e, LogError::Poisoned { .. }) {
                        tracing::error!(shard = shard.id, error = %e, "cannot log a write");
                    }
                    if matches!(e, LogError::Io { .. } | LogError::Poisoned { .. }) {
                        aof.note_write_error(&e);
                    }
                    failed = true;
                }
            }
        }
    }
    if failed { Err(AppendRefused) } else { Ok(end) }
}

/// Waits until a batch's records may be acknowledged; replies of ops whose records failed
/// become -MISCONF.
pub async fn settle(mut replies: Vec<ShardReply>, ticket: Option<Ticket>) -> Vec<ShardReply> {
    if let Some(t) = ticket
        && !t.aof.wait(t.lsn).await
    {
        for i in t.wrote {
            if let Some(r) = replies.get_mut(i as usize) {
                *r = ShardReply::Reply(misconf());
            }
        }
    }
    replies
}

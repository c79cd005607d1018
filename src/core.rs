//! Per-core context shared by the tasks of one executor: the router to every shard, the
//! connections accepted on this core, the runtime parameters, and process-wide facts.
//!
//! Nothing here is shared with another core: a `Core` lives behind an `Rc` on its executor.
//! Changes that must reach every core (CONFIG SET, CLIENT KILL) travel as router tasks.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;

use ahash::AHashMap;
use bytes::Bytes;

use crate::config::Config;
use crate::config::params::Params;
use crate::shard::router::Router;

/// A connection as seen by `CLIENT LIST`/`CLIENT KILL`: identity plus fields the connection
/// task updates as it runs.
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: RawFd,
    pub created_ms: u64,
    pub meta: RefCell<ClientMeta>,
    /// Set by CLIENT KILL (or shutdown); the connection closes before its next command.
    pub killed: Cell<bool>,
    /// Pub/sub frames waiting to be written to this connection.
    pub outbox: crate::pubsub::Outbox,
}

#[derive(Clone, Debug, Default)]
pub struct ClientMeta {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub proto: u8,
    pub last_cmd: &'static str,
    pub last_interaction_ms: u64,
    pub authenticated: bool,
    pub query_buf_bytes: usize,
    pub output_buf_bytes: usize,
    /// Number of subscribed channels / patterns (maintained by pub/sub).
    pub subscriptions: usize,
    pub psubscriptions: usize,
    pub ssubscriptions: usize,
    /// In MONITOR mode (`commands::monitor`).
    pub monitor: bool,
    /// Waiting in a blocking command (CLIENT LIST flag `b`).
    pub blocked: bool,
}

impl ClientHandle {
    /// One `CLIENT LIST` / `CLIENT INFO` line, fields in Redis 7.0's order.
    pub fn info_line(&self, now_ms: u64) -> String {
        let m = self.meta.borrow();
        let name = m
            .name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let lib_name = m
            .lib_name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let lib_ver = m
            .lib_ver
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let flags = if m.monitor {
            "O"
        } else if m.blocked {
            "b"
        } else if m.subscriptions + m.psubscriptions + m.ssubscriptions > 0 {
            "P"
        } else {
            "N"
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(m.last_interaction_ms) / 1000,
            flags,
            m.db,
            m.subscriptions,
            m.psubscriptions,
            m.ssubscriptions,
            m.query_buf_bytes,
            m.output_buf_bytes + self.outbox.len_bytes(),
            if m.last_cmd.is_empty() {
                "NULL"
            } else {
                m.last_cmd
            },
            m.proto,
            lib_name,
            lib_ver,
        )
    }

    /// Makes the connection's pending read return, so it notices `killed` and closes.
    pub fn kill(&self) {
        self.killed.set(true);
        // SAFETY: shutdown(2) on a descriptor this core's connection task still owns (it
        // removes itself from the registry before closing it), so the fd cannot be reused.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }
}

/// Network counters for INFO stats, per core.
#[derive(Default)]
pub struct NetStats {
    pub total_connections_received: Cell<u64>,
    pub rejected_connections: Cell<u64>,
    pub total_net_input_bytes: Cell<u64>,
    pub total_net_output_bytes: Cell<u64>,
    pub total_commands_processed: Cell<u64>,
    /// Subscribers closed for exceeding client-output-buffer-limit pubsub.
    pub output_limit_disconnections: Cell<u64>,
}

impl NetStats {
    pub fn reset(&self) {
        self.total_connections_received.set(0);
        self.rejected_connections.set(0);
        self.total_net_input_bytes.set(0);
        self.total_net_output_bytes.set(0);
        self.total_commands_processed.set(0);
        self.output_limit_disconnections.set(0);
    }

    pub fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get().wrapping_add(n));
    }
}

pub struct Core {
    pub config: Rc<Config>,
    pub router: Rc<Router>,
    pub params: RefCell<Params>,
    pub clients: RefCell<AHashMap<u64, Rc<ClientHandle>>>,
    pub net: NetStats,
    next_client_seq: Cell<u64>,
    /// Unix ms when the process started (INFO uptime).
    pub started_ms: u64,
    /// Set when a SHUTDOWN or signal asks this core to stop.
    pub shutting_down: Cell<bool>,
    /// Run id reported by INFO (same on every core: passed in at boot).
    pub run_id: Rc<str>,
    /// This core's pub/sub subscribers.
    pub pubsub: crate::pubsub::Local,
    /// This core's WebSocket server: listener and open WebSocket connections.
    pub ws: crate::net::ws::CoreWs,
}

thread_local! {
    /// The `Core` of the executor running on this thread, so that tasks shipped from other
    /// cores (CLIENT LIST, CONFIG SET) can reach this core's connection-side state.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

impl Core {
    /// Makes `core` this thread's current core (once, at executor start).
    pub fn install(core: Rc<Core>) {
        CURRENT.with(|c| *c.borrow_mut() = Some(core));
    }

    /// This thread's core, if one was installed.
    pub fn current() -> Option<Rc<Core>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Clears the thread's core at shutdown, breaking the Rc cycle through tasks.
    pub fn uninstall() {
        CURRENT.with(|c| c.borrow_mut().take());
    }

    pub fn new(config: Rc<Config>, router: Rc<Router>, started_ms: u64, run_id: Rc<str>) -> Core {
        let params = Params::from_config(&config);
        Core {
            config,
            router,
            params: RefCell::new(params),
            clients: RefCell::new(AHashMap::new()),
            net: NetStats::default(),
            next_client_seq: Cell::new(0),
            started_ms,
            shutting_down: Cell::new(false),
            run_id,
            pubsub: crate::pubsub::Local::default(),
            ws: crate::net::ws::CoreWs::default(),
        }
    }

    /// A client id unique across cores: ids from core `i` are `i+1, i+1+n, i+1+2n, ...`, so
    /// they grow like Redis's and never collide.
    pub fn next_client_id(&self) -> u64 {
        let seq = self.next_client_seq.get();
        self.next_client_seq.set(seq + 1);
        seq * self.router.nr_shards() as u64 + self.router.shard_id() as u64 + 1
    }

    pub fn nr_shards(&self) -> usize {
        self.router.nr_shards()
    }
}

/// One connection's state, owned by its task.
pub struct Session {
    pub handle: Rc<ClientHandle>,
    pub db: usize,
    pub proto: u8,
    pub authenticated: bool,
    /// QUIT (or a fatal error) asks to close after the replies already queued are written.
    pub close_after_reply: bool,
    /// The current command's reply must not be sent (SHUTDOWN closes without one).
    pub skip_reply: bool,
    /// True while EXEC runs its queue through the pipeline: blocking commands must not wait.
    pub in_exec: bool,
    /// Between MULTI and EXEC/DISCARD: the queued commands.
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes, with what it saw at WATCH time.
    pub watched: Vec<WatchedKey>,
    /// Subscribed channels, patterns and shard channels.
    pub subs: Subscriptions,
}

/// A connection's pub/sub subscriptions (its core's registry mirrors them).
#[derive(Default)]
pub struct Subscriptions {
    pub channels: ahash::AHashSet<Bytes>,
    pub patterns: ahash::AHashSet<Bytes>,
    pub schannels: ahash::AHashSet<Bytes>,
}

impl Subscriptions {
    pub fn of(&mut self, kind: crate::pubsub::Kind) -> &mut ahash::AHashSet<Bytes> {
        match kind {
            crate::pubsub::Kind::Channel => &mut self.channels,
            crate::pubsub::Kind::Pattern => &mut self.patterns,
            crate::pubsub::Kind::Shard => &mut self.schannels,
        }
    }

    /// Redis's count in (un)subscribe confirmations: channels + patterns, or shard channels.
    pub fn count(&self, kind: crate::pubsub::Kind) -> usize {
        match kind {
            crate::pubsub::Kind::Shard => self.schannels.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// Any subscription at all: RESP2's subscribed mode.
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.schannels.is_empty())
    }
}

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub queued: Vec<Vec<Bytes>>,
    /// A command was refused while queueing: EXEC must answer EXECABORT.
    pub aborted: bool,
}

/// One WATCHed key: where it lives and the version and deadline seen at WATCH time.
#[derive(Clone, Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Bytes,
    pub shard: usize,
    pub version: u64,
    pub deadline: Option<u64>,
}

impl Session {
    pub fn new(handle: Rc<ClientHandle>, authenticated: bool) -> Session {
        {
            let mut m = handle.meta.borrow_mut();
            m.proto = 2;
            m.authenticated = authenticated;
        }
        Session {
            handle,
            db: 0,
            proto: 2,
            authenticated,
            close_after_reply: false,
            skip_reply: false,
            in_exec: false,
            multi: None,
            watched: Vec::new(),
            subs: Subscriptions::default(),
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }

    pub fn set_db(&mut self, db: usize) {
        self.db = db;
        self.handle.meta.borrow_mut().db = db;
    }

    pub fn set_proto(&mut self, proto: u8) {
        self.proto = proto;
        self.handle.meta.borrow_mut().proto = proto;
    }

    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
        self.handle.meta.borrow_mut().authenticated = yes;
    }
}

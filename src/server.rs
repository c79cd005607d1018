//! Boot and shutdown: one glommio executor per shard, each pinned to a CPU of the affinity
//! mask, each binding the RESP port with SO_REUSEPORT and owning one shard.
//!
//! # Boot order (per core)
//! 1. pin the thread (a refusal is logged and the shard runs unpinned);
//! 2. create the shard and join the cross-core meshes (every core must join before any can
//!    send, so no core accepts clients before all are connected);
//! 3. install the per-core context, start housekeeping (expiry, rehash, shutdown watch);
//! 4. bind and accept.
//!
//! # Shutdown
//! SHUTDOWN or SIGTERM/SIGINT sets one process-wide flag. Each core's housekeeping notices it
//! within one tick, stops accepting, closes its clients, and returns; the process exits 0
//! when every core has returned.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use glommio::{LocalExecutorBuilder, Placement};

use crate::aof::layout::Plan;
use crate::commands::server::SHUTDOWN_REQUESTED;
use crate::config::{Config, pin_current_thread};
use crate::core::Core;
use crate::net::listener;
use crate::shard::Shard;
use crate::shard::router::{MeshBuilders, Router};

/// How often a core checks for a shutdown request.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// How long a core waits for its connections to finish after closing them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

fn random_run_id() -> String {
    let mut rng = crate::util::Rng::new(crate::util::now_us() ^ std::process::id() as u64);
    (0..40)
        .map(|_| char::from_digit((rng.next_u64() % 16) as u32, 16).unwrap_or('0'))
        .collect()
}

/// Blocks SIGTERM/SIGINT in every thread and turns them into a shutdown request from one
/// dedicated thread (so no executor is interrupted mid-syscall by a handler).
fn install_signal_thread() {
    // SAFETY: plain libc signal-mask calls on a zeroed sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let set_copy = set;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                loop {
                    let mut sig: libc::c_int = 0;
                    if libc::sigwait(&set_copy, &mut sig) == 0 {
                        tracing::warn!(signal = sig, "received signal, shutting down");
                        SHUTDOWN_REQUESTED.store(true, Ordering::SeqCst);
                    }
                }
            })
            .ok();
    }
}

/// Runs the server until shutdown. Returns an error message if it could not start.
pub fn run(config: Config) -> Result<(), String> {
    install_signal_thread();
    let tcp_backlog = crate::config::params::Params::from_config(&config).int("tcp-backlog");
    crate::ops::host::check(tcp_backlog)?;
    let addr = SocketAddr::new(config.bind, config.port);
    // Fix the port number first (for --port 0), so every core binds the same one.
    let (reservation, addr) =
        listener::reserve_port(addr).map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let ws_reservation = reserve_ws_port(&config)?;
    let ws_addr = ws_reservation.as_ref().map(|(_, a)| *a);
    let n = config.nr_shards;
    let plan = if config.appendonly {
        let plan = crate::aof::layout::prepare(&config.dir, n)?;
        crate::aof::set_loading(n);
        Some(plan)
    } else {
        None
    };
    let builders = MeshBuilders::new(n, config.mesh_channel_capacity);
    let run_id: Rc<str> = random_run_id().into();
    let run_id = run_id.to_string();
    let started_ms = crate::util::now_ms();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<usize, String>>();
    let mut handles = Vec::with_capacity(n);
    let (config_spin, cpus) = (config.spin_before_park_us, config.cpus.clone());
    if config_spin > 0 && cpus.is_empty() {
        tracing::warn!("--spin-before-park-us needs pinned shards: ignored with --no-pin");
    }
    for shard_id in 0..n {
        let config = config.clone();
        let builders = builders.clone();
        let run_id = run_id.clone();
        let ready = ready_tx.clone();
        let plan = plan.clone();
        let boot = Boot {
            shard_id,
            config,
            builders,
            addr,
            ws_addr,
            started_ms,
            run_id,
            plan,
        };
        let h = executor_builder(config_spin, &cpus, shard_id)
            .name(&format!("shard-{shard_id}"))
            .spawn(move || async move { shard_main(boot, ready).await })
            .map_err(|e| format!("cannot start executor for shard {shard_id}: {e}"))?;
        handles.push(h);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..n {
        match ready_rx.recv() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
                SHUTDOWN_REQUESTED.store(true, Ordering::SeqCst);
            }
            Err(_) => {
                // Every sender is gone before every shard said ready: an executor could not
                // start (its error comes from join below) or panicked.
                failure.get_or_insert_with(|| "a shard executor stopped while starting".into());
                SHUTDOWN_REQUESTED.store(true, Ordering::SeqCst);
                break;
            }
        }
    }
    drop(reservation);
    drop(ws_reservation);
    if failure.is_none() {
        if let Some(ws_addr) = ws_addr {
            tracing::info!(%ws_addr, "WebSocket interface on ws://{ws_addr}/");
        }
        tracing::info!(%addr, shards = n, "corekv ready to accept connections");
        crate::ops::sd_notify::watch();
    }
    let mut executor_error = None;
    for (shard_id, h) in handles.into_iter().enumerate() {
        if let Err(e) = h.join() {
            executor_error
                .get_or_insert_with(|| format!("shard {shard_id}'s executor failed: {e}"));
        }
    }
    // The executor's own error says why better than "stopped while starting".
    if let Some(e) = executor_error {
        failure = Some(e);
    }
    if let Some(e) = crate::aof::take_fatal() {
        failure.get_or_insert(e);
    }
    match failure {
        Some(e) => Err(e),
        None => {
            tracing::info!("corekv stopped");
            Ok(())
        }
    }
}

/// Checks and reserves the WebSocket port (`None` with `--ws-port 0`), as for RESP: every
/// core then binds it with SO_REUSEPORT. A port another process holds is an error.
fn reserve_ws_port(config: &Config) -> Result<Option<(socket2::Socket, SocketAddr)>, String> {
    if config.ws.port == 0 {
        return Ok(None);
    }
    let addr = SocketAddr::new(config.bind, config.ws.port);
    let fail =
        |e: std::io::Error| format!("cannot bind the WebSocket port (--ws-port) {addr}: {e}");
    listener::ensure_unused(addr).map_err(fail)?;
    listener::reserve_port(addr).map(Some).map_err(fail)
}

/// A shard's executor: unbound (the shard pins itself), or with `--spin-before-park-us` on
/// pinned shards, fixed to its CPU, which glommio requires before it will spin.
fn executor_builder(spin_us: u64, cpus: &[usize], shard_id: usize) -> LocalExecutorBuilder {
    if spin_us == 0 || cpus.is_empty() {
        return LocalExecutorBuilder::new(Placement::Unbound);
    }
    let cpu = cpus[shard_id % cpus.len()];
    LocalExecutorBuilder::new(Placement::Fixed(cpu))
        .spin_before_park(Duration::from_micros(spin_us))
}

/// What a core needs to boot.
struct Boot {
    shard_id: usize,
    config: Config,
    builders: MeshBuilders,
    addr: SocketAddr,
    /// The WebSocket port (`None`: disabled).
    ws_addr: Option<SocketAddr>,
    started_ms: u64,
    run_id: String,
    /// How to load the log (`None` with `--appendonly no`).
    plan: Option<Plan>,
}

async fn shard_main(boot: Boot, ready: std::sync::mpsc::Sender<Result<usize, String>>) {
    let (shard_id, config, plan) = (boot.shard_id, boot.config, boot.plan);
    if !config.cpus.is_empty() {
        let cpu = config.cpus[shard_id % config.cpus.len()];
        match pin_current_thread(cpu) {
            Ok(()) => tracing::debug!(shard_id, cpu, "pinned"),
            Err(e) => {
                tracing::warn!(shard_id, cpu, error = %e, "CPU pinning refused; running unpinned")
            }
        }
    }
    let n = config.nr_shards;
    let shard = Rc::new(RefCell::new(Shard::new(shard_id, n, config.databases)));
    let router = Router::start(boot.builders, shard.clone(), shard_id, n).await;
    let config = Rc::new(config);
    let core = Rc::new(Core::new(
        config.clone(),
        router,
        boot.started_ms,
        boot.run_id.into(),
    ));
    Core::install(core.clone());
    // Encoding thresholds (hash-max-listpack-entries...) before replay builds any value.
    crate::store::encoding::apply(&core.params.borrow());

    let backlog = core
        .params
        .borrow()
        .int("tcp-backlog")
        .clamp(1, i32::MAX as i64) as i32;
    let addr = boot.addr;
    let sk = match listener::bind_reuseport(addr, backlog) {
        Ok(sk) => sk,
        Err(e) => {
            let _ = ready.send(Err(format!("shard {shard_id} cannot bind {addr}: {e}")));
            Core::uninstall();
            return;
        }
    };
    let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&sk);
    let listener = Rc::new(listener::into_glommio(sk));
    let ws_listener = match boot
        .ws_addr
        .map(|a| (a, listener::bind_reuseport(a, backlog)))
    {
        None => None,
        Some((_, Ok(sk))) => Some(sk),
        Some((a, Err(e))) => {
            let _ = ready.send(Err(format!(
                "shard {shard_id} cannot bind the WebSocket port {a}: {e}"
            )));
            Core::uninstall();
            return;
        }
    };
    let _ = ready.send(Ok(shard_id));
    if let Some(sk) = ws_listener {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&sk);
        let l = listener::into_glommio(sk);
        glommio::spawn_local(crate::net::ws::accept_loop(core.clone(), l, fd)).detach();
        glommio::spawn_local(crate::net::ws::housekeeping(core.clone())).detach();
    }

    let accept = glommio::spawn_local(listener::accept_loop(core.clone(), listener.clone()));
    let aof = match &plan {
        Some(plan) => load_log(&shard, &config, plan).await,
        None => None,
    };
    // Keyspace notifications from the configuration, once loading is over (replay must not
    // raise events or record effects).
    {
        let mut s = shard.borrow_mut();
        s.notify_flags =
            crate::pubsub::notify::parse_flags(core.params.borrow().text("notify-keyspace-events"));
        s.update_journaling();
    }

    let hz_core = core.clone();
    let expiry = glommio::spawn_local(crate::shard::expire::run(
        shard.clone(),
        move || hz_core.params.borrow().int("hz").max(1) as u64,
        || SHUTDOWN_REQUESTED.load(Ordering::Relaxed),
    ));

    let mut idle_check = std::time::Instant::now();
    while !SHUTDOWN_REQUESTED.load(Ordering::Relaxed) {
        glommio::timer::sleep(SHUTDOWN_POLL).await;
        if idle_check.elapsed() >= Duration::from_secs(1) {
            idle_check = std::time::Instant::now();
            close_idle_clients(&core);
        }
    }
    crate::ops::sd_notify::stopping();
    stop(&core, listener_fd).await;
    if let Some(aof) = &aof {
        crate::aof::driver::close(aof).await;
    }
    drop(accept);
    let _ = expiry.cancel().await;
    Core::uninstall();
}

/// Redis's `timeout`: closes clients idle for longer than that many seconds, except
/// subscribers (as Redis exempts pub/sub clients). Checked once a second.
fn close_idle_clients(core: &Core) {
    let timeout_s = core.params.borrow().int("timeout");
    if timeout_s <= 0 {
        return;
    }
    let now = crate::util::now_ms();
    let idle: Vec<_> = core
        .clients
        .borrow()
        .values()
        .filter(|c| {
            let m = c.meta.borrow();
            m.subscriptions + m.psubscriptions + m.ssubscriptions == 0
                && now.saturating_sub(m.last_interaction_ms) / 1000 > timeout_s as u64
        })
        .cloned()
        .collect();
    for c in idle {
        tracing::debug!(client = c.id, "closing an idle client (timeout)");
        c.kill();
    }
}

/// Loads this shard's log, installs it and starts its tasks. On failure the process is asked
/// to exit 1 (the other shards stop too).
async fn load_log(
    shard: &Rc<RefCell<Shard>>,
    config: &Config,
    plan: &Plan,
) -> Option<Rc<crate::aof::ShardAof>> {
    match crate::aof::load::load(shard, config, plan).await {
        Ok(aof) => {
            {
                let mut s = shard.borrow_mut();
                s.aof = Some(aof.clone());
                s.update_journaling();
            }
            glommio::spawn_local(crate::aof::driver::commit_loop(aof.clone())).detach();
            glommio::spawn_local(crate::aof::driver::housekeeping(shard.clone(), aof.clone()))
                .detach();
            crate::aof::shard_loaded();
            Some(aof)
        }
        Err(e) => {
            // Stays "loading" (so every command keeps getting -LOADING) until the process,
            // asked to stop here, exits 1: nothing is acknowledged by a server that cannot load.
            crate::aof::fatal(e);
            None
        }
    }
}

/// Cores that have closed all their clients, so no more commands can reach any shard; each
/// core waits for all before its final log sync.
static DRAINED_CORES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Stops accepting, closes every client of this core and waits (bounded) for them to go.
async fn stop(core: &Rc<Core>, listener_fd: std::os::fd::RawFd) {
    core.shutting_down.set(true);
    // SAFETY: shutdown(2) on our own listening socket (still open: the listener is alive);
    // it makes the pending accept fail.
    unsafe {
        libc::shutdown(listener_fd, libc::SHUT_RDWR);
    }
    // WebSocket clients first get a close frame (1001) and a moment to answer it.
    crate::net::ws::shut_down(core).await;
    let clients: Vec<_> = core.clients.borrow().values().cloned().collect();
    for c in clients {
        c.kill();
    }
    let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
    while !core.clients.borrow().is_empty() && std::time::Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    DRAINED_CORES.fetch_add(1, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
    while DRAINED_CORES.load(Ordering::SeqCst) < core.nr_shards()
        && std::time::Instant::now() < deadline
    {
        glommio::timer::sleep(Duration::from_millis(2)).await;
    }
}

//! systemd's notify protocol (`Type=notify`), implemented directly: one datagram per state
//! change to the Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
//! namespace). Without the variable every call is a no-op, so running outside systemd costs
//! nothing.
//!
//! What corekv sends (from [`watch`], on a thread of its own):
//! 1. `STATUS=Loading …` about once a second while shards replay their logs;
//! 2. `READY=1` once every shard listens and loading is complete;
//! 3. `STOPPING=1` as soon as a shutdown is requested (SIGTERM, SIGINT, SHUTDOWN): sent by
//!    the first core that notices, before any core starts closing ([`stopping`]).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Sends `state` (newline-separated `KEY=value` lines) to systemd. Returns false when there
/// is no `NOTIFY_SOCKET` or the send failed (logged: the unit would then time out).
pub fn notify(state: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let path = path.to_string_lossy().into_owned();
    let addr = if let Some(name) = path.strip_prefix('@') {
        SocketAddr::from_abstract_name(name.as_bytes())
    } else {
        SocketAddr::from_pathname(&path)
    };
    let sent = addr.and_then(|addr| {
        let sock = UnixDatagram::unbound()?;
        sock.send_to_addr(state.as_bytes(), &addr)
    });
    match sent {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(socket = %path, error = %e, "cannot notify systemd");
            false
        }
    }
}

/// Watches loading and shutdown and tells systemd, until the process stops. Runs on its own
/// thread; returns at once when not started by systemd.
pub fn watch() {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    std::thread::Builder::new()
        .name("sd-notify".into())
        .spawn(|| {
            let stop = || crate::commands::server::SHUTDOWN_REQUESTED.load(Ordering::SeqCst);
            let mut last_status = Instant::now() - Duration::from_secs(1);
            while crate::aof::is_loading() && !stop() {
                if last_status.elapsed() >= Duration::from_secs(1) {
                    last_status = Instant::now();
                    notify(&format!("STATUS={}", crate::aof::loading_status()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !stop() {
                notify("READY=1\nSTATUS=Ready to accept connections");
            }
        })
        .ok();
}

/// Tells systemd the service is stopping (once, from the first core that sees the request,
/// before it starts closing anything).
pub fn stopping() {
    static SENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SENT.swap(true, Ordering::SeqCst) {
        notify("STOPPING=1\nSTATUS=Shutting down");
    }
}

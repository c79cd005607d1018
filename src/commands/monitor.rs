//! MONITOR: every command any client runs, as one status line per command, streamed to the
//! clients that asked.
//!
//! # Protocol
//!
//! - Each core keeps its own monitors (weak handles, in a thread-local: a core's clients live
//!   on that core), and [`MONITORS`] counts them over the process so the request path pays one
//!   relaxed load when nobody monitors.
//! - The dispatcher calls [`feed`] for every command it is about to run (after the arity,
//!   auth and type-independent checks, like Redis's `call()`; ADMIN and `skip_monitor`
//!   commands are never shown; AUTH and HELLO's AUTH arguments are redacted). The line is
//!   formatted once and pushed to this core's monitors directly and to every other core with
//!   one posted task, which queues it on that core's monitors' outboxes (bounded by
//!   `client-output-buffer-limit pubsub`, as for subscribers: a monitor that cannot keep up is
//!   disconnected).
//! - Lines from one connection keep their order; lines from different cores interleave in the
//!   order they arrive (Redis's single thread gives a total order; here there is none to give).
//! - A monitor that disconnects is pruned at the next line its core delivers.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};

use crate::commands::spec::{CommandSpec, flag};
use crate::core::{ClientHandle, Core, Session};
use crate::protocol::Reply;
use crate::pubsub::Limits;
use crate::shard::router::ShardOp;

/// Monitors over every core (see the module docs: a fast "anyone listening?").
static MONITORS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LOCAL: RefCell<Vec<Weak<ClientHandle>>> = const { RefCell::new(Vec::new()) };
}

/// Whether any client on any core monitors (one relaxed load).
pub fn active() -> bool {
    MONITORS.load(Ordering::Relaxed) > 0
}

/// MONITOR: this connection receives every command from now on.
pub fn monitor(sess: &mut Session) -> Reply {
    if sess.handle.meta.borrow().monitor {
        return Reply::ok();
    }
    sess.handle.meta.borrow_mut().monitor = true;
    LOCAL.with(|l| l.borrow_mut().push(Rc::downgrade(&sess.handle)));
    MONITORS.fetch_add(1, Ordering::Relaxed);
    Reply::ok()
}

/// Stops monitoring (RESET).
pub fn stop(sess: &mut Session) {
    if std::mem::take(&mut sess.handle.meta.borrow_mut().monitor) {
        let me = Rc::downgrade(&sess.handle);
        LOCAL.with(|l| l.borrow_mut().retain(|w| !w.ptr_eq(&me)));
        MONITORS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Shows `args` (command `spec`, run by `sess`) to every monitor, if there is any.
pub fn feed(core: &Core, sess: &Session, spec: &CommandSpec, args: &[Bytes]) {
    if MONITORS.load(Ordering::Relaxed) == 0 || hidden(spec, args) {
        return;
    }
    let line = format_line(sess.db, &sess.handle.addr.to_string(), spec.name, args);
    let me = core.router.shard_id();
    for c in 0..core.nr_shards() {
        if c == me {
            deliver(core, &line);
        } else {
            let line = line.clone();
            core.router.post(
                c,
                ShardOp::Task(Box::new(move |_| {
                    if let Some(core) = Core::current() {
                        deliver(&core, &line);
                    }
                    Box::new(())
                })),
            );
        }
    }
}

/// Commands Redis never shows: ADMIN and `skip_monitor` ones, including the admin
/// subcommands of containers whose spec here is one entry (CONFIG, SLOWLOG and LATENCY are
/// admin throughout; of CLIENT, the subcommands Redis 7.0 flags admin).
fn hidden(spec: &CommandSpec, args: &[Bytes]) -> bool {
    if spec.has(flag::ADMIN | flag::SKIP_MONITOR) {
        return true;
    }
    let sub = || {
        args.get(1)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default()
    };
    match spec.name {
        "config" | "slowlog" | "latency" => true,
        "client" => matches!(
            &sub()[..],
            b"list" | b"kill" | b"no-evict" | b"pause" | b"unpause" | b"unblock"
        ),
        _ => false,
    }
}

/// Queues `line` on this core's monitors, pruning the ones that are gone or too slow.
fn deliver(core: &Core, line: &Bytes) {
    let limits = Limits::from_param(core.params.borrow().text("client-output-buffer-limit"));
    LOCAL.with(|l| {
        let mut list = l.borrow_mut();
        list.retain(|w| {
            let Some(c) = w.upgrade() else {
                MONITORS.fetch_sub(1, Ordering::Relaxed);
                return false;
            };
            if !c.meta.borrow().monitor {
                return false;
            }
            if !c.outbox.push(line.clone(), limits) {
                c.killed.set(true);
                c.meta.borrow_mut().monitor = false;
                MONITORS.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
            true
        })
    });
}

/// `+<secs>.<micros> [<db> <addr>] "arg" ...\r\n`, arguments quoted as Redis's `sdscatrepr`
/// does; the arguments of AUTH and HELLO's AUTH are redacted.
pub fn format_line(db: usize, addr: &str, name: &str, args: &[Bytes]) -> Bytes {
    let now_us = crate::util::now_us();
    let mut out = BytesMut::with_capacity(64 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    out.put_u8(b'+');
    out.extend_from_slice(
        format!(
            "{}.{:06} [{db} {addr}]",
            now_us / 1_000_000,
            now_us % 1_000_000
        )
        .as_bytes(),
    );
    let redact_from = match name {
        "auth" => 1,
        "hello" => args
            .iter()
            .position(|a| a.eq_ignore_ascii_case(b"AUTH"))
            .map_or(usize::MAX, |i| i + 1),
        _ => usize::MAX,
    };
    for (i, a) in args.iter().enumerate() {
        out.put_u8(b' ');
        let redacted = match name {
            "hello" => i == redact_from || i == redact_from + 1,
            _ => i >= redact_from,
        };
        if redacted {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, a);
        }
    }
    out.extend_from_slice(b"\r\n");
    out.freeze()
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes.
fn repr(out: &mut BytesMut, s: &[u8]) {
    out.put_u8(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.put_u8(b'\\');
                out.put_u8(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.put_u8(c),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn tail(line: &Bytes) -> String {
        let s = String::from_utf8_lossy(line).into_owned();
        s[s.find('[').unwrap()..].to_string()
    }

    #[test]
    fn quotes_like_sdscatrepr() {
        let l = format_line(
            3,
            "127.0.0.1:5",
            "set",
            &args(&["set", "a b", "x\"y\\z\n\u{1}"]),
        );
        assert_eq!(
            tail(&l),
            "[3 127.0.0.1:5] \"set\" \"a b\" \"x\\\"y\\\\z\\n\\x01\"\r\n"
        );
    }

    #[test]
    fn redacts_passwords() {
        let l = format_line(0, "a", "auth", &args(&["AUTH", "user", "pw"]));
        assert_eq!(tail(&l), "[0 a] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n");
        let l = format_line(
            0,
            "a",
            "hello",
            &args(&["hello", "3", "auth", "u", "p", "setname", "n"]),
        );
        assert_eq!(
            tail(&l),
            "[0 a] \"hello\" \"3\" \"auth\" \"(redacted)\" \"(redacted)\" \"setname\" \"n\"\r\n"
        );
    }
}

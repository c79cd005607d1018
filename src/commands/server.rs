//! Server commands: INFO, CONFIG, COMMAND, TIME, LASTSAVE, SHUTDOWN, DBSIZE, FLUSHDB,
//! FLUSHALL, SWAPDB, DEBUG, SLOWLOG, LATENCY. Most gather something from every shard through
//! the router.

mod command;
mod info;
pub mod latency;
pub mod slowlog;

use bytes::Bytes;

use crate::commands::exec::CoordOp;
use crate::commands::spec::{CommandSpec, Exec, flag::*};
use crate::commands::strings::{not_integer, syntax_error};
use crate::core::{Core, Session};
use crate::protocol::Reply;
use crate::util::parse_i64;

pub use command::command;
pub use info::info;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("info", -1, LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Info))
        .acl(&["slow", "dangerous"])
        .doc("server", "1.0.0", "Get information and statistics about the server", "O(1)"),
    CommandSpec::new("config", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::Config))
        .acl(&["slow"])
        .doc("server", "2.0.0", "A container for server configuration commands", "Depends on subcommand."),
    CommandSpec::new("command", -1, LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Command))
        .acl(&["slow", "connection"])
        .doc("server", "2.8.13", "Get array of Redis command details", "O(N) where N is the total number of Redis commands"),
    CommandSpec::new("time", 1, LOADING | STALE | FAST, (0, 0, 0), Exec::Coord(CoordOp::Time))
        .acl(&["fast"])
        .doc("server", "2.6.0", "Return the current server time", "O(1)"),
    CommandSpec::new("lastsave", 1, LOADING | STALE | FAST, (0, 0, 0), Exec::Coord(CoordOp::LastSave))
        .acl(&["admin", "fast", "dangerous"])
        .doc("server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk", "O(1)"),
    CommandSpec::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Shutdown),
    )
    .acl(&["admin", "slow", "dangerous"])
    .doc("server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    CommandSpec::new("dbsize", 1, READONLY | FAST, (0, 0, 0), Exec::Coord(CoordOp::DbSize))
        .acl(&["keyspace", "read", "fast"])
        .doc("server", "1.0.0", "Return the number of keys in the selected database", "O(1)"),
    CommandSpec::new("flushdb", -1, WRITE, (0, 0, 0), Exec::Coord(CoordOp::FlushDb))
        .acl(&["keyspace", "write", "slow", "dangerous"])
        .doc("server", "1.0.0", "Remove all keys from the current database", "O(N) where N is the number of keys in the selected database"),
    CommandSpec::new("flushall", -1, WRITE, (0, 0, 0), Exec::Coord(CoordOp::FlushAll))
        .acl(&["keyspace", "write", "slow", "dangerous"])
        .doc("server", "1.0.0", "Remove all keys from all databases", "O(N) where N is the total number of keys in all databases"),
    CommandSpec::new("swapdb", 3, WRITE | FAST, (0, 0, 0), Exec::Coord(CoordOp::SwapDb))
        .acl(&["keyspace", "write", "fast", "dangerous"])
        .doc("server", "4.0.0", "Swaps two Redis databases", "O(N) where N is the count of clients watching or blocking on keys from both databases."),
    CommandSpec::new("bgrewriteaof", 1, NO_ASYNC_LOADING | ADMIN | NOSCRIPT, (0, 0, 0), Exec::Coord(CoordOp::BgRewriteAof))
        .acl(&["admin", "slow", "dangerous"])
        .doc("server", "1.0.0", "Asynchronously rewrite the append-only file", "O(1)"),
    CommandSpec::new("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Debug))
        .acl(&["admin", "slow", "dangerous"])
        .doc("server", "1.0.0", "A container for debugging commands", "Depends on subcommand."),
    CommandSpec::new("slowlog", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::SlowLog))
        .acl(&["slow"])
        .doc("server", "2.2.12", "A container for slow log commands", "Depends on subcommand."),
    CommandSpec::new("latency", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::Latency))
        .acl(&["slow"])
        .doc("server", "2.8.13", "A container for latency diagnostics commands", "Depends on subcommand."),
    CommandSpec::new("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), Exec::Coord(CoordOp::Monitor))
        .acl(&["admin", "slow", "dangerous"])
        .doc("server", "1.0.0", "Listen for all requests received by the server in real time", ""),
];

pub fn time() -> Reply {
    let us = crate::util::now_us();
    Reply::Array(vec![
        Reply::Bulk(Bytes::from((us / 1_000_000).to_string())),
        Reply::Bulk(Bytes::from((us % 1_000_000).to_string())),
    ])
}

pub async fn dbsize(core: &Core, db: usize) -> Reply {
    let sizes = core.router.run_on_all(move |s| s.dbs[db].len()).await;
    Reply::Integer(sizes.into_iter().flatten().sum::<usize>() as i64)
}

/// FLUSHDB / FLUSHALL [ASYNC | SYNC]; `db` None means every database.
pub async fn flush(core: &Core, args: &[Bytes], db: Option<usize>) -> Reply {
    match args.len() {
        1 => {}
        2 if args[1].eq_ignore_ascii_case(b"ASYNC") || args[1].eq_ignore_ascii_case(b"SYNC") => {}
        _ => return syntax_error(),
    }
    core.router
        .run_on_all(move |s| match db {
            Some(d) => s.dbs[d].clear(),
            None => s.dbs.iter_mut().for_each(|d| d.clear()),
        })
        .await;
    Reply::ok()
}

/// SWAPDB a b: every shard swaps its two slices. Between the first and last shard's swap a
/// client on another connection can see some keys swapped and others not (docs).
pub async fn swapdb(core: &Core, args: &[Bytes]) -> Reply {
    let n = core.config.databases as i64;
    // Redis reads both as ints: anything else, or out of int range, is "invalid".
    let index = |arg: &[u8]| parse_i64(arg).filter(|n| i32::try_from(*n).is_ok());
    let Some(a) = index(&args[1]) else {
        return Reply::error("ERR invalid first DB index");
    };
    let Some(b) = index(&args[2]) else {
        return Reply::error("ERR invalid second DB index");
    };
    if a < 0 || a >= n || b < 0 || b >= n {
        return Reply::error("ERR DB index is out of range");
    }
    let (a, b) = (a as usize, b as usize);
    core.router
        .run_on_all(move |s| {
            if a != b {
                let (lo, hi) = (a.min(b), a.max(b));
                let (left, right) = s.dbs.split_at_mut(hi);
                left[lo].swap_data(&mut right[0]);
                let idx = |i: usize| Bytes::from(i.to_string());
                left[lo].journal_command(vec![Bytes::from_static(b"SWAPDB"), idx(a), idx(b)]);
            }
        })
        .await;
    Reply::ok()
}

/// BGREWRITEAOF: every shard rewrites its log (started by its housekeeping within a tick).
pub async fn bgrewriteaof(core: &Core) -> Reply {
    let busy = core
        .router
        .run_on_all(|s| {
            s.aof.as_ref().map(|a| {
                let r = a.rewrite.borrow();
                r.started.is_some() || r.requested
            })
        })
        .await;
    if busy.iter().any(|b| matches!(b, Some(Some(true)))) {
        return Reply::error("ERR Background append only file rewriting already in progress");
    }
    if !busy.iter().any(|b| matches!(b, Some(Some(_)))) {
        tracing::warn!("BGREWRITEAOF: the append-only log is disabled (--appendonly no)");
        return Reply::error(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
        );
    }
    core.router
        .run_on_all(|s| {
            if let Some(a) = &s.aof {
                let mut r = a.rewrite.borrow_mut();
                r.requested = true;
                r.consecutive_failures = 0;
            }
        })
        .await;
    Reply::Status(Bytes::from_static(
        b"Background append only file rewriting started",
    ))
}

/// Set by SHUTDOWN or a signal; every core's housekeeping tick checks it and stops.
pub static SHUTDOWN_REQUESTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]. On success the connection is closed
/// without a reply, like Redis, and the process exits once every core has stopped.
///
/// As in Redis, NOSAVE with SAVE, or ABORT with any other option, is a syntax error, and
/// ABORT answers that no shutdown is in progress (a shutdown here never waits for replicas,
/// so there is never one to abort).
pub async fn shutdown(_core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    let (mut save, mut nosave, mut other, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        if a.eq_ignore_ascii_case(b"NOSAVE") {
            nosave = true;
        } else if a.eq_ignore_ascii_case(b"SAVE") {
            save = true;
        } else if a.eq_ignore_ascii_case(b"NOW") || a.eq_ignore_ascii_case(b"FORCE") {
            other = true;
        } else if a.eq_ignore_ascii_case(b"ABORT") {
            abort = true;
        } else {
            return syntax_error();
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return syntax_error();
    }
    if abort {
        return Reply::error("ERR No shutdown in progress.");
    }
    tracing::warn!(client = sess.id(), "SHUTDOWN requested by a client");
    SHUTDOWN_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
    sess.close_after_reply = true;
    sess.skip_reply = true;
    Reply::ok()
}

/// CONFIG GET | SET | RESETSTAT | HELP. CONFIG SET reaches every core before it replies.
pub async fn config(core: &Core, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let arity = |s: &str| {
        Reply::error(format!(
            "ERR wrong number of arguments for 'config|{s}' command"
        ))
    };
    match sub.as_str() {
        "get" => {
            if args.len() < 3 {
                return arity("get");
            }
            let pats: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
            let pairs = core.params.borrow().get(&pats);
            Reply::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Reply::Bulk(Bytes::from(k)), Reply::Bulk(Bytes::from(v))))
                    .collect(),
            )
        }
        "set" => {
            if args.len() < 4 {
                return arity("set");
            }
            if !args.len().is_multiple_of(2) {
                return syntax_error();
            }
            let pairs: Vec<(String, String)> = args[2..]
                .chunks(2)
                .map(|c| {
                    (
                        String::from_utf8_lossy(&c[0]).into_owned(),
                        String::from_utf8_lossy(&c[1]).into_owned(),
                    )
                })
                .collect();
            let mut staged = core.params.borrow().clone();
            if let Err(e) = staged.set(&pairs) {
                return Reply::error(format!("ERR {e}"));
            }
            let appendonly = staged.text("appendonly").to_string();
            if appendonly != core.params.borrow().text("appendonly")
                && let Err(why) =
                    crate::aof::toggle::set_appendonly(core, appendonly == "yes").await
            {
                return Reply::error(format!(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {why}"
                ));
            }
            core.router
                .run_on_all(move |shard| {
                    if let Some(c) = Core::current() {
                        let mut p = c.params.borrow_mut();
                        let _ = p.set(&pairs);
                        shard.notify_flags =
                            crate::pubsub::notify::parse_flags(p.text("notify-keyspace-events"));
                        shard.update_journaling();
                        crate::store::encoding::apply(&p);
                    }
                })
                .await;
            Reply::ok()
        }
        "resetstat" => {
            if args.len() != 2 {
                return arity("resetstat");
            }
            core.router
                .run_on_all(|s| {
                    s.commands.reset();
                    s.stats = Default::default();
                    if let Some(c) = Core::current() {
                        c.net.reset();
                    }
                })
                .await;
            Reply::ok()
        }
        "rewrite" | "help" if args.len() != 2 => arity(&sub),
        "rewrite" => match &core.config.config_file {
            None => Reply::error("ERR The server is running without a config file"),
            Some(path) => {
                let params = core.params.borrow();
                let own = &core.config.own_options;
                match crate::config::rewrite::rewrite(path, &params, own, core.router.shard_id()) {
                    Ok(()) => Reply::ok(),
                    Err(e) => {
                        tracing::warn!(error = %e, "CONFIG REWRITE of {} failed", path.display());
                        Reply::error(format!("ERR Rewriting config file: {e}"))
                    }
                }
            }
        },
        "help" => Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
        ),
        _ => Reply::error(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

/// DEBUG, honouring `enable-debug-command` exactly as Redis 7 does (refused by default).
pub async fn debug(core: &Core, sess: &Session, args: &[Bytes]) -> Reply {
    let mode = core
        .params
        .borrow()
        .text("enable-debug-command")
        .to_string();
    let local = sess.handle.addr.ip().is_loopback();
    if mode == "no" || (mode == "local" && !local) {
        return Reply::error(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        );
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("sleep", 3) => {
            let secs: f64 = match std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse().ok())
            {
                Some(s) if (0.0..3600.0).contains(&s) => s,
                _ => return not_integer(),
            };
            // Sleeps this connection only: a thread-per-core server does not stall every
            // client for one debug command.
            glommio::timer::sleep(std::time::Duration::from_secs_f64(secs)).await;
            Reply::ok()
        }
        // The argument, verbatim, as an error reply (clients' tests use it to fake errors).
        ("error", 3) => Reply::Error(args[2].clone()),
        ("set-active-expire", 3) => {
            let on = parse_i64(&args[2]).is_some_and(|v| v != 0);
            core.router.run_on_all(move |s| s.active_expire = on).await;
            Reply::ok()
        }
        _ => Reply::error(format!(
            "ERR unknown subcommand '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

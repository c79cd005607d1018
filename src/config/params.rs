//! The registry of runtime parameters behind CONFIG GET / CONFIG SET / CONFIG RESETSTAT.
//!
//! Each parameter is declared once in [`PARAMS`] with its kind (which fixes validation and the
//! canonical text CONFIG GET shows), its default and whether it may change at runtime. Values
//! are kept as canonical text; typed accessors parse them. Redis parameters that tune things
//! corekv does not have (encodings such as `hash-max-listpack-entries`, `save`) are accepted,
//! validated, kept and reported, and have no effect: clients and tools that set them keep
//! working. docs/CONFIG.md lists which parameters act.
//!
//! How each kind's values are read and printed is in [`crate::config::values`]; the config
//! file ([`crate::config::file`]) sets the same parameters through the same functions.

use ahash::AHashMap;

use crate::config::Config;
use crate::config::values::canonical;
pub use crate::config::values::{canonical_notify, parse_memory};
use crate::util::glob::glob_match;

#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    /// An integer as `string2ll` reads it (no `+`, no leading zeros), in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// `hz`: an integer in `0..=i32::MAX` that Redis then clamps into `1..=500`.
    Hz,
    /// A byte count held in a signed type (Redis `long long`, `off_t`): Redis's units
    /// (k, kb, m, mb, g, gb), and values that wrap past `i64::MAX` read as negative.
    Memory {
        min: i64,
        max: i64,
    },
    /// A byte count held in an unsigned type (Redis `size_t`, `unsigned long long`).
    UnsignedMemory {
        min: u64,
        max: u64,
    },
    /// `maxmemory-clients`: a byte count, or a percentage of `maxmemory` (`10%`).
    MemoryOrPercent,
    /// One of the names, case-insensitive; listed in Redis's order (its error message lists
    /// them in this order).
    Enum(&'static [&'static str]),
    Str,
    /// `save`: pairs of "<seconds> <changes>", or empty.
    Save,
    /// `client-output-buffer-limit`: "<class> <hard> <soft> <seconds>" groups.
    ClientOutputBufferLimit,
    /// `notify-keyspace-events`: Redis's flag letters.
    NotifyFlags,
    /// `latency-tracking-info-percentiles`: space-separated doubles in `0..=100`.
    Percentiles,
}

/// Whether CONFIG SET may change a parameter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Mutable,
    /// Fixed at startup: "can't set immutable config".
    Immutable,
    /// Redis refuses these while `enable-protected-configs` is `no` (its default, which
    /// corekv does not let change): "can't set protected config".
    Protected,
}

pub struct ParamSpec {
    pub name: &'static str,
    /// Older names that read and write the same value (e.g. `*-ziplist-*`).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: &'static str,
    pub access: Access,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind,
        default,
        access: Access::Mutable,
    }
}

pub(crate) const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind,
        default,
        access: Access::Immutable,
    }
}

const fn protected(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind,
        default,
        access: Access::Protected,
    }
}

const fn alias(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        aliases,
        kind,
        default,
        access: Access::Mutable,
    }
}

const INT: Kind = Kind::Int {
    min: 0,
    max: i32::MAX as i64,
};
const LONG: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
/// Redis's `size_t` memory parameters, bounded to `LONG_MAX`.
const SIZE: Kind = Kind::UnsignedMemory {
    min: 0,
    max: i64::MAX as u64,
};

/// Every parameter CONFIG knows, in the order CONFIG GET * lists them. Kinds, bounds,
/// defaults and mutability are Redis 7.0's.
pub static PARAMS: &[ParamSpec] = &[
    fixed("bind", Kind::Str, "127.0.0.1"),
    fixed("port", Kind::Int { min: 0, max: 65535 }, "6379"),
    fixed("databases", Kind::Int { min: 1, max: 1024 }, "16"),
    fixed("daemonize", Kind::Bool, "no"),
    fixed(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    fixed("io-threads", Kind::Int { min: 1, max: 128 }, "1"),
    fixed("cluster-enabled", Kind::Bool, "no"),
    fixed("tcp-backlog", INT, "511"),
    p("requirepass", Kind::Str, ""),
    p("protected-mode", Kind::Bool, "yes"),
    p(
        "maxclients",
        Kind::Int {
            min: 1,
            max: u32::MAX as i64,
        },
        "10000",
    ),
    p("timeout", INT, "0"),
    p("tcp-keepalive", INT, "300"),
    p(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
    ),
    fixed("logfile", Kind::Str, ""),
    fixed("pidfile", Kind::Str, ""),
    protected("dir", Kind::Str, "./data"),
    protected("dbfilename", Kind::Str, "dump.rdb"),
    p("save", Kind::Save, ""),
    p("appendonly", Kind::Bool, "yes"),
    p(
        "appendfsync",
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    fixed("appendfilename", Kind::Str, "appendonly.aof"),
    fixed("appenddirname", Kind::Str, "appendonlydir"),
    p("auto-aof-rewrite-percentage", INT, "100"),
    p(
        "auto-aof-rewrite-min-size",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "67108864",
    ),
    fixed("aof-load-truncated", Kind::Bool, "yes"),
    p(
        "key-load-delay",
        Kind::Int {
            min: 0,
            max: 1_000_000,
        },
        "0",
    ),
    p("aof-use-rdb-preamble", Kind::Bool, "yes"),
    p("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    p(
        "maxmemory",
        Kind::UnsignedMemory {
            min: 0,
            max: u64::MAX,
        },
        "0",
    ),
    p(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    p(
        "maxmemory-samples",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "5",
    ),
    p("maxmemory-clients", Kind::MemoryOrPercent, "0"),
    p("hz", Kind::Hz, "10"),
    p("dynamic-hz", Kind::Bool, "yes"),
    p("active-expire-effort", Kind::Int { min: 1, max: 10 }, "1"),
    p("activerehashing", Kind::Bool, "yes"),
    p(
        "proto-max-bulk-len",
        Kind::Memory {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        "536870912",
    ),
    p(
        "client-query-buffer-limit",
        Kind::UnsignedMemory {
            min: 1024 * 1024,
            max: i64::MAX as u64,
        },
        "1073741824",
    ),
    p(
        "client-output-buffer-limit",
        Kind::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("notify-keyspace-events", Kind::NotifyFlags, ""),
    p(
        "slowlog-log-slower-than",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        "10000",
    ),
    p("slowlog-max-len", LONG, "128"),
    p("latency-monitor-threshold", LONG, "0"),
    p("latency-tracking", Kind::Bool, "yes"),
    p(
        "latency-tracking-info-percentiles",
        Kind::Percentiles,
        "50 99 99.9",
    ),
    p("lazyfree-lazy-eviction", Kind::Bool, "no"),
    p("lazyfree-lazy-expire", Kind::Bool, "no"),
    p("lazyfree-lazy-server-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    // Redis 7.0's compiled-in default is 512; its sample redis.conf says 128.
    alias(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        LONG,
        "512",
    ),
    alias(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        SIZE,
        "64",
    ),
    alias(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        Kind::Int {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        "-2",
    ),
    p("list-compress-depth", INT, "0"),
    p("set-max-intset-entries", LONG, "512"),
    alias(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        LONG,
        "128",
    ),
    alias(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        SIZE,
        "64",
    ),
    p("stream-node-max-bytes", SIZE, "4096"),
    p("stream-node-max-entries", LONG, "100"),
    p("busy-reply-threshold", LONG, "5000"),
    p("replica-read-only", Kind::Bool, "yes"),
    p("repl-diskless-sync", Kind::Bool, "yes"),
    // The WebSocket interface (corekv's own; README "WebSocket"). The port is fixed at
    // startup; the others apply to connections opened after a change.
    fixed("ws-port", Kind::Int { min: 0, max: 65535 }, "8379"),
    p(
        "ws-max-message-bytes",
        Kind::Memory {
            min: 1024,
            max: i64::MAX,
        },
        "16777216",
    ),
    p("ws-abort", Kind::Bool, "yes"),
    p("ws-allowed-origins", Kind::Str, ""),
    p("ws-ping-interval-ms", LONG, "30000"),
    p(
        "ws-pong-timeout-ms",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "10000",
    ),
    p(
        "ws-handshake-timeout-ms",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        "10000",
    ),
    p(
        "ws-max-output-bytes",
        Kind::Memory {
            min: 0,
            max: i64::MAX,
        },
        "33554432",
    ),
    // The redis_websocket_api dialect at /rwa (README "The redis_websocket_api dialect"):
    // allowed channel globs (space-separated), checked at each SUB / GET / PGET; the
    // timeouts apply to connections opened after a change.
    p("rwa-allow-channels", Kind::Str, ""),
    p("rwa-read-timeout-ms", LONG, "30000"),
    p("rwa-keep-alive-timeout-ms", LONG, "0"),
    // Immutable, as in Redis: set at startup with --enable-debug-command.
    fixed(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
    ),
];

/// The current values, one copy per core (CONFIG SET updates every core).
#[derive(Clone)]
pub struct Params {
    values: AHashMap<&'static str, String>,
    /// Bumped by every successful [`Params::set`], so hot paths can cache a value and
    /// re-read it only when it may have changed.
    generation: u64,
}

/// Finds a parameter by its name or an alias, case-insensitively, and returns it with the
/// name that matched: like Redis, an alias behaves as a parameter of its own name (errors
/// name it, and setting a parameter and its alias in one CONFIG SET is not a duplicate).
pub fn find(name: &str) -> Option<(&'static ParamSpec, &'static str)> {
    PARAMS.iter().find_map(|spec| {
        std::iter::once(&spec.name)
            .chain(spec.aliases)
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(|n| (spec, *n))
    })
}

/// Glob characters: a CONFIG GET argument without any names one parameter exactly.
fn is_pattern(arg: &[u8]) -> bool {
    arg.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

impl Params {
    /// The values at startup: each default, then what the config file set, then the fields
    /// of `config` (which hold the command line's word where it had one).
    pub fn from_config(config: &Config) -> Params {
        let mut values: AHashMap<&'static str, String> = PARAMS
            .iter()
            .map(|s| (s.name, s.default.to_string()))
            .collect();
        for (name, text) in &config.file_params {
            values.insert(name, text.clone());
        }
        values.insert("bind", config.bind.to_string());
        values.insert("port", config.port.to_string());
        values.insert("databases", config.databases.to_string());
        values.insert(
            "requirepass",
            config.requirepass.clone().unwrap_or_default(),
        );
        values.insert("proto-max-bulk-len", config.proto_max_bulk_len.to_string());
        values.insert(
            "client-query-buffer-limit",
            config.client_query_buffer_limit.to_string(),
        );
        values.insert("enable-debug-command", config.enable_debug_command.clone());
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        values.insert("appendonly", yes_no(config.appendonly));
        values.insert("appendfsync", config.appendfsync.name().to_string());
        values.insert("dir", config.dir.display().to_string());
        values.insert("aof-load-truncated", yes_no(config.aof_load_truncated));
        values.insert("key-load-delay", config.key_load_delay_us.to_string());
        let ws = &config.ws;
        values.insert("ws-port", ws.port.to_string());
        values.insert("ws-max-message-bytes", ws.max_message_bytes.to_string());
        values.insert("ws-abort", yes_no(ws.abort));
        values.insert("ws-allowed-origins", ws.allowed_origins.clone());
        values.insert("ws-ping-interval-ms", ws.ping_interval_ms.to_string());
        values.insert("ws-pong-timeout-ms", ws.pong_timeout_ms.to_string());
        values.insert(
            "ws-handshake-timeout-ms",
            ws.handshake_timeout_ms.to_string(),
        );
        values.insert("ws-max-output-bytes", ws.max_output_bytes.to_string());
        values.insert("rwa-allow-channels", ws.rwa_allow_channels.clone());
        values.insert("rwa-read-timeout-ms", ws.rwa_read_timeout_ms.to_string());
        values.insert(
            "rwa-keep-alive-timeout-ms",
            ws.rwa_keep_alive_timeout_ms.to_string(),
        );
        Params {
            values,
            generation: 0,
        }
    }

    /// CONFIG GET: every (name, value) whose name or alias matches one of `patterns`.
    ///
    /// As in Redis, an argument without glob characters is looked up directly and answered
    /// under the name as the client spelled it (`MAXMEMORY`), and a parameter is listed once
    /// however many arguments match it.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let listed = |out: &Vec<(String, String)>, name: &str| {
            out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for pattern in patterns {
            if !is_pattern(pattern) {
                let typed = String::from_utf8_lossy(pattern).into_owned();
                if let Some((spec, _)) = find(&typed)
                    && !listed(&out, &typed)
                {
                    out.push((typed, self.text(spec.name).to_string()));
                }
                continue;
            }
            for spec in PARAMS {
                for name in std::iter::once(&spec.name).chain(spec.aliases) {
                    if glob_match(pattern, name.as_bytes(), true) && !listed(&out, name) {
                        out.push((name.to_string(), self.text(spec.name).to_string()));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET with one or more (name, value) pairs: all are validated first and applied
    /// together, or none is. Errors carry Redis's exact text (without the "ERR " prefix).
    ///
    /// Redis's order of checks: first every name (unknown, immutable or protected, named
    /// twice), where the first problem wins and is reported with the name as typed; then
    /// the values in order, reported with the parameter's own name.
    pub fn set(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        let fail = |name: &str, why: &str| {
            format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let mut found: Vec<(&'static ParamSpec, &'static str)> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let Some((spec, matched)) = find(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            match spec.access {
                Access::Mutable => {}
                Access::Immutable => return Err(fail(name, "can't set immutable config")),
                Access::Protected => return Err(fail(name, "can't set protected config")),
            }
            if found.iter().any(|(_, m)| *m == matched) {
                return Err(fail(name, "duplicate parameter"));
            }
            found.push((spec, matched));
        }
        let mut staged = self.values.clone();
        for ((spec, matched), (_, value)) in found.into_iter().zip(pairs) {
            let current = staged.get(spec.name).map_or("", String::as_str);
            let v = canonical(spec.kind, value, current).map_err(|why| fail(matched, &why))?;
            staged.insert(spec.name, v);
        }
        self.values = staged;
        self.generation += 1;
        Ok(())
    }

    /// Changes with every successful [`Params::set`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The canonical text of a parameter.
    pub fn text(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn int(&self, name: &str) -> i64 {
        self.text(name).parse().unwrap_or(0)
    }

    pub fn yes(&self, name: &str) -> bool {
        self.text(name) == "yes"
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;

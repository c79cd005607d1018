//! The registry of runtime parameters behind CONFIG GET / CONFIG SET / CONFIG RESETSTAT.
//!
//! Each parameter is declared once in [`PARAMS`] with its kind (which fixes validation and the
//! canonical text CONFIG GET shows), its default and whether it may change at runtime. Values
//! are kept as canonical text; typed accessors parse them. Redis parameters that tune things
//! corekv does not have (encodings such as `hash-max-listpack-entries`, `save`) are accepted,
//! validated, kept and reported, and have no effect: clients and tools that set them keep
//! working. docs/CONFIG.md lists which parameters act.

use ahash::AHashMap;

use crate::config::Config;
use crate::util::glob::glob_match;

#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count; accepts Redis's units (k, kb, m, mb, g, gb).
    Memory {
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    Str,
    /// `save`: pairs of "<seconds> <changes>", or empty.
    Save,
    /// `client-output-buffer-limit`: "<class> <hard> <soft> <seconds>" groups.
    ClientOutputBufferLimit,
    /// `notify-keyspace-events`: Redis's flag letters.
    NotifyFlags,
}

pub struct ParamSpec {
    pub name: &'static str,
    /// Older names that read and write the same value (e.g. `*-ziplist-*`).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: &'static str,
    pub mutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind,
        default,
        mutable: false,
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
        mutable: true,
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
const MEM: Kind = Kind::Memory {
    min: 0,
    max: i64::MAX,
};

/// Every parameter CONFIG knows, in the order CONFIG GET * lists them.
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
            max: i32::MAX as i64,
        },
        "10000",
    ),
    p("timeout", INT, "0"),
    p("tcp-keepalive", INT, "300"),
    p(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    p("logfile", Kind::Str, ""),
    p("pidfile", Kind::Str, ""),
    p("dir", Kind::Str, "./data"),
    p("dbfilename", Kind::Str, "dump.rdb"),
    p("save", Kind::Save, ""),
    p("appendonly", Kind::Bool, "no"),
    p(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    p("appendfilename", Kind::Str, "appendonly.aof"),
    p("appenddirname", Kind::Str, "appendonlydir"),
    p("auto-aof-rewrite-percentage", INT, "100"),
    p("auto-aof-rewrite-min-size", MEM, "67108864"),
    p("aof-load-truncated", Kind::Bool, "yes"),
    p("aof-use-rdb-preamble", Kind::Bool, "yes"),
    p("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    p("maxmemory", MEM, "0"),
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
    p("maxmemory-samples", Kind::Int { min: 1, max: 64 }, "5"),
    p("maxmemory-clients", MEM, "0"),
    p("hz", Kind::Int { min: 1, max: 500 }, "10"),
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
        Kind::Memory {
            min: 1024 * 1024,
            max: i64::MAX,
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
    p("latency-tracking-info-percentiles", Kind::Str, "50 99 99.9"),
    p("lazyfree-lazy-eviction", Kind::Bool, "no"),
    p("lazyfree-lazy-expire", Kind::Bool, "no"),
    p("lazyfree-lazy-server-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    alias(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        LONG,
        "128",
    ),
    alias(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        LONG,
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
        LONG,
        "64",
    ),
    p("stream-node-max-bytes", MEM, "4096"),
    p("stream-node-max-entries", LONG, "100"),
    p("busy-reply-threshold", LONG, "5000"),
    p("replica-read-only", Kind::Bool, "yes"),
    p("repl-diskless-sync", Kind::Bool, "yes"),
    p(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
    ),
];

/// The current values, one copy per core (CONFIG SET updates every core).
#[derive(Clone)]
pub struct Params {
    values: AHashMap<&'static str, String>,
}

fn find(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|s| {
        s.name.eq_ignore_ascii_case(name) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Parses a Redis memory value: an integer with an optional k/kb/m/mb/g/gb suffix
/// (k = 1000, kb = 1024, ...), as memtoull does.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul): (&str, i64) = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|d| (d, *m)))
    .unwrap_or((lower.as_str(), 1));
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(mul)
}

/// Validates `value` for `spec` and returns the canonical text CONFIG GET will show.
fn canonical(spec: &ParamSpec, value: &str) -> Result<String, String> {
    match spec.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let v: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                // Redis clamps hz instead of refusing it.
                if spec.name == "hz" {
                    return Ok(v.clamp(min, max).to_string());
                }
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
        }
        Kind::Memory { min, max } => {
            let v = parse_memory(value).ok_or("argument must be a memory value")?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
        }
        Kind::Enum(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(value))
            .map(|o| o.to_string())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    options.join(", ")
                )
            }),
        Kind::Str => Ok(value.to_string()),
        Kind::Save => {
            let parts: Vec<&str> = value.split_ascii_whitespace().collect();
            let ok = parts.len() % 2 == 0 && parts.iter().all(|p| p.parse::<u64>().is_ok());
            if !ok {
                return Err("Invalid save parameters".into());
            }
            Ok(parts.join(" "))
        }
        Kind::ClientOutputBufferLimit => canonical_cobl(value),
        Kind::NotifyFlags => crate::config::params::canonical_notify(value)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
    }
}

fn canonical_cobl(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    if parts.is_empty() || parts.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes = AHashMap::new();
    for chunk in parts.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "slave" | "replica" => "slave",
            "pubsub" => "pubsub",
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        };
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs = chunk[3].parse::<i64>().ok().filter(|s| *s >= 0);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => {
                classes.insert(class, format!("{class} {h} {s} {t}"));
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                );
            }
        }
    }
    let current = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
    let mut out = Vec::new();
    for chunk in current.split(' ').collect::<Vec<_>>().chunks(4) {
        match classes.get(chunk[0]) {
            Some(v) => out.push(v.clone()),
            None => out.push(chunk.join(" ")),
        }
    }
    Ok(out.join(" "))
}

/// Canonical form of `notify-keyspace-events` as Redis prints it (keyspaceEventsFlagsToString):
/// "A" stands for all of "g$lshzxetd", then the remaining type letters, then K, E, m, n.
pub fn canonical_notify(value: &str) -> Option<String> {
    const ALL: &str = "g$lshzxetd";
    let mut set = std::collections::BTreeSet::new();
    for c in value.chars() {
        match c {
            'A' => set.extend(ALL.chars()),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 'K' | 'E' | 't' | 'm' | 'd' | 'n' => {
                set.insert(c);
            }
            _ => return None,
        }
    }
    let mut out = String::new();
    if ALL.chars().all(|c| set.contains(&c)) {
        out.push('A');
    } else {
        for c in ALL.chars().filter(|c| set.contains(c)) {
            out.push(c);
        }
    }
    for c in ['K', 'E', 'm', 'n'] {
        if set.contains(&c) {
            out.push(c);
        }
    }
    Some(out)
}

impl Params {
    pub fn from_config(config: &Config) -> Params {
        let mut values: AHashMap<&'static str, String> = PARAMS
            .iter()
            .map(|s| (s.name, s.default.to_string()))
            .collect();
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
        Params { values }
    }

    /// CONFIG GET: every (name, value) whose name or alias matches one of `patterns`.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for spec in PARAMS {
            let value = self.values.get(spec.name).cloned().unwrap_or_default();
            for name in std::iter::once(&spec.name).chain(spec.aliases.iter()) {
                let matched = patterns
                    .iter()
                    .any(|pat| glob_match(pat, name.as_bytes(), true));
                if matched && seen.insert(*name) {
                    out.push((name.to_string(), value.clone()));
                }
            }
        }
        out
    }

    /// CONFIG SET with one or more (name, value) pairs: all are validated first and applied
    /// together, or none is. Errors carry Redis's exact text (without the "ERR " prefix).
    pub fn set(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        let mut staged: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in pairs {
            let spec = find(name).ok_or_else(|| {
                format!("Unknown option or number of arguments for CONFIG SET - '{name}'")
            })?;
            let fail = |why: &str| {
                format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            if staged.iter().any(|(n, _)| *n == spec.name) {
                return Err(fail("duplicate parameter"));
            }
            if !spec.mutable {
                return Err(fail("can't set immutable config"));
            }
            let v = canonical(spec, value).map_err(|why| fail(&why))?;
            staged.push((spec.name, v));
        }
        for (name, v) in staged {
            self.values.insert(name, v);
        }
        Ok(())
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
mod tests {
    use super::*;

    fn params() -> Params {
        let cli = <crate::config::Cli as clap::Parser>::parse_from(["corekv"]);
        Params::from_config(&Config::from_cli(cli).unwrap())
    }

    #[test]
    fn set_validates_like_redis() {
        let mut p = params();
        let e = p.set(&[("foo".into(), "bar".into())]).unwrap_err();
        assert_eq!(
            e,
            "Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        let e = p.set(&[("maxmemory".into(), "abc".into())]).unwrap_err();
        assert!(e.ends_with("argument must be a memory value"), "{e}");
        let e = p.set(&[("daemonize".into(), "yes".into())]).unwrap_err();
        assert!(e.ends_with("can't set immutable config"), "{e}");
        p.set(&[("maxmemory".into(), "1gb".into())]).unwrap();
        assert_eq!(p.text("maxmemory"), "1073741824");
        p.set(&[("hz".into(), "1000000".into())]).unwrap();
        assert_eq!(p.text("hz"), "500");
        // atomic: a bad second pair leaves the first unchanged
        let e = p.set(&[("timeout".into(), "5".into()), ("hz".into(), "x".into())]);
        assert!(e.is_err());
        assert_eq!(p.text("timeout"), "0");
    }

    #[test]
    fn get_matches_names_and_aliases() {
        let p = params();
        let got = p.get(&[b"hash-max-*"]);
        let names: Vec<_> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"hash-max-listpack-entries"));
        assert!(names.contains(&"hash-max-ziplist-entries"));
    }

    #[test]
    fn notify_flags_canonical() {
        assert_eq!(canonical_notify("KEA").unwrap(), "AKE");
        assert_eq!(canonical_notify("Kx").unwrap(), "xK");
        assert!(canonical_notify("Q").is_none());
    }
}

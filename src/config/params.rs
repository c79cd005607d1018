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
use crate::util::parse_i64;

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

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> ParamSpec {
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
}

/// Finds a parameter by its name or an alias, case-insensitively, and returns it with the
/// name that matched: like Redis, an alias behaves as a parameter of its own name (errors
/// name it, and setting a parameter and its alias in one CONFIG SET is not a duplicate).
fn find(name: &str) -> Option<(&'static ParamSpec, &'static str)> {
    PARAMS.iter().find_map(|spec| {
        std::iter::once(&spec.name)
            .chain(spec.aliases)
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(|n| (spec, *n))
    })
}

/// Redis's `memtoull`: digits and an optional unit (b, k = 1000, kb = 1024, m, mb, g, gb,
/// any case). As in Redis, no digits read as 0, a number too big for 64 bits reads as
/// `u64::MAX`, and the unit multiplication wraps.
pub fn parse_memory(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits_end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if digits.len() >= 128 {
        return None;
    }
    let value = if digits.is_empty() {
        0
    } else {
        digits.parse::<u64>().unwrap_or(u64::MAX)
    };
    Some(value.wrapping_mul(mul))
}

/// C's `strtoll(s, &end, 10)` followed by Redis's `*end == '\0'` check: leading blanks and a
/// sign are allowed, overflow saturates, and an empty string reads as 0.
fn strtoll_whole(s: &str) -> Option<i64> {
    let trimmed = s.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() {
        // No conversion: strtoll leaves `end` at the start of the string.
        return s.is_empty().then_some(0);
    }
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude: i128 = digits.parse().unwrap_or(i128::MAX);
    let value = if negative { -magnitude } else { magnitude };
    Some(value.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

fn is_c_space(b: u8) -> bool {
    crate::protocol::inline::is_c_space(b)
}

/// Redis's `trimDoubleString` over `%f`: six decimals, then trailing zeros and a trailing
/// `.` removed (`99.9`, `50`, `50.123457`).
fn percentile_text(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Validates `value` for `spec` and returns the canonical text CONFIG GET will show.
/// `current` is the parameter's value now (some kinds update it rather than replace it).
fn canonical(spec: &ParamSpec, value: &str, current: &str) -> Result<String, String> {
    let between = |min: &dyn std::fmt::Display, max: &dyn std::fmt::Display| {
        format!("argument must be between {min} and {max} inclusive")
    };
    match spec.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let v = parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                return Err(between(&min, &max));
            }
            Ok(v.to_string())
        }
        Kind::Hz => {
            let v = parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if !(0..=i32::MAX as i64).contains(&v) {
                return Err(between(&0, &i32::MAX));
            }
            Ok(v.clamp(MIN_HZ, MAX_HZ).to_string())
        }
        Kind::Memory { min, max } => {
            let v = parse_memory(value).ok_or("argument must be a memory value")? as i64;
            if v < min || v > max {
                return Err(between(&min, &max));
            }
            Ok(v.to_string())
        }
        Kind::UnsignedMemory { min, max } => {
            let v = parse_memory(value).ok_or("argument must be a memory value")?;
            if v < min || v > max {
                return Err(between(&min, &max));
            }
            Ok(v.to_string())
        }
        Kind::MemoryOrPercent => canonical_memory_or_percent(value),
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
        Kind::Save => canonical_save(value),
        Kind::ClientOutputBufferLimit => canonical_cobl(value, current),
        Kind::NotifyFlags => canonical_notify(value)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
        Kind::Percentiles => canonical_percentiles(value),
    }
}

/// Redis clamps `hz` into this range instead of refusing it.
const MIN_HZ: i64 = 1;
const MAX_HZ: i64 = 500;

/// `maxmemory-clients`: a memory value, or `N%` with N in 0..=100 (Redis stores a
/// percentage as a negative number, so a memory value that wraps negative reads as one).
fn canonical_memory_or_percent(value: &str) -> Result<String, String> {
    const MAX_PERCENT: i64 = 100;
    let v = match parse_memory(value) {
        Some(v) => v as i64,
        None => match value
            .strip_suffix('%')
            .filter(|digits| !digits.is_empty())
            .and_then(|digits| parse_i64(digits.as_bytes()))
        {
            Some(percent) if percent >= 0 => -percent,
            _ => return Err("argument must be a memory or percent value".into()),
        },
    };
    if v < -MAX_PERCENT {
        return Err(format!(
            "percentage argument must be less or equal to {MAX_PERCENT}"
        ));
    }
    Ok(if v < 0 {
        format!("{}%", -v)
    } else {
        v.to_string()
    })
}

/// `save`: "<seconds> <changes>" pairs split at single spaces (so two spaces in a row make
/// an empty, invalid, argument), seconds >= 1, changes >= 0; "" turns saving off.
fn canonical_save(value: &str) -> Result<String, String> {
    const INVALID: &str = "Invalid save parameters";
    if value.is_empty() {
        return Ok(String::new());
    }
    let parts: Vec<&str> = value.split(' ').collect();
    if !parts.len().is_multiple_of(2) {
        return Err(INVALID.into());
    }
    let mut out = Vec::with_capacity(parts.len());
    for pair in parts.chunks(2) {
        let seconds = strtoll_whole(pair[0]).filter(|&s| s >= 1);
        let changes = strtoll_whole(pair[1]).filter(|&c| c >= 0);
        match (seconds, changes) {
            // Redis keeps `changes` in an int.
            (Some(s), Some(c)) => out.push(format!("{s} {}", c as i32)),
            _ => return Err(INVALID.into()),
        }
    }
    Ok(out.join(" "))
}

/// `client-output-buffer-limit`: groups of "<class> <hard> <soft> <seconds>" (split at
/// single spaces) that replace those classes' limits in `current`; "" changes nothing.
fn canonical_cobl(value: &str, current: &str) -> Result<String, String> {
    let parts: Vec<&str> = if value.is_empty() {
        Vec::new()
    } else {
        value.split(' ').collect()
    };
    if !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes: Vec<(&'static str, String)> = Vec::new();
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
        // Redis keeps the seconds in an int.
        let secs = strtoll_whole(chunk[3])
            .map(|s| s as i32)
            .filter(|s| *s >= 0);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => classes.push((class, format!("{class} {h} {s} {t}"))),
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                );
            }
        }
    }
    let current: Vec<&str> = current.split(' ').collect();
    let mut out = Vec::new();
    for group in current.chunks(4) {
        match classes.iter().rev().find(|(class, _)| *class == group[0]) {
            Some((_, text)) => out.push(text.clone()),
            None => out.push(group.join(" ")),
        }
    }
    Ok(out.join(" "))
}

/// Canonical form of `notify-keyspace-events` as Redis 7.0 prints it
/// (`keyspaceEventsFlagsToString`): "A" when all of "g$lshzxetd" are set, otherwise those
/// letters and "n"; then K, E, m. (So "An" prints as "A": Redis keeps the flag but does not
/// show it.)
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
        out.extend(ALL.chars().chain(['n']).filter(|c| set.contains(c)));
    }
    out.extend(['K', 'E', 'm'].into_iter().filter(|c| set.contains(c)));
    Some(out)
}

/// `latency-tracking-info-percentiles`: doubles (as `string2d` reads them) in 0..=100, split
/// at single spaces; "" means none.
fn canonical_percentiles(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let mut out = Vec::new();
    for part in value.split(' ') {
        let p = crate::protocol::parse_double(part.as_bytes())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(percentile_text(p));
    }
    Ok(out.join(" "))
}

/// Glob characters: a CONFIG GET argument without any names one parameter exactly.
fn is_pattern(arg: &[u8]) -> bool {
    arg.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
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
        values.insert("enable-debug-command", config.enable_debug_command.clone());
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        values.insert("appendonly", yes_no(config.appendonly));
        values.insert("appendfsync", config.appendfsync.name().to_string());
        values.insert("dir", config.dir.display().to_string());
        values.insert("aof-load-truncated", yes_no(config.aof_load_truncated));
        values.insert("key-load-delay", config.key_load_delay_us.to_string());
        Params { values }
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
            let v = canonical(spec, value, current).map_err(|why| fail(matched, &why))?;
            staged.insert(spec.name, v);
        }
        self.values = staged;
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
#[path = "params_tests.rs"]
mod tests;

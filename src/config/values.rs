//! The value syntax of each parameter [`Kind`]: validation and the canonical text CONFIG GET
//! shows, as Redis 7.0 reads and prints each kind. Pure functions, shared by CONFIG SET and
//! the config file ([`crate::config::file`]), so both accept exactly the same values.

use crate::config::params::Kind;
use crate::util::parse_i64;

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

/// Validates `value` for a parameter of `kind` and returns the canonical text CONFIG GET will show.
/// `current` is the parameter's value now (some kinds update it rather than replace it).
pub fn canonical(kind: Kind, value: &str, current: &str) -> Result<String, String> {
    let between = |min: &dyn std::fmt::Display, max: &dyn std::fmt::Display| {
        format!("argument must be between {min} and {max} inclusive")
    };
    match kind {
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

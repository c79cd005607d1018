//! LATENCY: the latency monitor (LATEST, HISTORY, RESET, GRAPH, DOCTOR) and per-command
//! latency histograms (HISTOGRAM), with Redis 7.0's replies.
//!
//! # Events
//! With `latency-monitor-threshold` above 0, a command that ran for at least that many
//! milliseconds adds a sample to the `command` event (or `fast-command`, for commands flagged
//! `fast`), as Redis's `call()` does. corekv records no other event (Redis's `fork`,
//! `aof-*`, `expire-cycle`... describe machinery corekv does not have or does not time).
//!
//! Each shard keeps its own time series per event ([`Events`], inside the shard's
//! `SlowRecords`): at most one sample per second (the worst), the newest [`TS_LEN`] seconds,
//! and the all-time worst. A LATENCY subcommand gathers every shard's series and merges them
//! per event: per second the worst sample, the newest `TS_LEN` seconds, the worst all-time
//! maximum. That is exactly the series one Redis would have recorded. Events are listed by
//! name (Redis lists them in its hash table's order).
//!
//! # Histograms
//! HISTOGRAM reads the per-command hdr histograms (`commands::stats`) of every shard, merged,
//! and walks them as Redis's `fillCommandCDF` does: logarithmic steps from 1024 ns, doubling,
//! each reported as the highest value equivalent to the step, in µs, with the cumulative count.
//! A command split over shards records one sample per part, so its `calls` here counts parts.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::commands::coord;
use crate::commands::server::slowlog::{help_reply, subcommand_arity_error, unknown_subcommand};
use crate::commands::strings::c_str;
use crate::core::Core;
use crate::protocol::Reply;

/// The event of a slow command.
pub const COMMAND: &str = "command";
/// The event of a slow command flagged `fast`.
pub const FAST_COMMAND: &str = "fast-command";
/// Samples kept per event (Redis's `LATENCY_TS_LEN`): one per second at most.
pub const TS_LEN: usize = 160;
/// Width of LATENCY GRAPH.
const GRAPH_COLS: usize = 80;
/// Height of LATENCY GRAPH's sparkline, in rows.
const GRAPH_ROWS: usize = 4;
/// The first step of LATENCY HISTOGRAM's logarithmic walk, in nanoseconds.
const HISTOGRAM_FIRST_STEP_NS: u64 = 1024;

/// One second's worst latency of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time_s: u64,
    pub latency_ms: u64,
}

/// One event's samples, oldest first, and its all-time worst.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub samples: VecDeque<Sample>,
    pub max_ms: u64,
}

impl Series {
    /// Redis's `latencyAddSample`: a sample in the same second as the last one only raises it.
    fn add(&mut self, latency_ms: u64, time_s: u64) {
        self.max_ms = self.max_ms.max(latency_ms);
        if let Some(last) = self.samples.back_mut()
            && last.time_s == time_s
        {
            last.latency_ms = last.latency_ms.max(latency_ms);
            return;
        }
        if self.samples.len() == TS_LEN {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { time_s, latency_ms });
    }

    /// Folds another shard's series of the same event into this one.
    fn merge(&mut self, other: &Series) {
        self.max_ms = self.max_ms.max(other.max_ms);
        let mut by_second: BTreeMap<u64, u64> = BTreeMap::new();
        for s in self.samples.iter().chain(&other.samples) {
            let worst = by_second.entry(s.time_s).or_insert(0);
            *worst = (*worst).max(s.latency_ms);
        }
        let skip = by_second.len().saturating_sub(TS_LEN);
        self.samples = by_second
            .into_iter()
            .skip(skip)
            .map(|(time_s, latency_ms)| Sample { time_s, latency_ms })
            .collect();
    }
}

/// One shard's latency events.
#[derive(Clone, Debug, Default)]
pub struct Events {
    by_name: Vec<(&'static str, Series)>,
}

impl Events {
    /// Adds a sample to `event` (created on first use).
    pub fn add(&mut self, event: &'static str, latency_ms: u64, time_s: u64) {
        match self.by_name.iter_mut().find(|(n, _)| *n == event) {
            Some((_, series)) => series.add(latency_ms, time_s),
            None => {
                let mut series = Series::default();
                series.add(latency_ms, time_s);
                self.by_name.push((event, series));
            }
        }
    }

    /// Redis's LATENCY RESET on this shard: every event when `names` is empty, else each
    /// event named (case-insensitively) by one of `names`. Returns the events removed.
    pub fn reset(&mut self, names: &[Bytes]) -> Vec<&'static str> {
        let mut removed = Vec::new();
        if names.is_empty() {
            removed.extend(self.by_name.drain(..).map(|(n, _)| n));
            return removed;
        }
        for name in names {
            let name = c_str(name);
            self.by_name.retain(|(n, _)| {
                let hit = n.as_bytes().eq_ignore_ascii_case(name);
                if hit {
                    removed.push(*n);
                }
                !hit
            });
        }
        removed
    }
}

/// Every shard's events, merged per event, by name.
async fn merged_events(core: &Core) -> BTreeMap<&'static str, Series> {
    let all = core.router.run_on_all(|s| s.slow.events.clone()).await;
    let mut merged: BTreeMap<&'static str, Series> = BTreeMap::new();
    for events in all.into_iter().flatten() {
        for (name, series) in &events.by_name {
            merged.entry(name).or_default().merge(series);
        }
    }
    merged
}

/// Redis 7.0's LATENCY HELP.
const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

/// LATENCY LATEST | HISTORY event | RESET [event ...] | GRAPH event | DOCTOR |
/// HISTOGRAM [command ...] | HELP.
pub async fn latency(core: &Core, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("latest", 2) => latest(&merged_events(core).await),
        ("history", 3) => {
            let events = merged_events(core).await;
            match find(&events, &args[2]) {
                Some(series) => Reply::Array(
                    series
                        .samples
                        .iter()
                        .map(|s| int_pair(s.time_s, s.latency_ms))
                        .collect(),
                ),
                None => Reply::Array(Vec::new()),
            }
        }
        ("graph", 3) => {
            let events = merged_events(core).await;
            match events.iter().find(|(n, _)| n.as_bytes() == c_str(&args[2])) {
                Some((name, series)) => Reply::Verbatim(
                    "txt",
                    Bytes::from(graph(name, series, crate::util::now_ms() / 1000)),
                ),
                None => {
                    let mut text = b"ERR No samples available for event '".to_vec();
                    text.extend_from_slice(c_str(&args[2]));
                    text.push(b'\'');
                    Reply::Error(Bytes::from(text))
                }
            }
        }
        ("doctor", 2) => {
            let events = merged_events(core).await;
            let (slowlog_us, threshold_ms) = {
                let p = core.params.borrow();
                (
                    p.int("slowlog-log-slower-than"),
                    u64::try_from(p.int("latency-monitor-threshold")).unwrap_or(0),
                )
            };
            let report = doctor(
                &events,
                slowlog_us,
                threshold_ms,
                crate::util::now_ms() / 1000,
                anon_huge_pages_bytes() > 0,
            );
            Reply::Verbatim("txt", Bytes::from(report))
        }
        ("reset", _) => {
            let names: Vec<Bytes> = args[2..].to_vec();
            let removed = core
                .router
                .run_on_all(move |s| s.slow.events.reset(&names))
                .await;
            let mut removed: Vec<&'static str> = removed.into_iter().flatten().flatten().collect();
            removed.sort_unstable();
            removed.dedup();
            Reply::Integer(removed.len() as i64)
        }
        ("histogram", _) => histogram(core, &args[2..]).await,
        ("help", 2) => help_reply(HELP),
        ("latest" | "history" | "graph" | "doctor" | "help", _) => {
            subcommand_arity_error("latency", &sub)
        }
        _ => unknown_subcommand("LATENCY", &args[1]),
    }
}

/// HISTORY and GRAPH look events up by exact name (Redis's dict compares with `strcmp`).
fn find<'a>(events: &'a BTreeMap<&'static str, Series>, name: &[u8]) -> Option<&'a Series> {
    events
        .iter()
        .find(|(n, _)| n.as_bytes() == c_str(name))
        .map(|(_, s)| s)
}

fn int_pair(a: u64, b: u64) -> Reply {
    Reply::Array(vec![Reply::Integer(a as i64), Reply::Integer(b as i64)])
}

/// LATEST: per event, its last sample's time and latency, and its all-time worst.
fn latest(events: &BTreeMap<&'static str, Series>) -> Reply {
    Reply::Array(
        events
            .iter()
            .filter_map(|(name, series)| {
                let last = series.samples.back()?;
                Some(Reply::Array(vec![
                    Reply::Bulk(Bytes::from_static(name.as_bytes())),
                    Reply::Integer(last.time_s as i64),
                    Reply::Integer(last.latency_ms as i64),
                    Reply::Integer(series.max_ms as i64),
                ]))
            })
            .collect(),
    )
}

// ---- HISTOGRAM ----

/// HISTOGRAM [command ...]: a map of command name → {calls, histogram_usec}.
async fn histogram(core: &Core, names: &[Bytes]) -> Reply {
    let per_shard = core
        .router
        .run_on_all(|s| {
            s.commands
                .by_name
                .iter()
                .filter_map(|(name, st)| st.latency.as_ref().map(|h| (*name, (**h).clone())))
                .collect::<Vec<_>>()
        })
        .await;
    let mut merged: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
    for (name, h) in per_shard.into_iter().flatten().flatten() {
        match merged.get_mut(name) {
            Some(mine) => {
                let _ = mine.add(&h);
            }
            None => {
                merged.insert(name, h);
            }
        }
    }
    let chosen: Vec<&'static str> = if names.is_empty() {
        merged
            .keys()
            .copied()
            .filter(|n| coord::subcommands_of(n).is_empty())
            .collect()
    } else {
        names
            .iter()
            .flat_map(|n| histogram_names(n, &merged))
            .collect()
    };
    Reply::Map(
        chosen
            .into_iter()
            .filter_map(|name| {
                let h = merged.get(name)?;
                Some((
                    Reply::Bulk(Bytes::from_static(name.as_bytes())),
                    cdf_reply(h),
                ))
            })
            .collect(),
    )
}

/// The histograms one HISTOGRAM argument names, as Redis's `lookupCommandBySds` resolves it:
/// a command (for a container, each of its subcommands with data), or `container|sub`.
/// Unknown names and commands without data name nothing.
fn histogram_names(
    arg: &[u8],
    merged: &BTreeMap<&'static str, Histogram<u64>>,
) -> Vec<&'static str> {
    let lower = String::from_utf8_lossy(c_str(arg)).to_ascii_lowercase();
    if lower.contains('|') {
        return merged
            .get_key_value(lower.as_str())
            .map(|(n, _)| vec![*n])
            .unwrap_or_default();
    }
    let Some(spec) = crate::commands::lookup(lower.as_bytes()) else {
        return Vec::new();
    };
    let subs = coord::subcommands_of(spec.name);
    if subs.is_empty() {
        return merged
            .get_key_value(spec.name)
            .map(|(n, _)| vec![*n])
            .unwrap_or_default();
    }
    subs.iter()
        .copied()
        .filter(|s| merged.contains_key(s))
        .collect()
}

fn cdf_reply(h: &Histogram<u64>) -> Reply {
    let buckets = cdf(h)
        .into_iter()
        .map(|(us, n)| (Reply::Integer(us as i64), Reply::Integer(n as i64)))
        .collect();
    Reply::Map(vec![
        (
            Reply::Bulk(Bytes::from_static(b"calls")),
            Reply::Integer(h.len() as i64),
        ),
        (
            Reply::Bulk(Bytes::from_static(b"histogram_usec")),
            Reply::Map(buckets),
        ),
    ])
}

/// Redis's `fillCommandCDF`: hdr_histogram's logarithmic iteration (first step 1024 ns, base
/// 2) as its C library walks it, keeping the steps whose cumulative count grew. Each step
/// stops at the first bucket whose value reaches the step's lowest equivalent value and
/// reports that bucket's highest equivalent value (µs) and the count up to it; a walk that runs
/// off the end reports the last bucket.
fn cdf(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut step = HISTOGRAM_FIRST_STEP_NS;
    let mut step_lowest = h.lowest_equivalent(step);
    let (mut cumulative, mut previous, mut last_highest) = (0u64, 0u64, 0u64);
    for bucket in h.iter_all() {
        cumulative += bucket.count_at_value();
        let highest = bucket.value_iterated_to();
        last_highest = highest;
        while h.lowest_equivalent(highest) >= step_lowest {
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
            step = step.saturating_mul(2);
            step_lowest = h.lowest_equivalent(step);
        }
    }
    if cumulative > previous {
        out.push((last_highest / 1000, cumulative));
    }
    out
}

// ---- DOCTOR ----

/// What DOCTOR works out of one event's samples (Redis's `analyzeLatencyForEvent`).
struct Analysis {
    samples: u64,
    avg_ms: u64,
    mad_ms: u64,
    period_s: u64,
}

fn analyze(series: &Series, now_s: u64) -> Analysis {
    let samples = series.samples.len() as u64;
    if samples == 0 {
        return Analysis {
            samples: 0,
            avg_ms: 0,
            mad_ms: 0,
            period_s: 0,
        };
    }
    let sum: u64 = series.samples.iter().map(|s| s.latency_ms).sum();
    let avg_ms = sum / samples;
    let oldest = series
        .samples
        .iter()
        .map(|s| s.time_s)
        .min()
        .unwrap_or(now_s);
    let period_s = now_s.saturating_sub(oldest).max(1);
    let deviations: u64 = series
        .samples
        .iter()
        .map(|s| avg_ms.abs_diff(s.latency_ms))
        .sum();
    Analysis {
        samples,
        avg_ms,
        mad_ms: deviations / samples,
        period_s,
    }
}

const DOCTOR_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const DOCTOR_NOTHING: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
const DOCTOR_NO_FIX: &str = "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";
const ADVICE_SLOWLOG_INSPECT: &str = "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n";
const ADVICE_SCHEDULER: &str = "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";
const ADVICE_LARGE_OBJECTS: &str = "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n";
const ADVICE_DISABLE_THP: &str = "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n";

/// Redis's `createLatencyReport`, for the events corekv records (`command`, `fast-command`).
fn doctor(
    events: &BTreeMap<&'static str, Series>,
    slowlog_us: i64,
    threshold_ms: u64,
    now_s: u64,
    huge_pages: bool,
) -> String {
    if events.is_empty() && threshold_ms == 0 {
        return DOCTOR_DISABLED.to_string();
    }
    let mut report = String::new();
    let (mut slowlog_enable, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut large_objects) = (false, false);
    let mut advices = 0;
    for (i, (name, series)) in events.iter().enumerate() {
        if i == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let a = analyze(series, now_s);
        report.push_str(&format!(
            "{}. {name}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            a.samples,
            a.avg_ms,
            a.mad_ms,
            a.period_s as f64 / a.samples as f64,
            series.max_ms,
        ));
        if name.eq_ignore_ascii_case(COMMAND) {
            if slowlog_us < 0 {
                slowlog_enable = true;
                advices += 1;
            } else if slowlog_us / 1000 > threshold_ms as i64 {
                slowlog_tuning = true;
                advices += 1;
            }
            slowlog_inspect = true;
            large_objects = true;
            advices += 2;
        }
        if name.eq_ignore_ascii_case(FAST_COMMAND) {
            scheduler = true;
            advices += 1;
        }
        report.push('\n');
    }
    if huge_pages {
        advices += 1;
    }
    if events.is_empty() && advices == 0 {
        report.push_str(DOCTOR_NOTHING);
        return report;
    }
    if !events.is_empty() && advices == 0 {
        report.push_str(DOCTOR_NO_FIX);
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    let suggested_us = threshold_ms.saturating_mul(1000);
    if slowlog_enable {
        report.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {suggested_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if slowlog_tuning {
        report.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {suggested_us}'.\n"));
    }
    if slowlog_inspect {
        report.push_str(ADVICE_SLOWLOG_INSPECT);
    }
    if scheduler {
        report.push_str(ADVICE_SCHEDULER);
    }
    if large_objects {
        report.push_str(ADVICE_LARGE_OBJECTS);
    }
    if huge_pages {
        report.push_str(ADVICE_DISABLE_THP);
    }
    report
}

/// Anonymous huge pages mapped by this process, in bytes (Redis's
/// `THPGetAnonHugePagesSize`): the sum of `AnonHugePages:` in /proc/self/smaps.
fn anon_huge_pages_bytes() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

// ---- GRAPH ----

/// Redis's `latencyCommandGenSparkeline`: a header, a rule, and the samples as a filled
/// sparkline labelled with how long ago each happened.
fn graph(name: &str, series: &Series, now_s: u64) -> String {
    let mut seq = Sparkline::default();
    let (mut min, mut max) = (0u64, 0u64);
    for (i, s) in series.samples.iter().enumerate() {
        if i == 0 {
            (min, max) = (s.latency_ms, s.latency_ms);
        } else {
            max = max.max(s.latency_ms);
            min = min.min(s.latency_ms);
        }
        let elapsed = now_s.saturating_sub(s.time_s);
        let label = if elapsed < 60 {
            format!("{elapsed}s")
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 3600 * 24 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / (3600 * 24))
        };
        seq.add(s.latency_ms as f64, label);
    }
    let mut out = format!(
        "{name} - high {max} ms, low {min} ms (all time high {} ms)\n",
        series.max_ms
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    seq.render(&mut out, GRAPH_COLS, GRAPH_ROWS);
    out
}

/// Redis's `sparkline.c`, filled style only (the one LATENCY GRAPH uses).
#[derive(Default)]
struct Sparkline {
    samples: Vec<(f64, Option<String>)>,
    labels: usize,
    min: f64,
    max: f64,
}

/// Characters of the filled sparkline, from low to high within one row.
const SPARK_FILL: &[u8] = b"_o#";
/// Blank rows between the sparkline and its labels.
const SPARK_LABEL_MARGIN_TOP: usize = 1;

impl Sparkline {
    fn add(&mut self, value: f64, label: String) {
        if self.samples.is_empty() {
            (self.min, self.max) = (value, value);
        } else if value < self.min {
            self.min = value;
        } else if value > self.max {
            self.max = value;
        }
        let label = (!label.is_empty()).then_some(label);
        self.labels += usize::from(label.is_some());
        self.samples.push((value, label));
    }

    fn render(&self, out: &mut String, columns: usize, rows: usize) {
        let mut start = 0;
        while start < self.samples.len() {
            let len = (self.samples.len() - start).min(columns);
            if start != 0 {
                out.push('\n');
            }
            self.render_range(out, rows, start, len);
            start += columns;
        }
    }

    /// `sparklineRenderRange` with `SPARKLINE_FILL`, step arithmetic as in C (`(int)
    /// (relval*steps)/relmax`, truncated).
    fn render_range(&self, out: &mut String, rows: usize, offset: usize, len: usize) {
        let charset_len = SPARK_FILL.len() as i64;
        let mut relmax = self.max - self.min;
        if relmax == 0.0 {
            relmax = 1.0;
        }
        let steps = charset_len * rows as i64;
        let rows = rows as i64;
        let mut row: i64 = 0;
        loop {
            let mut more = false;
            let mut chars = vec![b' '; len];
            for (j, c) in chars.iter_mut().enumerate() {
                let (value, label) = &self.samples[j + offset];
                let relval = value - self.min;
                let scaled = (relval * steps as f64) as i64;
                let step = ((scaled as f64 / relmax) as i64).clamp(0, steps - 1);
                if row < rows {
                    let idx = step - (rows - row - 1) * charset_len;
                    more = true;
                    if (0..charset_len).contains(&idx) {
                        *c = SPARK_FILL[idx as usize];
                    } else if idx >= charset_len {
                        *c = b'|';
                    }
                } else {
                    if self.labels > 0 && ((row - rows) as usize) < SPARK_LABEL_MARGIN_TOP {
                        more = true;
                        break;
                    }
                    if let Some(label) = label {
                        let at = (row - rows) as usize - SPARK_LABEL_MARGIN_TOP;
                        if let Some(&b) = label.as_bytes().get(at) {
                            more = true;
                            *c = b;
                        }
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values_ns: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(
            crate::commands::stats::HIST_MIN_NS,
            crate::commands::stats::HIST_MAX_NS,
            crate::commands::stats::HIST_SIGFIG,
        )
        .expect("bounds");
        for v in values_ns {
            h.saturating_record(*v);
        }
        h
    }

    #[test]
    fn histogram_steps_are_redis_bucket_bounds() {
        // Redis 7.0 prints these keys for 1 µs .. 1 s: 1, 2, 4, 8, 16, 33, 66, 132, 264, ...
        let h = hist(&[500, 1_500, 3_000, 20_000, 200_000, 250_000]);
        assert_eq!(cdf(&h), vec![(1, 1), (2, 2), (4, 3), (33, 4), (264, 6)]);
        let h = hist(&[crate::commands::stats::HIST_MAX_NS]);
        assert_eq!(cdf(&h), vec![(1_073_741, 1)]);
    }

    #[test]
    fn series_keep_the_worst_sample_per_second_and_merge_exactly() {
        let mut a = Series::default();
        a.add(5, 100);
        a.add(9, 100);
        a.add(3, 101);
        assert_eq!(a.samples.len(), 2);
        assert_eq!(a.samples[0].latency_ms, 9);
        let mut b = Series::default();
        b.add(7, 101);
        b.add(20, 102);
        a.merge(&b);
        let got: Vec<(u64, u64)> = a.samples.iter().map(|s| (s.time_s, s.latency_ms)).collect();
        assert_eq!(got, vec![(100, 9), (101, 7), (102, 20)]);
        assert_eq!(a.max_ms, 20);
        let mut long = Series::default();
        for t in 0..(TS_LEN as u64 + 10) {
            long.add(1, t);
        }
        assert_eq!(long.samples.len(), TS_LEN);
        assert_eq!(long.samples[0].time_s, 10);
    }

    #[test]
    fn graph_of_one_sample_matches_redis() {
        let mut s = Series::default();
        s.add(20, 1000);
        let expected = format!(
            "command - high 20 ms, low 20 ms (all time high 20 ms)\n{}\n \n \n \n_\n \n0\ns\n",
            "-".repeat(80)
        );
        assert_eq!(graph("command", &s, 1000), expected);
    }

    #[test]
    fn doctor_with_one_command_event_matches_redis() {
        let mut events = BTreeMap::new();
        let mut s = Series::default();
        s.add(20, 1000);
        events.insert(COMMAND, s);
        let report = doctor(&events, 10_000, 5, 1000, false);
        assert_eq!(
            report,
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n1. command: 1 latency spikes (average 20ms, mean deviation 0ms, period 1.00 sec). Worst all time event 20ms.\n\nI have a few advices for you:\n\n- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 5000'.\n- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"
        );
        assert_eq!(
            doctor(&BTreeMap::new(), 10_000, 0, 1000, false),
            DOCTOR_DISABLED
        );
        assert_eq!(
            doctor(&BTreeMap::new(), 10_000, 5, 1000, false),
            DOCTOR_NOTHING
        );
    }

    #[test]
    fn reset_counts_events_once() {
        let mut e = Events::default();
        e.add(COMMAND, 5, 1);
        e.add(FAST_COMMAND, 5, 1);
        let names = [
            Bytes::from_static(b"COMMAND"),
            Bytes::from_static(b"command"),
        ];
        assert_eq!(e.reset(&names), vec![COMMAND]);
        assert_eq!(e.reset(&[]), vec![FAST_COMMAND]);
    }
}

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
//!
//! # Code map
//! This file holds the events, the dispatch and the small replies (LATEST, HISTORY, RESET,
//! HELP); `histogram` has HISTOGRAM, `doctor` DOCTOR's report, `graph` GRAPH's sparkline.

mod doctor;
mod graph;
mod histogram;

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

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
                    Bytes::from(graph::graph(name, series, crate::util::now_ms() / 1000)),
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
            let report = doctor::doctor(
                &events,
                slowlog_us,
                threshold_ms,
                crate::util::now_ms() / 1000,
                doctor::anon_huge_pages_bytes() > 0,
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
        ("histogram", _) => histogram::histogram(core, &args[2..]).await,
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

#[cfg(test)]
mod tests {
    use super::*;

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

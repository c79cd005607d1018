//! Per-shard command statistics: calls, time, failures and a latency histogram per command,
//! plus error counts by prefix. INFO merges every shard's copy (commandstats, errorstats,
//! latencystats).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use ahash::AHashMap;
use hdrhistogram::Histogram;

use crate::protocol::Reply;

/// Latency histograms record nanoseconds from 1 ns to 1 s with 2 significant figures, exactly
/// Redis's LATENCY_HISTOGRAM_* settings, so percentiles read the same way.
pub const HIST_MIN_NS: u64 = 1;
pub const HIST_MAX_NS: u64 = 1_000_000_000;
pub const HIST_SIGFIG: u8 = 2;

#[derive(Clone, Default)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub latency: Option<Box<Histogram<u64>>>,
}

impl CmdStat {
    /// Adds another shard's counters and histogram into this one.
    pub fn merge(&mut self, other: &CmdStat) {
        self.calls += other.calls;
        self.usec += other.usec;
        self.rejected_calls += other.rejected_calls;
        self.failed_calls += other.failed_calls;
        if let Some(h) = &other.latency {
            match &mut self.latency {
                Some(mine) => {
                    let _ = mine.add(h.as_ref());
                }
                None => self.latency = Some(h.clone()),
            }
        }
    }
}

/// FxHash for command names: every executed command looks its entry up, and names are a
/// few bytes of trusted text, so a multiply-rotate per word beats a DoS-resistant hash.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Clone, Default)]
pub struct CommandStats {
    pub by_name: HashMap<&'static str, CmdStat, BuildHasherDefault<NameHasher>>,
    /// Error replies counted by their first word ("ERR", "WRONGTYPE"), as INFO errorstats.
    pub errors: AHashMap<String, u64>,
    pub total_error_replies: u64,
}

impl CommandStats {
    /// Records one executed command, its latency included.
    /// `count_call` is false for the extra parts of a command split across shards: their time
    /// is added, the call is not counted again.
    pub fn record(&mut self, name: &'static str, elapsed_ns: u64, reply: &Reply, count_call: bool) {
        self.record_call(name, elapsed_ns, reply, count_call, true);
    }

    /// [`CommandStats::record`], adding to the latency histogram only when `latency_tracking`
    /// (the `latency-tracking` parameter) is on, as Redis does.
    pub fn record_call(
        &mut self,
        name: &'static str,
        elapsed_ns: u64,
        reply: &Reply,
        count_call: bool,
        latency_tracking: bool,
    ) {
        let st = self.by_name.entry(name).or_default();
        st.calls += count_call as u64;
        st.usec += elapsed_ns / 1000;
        if latency_tracking {
            let h = st.latency.get_or_insert_with(|| {
                Box::new(
                    Histogram::new_with_bounds(HIST_MIN_NS, HIST_MAX_NS, HIST_SIGFIG)
                        .unwrap_or_else(|_| Histogram::new(HIST_SIGFIG).expect("valid sigfig")),
                )
            });
            h.saturating_record(elapsed_ns.clamp(HIST_MIN_NS, HIST_MAX_NS));
        }
        if reply.is_error() && count_call {
            st.failed_calls += 1;
            self.record_error(reply);
        }
    }

    /// Records a command refused before it ran (unknown command, arity, NOAUTH...).
    pub fn record_rejected(&mut self, name: Option<&'static str>, reply: &Reply) {
        if let Some(n) = name {
            self.by_name.entry(n).or_default().rejected_calls += 1;
        }
        self.record_error(reply);
    }

    pub fn record_error(&mut self, reply: &Reply) {
        if let Reply::Error(text) = reply {
            let prefix = text.split(|&b| b == b' ').next().unwrap_or(b"ERR");
            let prefix = String::from_utf8_lossy(prefix).into_owned();
            *self.errors.entry(prefix).or_insert(0) += 1;
            self.total_error_replies += 1;
        }
    }

    pub fn merge(&mut self, other: &CommandStats) {
        for (name, st) in &other.by_name {
            self.by_name.entry(name).or_default().merge(st);
        }
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_insert(0) += v;
        }
        self.total_error_replies += other.total_error_replies;
    }

    pub fn reset(&mut self) {
        *self = CommandStats::default();
    }
}

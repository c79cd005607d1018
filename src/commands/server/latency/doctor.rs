//! LATENCY DOCTOR: Redis's human-readable latency report, for the events corekv records.

use std::collections::BTreeMap;

use super::{COMMAND, FAST_COMMAND, Series};

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
pub(super) fn doctor(
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
pub(super) fn anon_huge_pages_bytes() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

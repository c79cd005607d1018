//! LATENCY HISTOGRAM: every shard's per-command hdr histograms (`commands::stats`), merged,
//! and walked as Redis's `fillCommandCDF` does (see the parent module's doc).

use std::collections::BTreeMap;

use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::commands::coord;
use crate::commands::strings::c_str;
use crate::core::Core;
use crate::protocol::Reply;

/// The first step of LATENCY HISTOGRAM's logarithmic walk, in nanoseconds.
const HISTOGRAM_FIRST_STEP_NS: u64 = 1024;

/// HISTOGRAM [command ...]: a map of command name → {calls, histogram_usec}.
pub(super) async fn histogram(core: &Core, names: &[Bytes]) -> Reply {
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
}

//! The percentiles every report gives (p50, p90, p99, p99.9, max) from an hdrhistogram of
//! nanoseconds, as text and as JSON, in microseconds. One place, so `kv` and `pubsub` name
//! and round them the same way.

use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

impl Percentiles {
    /// All zero for an empty histogram.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }

    /// `{"count": n, "p50": µs, "p90": µs, "p99": µs, "p99_9": µs, "max": µs}`, microseconds
    /// with nanosecond precision.
    pub fn json_us(&self) -> Value {
        json!({
            "count": self.count,
            "p50": us(self.p50_ns),
            "p90": us(self.p90_ns),
            "p99": us(self.p99_ns),
            "p99_9": us(self.p999_ns),
            "max": us(self.max_ns),
        })
    }

    /// `p50 12.3  p90 ...` in microseconds, one decimal.
    pub fn text_us(&self) -> String {
        let f = |ns: u64| format!("{:.1}", ns as f64 / 1e3);
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            f(self.p50_ns),
            f(self.p90_ns),
            f(self.p99_ns),
            f(self.p999_ns),
            f(self.max_ns)
        )
    }

    /// The five values in microseconds, one decimal each, for tables.
    pub fn columns_us(&self) -> [String; 5] {
        [
            self.p50_ns,
            self.p90_ns,
            self.p99_ns,
            self.p999_ns,
            self.max_ns,
        ]
        .map(|ns| format!("{:.1}", ns as f64 / 1e3))
    }
}

/// Nanoseconds as microseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_ordered_and_in_microseconds() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).expect("bounds");
        for ns in 1..=10_000u64 {
            h.record(ns * 100).expect("in range");
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 10_000);
        assert!(p.p50_ns <= p.p90_ns && p.p90_ns <= p.p99_ns);
        assert!(p.p99_ns <= p.p999_ns && p.p999_ns <= p.max_ns);
        // 3 significant digits: within 0.1% of the exact value.
        assert!(p.p50_ns.abs_diff(500_000) <= 500, "{p:?}");
        assert!(p.max_ns.abs_diff(1_000_000) <= 1_000, "{p:?}");
        let j = p.json_us();
        assert_eq!(j["count"], 10_000);
        assert!(
            (j["p50"].as_f64().expect("number") - 500.0).abs() < 0.6,
            "{j}"
        );
        assert!(p.text_us().starts_with("p50 500."), "{}", p.text_us());
        assert_eq!(
            Percentiles::of(&Histogram::new(3).expect("h")),
            Percentiles::default()
        );
    }
}

//! LATENCY GRAPH: an event's samples as Redis's ASCII sparkline.

use super::Series;

/// Width of LATENCY GRAPH.
const GRAPH_COLS: usize = 80;
/// Height of LATENCY GRAPH's sparkline, in rows.
const GRAPH_ROWS: usize = 4;

/// Redis's `latencyCommandGenSparkeline`: a header, a rule, and the samples as a filled
/// sparkline labelled with how long ago each happened.
pub(super) fn graph(name: &str, series: &Series, now_s: u64) -> String {
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
}

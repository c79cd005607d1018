//! The final report: built once from the threads' measurements ([`Summary::build`]), then
//! written as text or as one JSON object. Pure, so its arithmetic and format are unit-tested.

use serde_json::{Value, json};

use super::args::{Mode, Plan, Protocol};
use super::stats::Totals;
use super::worker::ThreadReport;
use super::workload::Distribution;
use crate::latency::Percentiles;

/// A generator thread busier than this may be what limits the run.
pub const BUSY_WARNING: f64 = 0.90;
/// Open loop: a p99 lag above this means the schedule was not kept.
const LAG_WARNING_NS: u64 = 1_000_000;
/// Open loop: an achieved rate below this share of the target means the same.
const RATE_WARNING: f64 = 0.95;

pub struct CommandLine {
    pub name: String,
    pub requests: u64,
    pub ops_per_s: f64,
    pub errors: u64,
    pub misses: u64,
    pub latency: Percentiles,
}

pub struct Summary {
    pub header: Value,
    pub measured_s: f64,
    pub all: CommandLine,
    pub commands: Vec<CommandLine>,
    /// Open loop only: the target rate and the write lag.
    pub schedule: Option<(f64, Percentiles)>,
    pub client_cpu_busy: Vec<f64>,
    pub client_cpu_s: f64,
    pub prefill: Option<(u64, f64)>,
    pub first_error: Option<String>,
    pub warnings: Vec<String>,
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl Summary {
    /// `setup_s`: from the start to the start line (connections and prefill); `cpu_s`: the
    /// whole process's CPU time.
    pub fn build(plan: &Plan, reports: &[ThreadReport], setup_s: f64, cpu_s: f64) -> Summary {
        let mut totals = Totals::new(plan.workload.commands.len());
        for r in reports {
            totals.add(&r.stats);
        }
        let start_ns = reports.iter().map(|r| r.start_ns).min().unwrap_or(0);
        let measure_from_ns = start_ns + plan.warmup.as_nanos() as u64;
        let last_ns = reports
            .iter()
            .map(|r| r.stats.last_reply_ns)
            .max()
            .unwrap_or(0);
        let measured_s = last_ns.saturating_sub(measure_from_ns) as f64 / 1e9;
        let line = |name: &str, stats: &super::stats::CommandStats| CommandLine {
            name: name.to_string(),
            requests: stats.latency_ns.len(),
            ops_per_s: per_second(stats.latency_ns.len(), measured_s),
            errors: stats.errors,
            misses: stats.misses,
            latency: Percentiles::of(&stats.latency_ns),
        };
        let commands: Vec<CommandLine> = plan
            .workload
            .commands
            .iter()
            .zip(&totals.commands)
            .map(|(c, stats)| line(&c.name, stats))
            .collect();
        let all = line("all", &totals.all());
        let client_cpu_busy: Vec<f64> = reports
            .iter()
            .map(|r| r.cpu_ns as f64 / r.end_ns.saturating_sub(r.start_ns).max(1) as f64)
            .collect();
        let schedule = match plan.mode {
            Mode::Open { rate_per_s } => Some((rate_per_s, Percentiles::of(&totals.lag_ns))),
            Mode::Closed => None,
        };
        let prefilled: u64 = reports.iter().map(|r| r.prefilled_keys).sum();
        let mut summary = Summary {
            header: header(plan),
            measured_s,
            all,
            commands,
            schedule,
            client_cpu_busy,
            client_cpu_s: cpu_s,
            prefill: plan.prefill.then_some((prefilled, setup_s)),
            first_error: totals.first_error,
            warnings: Vec::new(),
        };
        summary.warnings = summary.warnings();
        summary
    }

    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.header["spin_us"] != 0 {
            warnings.push(
                "client_cpu_busy counts the spinning of --spin-us, so it cannot show whether the client was saturated: run without --spin-us to check".to_string(),
            );
        }
        for (thread, &busy) in self.client_cpu_busy.iter().enumerate() {
            if busy > BUSY_WARNING && self.header["spin_us"] == 0 {
                warnings.push(format!(
                    "generator thread {thread} was {:.0}% busy: these numbers may measure the client, not the server (add --threads, or --cpus on idle cores)",
                    busy * 100.0
                ));
            }
        }
        if let Some((target, lag)) = &self.schedule {
            let achieved = self.all.ops_per_s;
            if lag.p99_ns > LAG_WARNING_NS || achieved < target * RATE_WARNING {
                warnings.push(format!(
                    "the schedule was not kept (lag p99 {:.1} us, {achieved:.0} of {target:.0} ops/s): the server could not keep up at this --pipeline, or the client is saturated (see client_cpu_busy)",
                    lag.p99_ns as f64 / 1e3
                ));
            }
        }
        if self.all.errors > 0 {
            warnings.push(format!(
                "{} error replies; the first: {}",
                self.all.errors,
                self.first_error.as_deref().unwrap_or("?")
            ));
        }
        warnings
    }

    /// Passed: no error replies (wrong replies and stalls fail before a summary exists).
    pub fn ok(&self) -> bool {
        self.all.errors == 0
    }

    pub fn json(&self) -> Value {
        let command = |c: &CommandLine| {
            json!({
                "requests": c.requests,
                "ops_per_sec": c.ops_per_s,
                "errors": c.errors,
                "misses": c.misses,
                "latency_us": c.latency.json_us(),
            })
        };
        let mut report = self.header.clone();
        let fields = json!({
            "ok": self.ok(),
            "measured_s": self.measured_s,
            "requests": self.all.requests,
            "ops_per_sec": self.all.ops_per_s,
            "errors": self.all.errors,
            "misses": self.all.misses,
            "latency_us": self.all.latency.json_us(),
            "commands": self.commands.iter().map(|c| (c.name.clone(), command(c))).collect::<serde_json::Map<_, _>>(),
            "schedule": self.schedule.as_ref().map(|(target, lag)| json!({
                "target_ops_per_sec": target,
                "achieved_ops_per_sec": self.all.ops_per_s,
                "lag_us": lag.json_us(),
            })),
            "prefill": self.prefill.map(|(keys, s)| json!({"keys": keys, "setup_s": s})),
            "client_cpu_busy": self.client_cpu_busy,
            "client_cpu_s": self.client_cpu_s,
            "client_saturated": self.header["spin_us"] == 0
                && self.client_cpu_busy.iter().any(|&b| b > BUSY_WARNING),
            "first_error": self.first_error,
            "warnings": self.warnings,
        });
        if let (Some(report), Value::Object(fields)) = (report.as_object_mut(), fields) {
            report.extend(fields);
        }
        report
    }

    pub fn text(&self) -> String {
        let h = &self.header;
        let mut out = format!(
            "corekv-bench kv: {} {} | {} connections on {} threads (cpus {}) | pipeline {} | {}\n",
            h["target"].as_str().unwrap_or("?"),
            h["protocol"].as_str().unwrap_or("?"),
            h["connections"],
            h["threads"],
            h["cpus"].as_str().unwrap_or("unpinned"),
            h["pipeline"],
            h["mode"].as_str().unwrap_or("?"),
        );
        out += &format!(
            "workload: {} | {} keys {} | {}-byte values",
            h["mix"].as_str().unwrap_or("?"),
            h["keyspace"],
            h["distribution"].as_str().unwrap_or("?"),
            h["value_size"],
        );
        if let Some((keys, s)) = self.prefill {
            out += &format!(" | prefilled {keys} keys (setup {s:.2} s)");
        }
        out += &format!(
            "\nmeasured: {} requests in {:.3} s = {:.0} ops/s (warmup {} s)\n\n",
            self.all.requests, self.measured_s, self.all.ops_per_s, h["warmup_s"]
        );
        out += &format!(
            "{:<12} {:>10} {:>10} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}   latency in us\n",
            "command", "requests", "ops/s", "errors", "misses", "p50", "p90", "p99", "p99.9", "max"
        );
        for c in self.commands.iter().chain(std::iter::once(&self.all)) {
            let [p50, p90, p99, p999, max] = c.latency.columns_us();
            let name: String = c.name.chars().take(12).collect();
            out += &format!(
                "{name:<12} {:>10} {:>10.0} {:>7} {:>7} {p50:>9} {p90:>9} {p99:>9} {p999:>9} {max:>9}\n",
                c.requests, c.ops_per_s, c.errors, c.misses
            );
        }
        if let Some((target, lag)) = &self.schedule {
            out += &format!(
                "\nschedule: target {target:.0} ops/s, achieved {:.0}; lag (write time - due time) us: {}\n",
                self.all.ops_per_s,
                lag.text_us()
            );
        }
        let spinning = self.header["spin_us"].as_u64().unwrap_or(0);
        let busy: Vec<String> = self
            .client_cpu_busy
            .iter()
            .map(|b| format!("{:.0}%", b * 100.0))
            .collect();
        out += &format!(
            "\nclient cpu busy per thread: {} (process cpu {:.2} s{})\n",
            busy.join(" "),
            self.client_cpu_s,
            if spinning > 0 {
                format!("; spinning up to {spinning} us when idle is counted as busy")
            } else {
                String::new()
            }
        );
        for w in &self.warnings {
            out += &format!("WARNING: {w}\n");
        }
        out
    }
}

/// What was run, as the JSON report's first fields.
fn header(plan: &Plan) -> Value {
    let (protocol, resp) = match plan.protocol {
        Protocol::Resp { version } => (format!("resp{version}"), Some(version)),
        Protocol::Ws => ("ws".to_string(), None),
    };
    let (mode, rate) = match plan.mode {
        Mode::Closed => ("closed loop".to_string(), None),
        Mode::Open { rate_per_s } => (format!("open loop at {rate_per_s} ops/s"), Some(rate_per_s)),
    };
    let (distribution, exponent) = match &plan.workload.distribution {
        Distribution::Uniform => ("uniform".to_string(), None),
        Distribution::Zipf(_) => ("zipf".to_string(), Some(plan.zipf_exponent)),
    };
    let cpus = plan.cpus.as_ref().map(|c| {
        c.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    });
    json!({
        "tool": "corekv-bench kv",
        "target": plan.addr.to_string(),
        "protocol": protocol,
        "resp": resp,
        "connections": plan.connections,
        "threads": plan.threads,
        "cpus": cpus,
        "pipeline": plan.pipeline,
        "mode": mode,
        "rate": rate,
        "mix": plan.mix,
        "keyspace": plan.workload.keyspace,
        "distribution": distribution,
        "zipf_exponent": exponent,
        "value_size": plan.workload.value.len(),
        "warmup_s": plan.warmup.as_secs_f64(),
        "spin_us": plan.spin.as_micros() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::args::KvArgs;
    use crate::kv::stats::ThreadStats;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        kv: KvArgs,
    }

    fn plan(args: &[&str]) -> Plan {
        let cli = Cli::try_parse_from(std::iter::once("kv").chain(args.iter().copied()))
            .expect("valid options");
        Plan::from_args(&cli.kv).expect("valid plan")
    }

    /// A thread that answered `per_command` requests of each command, 10..=N µs apart.
    fn thread(commands: usize, per_command: u64, cpu_share: f64) -> ThreadReport {
        let mut stats = ThreadStats::new(commands);
        for c in 0..commands {
            for i in 1..=per_command {
                let verdict = if i == 1 { Verdict::Miss } else { Verdict::Ok };
                stats.record(c, i * 10_000, true, verdict, 0);
            }
        }
        stats.record_lag(2_000_000, true);
        stats.last_reply_ns = 2_000_000_000;
        ThreadReport {
            stats,
            start_ns: 0,
            end_ns: 2_000_000_000,
            cpu_ns: (2e9 * cpu_share) as u64,
            prefilled_keys: 0,
        }
    }

    use super::super::verify::Verdict;

    #[test]
    fn counts_add_up_and_rates_use_the_measured_window() {
        let plan = plan(&["--ratio", "1:3", "--connections", "2", "--threads", "2"]);
        let reports = [thread(2, 100, 0.5), thread(2, 100, 0.25)];
        let s = Summary::build(&plan, &reports, 0.1, 1.5);
        assert_eq!(s.all.requests, 400);
        assert_eq!(s.commands.iter().map(|c| c.requests).sum::<u64>(), 400);
        assert_eq!(
            (s.commands[0].name.as_str(), s.commands[1].misses),
            ("SET", 2)
        );
        assert!((s.measured_s - 2.0).abs() < 1e-9);
        assert!((s.all.ops_per_s - 200.0).abs() < 1e-9);
        assert_eq!(s.client_cpu_busy, [0.5, 0.25]);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert!(s.ok());

        let j = s.json();
        assert_eq!(j["requests"], 400);
        assert_eq!(j["commands"]["GET"]["requests"], 200);
        assert_eq!(j["mix"], "SET:GET 1:3");
        assert_eq!(j["client_saturated"], false);
        assert_eq!(j["schedule"], Value::Null);
        let l = &j["latency_us"];
        let p = |k: &str| l[k].as_f64().expect("number");
        assert!(p("p50") <= p("p90") && p("p90") <= p("p99") && p("p99") <= p("p99_9"));
        assert!(
            p("p99_9") <= p("max") && (p("max") - 1000.0).abs() < 1.0,
            "{l}"
        );

        let text = s.text();
        assert!(
            text.contains("2 connections on 2 threads (cpus unpinned) | pipeline 1 | closed loop"),
            "{text}"
        );
        assert!(
            text.contains("measured: 400 requests in 2.000 s = 200 ops/s"),
            "{text}"
        );
        assert!(
            text.contains("\nall                 400        200       0       4"),
            "{text}"
        );
        assert!(
            text.contains("client cpu busy per thread: 50% 25% (process cpu 1.50 s)"),
            "{text}"
        );
    }

    #[test]
    fn a_busy_client_and_a_late_schedule_are_warned_about() {
        let plan = plan(&["--rate", "1000", "--connections", "1"]);
        let s = Summary::build(&plan, &[thread(2, 10, 0.95)], 0.0, 2.0);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("generator thread 0 was 95% busy"));
        assert!(s.warnings[1].contains("the schedule was not kept (lag p99 2000"));
        let j = s.json();
        assert_eq!(j["client_saturated"], true);
        assert_eq!(j["schedule"]["target_ops_per_sec"], 1000.0);
        assert!(j["schedule"]["lag_us"]["p99"].as_f64().expect("lag") >= 2000.0);
        assert!(
            s.text()
                .contains("schedule: target 1000 ops/s, achieved 10;")
        );
    }
}

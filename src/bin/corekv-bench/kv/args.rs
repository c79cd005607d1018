//! `corekv-bench kv`'s options, and the validated [`Plan`] the run follows.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::workload::{self, Command, Distribution, MAX_COMMANDS, MAX_KEYSPACE, Workload};
use super::zipf::Zipf;

const MAX_CONNECTIONS: usize = 10_000;
const MAX_THREADS: usize = 256;
const MAX_PIPELINE: usize = 1024;
const MAX_VALUE_BYTES: usize = 1024 * 1024;
const MAX_RATE: f64 = 100_000_000.0;
const MAX_REQUESTS: u64 = 1_000_000_000_000;
const MAX_DURATION_S: f64 = 24.0 * 3600.0;
const MAX_WARMUP_S: f64 = 3600.0;
/// Largest keyspace `--prefill` writes (100M SETs already take minutes).
const MAX_PREFILL_KEYS: u64 = 100_000_000;
const MAX_ZIPF_EXPONENT: f64 = 10.0;
const MAX_SPIN_US: u64 = 10_000;
/// Requests when neither `--requests` nor `--duration` is given.
const DEFAULT_REQUESTS: u64 = 100_000;

#[derive(Args, Debug, Clone)]
pub struct KvArgs {
    /// Server host; must resolve to loopback addresses only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The RESP port, or the WebSocket port with `--protocol ws`.
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// resp, or ws (the WebSocket text dialect: one command per text frame, JSON replies).
    #[arg(long, default_value = "resp", value_parser = ["resp", "ws"])]
    pub protocol: String,
    /// RESP version (3: HELLO 3 on every connection first).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub resp: u8,
    /// Connections in all, spread round-robin over the threads.
    #[arg(long, visible_alias = "clients", default_value_t = 50)]
    pub connections: usize,
    /// Generator threads, one glommio executor each (default: one per `--cpus` entry, else 1).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Pin the threads to these CPUs, round-robin (`0,2-3`); unpinned without it.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,
    /// Requests each connection keeps in flight: a batch of this many is written at once
    /// (closed loop), or at most this many wait for replies (open loop).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Open loop: this many requests per second in all, on a fixed schedule; latency is
    /// measured from when each request was due. Without it: closed loop.
    #[arg(long, value_name = "OPS_PER_S")]
    pub rate: Option<f64>,
    /// SET:GET mix, like 1:10, 1:0 or 0:1.
    #[arg(long, default_value = "1:10", conflicts_with = "commands")]
    pub ratio: String,
    /// Instead of SET/GET: a command template with `__key__` and `__data__` placeholders,
    /// like 'INCR __key__'; repeat to send several in turn. Any non-error reply passes.
    #[arg(long = "command", value_name = "TEMPLATE")]
    pub commands: Vec<String>,
    /// Distinct keys: `key:000000000000` ... (12 digits, as redis-benchmark's -r).
    #[arg(long, default_value_t = 100_000)]
    pub keyspace: u64,
    /// uniform, or zipf (rank k drawn with probability ∝ k^-exponent; key 0 hottest).
    #[arg(long, default_value = "uniform", value_parser = ["uniform", "zipf"])]
    pub distribution: String,
    #[arg(long, default_value_t = 0.99)]
    pub zipf_exponent: f64,
    /// Bytes per value (`x` repeated).
    #[arg(long, default_value_t = 16)]
    pub value_size: usize,
    /// SET every key once (pipelined) before the run, so GETs hit.
    #[arg(long)]
    pub prefill: bool,
    /// Measured requests in all (after the warmup) [default: 100000 without --duration].
    #[arg(long, conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Measure for this many seconds instead of a request count.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Run this many seconds before measuring (shown live, left out of the report).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub warmup: f64,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No live progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Seed of the key choice (each connection derives its own from it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Spin up to this many microseconds before sleeping when idle (glommio's
    /// spin_before_park): a shorter wake-up for replies, paid in CPU; client_cpu_busy then
    /// counts the spinning, so it no longer shows how much headroom the client had.
    #[arg(long, default_value_t = 0)]
    pub spin_us: u64,
    /// Fail when requests are waiting and no reply arrived for this long.
    #[arg(long, default_value_t = 10)]
    pub reply_timeout_s: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Protocol {
    Resp { version: u8 },
    Ws,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Closed,
    Open { rate_per_s: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// Measured requests in all.
    Requests(u64),
    Duration(Duration),
}

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub connections: usize,
    pub threads: usize,
    pub cpus: Option<Vec<usize>>,
    pub pipeline: usize,
    pub mode: Mode,
    pub stop: Stop,
    pub warmup: Duration,
    pub workload: Workload,
    pub zipf_exponent: f64,
    /// `--ratio` as given (reports name the mix), or `custom`.
    pub mix: String,
    pub prefill: bool,
    pub json: bool,
    pub quiet: bool,
    pub seed: u64,
    /// Spinning before the executor parks (zero: none).
    pub spin: Duration,
    pub reply_timeout: Duration,
}

impl Plan {
    pub fn from_args(args: &KvArgs) -> Result<Plan, String> {
        let addr = crate::pubsub::loopback_addr(&args.host, args.port)?;
        check(
            (1..=MAX_CONNECTIONS).contains(&args.connections),
            format!("--connections must be 1..={MAX_CONNECTIONS}"),
        )?;
        check(
            (1..=MAX_PIPELINE).contains(&args.pipeline),
            format!("--pipeline must be 1..={MAX_PIPELINE}"),
        )?;
        check(
            (1..=MAX_KEYSPACE).contains(&args.keyspace),
            format!("--keyspace must be 1..={MAX_KEYSPACE}"),
        )?;
        check(
            (1..=MAX_VALUE_BYTES).contains(&args.value_size),
            format!("--value-size must be 1..={MAX_VALUE_BYTES}"),
        )?;
        check(
            !args.prefill || args.keyspace <= MAX_PREFILL_KEYS,
            format!("--prefill writes at most {MAX_PREFILL_KEYS} keys"),
        )?;
        check(
            (0.0..=MAX_WARMUP_S).contains(&args.warmup),
            format!("--warmup must be 0..={MAX_WARMUP_S} seconds"),
        )?;
        check(
            args.spin_us <= MAX_SPIN_US,
            format!("--spin-us must be 0..={MAX_SPIN_US}"),
        )?;
        check(
            (1..=3600).contains(&args.reply_timeout_s),
            "--reply-timeout-s must be 1..=3600".to_string(),
        )?;
        let cpus = args.cpus.as_deref().map(parse_cpu_list).transpose()?;
        let threads = match (args.threads, &cpus) {
            (Some(n), _) => n,
            (None, Some(cpus)) => cpus.len(),
            (None, None) => 1,
        };
        check(
            (1..=MAX_THREADS).contains(&threads),
            format!("--threads must be 1..={MAX_THREADS}"),
        )?;
        check(
            threads <= args.connections,
            "--threads must not exceed --connections".to_string(),
        )?;
        let mode = match args.rate {
            None => Mode::Closed,
            Some(rate) if rate.is_finite() && rate > 0.0 && rate <= MAX_RATE => {
                Mode::Open { rate_per_s: rate }
            }
            Some(_) => return Err(format!("--rate must be > 0 and <= {MAX_RATE}")),
        };
        let stop = match (args.requests, args.duration) {
            (Some(n), _) if (1..=MAX_REQUESTS).contains(&n) => Stop::Requests(n),
            (Some(_), _) => return Err(format!("--requests must be 1..={MAX_REQUESTS}")),
            (None, Some(s)) if s > 0.0 && s <= MAX_DURATION_S => {
                Stop::Duration(Duration::from_secs_f64(s))
            }
            (None, Some(_)) => return Err(format!("--duration must be > 0, <= {MAX_DURATION_S}")),
            (None, None) => Stop::Requests(DEFAULT_REQUESTS),
        };
        let (workload, mix) = workload_of(args)?;
        Ok(Plan {
            addr,
            protocol: match args.protocol.as_str() {
                "ws" => Protocol::Ws,
                _ => Protocol::Resp { version: args.resp },
            },
            connections: args.connections,
            threads,
            cpus,
            pipeline: args.pipeline,
            mode,
            stop,
            warmup: Duration::from_secs_f64(args.warmup),
            workload,
            zipf_exponent: args.zipf_exponent,
            mix,
            prefill: args.prefill,
            json: args.json,
            quiet: args.quiet,
            seed: args.seed,
            spin: Duration::from_micros(args.spin_us),
            reply_timeout: Duration::from_secs(args.reply_timeout_s),
        })
    }
}

fn check(ok: bool, message: String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message) }
}

fn workload_of(args: &KvArgs) -> Result<(Workload, String), String> {
    let distribution = match args.distribution.as_str() {
        "zipf" => {
            check(
                args.zipf_exponent <= MAX_ZIPF_EXPONENT,
                format!("--zipf-exponent must be at most {MAX_ZIPF_EXPONENT}"),
            )?;
            Distribution::Zipf(Zipf::new(args.keyspace, args.zipf_exponent)?)
        }
        _ => Distribution::Uniform,
    };
    let keys = (args.keyspace, distribution);
    if args.commands.is_empty() {
        let (set, get) = workload::parse_ratio(&args.ratio)?;
        let mix = format!("SET:GET {set}:{get}");
        return Ok((Workload::set_get(set, get, keys, args.value_size), mix));
    }
    check(
        args.commands.len() <= MAX_COMMANDS,
        format!("at most {MAX_COMMANDS} --command templates"),
    )?;
    let commands = args
        .commands
        .iter()
        .map(|t| Command::parse_template(t))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, c) in commands.iter().enumerate() {
        check(
            commands[..i].iter().all(|d| d.name != c.name),
            format!("--command {:?} is given twice", c.name),
        )?;
    }
    let mix = format!("custom ({})", commands.len());
    Ok((Workload::custom(commands, keys, args.value_size), mix))
}

/// `0,2-3` -> [0, 2, 3]: each CPU once, each one this process may run on.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("--cpus must be a list like 0,2-3, not {text:?}");
    let allowed = corekv::config::affinity_cpus();
    let mut cpus = Vec::new();
    for item in text.split(',') {
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (item.trim(), item.trim()),
        };
        let lo: usize = lo.parse().map_err(|_| bad())?;
        let hi: usize = hi.parse().map_err(|_| bad())?;
        if lo > hi || hi >= libc::CPU_SETSIZE as usize {
            return Err(bad());
        }
        for cpu in lo..=hi {
            if !allowed.contains(&cpu) {
                return Err(format!("--cpus: cpu {cpu} is not one this process may use"));
            }
            if !cpus.contains(&cpu) {
                cpus.push(cpu);
            }
        }
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        let first = corekv::config::affinity_cpus()[0];
        assert_eq!(parse_cpu_list(&first.to_string()), Ok(vec![first]));
        assert_eq!(
            parse_cpu_list(&format!("{first}-{first},{first}")),
            Ok(vec![first])
        );
        for bad in ["", "a", "1-0", "0-", ",", "99999"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad:?}");
        }
        assert!(parse_cpu_list("1000").is_err(), "not in the affinity mask");
    }
}

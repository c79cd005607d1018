//! corekv-bench: load generators for corekv (and any Redis-compatible server), loopback only.
//!
//! Two tools share the binary. `kv` is the general load generator: glommio executors, one per
//! thread, so the client is as cheap per request as the server it measures, and it reports its
//! own CPU use to prove it was not the bottleneck (see [`kv`]). `pubsub` uses plain blocking
//! `std::net` sockets and epoll reader threads. Both measure corekv and redis-server alike.
//!
//! # `corekv-bench pubsub`
//!
//! Fan-out throughput and delivery latency of PUBLISH to N subscribers of one channel.
//!
//! 1. Connect N subscriber connections; each sends `SUBSCRIBE channel` and must be confirmed
//!    with `subscribe channel 1` before the next one connects.
//! 2. Poll `PUBSUB NUMSUB channel` on an admin connection until it says N (bounded).
//! 3. Hand the subscribers, nonblocking, to a few reader threads, each an epoll loop over its
//!    share: no thread per connection (see [`pubsub::reader_thread_count`] for how many).
//! 4. K publisher connections start together and send M PUBLISH commands between them, each
//!    keeping up to `--window` commands in flight, and check that every reply is N.
//! 5. Every payload starts with its send time (ns since a process-wide `Instant`, a monotonic
//!    clock shared by all threads), its publisher id and its sequence number. A reader records
//!    receive time − send time in an hdrhistogram and checks that each publisher's sequence
//!    numbers arrive as 0, 1, 2, …
//! 6. Pass only when every reply was N and every subscriber received all M messages, in order,
//!    on the right channel, with the right length: exit 0; 1 when a check failed; 2 for a setup
//!    error (refused connection, wrong SUBSCRIBE confirmation, NUMSUB never reaching N, ...).
//!
//! The last line is `RESULT key=value ...`, for scripts (benches/pubsub.sh); with `--json`
//! the result is one JSON object on stdout instead and the text goes to stderr.
//!
//! # `corekv-bench kv`
//!
//! N connections over M threads, RESP2/3 or WebSocket, closed loop or a fixed rate (open
//! loop, coordinated omission corrected), pipelining, a SET:GET ratio or custom commands,
//! uniform or Zipf keys, prefill, warmup, live progress, text or `--json`: see [`kv`].
//! Used by benches/side_by_side.sh and benches/websocket.sh.
//!
//! # Code map
//!
//! A folder binary: this file holds the CLI and `main`; each room is a module in its own file:
//! [`run`] (clock and stop conditions), [`resp`] (encoding, parsing: pure), [`latency`]
//! (percentiles for every report), [`kv`] (the load generator, a folder of its own);
//! for `pubsub`: [`conn`] (blocking connections), [`pubsub`] (setup and orchestration),
//! [`reader`] (subscriber threads), [`publisher`], [`report`].

mod conn;
mod kv;
mod latency;
mod publisher;
mod pubsub;
mod reader;
mod report;
mod resp;
mod run;
mod rwa;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "corekv-bench",
    version,
    about = "Load generators for corekv (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// N subscribers on one channel, K publishers, M messages: fan-out rate and latency.
    Pubsub(PubsubArgs),
    /// SET/GET (or any command) load over RESP or WebSocket, closed or open loop: ops/s and
    /// latency percentiles per command.
    Kv(kv::KvArgs),
    /// N `/rwa` WebSocket subscribers with a BBOX, GeoJSON published over RESP: deliveries/s.
    Rwa(rwa::RwaArgs),
}

#[derive(Args, Debug, Clone)]
struct PubsubArgs {
    /// Server host; must resolve to loopback addresses only.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Subscriber connections, all on one channel.
    #[arg(long, default_value_t = 1)]
    subscribers: usize,
    /// PUBLISH commands in all (split evenly between the publishers).
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Bytes per payload (at least 20: send time, publisher id and sequence number).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Publisher connections, one thread each.
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// PUBLISH commands each publisher keeps in flight (1: wait for each reply).
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Subscriber reader threads (0: one per 500 subscribers, at most the CPU count).
    #[arg(long, default_value_t = 0)]
    reader_threads: usize,
    #[arg(long, default_value = "corekv-bench")]
    channel: String,
    /// RESP version of every connection (3: HELLO 3 first; messages arrive as push frames).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    resp: u8,
    /// Limit for the whole run, in seconds; exceeding it fails the run.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Print the result as one JSON object on stdout (the text lines go to stderr).
    #[arg(long)]
    json: bool,
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Pubsub(args) => match pubsub::run(&args) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(err) => {
                eprintln!("corekv-bench pubsub: {err}");
                2
            }
        },
        Command::Kv(args) => match kv::run(&args) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(err) => {
                eprintln!("corekv-bench kv: {err}");
                2
            }
        },
        Command::Rwa(args) => match rwa::run(&args) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(err) => {
                eprintln!("corekv-bench rwa: {err}");
                2
            }
        },
    };
    std::process::exit(code);
}

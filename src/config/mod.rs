//! Command-line options and the validated [`Config`] that every core receives a copy of.
//!
//! Every limit the server enforces is a named field here, with Redis's default where Redis has
//! one, so an operator can find and change it in one place. Runtime-tunable parameters (the ones
//! `CONFIG GET`/`CONFIG SET` see) live in [`crate::config::params`]; this struct holds what is
//! fixed for the life of the process plus the initial values of those parameters.
//!
//! Where a value comes from, lowest precedence first: the built-in default, the config file
//! ([`file`], redis.conf syntax), then a flag given on the command line (or its environment
//! variable). [`Config::load`] merges the three; every value passes the same checks whichever
//! source it came from.

pub mod file;
pub mod params;
pub mod rewrite;
pub mod values;

use clap::Parser;
use clap::parser::ValueSource;
use std::net::IpAddr;
use std::path::PathBuf;

/// corekv: a thread-per-core, Redis-compatible key-value server.
#[derive(Parser, Debug, Clone)]
#[command(name = "corekv", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Tool>,

    /// Config file in redis.conf syntax (as redis-server's first argument). Flags given on the
    /// command line override what it says.
    #[arg(value_name = "CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Config file (the same as the positional CONFIG_FILE).
    #[arg(long = "config", value_name = "PATH", conflicts_with = "config_file")]
    pub config: Option<PathBuf>,

    /// Address to listen on for RESP clients.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// RESP TCP port (0 picks a free port; the chosen port is logged).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Number of shards (one glommio executor each). Default: one per CPU in the affinity mask.
    #[arg(long)]
    pub shards: Option<usize>,

    /// Do not pin shard threads to CPUs.
    #[arg(long)]
    pub no_pin: bool,

    /// Require clients to AUTH with this password.
    #[arg(long, env = "COREKV_REQUIREPASS", hide_env_values = true)]
    pub requirepass: Option<String>,

    /// Number of logical databases (SELECT 0..N-1).
    #[arg(long, default_value_t = 16)]
    pub databases: usize,

    /// Log filter (error, warn, info, debug, trace, or a tracing EnvFilter directive).
    #[arg(long, default_value = "info")]
    pub log_level: String,

    /// Log line format: text (for people) or json (one JSON object per line).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Largest bulk string a client may send (Redis's proto-max-bulk-len).
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    pub proto_max_bulk_len: usize,

    /// Largest unparsed query buffer per client before it is disconnected
    /// (Redis's client-query-buffer-limit).
    #[arg(long, default_value_t = 1024 * 1024 * 1024)]
    pub client_query_buffer_limit: usize,

    /// Capacity, in batches, of each bounded cross-core channel.
    #[arg(long, default_value_t = 1024)]
    pub mesh_channel_capacity: usize,

    /// Microseconds an idle shard keeps polling for I/O before it sleeps (glommio's
    /// spin_before_park): the next request or cross-core message is picked up without a
    /// wake-up, paid with CPU while idle. Needs pinned shards (ignored with --no-pin).
    /// 0: sleep at once.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub spin_before_park_us: u64,

    /// Most requests executed from one read of a pipelining client before replies are written.
    #[arg(long, default_value_t = 1024)]
    pub max_pipeline_batch: usize,

    /// Allow the DEBUG command: no, yes, or local (loopback clients only), as Redis's
    /// enable-debug-command.
    #[arg(long, default_value = "no", value_parser = ["no", "yes", "local"])]
    pub enable_debug_command: String,

    /// Keep an append-only log per shard and replay it at start (Redis's appendonly).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub appendonly: String,

    /// When a write is acknowledged: always (after an fdatasync covering it), everysec (after
    /// it is written; fdatasync once a second), no (after it is written; the kernel syncs).
    #[arg(long, default_value = "everysec", value_parser = ["always", "everysec", "no"])]
    pub appendfsync: String,

    /// Data directory: the LAYOUT file and one directory per shard of the current generation.
    #[arg(long, default_value = "./data")]
    pub dir: PathBuf,

    /// At start, truncate a torn final record of a shard's last segment (yes) or refuse to
    /// start (no), as Redis's aof-load-truncated.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub aof_load_truncated: String,

    /// At start, cut a shard's log at the first damaged record anywhere, dropping everything
    /// after it, instead of refusing to start (a bad MANIFEST always refuses).
    #[arg(long, default_value = "no", value_parser = ["yes", "no"])]
    pub aof_load_corrupt: String,

    /// Microseconds to sleep per replayed record while loading (Redis's key-load-delay; tests).
    #[arg(long, default_value_t = 0)]
    pub key_load_delay: u64,

    /// WebSocket port, on the same address as RESP (0 disables the WebSocket interface).
    #[arg(long, default_value_t = 8379)]
    pub ws_port: u16,

    /// Largest WebSocket message (and frame) a client may send; a larger one closes the
    /// connection with code 1009.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub ws_max_message_bytes: u64,

    /// Whether the ABORT command may stop the WebSocket server (loopback or authenticated
    /// clients only).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub ws_abort: String,

    /// Space-separated Origins allowed to open WebSocket connections besides same-host ones
    /// (and requests without Origin); `*` allows any.
    #[arg(long, default_value = "")]
    pub ws_allowed_origins: String,

    /// How often the server pings an idle WebSocket client (0: never).
    #[arg(long, default_value_t = 30_000)]
    pub ws_ping_interval_ms: u64,

    /// How long a WebSocket client may take to answer a ping (or to take our pending output)
    /// before it is disconnected.
    #[arg(long, default_value_t = 10_000)]
    pub ws_pong_timeout_ms: u64,

    /// How long a new WebSocket connection may take to send its HTTP upgrade request.
    #[arg(long, default_value_t = 10_000)]
    pub ws_handshake_timeout_ms: u64,

    /// Most pushed bytes (pub/sub messages) a WebSocket connection may have waiting for a slow
    /// reader before it is disconnected (0: no WebSocket-specific cap).
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub ws_max_output_bytes: u64,

    /// A channel (or hash key) glob the `/rwa` WebSocket dialect may read; repeat for more.
    /// None (the default) denies everything, as the package's base handler does; `*` allows
    /// everything, as its PublishEverythingHandler does.
    #[arg(long, value_name = "GLOB", action = clap::ArgAction::Append)]
    pub rwa_allow_channels: Vec<String>,

    /// `/rwa`: after this long without a frame from the client, check it is still there (a
    /// ping; no answer within ws-pong-timeout-ms closes it), like the package's read_timeout
    /// (0: never).
    #[arg(long, default_value_t = 30_000)]
    pub rwa_read_timeout_ms: u64,

    /// `/rwa`: close a connection this long after it opened, whatever it is doing, like the
    /// package's keep_alive_timeout (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub rwa_keep_alive_timeout_ms: u64,
}

/// Tools that run instead of the server.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Tool {
    /// Check an append-only log directory (every shard under it), like redis-check-aof.
    /// Exits 0 when the log is sound (or was repaired with --fix), 1 otherwise.
    CheckLog {
        /// Truncate a torn or corrupt tail instead of only reporting it.
        #[arg(long)]
        fix: bool,
        /// The data directory (the server's --dir) or one shard's directory.
        dir: std::path::PathBuf,
    },
}

/// Largest inline (non-multibulk) request line, as Redis's PROTO_INLINE_MAX_SIZE.
pub const MAX_INLINE_BYTES: usize = 64 * 1024;
/// Most shards a process may run; bounds the cross-core mesh (n² channels).
pub const MAX_SHARDS: usize = 256;
/// Most logical databases (Redis allows any number; we bound it to keep per-shard state small).
pub const MAX_DATABASES: usize = 1024;

/// The validated configuration every shard gets a copy of.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: IpAddr,
    pub port: u16,
    pub nr_shards: usize,
    /// CPUs to pin shard `i` to (`cpus[i % cpus.len()]`); empty means no pinning.
    pub cpus: Vec<usize>,
    pub requirepass: Option<String>,
    pub databases: usize,
    pub log_level: String,
    pub log_format: LogFormat,
    pub max_inline_bytes: usize,
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub mesh_channel_capacity: usize,
    pub spin_before_park_us: u64,
    pub max_pipeline_batch: usize,
    pub enable_debug_command: String,
    pub appendonly: bool,
    pub appendfsync: Fsync,
    pub dir: std::path::PathBuf,
    pub aof_load_truncated: bool,
    pub aof_load_corrupt: bool,
    pub key_load_delay_us: u64,
    /// The WebSocket interface's options (`ws-*`), see [`WsOptions`].
    pub ws: WsOptions,
    /// The config file the server started from (absolute), which CONFIG REWRITE rewrites;
    /// `None` when started without one.
    pub config_file: Option<PathBuf>,
    /// Registry parameters the config file set that have no field above (`maxclients`,
    /// `save`, ...), in canonical text; [`params::Params::from_config`] starts from them.
    pub file_params: Vec<(&'static str, String)>,
    /// corekv's own options (those without a Redis name, [`file::OWN_OPTIONS`]) as text, in
    /// the form the config file takes them, for CONFIG REWRITE. `shards` is empty when it was
    /// left to the CPU count.
    pub own_options: Vec<(&'static str, String)>,
}

/// The WebSocket interface's options. All but the port are CONFIG parameters of the same
/// name (`ws-max-message-bytes`, ...) and may change at runtime for new connections.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// 0: no WebSocket listener.
    pub port: u16,
    pub max_message_bytes: u64,
    pub abort: bool,
    pub allowed_origins: String,
    pub ping_interval_ms: u64,
    pub pong_timeout_ms: u64,
    pub handshake_timeout_ms: u64,
    pub max_output_bytes: u64,
    /// `rwa-allow-channels`: space-separated globs.
    pub rwa_allow_channels: String,
    pub rwa_read_timeout_ms: u64,
    pub rwa_keep_alive_timeout_ms: u64,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing-subscriber's human-readable lines.
    Text,
    /// One JSON object per line: timestamp, level, target, fields (with the message).
    Json,
}

impl LogFormat {
    /// From `--log-format`'s value (already checked by clap or the config file).
    pub fn from_name(name: &str) -> LogFormat {
        if name.eq_ignore_ascii_case("json") {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    }
}

/// When a logged write may be acknowledged (Redis's appendfsync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

impl Config {
    /// Checks the CLI against the limits and resolves defaults that depend on the host
    /// (the shard count comes from the process's CPU affinity mask).
    pub fn from_cli(cli: Cli) -> Result<Config, String> {
        let affinity = affinity_cpus();
        let nr_shards = cli.shards.unwrap_or(affinity.len().max(1));
        if nr_shards == 0 || nr_shards > MAX_SHARDS {
            return Err(format!("--shards must be between 1 and {MAX_SHARDS}"));
        }
        if cli.databases == 0 || cli.databases > MAX_DATABASES {
            return Err(format!("--databases must be between 1 and {MAX_DATABASES}"));
        }
        if cli.mesh_channel_capacity == 0 || cli.max_pipeline_batch == 0 {
            return Err("--mesh-channel-capacity and --max-pipeline-batch must be > 0".into());
        }
        if cli.proto_max_bulk_len < 1024 {
            return Err("--proto-max-bulk-len must be at least 1024".into());
        }
        if cli.ws_port != 0 && cli.ws_port == cli.port {
            return Err(format!(
                "--ws-port {} is also the RESP --port: give the WebSocket interface its own port (or --ws-port 0 to disable it)",
                cli.ws_port
            ));
        }
        if cli.ws_max_message_bytes < 1024 {
            return Err("--ws-max-message-bytes must be at least 1024".into());
        }
        if let Some(g) = cli
            .rwa_allow_channels
            .iter()
            .find(|g| g.is_empty() || g.contains(char::is_whitespace))
        {
            return Err(format!(
                "--rwa-allow-channels '{g}': a glob must be non-empty and without spaces (use ? for a space)"
            ));
        }
        if cli.ws_pong_timeout_ms == 0 || cli.ws_handshake_timeout_ms == 0 {
            return Err("--ws-pong-timeout-ms and --ws-handshake-timeout-ms must be > 0".into());
        }
        let ws = WsOptions {
            port: cli.ws_port,
            max_message_bytes: cli.ws_max_message_bytes,
            abort: cli.ws_abort == "yes",
            allowed_origins: cli.ws_allowed_origins.clone(),
            ping_interval_ms: cli.ws_ping_interval_ms,
            pong_timeout_ms: cli.ws_pong_timeout_ms,
            handshake_timeout_ms: cli.ws_handshake_timeout_ms,
            max_output_bytes: cli.ws_max_output_bytes,
            rwa_allow_channels: cli.rwa_allow_channels.join(" "),
            rwa_read_timeout_ms: cli.rwa_read_timeout_ms,
            rwa_keep_alive_timeout_ms: cli.rwa_keep_alive_timeout_ms,
        };
        let cpus = if cli.no_pin { Vec::new() } else { affinity };
        let own_options = file::own_options_text(&cli);
        Ok(Config {
            bind: cli.bind,
            port: cli.port,
            nr_shards,
            cpus,
            requirepass: cli.requirepass.filter(|p| !p.is_empty()),
            databases: cli.databases,
            log_format: LogFormat::from_name(&cli.log_format),
            log_level: cli.log_level,
            max_inline_bytes: MAX_INLINE_BYTES,
            proto_max_bulk_len: cli.proto_max_bulk_len,
            client_query_buffer_limit: cli.client_query_buffer_limit,
            mesh_channel_capacity: cli.mesh_channel_capacity,
            spin_before_park_us: cli.spin_before_park_us,
            max_pipeline_batch: cli.max_pipeline_batch,
            enable_debug_command: cli.enable_debug_command,
            appendonly: cli.appendonly == "yes",
            appendfsync: Fsync::parse(&cli.appendfsync).unwrap_or(Fsync::EverySec),
            dir: std::path::absolute(&cli.dir).unwrap_or(cli.dir),
            aof_load_truncated: cli.aof_load_truncated == "yes",
            aof_load_corrupt: cli.aof_load_corrupt == "yes",
            key_load_delay_us: cli.key_load_delay,
            ws,
            config_file: None,
            file_params: Vec::new(),
            own_options,
        })
    }

    /// Builds the configuration from the command line and, when it names one, the config
    /// file: a file value applies unless the same option was given on the command line (or
    /// through its environment variable), as `matches` tells. Errors name the file and line.
    pub fn load(mut cli: Cli, matches: &clap::ArgMatches) -> Result<Config, String> {
        let Some(path) = cli.config.clone().or_else(|| cli.config_file.clone()) else {
            return Config::from_cli(cli);
        };
        let path = std::path::absolute(&path).unwrap_or(path);
        let settings = file::load(&path)?;
        // A value the command line overrides is still applied, to this copy, so that it is
        // checked: a bad file fails whatever the flags say.
        let mut overridden = cli.clone();
        let mut file_params = Vec::new();
        for s in &settings {
            let given = file::cli_arg_id(s.name).is_some_and(|id| {
                matches!(
                    matches.value_source(&id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            });
            let target = if given { &mut overridden } else { &mut cli };
            let on_cli = file::set_cli_field(target, s.name, &s.text)
                .map_err(|why| format!("{}:{}: {why}", path.display(), s.line))?;
            if !on_cli {
                file_params.push((s.name, s.text.clone()));
            }
        }
        let mut config = Config::from_cli(cli)?;
        config.config_file = Some(path);
        config.file_params = file_params;
        Ok(config)
    }
}

/// The CPUs this process may run on, from `sched_getaffinity`, so that `taskset` and systemd's
/// `CPUAffinity=` decide both the shard count and where shards are pinned.
pub fn affinity_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most sizeof(cpu_set_t) bytes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            return (0..n).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Pins the calling thread to `cpu`. Returns the OS error when the kernel (or a seccomp filter,
/// or a container) refuses; the caller logs it and carries on unpinned.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: as above; the set is fully initialised before the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

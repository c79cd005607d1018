//! The `corekv` binary: parse the CLI (and the config file it names), set up logging, run
//! the server.
//!
//! Exit status: 0 after a clean shutdown (or a sound log, for `check-log`); 1 when corekv
//! cannot start (a bad flag, config file or value; a port it cannot bind; a damaged log) or
//! fails while running.

use clap::{CommandFactory, FromArgMatches};
use corekv::config::{Cli, Config, LogFormat};

#[global_allocator]
static ALLOC: corekv::metrics::alloc::CountingAlloc = corekv::metrics::alloc::CountingAlloc;

/// The exit status for a configuration corekv cannot use, whichever source it came from.
const EXIT_BAD_CONFIG: i32 = 1;

fn main() {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        // --help and --version print and exit 0; a usage error is a bad configuration.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let _ = e.print();
            std::process::exit(EXIT_BAD_CONFIG);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(EXIT_BAD_CONFIG);
        }
    };
    if let Some(corekv::config::Tool::CheckLog { fix, dir }) = &cli.command {
        init_tracing(&cli.log_level, LogFormat::from_name(&cli.log_format));
        check_log(dir, *fix);
    }
    let config = match Config::load(cli, &matches) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("corekv: {e}");
            std::process::exit(EXIT_BAD_CONFIG);
        }
    };
    init_tracing(&config.log_level, config.log_format);
    if let Some(path) = &config.config_file {
        tracing::info!(path = %path.display(), "configuration loaded");
    }
    if let Err(e) = corekv::server::run(config) {
        tracing::error!("{e}");
        eprintln!("corekv: {e}");
        std::process::exit(1);
    }
}

/// Logs to stderr through `level` (a tracing EnvFilter directive; `info` if it does not
/// parse), as text or one JSON object per line.
fn init_tracing(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// `corekv check-log [--fix] DIR`: checks the log and exits.
fn check_log(dir: &std::path::Path, fix: bool) -> ! {
    if !dir.is_dir() {
        eprintln!("corekv check-log: {} is not a directory", dir.display());
        std::process::exit(1);
    }
    // A data directory: check the generation its LAYOUT names.
    let target = match corekv::aof::layout::read(dir) {
        Ok(Some(l)) => corekv::aof::layout::generation_dir(dir, l.generation),
        Ok(None) => dir.to_path_buf(),
        Err(e) => {
            eprintln!("corekv check-log: {e}");
            std::process::exit(1);
        }
    };
    let report = corekv::persistence::check_log_dir(&target, fix);
    print!("{report}");
    std::process::exit(if report.is_ok() { 0 } else { 1 });
}

//! The `corekv` binary: parse the CLI, set up logging, run the server.

use clap::Parser;

#[global_allocator]
static ALLOC: corekv::metrics::alloc::CountingAlloc = corekv::metrics::alloc::CountingAlloc;

fn main() {
    let cli = corekv::config::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(corekv::config::Tool::CheckLog { fix, dir }) = &cli.command {
        if !dir.is_dir() {
            eprintln!("corekv check-log: {} is not a directory", dir.display());
            std::process::exit(1);
        }
        // A data directory: check the generation its LAYOUT names.
        let target = match corekv::aof::layout::read(dir) {
            Ok(Some(l)) => corekv::aof::layout::generation_dir(dir, l.generation),
            Ok(None) => dir.clone(),
            Err(e) => {
                eprintln!("corekv check-log: {e}");
                std::process::exit(1);
            }
        };
        let report = corekv::persistence::check_log_dir(&target, *fix);
        print!("{report}");
        std::process::exit(if report.is_ok() { 0 } else { 1 });
    }
    let config = match corekv::config::Config::from_cli(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("corekv: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = corekv::server::run(config) {
        tracing::error!("{e}");
        eprintln!("corekv: {e}");
        std::process::exit(1);
    }
}

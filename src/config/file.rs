//! The config file, in redis.conf syntax: `corekv /etc/corekv/corekv.conf` or `--config PATH`.
//!
//! # Format
//! One option per line: `name value [value ...]`. Blank lines and lines starting with `#` are
//! comments. Values are split as Redis's `sdssplitargs` splits them: at blanks, except inside
//! double quotes (with `\n`, `\r`, `\t`, `\b`, `\a`, `\xHH`, `\"` and `\\` escapes) or single
//! quotes (with `\'`). Names are case-insensitive.
//!
//! The names are the CONFIG parameters of [`crate::config::params::PARAMS`] (with their
//! aliases; immutable and protected ones too, as in redis.conf) plus corekv's own options
//! that Redis has no name for, [`OWN_OPTIONS`]. Every value is checked by the same function
//! CONFIG SET uses ([`crate::config::values::canonical`]), so the file accepts exactly what
//! CONFIG SET accepts; a parameter corekv accepts and ignores in CONFIG SET (`save`,
//! `hash-max-listpack-entries`, ...) is accepted and ignored here too.
//!
//! As in Redis, an option given twice takes the last value, except `save` lines, which add
//! up (`save ""` clears the list), and `client-output-buffer-limit` lines, each of which sets
//! the classes it names. `include` is refused: one file holds everything, so CONFIG REWRITE
//! has one place to write.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::config::params::{self, Kind, ParamSpec, fixed};
use crate::config::values::canonical;
use crate::config::{Cli, MAX_SHARDS};

/// Largest config file read, so a wrong path (a log, a device) fails fast instead of filling
/// memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// corekv's options that have no Redis name: the file spells them as the command-line flags
/// without the leading `--`. Validated like registry parameters; `shards` has no default
/// (one shard per CPU in the affinity mask).
pub static OWN_OPTIONS: &[ParamSpec] = &[
    fixed(
        "shards",
        Kind::Int {
            min: 1,
            max: MAX_SHARDS as i64,
        },
        "",
    ),
    fixed("no-pin", Kind::Bool, "no"),
    fixed("log-level", Kind::Str, "info"),
    fixed("log-format", Kind::Enum(&["text", "json"]), "text"),
    fixed("mesh-channel-capacity", POSITIVE, "1024"),
    fixed(
        "spin-before-park-us",
        Kind::Int {
            min: 0,
            max: 1_000_000,
        },
        "0",
    ),
    fixed("max-pipeline-batch", POSITIVE, "1024"),
    fixed("aof-load-corrupt", Kind::Bool, "no"),
];

const POSITIVE: Kind = Kind::Int {
    min: 1,
    max: i64::MAX,
};

/// Options that are also command-line flags (of the same name, `--name`): a flag given on
/// the command line wins over the file. Everything else in the file is a registry parameter
/// that only CONFIG GET/SET see.
const CLI_NAMES: &[&str] = &[
    "bind",
    "port",
    "databases",
    "requirepass",
    "dir",
    "appendonly",
    "appendfsync",
    "aof-load-truncated",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "enable-debug-command",
    "key-load-delay",
    "shards",
    "no-pin",
    "log-level",
    "log-format",
    "mesh-channel-capacity",
    "spin-before-park-us",
    "max-pipeline-batch",
    "aof-load-corrupt",
    "ws-port",
    "ws-max-message-bytes",
    "ws-abort",
    "ws-allowed-origins",
    "ws-ping-interval-ms",
    "ws-pong-timeout-ms",
    "ws-handshake-timeout-ms",
    "ws-max-output-bytes",
    "rwa-allow-channels",
    "rwa-read-timeout-ms",
    "rwa-keep-alive-timeout-ms",
];

/// One option's value after the whole file: canonical text, and the line that last set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub text: String,
    pub line: usize,
}

/// Finds a file option (registry parameter, alias or own option), case-insensitively.
pub fn lookup(name: &str) -> Option<&'static ParamSpec> {
    params::find(name).map(|(spec, _)| spec).or_else(|| {
        OWN_OPTIONS
            .iter()
            .find(|spec| spec.name.eq_ignore_ascii_case(name))
    })
}

/// Reads and checks the file at `path`. Errors read `PATH:LINE: problem`.
pub fn load(path: &Path) -> Result<Vec<Setting>, String> {
    let at = |line: usize, why: String| format!("{}:{line}: {why}", path.display());
    let text = read(path).map_err(|why| format!("{}: {why}", path.display()))?;
    let mut loader = Loader::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(args) = split_line(raw).map_err(|why| at(line, why))? else {
            continue;
        };
        loader.apply(line, &args).map_err(|why| at(line, why))?;
    }
    Ok(loader.settings)
}

fn read(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {MAX_FILE_BYTES} bytes; is this a config file?"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
}

/// One line's arguments, or `None` for a blank line or a comment.
pub fn split_line(raw: &str) -> Result<Option<Vec<String>>, String> {
    let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let args = split_args(line)?;
    Ok((!args.is_empty()).then_some(args))
}

/// Applies lines one by one, keeping each option's value so far.
#[derive(Default)]
pub struct Loader {
    pub settings: Vec<Setting>,
}

impl Loader {
    /// Applies one line's arguments (`args[0]` is the option name).
    pub fn apply(&mut self, line: usize, args: &[String]) -> Result<(), String> {
        let name = &args[0];
        if name.eq_ignore_ascii_case("include") {
            return Err("'include' is not supported: put every option in this one file".into());
        }
        let spec = lookup(name).ok_or_else(|| format!("unknown option '{name}'"))?;
        let values = &args[1..];
        // `rwa-allow-channels a* b*`: one glob per word, like the repeated flag.
        let multi = matches!(
            spec.kind,
            Kind::Save | Kind::ClientOutputBufferLimit | Kind::Percentiles
        ) || spec.name == "rwa-allow-channels";
        if spec.name == "bind" && values.len() > 1 {
            return Err("corekv listens on one address: give 'bind' one IP address".into());
        }
        if values.is_empty() || (!multi && values.len() > 1) {
            return Err(format!("wrong number of arguments for '{name}'"));
        }
        let value = values.join(" ");
        let index = self.settings.iter().position(|s| s.name == spec.name);
        let current = index.map_or(spec.default, |i| self.settings[i].text.as_str());
        let invalid = |why: String| format!("invalid value for '{name}': {why}");
        let mut text = canonical(spec.kind, &value, current).map_err(invalid)?;
        // `save` lines add up (the first one replaces the default); `save ""` empties the
        // list.
        if matches!(spec.kind, Kind::Save)
            && index.is_some()
            && !text.is_empty()
            && !current.is_empty()
        {
            text = format!("{current} {text}");
        }
        if spec.name == "bind" && text.parse::<IpAddr>().is_err() {
            return Err(invalid(format!(
                "'{text}' is not an IP address (corekv listens on one address)"
            )));
        }
        let setting = Setting {
            name: spec.name,
            text,
            line,
        };
        match index {
            Some(i) => self.settings[i] = setting,
            None => self.settings.push(setting),
        }
        Ok(())
    }

    /// The value an option has after the lines applied so far.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.text.as_str())
    }
}

/// Redis's `sdssplitargs`: blanks separate arguments; double quotes take escapes, single
/// quotes take `\'`; a closing quote must end the argument.
pub fn split_args(line: &str) -> Result<Vec<String>, String> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && is_blank(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return Ok(args);
        }
        let mut arg = Vec::new();
        match bytes[i] {
            b'"' => i = double_quoted(bytes, i + 1, &mut arg)?,
            b'\'' => i = single_quoted(bytes, i + 1, &mut arg)?,
            _ => {
                while i < bytes.len() && !is_blank(bytes[i]) {
                    arg.push(bytes[i]);
                    i += 1;
                }
            }
        }
        let arg = String::from_utf8(arg).map_err(|_| "an escape makes invalid UTF-8")?;
        args.push(arg);
    }
}

const UNBALANCED: &str = "unbalanced quotes";

/// From just after an opening `"`: the argument into `arg`; returns the index after the
/// closing quote.
fn double_quoted(bytes: &[u8], mut i: usize, arg: &mut Vec<u8>) -> Result<usize, String> {
    loop {
        match bytes.get(i) {
            None => return Err(UNBALANCED.into()),
            Some(b'\\') if is_hex_escape(&bytes[i..]) => {
                arg.push(hex(bytes[i + 2]) * 16 + hex(bytes[i + 3]));
                i += 4;
            }
            Some(b'\\') if i + 1 < bytes.len() => {
                arg.push(match bytes[i + 1] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'a' => 7,
                    other => other,
                });
                i += 2;
            }
            Some(b'"') => return closing(bytes, i + 1),
            Some(&c) => {
                arg.push(c);
                i += 1;
            }
        }
    }
}

/// From just after an opening `'`: as [`double_quoted`], with `\'` the only escape.
fn single_quoted(bytes: &[u8], mut i: usize, arg: &mut Vec<u8>) -> Result<usize, String> {
    loop {
        match bytes.get(i) {
            None => return Err(UNBALANCED.into()),
            Some(b'\\') if bytes.get(i + 1) == Some(&b'\'') => {
                arg.push(b'\'');
                i += 2;
            }
            Some(b'\'') => return closing(bytes, i + 1),
            Some(&c) => {
                arg.push(c);
                i += 1;
            }
        }
    }
}

/// A closing quote must be followed by a blank or the end of the line.
fn closing(bytes: &[u8], after: usize) -> Result<usize, String> {
    match bytes.get(after) {
        None => Ok(after),
        Some(&c) if is_blank(c) => Ok(after),
        Some(_) => Err("a closing quote must be followed by a space".into()),
    }
}

fn is_hex_escape(s: &[u8]) -> bool {
    s.len() >= 4 && s[1] == b'x' && s[2].is_ascii_hexdigit() && s[3].is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// C's `isspace`.
fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The clap argument id of an option that is also a command-line flag.
pub fn cli_arg_id(name: &str) -> Option<String> {
    CLI_NAMES.contains(&name).then(|| name.replace('-', "_"))
}

/// Sets the command-line field of option `name` from its canonical text; false when the
/// option is not a command-line flag (a registry parameter only).
pub fn set_cli_field(cli: &mut Cli, name: &str, text: &str) -> Result<bool, String> {
    fn num<T: std::str::FromStr>(text: &str) -> Result<T, String> {
        text.parse()
            .map_err(|_| format!("'{text}' is out of range for this platform"))
    }
    let owned = || text.to_string();
    match name {
        "bind" => {
            cli.bind = text
                .parse()
                .map_err(|_| format!("'{text}' is not an IP address"))?;
        }
        "port" => cli.port = num(text)?,
        "databases" => cli.databases = num(text)?,
        "requirepass" => cli.requirepass = Some(owned()),
        "dir" => cli.dir = PathBuf::from(text),
        "appendonly" => cli.appendonly = owned(),
        "appendfsync" => cli.appendfsync = owned(),
        "aof-load-truncated" => cli.aof_load_truncated = owned(),
        "proto-max-bulk-len" => cli.proto_max_bulk_len = num(text)?,
        "client-query-buffer-limit" => cli.client_query_buffer_limit = num(text)?,
        "enable-debug-command" => cli.enable_debug_command = owned(),
        "key-load-delay" => cli.key_load_delay = num(text)?,
        "shards" => cli.shards = Some(num(text)?),
        "no-pin" => cli.no_pin = text == "yes",
        "log-level" => cli.log_level = owned(),
        "log-format" => cli.log_format = owned(),
        "mesh-channel-capacity" => cli.mesh_channel_capacity = num(text)?,
        "spin-before-park-us" => cli.spin_before_park_us = num(text)?,
        "max-pipeline-batch" => cli.max_pipeline_batch = num(text)?,
        "aof-load-corrupt" => cli.aof_load_corrupt = owned(),
        "ws-port" => cli.ws_port = num(text)?,
        "ws-max-message-bytes" => cli.ws_max_message_bytes = num(text)?,
        "ws-abort" => cli.ws_abort = owned(),
        "ws-allowed-origins" => cli.ws_allowed_origins = owned(),
        "ws-ping-interval-ms" => cli.ws_ping_interval_ms = num(text)?,
        "ws-pong-timeout-ms" => cli.ws_pong_timeout_ms = num(text)?,
        "ws-handshake-timeout-ms" => cli.ws_handshake_timeout_ms = num(text)?,
        "ws-max-output-bytes" => cli.ws_max_output_bytes = num(text)?,
        "rwa-allow-channels" => {
            cli.rwa_allow_channels = text.split_whitespace().map(String::from).collect();
        }
        "rwa-read-timeout-ms" => cli.rwa_read_timeout_ms = num(text)?,
        "rwa-keep-alive-timeout-ms" => cli.rwa_keep_alive_timeout_ms = num(text)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The current values of [`OWN_OPTIONS`], in its order, as the file spells them.
pub fn own_options_text(cli: &Cli) -> Vec<(&'static str, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    vec![
        (
            "shards",
            cli.shards.map(|n| n.to_string()).unwrap_or_default(),
        ),
        ("no-pin", yes_no(cli.no_pin)),
        ("log-level", cli.log_level.clone()),
        ("log-format", cli.log_format.clone()),
        (
            "mesh-channel-capacity",
            cli.mesh_channel_capacity.to_string(),
        ),
        ("spin-before-park-us", cli.spin_before_park_us.to_string()),
        ("max-pipeline-batch", cli.max_pipeline_batch.to_string()),
        ("aof-load-corrupt", cli.aof_load_corrupt.clone()),
    ]
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;

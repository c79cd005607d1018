//! COMMAND and its subcommands, generated from the command table.

use bytes::Bytes;

use crate::commands::spec::{CommandSpec, flag};
use crate::commands::{all, count, lookup};
use crate::core::Core;
use crate::protocol::Reply;
use crate::util::glob::glob_match;

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn status(s: &str) -> Reply {
    Reply::Status(Bytes::copy_from_slice(s.as_bytes()))
}

/// The access flags of a command's keys, as key specs and GETKEYSANDFLAGS show them.
///
/// The spec table holds one legacy (first, last, step) range per command, not Redis's
/// per-key flags, so every key of a write command reads `RW update` and every other key
/// `RO access`.
fn key_flags(spec: &CommandSpec) -> Vec<Reply> {
    if spec.is_write() {
        vec![status("RW"), status("update")]
    } else {
        vec![status("RO"), status("access")]
    }
}

/// The key specification Redis 7 derives from a legacy (first, last, step) triple.
fn key_specs(spec: &CommandSpec) -> Vec<Reply> {
    if spec.first_key <= 0 {
        return Vec::new();
    }
    let lastkey = if spec.last_key < 0 {
        spec.last_key as i64
    } else {
        (spec.last_key - spec.first_key) as i64
    };
    vec![Reply::Map(vec![
        (bulk("flags"), Reply::Set(key_flags(spec))),
        (
            bulk("begin_search"),
            Reply::Map(vec![
                (bulk("type"), bulk("index")),
                (
                    bulk("spec"),
                    Reply::Map(vec![(bulk("index"), Reply::Integer(spec.first_key as i64))]),
                ),
            ]),
        ),
        (
            bulk("find_keys"),
            Reply::Map(vec![
                (bulk("type"), bulk("range")),
                (
                    bulk("spec"),
                    Reply::Map(vec![
                        (bulk("lastkey"), Reply::Integer(lastkey)),
                        (bulk("keystep"), Reply::Integer(spec.key_step as i64)),
                        (bulk("limit"), Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// One `COMMAND INFO` entry, in Redis 7's ten-field shape.
fn info_entry(spec: &CommandSpec) -> Reply {
    let flags = flag::NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f))
        .map(|(_, n)| status(n))
        .collect();
    let acl = spec.acl.iter().map(|c| status(&format!("@{c}"))).collect();
    Reply::Array(vec![
        bulk(spec.name),
        Reply::Integer(spec.arity as i64),
        Reply::Set(flags),
        Reply::Integer(spec.first_key as i64),
        Reply::Integer(spec.last_key as i64),
        Reply::Integer(spec.key_step as i64),
        Reply::Set(acl),
        Reply::Set(vec![]),
        Reply::Set(key_specs(spec)),
        Reply::Set(vec![]),
    ])
}

fn docs_entry(spec: &CommandSpec) -> Reply {
    let mut fields = vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(spec.group)),
    ];
    // Redis leaves the field out for commands without one (MONITOR).
    if !spec.complexity.is_empty() {
        fields.push((bulk("complexity"), bulk(spec.complexity)));
    }
    Reply::Map(fields)
}

fn arity_err(sub: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for 'command|{sub}' command"
    ))
}

pub fn command(_core: &Core, args: &[Bytes]) -> Reply {
    if args.len() == 1 {
        return Reply::Array(all().map(info_entry).collect());
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" if args.len() == 2 => Reply::Integer(count() as i64),
        "info" => {
            if args.len() == 2 {
                return Reply::Array(all().map(info_entry).collect());
            }
            Reply::Array(
                args[2..]
                    .iter()
                    .map(|n| lookup(n).map_or(Reply::Nil, info_entry))
                    .collect(),
            )
        }
        "docs" => {
            let specs: Vec<&CommandSpec> = if args.len() == 2 {
                all().collect()
            } else {
                args[2..].iter().filter_map(|n| lookup(n)).collect()
            };
            Reply::Map(
                specs
                    .into_iter()
                    .map(|s| (bulk(s.name), docs_entry(s)))
                    .collect(),
            )
        }
        "getkeys" | "getkeysandflags" => {
            // COMMAND GETKEYS <command> <arg...>: Redis's arity is -4.
            if args.len() < 4 {
                return arity_err(&sub);
            }
            getkeys(&args[2..], sub == "getkeysandflags")
        }
        "list" => list(&args[2..]),
        "help" if args.len() == 2 => Reply::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|l| status(l))
            .collect(),
        ),
        "count" | "help" => arity_err(&sub),
        _ => Reply::error(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS, with Redis's order of checks: unknown command, a
/// command without keys, then the arity of the command given.
fn getkeys(cmd: &[Bytes], with_flags: bool) -> Reply {
    let Some(spec) = lookup(&cmd[0]) else {
        return Reply::error("ERR Invalid command specified");
    };
    if spec.first_key <= 0 && spec.keys_fn.is_none() {
        return Reply::error("ERR The command has no key arguments");
    }
    if !spec.arity_ok(cmd.len()) {
        return Reply::error("ERR Invalid number of arguments specified for command");
    }
    let positions: Vec<usize> = spec.keys(cmd).collect();
    if positions.is_empty() && spec.keys_fn.is_some() {
        return Reply::error("ERR Invalid arguments specified for command");
    }
    let keys = positions.into_iter().map(|i| Reply::Bulk(cmd[i].clone()));
    if with_flags {
        Reply::Array(
            keys.map(|key| Reply::Array(vec![key, Reply::Set(key_flags(spec))]))
                .collect(),
        )
    } else {
        Reply::Array(keys.collect())
    }
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
fn list(opts: &[Bytes]) -> Reply {
    let names = all().map(|s| s.name);
    let filtered: Vec<&str> = match opts {
        [] => names.collect(),
        [f, kind, v] if f.eq_ignore_ascii_case(b"FILTERBY") => {
            if kind.eq_ignore_ascii_case(b"MODULE") {
                Vec::new()
            } else if kind.eq_ignore_ascii_case(b"ACLCAT") {
                let cat = String::from_utf8_lossy(v).to_ascii_lowercase();
                all()
                    .filter(|s| s.acl.contains(&cat.as_str()))
                    .map(|s| s.name)
                    .collect()
            } else if kind.eq_ignore_ascii_case(b"PATTERN") {
                names
                    .filter(|n| glob_match(v, n.as_bytes(), true))
                    .collect()
            } else {
                return Reply::error("ERR syntax error");
            }
        }
        _ => return Reply::error("ERR syntax error"),
    };
    Reply::Array(filtered.into_iter().map(bulk).collect())
}

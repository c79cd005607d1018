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
    let flags = if spec.is_write() {
        vec![status("RW"), status("update")]
    } else {
        vec![status("RO"), status("access")]
    };
    vec![Reply::Map(vec![
        (bulk("flags"), Reply::Set(flags)),
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
    Reply::Map(vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(spec.group)),
        (bulk("complexity"), bulk(spec.complexity)),
    ])
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
                    .map(|n| lookup(n).map_or(Reply::NilArray, info_entry))
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
        "getkeys" => {
            if args.len() < 3 {
                return arity_err("getkeys");
            }
            getkeys(&args[2..])
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
                "HELP",
                "    Print this help.",
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

fn getkeys(cmd: &[Bytes]) -> Reply {
    let Some(spec) = lookup(&cmd[0]) else {
        return Reply::error("ERR Invalid command specified");
    };
    if !spec.arity_ok(cmd.len()) {
        return Reply::error("ERR Invalid number of arguments specified for command");
    }
    let keys: Vec<Reply> = spec
        .key_indices(cmd.len())
        .map(|i| Reply::Bulk(cmd[i].clone()))
        .collect();
    if keys.is_empty() {
        return Reply::error("ERR The command has no key arguments");
    }
    Reply::Array(keys)
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

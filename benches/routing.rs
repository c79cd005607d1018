//! Routing: from a request's arguments to the shard that owns its keys.
//!
//! - `key_slot` (CRC16 XMODEM with hash tags, `shard/slot.rs`) and `shard_for_key` (slot →
//!   contiguous shard range, `shard/mod.rs`) over 1024 distinct keys in turn.
//! - `commands::lookup`: the command table, case-insensitive, without allocating.
//! - "route": the steps `commands::dispatch` takes for a keyed request before it joins a
//!   shard's batch (look the name up, check arity, walk the spec's key positions, map each key
//!   to its shard). `dispatch::route` itself needs a per-core context (session, auth, MULTI
//!   state), so the bench repeats exactly those public calls instead; it leaves out the session
//!   checks (a few branches).
//!
//! `cargo bench --bench routing [-- FILTER]`.

mod common;

use bytes::Bytes;
use common::{PerOp, Run, Table};
use corekv::commands;
use corekv::shard::shard_for_key;
use corekv::shard::slot::key_slot;

/// Distinct keys the cases cycle through, so one key's branch pattern is not all they see.
const KEYS: usize = 1024;
/// Shards in the routing cases (any count costs the same: one multiply and one divide).
const NR_SHARDS: usize = 4;

fn main() {
    let run = Run::start(
        "routing",
        "key → slot → shard, command lookup, request routing",
    );
    check_known_answers();
    let mut table = Table::new("Routing (per call)", &PerOp::HEADERS);
    slot_cases(&run, &mut table);
    lookup_cases(&run, &mut table);
    route_cases(&run, &mut table);
    table.print();
}

/// Redis's answers (CLUSTER KEYSLOT), so a routing change that would move keys fails here too.
fn check_known_answers() {
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    assert_eq!(shard_for_key(b"foo", 4), 12182 * 4 / 16384);
    let get = commands::lookup(b"GeT").expect("GET is registered");
    assert_eq!(get.name, "get");
    assert!(commands::lookup(b"nosuchcommand").is_none());
}

fn keys(shape: impl Fn(usize) -> String) -> Vec<Bytes> {
    (0..KEYS).map(|i| Bytes::from(shape(i))).collect()
}

/// An index that walks 0..KEYS.
fn cycle() -> impl FnMut() -> usize {
    let mut i = 0;
    move || {
        i = (i + 1) % KEYS;
        i
    }
}

fn slot_cases(run: &Run, table: &mut Table) {
    let short = keys(|i| format!("key:{i:06}"));
    let long = keys(|i| format!("user:profile:{i:08}:settings:notifications"));
    let tagged = keys(|i| format!("{{user{i}}}.following"));
    let cases: [(&str, &[Bytes]); 3] = [
        ("key_slot, 10 B key", &short),
        ("key_slot, 43 B key", &long),
        ("key_slot, hash tag {userN}.following", &tagged),
    ];
    for (name, keys) in cases {
        if run.wants(name) {
            let mut next = cycle();
            let t = run.per_op(|| key_slot(&keys[next()]));
            table.push(t.row(name, 1));
        }
    }
    let name = "shard_for_key, 10 B key, 4 shards";
    if run.wants(name) {
        let mut next = cycle();
        let t = run.per_op(|| shard_for_key(&short[next()], NR_SHARDS));
        table.push(t.row(name, 1));
    }
}

fn lookup_cases(run: &Run, table: &mut Table) {
    let cases: [(&str, &[u8]); 4] = [
        ("lookup GET (upper case)", b"GET"),
        ("lookup get (lower case)", b"get"),
        ("lookup ZRANGEBYSCORE", b"ZRANGEBYSCORE"),
        ("lookup unknown command", b"NOSUCHCMD"),
    ];
    for (name, cmd) in cases {
        if run.wants(name) {
            let cmd = Bytes::from_static(cmd);
            let t = run.per_op(|| commands::lookup(std::hint::black_box(&cmd)).is_some());
            table.push(t.row(name, 1));
        }
    }
}

/// The shard of every key of `args`, as dispatch computes it: `None` when the keys span
/// shards (dispatch then splits the command or coordinates it).
fn route(args: &[Bytes]) -> Option<usize> {
    let spec = commands::lookup(&args[0])?;
    if !spec.arity_ok(args.len()) {
        return None;
    }
    let mut shards = spec.keys(args).map(|i| shard_for_key(&args[i], NR_SHARDS));
    let first = shards.next()?;
    shards.all(|s| s == first).then_some(first)
}

fn route_cases(run: &Run, table: &mut Table) {
    let gets: Vec<Vec<Bytes>> = (0..KEYS)
        .map(|i| {
            vec![
                Bytes::from_static(b"GET"),
                Bytes::from(format!("key:{i:06}")),
            ]
        })
        .collect();
    let value = Bytes::from(vec![b'v'; 16]);
    let msets: Vec<Vec<Bytes>> = (0..KEYS)
        .map(|i| {
            let mut args = vec![Bytes::from_static(b"MSET")];
            for k in 0..10 {
                args.push(Bytes::from(format!("{{order{i}}}:field{k}")));
                args.push(value.clone());
            }
            args
        })
        .collect();
    // Every MSET's keys share a hash tag, so each routes to one shard (no split).
    assert!(msets.iter().all(|a| route(a).is_some()));
    assert_eq!(
        route(&gets[7]),
        Some(shard_for_key(b"key:000007", NR_SHARDS))
    );
    let cases: [(&str, &[Vec<Bytes>]); 2] = [
        ("route GET key", &gets),
        ("route MSET 10 keys, one hash tag", &msets),
    ];
    for (name, reqs) in cases {
        if run.wants(name) {
            let mut next = cycle();
            let t = run.per_op(|| route(&reqs[next()]));
            table.push(t.row(name, 1));
        }
    }
}

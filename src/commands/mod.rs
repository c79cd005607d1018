//! Commands: the table (data), the pipeline dispatcher, and one module per family.
//!
//! Request path: `net` hands parsed requests to [`dispatch`], which looks each name up in the
//! table exactly once ([`lookup`]), checks arity and auth, and routes by the spec's key
//! positions: shard functions go to the owning shard (batched per shard), coordinated
//! commands run in [`coord`]. Families (`strings`, `keys`, `connection`, `server`) each declare
//! their commands as a `SPECS` slice next to their code.

pub mod blocking;
pub mod collection;
pub mod connection;
pub mod coord;
pub mod dispatch;
pub mod exec;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod monitor;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod spec;
pub mod stats;
pub mod strings;
pub mod transactions;
pub mod zsets;

use std::sync::OnceLock;

pub use spec::CommandSpec;

/// Every family's specs, in `COMMAND` order.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    [
        strings::SPECS,
        keys::SPECS,
        hashes::SPECS,
        lists::SPECS,
        zsets::SPECS,
        sets::SPECS,
        connection::SPECS,
        server::SPECS,
        transactions::SPECS,
        pubsub::SPECS,
    ]
    .into_iter()
    .flatten()
}

/// Longest command name we look up; longer names cannot match and skip the table.
const MAX_NAME_LEN: usize = 32;

/// Name -> spec, hashed with the cheap [`stats::NameHasher`]: every request looks its
/// command up here, and names are short.
type Table = std::collections::HashMap<
    &'static [u8],
    &'static CommandSpec,
    std::hash::BuildHasherDefault<stats::NameHasher>,
>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| all().map(|s| (s.name.as_bytes(), s)).collect())
}

/// Finds a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&lower[..]).copied()
}

/// Number of registered commands (COMMAND COUNT).
pub fn count() -> usize {
    table().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for s in all() {
            assert!(names.insert(s.name), "duplicate command {}", s.name);
            assert_eq!(s.name, s.name.to_lowercase(), "names are lower-case");
            assert!(s.arity != 0, "{} has arity 0", s.name);
            assert!(!s.summary.is_empty(), "{} has no summary", s.name);
            assert!(!s.acl.is_empty(), "{} has no ACL categories", s.name);
            if s.first_key > 0 {
                assert!(s.key_step >= 1, "{} key step", s.name);
            }
        }
        assert_eq!(count(), names.len());
        assert!(lookup(b"GeT").is_some());
        assert!(lookup(b"nosuchcommand").is_none());
    }
}

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

use std::cell::Cell;
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

/// Names up to this long are remembered per thread as the client spelled them.
const CACHED_NAME_LEN: usize = 16;
/// Slots of the per-thread name cache (a power of two).
const CACHE_SLOTS: usize = 8;

/// A command name as a client spelled it (zero-padded), and what it names.
#[derive(Clone, Copy)]
struct CachedName {
    name: [u8; CACHED_NAME_LEN],
    len: u8,
    spec: Option<&'static CommandSpec>,
}

thread_local! {
    /// Direct-mapped: a client sends the same few names in the same case over and over, and
    /// comparing 16 bytes is a fraction of lower-casing, hashing and probing the table.
    static NAME_CACHE: [Cell<CachedName>; CACHE_SLOTS] = const {
        [const {
            Cell::new(CachedName {
                name: [0; CACHED_NAME_LEN],
                len: 0,
                spec: None,
            })
        }; CACHE_SLOTS]
    };
}

/// Finds a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.is_empty() || name.len() > CACHED_NAME_LEN {
        return lookup_table(name);
    }
    let mut key = [0u8; CACHED_NAME_LEN];
    key[..name.len()].copy_from_slice(name);
    let slot =
        (name.len() ^ usize::from(name[0]) ^ usize::from(name[name.len() - 1])) & (CACHE_SLOTS - 1);
    NAME_CACHE.with(|cache| {
        let hit = cache[slot].get();
        if usize::from(hit.len) == name.len() && hit.name == key && hit.spec.is_some() {
            return hit.spec;
        }
        let spec = lookup_table(name);
        if spec.is_some() {
            cache[slot].set(CachedName {
                name: key,
                len: name.len() as u8,
                spec,
            });
        }
        spec
    })
}

/// [`lookup`] in the table itself.
fn lookup_table(name: &[u8]) -> Option<&'static CommandSpec> {
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
    fn lookup_through_the_name_cache_matches_the_table_in_any_case() {
        for spec in all() {
            let lower = spec.name.as_bytes().to_vec();
            let upper = spec.name.to_uppercase().into_bytes();
            let mixed: Vec<u8> = lower
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if i % 2 == 0 {
                        b.to_ascii_uppercase()
                    } else {
                        *b
                    }
                })
                .collect();
            for name in [&lower, &upper, &mixed, &lower] {
                let found = lookup(name).map(|s| s.name);
                assert_eq!(found, Some(spec.name), "{}", String::from_utf8_lossy(name));
            }
        }
        // Names that share a slot and a length with cached ones, and unknown names, miss.
        assert!(lookup(b"get").is_some());
        assert!(lookup(b"gex").is_none());
        assert!(lookup(b"gEt").is_some_and(|s| s.name == "get"));
        assert!(lookup(b"").is_none());
        assert!(lookup(b"get\0").is_none());
        assert!(lookup(&[b'x'; 40]).is_none());
    }

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

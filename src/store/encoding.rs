//! The thresholds that choose a collection's encoding (`hash-max-listpack-entries` and
//! friends), as this core sees them.
//!
//! They are configuration, not data: every core holds its own copy, set at boot and by
//! CONFIG SET on every core (`apply`), and read by the store on the same thread without
//! passing a config handle through every operation.

use std::cell::Cell;

use crate::config::params::Params;

/// Redis 7.0's compiled-in defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// Redis's `list-max-listpack-size`: positive = entries per node, -1..-5 = 4..64 KiB.
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl Limits {
    /// Bytes a list node may hold for a negative `list-max-listpack-size` (Redis's
    /// `optimization_level`), or `None` when the size is an entry count.
    pub fn list_node_bytes(&self) -> Option<usize> {
        match self.list_max_listpack_size {
            n if n >= 0 => None,
            -1 => Some(4096),
            -2 => Some(8192),
            -3 => Some(16384),
            -4 => Some(32768),
            _ => Some(65536),
        }
    }

    /// Entries a list node may hold when the size is a count (at least 1).
    pub fn list_node_entries(&self) -> usize {
        self.list_max_listpack_size.max(1) as usize
    }
}

thread_local! {
    static LIMITS: Cell<Limits> = Cell::new(Limits::default());
}

/// This core's thresholds.
pub fn limits() -> Limits {
    LIMITS.with(Cell::get)
}

/// Sets this core's thresholds (tests and boot).
pub fn set_limits(l: Limits) {
    LIMITS.with(|c| c.set(l));
}

/// Reads the thresholds from `params` into this core's copy.
pub fn apply(params: &Params) {
    let size = |name: &str| usize::try_from(params.int(name)).unwrap_or(usize::MAX);
    set_limits(Limits {
        hash_max_listpack_entries: size("hash-max-listpack-entries"),
        hash_max_listpack_value: size("hash-max-listpack-value"),
        list_max_listpack_size: params.int("list-max-listpack-size"),
        set_max_intset_entries: size("set-max-intset-entries"),
        zset_max_listpack_entries: size("zset-max-listpack-entries"),
        zset_max_listpack_value: size("zset-max-listpack-value"),
    });
}

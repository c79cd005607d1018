//! Sockets: the per-core RESP listener and connection loop. Nothing here reads or writes a
//! shard's data; requests go to `commands::dispatch`.

pub mod conn;
pub mod listener;

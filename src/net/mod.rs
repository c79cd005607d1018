//! Sockets: the per-core RESP and WebSocket listeners and connection loops. Nothing here reads
//! or writes a shard's data; requests go to `commands::dispatch`.

pub mod conn;
pub mod listener;
pub mod poller;
pub mod ws;

//! corekv: a thread-per-core, shared-nothing, Redis-compatible key-value server.
//!
//! # Module map
//! - [`config`]: CLI options, the validated [`config::Config`], and the CONFIG parameter registry.
//! - [`server`]: boot (one glommio executor per shard) and shutdown.
//! - [`net`]: listeners (SO_REUSEPORT on every core), the RESP connection loop, and the
//!   WebSocket interface (`net::ws`: handshake, both JSON dialects, binary RESP, ABORT).
//! - [`protocol`]: RESP request parsing and reply encoding, the WebSocket text tokenizer,
//!   envelope requests and JSON replies; pure, no I/O.
//! - [`commands`]: the command table (data), the pipeline dispatcher, one module per family.
//! - [`shard`]: the only owner of mutable data; key → shard routing; the cross-core router.
//! - [`store`]: a shard's databases: the dict with incremental rehash, values, expiry.
//! - [`persistence`]: the per-shard append-only log: record format, manifest, recovery,
//!   rewrite, `check-log`, behind a narrow `Storage` trait (io_uring in the server, in-memory
//!   with crash injection in tests). Format in docs/PERSISTENCE.md.
//! - [`aof`]: the log in the server: what is logged, when a reply may leave (group commit),
//!   loading and re-sharding at start, rewrites, disk errors.
//! - [`pubsub`]: channels, patterns and shard channels across cores; subscriber outboxes.
//! - [`core`]: per-core context (router, connections, runtime parameters).
//! - [`geo`]: GeoJSON bounding-box filters and CRS projection for the `/rwa` WebSocket
//!   dialect (pure).
//! - [`ops`]: running as a service: systemd's notify protocol.
//! - [`metrics`]: allocated bytes, RSS, CPU time.
//! - [`util`]: glob matching, integer parsing, a oneshot, a PRNG.
//!
//! docs/ARCHITECTURE.md describes the design and its invariants.

pub mod aof;
pub mod commands;
pub mod config;
pub mod core;
pub mod geo;
pub mod metrics;
pub mod net;
pub mod ops;
pub mod persistence;
pub mod protocol;
pub mod pubsub;
pub mod server;
pub mod shard;
pub mod store;
pub mod util;

/// The Redis version corekv reports (INFO, HELLO): clients gate features on it, and corekv
/// implements Redis 7.0's command semantics.
pub const REDIS_VERSION: &str = "7.0.15";

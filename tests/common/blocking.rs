//! Helpers for tests of blocking commands: INFO's blocked_clients, waiting for it, and
//! sending a command whose reply is read later.

use std::time::{Duration, Instant};

use crate::common::{Raw, info_fields};

/// INFO clients' `blocked_clients`.
pub fn blocked(r: &mut Raw) -> usize {
    info_fields(r, "clients")["blocked_clients"]
        .parse()
        .unwrap()
}

/// Waits (bounded) until INFO reports `n` blocked clients.
pub fn wait_blocked(r: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked(r) != n {
        assert!(
            Instant::now() < deadline,
            "blocked_clients never reached {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends one command without reading its reply.
pub fn send(r: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    r.cmd(&a);
}

/// Reads one reply as text.
pub fn reply(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

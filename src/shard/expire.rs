//! Active expiry and housekeeping, per shard.
//!
//! Redis's activeExpireCycle, adapted to a shard that must never stall its clients: every
//! `1000/hz` ms the shard samples 20 keys with a deadline per database, drops the expired
//! ones, and repeats while more than 10% of a sample was expired — in slices of at most
//! [`SLICE_US`] with a yield between them, and at most 25% of the tick in total. Lazy expiry on
//! access covers whatever the sampling has not reached yet, so no client ever reads an expired
//! key. The same tick advances incremental rehashing so idle tables finish resizing.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::shard::Shard;

/// Keys sampled per database per round (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
pub const KEYS_PER_LOOP: usize = 20;
/// Keep sampling a database while more than this percentage of a sample was expired.
pub const ACCEPTABLE_STALE_PERC: usize = 10;
/// Longest stretch of expiry work before yielding to clients.
pub const SLICE_US: u64 = 250;
/// Buckets moved per database per tick by the background rehash step.
pub const REHASH_STEPS: usize = 100;

/// One slice of active expiry over every database. Returns true if more work remains.
pub fn expire_slice(shard: &mut Shard) -> bool {
    let started = Instant::now();
    let now = crate::util::now_ms();
    let mut more = false;
    let notifying = shard.notify_flags & crate::pubsub::notify::EXPIRED != 0;
    let mut expired_keys: Vec<(usize, bytes::Bytes)> = Vec::new();
    let Shard {
        dbs, rng, stats, ..
    } = shard;
    let mut rand = || rng.next_u64();
    for (i, db) in dbs.iter_mut().enumerate() {
        loop {
            if db.expires_len() == 0 {
                break;
            }
            let mut keys = Vec::new();
            let (sampled, expired) = db.expire_sample_into(
                KEYS_PER_LOOP,
                now,
                &mut rand,
                notifying.then_some(&mut keys),
            );
            expired_keys.extend(keys.into_iter().map(|k| (i, k)));
            stats.expired_keys += expired as u64;
            if sampled == 0 || expired * 100 <= sampled * ACCEPTABLE_STALE_PERC {
                break;
            }
            if started.elapsed().as_micros() as u64 >= SLICE_US {
                more = true;
                break;
            }
        }
    }
    stats.expire_cycle_cpu_us += started.elapsed().as_micros() as u64;
    for (db, key) in expired_keys {
        crate::pubsub::notify::notify(shard, crate::pubsub::notify::EXPIRED, "expired", &key, db);
    }
    more
}

/// Runs until `stop()` says so: expiry slices and rehash steps every tick.
pub async fn run(shard: Rc<RefCell<Shard>>, hz: impl Fn() -> u64, stop: impl Fn() -> bool) {
    loop {
        let tick = Duration::from_millis(1000 / hz().clamp(1, 500));
        glommio::timer::sleep(tick).await;
        if stop() {
            return;
        }
        let budget = tick / 4;
        let started = Instant::now();
        loop {
            let more = {
                let mut s = shard.borrow_mut();
                for db in s.dbs.iter_mut() {
                    db.rehash_steps(REHASH_STEPS);
                }
                s.active_expire && expire_slice(&mut s)
            };
            if !more || started.elapsed() >= budget {
                break;
            }
            glommio::yield_if_needed().await;
            glommio::timer::sleep(Duration::from_micros(50)).await;
        }
    }
}

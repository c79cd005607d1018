//! The generic-key commands that see several shards: KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX,
//! COPY. Each runs on the connection's core and reaches shards through the router; what a
//! client can observe while they run is in docs/ARCHITECTURE.md.

use bytes::Bytes;

use super::*;

/// Live keys of `db` on `shard` matching `pattern` (None = all), skipping expired ones.
fn matching_keys(shard: &Shard, db: usize, pattern: &[u8], now: u64) -> Vec<Bytes> {
    let d = &shard.dbs[db];
    let all = pattern == b"*";
    d.keys()
        .iter()
        .filter(|(k, _)| all || glob_match(pattern, k, false))
        .filter(|(k, _)| d.expires().get(&k[..]).is_none_or(|&at| at > now))
        .map(|(k, _)| k.clone())
        .collect()
}

pub async fn keys(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let pattern = args[1].clone();
    let parts = core
        .router
        .run_on_all(move |shard| matching_keys(shard, db, &pattern, crate::util::now_ms()))
        .await;
    Reply::Array(
        parts
            .into_iter()
            .flatten()
            .flatten()
            .map(Reply::Bulk)
            .collect(),
    )
}

/// What one SCAN step on one shard produced.
struct ScanStep {
    /// The shard's next inner cursor; 0 when the shard is done.
    next: u64,
    keys: Vec<Bytes>,
    /// Keys visited before filtering: Redis stops a call after COUNT of them.
    visited: usize,
}

/// One SCAN step on one shard, as Redis's `scanGenericCommand` does it: visit buckets until
/// `count` keys were seen (or 10×count buckets), then filter by pattern, then by type (a read
/// lookup per key, counted as a hit), then drop keys past their deadline, deleting them.
fn scan_shard(
    shard: &mut Shard,
    db: usize,
    mut cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    type_name: Option<&[u8]>,
) -> ScanStep {
    let now = crate::util::now_ms();
    let mut seen: Vec<(Bytes, &'static str)> = Vec::new();
    let d = &shard.dbs[db];
    let mut budget = count.saturating_mul(10).max(1);
    loop {
        cursor = d
            .keys()
            .scan(cursor, |k, v| seen.push((k.clone(), v.type_name())));
        budget -= 1;
        if cursor == 0 || budget == 0 || seen.len() >= count {
            break;
        }
    }
    let visited = seen.len();
    let mut keys = Vec::with_capacity(seen.len());
    for (k, type_of) in seen {
        if pattern.is_some_and(|p| !glob_match(p, &k, false)) {
            continue;
        }
        let expired = shard.dbs[db]
            .expires()
            .get(&k[..])
            .is_some_and(|&at| at <= now);
        if expired {
            shard.dbs[db].remove(&k);
            shard.stats.expired_keys += 1;
        }
        if let Some(t) = type_name {
            if expired {
                shard.stats.keyspace_misses += 1;
            } else {
                shard.stats.keyspace_hits += 1;
            }
            if !t.eq_ignore_ascii_case(type_of.as_bytes()) {
                continue;
            }
        }
        if !expired {
            keys.push(k);
        }
    }
    ScanStep {
        next: cursor,
        keys,
        visited,
    }
}

/// A SCAN cursor read as Redis reads it, with `strtoul` on the argument as a C string: an
/// optional sign (a negative value wraps), digits that fit in 64 bits, nothing else; the empty
/// string is cursor 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let text = c_str(arg);
    if text.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor packs the shard in its
/// low part: `inner * nr_shards + shard`. A call scans from the cursor's shard; when that shard
/// is done and fewer than COUNT keys were visited, it goes on with the next shard, so a small
/// keyspace comes back in one call with cursor 0, as from Redis.
pub async fn scan(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let Some(cursor) = parse_cursor(&args[1]) else {
        return Reply::error("ERR invalid cursor");
    };
    let mut count = 10usize;
    let mut pattern: Option<Bytes> = None;
    let mut type_name: Option<Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let has = i + 1 < args.len();
        let opt = c_str(&args[i]);
        if opt.eq_ignore_ascii_case(b"COUNT") && has {
            match parse_i64(&args[i + 1]) {
                Some(c) if c >= 1 => count = usize::try_from(c).unwrap_or(usize::MAX),
                Some(_) => return syntax_error(),
                None => return not_integer(),
            }
        } else if opt.eq_ignore_ascii_case(b"MATCH") && has {
            pattern = Some(args[i + 1].clone()).filter(|p| &p[..] != b"*");
        } else if opt.eq_ignore_ascii_case(b"TYPE") && has {
            type_name = Some(Bytes::copy_from_slice(c_str(&args[i + 1])));
        } else {
            return syntax_error();
        }
        i += 2;
    }
    let n = core.nr_shards() as u64;
    let (mut shard, mut inner) = (cursor % n, cursor / n);
    let mut keys = Vec::new();
    let mut visited = 0usize;
    let next = loop {
        let (pattern, type_name) = (pattern.clone(), type_name.clone());
        let want = count.saturating_sub(visited).max(1);
        let step = core
            .router
            .run_on(shard as usize, move |s| {
                scan_shard(s, db, inner, want, pattern.as_deref(), type_name.as_deref())
            })
            .await;
        let Some(step) = step else {
            return Reply::error("ERR shard unavailable");
        };
        keys.extend(step.keys);
        visited += step.visited;
        if step.next != 0 {
            // Inner cursors stay below the shard's table size, so this cannot overflow.
            break step.next.saturating_mul(n).saturating_add(shard);
        }
        if shard + 1 == n {
            break 0;
        }
        (shard, inner) = (shard + 1, 0);
        if visited >= count {
            break shard;
        }
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}

/// RANDOMKEY: each shard offers its size and one random live key; one is picked with
/// probability proportional to the shard's size. Keys found past their deadline on the way
/// are deleted and counted as expired, as Redis's `dbRandomKey` does.
pub async fn randomkey(core: &Core, db: usize) -> Reply {
    let offers = core
        .router
        .run_on_all(move |shard| {
            let now = crate::util::now_ms();
            let len = shard.dbs[db].len();
            let mut key = None;
            // A few tries to step over keys that are already past their deadline.
            for _ in 0..8 {
                let rng = &mut shard.rng;
                let mut rand = || rng.next_u64();
                let picked = shard.dbs[db]
                    .keys()
                    .random_entry(&mut rand)
                    .map(|(k, _)| k.clone());
                match picked {
                    Some(k)
                        if shard.dbs[db]
                            .expires()
                            .get(&k[..])
                            .is_some_and(|&at| at <= now) =>
                    {
                        shard.dbs[db].remove(&k);
                        shard.stats.expired_keys += 1;
                    }
                    other => {
                        key = other;
                        break;
                    }
                }
            }
            (len, key)
        })
        .await;
    let offers: Vec<(usize, Bytes)> = offers
        .into_iter()
        .flatten()
        .filter_map(|(len, k)| k.map(|k| (len, k)))
        .collect();
    let total: usize = offers.iter().map(|(l, _)| *l).sum();
    if total == 0 {
        return Reply::Nil;
    }
    let mut pick = (core.router.local().borrow_mut().rng.next_u64() % total as u64) as usize;
    for (len, k) in offers {
        if pick < len {
            return Reply::Bulk(k);
        }
        pick -= len;
    }
    Reply::Nil
}

/// Where RENAME's first step found the source.
enum Taken {
    NoSuchKey,
    /// RENAMENX with an existing destination (same shard only).
    DestinationExists,
    Moved,
}

/// RENAME / RENAMENX. Same shard: one atomic step there. Different shards: take the value
/// from the source shard, then store it on the destination shard; RENAMENX puts the value
/// back if the destination appeared in between (docs/ARCHITECTURE.md, multi-shard commands).
/// Every lookup goes through [`ExecCtx`] so lazy expiry counts like Redis's lookupKeyWrite.
pub async fn rename(core: &Core, db: usize, args: &[Bytes], nx: bool) -> Reply {
    let (src, dst) = (args[1].clone(), args[2].clone());
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let done = |moved: bool| {
        if nx {
            Reply::Integer(moved as i64)
        } else {
            Reply::ok()
        }
    };
    if ss == ds {
        let r = core
            .router
            .run_on(ss, move |shard| {
                shard.notify_cmd = Some("rename");
                let mut ctx = ExecCtx::new(shard, db);
                if !ctx.exists(&src) {
                    return Taken::NoSuchKey;
                }
                if src == dst {
                    return Taken::DestinationExists;
                }
                if ctx.exists(&dst) && nx {
                    return Taken::DestinationExists;
                }
                let now = ctx.now_ms;
                if let Some((v, at)) = ctx.db().take(&src, now) {
                    ctx.db().insert(&dst, v, at);
                }
                Taken::Moved
            })
            .await;
        return match r {
            Some(Taken::Moved) => done(true),
            Some(Taken::DestinationExists) => done(false),
            Some(Taken::NoSuchKey) => no_such_key(),
            None => Reply::error("ERR shard unavailable"),
        };
    }
    if nx {
        // Check first, so the usual refusal never hides the source between the two steps.
        let d2 = dst.clone();
        let dst_exists = core
            .router
            .run_on(ds, move |s| ExecCtx::new(s, db).exists(&d2))
            .await;
        match dst_exists {
            Some(false) => {}
            Some(true) => {
                let s2 = src.clone();
                let src_exists = core
                    .router
                    .run_on(ss, move |s| ExecCtx::new(s, db).exists(&s2))
                    .await;
                return if src_exists == Some(true) {
                    Reply::Integer(0)
                } else {
                    no_such_key()
                };
            }
            None => return Reply::error("ERR shard unavailable"),
        }
    }
    let s2 = src.clone();
    let taken = core
        .router
        .run_on(ss, move |s| {
            s.notify_cmd = Some("rename");
            let mut ctx = ExecCtx::new(s, db);
            if !ctx.exists(&s2) {
                return None;
            }
            let now = ctx.now_ms;
            ctx.db().take(&s2, now)
        })
        .await;
    let Some(Some((value, at))) = taken else {
        return no_such_key();
    };
    let placed = core
        .router
        .run_on(ds, move |s| {
            s.notify_cmd = Some("rename");
            let mut ctx = ExecCtx::new(s, db);
            if ctx.exists(&dst) && nx {
                return Some((value, at));
            }
            ctx.db().insert(&dst, value, at);
            None
        })
        .await;
    match placed {
        Some(None) => done(true),
        Some(Some((value, at))) => {
            // RENAMENX and the destination exists: give the source its value back.
            core.router
                .run_on(ss, move |s| {
                    s.notify_cmd = Some("restore-silently");
                    let mut ctx = ExecCtx::new(s, db);
                    if !ctx.exists(&src) {
                        ctx.db().insert(&src, value, at);
                    }
                })
                .await;
            Reply::Integer(0)
        }
        None => Reply::error("ERR shard unavailable"),
    }
}

fn no_such_key() -> Reply {
    Reply::error("ERR no such key")
}

/// COPY source destination [DB destination-db] [REPLACE]. The source is looked up for reading
/// (hits and misses count), the destination for writing, as in Redis's `copyCommand`.
pub async fn copy(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let mut dst_db = db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let opt = c_str(&args[i]);
        if opt.eq_ignore_ascii_case(b"REPLACE") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"DB") && i + 1 < args.len() {
            match parse_db_index(&args[i + 1], core.config.databases) {
                Ok(n) => dst_db = n,
                Err(e) => return e,
            }
            i += 1;
        } else {
            return syntax_error();
        }
        i += 1;
    }
    let (src, dst) = (args[1].clone(), args[2].clone());
    if src == dst && dst_db == db {
        return Reply::error("ERR source and destination objects are the same");
    }
    let n = core.nr_shards();
    let (ss, ds) = (shard_for_key(&src, n), shard_for_key(&dst, n));
    let read = move |s: &mut Shard| -> Option<(Value, Option<u64>)> {
        let mut ctx = ExecCtx::new(s, db);
        let v = ctx.read(&src)?.clone();
        let now = ctx.now_ms;
        let at = ctx.db().deadline(&src, now).flatten();
        Some((v, at))
    };
    let write = move |s: &mut Shard, v: Value, at: Option<u64>| -> bool {
        s.notify_cmd = Some("copy");
        let mut ctx = ExecCtx::new(s, dst_db);
        if ctx.exists(&dst) && !replace {
            return false;
        }
        ctx.db().insert(&dst, v, at);
        true
    };
    let done = if ss == ds {
        core.router
            .run_on(ss, move |s| match read(s) {
                Some((v, at)) => write(s, v, at),
                None => false,
            })
            .await
    } else {
        match core.router.run_on(ss, read).await.flatten() {
            Some((v, at)) => core.router.run_on(ds, move |s| write(s, v, at)).await,
            None => Some(false),
        }
    };
    Reply::Integer(done.unwrap_or(false) as i64)
}

//! The randomised tests of the hash family: a `BTreeMap` model and redis-server itself.

use super::*;

/// A small xorshift PRNG, so runs are reproducible from the seed in a failure message.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_commands_match_a_model() {
    let seed = 0x4a54_2026_u64;
    let server = Server::start(4, &[]);
    let mut c = server.raw();
    assert_eq!(
        c.q(&["CONFIG", "SET", "hash-max-listpack-entries", "8"]),
        OK
    );
    let mut rng = Rng(seed);
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for step in 0..3000 {
        let k = format!("k{}", rng.below(6));
        let f = format!("f{}", rng.below(12));
        let v = format!("{}", rng.below(50));
        let ctx = format!("seed {seed:#x} step {step}");
        match rng.below(9) {
            0 | 1 => {
                let new = m.entry(k.clone()).or_default().insert(f.clone(), v.clone());
                assert_eq!(
                    c.q(&["HSET", &k, &f, &v]),
                    int(new.is_none() as i64),
                    "{ctx}"
                );
            }
            2 => {
                let h = m.entry(k.clone()).or_default();
                let new = !h.contains_key(&f);
                if new {
                    h.insert(f.clone(), v.clone());
                }
                if h.is_empty() {
                    m.remove(&k);
                }
                assert_eq!(c.q(&["HSETNX", &k, &f, &v]), int(new as i64), "{ctx}");
            }
            3 => {
                let gone = m.get_mut(&k).is_some_and(|h| h.remove(&f).is_some());
                if m.get(&k).is_some_and(BTreeMap::is_empty) {
                    m.remove(&k);
                }
                assert_eq!(c.q(&["HDEL", &k, &f]), int(gone as i64), "{ctx}");
            }
            4 => {
                let want = m
                    .get(&k)
                    .and_then(|h| h.get(&f))
                    .map_or(NIL.to_string(), |v| bulk(v));
                assert_eq!(c.q(&["HGET", &k, &f]), want, "{ctx}");
            }
            5 => {
                let h = m.get(&k).cloned().unwrap_or_default();
                let flat: Vec<&str> = h
                    .iter()
                    .flat_map(|(f, v)| [f.as_str(), v.as_str()])
                    .collect();
                assert_eq!(
                    sorted(&c.q(&["HGETALL", &k]), 2),
                    sorted(&bulks(&flat), 2),
                    "{ctx}"
                );
                assert_eq!(c.q(&["HLEN", &k]), int(h.len() as i64), "{ctx}");
            }
            6 => {
                let h = m.entry(k.clone()).or_default();
                let cur = h.get(&f).cloned().unwrap_or_else(|| "0".into());
                let want = match cur.parse::<i64>() {
                    Ok(n) => {
                        let n = n + 3;
                        h.insert(f.clone(), n.to_string());
                        int(n)
                    }
                    Err(_) => err("ERR hash value is not an integer"),
                };
                assert_eq!(c.q(&["HINCRBY", &k, &f, "3"]), want, "{ctx}");
            }
            7 => {
                let len = m.get(&k).and_then(|h| h.get(&f)).map_or(0, String::len);
                assert_eq!(c.q(&["HSTRLEN", &k, &f]), int(len as i64), "{ctx}");
            }
            _ => {
                let h = m.get(&k).cloned().unwrap_or_default();
                let r = c.call(&["HRANDFIELD", &k, "-4", "WITHVALUES"]);
                let want = if h.is_empty() { 0 } else { 8 };
                assert_eq!(r.items().len(), want, "{ctx}");
                for pair in r.items().chunks(2) {
                    assert_eq!(h.get(&pair[0].text()), Some(&pair[1].text()), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn differential_against_redis() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|d| d.join("redis-server").is_file()) {
        eprintln!("SKIPPED differential test: `redis-server` is not installed");
        return;
    }
    let redis = RefRedis::start(&[]);
    let server = Server::start(4, &[]);
    let (mut r, mut k) = (redis.raw(), server.raw());
    let mut rng = Rng(0xd1ff_4a54);
    let keys = ["a", "b", "c", "str"];
    let fields = ["f", "g", "1", "", "long-field-name"];
    let values = [
        "1",
        "-2",
        "1.5",
        "x",
        "",
        "9223372036854775807",
        "3e2",
        " 1",
    ];
    let incrs = [
        "1",
        "-1",
        "x",
        "9223372036854775807",
        "0.5",
        "1e400",
        "-inf",
    ];
    let mut mismatches = Vec::new();
    for proto in ["2", "3"] {
        for conn in [&mut r, &mut k] {
            conn.q(&["FLUSHALL"]);
            conn.q(&["HELLO", proto]);
            conn.q(&["SET", "str", "v"]);
            conn.q(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
            conn.q(&["CONFIG", "SET", "hash-max-listpack-value", "8"]);
            conn.q(&["CONFIG", "RESETSTAT"]);
        }
        for _ in 0..1500 {
            let key = keys[rng.below(keys.len())];
            let (f1, f2) = (
                fields[rng.below(fields.len())],
                fields[rng.below(fields.len())],
            );
            let v = values[rng.below(values.len())];
            let n = incrs[rng.below(incrs.len())];
            let cmd: Vec<&str> = match rng.below(17) {
                0 | 1 => vec!["HSET", key, f1, v, f2, v],
                2 => vec!["HSETNX", key, f1, v],
                3 => vec!["HMSET", key, f1, v],
                4 => vec!["HGET", key, f1],
                5 => vec!["HMGET", key, f1, f2],
                6 => vec!["HGETALL", key],
                7 => vec!["HDEL", key, f1, f2],
                8 => vec!["HLEN", key],
                9 => vec!["HEXISTS", key, f1],
                10 => vec![["HKEYS", "HVALS"][rng.below(2)], key],
                11 => vec!["HINCRBY", key, f1, n],
                12 => vec!["HINCRBYFLOAT", key, f1, n],
                13 => vec!["HSTRLEN", key, f1],
                14 => vec!["HRANDFIELD", key, ["0", "100", "x"][rng.below(3)]],
                15 => vec!["OBJECT", "ENCODING", key],
                _ => vec!["HSCAN", key, "0", "COUNT", "100"],
            };
            let (a, b) = (r.q(&cmd), k.q(&cmd));
            let group = if matches!(cmd[0], "HGETALL" | "HSCAN") {
                2
            } else {
                1
            };
            let unordered = matches!(
                cmd[0],
                "HGETALL" | "HSCAN" | "HKEYS" | "HVALS" | "HRANDFIELD"
            );
            let (a, b) = if unordered {
                (sorted(&a, group), sorted(&b, group))
            } else {
                (a, b)
            };
            if a != b {
                mismatches.push(format!("RESP{proto} {cmd:?}: redis {a:?} corekv {b:?}"));
            }
        }
        let stats = |c: &mut Raw| {
            let f = common::info_fields(c, "stats");
            (f["keyspace_hits"].clone(), f["keyspace_misses"].clone())
        };
        let (a, b) = (stats(&mut r), stats(&mut k));
        if a != b {
            mismatches.push(format!("RESP{proto} hits/misses: redis {a:?} corekv {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

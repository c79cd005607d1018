//! The randomised tests of the set family: a `BTreeSet` model and redis-server itself.

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

type Model = BTreeMap<String, BTreeSet<String>>;

fn model_combine(m: &Model, op: &str, keys: &[String]) -> BTreeSet<String> {
    let get = |k: &String| m.get(k).cloned().unwrap_or_default();
    let mut it = keys.iter().map(get);
    let first = it.next().unwrap_or_default();
    it.fold(first, |acc, s| match op {
        "inter" => acc.intersection(&s).cloned().collect(),
        "union" => acc.union(&s).cloned().collect(),
        _ => acc.difference(&s).cloned().collect(),
    })
}

fn set_text(s: &BTreeSet<String>) -> String {
    let items: Vec<&str> = s.iter().map(String::as_str).collect();
    members(&items)
}

fn store(m: &mut Model, dst: &str, s: BTreeSet<String>) {
    if s.is_empty() {
        m.remove(dst);
    } else {
        m.insert(dst.to_string(), s);
    }
}

#[test]
fn random_commands_match_a_model() {
    let seed = 0x5e75_2026_u64;
    let server = Server::start(4, &[]);
    let mut c = server.raw();
    let mut rng = Rng(seed);
    let keys: Vec<String> = (0..6)
        .map(|i| format!("k{i}"))
        .chain(["{h}a".into(), "{h}b".into()])
        .collect();
    let pool: Vec<String> = (0..12)
        .map(|i| {
            if i % 3 == 0 {
                format!("s{i}")
            } else {
                i.to_string()
            }
        })
        .collect();
    let mut m = Model::new();
    for step in 0..3000 {
        let k = keys[rng.below(keys.len())].clone();
        let k2 = keys[rng.below(keys.len())].clone();
        let k3 = keys[rng.below(keys.len())].clone();
        let x = pool[rng.below(pool.len())].clone();
        let y = pool[rng.below(pool.len())].clone();
        let ctx = format!("seed {seed:#x} step {step}");
        match rng.below(12) {
            0 | 1 => {
                let set = m.entry(k.clone()).or_default();
                let n = set.insert(x.clone()) as i64 + set.insert(y.clone()) as i64;
                assert_eq!(c.q(&["SADD", &k, &x, &y]), int(n), "{ctx}");
            }
            2 => {
                let n = m
                    .get_mut(&k)
                    .map_or(0, |s| s.remove(&x) as i64 + s.remove(&y) as i64);
                if m.get(&k).is_some_and(BTreeSet::is_empty) {
                    m.remove(&k);
                }
                assert_eq!(c.q(&["SREM", &k, &x, &y]), int(n), "{ctx}");
            }
            3 => {
                let want = sorted(&set_text(&m.get(&k).cloned().unwrap_or_default()));
                assert_eq!(sorted(&c.q(&["SMEMBERS", &k])), want, "{ctx}");
                let card = m.get(&k).map_or(0, BTreeSet::len) as i64;
                assert_eq!(c.q(&["SCARD", &k]), int(card), "{ctx}");
            }
            4 => {
                let count = rng.below(4);
                let got = c.call(&["SPOP", &k, &count.to_string()]);
                let set = m.entry(k.clone()).or_default();
                assert_eq!(got.items().len(), count.min(set.len()), "{ctx}");
                for p in got.items() {
                    assert!(set.remove(&p.text()), "{ctx}: popped a non-member");
                }
                if set.is_empty() {
                    m.remove(&k);
                }
            }
            5 => {
                let (op, name) =
                    [("inter", "SINTER"), ("union", "SUNION"), ("diff", "SDIFF")][rng.below(3)];
                let want = sorted(&set_text(&model_combine(
                    &m,
                    op,
                    &[k.clone(), k2.clone(), k3.clone()],
                )));
                assert_eq!(sorted(&c.q(&[name, &k, &k2, &k3])), want, "{ctx}");
            }
            6 => {
                let (op, name) = [
                    ("inter", "SINTERSTORE"),
                    ("union", "SUNIONSTORE"),
                    ("diff", "SDIFFSTORE"),
                ][rng.below(3)];
                let r = model_combine(&m, op, &[k2.clone(), k3.clone()]);
                let n = r.len() as i64;
                store(&mut m, &k, r);
                assert_eq!(c.q(&[name, &k, &k2, &k3]), int(n), "{ctx}");
            }
            7 => {
                let moved = m.get(&k).is_some_and(|s| s.contains(&x));
                if moved && k != k2 {
                    let src = m.get_mut(&k).unwrap();
                    src.remove(&x);
                    if src.is_empty() {
                        m.remove(&k);
                    }
                    m.entry(k2.clone()).or_default().insert(x.clone());
                }
                assert_eq!(c.q(&["SMOVE", &k, &k2, &x]), int(moved as i64), "{ctx}");
            }
            8 => {
                let n = model_combine(&m, "inter", &[k.clone(), k2.clone()]).len();
                let limit = rng.below(4);
                let want = if limit == 0 { n } else { n.min(limit) };
                let got = c.q(&["SINTERCARD", "2", &k, &k2, "LIMIT", &limit.to_string()]);
                assert_eq!(got, int(want as i64), "{ctx}");
            }
            9 => {
                let has = m.get(&k).is_some_and(|s| s.contains(&x)) as i64;
                assert_eq!(c.q(&["SISMEMBER", &k, &x]), int(has), "{ctx}");
            }
            10 => {
                let got = c.call(&["SRANDMEMBER", &k, "-3"]);
                let set = m.get(&k).cloned().unwrap_or_default();
                let want = if set.is_empty() { 0 } else { 3 };
                assert_eq!(got.items().len(), want, "{ctx}");
                assert!(got.items().iter().all(|p| set.contains(&p.text())), "{ctx}");
            }
            _ => {
                if m.contains_key(&k) && rng.below(8) == 0 {
                    m.remove(&k);
                    assert_eq!(c.q(&["DEL", &k]), int(1), "{ctx}");
                }
            }
        }
    }
}

/// Starts the reference `redis-server`, or None (with a note) if it is not installed.
fn reference() -> Option<RefRedis> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|d| d.join("redis-server").is_file()) {
        eprintln!("SKIPPED differential test: `redis-server` is not installed");
        return None;
    }
    Some(RefRedis::start(&[]))
}

/// Commands whose reply order Redis leaves unspecified: compared sorted.
const UNORDERED: &[&str] = &[
    "SMEMBERS",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SPOP",
    "SRANDMEMBER",
    "SSCAN",
];

#[test]
fn differential_against_redis() {
    let Some(redis) = reference() else { return };
    let server = Server::start(4, &[]);
    let (mut r, mut k) = (redis.raw(), server.raw());
    let mut rng = Rng(0xd1ff_5e75);
    let keys = ["a", "b", "c", "d", "{t}x", "{t}y", "str"];
    let pool = ["1", "2", "3", "-7", "10", "x", "y", "01", "abc", ""];
    let mut mismatches = Vec::new();
    for proto in ["2", "3"] {
        for conn in [&mut r, &mut k] {
            conn.q(&["FLUSHALL"]);
            conn.q(&["HELLO", proto]);
            conn.q(&["SET", "str", "v"]);
            conn.q(&["CONFIG", "RESETSTAT"]);
        }
        for _ in 0..1500 {
            let pick = |rng: &mut Rng, from: &[&'static str]| from[rng.below(from.len())];
            let (k1, k2, k3) = (
                pick(&mut rng, &keys),
                pick(&mut rng, &keys),
                pick(&mut rng, &keys),
            );
            let (m1, m2) = (pick(&mut rng, &pool), pick(&mut rng, &pool));
            let cmd: Vec<&str> = match rng.below(16) {
                0 | 1 => vec!["SADD", k1, m1, m2],
                2 => vec!["SREM", k1, m1, m2],
                3 => vec!["SMEMBERS", k1],
                4 => vec!["SISMEMBER", k1, m1],
                5 => vec!["SMISMEMBER", k1, m1, m2],
                6 => vec!["SCARD", k1],
                7 => vec!["SINTER", k1, k2, k3],
                8 => vec!["SUNION", k1, k2],
                9 => vec!["SDIFF", k1, k2, k3],
                10 => vec![
                    ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"][rng.below(3)],
                    k1,
                    k2,
                    k3,
                ],
                11 => vec!["SMOVE", k1, k2, m1],
                12 => vec![
                    "SINTERCARD",
                    "2",
                    k1,
                    k2,
                    "LIMIT",
                    pick(&mut rng, &["0", "1", "-1", "x"]),
                ],
                13 => vec!["SPOP", k1, pick(&mut rng, &["0", "100", "-1", "x"])],
                14 => vec!["SRANDMEMBER", k1, pick(&mut rng, &["0", "100", "x"])],
                _ => vec!["SSCAN", k1, "0", "COUNT", "100"],
            };
            let (a, b) = (r.q(&cmd), k.q(&cmd));
            let (a, b) = if UNORDERED.contains(&cmd[0]) {
                (sorted(&a), sorted(&b))
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
        for key in keys {
            let cmd = ["SMEMBERS", key];
            let (a, b) = (sorted(&r.q(&cmd)), sorted(&k.q(&cmd)));
            if a != b {
                mismatches.push(format!("final {key}: redis {a:?} corekv {b:?}"));
            }
            let cmd = ["OBJECT", "ENCODING", key];
            let (a, b) = (r.q(&cmd), k.q(&cmd));
            if a != b {
                mismatches.push(format!("encoding {key}: redis {a:?} corekv {b:?}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

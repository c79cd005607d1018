//! The list family over real sockets: every command's replies and errors, a randomised run
//! against a `VecDeque` model, a differential run against redis-server 7.0.15, keys on
//! different shards for LMOVE / RPOPLPUSH / LMPOP, and durability (restart, BGREWRITEAOF).

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use common::{NIL, Raw, RefRedis, Server, arr, bulk, err, info_fields, int, key_on_shard};

const OK: &str = "+OK\r\n";
const NIL_ARRAY: &str = "*-1\r\n";

fn bulks(items: &[&str]) -> String {
    arr(&items.iter().map(|s| bulk(s)).collect::<Vec<_>>())
}

#[test]
fn pushes_pops_and_reads() {
    let server = Server::start(2, &[]);
    let mut r = server.raw();
    assert_eq!(r.q(&["RPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(r.q(&["LPUSH", "l", "z"]), int(4));
    assert_eq!(r.q(&["LPUSHX", "nokey", "x"]), int(0));
    assert_eq!(r.q(&["RPUSHX", "l", "d", "e"]), int(6));
    assert_eq!(
        r.q(&["LRANGE", "l", "0", "-1"]),
        bulks(&["z", "a", "b", "c", "d", "e"])
    );
    assert_eq!(r.q(&["LRANGE", "l", "-2", "100"]), bulks(&["d", "e"]));
    assert_eq!(r.q(&["LRANGE", "l", "4", "2"]), arr(&[]));
    assert_eq!(r.q(&["LLEN", "l"]), int(6));
    assert_eq!(r.q(&["LINDEX", "l", "-1"]), bulk("e"));
    assert_eq!(r.q(&["LINDEX", "l", "6"]), NIL);
    assert_eq!(r.q(&["LPOP", "l"]), bulk("z"));
    assert_eq!(r.q(&["RPOP", "l", "2"]), bulks(&["e", "d"]));
    assert_eq!(r.q(&["LPOP", "l", "0"]), arr(&[]));
    assert_eq!(r.q(&["LPOP", "nokey", "0"]), NIL_ARRAY);
    assert_eq!(r.q(&["LPOP", "nokey", "2"]), NIL_ARRAY);
    assert_eq!(r.q(&["LPOP", "nokey"]), NIL);
    assert_eq!(r.q(&["LPOP", "l", "10"]), bulks(&["a", "b", "c"]));
    assert_eq!(r.q(&["EXISTS", "l"]), int(0), "an emptied list is deleted");
    assert_eq!(r.q(&["RPUSH", "l", "a", "b", "a", "c", "a"]), int(5));
    assert_eq!(r.q(&["LINSERT", "l", "BEFORE", "b", "x"]), int(6));
    assert_eq!(r.q(&["LINSERT", "l", "after", "c", "y"]), int(7));
    assert_eq!(r.q(&["LINSERT", "l", "after", "nope", "y"]), int(-1));
    assert_eq!(r.q(&["LINSERT", "nokey", "after", "a", "y"]), int(0));
    assert_eq!(r.q(&["LSET", "l", "-1", "A"]), OK);
    assert_eq!(
        r.q(&["LRANGE", "l", "0", "-1"]),
        bulks(&["a", "x", "b", "a", "c", "y", "A"])
    );
    assert_eq!(r.q(&["LREM", "l", "-1", "a"]), int(1));
    assert_eq!(r.q(&["LREM", "l", "0", "a"]), int(1));
    assert_eq!(r.q(&["LTRIM", "l", "1", "-2"]), OK);
    assert_eq!(r.q(&["LRANGE", "l", "0", "-1"]), bulks(&["b", "c", "y"]));
    assert_eq!(r.q(&["LTRIM", "l", "5", "1"]), OK);
    assert_eq!(r.q(&["EXISTS", "l"]), int(0));
    assert_eq!(r.q(&["RPUSH", "p", "a", "b", "c", "a", "a"]), int(5));
    assert_eq!(r.q(&["LPOS", "p", "a"]), int(0));
    assert_eq!(r.q(&["LPOS", "p", "a", "RANK", "-1"]), int(4));
    assert_eq!(
        r.q(&["LPOS", "p", "a", "RANK", "2", "COUNT", "0"]),
        arr(&[int(3), int(4)])
    );
    assert_eq!(
        r.q(&["LPOS", "p", "a", "COUNT", "0", "MAXLEN", "4"]),
        arr(&[int(0), int(3)])
    );
    assert_eq!(r.q(&["LPOS", "p", "zz"]), NIL);
    assert_eq!(r.q(&["LPOS", "nokey", "a", "COUNT", "1"]), arr(&[]));
    assert_eq!(r.q(&["OBJECT", "ENCODING", "p"]), bulk("quicklist"));
    assert_eq!(r.q(&["TYPE", "p"]), "+list\r\n");
}

#[test]
fn every_error_path() {
    let server = Server::start(1, &[]);
    let mut r = server.raw();
    r.q(&["SET", "s", "x"]);
    r.q(&["RPUSH", "l", "a", "b"]);
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for cmd in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["LPOP", "s", "2"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "2", "nokey", "s", "LEFT"],
        &["BLPOP", "s", "0"],
        &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
    ] {
        assert_eq!(r.q(cmd), wrongtype, "{cmd:?}");
    }
    let positive = err("ERR value is out of range, must be positive");
    assert_eq!(r.q(&["LPOP", "l", "-1"]), positive);
    assert_eq!(r.q(&["RPOP", "l", "x"]), positive);
    assert_eq!(
        r.q(&["LPOP", "l", "1", "2"]),
        err("ERR wrong number of arguments for 'lpop' command")
    );
    assert_eq!(
        r.q(&["LPUSH", "l"]),
        err("ERR wrong number of arguments for 'lpush' command")
    );
    assert_eq!(r.q(&["LSET", "nokey", "0", "a"]), err("ERR no such key"));
    assert_eq!(r.q(&["LSET", "l", "2", "a"]), err("ERR index out of range"));
    let not_int = err("ERR value is not an integer or out of range");
    assert_eq!(r.q(&["LSET", "l", "x", "a"]), not_int);
    assert_eq!(r.q(&["LINDEX", "l", "x"]), not_int);
    assert_eq!(r.q(&["LRANGE", "l", "0", "x"]), not_int);
    assert_eq!(r.q(&["LTRIM", "l", "x", "1"]), not_int);
    assert_eq!(r.q(&["LREM", "l", "x", "a"]), not_int);
    assert_eq!(r.q(&["LPOS", "l", "a", "RANK", "x"]), not_int);
    assert_eq!(
        r.q(&["LINSERT", "l", "middle", "a", "b"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.q(&["LMOVE", "l", "m", "up", "LEFT"]),
        err("ERR syntax error")
    );
    assert_eq!(
        r.q(&["LPOS", "l", "a", "RANK", "0"]),
        err(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
        )
    );
    assert_eq!(
        r.q(&["LPOS", "l", "a", "COUNT", "-1"]),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        r.q(&["LPOS", "l", "a", "COUNT", "x"]),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        r.q(&["LPOS", "l", "a", "MAXLEN", "-1"]),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(
        r.q(&["LPOS", "l", "a", "FOO", "1"]),
        err("ERR syntax error")
    );
    assert_eq!(r.q(&["LPOS", "l", "a", "COUNT"]), err("ERR syntax error"));
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(r.q(&["LMPOP", "0", "l", "LEFT"]), numkeys);
    assert_eq!(r.q(&["LMPOP", "x", "l", "LEFT"]), numkeys);
    assert_eq!(r.q(&["LMPOP", "2", "l", "LEFT"]), err("ERR syntax error"));
    assert_eq!(r.q(&["LMPOP", "1", "l", "UP"]), err("ERR syntax error"));
    assert_eq!(
        r.q(&["LMPOP", "1", "l", "LEFT", "COUNT", "0"]),
        err("ERR count should be greater than 0")
    );
    assert_eq!(
        r.q(&["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"]),
        err("ERR syntax error")
    );
    assert_eq!(r.q(&["BLPOP", "l", "-1"]), err("ERR timeout is negative"));
    assert_eq!(r.q(&["BLPOP", "l", "inf"]), err("ERR timeout is negative"));
    assert_eq!(
        r.q(&["BLPOP", "l", "9.3e15"]),
        err("ERR timeout is negative")
    );
    assert_eq!(
        r.q(&["BLPOP", "l", "x"]),
        err("ERR timeout is not a float or out of range")
    );
    assert_eq!(
        r.q(&["BLMPOP", "-1", "1", "l", "LEFT"]),
        err("ERR timeout is negative")
    );
    assert_eq!(r.q(&["BLMPOP", "0", "0", "l", "LEFT"]), numkeys);
    assert_eq!(
        r.q(&["LRANGE", "l", "0", "-1"]),
        bulks(&["a", "b"]),
        "nothing changed"
    );
}

#[test]
fn a_huge_timeout_blocks_as_in_redis() {
    // 9e15 s is 9e18 ms: still a signed 64-bit count, so Redis 7.0 blocks (effectively
    // forever) instead of calling it negative.
    let server = Server::start(2, &[]);
    let mut blocked = server.raw();
    blocked.cmd(&[b"BLPOP", b"huge", b"9e15"]);
    let mut r = server.raw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !r.q(&["CLIENT", "LIST"]).contains("cmd=blpop") {
        assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(r.q(&["RPUSH", "huge", "v"]), int(1));
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_reply()),
        bulks(&["huge", "v"])
    );
}

#[test]
fn moves_and_mpop_across_shards() {
    let server = Server::start(4, &[]);
    let mut r = server.raw();
    let a = key_on_shard("src", 0, 4);
    let b = key_on_shard("dst", 3, 4);
    assert_eq!(r.q(&["RPUSH", &a, "1", "2", "3"]), int(3));
    assert_eq!(r.q(&["LMOVE", &a, &b, "LEFT", "RIGHT"]), bulk("1"));
    assert_eq!(r.q(&["RPOPLPUSH", &a, &b]), bulk("3"));
    assert_eq!(r.q(&["LRANGE", &b, "0", "-1"]), bulks(&["3", "1"]));
    assert_eq!(r.q(&["LMOVE", "nokey", &b, "LEFT", "RIGHT"]), NIL);
    r.q(&["SET", "str", "x"]);
    assert!(
        r.q(&["LMOVE", &a, "str", "LEFT", "LEFT"])
            .starts_with("-WRONGTYPE")
    );
    assert_eq!(
        r.q(&["LRANGE", &a, "0", "-1"]),
        bulks(&["2"]),
        "a refused move keeps the source"
    );
    assert_eq!(
        r.q(&["LMPOP", "3", "nokey", &a, &b, "RIGHT", "COUNT", "5"]),
        arr(&[bulk(&a), bulks(&["2"])])
    );
    assert_eq!(
        r.q(&["LMPOP", "2", &a, &b, "LEFT", "COUNT", "5"]),
        arr(&[bulk(&b), bulks(&["3", "1"])])
    );
    assert_eq!(r.q(&["LMPOP", "2", &a, &b, "LEFT"]), NIL_ARRAY);
    // Same shard (hash tag): atomic, rotation of one list.
    assert_eq!(r.q(&["RPUSH", "{t}x", "a", "b", "c"]), int(3));
    assert_eq!(r.q(&["LMOVE", "{t}x", "{t}x", "LEFT", "RIGHT"]), bulk("a"));
    assert_eq!(r.q(&["LRANGE", "{t}x", "0", "-1"]), bulks(&["b", "c", "a"]));
    assert_eq!(r.q(&["LMOVE", "{t}x", "{t}y", "RIGHT", "LEFT"]), bulk("a"));
}

/// A small deterministic PRNG for the randomised tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_command(rng: &mut Rng) -> Vec<String> {
    let key = format!("k{}", rng.below(4));
    let v = format!("v{}", rng.below(6));
    let i = |rng: &mut Rng| (rng.below(14) as i64 - 7).to_string();
    let cmd: Vec<String> = match rng.below(15) {
        0 => vec!["LPUSH".into(), key, v.clone(), format!("w{}", rng.below(3))],
        1 => vec!["RPUSH".into(), key, v],
        2 => vec!["LPOP".into(), key],
        3 => vec!["RPOP".into(), key, rng.below(4).to_string()],
        4 => vec!["LRANGE".into(), key, i(rng), i(rng)],
        5 => vec!["LINDEX".into(), key, i(rng)],
        6 => vec!["LSET".into(), key, i(rng), v],
        7 => vec![
            "LINSERT".into(),
            key,
            if rng.below(2) == 0 { "BEFORE" } else { "AFTER" }.into(),
            format!("v{}", rng.below(6)),
            v,
        ],
        8 => vec!["LREM".into(), key, i(rng), v],
        9 => vec!["LTRIM".into(), key, i(rng), i(rng)],
        10 => vec![
            "LPOS".into(),
            key,
            v,
            "RANK".into(),
            ["1", "-1", "2", "-2"][rng.below(4) as usize].into(),
            "COUNT".into(),
            rng.below(3).to_string(),
        ],
        11 => vec![
            "LMOVE".into(),
            key,
            format!("k{}", rng.below(4)),
            "LEFT".into(),
            "RIGHT".into(),
        ],
        12 => vec![
            "LMPOP".into(),
            "2".into(),
            key,
            format!("k{}", rng.below(4)),
            "RIGHT".into(),
            "COUNT".into(),
            "2".into(),
        ],
        13 => vec!["LPUSHX".into(), key, v],
        _ => vec!["LLEN".into(), key],
    };
    cmd
}

/// The model: replies as RESP2 text from a map of deques.
fn model_apply(m: &mut BTreeMap<String, VecDeque<String>>, c: &[String]) -> String {
    let idx = |l: &VecDeque<String>, s: &str| {
        let n = l.len() as i64;
        let i: i64 = s.parse().unwrap();
        let i = if i < 0 { n + i } else { i };
        (0..n).contains(&i).then_some(i as usize)
    };
    let range = |n: usize, a: &str, b: &str| -> Option<(usize, usize)> {
        let n = n as i64;
        let (mut a, mut b): (i64, i64) = (a.parse().unwrap(), b.parse().unwrap());
        if a < 0 {
            a += n;
        }
        if b < 0 {
            b += n;
        }
        a = a.max(0);
        if a > b || a >= n {
            return None;
        }
        Some((a as usize, b.min(n - 1) as usize))
    };
    let key = c[1].clone();
    let l = m.entry(key.clone()).or_default();
    let out = match c[0].as_str() {
        "LPUSH" | "RPUSH" | "LPUSHX" => {
            if c[0] == "LPUSHX" && l.is_empty() {
                int(0)
            } else {
                for v in &c[2..] {
                    if c[0] == "RPUSH" {
                        l.push_back(v.clone())
                    } else {
                        l.push_front(v.clone())
                    }
                }
                int(l.len() as i64)
            }
        }
        "LPOP" => l.pop_front().map_or(NIL.into(), |v| bulk(&v)),
        "RPOP" => {
            let n: usize = c[2].parse().unwrap();
            if l.is_empty() {
                NIL_ARRAY.into()
            } else {
                let items: Vec<String> = (0..n)
                    .filter_map(|_| l.pop_back())
                    .map(|v| bulk(&v))
                    .collect();
                arr(&items)
            }
        }
        "LRANGE" => match range(l.len(), &c[2], &c[3]) {
            None => arr(&[]),
            Some((a, b)) => arr(&l.range(a..=b).map(|v| bulk(v)).collect::<Vec<_>>()),
        },
        "LINDEX" => idx(l, &c[2]).map_or(NIL.into(), |i| bulk(&l[i])),
        "LSET" => {
            if l.is_empty() {
                err("ERR no such key")
            } else if let Some(i) = idx(l, &c[2]) {
                l[i] = c[3].clone();
                OK.into()
            } else {
                err("ERR index out of range")
            }
        }
        "LINSERT" => {
            if l.is_empty() {
                int(0)
            } else if let Some(p) = l.iter().position(|e| *e == c[3]) {
                l.insert(p + (c[2] == "AFTER") as usize, c[4].clone());
                int(l.len() as i64)
            } else {
                int(-1)
            }
        }
        "LREM" => {
            let count: i64 = c[2].parse().unwrap();
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut removed = 0;
            let mut items: Vec<String> = l.drain(..).collect();
            if count < 0 {
                items.reverse();
            }
            items.retain(|e| {
                if *e == c[3] && removed < limit {
                    removed += 1;
                    false
                } else {
                    true
                }
            });
            if count < 0 {
                items.reverse();
            }
            l.extend(items);
            int(removed as i64)
        }
        "LTRIM" => {
            let kept: VecDeque<String> = match range(l.len(), &c[2], &c[3]) {
                None => VecDeque::new(),
                Some((a, b)) => l.range(a..=b).cloned().collect(),
            };
            *l = kept;
            OK.into()
        }
        "LPOS" => {
            let rank: i64 = c[4].parse().unwrap();
            let count: usize = c[6].parse().unwrap();
            let want = if count == 0 { usize::MAX } else { count };
            let mut idxs: Vec<usize> = (0..l.len()).filter(|&i| l[i] == c[2]).collect();
            if rank < 0 {
                idxs.reverse();
            }
            let found: Vec<String> = idxs
                .into_iter()
                .skip(rank.unsigned_abs() as usize - 1)
                .take(want)
                .map(|i| int(i as i64))
                .collect();
            arr(&found)
        }
        "LMOVE" => match l.pop_front() {
            None => NIL.into(),
            Some(v) => {
                m.entry(c[2].clone()).or_default().push_back(v.clone());
                bulk(&v)
            }
        },
        "LMPOP" => {
            let mut reply = NIL_ARRAY.to_string();
            for k in [&c[2], &c[3]] {
                let l = m.entry(k.clone()).or_default();
                if !l.is_empty() {
                    let items: Vec<String> = (0..2)
                        .filter_map(|_| l.pop_back())
                        .map(|v| bulk(&v))
                        .collect();
                    reply = arr(&[bulk(k), arr(&items)]);
                    break;
                }
            }
            reply
        }
        _ => int(l.len() as i64),
    };
    m.retain(|_, l| !l.is_empty());
    out
}

#[test]
fn randomised_against_a_model() {
    let server = Server::start(4, &[]);
    let mut r = server.raw();
    assert_eq!(r.q(&["CONFIG", "SET", "list-max-listpack-size", "3"]), OK);
    let mut model = BTreeMap::new();
    let mut rng = Rng(0x5eed_1157);
    for step in 0..3000 {
        let c = random_command(&mut rng);
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let want = model_apply(&mut model, &c);
        assert_eq!(r.q(&args), want, "step {step}: {c:?}");
    }
    for (k, l) in &model {
        let items: Vec<&str> = l.iter().map(String::as_str).collect();
        assert_eq!(r.q(&["LRANGE", k, "0", "-1"]), bulks(&items));
    }
}

#[test]
fn differential_against_redis_server() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file()) {
        eprintln!("SKIPPED differential test: `redis-server` is not installed");
        return;
    }
    let reference = RefRedis::start(&[]);
    let server = Server::start(4, &[]);
    let (mut ours, mut theirs) = (server.raw(), reference.raw());
    let mut rng = Rng(42);
    let scripted: Vec<Vec<String>> = [
        "LPOP nokey 0",
        "RPUSH l a b",
        "LPOP l 0",
        "LPOS l a COUNT 1 RANK -9223372036854775808",
        "LMPOP 1 l LEFT COUNT 9223372036854775807",
        "BLPOP l 0.01",
        "BLMOVE l x LEFT LEFT 0.01",
        "BRPOPLPUSH l x 0.01",
        "BLMPOP 0.01 1 l LEFT",
        "LMOVE nokey x LEFT LEFT",
        "RPOPLPUSH nokey x",
        "LPOS nokey a",
        "LPOS nokey a COUNT 0",
    ]
    .iter()
    .map(|s| s.split(' ').map(String::from).collect())
    .collect();
    for proto in ["2", "3"] {
        ours.q(&["HELLO", proto]);
        theirs.q(&["HELLO", proto]);
        ours.q(&["FLUSHALL"]);
        theirs.q(&["FLUSHALL"]);
        let cmds = scripted
            .iter()
            .cloned()
            .chain((0..1500).map(|_| random_command(&mut rng)));
        for c in cmds {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            assert_eq!(ours.q(&args), theirs.q(&args), "RESP{proto} {c:?}");
        }
    }
}

fn wait_rewrite(r: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = info_fields(r, "persistence");
        if info["aof_rewrite_in_progress"] == "0" && info["aof_rewrites"] != "0" {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lists_survive_restart_and_rewrite() {
    let mut server = Server::start(4, &["--appendfsync", "always"]);
    let dir = server.dir().to_path_buf();
    let mut model = BTreeMap::new();
    let mut rng = Rng(7);
    {
        let mut r = server.raw();
        assert_eq!(r.q(&["CONFIG", "SET", "list-max-listpack-size", "4"]), OK);
        for _ in 0..800 {
            let c = random_command(&mut rng);
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            assert_eq!(r.q(&args), model_apply(&mut model, &c));
        }
    }
    let check = |r: &mut Raw, model: &BTreeMap<String, VecDeque<String>>| {
        for i in 0..4 {
            let k = format!("k{i}");
            let items: Vec<&str> = model
                .get(&k)
                .map_or(Vec::new(), |l| l.iter().map(String::as_str).collect());
            assert_eq!(r.q(&["LRANGE", &k, "0", "-1"]), bulks(&items), "{k}");
        }
    };
    server.shutdown();
    let mut server = Server::start_in(&dir, 4, &[]);
    check(&mut server.raw(), &model);
    {
        let mut r = server.raw();
        assert!(r.q(&["BGREWRITEAOF"]).starts_with('+'));
        wait_rewrite(&mut r);
        r.q(&["RPUSH", "k0", "after-rewrite"]);
        model
            .entry("k0".into())
            .or_default()
            .push_back("after-rewrite".into());
    }
    server.shutdown();
    let server = Server::start_in(&dir, 4, &[]);
    check(&mut server.raw(), &model);
}

//! Crashes and rewrites under load: `kill -9` while client threads write must lose no
//! acknowledged write (under `always`, and under `everysec` too: the record is in the kernel
//! before the reply); BGREWRITEAOF while writers run keeps every write and leaves one base
//! per shard; the automatic rewrite fires when a log outgrows its limits.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::persist::{
    KIND_BASE, assert_same_keyspace, dump, read_manifest, segment_files, shard_dirs,
};
use common::{OK, Raw, Server, TempDir, bulk, encode, info_fields};

/// Writer threads per round and keys per writer.
const WRITERS: usize = 4;
const KEYS_PER_WRITER: usize = 16;
/// Most SETs one writer sends in one round (bounds the loop if the kill never comes).
const MAX_OPS_PER_WRITER: u64 = 200_000;

/// What one writer knows about its keys: the last value the server acknowledged and the
/// last value it sent (a write in flight at the kill may or may not have made it).
#[derive(Default)]
struct Writes {
    acked: BTreeMap<String, u64>,
    sent: BTreeMap<String, u64>,
    /// Replies other than +OK while the server was alive (none are expected).
    unexpected: Vec<String>,
}

/// SETs `w{writer}:{k}` round-robin to `base + n` (n = 1, 2, ...) until `stop` or until the
/// connection fails (the server was killed).
fn write_until_killed(
    port: u16,
    writer: usize,
    base: u64,
    stop: &AtomicBool,
    acked_total: &AtomicU64,
) -> Writes {
    let mut out = Writes::default();
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return out;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    for n in 1..=MAX_OPS_PER_WRITER {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let key = format!("w{writer}:{}", n as usize % KEYS_PER_WRITER);
        let value = base + n;
        let request = encode(&[b"SET", key.as_bytes(), value.to_string().as_bytes()]);
        out.sent.insert(key.clone(), value);
        if stream.write_all(&request).is_err() {
            break;
        }
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == OK => {
                out.acked.insert(key, value);
                acked_total.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => out.unexpected.push(line),
        }
    }
    out
}

/// The acknowledged and sent values of every key over all rounds so far.
#[derive(Default)]
struct Model {
    acked: BTreeMap<String, u64>,
    sent: BTreeMap<String, u64>,
}

impl Model {
    fn merge(&mut self, w: Writes) {
        assert!(
            w.unexpected.is_empty(),
            "unexpected replies: {:?}",
            w.unexpected
        );
        self.acked.extend(w.acked);
        self.sent.extend(w.sent);
    }

    /// Every acknowledged write is there (value ≥ last acked), nothing was invented
    /// (value ≤ last sent).
    fn check(&self, server: &Server, context: &str) {
        let mut raw = server.raw();
        for (key, sent) in &self.sent {
            let reply = raw.call(&["GET", key]);
            let acked = self.acked.get(key);
            let value = match reply {
                common::Resp::Nil => {
                    assert!(acked.is_none(), "{context}: {key} lost (acked {acked:?})");
                    continue;
                }
                other => other.text().parse::<u64>().expect("a counter"),
            };
            assert!(
                acked.is_none_or(|a| value >= *a) && value <= *sent,
                "{context}: {key} = {value}, last acked {acked:?}, last sent {sent}"
            );
        }
    }
}

/// SETs `bulk:{i}` to 100 bytes for i in 0..n, pipelined.
fn prefill(server: &Server, n: usize) {
    let mut con = server.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("SET")
                .arg(format!("bulk:{i}"))
                .arg(format!("{i:0100}"))
                .ignore();
        }
        pipe.query::<()>(&mut con).expect("prefill");
    }
}

fn assert_prefilled(server: &Server, n: usize) {
    let mut con = server.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("bulk:{i}")).collect();
        let values: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query(&mut con).expect("MGET");
        for (i, v) in chunk.iter().zip(values) {
            assert_eq!(v, Some(format!("{i:0100}")), "bulk:{i}");
        }
    }
}

/// Every segment file in each shard directory is one the manifest names: what an
/// interrupted step left behind was deleted when the log was opened.
fn assert_no_orphans(dir: &std::path::Path) {
    for shard in shard_dirs(dir) {
        let mut named: Vec<String> = read_manifest(&shard)
            .iter()
            .map(|e| e.file_name())
            .collect();
        named.sort();
        assert_eq!(
            segment_files(&shard),
            named,
            "{}: files vs manifest",
            shard.display()
        );
    }
}

/// `rounds` times: start on the same directory (holding `prefilled` keys), check every
/// earlier acknowledged write, run WRITERS threads, call `before_kill` once they have had
/// `target` acknowledgements, `kill -9`, and record what was acknowledged. A last start
/// checks the final round, the prefilled keys and that no orphan file is left.
/// How a round ends the server while the writers run.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Kill9,
    /// SIGTERM: must exit 0, and the next start must truncate nothing.
    Sigterm,
}

fn kill9_rounds(
    policy: &str,
    shards: usize,
    rounds: u64,
    prefilled: usize,
    before_kill: &dyn Fn(&mut Raw, u64),
) {
    stop_rounds(policy, shards, rounds, prefilled, Stop::Kill9, before_kill);
}

fn stop_rounds(
    policy: &str,
    shards: usize,
    rounds: u64,
    prefilled: usize,
    how: Stop,
    before_kill: &dyn Fn(&mut Raw, u64),
) {
    let dir = TempDir::new();
    let args = ["--appendfsync", policy];
    if prefilled > 0 {
        let mut server = Server::start_in(dir.path(), shards, &args);
        prefill(&server, prefilled);
        assert_eq!(server.shutdown().code(), Some(0));
    }
    let mut model = Model::default();
    for round in 0..rounds {
        let mut server = Server::start_in(dir.path(), shards, &args);
        model.check(&server, &format!("before round {round}"));
        if how == Stop::Sigterm {
            assert!(
                !server.stderr_text().contains("torn"),
                "round {round}: a clean shutdown left a torn tail:\n{}",
                server.stderr_text()
            );
        }
        let mut raw = server.raw();
        // Vary the kill point from round to round.
        let target = 200 + (round * 137) % 600;
        let stop = AtomicBool::new(false);
        let acked_total = AtomicU64::new(0);
        let base = (round + 1) * 1_000_000_000;
        let port = server.port;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (stop, acked_total) = (&stop, &acked_total);
                    s.spawn(move || write_until_killed(port, w, base, stop, acked_total))
                })
                .collect();
            let deadline = Instant::now() + Duration::from_secs(10);
            while acked_total.load(Ordering::Relaxed) < target && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            before_kill(&mut raw, round);
            match how {
                Stop::Kill9 => {
                    server.kill9();
                }
                Stop::Sigterm => {
                    let status = server.sigterm();
                    assert!(status.success(), "round {round}: SIGTERM exit {status}");
                }
            }
            stop.store(true, Ordering::Relaxed);
            for h in handles {
                model.merge(h.join().expect("writer thread"));
            }
        });
        assert!(
            acked_total.load(Ordering::Relaxed) >= target,
            "round {round}: only {} writes acknowledged",
            acked_total.load(Ordering::Relaxed)
        );
    }
    let mut server = Server::start_in(dir.path(), shards, &args);
    model.check(&server, "after the last round");
    assert_prefilled(&server, prefilled);
    assert_no_orphans(dir.path());
    assert_eq!(server.shutdown().code(), Some(0));
}

#[test]
fn kill9_under_write_load_loses_no_acknowledged_write_always() {
    kill9_rounds("always", 4, 12, 0, &|_, _| {});
}

#[test]
fn kill9_under_write_load_loses_no_acknowledged_write_everysec() {
    kill9_rounds("everysec", 2, 3, 0, &|_, _| {});
}

/// `kill -9` at varying points of a BGREWRITEAOF (over 100 000 prefilled keys) while
/// writers run: the base being written is an orphan, the old log stays valid.
#[test]
fn sigterm_under_write_load_exits_0_and_keeps_every_acknowledged_write() {
    stop_rounds("always", 4, 4, 0, Stop::Sigterm, &|_, _| {});
    stop_rounds("everysec", 2, 2, 0, Stop::Sigterm, &|_, _| {});
}

#[test]
fn kill9_during_bgrewriteaof_loses_no_acknowledged_write() {
    kill9_rounds("everysec", 4, 6, 100_000, &|raw, round| {
        let reply = raw.q(&["BGREWRITEAOF"]);
        assert!(
            reply == "+Background append only file rewriting started\r\n"
                || reply == "-ERR Background append only file rewriting already in progress\r\n",
            "{reply:?}"
        );
        std::thread::sleep(Duration::from_millis(round * 17 % 60));
    });
}

/// Writers that SET and DEL their own keys and keep the exact final state of what was
/// acknowledged (`None` = deleted), for a test that stops them before comparing.
fn model_writer(
    port: u16,
    writer: usize,
    stop: &AtomicBool,
    acked_total: &AtomicU64,
) -> BTreeMap<String, Option<String>> {
    let mut raw = Raw::connect(port);
    let mut state = BTreeMap::new();
    for n in 0..MAX_OPS_PER_WRITER {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let key = format!("rw{writer}:{}", n % 50);
        if n % 5 == 4 {
            let reply = raw.call(&["DEL", &key]).int();
            assert!(reply == 0 || reply == 1);
            state.insert(key, None);
        } else {
            let value = format!("{writer}-{n}");
            assert_eq!(raw.q(&["SET", &key, &value]), OK);
            state.insert(key, Some(value));
        }
        acked_total.fetch_add(1, Ordering::Relaxed);
    }
    state
}

fn info_num(raw: &mut Raw, field: &str) -> u64 {
    let info = info_fields(raw, "persistence");
    info.get(field)
        .unwrap_or_else(|| panic!("no {field} in {info:?}"))
        .parse()
        .expect("number")
}

/// Polls INFO until no rewrite runs and `aof_rewrites` exceeds `rewrites_before`.
fn wait_rewrite_done(raw: &mut Raw, rewrites_before: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = info_fields(raw, "persistence");
        let done = info["aof_rewrite_in_progress"] == "0"
            && info["aof_rewrite_scheduled"] == "0"
            && info["aof_rewrites"].parse::<u64>().expect("count") > rewrites_before;
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rewrite not done after 20 s: {info:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each shard directory holds exactly one base, first in its manifest, and no segment the
/// manifest does not name (the old ones are gone).
fn assert_one_base_per_shard(dir: &std::path::Path) {
    for shard in shard_dirs(dir) {
        let manifest = read_manifest(&shard);
        let files = segment_files(&shard);
        let bases: Vec<_> = files.iter().filter(|f| f.ends_with(".base")).collect();
        assert_eq!(bases.len(), 1, "{}: {files:?}", shard.display());
        assert_eq!(
            manifest[0].kind,
            KIND_BASE,
            "{}: {manifest:?}",
            shard.display()
        );
        let mut named: Vec<String> = manifest.iter().map(|e| e.file_name()).collect();
        named.sort();
        assert_eq!(files, named, "{}: files vs manifest", shard.display());
    }
}

#[test]
fn bgrewriteaof_under_write_load_keeps_every_write() {
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 4, &[]);
    let mut raw = server.raw();
    let mut con = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET")
            .arg(format!("pre:{i}"))
            .arg("p".repeat(100))
            .ignore();
        if i % 3 == 0 {
            pipe.cmd("EXPIRE")
                .arg(format!("pre:{i}"))
                .arg(3000)
                .ignore();
        }
    }
    pipe.query::<()>(&mut con).expect("prefill");
    let rewrites_before = info_num(&mut raw, "aof_rewrites");

    let stop = AtomicBool::new(false);
    let acked_total = AtomicU64::new(0);
    let port = server.port;
    let mut model = BTreeMap::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|w| {
                let (stop, acked_total) = (&stop, &acked_total);
                s.spawn(move || model_writer(port, w, stop, acked_total))
            })
            .collect();
        let wait_for = |n: u64| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while acked_total.load(Ordering::Relaxed) < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        wait_for(500);
        assert_eq!(
            raw.q(&["BGREWRITEAOF"]),
            "+Background append only file rewriting started\r\n"
        );
        let acked_at_start = acked_total.load(Ordering::Relaxed);
        let again = raw.q(&["BGREWRITEAOF"]);
        assert!(
            again == "-ERR Background append only file rewriting already in progress\r\n"
                || again == "+Background append only file rewriting started\r\n",
            "{again:?}"
        );
        wait_rewrite_done(&mut raw, rewrites_before);
        assert!(
            acked_total.load(Ordering::Relaxed) > acked_at_start,
            "no write was acknowledged while the rewrite ran"
        );
        // More writes after the rewrite switched segments.
        let after = acked_total.load(Ordering::Relaxed) + 500;
        wait_for(after);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            model.extend(h.join().expect("writer thread"));
        }
    });
    let info = info_fields(&mut raw, "persistence");
    assert_eq!(info["aof_last_bgrewrite_status"], "ok", "{info:?}");
    assert_eq!(info["aof_rewrite_in_progress"], "0", "{info:?}");
    assert!(
        info["aof_base_size"].parse::<u64>().expect("size") > 0,
        "{info:?}"
    );
    assert_one_base_per_shard(dir.path());
    check_model(&mut raw, &model);

    let before = dump(&mut con, 16);
    let dumped = Instant::now();
    assert_eq!(server.shutdown().code(), Some(0));
    let mut server = Server::start_in(dir.path(), 4, &[]);
    let after = dump(&mut server.conn(), 16);
    assert_same_keyspace(&before, &after, dumped.elapsed());
    let mut raw = server.raw();
    check_model(&mut raw, &model);

    // And a crash right after: the rewritten log plus new writes.
    assert_eq!(raw.q(&["SET", "after-rewrite", "x"]), OK);
    server.kill9();
    let server = Server::start_in(dir.path(), 4, &[]);
    let mut raw = server.raw();
    assert_eq!(raw.q(&["GET", "after-rewrite"]), bulk("x"));
    check_model(&mut raw, &model);
}

fn check_model(raw: &mut Raw, model: &BTreeMap<String, Option<String>>) {
    for (key, value) in model {
        let expected = value
            .as_deref()
            .map(bulk)
            .unwrap_or_else(|| common::NIL.into());
        assert_eq!(raw.q(&["GET", key]), expected, "{key}");
    }
}

#[test]
fn auto_rewrite_fires_when_the_log_outgrows_its_limits() {
    let dir = TempDir::new();
    let server = Server::start_in(dir.path(), 1, &[]);
    let mut raw = server.raw();
    let set = ["CONFIG", "SET", "auto-aof-rewrite-min-size", "1048576"];
    assert_eq!(raw.q(&set), OK);
    assert_eq!(
        raw.q(&["CONFIG", "SET", "auto-aof-rewrite-percentage", "100"]),
        OK
    );
    let rewrites_before = info_num(&mut raw, "aof_rewrites");
    // 3 MB of log over 10 keys: the data stays small, the log does not.
    let value = "v".repeat(10_000);
    for i in 0..300 {
        assert_eq!(raw.q(&["SET", &format!("k{}", i % 10), &value]), OK);
    }
    // Once the writes stop, rewrites go on until the log is back under min-size (a log
    // above it has grown far more than 100% over a base of 100 KB).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = info_fields(&mut raw, "persistence");
        let size: u64 = info["aof_current_size"].parse().expect("size");
        let rewrites: u64 = info["aof_rewrites"].parse().expect("count");
        if rewrites > rewrites_before && size < 1_048_576 && info["aof_rewrite_in_progress"] == "0"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no automatic rewrite after 20 s: {info:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let server = Server::start_in(dir.path(), 1, &[]);
    let mut raw = server.raw();
    for k in 0..10 {
        assert_eq!(raw.q(&["GET", &format!("k{k}")]), bulk(&value));
    }
}

/// SWAPDB and FLUSHDB right behind BGREWRITEAOF (same pipeline, so they arrive while the
/// snapshot is being written): the rewritten log must still replay to the state the clients
/// saw.
#[test]
fn swapdb_and_flushdb_during_bgrewriteaof_are_kept() {
    let dir = TempDir::new();
    let mut server = Server::start_in(dir.path(), 4, &[]);
    let mut con = server.conn();
    for (db, prefix, n) in [(0, "a", 40_000), (1, "b", 40_000), (2, "c", 1000)] {
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut pipe = redis::pipe();
            pipe.cmd("SELECT").arg(db).ignore();
            for i in chunk {
                pipe.cmd("SET").arg(format!("{prefix}:{i}")).arg(i).ignore();
            }
            pipe.query::<()>(&mut con).expect("prefill");
        }
    }
    let mut raw = server.raw();
    for (round, swap) in [("0", "1"), ("1", "3")].into_iter().enumerate() {
        let rewrites_before = info_num(&mut raw, "aof_rewrites");
        let pipeline = format!(
            "BGREWRITEAOF\r\nSWAPDB {} {}\r\nSELECT 2\r\nFLUSHDB\r\nSET c:after{round} x\r\n\
             SELECT 0\r\nSET a:after{round} y\r\n",
            swap.0, swap.1
        );
        raw.send(pipeline.as_bytes());
        let replies: Vec<String> = (0..7)
            .map(|_| String::from_utf8_lossy(&raw.read_reply()).into_owned())
            .collect();
        assert_eq!(
            replies[0],
            "+Background append only file rewriting started\r\n"
        );
        assert!(replies[1..].iter().all(|r| r == OK), "{replies:?}");
        wait_rewrite_done(&mut raw, rewrites_before);
    }
    // db0 <-> db1, then db1 <-> db3: db0 holds b:*, db3 holds a:*, db2 only c:after1.
    let sizes = |raw: &mut Raw| -> Vec<i64> {
        (0..4)
            .map(|db| {
                assert_eq!(raw.q(&["SELECT", &db.to_string()]), OK);
                raw.call(&["DBSIZE"]).int()
            })
            .collect()
    };
    assert_eq!(sizes(&mut raw), [40_002, 0, 1, 40_000]);
    let before = dump(&mut con, 16);
    let dumped = Instant::now();
    assert_eq!(server.shutdown().code(), Some(0));
    let server = Server::start_in(dir.path(), 4, &[]);
    let after = dump(&mut server.conn(), 16);
    assert_same_keyspace(&before, &after, dumped.elapsed());
    assert_eq!(sizes(&mut server.raw()), [40_002, 0, 1, 40_000]);
}

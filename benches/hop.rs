//! A cross-core hop: what it costs a connection on one core to run a command on a shard owned
//! by another core, against the same work on one core.
//!
//! The cross-core rows use **corekv's own router** (`shard::router`): two glommio executors,
//! each with its `Shard` and its `Router`, joined through `MeshBuilders` exactly as
//! `server::run` joins them (`LocalExecutorBuilder::new(Placement::Unbound)`, then
//! `config::pin_current_thread` to one CPU each, meshes of capacity 1024 as
//! `--mesh-channel-capacity` defaults). Core 0 calls `Router::send` + `Pending::wait` with a
//! real `GET` (`ShardOp::Exec` from the command table) for a key on shard 1, which runs it in
//! `run_ops` and answers over the response mesh: the path a pipeline-1 GET takes in the
//! server, minus the socket. Idle executors park in the kernel as the server's do, so each
//! hop includes waking the peer (an eventfd write and a wake-up), as on a quiet server; and
//! each executor wakes every 20 ms as the server's cores do (`common::spawn_ticker`).
//!
//! For comparison:
//! - **bare mesh**: a `u64` ping-pong over a glommio `channel_mesh` (the channels under the
//!   router) between the same two pinned executors: the transport alone.
//! - **same core, local channel** (the baseline): two tasks on one executor echoing a `u64`
//!   over glommio `local_channel`s: a task switch, no other core, no wake-up.
//! - **same core, inline**: `Router::send` to the router's own shard (`--shards 1`): the GET
//!   runs inline, as for keys the connection's core owns.
//! - **spin 50 us**: the two cross-core paths again with executors that spin 50 µs before
//!   parking (`LocalExecutorBuilder::spin_before_park`, which glommio honours only with
//!   `Placement::Fixed`, so these executors use it): the difference from the parking rows is
//!   what waking a parked peer costs. The server does not spin today.
//!
//! Latency is one message in flight, each round trip recorded in an hdrhistogram. Throughput
//! is 16 messages in flight (16 sends, then 16 waits, repeated), and for the router also one
//! message carrying 16 GETs (how `dispatch` batches a pipeline's ops for one shard).
//! With fewer than 2 CPUs in the affinity mask, the "cross core" executors share one CPU
//! (said in the output). `cargo bench --bench hop [-- FILTER]`.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Run, Table};
use corekv::commands::{self, server::slowlog::NO_CLIENT};
use corekv::protocol::Reply;
use corekv::shard::router::{MeshBuilders, Pending, Router, ShardOp, ShardReply};
use corekv::shard::{Shard, shard_for_key};
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::channels::{local_channel, shared_channel};
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;

/// Channel capacity, as the server's `--mesh-channel-capacity` default.
const CAPACITY: usize = 1024;
/// Messages in flight in the throughput figures (redis-benchmark's `-P 16`).
const IN_FLIGHT: usize = 16;
/// Tells a bare-mesh echo task to stop.
const STOP: u64 = u64::MAX;
/// `LocalExecutorBuilder::spin_before_park` in the spinning rows.
const SPIN_BEFORE_PARK: Duration = Duration::from_micros(50);

/// Where a case's executors run: CPUs for the first and second executor, and whether they
/// spin before parking.
#[derive(Clone, Copy)]
struct Env {
    pins: [Option<usize>; 2],
    spin: Option<Duration>,
}

/// How long each phase of a case may run: at most `count` round trips, and no longer than
/// `time` (a busy host can make cross-core round trips slow; the phase then stops early and
/// the table shows how many round trips it timed).
#[derive(Clone, Copy)]
struct Limit {
    count: u64,
    time: Duration,
}

impl Limit {
    /// Whether a phase that started at `t0` and has done `done` round trips should stop.
    /// The clock is read every 256 round trips only, so it does not weigh on the fast cases.
    fn reached(&self, done: u64, t0: Instant) -> bool {
        done >= self.count || (done.is_multiple_of(256) && done > 0 && t0.elapsed() >= self.time)
    }
}

fn main() {
    let run = Run::start(
        "hop",
        "cross-core round trips through the router's meshes vs one core",
    );
    let cpus = corekv::config::affinity_cpus();
    let pins = match cpus.as_slice() {
        [a, b, ..] => {
            println!("== executors pinned to CPUs {a} and {b}");
            [Some(*a), Some(*b)]
        }
        _ => {
            println!(
                "== fewer than 2 CPUs: the \"cross core\" executors share one CPU, unpinned, and the spin rows do not spin"
            );
            [None, None]
        }
    };
    let limit = Limit {
        count: run.count(1_000_000, 200),
        time: if run.full {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(200)
        },
    };
    let mut latency = Table::new(
        "Round trip, one message in flight (µs)",
        &[
            "path",
            "p50",
            "p99",
            "p99.9",
            "max",
            "round trips/s",
            "samples",
        ],
    );
    let mut batched = Table::new(
        "Throughput, 16 in flight",
        &["path", "per second", "ns each"],
    );
    type Case = fn(Env, Limit) -> Outcome;
    // The last two rows: the same cross-core paths with executors that spin before parking,
    // which the server does not do (glommio's default): the difference is the cost of waking a
    // parked peer.
    let spin = Some(SPIN_BEFORE_PARK);
    let cases: [(&str, Case, Option<Duration>); 6] = [
        (
            "same core, local channel (u64 echo)",
            local_channel_echo,
            None,
        ),
        ("same core, router inline GET", router_inline, None),
        ("cross core, bare mesh (u64 echo)", mesh_echo, None),
        ("cross core, router GET", router_cross, None),
        ("cross core, bare mesh, spin 50 us", mesh_echo, spin),
        ("cross core, router GET, spin 50 us", router_cross, spin),
    ];
    for (name, case, spin) in cases {
        if !run.wants(name) {
            continue;
        }
        let out = case(Env { pins, spin }, limit);
        let mut row = vec![name.to_string()];
        row.extend(common::latency_cells(&out.latency));
        row.push(common::group_thousands(out.single_per_s));
        row.push(common::group_thousands(out.latency.len() as f64));
        latency.push(row);
        for (what, per_s) in out.batched {
            batched.push(vec![
                format!("{name}: {what}"),
                common::group_thousands(per_s),
                format!("{:.0}", 1e9 / per_s),
            ]);
        }
    }
    latency.print();
    batched.print();
}

/// What one case measured.
struct Outcome {
    latency: Histogram<u64>,
    /// Round trips per second with one in flight.
    single_per_s: f64,
    /// (what was counted, per second) with 16 in flight.
    batched: Vec<(&'static str, f64)>,
}

/// Runs `fut` on a new executor configured as the server configures a shard's, on executor
/// `which` (0 or 1) of `env`. In the spinning rows the executor is built with
/// `Placement::Fixed(cpu)` instead: glommio ignores `spin_before_park` for `Unbound`
/// executors (the server's placement), so spinning would take that change in the server too.
fn on_executor<T, F, Fut>(
    name: &str,
    env: Env,
    which: usize,
    fut: F,
) -> glommio::ExecutorJoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    let mut cpu = env.pins[which];
    let builder = match (env.spin, cpu.take()) {
        (Some(spin), Some(fixed)) => {
            LocalExecutorBuilder::new(Placement::Fixed(fixed)).spin_before_park(spin)
        }
        (_, unpinned) => {
            cpu = unpinned;
            LocalExecutorBuilder::new(Placement::Unbound)
        }
    };
    builder
        .name(name)
        .spawn(move || async move {
            if let Some(cpu) = cpu {
                corekv::config::pin_current_thread(cpu).expect("pin to a CPU of our mask");
            }
            common::spawn_ticker();
            fut().await
        })
        .expect("start a glommio executor")
}

/// Times round trips one at a time, then with [`IN_FLIGHT`] outstanding, each phase within
/// `limit`. `start(i)` sends one message and returns what `finish` waits on.
async fn measure<P>(
    limit: Limit,
    mut start: impl AsyncFnMut(u64) -> P,
    mut finish: impl AsyncFnMut(P),
) -> (Histogram<u64>, f64, f64) {
    let mut hist = common::histogram();
    let t0 = Instant::now();
    let mut done = 0;
    while !limit.reached(done, t0) {
        let t = Instant::now();
        let p = start(done).await;
        finish(p).await;
        let _ = hist.record(t.elapsed().as_nanos() as u64);
        done += 1;
    }
    let single_per_s = done as f64 / t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let mut done = 0;
    let mut pending = Vec::with_capacity(IN_FLIGHT);
    while !limit.reached(done, t0) {
        for j in 0..IN_FLIGHT as u64 {
            pending.push(start(done + j).await);
        }
        for p in pending.drain(..) {
            finish(p).await;
        }
        done += IN_FLIGHT as u64;
    }
    let batched_per_s = done as f64 / t0.elapsed().as_secs_f64();
    (hist, single_per_s, batched_per_s)
}

fn local_channel_echo(env: Env, limit: Limit) -> Outcome {
    on_executor("hop-local", env, 0, move || async move {
        let (req_tx, req_rx) = local_channel::new_bounded::<u64>(CAPACITY);
        let (resp_tx, resp_rx) = local_channel::new_bounded::<u64>(CAPACITY);
        let echo = glommio::spawn_local(async move {
            while let Some(x) = req_rx.recv().await {
                if resp_tx.send(x).await.is_err() {
                    break;
                }
            }
        });
        let (latency, single, batched) = measure(
            limit,
            async |i| {
                req_tx.send(i).await.expect("echo task alive");
                i
            },
            async |i| assert_eq!(resp_rx.recv().await, Some(i)),
        )
        .await;
        drop(req_tx);
        echo.await;
        Outcome {
            latency,
            single_per_s: single,
            batched: vec![("messages", batched)],
        }
    })
    .join()
    .expect("executor ran")
}

fn mesh_echo(env: Env, limit: Limit) -> Outcome {
    let mesh = MeshBuilder::<u64, _>::full(2, CAPACITY);
    let peer = mesh.clone();
    let echo = on_executor("hop-echo", env, 1, move || async move {
        let (tx, rx) = peer.join().await.expect("join the mesh");
        let other = 1 - tx.peer_id();
        while let Ok(Some(x)) = rx.recv_from(other).await {
            if x == STOP || tx.send_to(other, x).await.is_err() {
                break;
            }
        }
    });
    let out = on_executor("hop-main", env, 0, move || async move {
        let (tx, rx) = mesh.join().await.expect("join the mesh");
        let other = 1 - tx.peer_id();
        let (latency, single, batched) = measure(
            limit,
            async |i| {
                tx.send_to(other, i).await.expect("peer alive");
                i
            },
            async |i| assert_eq!(rx.recv_from(other).await.ok().flatten(), Some(i)),
        )
        .await;
        let _ = tx.send_to(other, STOP).await;
        Outcome {
            latency,
            single_per_s: single,
            batched: vec![("messages", batched)],
        }
    });
    let out = out.join().expect("executor ran");
    echo.join().expect("echo executor ran");
    out
}

/// A key that `shard_for_key` puts on shard 1 of 2, and its value.
fn remote_key() -> (Bytes, Bytes) {
    let key = (0..)
        .map(|i| format!("key:{i:06}"))
        .find(|k| shard_for_key(k.as_bytes(), 2) == 1)
        .expect("some key lives on shard 1");
    (Bytes::from(key), Bytes::from(vec![b'v'; 16]))
}

fn exec(name: &[u8], args: &[&Bytes]) -> ShardOp {
    let spec = commands::lookup(name).expect("registered command");
    let mut argv = vec![Bytes::copy_from_slice(name)];
    argv.extend(args.iter().map(|a| (*a).clone()));
    ShardOp::Exec {
        spec,
        db: 0,
        args: argv,
        count_call: true,
        client: NO_CLIENT,
    }
}

/// Waits for `pending` and checks each reply is the GET of `value`.
async fn expect_values(pending: Pending, nr_ops: usize, value: &Bytes) {
    let replies = pending.wait(nr_ops).await;
    assert_eq!(replies.len(), nr_ops);
    for r in replies {
        match r {
            ShardReply::Reply(Reply::Bulk(v)) if v == *value => {}
            ShardReply::Reply(other) => panic!("GET answered {other:?}"),
            ShardReply::Any(_) => panic!("GET answered a task result"),
        }
    }
}

/// The router measurements, run on core 0 against `target`; `router` is core 0's.
async fn router_measure(router: Rc<Router>, target: usize, limit: Limit) -> Outcome {
    let (key, value) = remote_key();
    let set = router
        .call(target, vec![exec(b"SET", &[&key, &value])])
        .await;
    assert!(matches!(set.as_slice(), [ShardReply::Reply(r)] if *r == Reply::ok()));
    let (latency, single, batched) = measure(
        limit,
        async |_| router.send(target, vec![exec(b"GET", &[&key])]).await,
        async |p| expect_values(p, 1, &value).await,
    )
    .await;
    // One message carrying 16 GETs, one in flight: ops per second.
    let t0 = Instant::now();
    let mut done = 0;
    while !limit.reached(done, t0) {
        let ops = (0..IN_FLIGHT).map(|_| exec(b"GET", &[&key])).collect();
        expect_values(router.send(target, ops).await, IN_FLIGHT, &value).await;
        done += IN_FLIGHT as u64;
    }
    let grouped = done as f64 / t0.elapsed().as_secs_f64();
    Outcome {
        latency,
        single_per_s: single,
        batched: vec![
            ("messages of 1 GET", batched),
            ("1 message of 16 GETs, GETs", grouped),
        ],
    }
}

fn new_shard(id: usize, nr_shards: usize) -> Rc<RefCell<Shard>> {
    Rc::new(RefCell::new(Shard::new(id, nr_shards, 1)))
}

fn router_inline(env: Env, limit: Limit) -> Outcome {
    on_executor("hop-inline", env, 0, move || async move {
        let builders = MeshBuilders::new(1, CAPACITY);
        let router = Router::start(builders, new_shard(0, 1), 0, 1).await;
        router_measure(router, 0, limit).await
    })
    .join()
    .expect("executor ran")
}

fn router_cross(env: Env, limit: Limit) -> Outcome {
    let builders = MeshBuilders::new(2, CAPACITY);
    // Shard 1's executor serves the router until core 0 says stop.
    let (stop_tx, stop_rx) = shared_channel::new_bounded::<()>(1);
    let peer = builders.clone();
    // glommio numbers mesh peers in the order their executors were created, and the router
    // wants peer id == shard id: shard 0's executor first, as `server::run` does.
    let out = on_executor("hop-shard0", env, 0, move || async move {
        let stop = stop_tx.connect().await;
        let router = Router::start(builders, new_shard(0, 2), 0, 2).await;
        let out = router_measure(router, 1, limit).await;
        let _ = stop.send(()).await;
        out
    });
    let server = on_executor("hop-shard1", env, 1, move || async move {
        let stop = stop_rx.connect().await;
        let _router = Router::start(peer, new_shard(1, 2), 1, 2).await;
        let _ = stop.recv().await;
    });
    let out = out.join().expect("executor ran");
    server.join().expect("shard 1 executor ran");
    out
}

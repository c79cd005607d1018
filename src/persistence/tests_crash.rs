//! Model-based crash tests: random SET/DEL/FLUSHDB workloads with random syncs, rotations,
//! rewrites and injected faults run against [`MemStorage`], which then crashes at a random
//! operation (in the middle of a rewrite, between manifest steps, during recovery itself).
//! After each crash the log is recovered, replayed into a `BTreeMap` and checked:
//!
//! - **nothing acknowledged is lost**: the state reflects every command whose LSN is at most
//!   the durable position the log reported (or that a finished rewrite's base covered);
//! - **nothing is invented**: the state equals the model after some prefix of the commands,
//!   at least that durable prefix.

use std::cell::RefCell;
use std::collections::BTreeMap;

use bytes::Bytes;
use futures_lite::future::{block_on, yield_now, zip};

use super::tests_log::{opts, shard0};
use super::*;
use crate::util::Rng;

type Model = BTreeMap<(u16, Vec<u8>), Vec<u8>>;

fn apply(model: &mut Model, db: u16, args: &[Bytes]) {
    match args[0].as_ref() {
        b"SET" => {
            model.insert((db, args[1].to_vec()), args[2].to_vec());
        }
        b"DEL" => {
            model.remove(&(db, args[1].to_vec()));
        }
        b"FLUSHDB" => model.retain(|(d, _), _| *d != db),
        other => panic!("unexpected command {other:?}"),
    }
}

fn random_command(rng: &mut Rng) -> (u16, Vec<Bytes>) {
    let db = (rng.next_u64() % 2) as u16;
    let key = Bytes::from(format!("k{}", rng.next_u64() % 8));
    let args = match rng.next_u64() % 10 {
        0..=5 => {
            let len = (rng.next_u64() % 40) as usize;
            let v: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            vec![Bytes::from_static(b"SET"), key, Bytes::from(v)]
        }
        6..=8 => vec![Bytes::from_static(b"DEL"), key],
        _ => vec![Bytes::from_static(b"FLUSHDB")],
    };
    (db, args)
}

/// What one process lifetime does after recovery.
#[derive(Clone, Copy, Debug)]
enum Action {
    Command,
    Sync,
    Flush,
    Rotate,
    /// A rewrite whose base is written in chunks with `interleave` commands between them;
    /// `end`: 0 finish, 1 abort, 2 drop the handle.
    Rewrite {
        interleave: u32,
        end: u8,
    },
}

fn random_actions(rng: &mut Rng, n: usize) -> Vec<Action> {
    (0..n)
        .map(|_| match rng.next_u64() % 100 {
            0..=59 => Action::Command,
            60..=74 => Action::Sync,
            75..=79 => Action::Flush,
            80..=86 => Action::Rotate,
            r => Action::Rewrite {
                interleave: (rng.next_u64() % 4) as u32,
                end: match r % 10 {
                    0 => 1,
                    1 => 2,
                    _ => 0,
                },
            },
        })
        .collect()
}

/// The commands of one lifetime: `history[i]` is the state after `i` commands.
struct Life {
    history: Vec<Model>,
    lsns: Vec<Lsn>,
    /// The history index every later recovery must reach at least.
    floor: usize,
}

impl Life {
    fn model(&self) -> &Model {
        self.history
            .last()
            .expect("starts with the recovered state")
    }

    fn command(&mut self, log: &Log<MemStorage>, rng: &mut Rng) {
        if log.is_poisoned() {
            return; // the server refuses writes (MISCONF) while the log is poisoned
        }
        let (db, args) = random_command(rng);
        let lsn = log
            .append_command(db, &args)
            .expect("append only fails when poisoned");
        let mut next = self.model().clone();
        apply(&mut next, db, &args);
        self.history.push(next);
        self.lsns.push(lsn);
    }

    /// Raises the floor to what the log now claims is durable.
    fn observe(&mut self, log: &Log<MemStorage>) {
        let durable = log.durable_lsn();
        let count = self.lsns.partition_point(|&l| l <= durable);
        self.floor = self.floor.max(count);
    }

    fn allowed(&self) -> Vec<Model> {
        self.history[self.floor..].to_vec()
    }
}

/// What the tasks of one lifetime share. No borrow is held across an `.await`.
struct Ctx<'a> {
    log: &'a Log<MemStorage>,
    mem: &'a MemStorage,
    life: RefCell<Life>,
    rng: RefCell<Rng>,
}

impl Ctx<'_> {
    fn command(&self) {
        self.life
            .borrow_mut()
            .command(self.log, &mut self.rng.borrow_mut());
    }

    fn observe(&self) {
        self.life.borrow_mut().observe(self.log);
    }

    fn chance(&self, one_in: u64) -> bool {
        self.rng.borrow_mut().next_u64().is_multiple_of(one_in)
    }
}

async fn rewrite(cx: &Ctx<'_>, interleave: u32, end: u8) {
    let log = cx.log;
    let heals = log.is_poisoned();
    // The snapshot and the switch happen in one synchronous stretch (the first poll).
    let snap_index = cx.life.borrow().history.len() - 1;
    let snapshot = cx.life.borrow().model().clone();
    let Ok(mut base) = log.start_rewrite().await else {
        return;
    };
    let entries: Vec<_> = snapshot.into_iter().collect();
    for chunk in entries.chunks(3) {
        for ((db, k), v) in chunk {
            let args = [&b"SET"[..], &k[..], &v[..]];
            if base.append_command(*db, &args).await.is_err() {
                log.abort_rewrite(base).await;
                return;
            }
        }
        for _ in 0..interleave {
            cx.command();
        }
        if cx.chance(3) && log.sync().await.is_ok() {
            cx.observe();
        }
    }
    match end {
        0 => {
            // While healing, appends are refused: everything appended so far is in the base.
            let appended = log.appended_lsn();
            if log.finish_rewrite(base).await.is_ok() {
                let mut life = cx.life.borrow_mut();
                life.floor = life.floor.max(snap_index);
                if heals {
                    assert!(
                        log.durable_lsn() >= appended,
                        "healing makes everything durable"
                    );
                }
            }
        }
        1 => log.abort_rewrite(base).await,
        _ => drop(base),
    }
}

async fn run_actions(cx: &Ctx<'_>, actions: &[Action]) {
    let log = cx.log;
    for &action in actions {
        if cx.mem.is_crashed() {
            return;
        }
        match action {
            Action::Command => cx.command(),
            Action::Sync => {
                let before = log.durable_lsn();
                if let Ok(d) = log.sync().await {
                    assert!(d >= before && d <= log.durable_lsn());
                }
            }
            Action::Flush => drop(log.flush().await),
            Action::Rotate => drop(log.rotate().await),
            Action::Rewrite { interleave, end } => rewrite(cx, interleave, end).await,
        }
        cx.observe();
        if log.is_poisoned() && !cx.mem.is_crashed() && cx.chance(3) {
            rewrite(cx, 0, 0).await; // heal
            cx.observe();
        }
    }
}

/// A second task appending while the first waits on the disk: group commit's pattern.
async fn run_appender(cx: &Ctx<'_>, commands: usize) {
    for _ in 0..commands {
        yield_now().await;
        if cx.mem.is_crashed() {
            return;
        }
        cx.command();
    }
}

/// One process lifetime: recover (checking the state is allowed), then run `actions`, with
/// `concurrent_commands` appended by a second task meanwhile. Returns the states the next
/// recovery may produce.
async fn lifetime(
    mem: &MemStorage,
    rng: Rng,
    allowed: Vec<Model>,
    actions: &[Action],
    concurrent_commands: usize,
    seed: u64,
) -> Vec<Model> {
    let mut model = Model::new();
    let mut recovery = match Recovery::open(mem.clone(), &shard0(), opts()).await {
        Ok(r) => r,
        Err(LogError::Io { .. }) => return allowed, // crashed or an injected fault
        Err(e) => panic!("seed {seed}: recovery failed: {e}"),
    };
    loop {
        match recovery.next().await {
            Ok(Some(payload)) => {
                let (db, args) = decode_command_bytes(&payload).expect("valid command");
                apply(&mut model, db, &args);
            }
            Ok(None) => break,
            Err(LogError::Io { .. }) => return allowed,
            Err(e) => panic!("seed {seed}: recovery failed: {e}"),
        }
    }
    assert!(
        allowed.contains(&model),
        "seed {seed}: recovered state is not an allowed prefix\n got {model:?}\n allowed {allowed:?}"
    );
    // From here the data on disk is exactly `model` until new commands are logged.
    let (log, _) = match recovery.finish().await {
        Ok(x) => x,
        Err(LogError::Io { .. }) => return vec![model],
        Err(e) => panic!("seed {seed}: finishing recovery failed: {e}"),
    };
    let cx = Ctx {
        log: &log,
        mem,
        life: RefCell::new(Life {
            history: vec![model],
            lsns: Vec::new(),
            floor: 0,
        }),
        rng: RefCell::new(rng),
    };
    zip(
        run_actions(&cx, actions),
        run_appender(&cx, concurrent_commands),
    )
    .await;
    cx.observe();
    cx.life.borrow().allowed()
}

fn torn_mode(seed: u64) -> TornWrites {
    match seed % 3 {
        0 => TornWrites::Drop,
        1 => TornWrites::Prefix,
        _ => TornWrites::PrefixOrZeros,
    }
}

#[test]
fn random_workloads_survive_crashes_at_random_operations() {
    for seed in 0..400u64 {
        let mem = MemStorage::new(seed);
        mem.set_torn_writes(torn_mode(seed));
        // Every fourth seed interleaves an appending task with the I/O (group commit).
        let concurrent = seed % 4 == 3;
        mem.set_yield_each_op(concurrent);
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1);
        let mut allowed = vec![Model::new()];
        for life in 0..5 {
            let actions = random_actions(&mut rng, 120);
            if life < 4 {
                mem.crash_after(rng.next_u64() % 400);
            }
            if rng.next_u64().is_multiple_of(4) {
                let fault = if rng.next_u64().is_multiple_of(2) {
                    Fault::Eio
                } else {
                    Fault::Enospc
                };
                mem.fail_op(rng.next_u64() % 300, fault);
            }
            let appends = if concurrent { 60 } else { 0 };
            let life_rng = Rng::new(rng.next_u64());
            allowed = block_on(lifetime(&mem, life_rng, allowed, &actions, appends, seed));
            mem.crash();
        }
        block_on(lifetime(&mem, Rng::new(seed), allowed, &[], 0, seed));
    }
}

/// A fixed script, crashed at every one of its operations in turn: covers each step of
/// rotation, rewrite and the manifest protocol deterministically.
#[test]
fn scripted_rewrite_survives_a_crash_at_every_operation() {
    use Action::*;
    let script = [
        Command,
        Command,
        Sync,
        Command,
        Rotate,
        Command,
        Flush,
        Command,
        Rewrite {
            interleave: 2,
            end: 0,
        },
        Command,
        Sync,
        Command,
        Rotate,
        Rewrite {
            interleave: 1,
            end: 0,
        },
        Command,
        Sync,
    ];
    let total_ops = {
        let mem = MemStorage::new(1);
        block_on(lifetime(
            &mem,
            Rng::new(1),
            vec![Model::new()],
            &script,
            0,
            0,
        ));
        mem.op_count()
    };
    assert!(
        total_ops > 40,
        "the script does real work: {total_ops} operations"
    );
    for crash_at in 0..=total_ops {
        for torn in [
            TornWrites::Drop,
            TornWrites::Prefix,
            TornWrites::PrefixOrZeros,
        ] {
            let mem = MemStorage::new(crash_at);
            mem.set_torn_writes(torn);
            mem.crash_after(crash_at);
            let allowed = block_on(lifetime(
                &mem,
                Rng::new(1),
                vec![Model::new()],
                &script,
                0,
                crash_at,
            ));
            mem.crash();
            let allowed = block_on(lifetime(
                &mem,
                Rng::new(2),
                allowed,
                &[Command, Sync],
                0,
                crash_at,
            ));
            mem.crash();
            block_on(lifetime(&mem, Rng::new(3), allowed, &[], 0, crash_at));
        }
    }
}

/// Random damage to a valid log (flipped bytes, truncation, garbage or zeros appended, a zeroed
/// range) never makes recovery panic, never yields a record that was not written, and with
/// `load_truncated` always recovers a prefix of the records.
#[test]
fn random_damage_recovers_a_prefix_or_fails_cleanly() {
    let build = || {
        let mem = MemStorage::new(77);
        let mut written = Vec::new();
        block_on(async {
            let (log, _, _) = super::tests_log::open_with(mem.clone(), &shard0(), opts())
                .await
                .unwrap();
            let mut rng = Rng::new(5);
            for i in 0..30 {
                let (db, args) = random_command(&mut rng);
                log.append_command(db, &args).unwrap();
                written.push(Bytes::from(encode_command(db, &args)));
                if i % 10 == 9 {
                    log.rotate().await.unwrap();
                }
            }
            log.sync().await.unwrap();
        });
        (mem, written)
    };
    let mut rng = Rng::new(99);
    for case in 0..600 {
        let (mem, written) = build();
        let segments: Vec<_> = mem
            .paths()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "incr"))
            .collect();
        let path = &segments[(rng.next_u64() % segments.len() as u64) as usize];
        let mut bytes = mem.read(path).unwrap();
        let at = (rng.next_u64() % bytes.len() as u64) as usize;
        match case % 5 {
            0 => bytes[at] ^= 1 << (rng.next_u64() % 8),
            1 => bytes.truncate(at),
            2 => bytes.extend((0..at % 64 + 1).map(|_| rng.next_u64() as u8)),
            3 => bytes.extend(std::iter::repeat_n(0, at % 5000 + 1)),
            _ => {
                let end = (at + 9).min(bytes.len());
                bytes[at..end].fill(0);
            }
        }
        mem.overwrite(path, &bytes);
        let is_prefix = |got: &[Bytes]| got.len() <= written.len() && got == &written[..got.len()];
        match block_on(super::tests_log::open_with(mem.clone(), &shard0(), opts())) {
            Ok((_, got, _)) => assert!(is_prefix(&got), "case {case}: default open"),
            Err(e) => assert!(e.is_overridable(), "case {case}: {e}"),
        }
        let mut lenient = opts();
        lenient.load_truncated = true;
        let (_, got, _) = block_on(super::tests_log::open_with(mem.clone(), &shard0(), lenient))
            .unwrap_or_else(|e| panic!("case {case}: load_truncated failed: {e}"));
        assert!(is_prefix(&got), "case {case}: load_truncated");
    }
}

/// `load_truncated` repairing mid-log damage, crashed at every operation of the repair: before
/// the shortened manifest is durable the damage is found again; after it, a plain open is clean.
#[test]
fn load_truncated_repair_survives_a_crash_at_every_operation() {
    let build = || {
        let mem = MemStorage::new(3);
        block_on(async {
            let (log, _, _) = super::tests_log::open_with(mem.clone(), &shard0(), opts())
                .await
                .unwrap();
            for i in 0..9u8 {
                log.append(&[i + 1]).unwrap();
                if i % 3 == 2 {
                    log.rotate().await.unwrap();
                }
            }
            log.sync().await.unwrap();
        });
        let mut segs: Vec<_> = mem
            .paths()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "incr"))
            .collect();
        segs.sort();
        let mut middle = mem.read(&segs[1]).unwrap();
        middle[44 + 9 + 8] ^= 1; // the second record of the middle segment
        mem.overwrite(&segs[1], &middle);
        mem
    };
    let mut lenient = opts();
    lenient.load_truncated = true;
    let repair_ops = {
        let mem = build();
        let before = mem.op_count();
        block_on(super::tests_log::open_with(
            mem.clone(),
            &shard0(),
            lenient.clone(),
        ))
        .unwrap();
        mem.op_count() - before
    };
    for crash_at in 0..repair_ops {
        let mem = build();
        let manifest = shard0().join(MANIFEST_FILE);
        let original = mem.read(&manifest).unwrap();
        mem.set_torn_writes(TornWrites::Prefix);
        mem.crash_after(crash_at);
        // It may even succeed: a crash in the best-effort orphan cleanup goes unnoticed.
        let _ = block_on(super::tests_log::open_with(
            mem.clone(),
            &shard0(),
            lenient.clone(),
        ));
        mem.crash();
        let repaired = mem.read(&manifest).unwrap() != original;
        match block_on(super::tests_log::open_with(mem.clone(), &shard0(), opts())) {
            Ok((_, got, _)) => {
                assert!(
                    repaired,
                    "crash at {crash_at}: damage vanished without a repair"
                );
                assert_eq!(
                    got,
                    vec![
                        Bytes::from_static(&[1]),
                        Bytes::from_static(&[2]),
                        Bytes::from_static(&[3]),
                        Bytes::from_static(&[4])
                    ]
                );
            }
            Err(e) => assert!(!repaired && e.is_overridable(), "crash at {crash_at}: {e}"),
        }
    }
}

//! `CONFIG SET appendonly yes|no` at runtime, as Redis allows.
//!
//! - **Off**: every shard stops recording effects, fdatasyncs its log and closes it. The files
//!   stay; they are stale from then on (as Redis's AOF is after `appendonly no`).
//! - **On**: a fresh generation is written from memory, because whatever is on disk is stale.
//!   Each shard opens a new log in `gen-<G+1>/shard-<j>`, starts logging (so no write is
//!   missed), and rewrites: the base is its data at that instant. When every shard's base is
//!   durable, `LAYOUT` switches to the new generation (INFO shows the rewrite meanwhile). A
//!   crash before the switch restarts from the previous generation, exactly like a crash
//!   during Redis's first rewrite after `appendonly yes`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::{ShardAof, driver, layout};
use crate::config::Fsync;
use crate::core::Core;
use crate::persistence::{LogOptions, Recovery, UringStorage};
use crate::shard::Shard;

/// Set while a change is under way (turning on lasts until the `LAYOUT` switch).
static BUSY: AtomicBool = AtomicBool::new(false);
static ENABLED_SHARDS: AtomicUsize = AtomicUsize::new(0);
static ENABLE_FAILED: AtomicBool = AtomicBool::new(false);

/// Applies `appendonly` = `on`. Errors are CONFIG SET's reason text.
pub async fn set_appendonly(core: &Core, on: bool) -> Result<(), String> {
    if BUSY.swap(true, Ordering::SeqCst) {
        return Err("a change of appendonly is still in progress".into());
    }
    let result = if on {
        enable(core).await
    } else {
        disable(core).await
    };
    if !on || result.is_err() {
        BUSY.store(false, Ordering::SeqCst);
    }
    result
}

async fn disable(core: &Core) -> Result<(), String> {
    core.router
        .run_on_all(|s| {
            if let Some(aof) = s.aof.take() {
                s.update_journaling();
                glommio::spawn_local(async move { driver::close(&aof).await }).detach();
            }
        })
        .await;
    tracing::warn!("append-only log turned off (CONFIG SET appendonly no)");
    Ok(())
}

async fn enable(core: &Core) -> Result<(), String> {
    let dir = core.config.dir.clone();
    let probe = dir.clone();
    let generation = glommio::executor()
        .spawn_blocking(move || layout::next_generation(&probe))
        .await?;
    let fsync = Fsync::parse(core.params.borrow().text("appendfsync")).unwrap_or(Fsync::EverySec);
    let n = core.nr_shards();
    ENABLED_SHARDS.store(0, Ordering::SeqCst);
    ENABLE_FAILED.store(false, Ordering::SeqCst);
    let shard_dir = dir.clone();
    core.router
        .run_on_all(move |s| {
            if s.aof.is_some() {
                ENABLED_SHARDS.fetch_add(1, Ordering::SeqCst);
                return;
            }
            let Some(c) = Core::current() else {
                ENABLE_FAILED.store(true, Ordering::SeqCst);
                return;
            };
            let shard = c.router.local().clone();
            let path = layout::shard_dir(&shard_dir, generation, s.id);
            let id = s.id;
            glommio::spawn_local(enable_shard(shard, id, path, fsync)).detach();
        })
        .await;
    glommio::spawn_local(async move {
        while ENABLED_SHARDS.load(Ordering::SeqCst) < n && !ENABLE_FAILED.load(Ordering::SeqCst) {
            glommio::timer::sleep(Duration::from_millis(5)).await;
        }
        if ENABLE_FAILED.load(Ordering::SeqCst) {
            tracing::error!("turning the append-only log on failed; LAYOUT left unchanged");
        } else {
            let switched = glommio::executor()
                .spawn_blocking(move || layout::switch_to(&dir, n, generation))
                .await;
            match switched {
                Ok(()) => tracing::warn!(generation, "append-only log turned on"),
                Err(e) => tracing::error!("{e}"),
            }
        }
        BUSY.store(false, Ordering::SeqCst);
    })
    .detach();
    Ok(())
}

/// One shard: a fresh log, logging on, then a rewrite that writes its data as the base.
async fn enable_shard(shard: Rc<RefCell<Shard>>, id: usize, dir: PathBuf, fsync: Fsync) {
    // Spawned from inside a shard closure: let it return (and release the shard) first.
    crate::util::yield_once().await;
    let opened = async {
        let mut rec = Recovery::open(UringStorage, &dir, LogOptions::new(id as u32)).await?;
        while rec.next().await?.is_some() {}
        rec.finish().await
    }
    .await;
    let log = match opened {
        Ok((log, _)) => log,
        Err(e) => {
            tracing::error!(shard = id, error = %e, "cannot create the append-only log");
            ENABLE_FAILED.store(true, Ordering::SeqCst);
            return;
        }
    };
    let aof = Rc::new(ShardAof::new(log, fsync));
    {
        let mut s = shard.borrow_mut();
        s.aof = Some(aof.clone());
        s.update_journaling();
    }
    glommio::spawn_local(driver::commit_loop(aof.clone())).detach();
    glommio::spawn_local(driver::housekeeping(shard.clone(), aof.clone())).detach();
    match super::rewrite::rewrite(&shard, &aof).await {
        Ok(_) => {
            ENABLED_SHARDS.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) => {
            tracing::error!(shard = id, error = %e, "the first rewrite of the new log failed");
            ENABLE_FAILED.store(true, Ordering::SeqCst);
        }
    }
}

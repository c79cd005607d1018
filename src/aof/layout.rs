//! The data directory (`--dir`): which shard directories hold the current data.
//!
//! ```text
//! <dir>/LAYOUT                  "corekv-layout 1\nshards N\ngeneration G\n"
//! <dir>/gen-<G>/shard-<j>/      one log per shard j in 0..N (MANIFEST + segments)
//! ```
//!
//! `LAYOUT` is the single source of truth: only the generation it names is data; any other
//! `gen-*` directory is the leftover of an interrupted re-sharding (or of the one before the
//! switch) and is deleted at start. It is replaced atomically (temp file, fsync, rename, fsync
//! the directory), so a crash at any point leaves either the old or the new generation in
//! force, never a mix.
//!
//! Changing `--shards` from M to N writes generation G+1: every new shard replays all M old
//! logs, keeps the records whose keys it now owns, writes them as its new base, and only
//! when all N bases are durable does shard 0 switch `LAYOUT` to G+1 (see `load`). Until
//! then the old generation is untouched.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const LAYOUT_FILE: &str = "LAYOUT";
const LAYOUT_TMP_FILE: &str = "LAYOUT.tmp";
const MAGIC_LINE: &str = "corekv-layout 1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shards: usize,
    pub generation: u64,
}

/// What each shard does at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Open `gen-<generation>/shard-<j>` and replay it.
    Open { generation: u64 },
    /// Replay every shard of `from` (with `from_shards` shards), keep the keys this shard owns
    /// now, write them to generation `to`, then switch `LAYOUT`.
    Reshard {
        from: u64,
        from_shards: usize,
        to: u64,
    },
}

pub fn generation_dir(data_dir: &Path, generation: u64) -> PathBuf {
    data_dir.join(format!("gen-{generation}"))
}

pub fn shard_dir(data_dir: &Path, generation: u64, shard: usize) -> PathBuf {
    crate::persistence::shard_dir(&generation_dir(data_dir, generation), shard as u32)
}

pub fn encode(l: &Layout) -> String {
    format!(
        "{MAGIC_LINE}\nshards {}\ngeneration {}\n",
        l.shards, l.generation
    )
}

pub fn decode(text: &str) -> Result<Layout, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC_LINE) {
        return Err(format!("first line is not '{MAGIC_LINE}'"));
    }
    let mut field = |name: &str| -> Result<u64, String> {
        let line = lines.next().unwrap_or("");
        line.strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("expected '{name} <number>', found '{line}'"))
    };
    let shards = field("shards")?;
    let generation = field("generation")?;
    if shards == 0 || shards > crate::config::MAX_SHARDS as u64 || generation == 0 {
        return Err("shard count or generation out of range".into());
    }
    Ok(Layout {
        shards: shards as usize,
        generation,
    })
}

/// Reads `<dir>/LAYOUT`: `Ok(None)` when it does not exist.
pub fn read(data_dir: &Path) -> Result<Option<Layout>, String> {
    let path = data_dir.join(LAYOUT_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => decode(&text)
            .map(Some)
            .map_err(|why| format!("{}: bad layout file: {why}", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Atomically replaces `<dir>/LAYOUT` (blocking; used at start and once per re-sharding).
pub fn write(data_dir: &Path, l: &Layout) -> io::Result<()> {
    let tmp = data_dir.join(LAYOUT_TMP_FILE);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(encode(l).as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, data_dir.join(LAYOUT_FILE))?;
    fs::File::open(data_dir)?.sync_all()
}

fn generations_on_disk(data_dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(data_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(g) = name.strip_prefix("gen-").and_then(|g| g.parse().ok())
            && entry.file_type()?.is_dir()
        {
            out.push((g, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Prepares the data directory for `shards` shards and says what each shard does. Creates
/// the directory and a fresh `LAYOUT` on first start; deletes generations `LAYOUT` does not
/// name. Blocking: called once, before the executors start.
pub fn prepare(data_dir: &Path, shards: usize) -> Result<Plan, String> {
    let shown = data_dir.display();
    fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let on_disk = generations_on_disk(data_dir).map_err(|e| format!("cannot list {shown}: {e}"))?;
    let layout = match read(data_dir)? {
        Some(l) => l,
        None => {
            if let Some((_, dir)) = on_disk.first() {
                return Err(format!(
                    "{}: the layout file is missing but {} exists; refusing to start \
                     (restore {LAYOUT_FILE} or move the directory away)",
                    data_dir.join(LAYOUT_FILE).display(),
                    dir.display()
                ));
            }
            let fresh = Layout {
                shards,
                generation: 1,
            };
            write(data_dir, &fresh).map_err(|e| format!("cannot write {shown}/LAYOUT: {e}"))?;
            fresh
        }
    };
    for (g, dir) in on_disk {
        if g != layout.generation {
            tracing::warn!(dir = %dir.display(), "removing a generation LAYOUT does not name");
            fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
        }
    }
    if layout.shards == shards {
        Ok(Plan::Open {
            generation: layout.generation,
        })
    } else {
        tracing::warn!(
            from = layout.shards,
            to = shards,
            "shard count changed: re-routing every record into a new generation"
        );
        Ok(Plan::Reshard {
            from: layout.generation,
            from_shards: layout.shards,
            to: layout.generation + 1,
        })
    }
}

/// For turning the log on at runtime (CONFIG SET appendonly yes): the generation to write,
/// one past the current one, after deleting any other leftover generation. Blocking.
pub fn next_generation(data_dir: &Path) -> Result<u64, String> {
    let shown = data_dir.display();
    fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let current = read(data_dir)?.map(|l| l.generation);
    let on_disk = generations_on_disk(data_dir).map_err(|e| format!("cannot list {shown}: {e}"))?;
    for (g, dir) in on_disk {
        if Some(g) != current {
            fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
        }
    }
    Ok(current.map_or(1, |g| g + 1))
}

/// Makes `generation` (with `shards` shards) current and deletes the one before. Blocking.
pub fn switch_to(data_dir: &Path, shards: usize, generation: u64) -> Result<(), String> {
    write(data_dir, &Layout { shards, generation })
        .map_err(|e| format!("cannot write {}/{LAYOUT_FILE}: {e}", data_dir.display()))?;
    for (g, dir) in generations_on_disk(data_dir).unwrap_or_default() {
        if g != generation
            && let Err(e) = fs::remove_dir_all(&dir)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove an old generation");
        }
    }
    Ok(())
}

/// For `check-log`: the shard directories of the current generation, if `data_dir` has a
/// `LAYOUT`.
pub fn current_shard_dirs(data_dir: &Path) -> Result<Option<Vec<PathBuf>>, String> {
    Ok(read(data_dir)?.map(|l| {
        (0..l.shards)
            .map(|j| shard_dir(data_dir, l.generation, j))
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("corekv-layout-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn layout_text_round_trips_and_rejects_garbage() {
        let l = Layout {
            shards: 4,
            generation: 7,
        };
        assert_eq!(decode(&encode(&l)), Ok(l));
        assert!(decode("corekv-layout 1\nshards 0\ngeneration 1\n").is_err());
        assert!(decode("corekv-layout 2\nshards 1\ngeneration 1\n").is_err());
        assert!(decode("corekv-layout 1\nshards x\ngeneration 1\n").is_err());
        assert!(decode("").is_err());
    }

    #[test]
    fn prepare_creates_then_opens_then_reshards_and_drops_orphans() {
        let d = tmp("prepare");
        assert_eq!(prepare(&d, 2), Ok(Plan::Open { generation: 1 }));
        assert_eq!(prepare(&d, 2), Ok(Plan::Open { generation: 1 }));
        fs::create_dir_all(generation_dir(&d, 2)).unwrap();
        assert_eq!(
            prepare(&d, 3),
            Ok(Plan::Reshard {
                from: 1,
                from_shards: 2,
                to: 2
            })
        );
        assert!(!generation_dir(&d, 2).exists(), "orphan generation removed");
        fs::remove_file(d.join(LAYOUT_FILE)).unwrap();
        fs::create_dir_all(generation_dir(&d, 1)).unwrap();
        let err = prepare(&d, 2).unwrap_err();
        assert!(err.contains("layout file is missing"), "{err}");
        let _ = fs::remove_dir_all(&d);
    }
}

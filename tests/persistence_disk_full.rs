//! A full disk: the log lives on a 4 MB tmpfs that a filler file mostly occupies. Once a log
//! write fails, writes and PING get `-MISCONF`, reads keep working and INFO says
//! `aof_last_write_status:err`; when the filler is deleted the server heals by itself within
//! seconds; after a restart every acknowledged write is there.
//!
//! Needs root (mount). Without it the test prints "SKIPPED: cannot mount tmpfs" and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{OK, Raw, Server, TempDir, bulk, err, info_fields};

const MISCONF: &str = "MISCONF Errors writing to the AOF file: No space left on device";
/// Most SETs tried while filling the disk (1 KB each; the free space is about 1 MB).
const MAX_FILL_WRITES: usize = 20_000;

/// A tmpfs mounted on a directory; unmounted on drop (lazily if something still holds it).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        let out = match Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                skipped(&format!("cannot run mount: {e}"));
                return None;
            }
        };
        if !out.status.success() {
            skipped(&format!(
                "mount on {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Says why the test did nothing, on the real stderr (libtest captures `eprintln!`).
fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: cannot mount tmpfs ({why})");
}

fn value(i: usize) -> String {
    format!("{i:08}-{}", "x".repeat(1016))
}

fn write_status(raw: &mut Raw) -> String {
    info_fields(raw, "persistence")["aof_last_write_status"].clone()
}

#[test]
fn full_disk_refuses_writes_until_space_returns_everysec() {
    full_disk("everysec", 1);
}

#[test]
fn full_disk_refuses_writes_until_space_returns_always_two_shards() {
    full_disk("always", 2);
}

/// Fills the disk under `policy` with `shards` shards, checks the refusals, frees space,
/// waits for the server to heal, restarts and checks every acknowledged write.
fn full_disk(policy: &str, shards: usize) {
    let temp = TempDir::new();
    let mount_point = temp.path().join("mnt");
    std::fs::create_dir_all(&mount_point).expect("mkdir");
    let Some(_tmpfs) = Tmpfs::mount(&mount_point, "4m") else {
        return;
    };
    let filler = mount_point.join("filler");
    std::fs::write(&filler, vec![0u8; 3 * 1024 * 1024]).expect("filler file");
    let data = mount_point.join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let args = ["--dir", &data_arg, "--appendfsync", policy];
    let mut server = Server::start(shards, &args);
    let mut raw = server.raw();

    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..MAX_FILL_WRITES {
        let reply = raw.q(&["SET", &format!("k{i}"), &value(i)]);
        if reply == OK {
            acked.push(i);
        } else {
            assert_eq!(reply, err(MISCONF), "SET k{i}");
            refused = Some(i);
            break;
        }
    }
    let refused = refused.expect("the disk never filled up");
    assert!(!acked.is_empty(), "not one write fit");
    // Reads work; writes and PING are refused; INFO says why.
    assert_eq!(raw.q(&["GET", "k0"]), bulk(&value(0)));
    let last = *acked.last().expect("acked");
    assert_eq!(raw.q(&["GET", &format!("k{last}")]), bulk(&value(last)));
    assert_eq!(raw.q(&["PING"]), err(MISCONF));
    assert_eq!(raw.q(&["SET", "another", "v"]), err(MISCONF));
    assert_eq!(write_status(&mut raw), "err");

    std::fs::remove_file(&filler).expect("delete the filler");
    let mut healed = false;
    for _attempt in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        match raw.q(&["SET", "probe", "v-probe"]) {
            r if r == OK => {
                healed = true;
                break;
            }
            r => assert_eq!(r, err(MISCONF), "SET while healing"),
        }
    }
    assert!(healed, "writes still refused 10 s after space came back");
    assert_eq!(write_status(&mut raw), "ok");
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n");
    let more: Vec<usize> = (refused + 1..refused + 101).collect();
    for &i in &more {
        assert_eq!(raw.q(&["SET", &format!("k{i}"), &value(i)]), OK);
    }
    assert_eq!(server.shutdown().code(), Some(0));

    let server = Server::start(shards, &args);
    let mut raw = server.raw();
    for i in acked.iter().chain(&more) {
        assert_eq!(raw.q(&["GET", &format!("k{i}")]), bulk(&value(*i)), "k{i}");
    }
    assert_eq!(raw.q(&["GET", "probe"]), bulk("v-probe"));
}

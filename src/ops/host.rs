//! What corekv checks about its host before it starts serving, as Redis does at startup:
//! - the locked-memory limit, which glommio's io_uring rings need (below it no shard can
//!   start, so corekv refuses at once, before touching the data directory, and says what to
//!   raise);
//! - `net.core.somaxconn` below `tcp-backlog`, which silently caps the accept queue (Redis's
//!   warning, same text);
//! - transparent huge pages in `always` mode, whose compaction stalls show up as latency
//!   spikes: corekv turns them off for itself with `prctl(PR_SET_THP_DISABLE)`, as Redis 7
//!   does with its default `disable-thp yes`.
//!
//! `tuning/check` reports the same host settings (and more) without starting a server.

use std::path::Path;

/// The locked memory glommio requires for one executor's io_uring rings (it refuses below
/// this: `MemLockLimit(have/524288)`).
pub const MIN_MEMLOCK_BYTES: u64 = 512 * 1024;

const SOMAXCONN: &str = "/proc/sys/net/core/somaxconn";
const THP_ENABLED: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// Runs the checks; an error means the server cannot start here.
pub fn check(tcp_backlog: i64) -> Result<(), String> {
    check_memlock(memlock_limit())?;
    if let Some(w) = read_int(Path::new(SOMAXCONN)).and_then(|s| somaxconn_warning(s, tcp_backlog))
    {
        tracing::warn!("{w}");
    }
    if let Ok(mode) = std::fs::read_to_string(THP_ENABLED)
        && thp_mode(&mode) == Some("always")
    {
        disable_thp();
    }
    Ok(())
}

/// The soft RLIMIT_MEMLOCK in bytes (`None`: unlimited or unknown).
fn memlock_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } == 0;
    (ok && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// An error naming the limit and how to raise it, when `limit` is below what glommio needs.
pub fn check_memlock(limit: Option<u64>) -> Result<(), String> {
    match limit {
        Some(have) if have < MIN_MEMLOCK_BYTES => Err(format!(
            "the locked-memory limit is {} KiB; corekv's io_uring rings need at least {} KiB: \
             raise it (`ulimit -l unlimited`, or LimitMEMLOCK=infinity in the systemd unit, as \
             tuning/systemd/corekv.service does)",
            have / 1024,
            MIN_MEMLOCK_BYTES / 1024
        )),
        _ => Ok(()),
    }
}

/// Redis's startup warning when the kernel caps the listen backlog below `tcp-backlog`.
pub fn somaxconn_warning(somaxconn: i64, tcp_backlog: i64) -> Option<String> {
    (somaxconn < tcp_backlog).then(|| {
        format!(
            "WARNING: The TCP backlog setting of {tcp_backlog} cannot be enforced because \
             {SOMAXCONN} is set to the lower value of {somaxconn}."
        )
    })
}

/// The selected mode in a `transparent_hugepage/enabled` file: `always [madvise] never` ->
/// `madvise`.
pub fn thp_mode(text: &str) -> Option<&str> {
    let start = text.find('[')? + 1;
    let len = text[start..].find(']')?;
    Some(&text[start..start + len])
}

fn read_int(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn disable_thp() {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc == 0 {
        tracing::info!(
            "transparent huge pages are 'always' on this host: turned off for corekv \
             (PR_SET_THP_DISABLE), as Redis does; tuning/systemd/thp-never.service sets 'never' \
             host-wide"
        );
    } else {
        tracing::warn!(
            "WARNING: transparent huge pages are 'always' on this host and corekv could not \
             turn them off for itself ({}): expect latency spikes; set 'never' (see tuning/)",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memlock_below_what_glommio_needs_is_refused_with_the_fix() {
        let e = check_memlock(Some(64 * 1024)).unwrap_err();
        assert!(e.contains("is 64 KiB"), "{e}");
        assert!(e.contains("at least 512 KiB"), "{e}");
        assert!(e.contains("LimitMEMLOCK=infinity"), "{e}");
        assert!(check_memlock(Some(MIN_MEMLOCK_BYTES)).is_ok());
        assert!(check_memlock(None).is_ok());
    }

    #[test]
    fn somaxconn_warning_is_redis_text_and_only_when_lower() {
        assert_eq!(
            somaxconn_warning(128, 511).as_deref(),
            Some(
                "WARNING: The TCP backlog setting of 511 cannot be enforced because \
                 /proc/sys/net/core/somaxconn is set to the lower value of 128."
            )
        );
        assert_eq!(somaxconn_warning(511, 511), None);
        assert_eq!(somaxconn_warning(4096, 511), None);
    }

    #[test]
    fn thp_mode_reads_the_bracketed_choice() {
        assert_eq!(thp_mode("[always] madvise never\n"), Some("always"));
        assert_eq!(thp_mode("always [madvise] never\n"), Some("madvise"));
        assert_eq!(thp_mode("always madvise [never]"), Some("never"));
        assert_eq!(thp_mode("garbage"), None);
    }
}

//! INFO: sections and field names exactly as Redis 7.0 prints them, gathered from every
//! shard (keyspace, stats, command stats) and every core (clients, network counters).

use std::fmt::Write;

use bytes::Bytes;

use crate::commands::stats::CommandStats;
use crate::config::params::Params;
use crate::core::Core;
use crate::metrics::{self, alloc, human_bytes};
use crate::protocol::Reply;
use crate::shard::KeyspaceStats;

/// What one shard (and its core's connection side) reports.
#[derive(Default)]
struct Snapshot {
    shard_id: usize,
    /// (keys, expires, avg_ttl_ms) per database.
    dbs: Vec<(usize, usize, u64)>,
    stats: KeyspaceStats,
    commands: Option<CommandStats>,
    heap_bytes: usize,
    connected_clients: usize,
    total_connections_received: u64,
    rejected_connections: u64,
    total_net_input_bytes: u64,
    total_net_output_bytes: u64,
    total_commands_processed: u64,
    aof: Option<crate::aof::AofInfo>,
    /// Channels owned, patterns (replicated), shard channels owned.
    pubsub: (u64, u64, u64),
    output_limit_disconnections: u64,
    pubsub_clients: u64,
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "shards",
];

/// Which sections to print, in Redis's order, from INFO's arguments.
fn wanted(args: &[Bytes]) -> Vec<&'static str> {
    if args.len() == 1 {
        return DEFAULT_SECTIONS.to_vec();
    }
    let asked: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let has = |s: &str| asked.iter().any(|a| a == s);
    if has("all") || has("everything") {
        return ALL_SECTIONS.to_vec();
    }
    ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| has(s) || (has("default") && DEFAULT_SECTIONS.contains(s)))
        .collect()
}

pub async fn info(core: &Core, args: &[Bytes]) -> Reply {
    let sections = wanted(args);
    let need_cmds = sections
        .iter()
        .any(|s| matches!(*s, "commandstats" | "errorstats" | "latencystats" | "stats"));
    let snaps: Vec<Snapshot> = core
        .router
        .run_on_all(move |s| {
            let mut snap = Snapshot {
                shard_id: s.id,
                dbs: s
                    .dbs
                    .iter()
                    .map(|d| (d.len(), d.expires_len(), d.avg_ttl_ms))
                    .collect(),
                stats: s.stats,
                commands: need_cmds.then(|| s.commands.clone()),
                heap_bytes: s.dbs.iter().map(|d| d.heap_bytes()).sum(),
                aof: s.aof.as_ref().map(|a| a.info()),
                pubsub: (
                    s.pubsub.len(crate::pubsub::Kind::Channel, s.id) as u64,
                    s.pubsub.len(crate::pubsub::Kind::Pattern, s.id) as u64,
                    s.pubsub.len(crate::pubsub::Kind::Shard, s.id) as u64,
                ),
                ..Snapshot::default()
            };
            if let Some(c) = Core::current() {
                snap.connected_clients = c.clients.borrow().len();
                snap.total_connections_received = c.net.total_connections_received.get();
                snap.rejected_connections = c.net.rejected_connections.get();
                snap.total_net_input_bytes = c.net.total_net_input_bytes.get();
                snap.total_net_output_bytes = c.net.total_net_output_bytes.get();
                snap.total_commands_processed = c.net.total_commands_processed.get();
                snap.output_limit_disconnections = c.net.output_limit_disconnections.get();
                snap.pubsub_clients = c
                    .clients
                    .borrow()
                    .values()
                    .filter(|h| {
                        let m = h.meta.borrow();
                        m.subscriptions + m.psubscriptions + m.ssubscriptions > 0
                    })
                    .count() as u64;
            }
            snap
        })
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut cmds = CommandStats::default();
    for s in &snaps {
        if let Some(c) = &s.commands {
            cmds.merge(c);
        }
    }
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        render(section, core, &snaps, &cmds, &mut out);
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

fn sum(snaps: &[Snapshot], f: impl Fn(&Snapshot) -> u64) -> u64 {
    snaps.iter().map(f).sum()
}

fn render(section: &str, core: &Core, snaps: &[Snapshot], cmds: &CommandStats, out: &mut String) {
    let params = core.params.borrow();
    let now_ms = crate::util::now_ms();
    let uptime = now_ms.saturating_sub(core.started_ms) / 1000;
    let w = out;
    match section {
        "server" => {
            let _ = write!(
                w,
                "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:io_uring\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\ncorekv_version:{}\r\ncorekv_shards:{}\r\n",
                crate::REDIS_VERSION,
                os_text(),
                std::process::id(),
                core.run_id,
                core.config.port,
                crate::util::now_us(),
                uptime,
                uptime / 86400,
                params.int("hz"),
                params.int("hz"),
                (now_ms / 1000) & ((1 << 24) - 1),
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                core.config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                env!("CARGO_PKG_VERSION"),
                core.nr_shards(),
            );
        }
        "clients" => {
            let _ = write!(
                w,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\npubsub_clients:{}\r\nclients_in_timeout_table:0\r\n",
                sum(snaps, |s| s.connected_clients as u64),
                params.int("maxclients"),
                crate::commands::blocking::BLOCKED_CLIENTS
                    .load(std::sync::atomic::Ordering::Relaxed),
                sum(snaps, |s| s.pubsub_clients),
            );
        }
        "memory" => render_memory(&params, snaps, w),
        "persistence" => render_persistence(core, snaps, w),
        "stats" => {
            let ks = |f: fn(&KeyspaceStats) -> u64| snaps.iter().map(|s| f(&s.stats)).sum::<u64>();
            let _ = write!(
                w,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nclient_output_buffer_limit_disconnections:{}\r\n",
                sum(snaps, |s| s.total_connections_received),
                sum(snaps, |s| s.total_commands_processed),
                sum(snaps, |s| s.total_net_input_bytes),
                sum(snaps, |s| s.total_net_output_bytes),
                sum(snaps, |s| s.rejected_connections),
                ks(|k| k.expired_keys),
                ks(|k| k.expire_cycle_cpu_us) / 1000,
                ks(|k| k.keyspace_hits),
                ks(|k| k.keyspace_misses),
                sum(snaps, |s| s.pubsub.0),
                snaps.first().map_or(0, |s| s.pubsub.1),
                sum(snaps, |s| s.pubsub.2),
                cmds.total_error_replies,
                sum(snaps, |s| s.output_limit_disconnections),
            );
        }
        "replication" => {
            let _ = write!(
                w,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                core.run_id,
            );
        }
        "cpu" => {
            let (u, s) = metrics::cpu_seconds(libc::RUSAGE_SELF);
            let (cu, cs) = metrics::cpu_seconds(libc::RUSAGE_CHILDREN);
            let (tu, ts) = metrics::cpu_seconds(libc::RUSAGE_THREAD);
            let _ = write!(
                w,
                "# CPU\r\nused_cpu_sys:{s:.6}\r\nused_cpu_user:{u:.6}\r\nused_cpu_sys_children:{cs:.6}\r\nused_cpu_user_children:{cu:.6}\r\nused_cpu_sys_main_thread:{ts:.6}\r\nused_cpu_user_main_thread:{tu:.6}\r\n"
            );
        }
        "modules" => w.push_str("# Modules\r\n"),
        "cluster" => w.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            w.push_str("# Keyspace\r\n");
            let ndb = snaps.first().map_or(0, |s| s.dbs.len());
            for db in 0..ndb {
                let keys: usize = snaps.iter().map(|s| s.dbs[db].0).sum();
                let expires: usize = snaps.iter().map(|s| s.dbs[db].1).sum();
                if keys == 0 {
                    continue;
                }
                // Average of the shards' sampled TTLs, weighted by how many keys expire there.
                let weighted: u128 = snaps
                    .iter()
                    .map(|s| s.dbs[db].2 as u128 * s.dbs[db].1 as u128)
                    .sum();
                let avg_ttl = if expires > 0 {
                    weighted / expires as u128
                } else {
                    0
                };
                let _ = write!(
                    w,
                    "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
                );
            }
        }
        "commandstats" => {
            w.push_str("# Commandstats\r\n");
            let mut names: Vec<_> = cmds.by_name.iter().collect();
            names.sort_by_key(|(n, _)| **n);
            for (name, st) in names {
                let per = if st.calls > 0 {
                    st.usec as f64 / st.calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    w,
                    "cmdstat_{name}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                    st.calls, st.usec, st.rejected_calls, st.failed_calls
                );
            }
        }
        "errorstats" => {
            w.push_str("# Errorstats\r\n");
            let mut errs: Vec<_> = cmds.errors.iter().collect();
            errs.sort();
            for (prefix, n) in errs {
                let _ = write!(w, "errorstat_{prefix}:count={n}\r\n");
            }
        }
        "latencystats" => {
            w.push_str("# Latencystats\r\n");
            let pcts: Vec<f64> = params
                .text("latency-tracking-info-percentiles")
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            let mut names: Vec<_> = cmds.by_name.iter().collect();
            names.sort_by_key(|(n, _)| **n);
            for (name, st) in names {
                let Some(h) = &st.latency else { continue };
                let fields: Vec<String> = pcts
                    .iter()
                    .map(|p| {
                        let us = h.value_at_quantile(p / 100.0) as f64 / 1000.0;
                        format!("p{}={us:.3}", format_pct(*p))
                    })
                    .collect();
                let _ = write!(
                    w,
                    "latency_percentiles_usec_{name}:{}\r\n",
                    fields.join(",")
                );
            }
        }
        "shards" => {
            w.push_str("# Shards\r\n");
            for s in snaps {
                let keys: usize = s.dbs.iter().map(|d| d.0).sum();
                let _ = write!(
                    w,
                    "shard{}:keys={keys},connected_clients={},commands_processed={},dataset_bytes={}",
                    s.shard_id, s.connected_clients, s.total_commands_processed, s.heap_bytes
                );
                if let Some(a) = &s.aof {
                    let _ = write!(
                        w,
                        ",log_records={},log_commits={},log_bytes={}",
                        a.records, a.commits, a.current_size
                    );
                }
                w.push_str("\r\n");
            }
        }
        _ => {}
    }
}

/// "50" for 50.0, "99.9" for 99.9: the way Redis names percentile fields (`%f`, then
/// trailing zeros and a trailing '.' removed).
fn format_pct(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `os:` as Redis prints it from uname(2): "Linux 6.1.0-18-amd64 x86_64".
fn os_text() -> String {
    // SAFETY: utsname is plain data; uname fills its NUL-terminated fields.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&uts.sysname),
        field(&uts.release),
        field(&uts.machine)
    )
}

/// `a / b` as Redis prints ratios, 0 when `b` is 0.
fn ratio(a: usize, b: usize) -> f64 {
    if b > 0 { a as f64 / b as f64 } else { 0.0 }
}

/// The Memory section: every field of Redis 7.0, in its order. corekv's allocator is the
/// system's behind a counting wrapper, so the allocator_* figures are the counted bytes and
/// the RSS; there is no Lua, no functions and no replication, so those read 0.
fn render_persistence(core: &Core, snaps: &[Snapshot], w: &mut String) {
    let aof = crate::aof::AofInfo::merge(snaps.iter().filter_map(|s| s.aof.clone()));
    let loading = crate::aof::is_loading();
    let secs = |v: Option<u64>| v.map_or(-1, |s| s as i64);
    let status = |ok: bool| if ok { "ok" } else { "err" };
    let _ = write!(
        w,
        "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(loading),
        core.started_ms / 1000,
        u8::from(aof.enabled || core.params.borrow().yes("appendonly")),
        u8::from(aof.rewrite_in_progress),
        u8::from(aof.rewrite_scheduled),
        secs(aof.last_rewrite_secs),
        secs(aof.current_rewrite_secs),
        status(aof.last_rewrite_ok),
        aof.rewrites,
        aof.consecutive_failures,
        status(aof.write_ok),
    );
    if aof.enabled {
        let _ = write!(
            w,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:{}\r\n",
            aof.current_size, aof.base_size, aof.buffer_length, aof.delayed_fsync
        );
    }
    if loading {
        use std::sync::atomic::Ordering::Relaxed;
        let started = crate::aof::LOADING_STARTED_MS.load(Relaxed);
        let total = crate::aof::LOADING_TOTAL_BYTES.load(Relaxed);
        let loaded = crate::aof::LOADING_LOADED_BYTES.load(Relaxed).min(total);
        let perc = if total == 0 {
            0.0
        } else {
            loaded as f64 * 100.0 / total as f64
        };
        let elapsed_s = crate::util::now_ms().saturating_sub(started) as f64 / 1000.0;
        let eta = if loaded == 0 {
            1
        } else {
            ((total - loaded) as f64 / (loaded as f64 / elapsed_s.max(0.001))) as i64
        };
        let _ = write!(
            w,
            "loading_start_time:{}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
            started / 1000
        );
    }
}

fn render_memory(params: &Params, snaps: &[Snapshot], w: &mut String) {
    let used = alloc::used_bytes();
    let peak = alloc::peak_bytes().max(used);
    let rss = alloc::rss_bytes();
    let dataset: usize = snaps.iter().map(|s| s.heap_bytes).sum();
    let overhead = used.saturating_sub(dataset);
    let total = metrics::total_system_memory();
    // maxmemory is an unsigned long long in Redis; CONFIG SET may make it exceed i64.
    let maxmemory: u64 = params.text("maxmemory").parse().unwrap_or(0);
    let _ = write!(
        w,
        "# Memory\r\n\
         used_memory:{used}\r\n\
         used_memory_human:{}\r\n\
         used_memory_rss:{rss}\r\n\
         used_memory_rss_human:{}\r\n\
         used_memory_peak:{peak}\r\n\
         used_memory_peak_human:{}\r\n\
         used_memory_peak_perc:{:.2}%\r\n\
         used_memory_overhead:{overhead}\r\n\
         used_memory_startup:0\r\n\
         used_memory_dataset:{dataset}\r\n\
         used_memory_dataset_perc:{:.2}%\r\n\
         allocator_allocated:{used}\r\n\
         allocator_active:{used}\r\n\
         allocator_resident:{rss}\r\n\
         total_system_memory:{total}\r\n\
         total_system_memory_human:{}\r\n\
         used_memory_lua:0\r\n\
         used_memory_vm_eval:0\r\n\
         used_memory_lua_human:0B\r\n\
         used_memory_scripts_eval:0\r\n\
         number_of_cached_scripts:0\r\n\
         number_of_functions:0\r\n\
         number_of_libraries:0\r\n\
         used_memory_vm_functions:0\r\n\
         used_memory_vm_total:0\r\n\
         used_memory_vm_total_human:0B\r\n\
         used_memory_functions:0\r\n\
         used_memory_scripts:0\r\n\
         used_memory_scripts_human:0B\r\n\
         maxmemory:{maxmemory}\r\n\
         maxmemory_human:{}\r\n\
         maxmemory_policy:{}\r\n\
         allocator_frag_ratio:1.00\r\n\
         allocator_frag_bytes:0\r\n\
         allocator_rss_ratio:{:.2}\r\n\
         allocator_rss_bytes:{}\r\n\
         rss_overhead_ratio:1.00\r\n\
         rss_overhead_bytes:0\r\n\
         mem_fragmentation_ratio:{:.2}\r\n\
         mem_fragmentation_bytes:{}\r\n\
         mem_not_counted_for_evict:0\r\n\
         mem_replication_backlog:0\r\n\
         mem_total_replication_buffers:0\r\n\
         mem_clients_slaves:0\r\n\
         mem_clients_normal:0\r\n\
         mem_cluster_links:0\r\n\
         mem_aof_buffer:0\r\n\
         mem_allocator:libc\r\n\
         active_defrag_running:0\r\n\
         lazyfree_pending_objects:0\r\n\
         lazyfreed_objects:0\r\n",
        human_bytes(used),
        human_bytes(rss),
        human_bytes(peak),
        ratio(used, peak) * 100.0,
        ratio(dataset, used) * 100.0,
        human_bytes(total),
        human_bytes(usize::try_from(maxmemory).unwrap_or(usize::MAX)),
        params.text("maxmemory-policy"),
        ratio(rss, used),
        rss as i64 - used as i64,
        ratio(rss, used),
        rss as i64 - used as i64,
    );
}

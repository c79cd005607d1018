#!/usr/bin/env bash
# Write throughput and latency with the append-only log on: corekv and Debian's redis-server
# side by side on loopback, each on a fresh data directory, for appendfsync always and
# everysec, driven by the same redis-benchmark line (SET, 50 clients, no pipelining, random
# keys). Prints ops/s, p50 and p99 latency per policy and server, and the corekv/redis ratios
# (ops/s: higher is better for corekv; latency: lower is).
#
# usage: benches/appendfsync.sh
#   env: SHARDS (default: nproc)          corekv --shards
#        N_ALWAYS (50000) N_EVERYSEC (200000)   requests per run
#        SERVER_CPUS / LOAD_CPUS (default: all CPUs)   taskset for servers / redis-benchmark
#        SKIP_BUILD=1                     use target/release/corekv as it is
# The data directories live under $TMPDIR (default /tmp): what is measured is that disk's
# fsync. Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-$(nproc)}
N_ALWAYS=${N_ALWAYS:-50000}
N_EVERYSEC=${N_EVERYSEC:-200000}
SERVER_CPUS=${SERVER_CPUS:-0-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-$SERVER_CPUS}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install redis-server redis-tools)"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup appendfsync

# bench PORT N -> "ops/s p50_ms p99_ms" from redis-benchmark's CSV line for SET.
bench() {
  # CSV columns: test, rps, avg, min, p50, p95, p99, max (latencies in ms).
  taskset -c "$LOAD_CPUS" redis-benchmark -p "$1" -t set -c 50 -P 1 -n "$2" -r 100000 --csv 2>/dev/null |
    tr -d '"' | awk -F, '$1 == "SET" { print $2, $5, $7 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

printf "%-9s %-7s %12s %9s %9s\n" "policy" "server" "ops/s" "p50_ms" "p99_ms"
for policy in always everysec; do
  n=$N_EVERYSEC
  [ "$policy" = always ] && n=$N_ALWAYS
  ck_dir="$WORK/corekv-$policy"; rd_dir="$WORK/redis-$policy"
  mkdir -p "$ck_dir" "$rd_dir"
  ck_port=$(free_port); rd_port=$(free_port)
  taskset -c "$SERVER_CPUS" ./target/release/corekv --port "$ck_port" --ws-port 0 --shards "$SHARDS" \
    --dir "$ck_dir" --appendonly yes --appendfsync "$policy" --log-level warn &
  ck_pid=$!; PIDS+=("$ck_pid")
  taskset -c "$SERVER_CPUS" redis-server --port "$rd_port" --bind 127.0.0.1 --dir "$rd_dir" \
    --appendonly yes --appendfsync "$policy" --save '' --daemonize no --loglevel warning \
    --logfile "$rd_dir/redis.log" &
  rd_pid=$!; PIDS+=("$rd_pid")
  wait_pong "$ck_port"; wait_pong "$rd_port"

  read -r ck_ops ck_p50 ck_p99 <<< "$(bench "$ck_port" "$n")"
  read -r rd_ops rd_p50 rd_p99 <<< "$(bench "$rd_port" "$n")"
  printf "%-9s %-7s %12s %9s %9s\n" "$policy" corekv "$ck_ops" "$ck_p50" "$ck_p99"
  printf "%-9s %-7s %12s %9s %9s\n" "$policy" redis "$rd_ops" "$rd_p50" "$rd_p99"
  printf "%-9s %-7s %12s %9s %9s\n" "$policy" ratio "$(ratio "$ck_ops" "$rd_ops")" \
    "$(ratio "$ck_p50" "$rd_p50")" "$(ratio "$ck_p99" "$rd_p99")"

  kill "$ck_pid" "$rd_pid" 2>/dev/null || true
  wait "$ck_pid" "$rd_pid" 2>/dev/null || true
done
echo "(ratio = corekv / redis; requests: always $N_ALWAYS, everysec $N_EVERYSEC; shards $SHARDS;" \
  "data under ${TMPDIR:-/tmp})"

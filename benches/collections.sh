#!/usr/bin/env bash
# Collection writes side by side: HSET, LPUSH, SADD and ZADD from redis-benchmark against
# corekv and Debian's redis-server on loopback, both without persistence, same load line.
# Prints per command and pipeline depth: ops/s, p50 and p99 (ms), server CPU per operation
# (user+sys from /proc, µs), and the corekv/redis ratios.
#
# usage: benches/collections.sh
#   env: SHARDS (default: nproc)   N (200000 requests per run)   CLIENTS (50)
#        PIPELINES ("1 16")        TESTS ("hset lpush sadd zadd")
#        SERVER_CPUS / LOAD_CPUS (default: all CPUs)   SKIP_BUILD=1
# redis-benchmark's tests write to a few keys (`myhash`, `mylist`, `myset`, `myset` as a
# zset), with random fields/members from -r 100000, so collections grow to large encodings.
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-$(nproc)}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-1 16}
TESTS=${TESTS:-hset lpush sadd zadd}
SERVER_CPUS=${SERVER_CPUS:-0-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-$SERVER_CPUS}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install redis-server redis-tools)"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup collections

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# bench PID PORT TEST PIPELINE -> "ops/s p50_ms p99_ms cpu_us_per_op"
bench() {
  local before after line
  redis-cli -p "$2" flushall >/dev/null
  before=$(cpu "$1")
  # CSV columns: test, rps, avg, min, p50, p95, p99, max (latencies in ms).
  line=$(taskset -c "$LOAD_CPUS" redis-benchmark -p "$2" -t "$3" -c "$CLIENTS" -P "$4" -n "$N" \
    -r 100000 --csv 2>/dev/null | tr -d '"' | awk -F, 'NR > 1 { print $2, $5, $7; exit }')
  after=$(cpu "$1")
  echo "$line $(awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$N" \
    'BEGIN { printf "%.2f", (a - b) / t * 1e6 / n }')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

ck_port=$(free_port); rd_port=$(free_port)
taskset -c "$SERVER_CPUS" ./target/release/corekv --port "$ck_port" --ws-port 0 --shards "$SHARDS" \
  --appendonly no --log-level warn &
ck_pid=$!; PIDS+=("$ck_pid")
taskset -c "$SERVER_CPUS" redis-server --port "$rd_port" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize no --loglevel warning --logfile "$WORK/redis.log" &
rd_pid=$!; PIDS+=("$rd_pid")
wait_pong "$ck_port"; wait_pong "$rd_port"

printf "%-6s %3s %-7s %12s %8s %8s %11s\n" test P server "ops/s" p50_ms p99_ms cpu_us/op
for t in $TESTS; do
  for p in $PIPELINES; do
    read -r c_ops c_p50 c_p99 c_cpu <<< "$(bench "$ck_pid" "$ck_port" "$t" "$p")"
    read -r r_ops r_p50 r_p99 r_cpu <<< "$(bench "$rd_pid" "$rd_port" "$t" "$p")"
    printf "%-6s %3s %-7s %12s %8s %8s %11s\n" "$t" "$p" corekv "$c_ops" "$c_p50" "$c_p99" "$c_cpu"
    printf "%-6s %3s %-7s %12s %8s %8s %11s\n" "$t" "$p" redis "$r_ops" "$r_p50" "$r_p99" "$r_cpu"
    printf "%-6s %3s %-7s %12s %8s %8s %11s\n" "$t" "$p" ratio "$(ratio "$c_ops" "$r_ops")" \
      "$(ratio "$c_p50" "$r_p50")" "$(ratio "$c_p99" "$r_p99")" "$(ratio "$c_cpu" "$r_cpu")"
  done
done

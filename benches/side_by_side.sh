#!/usr/bin/env bash
# Side-by-side: corekv and Debian's redis-server on the same CPU set, driven by the same
# redis-benchmark lines, one after the other in one run. Prints ops/s per workload, the
# server CPU time per operation (user+sys from /proc), and the corekv/redis ratios.
#
# usage: benches/side_by_side.sh [requests]      (env: SHARDS=2 SERVER_CPUS=0-1 LOAD_CPUS=0-1)
# Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
SHARDS=${SHARDS:-2}
SERVER_CPUS=${SERVER_CPUS:-0-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-$SERVER_CPUS}
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)"; exit 1; }
cargo build --release -q
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CK_PORT=$(free_port); RD_PORT=$(free_port)
taskset -c "$SERVER_CPUS" ./target/release/corekv --port "$CK_PORT" --ws-port 0 --shards "$SHARDS" --log-level warn \
  --appendonly no &
CK_PID=$!
taskset -c "$SERVER_CPUS" redis-server --port "$RD_PORT" --save '' --appendonly no --daemonize no --loglevel warning &
RD_PID=$!
trap 'kill $CK_PID $RD_PID 2>/dev/null || true' EXIT
for p in "$CK_PORT" "$RD_PORT"; do
  for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# run PID PORT ARGS... -> prints "name ops/s cpu_us_per_op" lines
run() {
  local pid=$1 port=$2; shift 2
  local before after out
  before=$(cpu "$pid")
  out=$(taskset -c "$LOAD_CPUS" redis-benchmark -p "$port" -n "$N" -q "$@" 2>&1 | tr '\r' '\n' | grep "requests per second")
  after=$(cpu "$pid")
  local total_ops=0
  while read -r line; do
    local name rps
    name=$(echo "$line" | cut -d: -f1 | tr ' ' '_')
    rps=$(echo "$line" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
    echo "$name $rps"
    total_ops=$((total_ops + N))
  done <<< "$out"
  awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$total_ops" 'BEGIN{printf "cpu_us_per_op %.2f\n", (a-b)/t*1e6/n}'
}
workloads=("-t set,get,incr,mset -P 16" "-t set,get -c 50")
printf "%-34s %14s %14s %8s\n" "workload" "corekv ops/s" "redis ops/s" "ratio"
for w in "${workloads[@]}"; do
  # shellcheck disable=SC2086
  ck=$(run "$CK_PID" "$CK_PORT" $w); rd=$(run "$RD_PID" "$RD_PORT" $w)
  paste <(echo "$ck") <(echo "$rd") | while read -r n1 v1 n2 v2; do
    printf "%-34s %14s %14s %8.2f\n" "[$w] $n1" "$v1" "$v2" "$(awk -v a="$v1" -v b="$v2" 'BEGIN{print (b>0)?a/b:0}')"
  done
done
echo "(cpu_us_per_op: server CPU time per operation, lower is better; ratio for it is corekv/redis too)"

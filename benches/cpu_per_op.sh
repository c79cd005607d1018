#!/usr/bin/env bash
# Server CPU time per operation for one redis-benchmark workload, from /proc/PID/stat.
# usage: benches/cpu_per_op.sh PID PORT "redis-benchmark args"   (prints: ops/s  cpu_us_per_op)
set -euo pipefail
pid=$1; port=$2; shift 2
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
before=$(cpu)
out=$(taskset -c "${LOAD_CPUS:-1}" redis-benchmark -p "$port" "$@" -q 2>&1 | tr '\r' '\n' | grep "requests per second" | tail -1)
after=$(cpu)
rps=$(echo "$out" | awk '{print $2}')
n=$(echo "$@" | grep -oE -- '-n [0-9]+' | awk '{print $2}')
echo "$out | server cpu/op: $(awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$n" 'BEGIN{printf "%.2f us", (a-b)/t*1e6/n}')"

#!/usr/bin/env bash
# Pub/sub fan-out side by side: corekv and Debian's redis-server on loopback, each driven by the
# same corekv-bench line (one channel, N subscribers, one publisher keeping WINDOW PUBLISHes in
# flight) for N = 1, 100 and 1000. corekv-bench checks every PUBLISH reply == N and that every
# subscriber got every message in order; a run that fails its checks is marked FAIL and makes
# the script exit 1. Prints messages/s, deliveries/s, delivery latency p50/p99 (receive time -
# send time, one monotonic clock), server CPU per delivery, messages per subscriber read, and
# the corekv/redis ratios. corekv places each connection on a shard by the kernel's SO_REUSEPORT
# hash, so its runs can differ with placement: hence several runs and the range.
#
# usage: benches/pubsub.sh [N ...]          (default N: 1 100 1000)
#   env: SHARDS (default: nproc)             corekv --shards
#        DELIVERIES (default 2000000)        messages per run = DELIVERIES / N, clamped to
#        MAX_MESSAGES (100000) MIN_MESSAGES (1000)   [MIN_MESSAGES, MAX_MESSAGES]
#        PAYLOAD (64) WINDOW (16) RESP (2) PUBLISHERS (1) READER_THREADS (0: corekv-bench picks)
#        RUNS (3)                            runs per server and N; the median (by deliveries/s)
#                                            is shown, with the range of msg/s over all runs
#        SERVER_CPUS / LOAD_CPUS (default: all CPUs)   taskset for servers / corekv-bench
#        SKIP_BUILD=1                        use target/release/{corekv,corekv-bench} as they are
# On a machine with few cores the servers and the load generator share them: compare the
# ratios (same load for both servers) and server CPU per delivery rather than absolute rates.
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-$(nproc)}
DELIVERIES=${DELIVERIES:-2000000}
MAX_MESSAGES=${MAX_MESSAGES:-100000}
MIN_MESSAGES=${MIN_MESSAGES:-1000}
PAYLOAD=${PAYLOAD:-64}
WINDOW=${WINDOW:-16}
RESP=${RESP:-2}
PUBLISHERS=${PUBLISHERS:-1}
READER_THREADS=${READER_THREADS:-0}
RUNS=${RUNS:-3}
SERVER_CPUS=${SERVER_CPUS:-0-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-$SERVER_CPUS}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 100 1000)
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install redis-server redis-tools)"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q --bin corekv --bin corekv-bench

# Each subscriber is a descriptor in the server and in corekv-bench; redis-server also lowers
# its maxclients to fit the limit it starts with.
max_n=$(printf '%s\n' "${COUNTS[@]}" | sort -n | tail -1)
want_fds=$(( max_n + 1024 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup pubsub

CK_PORT=$(free_port); RD_PORT=$(free_port)
taskset -c "$SERVER_CPUS" ./target/release/corekv --port "$CK_PORT" --ws-port 0 --shards "$SHARDS" \
  --log-level warn --appendonly no --dir "$WORK/corekv" &
CK_PID=$!; PIDS+=("$CK_PID")
taskset -c "$SERVER_CPUS" redis-server --port "$RD_PORT" --bind 127.0.0.1 --dir "$WORK" \
  --save '' --appendonly no --daemonize no --loglevel warning --logfile "$WORK/redis.log" &
RD_PID=$!; PIDS+=("$RD_PID")
wait_pong "$CK_PORT"; wait_pong "$RD_PORT"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run NAME PID PORT N MESSAGES
#   -> "msg_per_s deliveries_per_s p50_us p99_us cpu_ns_per_delivery msgs_per_read ok"
run() {
  local name=$1 pid=$2 port=$3 n=$4 m=$5 log="$WORK/$1-$4.log" before after rc=0
  before=$(cpu_ticks "$pid")
  taskset -c "$LOAD_CPUS" timeout 600 ./target/release/corekv-bench pubsub --port "$port" \
    --subscribers "$n" --messages "$m" --payload "$PAYLOAD" --window "$WINDOW" --resp "$RESP" \
    --publishers "$PUBLISHERS" --reader-threads "$READER_THREADS" --channel "bench-$n" \
    --timeout-s 300 > "$log" 2>&1 || rc=$?
  after=$(cpu_ticks "$pid")
  if [ "$rc" -ne 0 ]; then
    { echo "--- $name, $n subscribers: corekv-bench exited $rc"; grep -v '^RESULT' "$log"; } >&2
  fi
  local result
  result=$(grep '^RESULT' "$log" || echo "RESULT ok=0")
  awk -v line="$result" -v a="$after" -v b="$before" -v t="$ticks" -v d="$(( n * m ))" 'BEGIN {
    n = split(line, kv, " ")
    for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "%d %d %.1f %.1f %.0f %.1f %d\n", v["msg_per_s"], v["deliveries_per_s"], v["p50_us"],
      v["p99_us"], (a - b) / t * 1e9 / d, v["msgs_per_read"], v["ok"]
  }'
}

# runs NAME PID PORT N MESSAGES: RUNS runs; prints the median run (by deliveries/s) with the
# lowest and highest msg/s of all runs and whether every run passed its checks.
runs() {
  local all i
  all=$(for i in $(seq "$RUNS"); do run "$@"; done)
  echo "$all" | sort -n -k2 | awk -v runs="$RUNS" '
    { line[NR] = $0; msg[NR] = $1; ok = (NR == 1 ? $7 : ok && $7) }
    END {
      lo = msg[1]; hi = msg[1]
      for (i = 2; i <= NR; i++) { if (msg[i] < lo) lo = msg[i]; if (msg[i] > hi) hi = msg[i] }
      split(line[int((NR + 1) / 2)], f, " ")
      printf "%s %s %s %s %s %s %s-%s %d\n", f[1], f[2], f[3], f[4], f[5], f[6], lo, hi, ok
    }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "corekv --shards $SHARDS vs redis-server $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/');" \
  "payload ${PAYLOAD}B, window $WINDOW, RESP$RESP, publishers $PUBLISHERS, median of $RUNS runs; nproc $(nproc)"
fmt="%-6s %-7s %8s %9s %13s %10s %10s %9s %8s %15s  %s\n"
printf "$fmt" subs server messages "msg/s" "deliveries/s" "p50_us" "p99_us" "cpu_ns/d" "msg/read" "msg/s range" check
verdict() { [ "$1" = 1 ] && echo ok || echo FAIL; }
failed=0
for n in "${COUNTS[@]}"; do
  m=$(( DELIVERIES / n ))
  [ "$m" -le "$MAX_MESSAGES" ] || m=$MAX_MESSAGES
  [ "$m" -ge "$MIN_MESSAGES" ] || m=$MIN_MESSAGES
  read -r ck_msg ck_del ck_p50 ck_p99 ck_cpu ck_mpr ck_range ck_ok <<< "$(runs corekv "$CK_PID" "$CK_PORT" "$n" "$m")"
  read -r rd_msg rd_del rd_p50 rd_p99 rd_cpu rd_mpr rd_range rd_ok <<< "$(runs redis "$RD_PID" "$RD_PORT" "$n" "$m")"
  printf "$fmt" "$n" corekv "$m" "$ck_msg" "$ck_del" "$ck_p50" "$ck_p99" "$ck_cpu" "$ck_mpr" "$ck_range" "$(verdict "$ck_ok")"
  printf "$fmt" "$n" redis "$m" "$rd_msg" "$rd_del" "$rd_p50" "$rd_p99" "$rd_cpu" "$rd_mpr" "$rd_range" "$(verdict "$rd_ok")"
  printf "$fmt" "$n" ratio "" "$(ratio "$ck_msg" "$rd_msg")" "$(ratio "$ck_del" "$rd_del")" \
    "$(ratio "$ck_p50" "$rd_p50")" "$(ratio "$ck_p99" "$rd_p99")" "$(ratio "$ck_cpu" "$rd_cpu")" "" "" ""
  [ "$ck_ok" = 1 ] && [ "$rd_ok" = 1 ] || failed=1
done
echo "(ratio = corekv/redis: higher is better for msg/s and deliveries/s, lower for latency and cpu;"
echo " cpu_ns/d = server CPU time per delivery; msg/read = messages per subscriber read, i.e. how"
echo " much the server batches its writes to a subscriber)"
exit $failed

#!/usr/bin/env bash
# SET/GET over the WebSocket text dialect vs RESP on the same corekv: one server (RESP port and
# --ws-port), the same corekv-bench kv load for each protocol (SET:GET 1:1 on prefilled keys,
# closed loop), unpipelined and pipelined, the two protocols alternating so that both see the
# same machine. Prints ops/s and latency p50/p99/p99.9 (from a batch's write to the read that
# brought each reply) per protocol and pipeline depth, and the busiest generator thread's CPU
# share. Replies are checked ("OK", a value); a run with errors fails the script.
#
# usage: benches/websocket.sh
#   env: SHARDS (default: nproc)  CLIENTS (8 connections)  REQUESTS (200000 per run)
#        PIPELINES ("1 16")  VALUE (16 bytes)  KEYSPACE (10000)
#        SKIP_BUILD=1 (use $CARGO_TARGET_DIR/release, default target/release, as it is)
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release
SHARDS=${SHARDS:-$(nproc)}
CLIENTS=${CLIENTS:-8}
REQUESTS=${REQUESTS:-200000}
PIPELINES=${PIPELINES:-"1 16"}
VALUE=${VALUE:-16}
KEYSPACE=${KEYSPACE:-10000}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q --bin corekv --bin corekv-bench

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup websocket

PORT=$(free_port); WS_PORT=$(free_port)
"$BIN/corekv" --port "$PORT" --ws-port "$WS_PORT" --shards "$SHARDS" \
  --log-level warn --appendonly no --dir "$WORK/corekv" &
PIDS+=("$!")
wait_pong "$PORT"
# fields.py REPORT.json -> "ops/s p50 p99 p99.9 busiest-thread%"
cat > "$WORK/fields.py" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
print(f'{r["ops_per_sec"]:.0f} {l["p50"]:.1f} {l["p99"]:.1f} {l["p99_9"]:.1f}',
      f'{max(r["client_cpu_busy"]) * 100:.0f}%')
EOF
fmt="%-9s %8s %10s %9s %9s %9s %12s\n"
printf "$fmt" protocol pipeline "ops/s" p50_us p99_us p999_us "client busy"
for pipeline in $PIPELINES; do
  for target in "resp $PORT" "ws $WS_PORT"; do
    set -- $target
    "$BIN/corekv-bench" kv --protocol "$1" --port "$2" --connections "$CLIENTS" \
      --requests "$REQUESTS" --pipeline "$pipeline" --value-size "$VALUE" --ratio 1:1 \
      --keyspace "$KEYSPACE" --prefill --json --quiet > "$WORK/run.json"
    read -r ops p50 p99 p999 busy <<< "$(python3 "$WORK/fields.py" "$WORK/run.json")"
    printf "$fmt" "$1" "$pipeline" "$ops" "$p50" "$p99" "$p999" "$busy"
  done
done

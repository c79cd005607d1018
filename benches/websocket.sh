#!/usr/bin/env bash
# SET/GET over the WebSocket text dialect vs RESP on the same corekv: one server (RESP port and
# --ws-port), corekv-bench kv for each protocol, unpipelined and pipelined, the two protocols
# alternating so that both see the same machine. Each line is corekv-bench's
# `RESULT protocol=... op=... ops_per_sec=... p50_us=... p99_us=...` (latency: a batch's round
# trip, recorded for each command in it). Replies are checked ("OK", the value).
#
# usage: benches/websocket.sh
#   env: SHARDS (default: nproc)  CLIENTS (8)  REQUESTS (200000 per phase)  PIPELINES ("1 16")
#        VALUE (16 bytes)  SKIP_BUILD=1 (use target/release/{corekv,corekv-bench} as they are)
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-$(nproc)}
CLIENTS=${CLIENTS:-8}
REQUESTS=${REQUESTS:-200000}
PIPELINES=${PIPELINES:-"1 16"}
VALUE=${VALUE:-16}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q --bin corekv --bin corekv-bench

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup websocket

PORT=$(free_port); WS_PORT=$(free_port)
./target/release/corekv --port "$PORT" --ws-port "$WS_PORT" --shards "$SHARDS" \
  --log-level warn --appendonly no --dir "$WORK/corekv" &
PIDS+=("$!")
wait_pong "$PORT"
for pipeline in $PIPELINES; do
  for target in "resp $PORT" "ws $WS_PORT"; do
    set -- $target
    ./target/release/corekv-bench kv --protocol "$1" --port "$2" --clients "$CLIENTS" \
      --requests "$REQUESTS" --pipeline "$pipeline" --value-size "$VALUE"
  done
done

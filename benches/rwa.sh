#!/usr/bin/env bash
# Delivery throughput of the redis_websocket_api dialect (/rwa) with a bounding-box filter on
# every subscriber: corekv on loopback, `corekv-bench rwa` opening N /rwa WebSocket subscribers
# (all with `BBOX 5 45 15 55`, one channel) and publishers over RESP sending GeoJSON points,
# half inside the box and half outside. corekv-bench checks that every PUBLISH counts N and
# that every subscriber receives exactly the inside points, in order, and none of the others;
# a failed check marks the run FAIL and makes the script exit 1. Two runs: the box alone, then
# the box plus `PROJECTION epsg:3857` (every delivered point reprojected).
#
# usage: benches/rwa.sh
#   env: SHARDS (default: nproc)      corekv --shards
#        SUBSCRIBERS (1000) MESSAGES (20000) PUBLISHERS (1) WINDOW (16)
#        READER_THREADS (0: corekv-bench picks)
#        SKIP_BUILD=1                 use the built corekv and corekv-bench as they are
#        CARGO_TARGET_DIR (target)    where they are built
# On a small machine corekv and corekv-bench share the cores: the numbers are for this
# machine, load generator included. Only loopback is used; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-$(nproc)}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
MESSAGES=${MESSAGES:-20000}
PUBLISHERS=${PUBLISHERS:-1}
WINDOW=${WINDOW:-16}
READER_THREADS=${READER_THREADS:-0}
command -v python3 >/dev/null || { echo "python3 missing"; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q --bin corekv --bin corekv-bench
BIN=${CARGO_TARGET_DIR:-target}/release

want_fds=$(( SUBSCRIBERS + 1024 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup rwa

PORT=$(free_port); WS_PORT=$(free_port)
"$BIN/corekv" --port "$PORT" --ws-port "$WS_PORT" --shards "$SHARDS" \
  --rwa-allow-channels 'bench:*' --appendonly no --log-level warn --dir "$WORK/corekv" &
PIDS+=("$!")
up=0
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && { up=1; break; }
  sleep 0.1
done
[ "$up" = 1 ] || { echo "corekv did not start"; exit 1; }

status=0
for projection in "" "epsg:3857"; do
  args=(rwa --port "$PORT" --ws-port "$WS_PORT" --subscribers "$SUBSCRIBERS"
        --messages "$MESSAGES" --publishers "$PUBLISHERS" --window "$WINDOW"
        --reader-threads "$READER_THREADS" --bbox "5 45 15 55")
  label="BBOX"
  if [ -n "$projection" ]; then
    args+=(--projection "$projection" --channel "bench:rwa:projected")
    label="BBOX + PROJECTION $projection"
  fi
  echo "== $label: corekv-bench ${args[*]}"
  if ! "$BIN/corekv-bench" "${args[@]}"; then
    echo "FAIL ($label)"
    status=1
  fi
done
exit "$status"

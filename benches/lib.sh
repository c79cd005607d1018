# Shared by the bench scripts (source it): a scratch directory and process list cleaned up on
# exit, free loopback ports, and waiting for a server to answer.
#   bench_setup NAME   creates $WORK (mktemp, prefix corekv-NAME-bench) and the exit trap;
#                      append server PIDs to PIDS.

bench_setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/corekv-$1-bench.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_pong PORT: until the server answers PING with PONG (corekv says LOADING meanwhile);
# fails (set -e stops the script) after 10 s.
wait_pong() {
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = "PONG" ] && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

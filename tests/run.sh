#!/usr/bin/env bash
# Runs every test corekv has. On a fresh Debian machine it first installs what the tests use:
# Debian's redis-server and redis-tools (the reference server for differential tests, and
# redis-cli / redis-benchmark as real clients), Node and npm, and chromium (the seed's
# WebSocket snippet runs in it, headless).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v script >/dev/null 2>&1 || need_apt+=(bsdutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian package starts a redis-server on 6379 as a service; tests never use that port,
# they start their own servers on free ports.

# Release build: the integration tests drive real load (pipelines, redis-benchmark) and the
# binary they spawn should be the one users run.
cargo test --release --all-targets --no-fail-fast "$@"

# redis-py's own test suite (a suite we did not write), pinned to redis-py 8.1.0: the subset that
# covers the commands corekv implements, against a real corekv with 2 shards, RESP3 then RESP2.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
ws_port=$(free_port)
while [ "$ws_port" = "$port" ]; do ws_port=$(free_port); done
data_dir=$(mktemp -d)
./target/release/corekv --port "$port" --ws-port "$ws_port" --shards 2 --no-pin --enable-debug-command yes \
  --rwa-allow-channels 'example_channel_*' --log-level warn --dir "$data_dir" &
corekv_pid=$!
trap 'kill $corekv_pid 2>/dev/null || true; rm -rf "$data_dir"' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
bash tests/redis_py_suite.sh "$port"

# The seed's architecture with the real packages: two socket.io servers whose
# @socket.io/redis-adapter (ioredis) uses corekv as the broker (classic and sharded adapters,
# RESP2 and RESP3). Installs its pinned npm packages on first use.
bash tests/node_suite.sh "$port"

# The seed's WebSocket examples with the real tools: the wscat session and the browser snippet
# in headless Chromium, against the same corekv's WebSocket port. Installs its pinned npm
# packages (wscat, playwright-core; no browser download) on first use.
bash tests/ws_tools.sh "$ws_port"

# The redis_websocket_api package's demo (its page's requests, its producer) against /rwa,
# spoken by the real `websockets` client from PyPI (pinned; installed into a venv on first use).
bash tests/rwa_py.sh "$port" "$ws_port"

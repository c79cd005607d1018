#!/usr/bin/env bash
# socket.io servers relaying events through a Redis-compatible broker (tests/node/): two
# socket.io servers with @socket.io/redis-adapter (classic and sharded) over ioredis (RESP2 and
# RESP3), clients on each, rooms, broadcasts, serverSideEmit and fetchSockets across servers.
#
# usage: tests/node_suite.sh PORT [extra `node --test` args...]
#   PORT   a running corekv (or redis-server) on 127.0.0.1:PORT. The suite only uses pub/sub
#          channels under socket.io*; it writes no keys.
# environment:
#   NPM_INSTALL=auto|always   auto (default): install tests/node/node_modules only when missing
#
# Needs Node >= 20 and npm. Versions are pinned in tests/node/package-lock.json (npm ci).
set -euo pipefail

PORT=${1:?usage: tests/node_suite.sh PORT [node --test args...]}
shift
DIR="$(cd "$(dirname "$0")/node" && pwd)"
NPM_INSTALL=${NPM_INSTALL:-auto}

command -v node >/dev/null || { echo "node missing (Node >= 20 and npm are needed)"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "node $(node --version) is too old: Node >= 20 is needed"; exit 1; }

if [ "$NPM_INSTALL" = always ] || [ ! -d "$DIR/node_modules" ]; then
    start=$(date +%s)
    if [ -f "$DIR/package-lock.json" ]; then
        (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    else
        (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    fi
    echo "npm install took $(( $(date +%s) - start ))s"
fi

cd "$DIR"
# --test-timeout bounds the file (node applies it to the file as well as to each test); each test
# has its own 20 s limit and each step 5 s, so a dead broker fails the suite in about a minute.
# The spec reporter closes with node's standard summary ("ℹ tests N", "ℹ pass N", "ℹ fail N").
REDIS_PORT="$PORT" exec node --test --test-timeout=300000 --test-reporter=spec "$@" broker.test.js

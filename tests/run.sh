#!/usr/bin/env bash
# Runs every test corekv has. On a fresh Debian machine it first installs what the tests use:
# Debian's redis-server and redis-tools (the reference server for differential tests, and
# redis-cli / redis-benchmark as real clients).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
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
cargo test --release --all-targets "$@"

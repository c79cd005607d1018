#!/usr/bin/env bash
# The redis_websocket_api demo (its demo.html client's requests, its demo.py producer)
# against corekv's /rwa, spoken by the real `websockets` package from PyPI (pinned):
# tests/rwa_py/demo_client.py. Exits non-zero when any check fails.
#
# usage: tests/rwa_py.sh RESP_PORT WS_PORT
#   a running corekv on 127.0.0.1 with --rwa-allow-channels allowing example_channel_1 and
#   example_channel_2 (and not not_allowed). Writes the hashes example_channel_1/2.
# environment:
#   WORKDIR=target/rwa-py   where the venv goes (reused when it has the pinned version)
set -euo pipefail

RESP_PORT=${1:?usage: tests/rwa_py.sh RESP_PORT WS_PORT}
WS_PORT=${2:?usage: tests/rwa_py.sh RESP_PORT WS_PORT}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORKDIR=${WORKDIR:-$ROOT/target/rwa-py}
WEBSOCKETS_VERSION=15.0.1
PY=${PYTHON:-python3}

venv_py="$WORKDIR/venv/bin/python"
if ! [ -x "$venv_py" ] ||
    ! "$venv_py" -c "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
    mkdir -p "$WORKDIR"
    "$PY" -m venv "$WORKDIR/venv"
    "$WORKDIR/venv/bin/pip" install -q --disable-pip-version-check "websockets==$WEBSOCKETS_VERSION"
fi
# -I: no user site, no script-directory surprises (a stray module in the cwd cannot shadow).
exec "$venv_py" -I "$ROOT/tests/rwa_py/demo_client.py" "$RESP_PORT" "$WS_PORT"

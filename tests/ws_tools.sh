#!/usr/bin/env bash
# The seed's WebSocket examples with real tools (tests/ws_tools/): the wscat session (npm wscat)
# and the browser snippet (`new WebSocket(...)`, `ws.send('SET mykey "Hello, WebSocket!"')`) in
# headless Chromium (Debian's chromium, driven by playwright-core; nothing is downloaded but
# the pinned npm packages).
#
# usage: tests/ws_tools.sh WS_PORT [extra `node --test` args...]
#   WS_PORT   a running corekv's --ws-port on 127.0.0.1. Writes the keys foo, mykey, seed:n.
# environment:
#   NPM_INSTALL=auto|always   auto (default): install tests/ws_tools/node_modules only when missing
#   CHROMIUM                  the browser (default: /usr/bin/chromium)
set -euo pipefail

WS_PORT=${1:?usage: tests/ws_tools.sh WS_PORT [node --test args...]}
shift
DIR="$(cd "$(dirname "$0")/ws_tools" && pwd)"
NPM_INSTALL=${NPM_INSTALL:-auto}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

command -v node >/dev/null || { echo "node missing (Node >= 20 and npm are needed)"; exit 1; }
[ -x "$CHROMIUM" ] || { echo "$CHROMIUM missing (apt-get install chromium)"; exit 1; }

if [ "$NPM_INSTALL" = always ] || [ ! -d "$DIR/node_modules" ]; then
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cd "$DIR"
WS_PORT="$WS_PORT" CHROMIUM="$CHROMIUM" exec node --test --test-timeout=120000 --test-reporter=spec "$@" seed.test.js

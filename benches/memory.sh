#!/usr/bin/env bash
# Memory per collection element: corekv and Debian's redis-server side by side, loaded with
# the same data through `redis-cli --pipe`, measured as the growth of INFO's used_memory
# (bytes the allocator handed out) and of the process RSS, divided by the element count.
#
# Two shapes per type, because both servers switch encodings with size:
#   small: KEYS_SMALL keys x 100 elements   (listpack / intset-free listpack / quicklist node)
#   large: KEYS_LARGE keys x 20000 elements (hashtable / skiplist / quicklist of many nodes)
# Elements are short strings (`f123`/`v123` for hash fields and values, `item-123`,
# `m123`, zset scores = the index), so the figure is mostly per-element overhead.
#
# usage: benches/memory.sh
#   env: KEYS_SMALL (2000) KEYS_LARGE (10) SHARDS (1) TYPES ("hash list set zset") SKIP_BUILD=1
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS_SMALL=${KEYS_SMALL:-2000}
KEYS_LARGE=${KEYS_LARGE:-10}
SHARDS=${SHARDS:-1}
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup memory

# gen TYPE KEYS PER_KEY: RESP commands that build KEYS collections of PER_KEY elements.
gen() {
  python3 - "$@" <<'EOF'
import sys
kind, nkeys, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.buffer
def cmd(*parts):
    out.write(b"*%d\r\n" % len(parts))
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        out.write(b"$%d\r\n%s\r\n" % (len(p), p))
batch = 100
for k in range(nkeys):
    key = f"{kind}:{k}"
    for start in range(0, per, batch):
        ids = range(start, min(start + batch, per))
        if kind == "hash":
            args = [x for i in ids for x in (f"f{i}", f"v{i}")]
            cmd("HSET", key, *args)
        elif kind == "list":
            cmd("RPUSH", key, *[f"item-{i}" for i in ids])
        elif kind == "set":
            cmd("SADD", key, *[f"m{i}" for i in ids])
        elif kind == "zset":
            args = [x for i in ids for x in (i, f"m{i}")]
            cmd("ZADD", key, *args)
EOF
}

used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

ck_port=$(free_port); rd_port=$(free_port)
./target/release/corekv --port "$ck_port" --ws-port 0 --shards "$SHARDS" --appendonly no --log-level warn &
ck_pid=$!; PIDS+=("$ck_pid")
redis-server --port "$rd_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --loglevel warning --logfile "$WORK/redis.log" &
rd_pid=$!; PIDS+=("$rd_pid")
wait_pong "$ck_port"; wait_pong "$rd_port"

printf "%-5s %-6s %10s %10s %10s %10s %8s %8s\n" type shape elements "ck_used/e" "rd_used/e" \
  "ratio" "ck_rss/e" "rd_rss/e"
for kind in ${TYPES:-hash list set zset}; do
  for shape in small large; do
    if [ "$shape" = small ]; then nkeys=$KEYS_SMALL; per=100; else nkeys=$KEYS_LARGE; per=20000; fi
    gen "$kind" "$nkeys" "$per" > "$WORK/load.resp"
    elements=$((nkeys * per))
    line=()
    for srv in ck rd; do
      port=$ck_port; pid=$ck_pid
      [ "$srv" = rd ] && { port=$rd_port; pid=$rd_pid; }
      redis-cli -p "$port" flushall >/dev/null
      sleep 0.5
      u0=$(used "$port"); r0=$(rss "$pid")
      redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
      u1=$(used "$port"); r1=$(rss "$pid")
      line+=("$(awk -v a="$u0" -v b="$u1" -v n="$elements" 'BEGIN { printf "%.1f", (b - a) / n }')")
      line+=("$(awk -v a="$r0" -v b="$r1" -v n="$elements" 'BEGIN { printf "%.1f", (b - a) / n }')")
      enc=$(redis-cli -p "$port" object encoding "$kind:0")
      line+=("$enc")
    done
    ratio=$(awk -v a="${line[0]}" -v b="${line[3]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf "%-5s %-6s %10s %10s %10s %10s %8s %8s   (%s / %s)\n" "$kind" "$shape" "$elements" \
      "${line[0]}" "${line[3]}" "$ratio" "${line[1]}" "${line[4]}" "${line[2]}" "${line[5]}"
  done
done

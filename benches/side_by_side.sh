#!/usr/bin/env bash
# Side by side: corekv and Debian's redis-server on the same CPU set, driven by the same load
# from two tools (corekv-bench and redis-benchmark), one server at a time. For each workload
# and tool it prints ops/s, latency p50/p99/p99.9, the server's CPU time per operation
# (user+sys from /proc/PID/stat before and after the run, divided by the requests) and the
# corekv/redis ratios, then a scaling table: corekv with 1..N shards on 1..N cores.
#
# Workloads (keys key:000000000000.. as redis-benchmark -r names them, VALUE-byte values,
# every key written once before the first run so GETs hit on both servers):
#   1. CONNECTIONS connections, pipeline 1: SET, then GET
#   2. CONNECTIONS connections, pipeline 16: SET, then GET
#   3. a fixed rate (open loop; corekv-bench only, redis-benchmark has no rate option):
#      RATE ops/s in all, SET:GET 1:1, for RATE_S seconds; latency from each request's due time.
#      The default is moderate for the 2-vCPU VM this was written on, where a request that
#      finds both sides asleep costs the generator 90-200 us of CPU (sleeping, waking, and
#      waking the server's CPU), so that at 20k ops/s its own core saturated: check the client
#      column before trusting the latencies
#   4. one connection, closed loop, GET: the pure round trip
#   5. SET with appendfsync always: both servers restarted with an append-only log fsynced on
#      every write, in fresh directories under $TMPDIR (what is measured is that disk's fsync)
#
# CPUs: with 2 or more, the servers and the load generators get separate cores (2 CPUs: server
# on the second, load on the first; more: a third of them for the load, the rest for the
# servers), corekv runs one shard per server CPU. On 1 CPU everything shares it (the table
# says so). The client column is the load generator's own CPU use: near 100% it, not the
# server, may be the limit (corekv-bench: its busiest thread, from getrusage; redis-benchmark:
# its process CPU time over wall time).
#
# usage: benches/side_by_side.sh
#   env: SERVER_CPUS / LOAD_CPUS (taskset lists)  SHARDS (default: number of server CPUs)
#        CONNECTIONS (50) KEYSPACE (100000) VALUE (16 bytes)
#        N_P1 (200000) N_P16 (1000000) N_SINGLE (10000) N_AOF (20000)   requests per run
#        RATE (10000 ops/s) RATE_S (5 s)
#        RUNS (1): runs per server, workload and tool, in turn; the median by ops/s is shown
#        SECTIONS ("p1 p16 rate single aof scaling")   which parts to run
#        PROFILE (dist): the cargo profile to build and run; `dist` is release with fat LTO and
#          one codegen unit (Cargo.toml), what README says to install; `release` is what the
#          tests run
#        COREKV_ARGS: extra corekv options for every start, e.g. "--spin-before-park-us 50"
#        SKIP_BUILD=1   use $CARGO_TARGET_DIR/$PROFILE (default target/dist) as it is
# Only loopback addresses are used; everything started is stopped and deleted on exit.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-dist}
COREKV_ARGS=${COREKV_ARGS:-}
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE
CONNECTIONS=${CONNECTIONS:-50}
KEYSPACE=${KEYSPACE:-100000}
VALUE=${VALUE:-16}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-1000000}
N_SINGLE=${N_SINGLE:-10000}
N_AOF=${N_AOF:-20000}
RATE=${RATE:-10000}
RATE_S=${RATE_S:-5}
SECTIONS=${SECTIONS:-p1 p16 rate single aof scaling}
RUNS=${RUNS:-1}
for tool in redis-server redis-benchmark redis-cli python3 taskset; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install redis-server redis-tools)"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --profile "$PROFILE" -q --bin corekv --bin corekv-bench

# shellcheck source=benches/lib.sh
source benches/lib.sh
bench_setup side-by-side

# --- CPUs ----------------------------------------------------------------------------------
# cpu_list LIST -> the CPUs of a taskset list, space-separated; cpu_join CPU... -> "a,b,c".
cpu_list() {
  python3 -c 'import sys
out = []
for part in sys.argv[1].split(","):
    lo, _, hi = part.partition("-")
    out += range(int(lo), int(hi or lo) + 1)
print(*out)' "$1"
}
cpu_join() { local IFS=,; echo "$*"; }
read -r -a ALL_CPUS <<< "$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
NCPU=${#ALL_CPUS[@]}
if [ -z "${SERVER_CPUS:-}" ] || [ -z "${LOAD_CPUS:-}" ]; then
  if [ "$NCPU" -eq 1 ]; then
    SERVER_CPUS=${ALL_CPUS[0]}; LOAD_CPUS=${ALL_CPUS[0]}
  else
    n_load=$(( NCPU / 3 > 0 ? NCPU / 3 : 1 ))
    LOAD_CPUS=$(cpu_join "${ALL_CPUS[@]:0:n_load}")
    SERVER_CPUS=$(cpu_join "${ALL_CPUS[@]:n_load}")
  fi
fi
read -r -a SERVER_SET <<< "$(cpu_list "$SERVER_CPUS")"
read -r -a LOAD_SET <<< "$(cpu_list "$LOAD_CPUS")"
SHARDS=${SHARDS:-${#SERVER_SET[@]}}
shared_cores=no
for c in "${LOAD_SET[@]}"; do
  [[ " ${SERVER_SET[*]} " == *" $c "* ]] && shared_cores=yes
done

# --- measuring -----------------------------------------------------------------------------
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
per_op_us() { awk -v a="$1" -v b="$2" -v t="$ticks" -v n="$3" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / t * 1e6 / n; else print "-" }'; }
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

cat > "$WORK/parse.py" <<'EOF'
import json, resource, subprocess, sys, time

def ckb(path):
    """corekv-bench --json -> ops p50 p99 p99.9 (µs) requests client_busy"""
    r = json.load(open(path))
    if not r.get("ok", False):
        sys.exit("corekv-bench run failed: " + str(r.get("failure") or r.get("warnings")))
    l = r["latency_us"]
    print(f'{r["ops_per_sec"]:.0f} {l["p50"]:.1f} {l["p99"]:.1f} {l["p99_9"]:.1f} {r["requests"]} '
          f'{max(r["client_cpu_busy"]) * 100:.0f}%')

def rb(path, busy):
    """redis-benchmark's full output -> ops p50 p99 p99.9 (µs) and the given client busy"""
    lines = open(path).read().replace("\r", "\n").splitlines()
    ops = p50 = p99 = p999 = None
    for i, line in enumerate(lines):
        words = line.split()
        if line.strip().startswith("throughput summary:"):
            ops = float(words[2])
        if line.strip().startswith("latency summary"):
            names, values = lines[i + 1].split(), lines[i + 2].split()
            summary = dict(zip(names, map(float, values)))
            p50, p99 = summary["p50"] * 1000, summary["p99"] * 1000
        # "99.902% <= 7.935 milliseconds (cumulative count 19981)": the first row at or past
        # 99.9% bounds p99.9 from above by at most one row of the distribution.
        if p999 is None and line.endswith(")") and "% <= " in line:
            pct, value = float(words[0].rstrip("%")), float(words[2])
            if pct >= 99.9:
                p999 = value * 1000
    if None in (ops, p50, p99, p999):
        sys.exit("could not parse redis-benchmark output " + path)
    print(f"{ops:.0f} {p50:.1f} {p99:.1f} {p999:.1f} - {busy}")

def timed(out, *cmd):
    """runs cmd with stdout to `out`; prints its CPU time over wall time"""
    start = time.monotonic()
    with open(out, "w") as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - start
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{(ru.ru_utime + ru.ru_stime) / wall * 100:.0f}%")
    sys.exit(code)

def ratio(a, b):
    try:
        return f"{float(a) / float(b):.2f}"
    except (ValueError, ZeroDivisionError):
        return "-"

def table(path):
    """results.tsv -> the markdown table, one row per workload x tool"""
    rows = {}
    order = []
    for line in open(path):
        workload, tool, server, *values = line.rstrip("\n").split("\t")
        key = (workload, tool)
        if key not in rows:
            order.append(key)
            rows[key] = {}
        rows[key][server] = values
    print("| workload | tool | ops/s corekv / redis (×) | p50 µs | p99 µs | p99.9 µs "
          "| server CPU µs/op | client busy |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in order:
        ck, rd = rows[key].get("corekv"), rows[key].get("redis")
        if not ck or not rd:
            continue
        cell = lambda i: f"{ck[i]} / {rd[i]} ({ratio(ck[i], rd[i])})"
        print(f"| {key[0]} | {key[1]} | {cell(0)} | {cell(1)} | {cell(2)} | {cell(3)} "
              f"| {cell(4)} | {ck[5]} / {rd[5]} |")

def scaling(path):
    """scaling.tsv -> the markdown scaling table, with each row's ratio to one shard"""
    base = {}
    print("| shards | server cpus | load cpus | pipeline | ops/s | × one shard | server CPU µs/op | client busy |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for line in open(path):
        shards, scpus, lcpus, pipeline, ops, cpu, busy = line.split()
        base.setdefault(pipeline, ops)
        print(f"| {shards} | {scpus} | {lcpus} | {pipeline} | {ops} | {ratio(ops, base[pipeline])} "
              f"| {cpu} | {busy} |")

{"ckb": ckb, "rb": rb, "timed": timed, "table": table, "scaling": scaling}[sys.argv[1]](*sys.argv[2:])
EOF
parse() { python3 "$WORK/parse.py" "$@"; }

# ckb PID PORT ARGS... -> "ops p50 p99 p999 cpu_us_per_op busy": corekv-bench, one thread per
# load CPU, against the server PID listens on PORT.
ckb() {
  local pid=$1 port=$2 before after ops p50 p99 p999 n busy; shift 2
  before=$(cpu_ticks "$pid")
  taskset -c "$LOAD_CPUS" "$BIN/corekv-bench" kv --port "$port" --cpus "$LOAD_CPUS" \
    --keyspace "$KEYSPACE" --value-size "$VALUE" --json --quiet "$@" > "$WORK/ckb.json"
  after=$(cpu_ticks "$pid")
  read -r ops p50 p99 p999 n busy <<< "$(parse ckb "$WORK/ckb.json")"
  echo "$ops $p50 $p99 $p999 $(per_op_us "$before" "$after" "$n") $busy"
}

# rb PID PORT TEST CLIENTS PIPELINE N -> the same fields from redis-benchmark.
rb() {
  local pid=$1 port=$2 before after busy ops p50 p99 p999 _n
  before=$(cpu_ticks "$pid")
  busy=$(taskset -c "$LOAD_CPUS" python3 "$WORK/parse.py" timed "$WORK/rb.txt" redis-benchmark \
    -p "$port" -t "$3" -c "$4" -P "$5" -n "$6" -r "$KEYSPACE" -d "$VALUE" --precision 3)
  after=$(cpu_ticks "$pid")
  read -r ops p50 p99 p999 _n busy <<< "$(parse rb "$WORK/rb.txt" "$busy")"
  echo "$ops $p50 $p99 $p999 $(per_op_us "$before" "$after" "$6") $busy"
}

# record WORKLOAD TOOL SERVER FIELDS...: one line of results.
record() {
  local IFS=$'\t'
  echo "$*" >> "$RESULTS"
  echo "  $1 | $2 | $3: $4 ops/s, p50/p99/p99.9 $5/$6/$7 us, server $8 us/op, client $9" >&2
}

# --- servers ---------------------------------------------------------------------------------
# start_corekv SHARDS CPUS [ARGS...] / start_redis [ARGS...]: sets PID and PORT.
start_corekv() {
  local shards=$1 cpus=$2; shift 2
  PORT=$(free_port)
  local dir; dir=$(mktemp -d "$WORK/corekv.XXXXXX")
  # shellcheck disable=SC2086  # COREKV_ARGS is a list of words
  taskset -c "$cpus" "$BIN/corekv" --port "$PORT" --ws-port 0 --shards "$shards" --dir "$dir" \
    --log-level warn $COREKV_ARGS "$@" 2> "$dir/stderr.log" &
  PID=$!; PIDS+=("$PID")
  wait_pong "$PORT" || { cat "$dir/stderr.log" >&2; exit 1; }
}
start_redis() {
  PORT=$(free_port)
  local dir; dir=$(mktemp -d "$WORK/redis.XXXXXX")
  taskset -c "$SERVER_CPUS" redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
    --daemonize no --loglevel warning --logfile "$dir/redis.log" "$@" &
  PID=$!; PIDS+=("$PID")
  wait_pong "$PORT"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# prefill PORT: every key written once (not timed), so GETs hit on both servers.
prefill() {
  taskset -c "$LOAD_CPUS" "$BIN/corekv-bench" kv --port "$1" --prefill --keyspace "$KEYSPACE" \
    --value-size "$VALUE" --requests 1 --ratio 0:1 --connections 8 --quiet \
    > /dev/null 2> "$WORK/prefill.log" || { cat "$WORK/prefill.log" >&2; return 1; }
}

# both WORKLOAD ckb|rb ARGS...: the same run against corekv, then redis, RUNS times in turn;
# the run with the median ops/s of each server is recorded.
both() {
  local workload=$1 tool=$2 name=corekv-bench server pid port r fields; shift 2
  [ "$tool" = rb ] && name=redis-benchmark
  local -A runs=()
  for r in $(seq "$RUNS"); do
    for server in corekv redis; do
      pid=$CK_PID; port=$CK_PORT
      [ "$server" = redis ] && { pid=$RD_PID; port=$RD_PORT; }
      fields=$("$tool" "$pid" "$port" "$@")
      runs[$server]+="$fields"$'\n'
    done
  done
  for server in corekv redis; do
    fields=$(printf '%s' "${runs[$server]}" | sort -n -k1 | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
    # shellcheck disable=SC2086
    record "$workload" "$name" "$server" $fields
  done
}

has() { [[ " $SECTIONS " == *" $1 "* ]]; }

# --- header ----------------------------------------------------------------------------------
{
  echo "## side by side ($(date -u +%Y-%m-%d), benches/side_by_side.sh)"
  echo
  echo "- machine: $NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- corekv $(git rev-parse --short HEAD 2>/dev/null || echo '?') --shards $SHARDS${COREKV_ARGS:+ $COREKV_ARGS} on cpus $SERVER_CPUS; redis-server $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') on cpus $SERVER_CPUS; load generators on cpus $LOAD_CPUS"
  if [ "$shared_cores" = yes ]; then
    echo "- **the load generators share cores with the servers** ($NCPU CPU): compare ratios and server CPU per operation, not absolute rates"
  fi
  echo "- $CONNECTIONS connections unless said, $KEYSPACE keys, $VALUE-byte values; ratios are corekv / redis (ops/s: higher is better for corekv; latency and CPU: lower is); median of $RUNS run(s)"
  echo
} > "$WORK/header.md"
cat "$WORK/header.md" >&2

# --- workloads 1-4: no persistence ---------------------------------------------------------------
if has p1 || has p16 || has rate || has single; then
  start_corekv "$SHARDS" "$SERVER_CPUS" --appendonly no; CK_PID=$PID; CK_PORT=$PORT
  start_redis --appendonly no; RD_PID=$PID; RD_PORT=$PORT
  prefill "$CK_PORT"; prefill "$RD_PORT"
  c=$CONNECTIONS
  for p in 1 16; do
    has "p$p" || continue
    n=$N_P1; [ "$p" = 16 ] && n=$N_P16
    for op in set get; do
      ratio=1:0; [ "$op" = get ] && ratio=0:1
      w="$c conns, pipeline $p, ${op^^}"
      both "$w" ckb --connections "$c" --pipeline "$p" --ratio "$ratio" --requests "$n"
      both "$w" rb "$op" "$c" "$p" "$n"
    done
  done
  if has rate; then
    both "$RATE ops/s open loop, $c conns, SET:GET 1:1" ckb --connections "$c" --rate "$RATE" \
      --duration "$RATE_S" --ratio 1:1
  fi
  if has single; then
    both "1 conn, closed loop, GET" ckb --connections 1 --ratio 0:1 --requests "$N_SINGLE"
    both "1 conn, closed loop, GET" rb get 1 1 "$N_SINGLE"
  fi
  stop "$CK_PID"; stop "$RD_PID"
fi

# --- workload 5: appendfsync always ------------------------------------------------------------
if has aof; then
  fs=$(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }')
  start_corekv "$SHARDS" "$SERVER_CPUS" --appendonly yes --appendfsync always; CK_PID=$PID; CK_PORT=$PORT
  start_redis --appendonly yes --appendfsync always; RD_PID=$PID; RD_PORT=$PORT
  w="appendfsync always ($fs), $CONNECTIONS conns, SET"
  both "$w" ckb --connections "$CONNECTIONS" --ratio 1:0 --requests "$N_AOF"
  both "$w" rb set "$CONNECTIONS" 1 "$N_AOF"
  stop "$CK_PID"; stop "$RD_PID"
fi

cat "$WORK/header.md"
parse table "$RESULTS"

# --- scaling: corekv with 1..N shards on 1..N cores ------------------------------------------------
if has scaling; then
  : > "$WORK/scaling.tsv"
  for shards in $(seq 1 "$NCPU"); do
    # The last `shards` CPUs: on 2 CPUs, 1 shard on cpu 1 (load alone on cpu 0), then 2 shards
    # on both (sharing them with the load).
    cpus=$(cpu_join "${ALL_CPUS[@]:NCPU-shards}")
    start_corekv "$shards" "$cpus" --appendonly no; CK_PID=$PID; CK_PORT=$PORT
    prefill "$CK_PORT"
    for p in 16 1; do
      n=$N_P1; [ "$p" = 16 ] && n=$N_P16
      read -r ops _ _ _ cpu busy <<< "$(ckb "$CK_PID" "$CK_PORT" --connections "$CONNECTIONS" \
        --pipeline "$p" --ratio 1:1 --requests "$n")"
      echo "  scaling: $shards shards on cpus $cpus, pipeline $p: $ops ops/s, $cpu us/op, client $busy" >&2
      echo "$shards $cpus $LOAD_CPUS $p $ops $cpu $busy" >> "$WORK/scaling.tsv"
    done
    stop "$CK_PID"
  done
  echo
  echo "Scaling: corekv-bench, $CONNECTIONS connections, SET:GET 1:1, on cpus $LOAD_CPUS (where the load shares the shards' cores, its CPU is taken from theirs)"
  echo
  parse scaling "$WORK/scaling.tsv"
fi
echo
echo "(load average at the end $(cut -d' ' -f1-3 /proc/loadavg); p99.9 from redis-benchmark is the first row of its percentile distribution at or past 99.9%, an upper bound within one row)"

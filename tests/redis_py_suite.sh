#!/usr/bin/env bash
# Run the part of redis-py's own test suite that covers the commands corekv implements.
#
# usage: run_suite.sh PORT [extra pytest args...]
#   PORT                      a running corekv (or redis-server) on 127.0.0.1:PORT.
#                             Start corekv with --enable-debug-command yes (a few tests use DEBUG).
#                             The suite FLUSHes databases: never point it at data you care about.
# environment:
#   WORKDIR=target/redis-py       where the venv and the redis-py sources go (reused when present)
#   PROTOCOLS="3 2"               RESP versions to run (redis-py 8 defaults to RESP3)
#   KNOWN_FAILURES=skip|run       skip (default): leave out the tests listed as #K lines below
#                                 (corekv bugs found by the triage; CI stays green, new breakage
#                                 is caught); run: run them too (to check fixes)
#   PYTEST_TIMEOUT=20             per-test timeout in seconds
#
# The test list below was made from a triage run (docs/REDIS_PY_TRIAGE.md): a test is listed
# when it passes against redis-server 7.0.15, needs a server (fails against a closed port), and
# does not need a command corekv does not implement yet. Pinned to redis-py 8.1.0: node ids
# change between redis-py versions.
set -euo pipefail

PORT=${1:?usage: run_suite.sh PORT [pytest args...]}
shift
WORKDIR=${WORKDIR:-$(cd "$(dirname "$0")/.." && pwd)/target/redis-py}
PROTOCOLS=${PROTOCOLS:-"3 2"}
KNOWN_FAILURES=${KNOWN_FAILURES:-skip}
PYTEST_TIMEOUT=${PYTEST_TIMEOUT:-20}
REDISPY_VERSION=8.1.0
SRC="$WORKDIR/redis-$REDISPY_VERSION"
PY=${PYTHON:-python3}

start=$(date +%s)
mkdir -p "$WORKDIR"

# --- install (idempotent) ---------------------------------------------------------------
if [ ! -x "$WORKDIR/venv/bin/pytest" ] || [ ! -d "$SRC/tests" ]; then
    "$PY" -m venv "$WORKDIR/venv"
    "$WORKDIR/venv/bin/pip" install -q --disable-pip-version-check \
        "pytest==9.2.0" "pytest-asyncio==1.5.0" "pytest-timeout==2.4.0" "packaging"
    # The sdist carries tests/; the wheel does not.
    "$WORKDIR/venv/bin/pip" download -q --disable-pip-version-check --no-binary :all: --no-deps \
        "redis==$REDISPY_VERSION" -d "$WORKDIR"
    tar -xzf "$WORKDIR/redis-$REDISPY_VERSION.tar.gz" -C "$WORKDIR"
    "$WORKDIR/venv/bin/pip" install -q --disable-pip-version-check -e "$SRC"
    # tests/entraid_utils.py (imported by test_credentials.py) needs redis-entraid; install it
    # after the editable redis so its own redis requirement is already met.
    "$WORKDIR/venv/bin/pip" install -q --disable-pip-version-check "redis-entraid==1.2.1"
fi
echo "install/check took $(( $(date +%s) - start ))s"

# --- the test list --------------------------------------------------------------------------
LIST="$WORKDIR/tests.txt"
KNOWN="$WORKDIR/known_failures.txt"
sed -n 's/^#K //p' "$0" | cut -f1 > "$KNOWN"
sed -n 's/^#T //p' "$0" > "$LIST.all"
if [ "$KNOWN_FAILURES" = skip ]; then
    # exact line match (pytest's --deselect matches node-id prefixes, too broad here)
    grep -vxF -f "$KNOWN" "$LIST.all" > "$LIST" || true
else
    cp "$LIST.all" "$LIST"
fi
echo "$(wc -l < "$LIST.all") tests listed, running $(wc -l < "$LIST") (KNOWN_FAILURES=$KNOWN_FAILURES)"

# --- run ------------------------------------------------------------------------------------
rc=0
cd "$SRC"
for proto in $PROTOCOLS; do
    echo "=== RESP$proto against 127.0.0.1:$PORT"
    t0=$(date +%s)
    # @file: pytest reads node ids (one a line) from the file.
    "$WORKDIR/venv/bin/pytest" --redis-url="redis://127.0.0.1:$PORT/0" --protocol="$proto" \
        -p no:cacheprovider -q -rfE --tb=short --timeout="$PYTEST_TIMEOUT" \
        "@$LIST" "$@" || rc=$?
    echo "=== RESP$proto took $(( $(date +%s) - t0 ))s (rc=$rc)"
done
echo "total $(( $(date +%s) - start ))s"
exit $rc

# Data (comment lines, never executed).
# #K: known corekv failure: node id TAB what differs (see docs/REDIS_PY_TRIAGE.md). #T: a test to run.
#K tests/test_command_parser.py::TestCommandsParser::test_get_keys_predetermined_key_location	AssertionError: assert None == ['foo']  +  where None = get_keys(<redis.client.Redis(<redis.connection.ConnectionPool(<redis.connection.Connection(host=127.0.0.1,port=6394,db=0,maint_...d_timeout=10,
#K tests/test_commands.py::TestRedisCommands::test_command	AssertionError: assert 67 >= 100  +  where 67 = len({'get': {'name': 'get', 'arity': 2, 'flags': ['readonly', 'fast'], 'first_key_pos': 1, ...}, 'set': {'name': 'set', 'a...key_pos': 1, ...}, 'setex':
#K tests/test_commands.py::TestRedisCommands::test_command_count	assert 67 >= 100
#K tests/test_commands.py::TestRedisCommands::test_command_list	AssertionError: assert 67 > 300  +  where 67 = len([b'get', b'set', b'setnx', b'setex', b'psetex', b'getset', ...])  +    where [b'get', b'set', b'setnx', b'setex', b'psetex', b'getset', ...] = comman
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_22_info[pool]
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_22_info[single]
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_binary_get_set[pool]
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_binary_get_set[single]
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_large_responses[pool]
#T tests/test_asyncio/test_commands.py::TestBinarySave::test_large_responses[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_append[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_append[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_bitpos_wrong_arguments[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_bitpos_wrong_arguments[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_getname[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_getname[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_id[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_id[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_accepts_replica_type[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_accepts_replica_type[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_by_addr[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_by_addr[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_by_id[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_by_id[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_invalid_params[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_kill_filter_invalid_params[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list_after_client_setname[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list_after_client_setname[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list_type[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_list_type[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_setname[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_client_setname[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_addslots[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_addslots[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_count_failure_reports[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_count_failure_reports[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_countkeysinslot[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_countkeysinslot[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_delslots[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_delslots[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_failover[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_failover[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_forget[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_forget[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_info[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_info[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_keyslot[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_keyslot[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_meet[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_meet[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_nodes[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_nodes[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_replicate[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_replicate[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_reset[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_reset[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_saveconfig[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_saveconfig[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_setslot[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_setslot[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_slaves[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_cluster_slaves[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_get[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_get[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_resetstat[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_resetstat[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_set[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_config_set[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_dbsize[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_dbsize[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_decr[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_decr[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_decrby[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_decrby[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delete[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delete[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delete_with_multiple_keys[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delete_with_multiple_keys[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delitem[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_delitem[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_echo[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_echo[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_empty_response_option[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_empty_response_option[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_exists[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_exists[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_exists_contains[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_exists_contains[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expire[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expire[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_datetime[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_datetime[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_no_key[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_no_key[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_unixtime[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_expireat_unixtime[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_geoadd_invalid_params[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_geoadd_invalid_params[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_geodist_invalid_units[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_geodist_invalid_units[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_get_and_set[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_get_and_set[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getex_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getex_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getrange[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getrange[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getset[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_getset[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hgetex_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hgetex_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hset_without_data[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hset_without_data[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hsetex_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_hsetex_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incr[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incr[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incrby[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incrby[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incrbyfloat[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_incrbyfloat[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_increx_invalid_options[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_increx_invalid_options[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_increx_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_increx_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_info[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_info[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_keys[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_keys[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_lastsave[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_lastsave[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_mget[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_mget[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_mset[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_mset[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_msetex_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_msetex_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_msetnx[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_msetnx[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_never_decode_option[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_never_decode_option[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpire[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpire[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_datetime[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_datetime[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_no_key[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_no_key[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_unixtime[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pexpireat_unixtime[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ping[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ping[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_psetex[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_psetex[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_psetex_timedelta[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_psetex_timedelta[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pttl[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pttl[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pttl_no_key[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_pttl_no_key[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_randomkey[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_randomkey[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_readonly[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_readonly[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_readonly_invalid_cluster_state[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_readonly_invalid_cluster_state[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_rename[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_rename[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_renamenx[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_renamenx[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_scan[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_scan[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_scan_iter[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_scan_iter[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_empty_condition_is_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_empty_condition_is_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_ex[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_ex[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_ex_timedelta[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_ex_timedelta[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_keepttl[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_keepttl[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_multipleoptions[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_multipleoptions[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_nx[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_nx[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_px[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_px[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_px_timedelta[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_px_timedelta[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_xx[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_xx[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_zero_expiry_options_are_mutually_exclusive[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_set_zero_expiry_options_are_mutually_exclusive[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setex[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setex[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setnx[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setnx[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setrange[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_setrange[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_strlen[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_strlen[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_substr[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_substr[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_time[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_time[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ttl[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ttl[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ttl_nokey[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_ttl_nokey[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_unlink[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_unlink[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_unlink_with_multiple_keys[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_unlink_with_multiple_keys[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_xread_max_count_max_size_validation[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_xread_max_count_max_size_validation[single]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_xreadgroup_max_count_max_size_validation[pool]
#T tests/test_asyncio/test_commands.py::TestRedisCommands::test_xreadgroup_max_count_max_size_validation[single]
#T tests/test_asyncio/test_commands.py::TestResponseCallbacks::test_case_insensitive_command_names[pool]
#T tests/test_asyncio/test_commands.py::TestResponseCallbacks::test_case_insensitive_command_names[single]
#T tests/test_asyncio/test_commands.py::TestResponseCallbacks::test_response_callbacks[pool]
#T tests/test_asyncio/test_commands.py::TestResponseCallbacks::test_response_callbacks[single]
#T tests/test_asyncio/test_connection.py::test_can_run_concurrent_commands[pool]
#T tests/test_asyncio/test_connection.py::test_client_garbage_collection
#T tests/test_asyncio/test_connection.py::test_connect_retry_on_timeout_error
#T tests/test_asyncio/test_connection.py::test_connection_garbage_collection
#T tests/test_asyncio/test_connection.py::test_connection_parse_response_resume[pool]
#T tests/test_asyncio/test_connection.py::test_connection_parse_response_resume[single]
#T tests/test_asyncio/test_connection.py::test_disconnect_no_current_task
#T tests/test_asyncio/test_connection.py::test_disconnect_no_current_task_calls_close
#T tests/test_asyncio/test_connection.py::test_invalid_response[pool]
#T tests/test_asyncio/test_connection.py::test_invalid_response[single]
#T tests/test_asyncio/test_connection.py::test_socket_param_regression[pool]
#T tests/test_asyncio/test_connection.py::test_socket_param_regression[single]
#T tests/test_asyncio/test_connection_pool.py::TestConnectionPool::test_pool_disconnect
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_advances_next_health_check[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_advances_next_health_check[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_invokes_health_check[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_invokes_health_check[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_pipeline[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_pipeline[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_transaction[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_transaction[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_watched_pipeline[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_in_watched_pipeline[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_not_invoked_within_interval[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_not_invoked_within_interval[single]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_runs[pool]
#T tests/test_asyncio/test_connection_pool.py::TestHealthCheck::test_health_check_runs[single]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_auto_disconnect_redis_created_pool[pool]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_auto_disconnect_redis_created_pool[single]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_auto_release_override_true_manual_created_pool[pool]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_auto_release_override_true_manual_created_pool[single]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_close_override[pool-False]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_close_override[pool-True]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_close_override[single-False]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_close_override[single-True]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_do_not_auto_disconnect_redis_created_pool[pool]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_do_not_auto_disconnect_redis_created_pool[single]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_negate_auto_close_client_pool[pool-False]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_negate_auto_close_client_pool[pool-True]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_negate_auto_close_client_pool[single-False]
#T tests/test_asyncio/test_connection_pool.py::TestRedisAutoReleaseConnectionPool::test_negate_auto_close_client_pool[single-True]
#T tests/test_asyncio/test_credentials.py::TestCredentialsProvider::test_credential_provider_with_supplier[pool-None]
#T tests/test_asyncio/test_credentials.py::TestCredentialsProvider::test_credential_provider_with_supplier[single-None]
#T tests/test_asyncio/test_credentials.py::TestCredentialsProvider::test_only_pass_without_creds_provider[pool]
#T tests/test_asyncio/test_credentials.py::TestCredentialsProvider::test_only_pass_without_creds_provider[single]
#T tests/test_asyncio/test_credentials.py::TestUsernamePasswordCredentialProvider::test_user_pass_provider_only_password[pool]
#T tests/test_asyncio/test_credentials.py::TestUsernamePasswordCredentialProvider::test_user_pass_provider_only_password[single]
#T tests/test_asyncio/test_cwe_404.py::test_standalone[0.05]
#T tests/test_asyncio/test_cwe_404.py::test_standalone[0.5]
#T tests/test_asyncio/test_cwe_404.py::test_standalone[1]
#T tests/test_asyncio/test_cwe_404.py::test_standalone[2]
#T tests/test_asyncio/test_cwe_404.py::test_standalone_pipeline[0.05]
#T tests/test_asyncio/test_cwe_404.py::test_standalone_pipeline[0.5]
#T tests/test_asyncio/test_cwe_404.py::test_standalone_pipeline[1]
#T tests/test_asyncio/test_cwe_404.py::test_standalone_pipeline[2]
#T tests/test_asyncio/test_encoding.py::TestCommandsAreNotEncoded::test_basic_command[pool]
#T tests/test_asyncio/test_encoding.py::TestCommandsAreNotEncoded::test_basic_command[single]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_memoryview_encoding[pool]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_memoryview_encoding[single]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_memoryview_encoding_and_decoding[pool]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_memoryview_encoding_and_decoding[single]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_simple_encoding[pool]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_simple_encoding[single]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_simple_encoding_and_decoding[pool]
#T tests/test_asyncio/test_encoding.py::TestEncoding::test_simple_encoding_and_decoding[single]
#T tests/test_asyncio/test_encoding.py::TestEncodingErrors::test_ignore[pool]
#T tests/test_asyncio/test_encoding.py::TestEncodingErrors::test_ignore[single]
#T tests/test_asyncio/test_encoding.py::TestEncodingErrors::test_replace[pool]
#T tests/test_asyncio/test_encoding.py::TestEncodingErrors::test_replace[single]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_boolean_fails[pool]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_boolean_fails[single]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_none_fails[pool]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_none_fails[single]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_user_type_fails[pool]
#T tests/test_asyncio/test_encoding.py::TestInvalidUserInput::test_user_type_fails[single]
#T tests/test_asyncio/test_encoding.py::TestMemoryviewsAreNotPacked::test_memoryviews_are_not_packed[pool]
#T tests/test_asyncio/test_encoding.py::TestMemoryviewsAreNotPacked::test_memoryviews_are_not_packed[single]
#T tests/test_asyncio/test_lock.py::TestLock::test_blocking[pool]
#T tests/test_asyncio/test_lock.py::TestLock::test_blocking[single]
#T tests/test_asyncio/test_lock.py::TestLock::test_context_manager_raises_when_locked_not_acquired[pool]
#T tests/test_asyncio/test_lock.py::TestLock::test_context_manager_raises_when_locked_not_acquired[single]
#T tests/test_asyncio/test_lock.py::TestLock::test_extending_unlocked_lock_raises_error[pool]
#T tests/test_asyncio/test_lock.py::TestLock::test_extending_unlocked_lock_raises_error[single]
#T tests/test_asyncio/test_lock.py::TestLock::test_reacquiring_unlocked_lock_raises_error[pool]
#T tests/test_asyncio/test_lock.py::TestLock::test_reacquiring_unlocked_lock_raises_error[single]
#T tests/test_asyncio/test_lock.py::TestLock::test_releasing_unlocked_lock_raises_error[pool]
#T tests/test_asyncio/test_lock.py::TestLock::test_releasing_unlocked_lock_raises_error[single]
#T tests/test_asyncio/test_lock.py::TestLockClassSelection::test_lock_class_argument[pool]
#T tests/test_asyncio/test_lock.py::TestLockClassSelection::test_lock_class_argument[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_aclose_is_reset[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_aclose_is_reset[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_aclosing[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_aclosing[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline_unicode_command[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline_unicode_command[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_pipeline_truncated[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_in_pipeline_truncated[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_raised[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_exec_error_raised[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_parse_error_raised[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_parse_error_raised[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_parse_error_raised_transaction[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_parse_error_raised_transaction[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_discard[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_discard[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_get[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_get[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_is_true[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_is_true[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_json_module_access[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_json_module_access[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_length[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_length[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_memoryview[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_memoryview[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch_failure[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch_failure[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_reset_releases_connection_when_cancelled[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_reset_releases_connection_when_cancelled[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_with_empty_error_command[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_pipeline_with_empty_error_command[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_callable[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_callable[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_callable_returns_value_from_callable[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_callable_returns_value_from_callable[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_with_empty_error_command[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_transaction_with_empty_error_command[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_unwatch[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_unwatch[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_failure[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_failure[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_failure_in_empty_transaction[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_failure_in_empty_transaction[single]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_succeed[pool]
#T tests/test_asyncio/test_pipeline.py::TestPipeline::test_watch_succeed[single]
#T tests/test_asyncio/test_retry.py::TestRedisClientRetry::test_get_set_retry_object
#T tests/test_asyncio/test_sentinel_managed_connection.py::test_connect_retry_on_timeout_error
#T tests/test_asyncio/test_usage_counter.py::test_usage_counter[pool]
#T tests/test_asyncio/test_usage_counter.py::test_usage_counter[single]
#T tests/test_command_parser.py::TestCommandsParser::test_get_keys_predetermined_key_location
#T tests/test_command_parser.py::TestCommandsParser::test_init_commands
#T tests/test_commands.py::TestBinarySave::test_22_info
#T tests/test_commands.py::TestBinarySave::test_binary_get_set
#T tests/test_commands.py::TestBinarySave::test_large_responses
#T tests/test_commands.py::TestRedisCommands::test_append
#T tests/test_commands.py::TestRedisCommands::test_bitpos_wrong_arguments
#T tests/test_commands.py::TestRedisCommands::test_client_getname
#T tests/test_commands.py::TestRedisCommands::test_client_id
#T tests/test_commands.py::TestRedisCommands::test_client_info
#T tests/test_commands.py::TestRedisCommands::test_client_kill
#T tests/test_commands.py::TestRedisCommands::test_client_kill_filter_accepts_replica_type
#T tests/test_commands.py::TestRedisCommands::test_client_kill_filter_by_addr
#T tests/test_commands.py::TestRedisCommands::test_client_kill_filter_by_id
#T tests/test_commands.py::TestRedisCommands::test_client_kill_filter_by_laddr
#T tests/test_commands.py::TestRedisCommands::test_client_kill_filter_invalid_params
#T tests/test_commands.py::TestRedisCommands::test_client_list
#T tests/test_commands.py::TestRedisCommands::test_client_list_after_client_setname
#T tests/test_commands.py::TestRedisCommands::test_client_list_client_id
#T tests/test_commands.py::TestRedisCommands::test_client_list_replica
#T tests/test_commands.py::TestRedisCommands::test_client_list_types_not_replica
#T tests/test_commands.py::TestRedisCommands::test_client_no_evict
#T tests/test_commands.py::TestRedisCommands::test_client_setname
#T tests/test_commands.py::TestRedisCommands::test_cluster_addslots
#T tests/test_commands.py::TestRedisCommands::test_cluster_count_failure_reports
#T tests/test_commands.py::TestRedisCommands::test_cluster_countkeysinslot
#T tests/test_commands.py::TestRedisCommands::test_cluster_delslots
#T tests/test_commands.py::TestRedisCommands::test_cluster_failover
#T tests/test_commands.py::TestRedisCommands::test_cluster_forget
#T tests/test_commands.py::TestRedisCommands::test_cluster_info
#T tests/test_commands.py::TestRedisCommands::test_cluster_keyslot
#T tests/test_commands.py::TestRedisCommands::test_cluster_meet
#T tests/test_commands.py::TestRedisCommands::test_cluster_nodes
#T tests/test_commands.py::TestRedisCommands::test_cluster_replicate
#T tests/test_commands.py::TestRedisCommands::test_cluster_reset
#T tests/test_commands.py::TestRedisCommands::test_cluster_saveconfig
#T tests/test_commands.py::TestRedisCommands::test_cluster_setslot
#T tests/test_commands.py::TestRedisCommands::test_cluster_slaves
#T tests/test_commands.py::TestRedisCommands::test_command
#T tests/test_commands.py::TestRedisCommands::test_command_count
#T tests/test_commands.py::TestRedisCommands::test_command_docs
#T tests/test_commands.py::TestRedisCommands::test_command_list
#T tests/test_commands.py::TestRedisCommands::test_config_get
#T tests/test_commands.py::TestRedisCommands::test_config_get_multi_params
#T tests/test_commands.py::TestRedisCommands::test_config_resetstat
#T tests/test_commands.py::TestRedisCommands::test_config_set
#T tests/test_commands.py::TestRedisCommands::test_config_set_multi_params
#T tests/test_commands.py::TestRedisCommands::test_copy
#T tests/test_commands.py::TestRedisCommands::test_copy_and_replace
#T tests/test_commands.py::TestRedisCommands::test_copy_to_another_database
#T tests/test_commands.py::TestRedisCommands::test_dbsize
#T tests/test_commands.py::TestRedisCommands::test_debug_segfault
#T tests/test_commands.py::TestRedisCommands::test_decr
#T tests/test_commands.py::TestRedisCommands::test_decrby
#T tests/test_commands.py::TestRedisCommands::test_delete
#T tests/test_commands.py::TestRedisCommands::test_delete_with_multiple_keys
#T tests/test_commands.py::TestRedisCommands::test_delitem
#T tests/test_commands.py::TestRedisCommands::test_echo
#T tests/test_commands.py::TestRedisCommands::test_empty_response_option
#T tests/test_commands.py::TestRedisCommands::test_exists
#T tests/test_commands.py::TestRedisCommands::test_exists_contains
#T tests/test_commands.py::TestRedisCommands::test_expire
#T tests/test_commands.py::TestRedisCommands::test_expire_option_gt
#T tests/test_commands.py::TestRedisCommands::test_expire_option_lt
#T tests/test_commands.py::TestRedisCommands::test_expire_option_nx
#T tests/test_commands.py::TestRedisCommands::test_expire_option_xx
#T tests/test_commands.py::TestRedisCommands::test_expireat_datetime
#T tests/test_commands.py::TestRedisCommands::test_expireat_no_key
#T tests/test_commands.py::TestRedisCommands::test_expireat_option_gt
#T tests/test_commands.py::TestRedisCommands::test_expireat_option_lt
#T tests/test_commands.py::TestRedisCommands::test_expireat_option_nx
#T tests/test_commands.py::TestRedisCommands::test_expireat_option_xx
#T tests/test_commands.py::TestRedisCommands::test_expireat_unixtime
#T tests/test_commands.py::TestRedisCommands::test_expiretime
#T tests/test_commands.py::TestRedisCommands::test_failover
#T tests/test_commands.py::TestRedisCommands::test_geoadd_invalid_params
#T tests/test_commands.py::TestRedisCommands::test_geodist_invalid_units
#T tests/test_commands.py::TestRedisCommands::test_geosearch_negative
#T tests/test_commands.py::TestRedisCommands::test_get_and_set
#T tests/test_commands.py::TestRedisCommands::test_getdel
#T tests/test_commands.py::TestRedisCommands::test_getex
#T tests/test_commands.py::TestRedisCommands::test_getex_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_getitem_and_setitem
#T tests/test_commands.py::TestRedisCommands::test_getitem_does_not_raise_keyerror_for_empty_string
#T tests/test_commands.py::TestRedisCommands::test_getitem_raises_keyerror_for_missing_key
#T tests/test_commands.py::TestRedisCommands::test_getrange
#T tests/test_commands.py::TestRedisCommands::test_getset
#T tests/test_commands.py::TestRedisCommands::test_hello_notI_implemented
#T tests/test_commands.py::TestRedisCommands::test_hgetex_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_hset_without_data
#T tests/test_commands.py::TestRedisCommands::test_hsetex_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_incr
#T tests/test_commands.py::TestRedisCommands::test_incrby
#T tests/test_commands.py::TestRedisCommands::test_incrbyfloat
#T tests/test_commands.py::TestRedisCommands::test_increx_invalid_options
#T tests/test_commands.py::TestRedisCommands::test_increx_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_info
#T tests/test_commands.py::TestRedisCommands::test_info_multi_sections
#T tests/test_commands.py::TestRedisCommands::test_interrupted_command
#T tests/test_commands.py::TestRedisCommands::test_keys
#T tests/test_commands.py::TestRedisCommands::test_lastsave
#T tests/test_commands.py::TestRedisCommands::test_latency_doctor_not_implemented
#T tests/test_commands.py::TestRedisCommands::test_latency_graph_not_implemented
#T tests/test_commands.py::TestRedisCommands::test_latency_histogram_not_implemented
#T tests/test_commands.py::TestRedisCommands::test_memory_doctor
#T tests/test_commands.py::TestRedisCommands::test_memory_help
#T tests/test_commands.py::TestRedisCommands::test_mget
#T tests/test_commands.py::TestRedisCommands::test_mset
#T tests/test_commands.py::TestRedisCommands::test_msetex_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_msetnx
#T tests/test_commands.py::TestRedisCommands::test_never_decode_option
#T tests/test_commands.py::TestRedisCommands::test_pexpire
#T tests/test_commands.py::TestRedisCommands::test_pexpire_option_gt
#T tests/test_commands.py::TestRedisCommands::test_pexpire_option_lt
#T tests/test_commands.py::TestRedisCommands::test_pexpire_option_nx
#T tests/test_commands.py::TestRedisCommands::test_pexpire_option_xx
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_datetime
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_no_key
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_option_gt
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_option_lt
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_option_nx
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_option_xx
#T tests/test_commands.py::TestRedisCommands::test_pexpireat_unixtime
#T tests/test_commands.py::TestRedisCommands::test_pexpiretime
#T tests/test_commands.py::TestRedisCommands::test_ping
#T tests/test_commands.py::TestRedisCommands::test_psetex
#T tests/test_commands.py::TestRedisCommands::test_psetex_timedelta
#T tests/test_commands.py::TestRedisCommands::test_pttl
#T tests/test_commands.py::TestRedisCommands::test_pttl_no_key
#T tests/test_commands.py::TestRedisCommands::test_quit
#T tests/test_commands.py::TestRedisCommands::test_randomkey
#T tests/test_commands.py::TestRedisCommands::test_readonly
#T tests/test_commands.py::TestRedisCommands::test_readonly_invalid_cluster_state
#T tests/test_commands.py::TestRedisCommands::test_rename
#T tests/test_commands.py::TestRedisCommands::test_renamenx
#T tests/test_commands.py::TestRedisCommands::test_reset
#T tests/test_commands.py::TestRedisCommands::test_scan
#T tests/test_commands.py::TestRedisCommands::test_scan_iter
#T tests/test_commands.py::TestRedisCommands::test_script_debug
#T tests/test_commands.py::TestRedisCommands::test_select
#T tests/test_commands.py::TestRedisCommands::test_set_empty_condition_is_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_set_ex
#T tests/test_commands.py::TestRedisCommands::test_set_ex_str
#T tests/test_commands.py::TestRedisCommands::test_set_ex_timedelta
#T tests/test_commands.py::TestRedisCommands::test_set_exat_timedelta
#T tests/test_commands.py::TestRedisCommands::test_set_get
#T tests/test_commands.py::TestRedisCommands::test_set_keepttl
#T tests/test_commands.py::TestRedisCommands::test_set_multipleoptions
#T tests/test_commands.py::TestRedisCommands::test_set_nx
#T tests/test_commands.py::TestRedisCommands::test_set_px
#T tests/test_commands.py::TestRedisCommands::test_set_px_timedelta
#T tests/test_commands.py::TestRedisCommands::test_set_pxat_timedelta
#T tests/test_commands.py::TestRedisCommands::test_set_xx
#T tests/test_commands.py::TestRedisCommands::test_set_zero_expiry_options_are_mutually_exclusive
#T tests/test_commands.py::TestRedisCommands::test_setex
#T tests/test_commands.py::TestRedisCommands::test_setnx
#T tests/test_commands.py::TestRedisCommands::test_setrange
#T tests/test_commands.py::TestRedisCommands::test_shutdown
#T tests/test_commands.py::TestRedisCommands::test_shutdown_with_params
#T tests/test_commands.py::TestRedisCommands::test_strlen
#T tests/test_commands.py::TestRedisCommands::test_substr
#T tests/test_commands.py::TestRedisCommands::test_time
#T tests/test_commands.py::TestRedisCommands::test_ttl
#T tests/test_commands.py::TestRedisCommands::test_ttl_nokey
#T tests/test_commands.py::TestRedisCommands::test_unlink
#T tests/test_commands.py::TestRedisCommands::test_unlink_with_multiple_keys
#T tests/test_commands.py::TestRedisCommands::test_xautoclaim_negative
#T tests/test_commands.py::TestRedisCommands::test_xpending_range_negative
#T tests/test_commands.py::TestRedisCommands::test_xread_max_count_max_size_validation
#T tests/test_commands.py::TestRedisCommands::test_xreadgroup_max_count_max_size_validation
#T tests/test_commands.py::TestRedisCommands::test_zrange_errors
#T tests/test_commands.py::TestResponseCallbacks::test_case_insensitive_command_names
#T tests/test_commands.py::TestResponseCallbacks::test_response_callbacks
#T tests/test_connection.py::test_connection_parse_response_resume[RESP2Parser]
#T tests/test_connection.py::test_connection_parse_response_resume[RESP3Parser]
#T tests/test_connection.py::test_invalid_response
#T tests/test_connection_pool.py::TestConnectionPool::test_multiple_connections
#T tests/test_connection_pool.py::TestConnectionPool::test_pool_disconnect
#T tests/test_connection_pool.py::TestConnectionPool::test_release_not_owned_connection
#T tests/test_connection_pool.py::TestConnectionPool::test_reuse_previously_released_connection
#T tests/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_advances_next_health_check
#T tests/test_connection_pool.py::TestHealthCheck::test_arbitrary_command_invokes_health_check
#T tests/test_connection_pool.py::TestHealthCheck::test_health_check_in_pipeline
#T tests/test_connection_pool.py::TestHealthCheck::test_health_check_in_transaction
#T tests/test_connection_pool.py::TestHealthCheck::test_health_check_in_watched_pipeline
#T tests/test_connection_pool.py::TestHealthCheck::test_health_check_not_invoked_within_interval
#T tests/test_connection_pool.py::TestHealthCheck::test_health_check_runs
#T tests/test_connection_pool.py::TestMultiConnectionClient::test_multi_connection_command
#T tests/test_credentials.py::TestCredentialsProvider::test_credential_provider_with_supplier[None]
#T tests/test_credentials.py::TestCredentialsProvider::test_only_pass_without_creds_provider
#T tests/test_credentials.py::TestUsernamePasswordCredentialProvider::test_user_pass_provider_only_password
#T tests/test_encoding.py::TestCommandsAreNotEncoded::test_basic_command
#T tests/test_encoding.py::TestEncoding::test_memoryview_encoding
#T tests/test_encoding.py::TestEncoding::test_memoryview_encoding_and_decoding
#T tests/test_encoding.py::TestEncoding::test_simple_encoding
#T tests/test_encoding.py::TestEncoding::test_simple_encoding_and_decoding
#T tests/test_encoding.py::TestEncodingErrors::test_ignore
#T tests/test_encoding.py::TestEncodingErrors::test_replace
#T tests/test_encoding.py::TestInvalidUserInput::test_boolean_fails
#T tests/test_encoding.py::TestInvalidUserInput::test_none_fails
#T tests/test_encoding.py::TestInvalidUserInput::test_user_type_fails
#T tests/test_lock.py::TestLock::test_context_manager_raises_when_locked_not_acquired
#T tests/test_lock.py::TestLock::test_extending_unlocked_lock_raises_error
#T tests/test_lock.py::TestLock::test_lock_error_gives_correct_lock_name
#T tests/test_lock.py::TestLock::test_reacquiring_unlocked_lock_raises_error
#T tests/test_lock.py::TestLock::test_releasing_unlocked_lock_raises_error
#T tests/test_lock.py::TestLockClassSelection::test_lock_class_argument
#T tests/test_multiprocessing.py::TestMultiprocessing::test_close_connection_in_child
#T tests/test_multiprocessing.py::TestMultiprocessing::test_close_connection_in_parent
#T tests/test_multiprocessing.py::TestMultiprocessing::test_close_pool_in_main[1]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_close_pool_in_main[2]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_close_pool_in_main[None]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_pool[1]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_pool[2]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_pool[None]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_redis_client
#T tests/test_multiprocessing.py::TestMultiprocessing::test_release_parent_connection_from_pool_in_child_process[2]
#T tests/test_multiprocessing.py::TestMultiprocessing::test_release_parent_connection_from_pool_in_child_process[None]
#T tests/test_pipeline.py::TestPipeline::test_close_is_reset
#T tests/test_pipeline.py::TestPipeline::test_closing
#T tests/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline
#T tests/test_pipeline.py::TestPipeline::test_exec_error_in_no_transaction_pipeline_unicode_command
#T tests/test_pipeline.py::TestPipeline::test_exec_error_in_pipeline_truncated
#T tests/test_pipeline.py::TestPipeline::test_exec_error_raised
#T tests/test_pipeline.py::TestPipeline::test_parse_error_raised
#T tests/test_pipeline.py::TestPipeline::test_parse_error_raised_transaction
#T tests/test_pipeline.py::TestPipeline::test_pipeline_discard
#T tests/test_pipeline.py::TestPipeline::test_pipeline_is_true
#T tests/test_pipeline.py::TestPipeline::test_pipeline_length
#T tests/test_pipeline.py::TestPipeline::test_pipeline_memoryview
#T tests/test_pipeline.py::TestPipeline::test_pipeline_no_transaction
#T tests/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch
#T tests/test_pipeline.py::TestPipeline::test_pipeline_no_transaction_watch_failure
#T tests/test_pipeline.py::TestPipeline::test_pipeline_with_empty_error_command
#T tests/test_pipeline.py::TestPipeline::test_transaction_callable
#T tests/test_pipeline.py::TestPipeline::test_transaction_callable_returns_value_from_callable
#T tests/test_pipeline.py::TestPipeline::test_transaction_with_empty_error_command
#T tests/test_pipeline.py::TestPipeline::test_unwatch
#T tests/test_pipeline.py::TestPipeline::test_watch_failure
#T tests/test_pipeline.py::TestPipeline::test_watch_failure_in_empty_transaction
#T tests/test_pipeline.py::TestPipeline::test_watch_succeed
#T tests/test_retry.py::TestRedisClientRetry::test_client_retry_on_error_and_timeout
#T tests/test_retry.py::TestRedisClientRetry::test_client_retry_on_error_different_error_raised
#T tests/test_retry.py::TestRedisClientRetry::test_client_retry_on_error_raise
#T tests/test_retry.py::TestRedisClientRetry::test_client_retry_on_error_with_success
#T tests/test_retry.py::TestRedisClientRetry::test_client_retry_on_timeout
#T tests/test_retry.py::TestRedisClientRetry::test_get_set_retry_object
#T tests/test_scripting.py::TestScript::test_bytes_script_sha
#T tests/test_scripting.py::TestScript::test_encoder
#T tests/test_scripting.py::TestScript::test_script_text
#T tests/test_scripting.py::TestScript::test_string_script_sha
#T tests/test_sentinel_managed_connection.py::test_connect_retry_on_timeout_error

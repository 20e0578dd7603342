#!/usr/bin/env bash
# The web console in a real browser, end to end: a private Redis, a database
# in the suite's PostgreSQL (pg.sh; SPOTGRID_PG_STATE), spotgridd serving the
# built console, a supplier's node metered by a simulated spotgrid-agent, a
# funded buyer, then console_test.mjs drives Debian's chromium through
# playwright-core. Screenshots go to BUILD_DIR/screenshots.
#
#   web/tests/run_console_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run_console_test.sh BUILD_DIR}" && pwd)
cd "$root"
source scripts/lib/ports.sh

work=$(mktemp -d /tmp/spotgrid-console.XXXXXX)
server_pid="" agent_pid=""
cleanup() {
  [[ -n "$agent_pid" ]] && kill -TERM "$agent_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  scripts/redis.sh stop "$work/redis" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

conninfo=$(scripts/pg.sh start "${SPOTGRID_PG_STATE:?set by ctest: the PostgreSQL of the suite}")
database="console_$$_$RANDOM"
psql "$conninfo" -qAtc "CREATE DATABASE $database" >/dev/null
conninfo="${conninfo/dbname=postgres/dbname=$database}"
redis_port=$(scripts/redis.sh start "$work/redis")
port=$(pick_port)
base="http://127.0.0.1:$port"
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
operator_key="sg_$(hex 8)_$(hex 32)"
metering_secret=$(hex 32)

SPOTGRID_POSTGRES_CONNINFO="$conninfo" SPOTGRID_AUTH_OPERATOR_KEY="$operator_key" \
  SPOTGRID_METERING_SECRET="$metering_secret" SPOTGRID_REDIS_PORT="$redis_port" \
  SPOTGRID_LISTEN_PORT="$port" SPOTGRID_METERING_SETTLE_EVERY_SECONDS=1 \
  SPOTGRID_WEB_ROOT="$build/web" \
  "$build/apps/spotgridd" --config config/spotgridd.json >"$work/spotgridd.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -sf "$base/readyz" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/spotgridd.log" >&2; exit 1; }
  sleep 0.2
done

post() { curl -sf -X POST -H "Authorization: Bearer $1" -d "$3" "$base$2"; }
field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }
supplier_key=$(post "$operator_key" /v1/accounts '{"name": "north-lab", "role": "supplier"}' | field api_key)
node=$(post "$supplier_key" /v1/nodes '{"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8}' | field node_id)
buyer=$(post "$operator_key" /v1/accounts '{"name": "demo-buyer", "role": "buyer"}')
buyer_key=$(echo "$buyer" | field api_key)
post "$operator_key" "/v1/accounts/$(echo "$buyer" | field account_id)/deposits" \
  '{"amount_micros": 1000000000}' >/dev/null
SPOTGRID_AGENT_KEY=$(curl -sf -H "Authorization: Bearer $operator_key" \
  "$base/v1/nodes/$node/agent-key" | field agent_key) "$build/apps/spotgrid-agent" \
  --node "$node" --spool "$work/agent" --server "127.0.0.1:$port" --source simulated \
  --cards 8 --seed 1 >/dev/null 2>"$work/agent.log" &
agent_pid=$!

mkdir -p "$build/screenshots"
status=0
BASE="$base" SUPPLIER_KEY="$supplier_key" BUYER_KEY="$buyer_key" NODE_ID="$node" \
  SCREENSHOTS="$build/screenshots" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" \
  timeout 240 node "$here/console_test.mjs" || status=$?
if ((status != 0)); then
  echo "--- the tail of spotgridd's log ---" >&2
  tail -20 "$work/spotgridd.log" >&2
fi
exit "$status"

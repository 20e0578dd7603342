#!/usr/bin/env bash
# The main job: a private PostgreSQL on 127.0.0.1 (data kept in build/run-pg
# between runs) and a private Redis (build/run-redis), spotgridd in front of them, and a demo market seeded through the
# API (suppliers with nodes and listings in several regions and GPU models, a
# simulated metering agent per node, a funded buyer). Prints the buyer's API key and curl examples, then serves until
# Ctrl-C, which drains spotgridd and stops PostgreSQL and Redis.
#
#   scripts/run.sh            the server with the demo market (port 8080, or $SPOTGRID_LISTEN_PORT)
#   scripts/run.sh --demo     the durable market demo instead: a simulated market
#                             through engine + persister + ledger, then the trial balance
#   scripts/run.sh --memory   the engine alone, in memory
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-demo spotgridd spotgrid-agent spotgrid spotgrid_web \
  -j "$(nproc)"

if [[ "${1:-}" == "--memory" ]]; then
  shift
  exec build/release/apps/spotgrid-demo --config config "$@"
fi

state=build/run-pg
server_pid=""
agent_pids=()
cleanup() {
  for pid in "${agent_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  ./scripts/pg.sh stop "$state" >/dev/null || true
  ./scripts/redis.sh stop build/run-redis >/dev/null || true
}
trap cleanup EXIT
conninfo=$(./scripts/pg.sh start "$state")
echo "PostgreSQL: $conninfo"

if [[ "${1:-}" == "--demo" ]]; then
  shift
  build/release/apps/spotgrid-demo --config config --conninfo "$conninfo" "$@"
  exit
fi

source scripts/lib/api.sh
operator_key="sg_$(hex 8)_$(hex 32)"
# Kept with the data, so agent keys (and what agents spooled) stay valid across runs.
secret_file="$state/metering.secret"
[[ -s "$secret_file" ]] || (umask 077 && hex 32 >"$secret_file")
chmod 600 "$secret_file"  # a secret: the owner only, also for files an older run wrote
metering_secret=${SPOTGRID_METERING_SECRET:-$(cat "$secret_file")}
port=${SPOTGRID_LISTEN_PORT:-8080}
base="http://127.0.0.1:$port"

redis_port=$(./scripts/redis.sh start build/run-redis)
echo "Redis: 127.0.0.1:$redis_port"

SPOTGRID_POSTGRES_CONNINFO="$conninfo" SPOTGRID_AUTH_OPERATOR_KEY="$operator_key" \
  SPOTGRID_METERING_SECRET="$metering_secret" SPOTGRID_REDIS_PORT="$redis_port" SPOTGRID_LISTEN_PORT="$port" build/release/apps/spotgridd --config config/spotgridd.json &
server_pid=$!

wait_ready "$base" "$server_pid" || exit 1

# POSTs JSON with a key; prints the response body, fails on an HTTP error.

new_account() { api_post "$operator_key" /v1/accounts "{\"name\": \"$1\", \"role\": \"$2\"}"; }
now=$(date +%s)
listed=0
for supplier in "north-lab:eu-west" "dc-east:us-east" "coast:us-west"; do
  name=${supplier%%:*}
  region=${supplier##*:}
  key=$(new_account "$name" supplier | json_field api_key)
  for model in H100-SXM-80G A100-80G L40S-48G; do
    node=$(api_post "$key" /v1/nodes "{\"pool\": \"$model\", \"region\": \"$region\", \"cards\": 8}" |
      json_field node_id)
    price=$((1000000 + RANDOM % 2000000))
    api_post "$key" /v1/listings "{\"node_id\": $node, \"cards\": 8, \"reserve_micros_per_card_hour\": $price,
      \"available_from\": $((now - 60)), \"available_until\": $((now + 7 * 86400))}" >/dev/null
    listed=$((listed + 8))
  done
done
# A metering agent on simulated cards for every node, this run's and earlier
# runs' (their listings are still open): leases are billed by the second.
mkdir -p build/run-agents
while IFS='|' read -r node cards; do
  SPOTGRID_AGENT_KEY=$(curl -sf -H "Authorization: Bearer $operator_key" \
    "$base/v1/nodes/$node/agent-key" | json_field agent_key) build/release/apps/spotgrid-agent \
    --node "$node" --spool "build/run-agents/$node" --server "127.0.0.1:$port" \
    --source simulated --cards "$cards" --seed "$node" >/dev/null 2>"build/run-agents/$node.log" &
  agent_pids+=($!)
done < <(psql "$conninfo" -Atc "SELECT node_id, cards FROM nodes ORDER BY node_id")

buyer=$(new_account demo-buyer buyer)
buyer_id=$(echo "$buyer" | json_field account_id)
buyer_key=$(echo "$buyer" | json_field api_key)
api_post "$operator_key" "/v1/accounts/$buyer_id/deposits" '{"amount_micros": 10000000000}' >/dev/null

cat <<EOF

spotgridd is serving $base with a demo market: 3 suppliers, 9 nodes, $listed cards listed
in eu-west, us-east and us-west (H100-SXM-80G, A100-80G, L40S-48G), each node metered
by a simulated spotgrid-agent, earlier runs' nodes too (leases are billed by the second;
see charged_micros).
Demo buyer (account $buyer_id, funded with 10 000 USD), API key:

  export KEY=$buyer_key

The web console: $base/  (the market is public; sign in with the key above)
The CLI:         SPOTGRID_URL=$base SPOTGRID_API_KEY=\$KEY build/release/apps/spotgrid --help

Try:
  curl -s $base/v1/account -H "Authorization: Bearer \$KEY"
  curl -s $base/v1/market/H100-SXM-80G/book -H "Authorization: Bearer \$KEY"
  curl -s -X POST $base/v1/quotes -H "Authorization: Bearer \$KEY" \\
       -d '{"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600, "limit_micros_per_hour": 4000000}'
  curl -s -X POST $base/v1/orders -H "Authorization: Bearer \$KEY" -H "Idempotency-Key: my-order-1" \\
       -d '{"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600, "limit_micros_per_hour": 4000000}'
  curl -s $base/v1/leases -H "Authorization: Bearer \$KEY"
  curl -s $base/metrics | grep metering

Ctrl-C stops it.
EOF
wait "$server_pid"

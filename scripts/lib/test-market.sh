# Sourced by the end-to-end tests that drive real processes (the browser test,
# the CLI test): a private Redis, a database of their own in the suite's
# PostgreSQL (pg.sh; SPOTGRID_PG_STATE), and spotgridd built in BUILD_DIR,
# with an operator key. Sets: work, base, port, operator_key,
# metering_secret, server_pid. stop_market undoes it (call it from a trap);
# start_agent BUILD_DIR NODE meters a node. API helpers: api.sh.

# shellcheck source=ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
# shellcheck source=api.sh
source "$(dirname "${BASH_SOURCE[0]}")/api.sh"

agent_pids=()
stop_market() {
  for pid in "${agent_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [[ -n "${server_pid:-}" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  scripts/redis.sh stop "$work/redis" >/dev/null 2>&1 || true
  [[ -n "${database:-}" ]] && psql "$pg_conninfo" -qAtc "DROP DATABASE IF EXISTS $database" \
    >/dev/null 2>&1
  rm -rf "$work"
}

# start_market BUILD_DIR [VAR=VALUE...]: extra settings for spotgridd.
start_market() {
  local build=$1
  shift
  work=$(mktemp -d /tmp/spotgrid-e2e.XXXXXX)
  local conninfo redis_port
  pg_conninfo=$(scripts/pg.sh start "${SPOTGRID_PG_STATE:?the PostgreSQL state dir of the suite}")
  database="e2e_$$_$RANDOM"
  psql "$pg_conninfo" -qAtc "CREATE DATABASE $database" >/dev/null
  conninfo="${pg_conninfo/dbname=postgres/dbname=$database}"
  redis_port=$(scripts/redis.sh start "$work/redis")
  port=$(pick_port)
  base="http://127.0.0.1:$port"
  operator_key="sg_$(hex 8)_$(hex 32)"
  metering_secret=$(hex 32)
  env SPOTGRID_POSTGRES_CONNINFO="$conninfo" SPOTGRID_AUTH_OPERATOR_KEY="$operator_key" \
    SPOTGRID_METERING_SECRET="$metering_secret" SPOTGRID_REDIS_PORT="$redis_port" \
    SPOTGRID_LISTEN_PORT="$port" SPOTGRID_WEB_ROOT="$build/console" "$@" \
    "$build/apps/spotgridd" --config config/spotgridd.json >"$work/spotgridd.log" 2>&1 &
  server_pid=$!
  wait_ready "$base" "$server_pid" && return 0
  tail -20 "$work/spotgridd.log" >&2
  return 1
}

# start_agent BUILD_DIR NODE: a simulated spotgrid-agent metering NODE's 8 cards.
start_agent() {
  local key
  key=$(curl -sf -H "Authorization: Bearer $operator_key" "$base/v1/nodes/$2/agent-key" |
    json_field agent_key)
  SPOTGRID_AGENT_KEY="$key" "$1/apps/spotgrid-agent" --node "$2" --spool "$work/agent-$2" \
    --server "127.0.0.1:$port" --source simulated --cards 8 --seed "$2" >/dev/null \
    2>"$work/agent-$2.log" &
  agent_pids+=($!)
}

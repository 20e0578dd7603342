#!/usr/bin/env bash
# Builds Release and runs the benchmarks; each prints JSON lines, each line the
# median of --runs runs.
#   scripts/bench.sh engine [ARGS]   in-memory matching engine (spotgrid-bench-engine)
#   scripts/bench.sh engine-vs REV [--pairs N] [ARGS]
#                                    the engine bench of this tree against revision REV's
#                                    (built in build/bench-base), N pairs (default 8) run
#                                    alternately: medians per binary, and new over base
#   scripts/bench.sh durable [ARGS]  engine + persister + PostgreSQL (spotgrid-bench-durable),
#                                    against a private cluster destroyed at the end
#   scripts/bench.sh ingest [ARGS]   metering samples stored durably (spotgrid-bench-ingest),
#                                    against a private cluster destroyed at the end
#   scripts/bench.sh export [ARGS]   billing export rows/s and peak memory (spotgrid-bench-export)
#   scripts/bench.sh replay [ARGS]   a month of 100,000 jobs on 8,000 cards through spotgrid-replay
#                                    (spotgrid-bench-replay)
#   scripts/bench.sh gateway SCENARIO [ARGS]
#                                    spotgridd under spotgrid-loadtest (loadtest/SCENARIO.json:
#                                    orders or book), with a private PostgreSQL and Redis
#   scripts/bench.sh http-vs-nginx [--seconds S] [--pairs N] [--connections C] [--workers W]
#                                    spotgridd's GET /v1/market/<pool>/book (a seeded book)
#                                    against nginx serving the same bytes at the same path:
#                                    N pairs of wrk runs (-t1 -cC -dS), nginx then spotgridd,
#                                    each server with W threads serving HTTP (nginx worker
#                                    processes, spotgridd I/O threads)
#                                    (defaults 10 s, 3 pairs, 64 connections, 1); a JSON line
#                                    per run, then one with the medians; spotgridd with a
#                                    private PostgreSQL and Redis, nginx with a private config
#   scripts/bench.sh                 engine and durable, with default arguments
set -euo pipefail
cd "$(dirname "$0")/.."
# A signal ends the script through its EXIT trap (which stops what it started).
trap 'exit 130' INT
trap 'exit 143' TERM

what=${1:-all}
[[ $# -gt 0 ]] && shift

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if [[ "$what" == http-vs-nginx ]]; then
  targets=(spotgridd)
else
  targets=(spotgrid-bench-engine spotgrid-bench-durable spotgrid-bench-ingest
    spotgrid-bench-export spotgrid-bench-replay spotgridd spotgrid-loadtest)
fi
cmake --build build/release --target "${targets[@]}" -j "$(nproc)"

# shellcheck source=lib/ports.sh
source scripts/lib/ports.sh
# shellcheck source=lib/api.sh
source scripts/lib/api.sh
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# spotgridd on a free port of 127.0.0.1, with a private PostgreSQL and Redis and
# a fresh operator key; sets port, operator_key and server_pid. No rate limit:
# the point is the gateway's own ceiling. Redis stays on the path (the token
# bucket is skipped, idempotency is not used by the benchmarks).
# stop_spotgridd (from the caller's EXIT trap, set first) undoes all of it.
pg_state=build/loadtest-pg
redis_state=build/loadtest-redis
server_log=build/loadtest-spotgridd.log
server_pid=""
start_spotgridd() {
  local conninfo redis_port
  conninfo=$(./scripts/pg.sh start "$pg_state")
  redis_port=$(./scripts/redis.sh start "$redis_state")
  operator_key="sg_$(hex 8)_$(hex 32)"
  port=$(pick_port)
  SPOTGRID_POSTGRES_CONNINFO="$conninfo" SPOTGRID_AUTH_OPERATOR_KEY="$operator_key" \
    SPOTGRID_REDIS_PORT="$redis_port" SPOTGRID_LISTEN_PORT="$port" SPOTGRID_RATE_LIMIT_PER_SECOND=0 SPOTGRID_RATE_LIMIT_PER_ADDRESS_PER_SECOND=0 \
    build/release/apps/spotgridd --config config/spotgridd.json >"$server_log" 2>&1 &
  server_pid=$!
  wait_ready "http://127.0.0.1:$port" "$server_pid" && return 0
  tail -20 "$server_log" >&2 || true
  echo "bench.sh: spotgridd did not become ready on port $port (see $server_log)" >&2
  return 1
}
stop_spotgridd() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  ./scripts/redis.sh stop "$redis_state" >/dev/null || true
  ./scripts/pg.sh destroy "$pg_state" >/dev/null || true
}

if [[ "$what" == engine || "$what" == all ]]; then
  build/release/bench/spotgrid-bench-engine --config config "$@"
fi
if [[ "$what" == engine-vs ]]; then
  base_rev=${1:?"usage: scripts/bench.sh engine-vs REV [--pairs N] [ARGS]"}
  shift
  pairs=8
  if [[ "${1:-}" == --pairs ]]; then
    pairs=$2
    shift 2
  fi
  base_tree=build/bench-base/tree
  rm -rf "$base_tree"
  mkdir -p "$base_tree"
  git archive "$base_rev" | tar -x -C "$base_tree"
  cmake -S "$base_tree" -B build/bench-base/build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/bench-base/build --target spotgrid-bench-engine -j "$(nproc)" >/dev/null
  scripts/lib/engine_pairs.py "$pairs" build/bench-base/build/bench/spotgrid-bench-engine \
    build/release/bench/spotgrid-bench-engine --config config "$@"
fi
if [[ "$what" == durable || "$what" == all ]]; then
  state=build/bench-pg
  trap './scripts/pg.sh destroy "$state" >/dev/null' EXIT
  conninfo=$(./scripts/pg.sh start "$state")
  build/release/bench/spotgrid-bench-durable --config config --conninfo "$conninfo" "$@"
fi
if [[ "$what" == replay ]]; then
  build/release/bench/spotgrid-bench-replay --config config "$@"
fi
if [[ "$what" == export ]]; then
  state=build/bench-pg
  trap './scripts/pg.sh destroy "$state" >/dev/null' EXIT
  conninfo=$(./scripts/pg.sh start "$state")
  build/release/bench/spotgrid-bench-export --config config --conninfo "$conninfo" "$@"
fi
if [[ "$what" == ingest ]]; then
  state=build/bench-pg
  trap './scripts/pg.sh destroy "$state" >/dev/null' EXIT
  conninfo=$(./scripts/pg.sh start "$state")
  build/release/bench/spotgrid-bench-ingest --config config --conninfo "$conninfo" "$@"
fi
if [[ "$what" == gateway ]]; then
  scenario=${1:?usage: bench.sh gateway orders|book [ARGS]}
  shift
  trap stop_spotgridd EXIT
  start_spotgridd
  build/release/loadtest/spotgrid-loadtest --scenario "loadtest/$scenario.json" --port "$port" \
    --operator-key "$operator_key" "$@"
fi

if [[ "$what" == http-vs-nginx ]]; then
  usage="usage: bench.sh http-vs-nginx [--seconds S] [--pairs N] [--connections C] [--workers W]"
  seconds=10
  pairs=3
  connections=64
  workers=1
  while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]{0,4}$ ]] || { echo "$usage" >&2; exit 2; }
    case "$1" in
      --seconds) seconds=$2 ;;
      --pairs) pairs=$2 ;;
      --connections) connections=$2 ;;
      --workers) workers=$2 ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
    shift 2
  done
  command -v wrk >/dev/null || { echo "bench.sh: wrk not found (run scripts/install-deps.sh)" >&2; exit 1; }
  # shellcheck source=lib/nginx.sh
  source scripts/lib/nginx.sh

  # The catalog's first GPU model: its book is what both servers answer.
  pool=$(python3 -c 'import json; print(json.load(open("config/gpus.json"))["gpus"][0]["model"])')
  book_path="/v1/market/$pool/book"
  nginx_dir=$(mktemp -d /tmp/spotgrid-nginx.XXXXXX)
  chmod 755 "$nginx_dir"
  wrk_pid=""
  stop_all() {
    if [[ -n "$wrk_pid" ]]; then kill -TERM "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
    nginx_stop "$nginx_dir"
    stop_spotgridd
    rm -rf "$nginx_dir"
  }
  trap stop_all EXIT
  # As many threads serving HTTP as nginx has workers: the same share of the
  # cores (wrk takes the rest).
  export SPOTGRID_LISTEN_THREADS=$workers
  start_spotgridd
  base="http://127.0.0.1:$port"

  # post KEY PATH JSON: prints the answer; fails, showing it, on an HTTP error.
  post() {
    local answer
    answer=$(curl -sS --fail-with-body -X POST -H "Authorization: Bearer $1" \
      -H 'Content-Type: application/json' -d "$3" "$base$2") ||
      { echo "bench.sh: POST $2 $3: $answer" >&2; return 1; }
    echo "$answer"
  }
  # field JSON NAME: the value of a top-level field.
  field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
  # A full book (20 levels a side, what the route shows): a supplier's listings
  # on 20 nodes in all regions, from 2.0 USD/card-hour up, and a funded buyer's
  # resting orders from 1.0 USD/hour down, below any ask even at the cheapest
  # hour's tariff, so nothing trades and the book stays as seeded.
  echo "bench.sh: seeding the $pool book" >&2
  now=$(date +%s)
  regions=(eu-west us-east us-west ap-east)
  supplier=$(post "$operator_key" /v1/accounts '{"name": "bench supplier", "role": "supplier"}')
  supplier_key=$(field "$supplier" api_key)
  for i in $(seq 0 19); do
    cards=$((1 + i % 8))
    node=$(post "$supplier_key" /v1/nodes \
      "{\"pool\": \"$pool\", \"region\": \"${regions[i % 4]}\", \"cards\": $cards}")
    post "$supplier_key" /v1/listings "{\"node_id\": $(field "$node" node_id), \"cards\": $cards,
      \"reserve_micros_per_card_hour\": $((2000000 + i * 50000)),
      \"available_from\": $((now - 60)), \"available_until\": $((now + 7 * 86400))}" >/dev/null
  done
  buyer=$(post "$operator_key" /v1/accounts '{"name": "bench buyer", "role": "buyer"}')
  buyer_key=$(field "$buyer" api_key)
  post "$operator_key" "/v1/accounts/$(field "$buyer" account_id)/deposits" \
    '{"amount_micros": 1000000000000}' >/dev/null
  for i in $(seq 0 19); do
    post "$buyer_key" /v1/orders "{\"pool\": \"$pool\", \"cards\": $((1 + i % 4)),
      \"duration_seconds\": 3600, \"limit_micros_per_hour\": $((1000000 - i * 25000))}" >/dev/null
  done

  # What nginx will serve: spotgridd's answer, byte for byte. Both servers get
  # the same request, the Authorization header included (nginx ignores it).
  auth="Authorization: Bearer $buyer_key"
  body="$nginx_dir/book.json"
  content_type=$(curl -sf -H "$auth" -o "$body" -w '%{content_type}' "$base$book_path")
  [[ "$content_type" == application/json* ]] ||
    { echo "bench.sh: $book_path answered $content_type, not application/json" >&2; exit 1; }
  python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); sys.exit(not (b["asks"] and b["bids"]))' \
    "$body" || { echo "bench.sh: the seeded book is empty on a side: $(cat "$body")" >&2; exit 1; }
  body_bytes=$(wc -c <"$body")
  nginx_port=$(nginx_start "$nginx_dir" "$body" "$book_path" "$workers")
  curl -sf -H "$auth" "http://127.0.0.1:$nginx_port$book_path" | cmp -s - "$body" ||
    { echo "bench.sh: nginx does not serve the same bytes" >&2; exit 1; }
  echo "bench.sh: $book_path, $body_bytes bytes; nginx on $nginx_port, spotgridd on $port" >&2

  runs="$nginx_dir/runs.jsonl"
  for pair in $(seq 1 "$pairs"); do
    for server in nginx spotgridd; do
      server_port=$nginx_port
      [[ "$server" == spotgridd ]] && server_port=$port
      # In the background, waited for: wrk takes a Ctrl-C as "stop and report"
      # and exits 0, so a foreground wrk would leave the script running on; a
      # signal interrupts `wait` instead, and stop_all ends wrk.
      wrk -t1 -c"$connections" -d"${seconds}s" --latency -H "$auth" \
        "http://127.0.0.1:$server_port$book_path" >"$nginx_dir/wrk.out" &
      wrk_pid=$!
      wait "$wrk_pid"
      wrk_pid=""
      python3 scripts/lib/wrk.py run "$server" "$pair" <"$nginx_dir/wrk.out" | tee -a "$runs"
    done
  done
  # The index price in the answer moves with time (the book does not): the
  # size of spotgridd's answer after the runs says whether the comparison held.
  end_bytes=$(curl -sf -H "$auth" "$base$book_path" | wc -c)
  python3 scripts/lib/wrk.py summary "body_bytes=$body_bytes" "seconds=$seconds" \
    "connections=$connections" "workers=$workers" "pairs=$pairs" "pool=$pool" "body_bytes_at_end=$end_bytes" <"$runs"
fi

#!/usr/bin/env bash
# Builds Release and runs the benchmarks; each prints JSON lines, each line the
# median of --runs runs.
#   scripts/bench.sh engine [ARGS]   in-memory matching engine (spotgrid-bench-engine)
#   scripts/bench.sh durable [ARGS]  engine + persister + PostgreSQL (spotgrid-bench-durable),
#                                    against a private cluster destroyed at the end
#   scripts/bench.sh ingest [ARGS]   metering samples stored durably (spotgrid-bench-ingest),
#                                    against a private cluster destroyed at the end
#   scripts/bench.sh export [ARGS]   billing export rows/s and peak memory (spotgrid-bench-export)
#   scripts/bench.sh gateway SCENARIO [ARGS]
#                                    spotgridd under spotgrid-loadtest (loadtest/SCENARIO.json:
#                                    orders or book), with a private PostgreSQL and Redis
#   scripts/bench.sh                 engine and durable, with default arguments
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-bench-engine spotgrid-bench-durable \
  spotgrid-bench-ingest spotgrid-bench-export spotgridd spotgrid-loadtest -j "$(nproc)"

what=${1:-all}
[[ $# -gt 0 ]] && shift

if [[ "$what" == engine || "$what" == all ]]; then
  build/release/bench/spotgrid-bench-engine --config config "$@"
fi
if [[ "$what" == durable || "$what" == all ]]; then
  state=build/bench-pg
  trap './scripts/pg.sh destroy "$state" >/dev/null' EXIT
  conninfo=$(./scripts/pg.sh start "$state")
  build/release/bench/spotgrid-bench-durable --config config --conninfo "$conninfo" "$@"
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
  state=build/loadtest-pg
  redis_state=build/loadtest-redis
  server_pid=""
  stop_all() {
    if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    ./scripts/redis.sh stop "$redis_state" >/dev/null || true
    ./scripts/pg.sh destroy "$state" >/dev/null || true
  }
  trap stop_all EXIT
  conninfo=$(./scripts/pg.sh start "$state")
  redis_port=$(./scripts/redis.sh start "$redis_state")
  hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
  operator_key="sg_$(hex 8)_$(hex 32)"
  # shellcheck source=lib/ports.sh
  source scripts/lib/ports.sh
  port=$(pick_port)
  # No rate limit: the point is the gateway's own ceiling. Redis stays on the path
  # (the token bucket is skipped, idempotency is not used by the scenarios).
  SPOTGRID_POSTGRES_CONNINFO="$conninfo" SPOTGRID_AUTH_OPERATOR_KEY="$operator_key" \
    SPOTGRID_REDIS_PORT="$redis_port" SPOTGRID_LISTEN_PORT="$port" SPOTGRID_RATE_LIMIT_PER_SECOND=0 SPOTGRID_RATE_LIMIT_PER_ADDRESS_PER_SECOND=0 \
    build/release/apps/spotgridd --config config/spotgridd.json >build/loadtest-spotgridd.log 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
  done
  build/release/loadtest/spotgrid-loadtest --scenario "loadtest/$scenario.json" --port "$port" \
    --operator-key "$operator_key" "$@"
fi

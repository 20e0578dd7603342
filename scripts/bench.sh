#!/usr/bin/env bash
# Builds Release and runs the benchmarks; each prints JSON lines, each line the
# median of --runs runs.
#   scripts/bench.sh engine [ARGS]   in-memory matching engine (spotgrid-bench-engine)
#   scripts/bench.sh durable [ARGS]  engine + persister + PostgreSQL (spotgrid-bench-durable),
#                                    against a private cluster destroyed at the end
#   scripts/bench.sh                 both, with default arguments
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-bench-engine spotgrid-bench-durable -j "$(nproc)"

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

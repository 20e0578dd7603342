#!/usr/bin/env bash
# The main job. Until the gateway exists this is the durable market demo: a private
# PostgreSQL on 127.0.0.1 (data kept in build/run-pg between runs), then a seeded
# market played through engine + persister + ledger, ending with the books, the
# trial balance and a check that the ledger matches the recovered engine. Run it
# twice: the second run recovers the first run's market and carries on.
# Extra arguments go to spotgrid-demo (--seed N, --commands N, --config DIR);
# `--memory` plays the engine alone, without PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-demo -j "$(nproc)"

if [[ "${1:-}" == "--memory" ]]; then
  shift
  exec build/release/apps/spotgrid-demo --config config "$@"
fi

state=build/run-pg
trap './scripts/pg.sh stop "$state" >/dev/null' EXIT
conninfo=$(./scripts/pg.sh start "$state")
echo "PostgreSQL: $conninfo"
build/release/apps/spotgrid-demo --config config --conninfo "$conninfo" "$@"

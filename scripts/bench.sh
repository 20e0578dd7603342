#!/usr/bin/env bash
# Builds Release and runs the engine benchmark: one JSON line per stream, each the
# median of --runs runs (default 5). Extra arguments go to spotgrid-bench-engine.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-bench-engine -j "$(nproc)"
exec build/release/bench/spotgrid-bench-engine --config config "$@"

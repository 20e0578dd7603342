#!/usr/bin/env bash
# The main job. Until the gateway exists this is the engine demo: a seeded market
# replayed through the matching engine, printing trades and every pool's book.
# Extra arguments go to spotgrid-demo (--seed N, --commands N, --config DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target spotgrid-demo -j "$(nproc)"
exec build/release/apps/spotgrid-demo --config config "$@"

#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine: installs what is missing, checks
# formatting, clang-tidy and the OpenAPI document, then builds and runs the whole
# suite twice through ctest: Release with warnings as errors, and Debug with
# AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/check-format.sh
./scripts/lint.sh
./scripts/lint-openapi.sh

jobs=$(nproc)
run_suite() {
  local name=$1
  shift
  echo "== $name: configure, build, test"
  cmake -S . -B "build/$name" -G Ninja -DSPOTGRID_WERROR=ON "$@"
  cmake --build "build/$name" -j "$jobs"
  ctest --test-dir "build/$name" --output-on-failure -j "$jobs" --timeout 600
}

run_suite release -DCMAKE_BUILD_TYPE=Release
# The browser test runs once, against the Release build.
run_suite asan -DCMAKE_BUILD_TYPE=Debug -DSPOTGRID_SANITIZE=ON -DSPOTGRID_BUILD_BENCH=OFF \
  -DSPOTGRID_WEB=OFF
echo "== all tests passed"

#!/usr/bin/env bash
# clang-tidy over every source file, with the checks in .clang-tidy (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/lint -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
# asio_src.cpp only compiles Boost's own sources: nothing of ours to check.
mapfile -t files < <(git ls-files 'util/*.cpp' 'engine/*.cpp' 'ledger/*.cpp' 'gateway/*.cpp' 'sim/*.cpp' 'apps/*.cpp' \
  'bench/*.cpp' 'loadtest/*.cpp' 'metering/*.cpp' 'ingest/*.cpp' 'finance/*.cpp' 'client/*.cpp' \
  'cli/*.cpp' 'replay/*.cpp' 'webhooks/*.cpp' | grep -v '^gateway/asio_src.cpp$')
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 1 clang-tidy -p build/lint --quiet

#!/usr/bin/env bash
# clang-tidy over every source file, with the checks in .clang-tidy (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/lint -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
mapfile -t files < <(git ls-files 'engine/*.cpp' 'ledger/*.cpp' 'sim/*.cpp' 'apps/*.cpp' 'bench/*.cpp')
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 1 clang-tidy -p build/lint --quiet

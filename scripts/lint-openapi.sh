#!/usr/bin/env bash
# Lints the API contract (openapi/spotgrid.json) with a pinned @redocly/cli,
# installed from the npm registry into build/tools on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.25.11
tools=build/tools/redocly-$version
if [[ ! -x "$tools/node_modules/.bin/redocly" ]]; then
  if ! command -v npm >/dev/null; then
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent "@redocly/cli@$version"
fi
# Errors fail the build; so does any warning.
"$tools/node_modules/.bin/redocly" lint --max-problems 100 openapi/spotgrid.json 2>&1 | tee build/tools/openapi-lint.log
! grep -q 'warning' build/tools/openapi-lint.log

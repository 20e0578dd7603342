#!/usr/bin/env bash
# Builds the web console into DEST (default build/release/console), where
# spotgridd finds it (web.root; by default console/ in its build directory).
# The console is plain ES modules: "building" is installing the pinned npm
# packages (web/package-lock.json, `npm ci`) and copying the sources and the
# one runtime library (uPlot) beside them. Nothing is fetched at page load:
# the page works with no internet.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-build/release/console}

command -v npm >/dev/null || { echo "build-web.sh: npm not found (run scripts/install-deps.sh)" >&2; exit 1; }
# npm ci again only when the lockfile changed since the last install.
if [[ ! -f web/node_modules/.package-lock.json ||
      web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

staging="$dest.staging"
rm -rf "$staging"
mkdir -p "$staging/vendor"
cp web/src/*.html web/src/*.js web/src/*.css "$staging/"
cp web/node_modules/uplot/dist/uPlot.esm.js web/node_modules/uplot/dist/uPlot.min.css \
  "$staging/vendor/"
cp web/node_modules/uplot/LICENSE "$staging/vendor/uPlot.LICENSE.txt"
rm -rf "$dest"
mv "$staging" "$dest"

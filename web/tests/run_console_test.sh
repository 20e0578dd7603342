#!/usr/bin/env bash
# The web console in a real browser, end to end: spotgridd serving the built
# console against a private Redis and a database in the suite's PostgreSQL
# (scripts/lib/test-market.sh), a supplier's node metered by a simulated
# spotgrid-agent, a funded buyer; then console_test.mjs drives Debian's
# chromium through playwright-core. Screenshots go to BUILD_DIR/screenshots.
#
#   web/tests/run_console_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run_console_test.sh BUILD_DIR}" && pwd)
cd "$here/../.."
source scripts/lib/test-market.sh
trap stop_market EXIT
start_market "$build" SPOTGRID_METERING_SETTLE_EVERY_SECONDS=1

supplier_key=$(api_post "$operator_key" /v1/accounts '{"name": "north-lab", "role": "supplier"}' |
  json_field api_key)
node=$(api_post "$supplier_key" /v1/nodes '{"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8}' |
  json_field node_id)
buyer=$(api_post "$operator_key" /v1/accounts '{"name": "demo-buyer", "role": "buyer"}')
buyer_key=$(echo "$buyer" | json_field api_key)
api_post "$operator_key" "/v1/accounts/$(echo "$buyer" | json_field account_id)/deposits" \
  '{"amount_micros": 1000000000}' >/dev/null
start_agent "$build" "$node"

mkdir -p "$build/screenshots"
status=0
BASE="$base" SUPPLIER_KEY="$supplier_key" BUYER_KEY="$buyer_key" NODE_ID="$node" OPERATOR_KEY="$operator_key" \
  SCREENSHOTS="$build/screenshots" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" \
  timeout 240 node "$here/console_test.mjs" || status=$?
if ((status != 0)); then
  echo "--- the tail of spotgridd's log ---" >&2
  tail -20 "$work/spotgridd.log" >&2
fi
exit "$status"

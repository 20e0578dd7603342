#!/usr/bin/env bash
# The `spotgrid` CLI against a real spotgridd (scripts/lib/test-market.sh):
# the supplier's day (register, list, agent, earnings), the buyer's (quote,
# place, lease, watch, stop, invoice), finance's trial balance, login and
# its config file, and what every exit code means.
#
#   tests/cli/cli_test.sh BUILD_DIR
set -euo pipefail
# A command that fails outside a check ends the script (set -e): say which, or
# the run ends with no word of why (it did so once in CI and never again here).
trap 'echo "cli_test.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
build=$(cd "${1:?usage: cli_test.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/../.."
source scripts/lib/test-market.sh
trap stop_market EXIT
start_market "$build" SPOTGRID_METERING_SETTLE_EVERY_SECONDS=1
export SPOTGRID_URL="$base" HOME="$work/home"
mkdir -p "$HOME"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect CODE WHAT -- COMMAND...: runs the CLI; its output in $out and $err.
expect() {
  local want=$1 what=$2
  shift 3
  local code=0
  out=$("$build/apps/spotgrid" "$@" 2>"$work/stderr") || code=$?
  err=$(cat "$work/stderr")
  if [[ $code -ne $want ]]; then
    fail "$what: exit $code, wanted $want"
    echo "  stdout: $out" >&2
    echo "  stderr: $err" >&2
  fi
}
contains() { [[ "$1" == *"$2"* ]] || fail "$3: no \"$2\" in: $1"; }
as() { SPOTGRID_API_KEY=$1; export SPOTGRID_API_KEY; }

as "$operator_key"
expect 0 "operator creates a supplier" -- account create --name north-lab --role supplier
supplier_key=$(echo "$out" | tail -1)
expect 0 "operator creates a buyer" -- account create --name lab --role buyer
buyer_key=$(echo "$out" | tail -1)
buyer_id=$(echo "$out" | head -1 | sed -E 's/account ([0-9]+).*/\1/')
expect 0 "operator deposits" -- account deposit "$buyer_id" --amount 1000
contains "$out" '$1,000.00' "the deposit answers the new cash"
expect 0 "operator creates finance" -- account create --name books --role finance
finance_key=$(echo "$out" | tail -1)

echo "== the supplier's day"
as "$supplier_key"
expect 0 "node register" -- node register --pool H100-SXM-80G --region eu-west --cards 8
node=$(echo "$out" | sed -E 's/node ([0-9]+) registered/\1/')
expect 0 "node list" -- node list
contains "$out" "H100-SXM-80G" "node list names the pool"
expect 0 "node agent-key" -- node agent-key "$node"
[[ "$out" =~ ^[0-9a-f]{64}$ ]] || fail "the agent key is 64 hex digits: $out"
start_agent "$build" "$node"
expect 0 "listing create" -- listing create --node "$node" --cards 8 --price 2.00 --days 2
expect 0 "listing list" -- listing list
contains "$out" "active" "the listing is active"
expect 0 "book shows the asks (public, no key needed)" -- book H100-SXM-80G
contains "$out" '$2.00' "the book shows the reserve"

echo "== the buyer's day"
as "$buyer_key"
expect 0 "quote" -- quote --pool H100-SXM-80G --cards 2 --hours 1 --limit 4.00
contains "$out" "2 cards fill now" "the quote fills"
# A deadline 18 s out (0.005 h), not 0: the CLI reads the clock before it
# connects, and a busy server's clock may have moved on to the next second.
# Not in the last seconds of an hour, when a cheaper next hour could defer it.
(( $(date +%s) % 3600 < 3575 )) || sleep $((3601 - $(date +%s) % 3600))
expect 0 "order place (cost-first, start now)" -- order place --pool H100-SXM-80G --cards 2 \
  --hours 1 --limit 4.00 --strategy cost_first --start-within 0.005
contains "$out" "filled" "the order filled"
order=$(echo "$out" | head -1 | sed -E 's/order ([0-9]+):.*/\1/')
key=$(echo "$err" | sed -nE 's/idempotency key: (.*)/\1/p')
[[ -n "$key" ]] || fail "order place prints its idempotency key"
retry=$(echo "$err" | sed -nE 's/retry with: (.*)/\1/p')
[[ "$retry" == "--idempotency-key $key --latest-start "* ]] || fail "a retry line: $err"
sleep 1  # a retry a second later sends the same body: the deadline is the printed one
# shellcheck disable=SC2086
expect 0 "the same order again with its key" -- order place --pool H100-SXM-80G --cards 2 \
  --hours 1 --limit 4.00 --strategy cost_first $retry
contains "$out" "order $order:" "a retry answers the first order, not a second"
expect 0 "a resting order" -- order place --pool H100-SXM-80G --cards 2 --hours 1 --limit 0.50
resting=$(echo "$out" | head -1 | sed -E 's/order ([0-9]+):.*/\1/')
expect 0 "order amend" -- order amend "$resting" --cards 1 --limit 0.75
contains "$out" '1 cards open at $0.75' "the amendment answers what is open"
expect 3 "amend up is refused" -- order amend "$resting" --cards 3
contains "$err" "place a second order" "says what to do instead"
expect 0 "order cancel" -- order cancel "$resting"
expect 0 "order list" -- order list
[[ $(echo "$out" | grep -c "^$order ") -eq 1 ]] || fail "one order, not two: $out"
expect 0 "order list, a page of one" -- order list --limit 1
next=$(echo "$out" | sed -nE 's/^more: --cursor ([0-9]+)$/\1/p')
[[ -n "$next" ]] || fail "a page of one says how to get the next: $out"
expect 0 "the next page" -- order list --limit 1 --cursor "$next"
expect 0 "cancelled orders only" -- order list --state cancelled
contains "$out" "$resting" "the cancelled order is listed"
[[ $(echo "$out" | grep -c "^$order ") -eq 0 ]] || fail "a filled order is not cancelled: $out"
expect 3 "a state that is not one" -- order list --state expired
expect 0 "lease list" -- lease list
contains "$out" "running" "the lease runs"
contains "$out" "BILLED s" "the list shows the seconds billed"
lease=$(echo "$out" | awk 'NR == 2 {print $1}')
expect 0 "watch sees the lease billed" -- watch leases --count 1
contains "$out" "lease_settled" "the stream shows settlements"
sleep 2
expect 0 "lease show" -- lease show "$lease"
billed=$(echo "$out" | awk '$1 == "seconds_billed" {print $2}')
[[ "${billed:-0}" -gt 0 ]] || fail "seconds billed grows: $out"
expect 0 "lease energy" -- lease energy "$lease"
joules=$(echo "$out" | awk '$1 == "energy_joules" {print $2}')
[[ "${joules:-0}" -gt 0 ]] || fail "the agent's samples give the lease energy: $out"
as "$supplier_key"
expect 0 "the supplier sees the lease's energy too" -- lease energy "$lease"
as "$finance_key"
expect 4 "finance has no leases of its own" -- lease energy "$lease"
as "$buyer_key"
expect 0 "lease stop" -- lease stop "$lease"
expect 0 "account show" -- account show
contains "$out" "cash" "the account shows its cash"
expect 0 "key create" -- key create --label laptop --days 7
spare_key=$(echo "$out" | tail -1)
spare_id=$(echo "$out" | head -1 | sed -E 's/key ([0-9a-f]+) .*/\1/')
expect 0 "key list" -- key list
contains "$out" "laptop" "the new key is listed by its label"
contains "$out" "(this key)" "and the caller's own is marked"
expect 0 "a read-only key" -- key create --label viewer --scope read
viewer_key=$(echo "$out" | tail -1)
SPOTGRID_API_KEY="$viewer_key" expect 0 "a read key reads" -- order list
SPOTGRID_API_KEY="$viewer_key" expect 4 "a read key places nothing" -- order place \
  --pool H100-SXM-80G --cards 1 --hours 1 --limit 0.50
expect 0 "key revoke" -- key revoke "$spare_id"
SPOTGRID_API_KEY="$spare_key" expect 4 "a revoked key" -- account show
expect 0 "webhook create" -- webhook create --url https://hooks.example.com/in \
  --events order.filled,balance.low --balance-below 50
hook_id=$(echo "$out" | head -1 | sed -E 's/endpoint ([0-9]+);.*/\1/')
contains "$(echo "$out" | tail -1)" "whsec_" "the signing secret is shown once"
expect 0 "webhook list" -- webhook list
contains "$out" "hooks.example.com" "the endpoint is listed"
contains "$out" '$50.00' "with its balance threshold"
[[ "$out" != *whsec_* ]] || fail "a listed endpoint shows no secret"
expect 3 "a plain-http webhook" -- webhook create --url http://hooks.example.com/in \
  --events order.filled
contains "$err" "https" "the refusal says https"
expect 3 "an unknown event type" -- webhook create --url https://hooks.example.com/in \
  --events order.filed
expect 0 "webhook deliveries" -- webhook deliveries "$hook_id" --state delivered
expect 2 "deliveries of no endpoint" -- webhook deliveries x
expect 0 "webhook delete" -- webhook delete "$hook_id"
expect 3 "a deleted webhook is gone" -- webhook delete "$hook_id"
expect 0 "account withdraw" -- account withdraw --amount 100 --idempotency-key w-1
contains "$out" 'withdrew $100.00' "the withdrawal answers its amount"
cash_after=$(echo "$out" | sed -E 's/.*cash now (.*)/\1/')
expect 0 "the same withdrawal again" -- account withdraw --amount 100 --idempotency-key w-1
contains "$out" "cash now $cash_after" "a retry answers the first withdrawal, not a second"
expect 3 "more than the cash" -- account withdraw --amount 999999
contains "$err" "deposit more, or ask for less" "the refusal says what to do"
expect 0 "invoices" -- billing invoices --month "$(date -u +%Y-%m)"
contains "$out" "lab" "the invoice names the account"
for verb in "order list" "lease list"; do
  # shellcheck disable=SC2086
  expect 0 "$verb --json" -- $verb --json
  echo "$out" | python3 -c 'import json, sys; json.load(sys.stdin)' || fail "$verb --json is one JSON"
done
expect 0 "export to a file" -- billing export --from "$(date -u +%Y-%m-01)" \
  --to "$(date -u -d tomorrow +%Y-%m-%d)" --output "$work/export.csv"
head -1 "$work/export.csv" | grep -q "lease_id,.*,energy_joules" || fail "the export has its header"
# The lease's charge rows carry the energy the agent measured that hour.
awk -F, 'NR > 1 && $3 > 0 && $NF > 0 {found = 1} END {exit !found}' "$work/export.csv" ||
  fail "a charge row with energy: $(head -3 "$work/export.csv")"
contains "$err" "wrote" "the export says what it wrote"

echo "== the supplier's earnings, finance's books"
as "$supplier_key"
expect 0 "earnings" -- billing earnings
contains "$out" "$(date -u +%Y-%m-%d)" "earnings today"
# A dear card leased for a few seconds: earnings of whole cents, payable once it stops.
expect 0 "a second node" -- node register --pool A100-80G --region eu-west --cards 8
dear_node=$(echo "$out" | sed -E 's/node ([0-9]+) registered/\1/')
start_agent "$build" "$dear_node"
expect 0 "a dear listing" -- listing create --node "$dear_node" --cards 1 --price 100 --days 1
as "$buyer_key"
expect 0 "a dear order" -- order place --pool A100-80G --cards 1 --hours 1 --limit 100
contains "$out" "filled" "the dear order filled"
# Until its agent has reported a few seconds of it (the agent starts first).
for _ in $(seq 60); do
  expect 0 "lease list" -- lease list
  dear=$(echo "$out" | awk '$2 == "A100-80G" && $8 == "running" {print $1, $9; exit}')
  [[ "${dear#* }" =~ ^[0-9]+$ && "${dear#* }" -ge 2 ]] && break
  sleep 0.5
done
dear_lease=${dear%% *}
[[ -n "$dear_lease" && "${dear#* }" -ge 2 ]] || fail "the dear lease is billed: $out"
expect 0 "the dear lease stops" -- lease stop "$dear_lease"
sleep 2  # its last seconds settle
as "$supplier_key"
expect 0 "a daily payout schedule" -- account payout-schedule daily --minimum 5
contains "$out" 'paid out daily at 00:00 UTC when at least $5.000000' "the schedule answers"
expect 0 "account show (supplier)" -- account show
contains "$out" 'daily above $5.000000' "the account shows its schedule"
expect 2 "a schedule that is neither" -- account payout-schedule weekly
expect 3 "a payout beyond the earnings" -- account payout --amount 999999
contains "$err" "payable_micros" "the refusal says what can be paid out"
expect 2 "a fraction of a cent" -- account payout --amount 0.001
expect 0 "account payout" -- account payout --amount 0.01 --idempotency-key p-1
contains "$out" "spotgrid-po-" "the payout answers its reference"
reference=$(echo "$out" | sed -E 's/.* as (spotgrid-po-[0-9]+);.*/\1/')
expect 0 "the same payout again" -- account payout --amount 0.01 --idempotency-key p-1
contains "$out" "$reference" "a retry answers the first payout, not a second"
as "$finance_key"
expect 0 "payout transfers" -- billing transfers --from "$(date -u +%Y-%m-%d)" \
  --to "$(date -u -d tomorrow +%Y-%m-%d)"
contains "$out" "$reference" "finance sees the transfer by its reference"
[[ $(echo "$out" | grep -c "spotgrid-po-") -eq 1 ]] || fail "one transfer, not two: $out"
as "$operator_key"
expect 0 "operator halts a pool" -- operator halt A100-80G
contains "$out" "A100-80G halted" "the halt answers"
as "$buyer_key"
expect 3 "an order in a halted pool" -- order place --pool A100-80G --cards 1 --hours 1 --limit 100
contains "$err" "halted" "the refusal says the pool is halted"
as "$operator_key"
expect 0 "operator resumes it" -- operator resume A100-80G
expect 0 "operator quarantines a node" -- operator quarantine "$dear_node"
expect 2 "a suspension said badly" -- operator suspend "$buyer_id" --stop-leases maybe
expect 0 "operator sets the fee" -- operator fee 600
contains "$out" "600 bp" "the answer says the new fee"
expect 2 "a fee beyond half" -- operator fee 5001
change=$((($(date +%s) / 3600 + 2) * 3600))
expect 3 "a schedule off the hour" -- operator tariffs config/tariffs.json --from $((change + 1))
contains "$err" "must be on an hour" "the refusal says why"
expect 0 "operator publishes tariffs" -- operator tariffs config/tariffs.json --from "$change"
contains "$out" "tariff schedule 1" "the answer names the schedule"
expect 2 "a tariffs file that is not one" -- operator tariffs README.md --from "$change"
echo '{"model": "B200-SXM-192G", "vendor": "nvidia", "memory_gib": 192, "bf16_tflops": 2250,
  "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
  "reference_price_micros_per_card_hour": 6000000}' >"$work/b200.json"
expect 0 "operator adds a GPU model" -- operator gpu-model "$work/b200.json"
contains "$out" "pool B200-SXM-192G" "the answer names the pool"
expect 3 "the same model twice" -- operator gpu-model "$work/b200.json"
expect 0 "the new pool has a book" -- book B200-SXM-192G
expect 0 "operator audit" -- operator audit --from "$(date -u +%Y-%m-%d)" \
  --to "$(date -u -d tomorrow +%Y-%m-%d)"
contains "$out" "quarantine_node" "the audit lists the quarantine"
contains "$out" "set_platform_fee" "the audit lists the fee"
contains "$out" "publish_tariff_schedule" "the audit lists the schedule"
contains "$out" "add_gpu_model" "the audit lists the model"
[[ $(echo "$out" | grep -c "halt_pool") -eq 2 ]] || fail "the audit lists halt and resume: $out"
as "$finance_key"
expect 0 "trial balance" -- ledger trial-balance
contains "$out" 'sum of all balances: $0.000000' "the ledger balances"

echo "== exit codes"
as ""
expect 4 "no key" -- account show
contains "$err" "SPOTGRID_API_KEY" "says where a key comes from"
as "$buyer_key"
expect 2 "a missing option" -- order place --cards 2
contains "$err" "--pool is required" "names the option"
expect 2 "an unknown command" -- orders
expect 3 "refused by the market" -- order place --pool H100-SXM-80G --cards 2 --hours 1 \
  --limit 4.00 --strategy cost_first --start-within 500
contains "$err" "latest_start" "the refusal says what to change"
expect 3 "an unknown order" -- order show 999999
expect 4 "a role that may not" -- node list
SPOTGRID_URL=http://127.0.0.1:1 expect 5 "nothing listening" -- account show
expect 2 "a misspelt option" -- order place --pool H100-SXM-80G --cards 2 --hours 1 \
  --limit 4.00 --stratgy cost_first
contains "$err" "--stratgy is not an option" "names the misspelling"
expect 2 "hours beyond any duration" -- quote --pool H100-SXM-80G --cards 2 --hours 9999999999 \
  --limit 4.00
expect 0 "help on a verb" -- order place --help
contains "$out" "--idempotency-key" "help names the options"

echo "== a hostile or silent server: exit 5, never a crash or a hang"
hostile_port=$(pick_port)
python3 - "$hostile_port" "$work/hostile.ready" <<'PY' &
import socket, sys, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(16)
open(sys.argv[2], "w").close()  # listening: the answers go by connection order
answers = [b'["not", "an", "object"]', b'{"regions": [1e300, "x", {"multiplier_bp": 7}]}',
           b'{"account_id": "\\u001b]0;owned\\u0007\\u001b[2J", "role": "buyer"}']
def serve(connection, n):
    connection.recv(65536)
    if n == 3:  # silent: never answers
        threading.Event().wait(30)
        return
    body = answers[n % 3]
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    connection.close()
for n in range(4):
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection, n), daemon=True).start()
threading.Event().wait(30)
PY
hostile_pid=$!
agent_pids+=("$hostile_pid")
for _ in $(seq 100); do [[ -e "$work/hostile.ready" ]] && break; sleep 0.1; done
[[ -e "$work/hostile.ready" ]] || fail "the hostile server did not start"
SPOTGRID_URL="http://127.0.0.1:$hostile_port" expect 5 "an array for an object" -- order show 1
SPOTGRID_URL="http://127.0.0.1:$hostile_port" expect 0 "odd tariffs" -- tariffs
SPOTGRID_URL="http://127.0.0.1:$hostile_port" expect 0 "escapes in an answer" -- account show
[[ "$out" != *$'\e'* ]] || fail "a terminal escape reached the terminal"
started=$(date +%s)
SPOTGRID_URL="http://127.0.0.1:$hostile_port" SPOTGRID_TIMEOUT_SECONDS=2 \
  expect 5 "a server that never answers" -- pools
(($(date +%s) - started <= 10)) || fail "the timeout held it $(($(date +%s) - started)) s"

echo "== login keeps the key in a file only its owner reads"
as ""
unset SPOTGRID_URL
expect 0 "login" -- login --url "$base" --key "$buyer_key"
config="$HOME/.config/spotgrid/config.json"
[[ $(stat -c %a "$config") == 600 ]] || fail "config mode is $(stat -c %a "$config")"
expect 0 "a command with only the config" -- account show
contains "$out" "buyer" "the config's key is used"
expect 4 "login with a bad key" -- login --url "$base" --key "sg_0000000000000000_$(hex 32)"

echo "== HTTPS: the server's certificate is verified"
tls_checks() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/key.pem" \
    -out "$dir/cert.pem" 2>/dev/null
  start_market "$build" SPOTGRID_TLS_CERTIFICATE_FILE="$dir/cert.pem" \
    SPOTGRID_TLS_PRIVATE_KEY_FILE="$dir/key.pem" >/dev/null 2>&1 || true
  local https="https://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sfk "$https/readyz" >/dev/null && break
    sleep 0.2
  done
  SPOTGRID_URL="$https" expect 5 "an unknown certificate is refused" -- pools
  contains "$err" "certificate verify failed" "says why"
  unset SPOTGRID_URL
  as "$operator_key"
  expect 0 "login trusting the server's CA" -- login --url "$https" --key "$operator_key" \
    --ca-file "$dir/cert.pem"
  as ""
  expect 0 "pools over verified HTTPS" -- pools
  contains "$out" "H100-SXM-80G" "the pools arrive"
  stop_market
}
tls_dir=$(mktemp -d /tmp/spotgrid-tls.XXXXXX)
# A subshell (its own market, HOME and counters): it fails when a check did.
(HOME="$tls_dir" && tls_checks "$tls_dir" && ((failures == 0))) || failures=$((failures + 1))
rm -rf "$tls_dir"

if ((failures > 0)); then
  echo "--- the tail of spotgridd's log ---" >&2
  tail -20 "$work/spotgridd.log" >&2
  echo "cli_test: $failures failed" >&2
  exit 1
fi
echo "cli_test: passed"

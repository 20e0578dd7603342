#!/usr/bin/env bash
# A private Redis for the run command and the tests: 127.0.0.1 on a free port,
# no persistence (Redis holds nothing that cannot be rebuilt: docs/architecture.md#redis).
#
#   scripts/redis.sh start STATE_DIR   start (reusing the port of a previous start); prints the port
#   scripts/redis.sh stop STATE_DIR    stop, waiting for the process to exit
#
# STATE_DIR keeps redis.env (the port), the pid file and the log.
set -euo pipefail

command=${1:?usage: redis.sh start|stop STATE_DIR}
state_dir=${2:?usage: redis.sh start|stop STATE_DIR}
mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
env_file="$state_dir/redis.env"
pid_file="$state_dir/redis.pid"

command -v redis-server >/dev/null || { echo "redis.sh: redis-server not found (run scripts/install-deps.sh)" >&2; exit 1; }

# shellcheck source=lib/ports.sh
source "$(dirname "$0")/lib/ports.sh"
running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

# Starts redis-server on $1 and waits for it to answer; false when it did not
# (the port was taken between the check and the bind, say).
launch() {
  rm -f "$pid_file"
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$pid_file" --logfile "$state_dir/redis.log" --dir "$state_dir" >/dev/null || return 1
  for _ in $(seq 1 100); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && running && return 0
    sleep 0.05
  done
  [[ -f "$pid_file" ]] && kill "$(cat "$pid_file")" 2>/dev/null
  return 1
}

start() {
  local port=""
  # shellcheck disable=SC1090
  [[ -f "$env_file" ]] && source "$env_file" && port=$REDIS_PORT
  if running; then echo "$port"; return; fi
  local fixed=$port attempt
  for attempt in 1 2 3 4 5; do
    [[ -z "$fixed" ]] && port=$(pick_port)
    if launch "$port"; then
      echo "REDIS_PORT=$port" >"$env_file"
      echo "$port"
      return
    fi
    # A fixed port (a restart) must stay the same; a picked one may have been taken.
    [[ -n "$fixed" ]] && break
    echo "redis.sh: attempt $attempt on port $port failed; trying another port" >&2
  done
  echo "redis.sh: redis-server did not answer on port $port (see $state_dir/redis.log)" >&2
  exit 1
}

stop() {
  running || return 0
  local pid
  pid=$(cat "$pid_file")
  # shellcheck disable=SC1090
  source "$env_file"
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  # Redis closes its port at once but may take a while longer to exit: what a
  # restart needs is the port.
  for _ in $(seq 1 250); do
    port_in_use "$REDIS_PORT" || return 0
    sleep 0.02
  done
  kill -9 "$pid" 2>/dev/null || true
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: redis.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac

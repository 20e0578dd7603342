#!/usr/bin/env bash
# A private Redis for the run command and the tests: 127.0.0.1 on a free port,
# no persistence (Redis holds nothing that cannot be rebuilt, DESIGN §8).
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

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

start() {
  local port=""
  # shellcheck disable=SC1090
  [[ -f "$env_file" ]] && source "$env_file" && port=$REDIS_PORT
  if running; then echo "$port"; return; fi
  if [[ -z "$port" ]]; then
    for _ in $(seq 1 200); do
      port=$((20000 + RANDOM % 20000))
      port_in_use "$port" || break
    done
    echo "REDIS_PORT=$port" >"$env_file"
  fi
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$pid_file" --logfile "$state_dir/redis.log" --dir "$state_dir" >/dev/null
  for _ in $(seq 1 100); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then echo "$port"; return; fi
    sleep 0.05
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

#!/usr/bin/env bash
# A private PostgreSQL cluster for the run command, the tests and the benchmarks:
# its own data dir under /tmp, a free port on 127.0.0.1, trust auth on loopback
# only. Durable settings (fsync and synchronous_commit stay on): the point is to
# measure and test real commits.
#
#   scripts/pg.sh start STATE_DIR        init if needed, start; prints the conninfo
#   scripts/pg.sh stop STATE_DIR [MODE]  pg_ctl stop -m MODE (fast by default)
#   scripts/pg.sh destroy STATE_DIR      stop and delete the data dir
#
# STATE_DIR keeps pg.env (data dir and port, so a restart reuses both) and conninfo.
# PG_EXTRA_OPTIONS adds server options at start, for profiling, e.g.
#   PG_EXTRA_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
# PostgreSQL refuses to run as root: as root the cluster runs as Debian's postgres user.
set -euo pipefail

command=${1:?usage: pg.sh start|stop|destroy STATE_DIR [MODE]}
state_dir=${2:?usage: pg.sh start|stop|destroy STATE_DIR [MODE]}
mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
env_file="$state_dir/pg.env"

bindir=$(pg_config --bindir 2>/dev/null || true)
if [[ ! -x "$bindir/initdb" ]]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
[[ -x "$bindir/initdb" ]] || { echo "pg.sh: initdb not found (is postgresql installed?)" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# shellcheck source=lib/ports.sh
source "$(dirname "$0")/lib/ports.sh"

start() {
  local data port
  if [[ -f "$env_file" ]]; then
    # shellcheck disable=SC1090
    source "$env_file"
    # The data dir lives under /tmp: after a reboot it is gone, so start afresh.
    [[ -f "$PG_DATA/PG_VERSION" ]] || rm -f "$env_file"
  fi
  if [[ -f "$env_file" ]]; then
    # shellcheck disable=SC1090
    source "$env_file"
    data=$PG_DATA
    port=$PG_PORT
  else
    data=$(mktemp -d /tmp/spotgrid-pg.XXXXXX)
    chmod 700 "$data"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$data"
    as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$state_dir/initdb.log" 2>&1 ||
      { cat "$state_dir/initdb.log" >&2; exit 1; }
    port=""
  fi
  if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    return
  fi
  local attempts=0
  while :; do
    if [[ -z "$port" ]]; then
      port=$(pick_port)
    fi
    local options="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data"
    options+=" -c shared_buffers=256MB -c wal_buffers=16MB -c max_wal_size=4GB"
    options+=" -c checkpoint_timeout=15min -c max_connections=50"
    options+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    # A young cluster has no old WAL segments to recycle, so each 16 MB of WAL
    # is a new file, zero-filled and synced by the committing backend while
    # every commit waits (10-20 ms, about once a second at 20 000 commands/s).
    # A long-running server recycles segments instead; not zero-filling them
    # here makes a fresh cluster behave like that. Crash safety is unchanged.
    options+=" -c wal_init_zero=off"
    options+=" ${PG_EXTRA_OPTIONS:-}"
    if as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "$options" >/dev/null; then
      break
    fi
    attempts=$((attempts + 1))
    if ((attempts >= 5)) || [[ -f "$env_file" ]]; then
      tail -20 "$data/server.log" >&2 || true
      echo "pg.sh: could not start PostgreSQL on port $port" >&2
      exit 1
    fi
    port=""
  done
  printf 'PG_DATA=%q\nPG_PORT=%q\n' "$data" "$port" >"$env_file"
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" | tee "$state_dir/conninfo"
}

stop() {
  [[ -f "$env_file" ]] || return 0
  # shellcheck disable=SC1090
  source "$env_file"
  if as_owner "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$PG_DATA" -m "${1:-fast}" -w -t 60 stop >/dev/null
  fi
}

case "$command" in
  start) start ;;
  stop) stop "${3:-fast}" ;;
  destroy)
    stop immediate
    if [[ -f "$env_file" ]]; then
      # shellcheck disable=SC1090
      source "$env_file"
      rm -rf "$PG_DATA"
      rm -f "$env_file" "$state_dir/conninfo"
    fi
    ;;
  *) echo "pg.sh: unknown command $command" >&2; exit 2 ;;
esac

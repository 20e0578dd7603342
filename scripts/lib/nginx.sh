# Sourced by bench.sh (after lib/ports.sh): a private nginx serving one file at
# one exact URL path, for a side-by-side HTTP measurement. Everything (config,
# pid file, logs, temp dirs) lives in a private dir; nginx runs as the current
# user, with WORKERS worker processes (default 1), on 127.0.0.1 and a free port.
#
#   nginx_start DIR FILE URL_PATH [WORKERS]
#                                   prints the port; nginx's master pid goes to DIR/nginx.pid
#   nginx_stop DIR                  stops it (graceful, then SIGKILL), waiting for the port

# Writes DIR/nginx.conf for PORT.
nginx_config() {
  local dir=$1 file=$2 url_path=$3 port=$4 workers=$5 user_line="" connections
  # As root the master would hand the worker to nobody, who may not read FILE:
  # keep the worker as the current user (the directive is ignored otherwise).
  [[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
  # As many connections as the worker may open files (nginx warns past that).
  connections=$(ulimit -n)
  [[ "$connections" =~ ^[0-9]+$ && $connections -le 65536 ]] || connections=65536
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes $workers;
daemon on;
master_process on;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events { worker_connections $connections; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  open_file_cache max=16 inactive=60s;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    location = $url_path {
      types { }
      default_type application/json;
      alias $file;
    }
    location / { return 404; }
  }
}
EOF
}

nginx_start() {
  local dir=$1 file=$2 url_path=$3 workers=${4:-1} port attempt
  command -v nginx >/dev/null || { echo "nginx.sh: nginx not found (run scripts/install-deps.sh)" >&2; return 1; }
  mkdir -p "$dir/tmp"
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    nginx_config "$dir" "$file" "$url_path" "$port" "$workers"
    # A bad config fails the same on every port: say so once (-t binds nothing).
    if [[ $attempt -eq 1 ]] &&
      ! nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>>"$dir/stderr.log"; then
      tail -5 "$dir/error.log" >&2
      return 1
    fi
    rm -f "$dir/nginx.pid"
    # -e: the error log before the config is read (the build's default is
    # stderr); nginx repeats its start-up errors on stderr, kept apart.
    if nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>>"$dir/stderr.log"; then
      for _ in $(seq 1 100); do
        [[ -s "$dir/nginx.pid" ]] && port_in_use "$port" && { echo "$port"; return 0; }
        sleep 0.05
      done
      nginx_stop "$dir"
    fi
    echo "nginx.sh: attempt $attempt on port $port failed; trying another port" >&2
  done
  tail -20 "$dir/error.log" >&2 || true
  echo "nginx.sh: nginx did not start (see $dir/error.log)" >&2
  return 1
}

nginx_stop() {
  local dir=$1 pid
  [[ -s "$dir/nginx.pid" ]] || return 0
  pid=$(cat "$dir/nginx.pid")
  kill -QUIT "$pid" 2>/dev/null || { rm -f "$dir/nginx.pid"; return 0; }
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/nginx.pid"; return 0; }
    sleep 0.05
  done
  # The worker may still hold idle keep-alive connections: end both.
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/nginx.pid"
}

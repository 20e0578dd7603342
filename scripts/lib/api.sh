# Sourced by run.sh and the process tests: calling the API from a script.
# api_post and friends use $base (http://127.0.0.1:PORT).

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }  # $1 random bytes, as hex
# api_post KEY PATH BODY: the answer's body; fails on an error status.
api_post() {
  curl -sf -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d "$3" "$base$2"
}
# The value of a top-level string or number field of the JSON on stdin.
json_field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }
# wait_ready BASE PID: until spotgridd answers /readyz (30 s at most); false,
# saying why, when it exits or does not become ready.
wait_ready() {
  for _ in $(seq 1 150); do
    curl -sf "$1/readyz" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "spotgridd exited" >&2; return 1; }
    sleep 0.2
  done
  echo "spotgridd did not become ready at $1" >&2
  return 1
}

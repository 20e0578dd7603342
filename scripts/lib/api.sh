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

#!/usr/bin/env bash
# Installs the Debian 12 packages spotgrid builds and tests with.
# Idempotent: does nothing when everything is present; otherwise runs
# `apt-get update` once and installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang-format clang-tidy
  libgtest-dev libgmock-dev libbenchmark-dev
  rapidjson-dev libssl-dev libspdlog-dev
  postgresql libpqxx-dev curl
  libboost-dev
  redis-server libhiredis-dev openssl
  nginx-light wrk
  chromium
)
# Node.js 20+ and npm build the web console and drive its browser test; the
# machines have them. Debian's own (18) is the fallback where they are missing.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

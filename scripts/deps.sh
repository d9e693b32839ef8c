#!/usr/bin/env bash
# Installs the Debian 12 packages Arca needs to build, run and test. Used by run-server.sh and test.sh.
# Skips apt-get when everything is already there (dpkg-query), so repeated runs are quick.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libcurl4-openssl-dev
  libpq-dev libhiredis-dev
)
if [ "${1:-}" = "--test" ]; then
  # Test-only: GoogleTest, the real clients the integration tests drive, the load generator.
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev python3 python3-boto3 python3-dotenv python3-yaml awscli zsh wrk sqlite3 openssl curl
             postgresql redis-server)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

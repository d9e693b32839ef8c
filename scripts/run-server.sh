#!/usr/bin/env bash
# One command to build Arca and start the server on its embedded default (SQLite in ./arca-data,
# listening on 127.0.0.1:8200). Arguments are passed to `arca server`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec build/arca server "$@"

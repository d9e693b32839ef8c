#!/usr/bin/env bash
# Builds what the benchmark needs and runs it. See docs/performance.md.
# Usage: bench/run.sh [--duration SECONDS] [--connections N] [--secrets N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
exec python3 bench/bench.py --build-dir build "$@"

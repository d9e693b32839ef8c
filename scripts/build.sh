#!/usr/bin/env bash
# Configures and builds Arca into ./build (the binary lands at build/arca).
# Extra arguments go to CMake's configure step, e.g. -DARCA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${ARCA_BUILD_JOBS:-$(nproc)}"
# Let ccache (used when installed) share objects between clones of the repository.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B build "$@"
fi
cmake --build build -j "$jobs"

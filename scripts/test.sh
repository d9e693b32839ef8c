#!/usr/bin/env bash
# One command to build Arca with warnings as errors and run the whole test suite (unit and
# integration) under CTest. Installs the Debian packages it needs on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh -DARCA_WERROR=ON
cd build
ctest --output-on-failure --timeout 900 -j "${ARCA_TEST_JOBS:-2}"

#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run ctest; then the
# same under ASan+UBSan. This is what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
bash ci/build.sh default
ctest --preset default -j "$(nproc)"
bash ci/build.sh asan
ctest --preset asan -j "$(nproc)"

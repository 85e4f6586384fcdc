#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run ctest; then the
# same under ASan+UBSan and under TSan. This is what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
bash ci/build.sh default
ctest --preset default -j "$(nproc)"
bash ci/build.sh asan
ctest --preset asan -j "$(nproc)"
bash ci/build.sh tsan
ctest --preset tsan -j "$(nproc)"
# Fuzzing: .clusterfuzzlite/build.sh builds runnable targets, and a short
# campaign (30 s per target; the main job runs 60) finds no failure
# (docs/fuzzing.md).
bash ci/clusterfuzzlite-test.sh
rm -rf build/fuzz-smoke
bash ci/fuzz-campaign.sh --per-target 30 --out build/fuzz-smoke

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
# Fuzzing: .clusterfuzzlite/build.sh builds runnable targets (each runs its
# seeds), and a short campaign on fuzz_all, which mixes every subsystem's
# ops, finds no failure with libFuzzer (those targets) and AFL++
# (docs/fuzzing.md). The main job's campaign fuzzes every target in turn.
rm -rf build/cflite build/fuzz-smoke
bash ci/clusterfuzzlite-test.sh --out build/cflite
bash ci/fuzz-campaign.sh --targets all --per-target 60 --libfuzzer-targets build/cflite \
  --out build/fuzz-smoke

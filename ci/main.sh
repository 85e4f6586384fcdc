#!/usr/bin/env bash
# The main job: install what is missing, build, replay every bundled trace
# through every engine, then run a short campaign of generated traces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
bash ci/build.sh default
nv=build/default/netverify
$nv check corpora
# The running kernel as the third engine; exit 77 (skipped) where network
# namespaces cannot be created.
$nv kernel-check corpora/kernel || [ $? -eq 77 ]
# A minute of differential fuzzing against the running kernel (seed 1: the
# same traces every run; a divergence fails the job).
rm -rf build/kernel-fuzz-smoke
$nv kernel-fuzz --seconds 60 --seed 1 --corpus corpora/kernel -o build/kernel-fuzz-smoke ||
  [ $? -eq 77 ]
rm -rf build/fuzz-smoke
bash ci/fuzz-campaign.sh --smoke --out build/fuzz-smoke   # about 60 s per fuzz target
build/default/nv_property_tests --gtest_brief=1

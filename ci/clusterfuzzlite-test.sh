#!/usr/bin/env bash
# Tests .clusterfuzzlite/build.sh without Docker: calls it with the variables
# OSS-Fuzz and ClusterFuzzLite set for a libFuzzer + ASan build, then checks
# that each target it leaves in $OUT runs its seed corpus (-runs=100).
# `--out DIR`: $OUT is DIR (new or empty) and stays, for ci/fuzz-campaign.sh
# --libfuzzer-targets. Compiles the project with clang (a few minutes on 2
# cores): ci/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
if [ "${1:-}" = --out ]; then
  [ -n "${2:-}" ] || { echo "clusterfuzzlite-test: --out needs a folder" >&2; exit 2; }
  if [ -e "$2" ] && [ -n "$(ls -A "$2")" ]; then
    echo "clusterfuzzlite-test: $2 is not empty" >&2
    exit 2
  fi
  mkdir -p "$2" && out=$(cd "$2" && pwd)
elif [ $# -gt 0 ]; then
  echo "usage: ci/clusterfuzzlite-test.sh [--out DIR]" >&2
  exit 2
fi
mkdir -p "$out" "$tmp/work"  # $out: the default, in $tmp

flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address"
flags+=" -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
env CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$out" SRC="$(dirname "$root")" WORK="$tmp/work" \
  bash -eu .clusterfuzzlite/build.sh >"$tmp/build.log" 2>&1 ||
  { tail -40 "$tmp/build.log"; echo "clusterfuzzlite-test: build.sh failed"; exit 1; }

# Every target the registry names (ci/test.sh built build/default first).
for target in $(cat build/default/fuzz_targets.txt); do
  for f in "fuzz_$target" "fuzz_${target}_seed_corpus.zip" "fuzz_$target.options" \
    "fuzz_$target.dict"; do
    [ -s "$out/$f" ] || { echo "clusterfuzzlite-test: build.sh left no $f in \$OUT"; exit 1; }
  done
  mkdir "$tmp/seeds-$target"
  (cd "$tmp/seeds-$target" && unzip -q "$out/fuzz_${target}_seed_corpus.zip")
  if ! "$out/fuzz_$target" -runs=100 -max_len=4096 -dict="$out/fuzz_$target.dict" \
    "$tmp/seeds-$target" >"$tmp/run.log" 2>&1 ||
    ! grep -q '^Done [0-9]* runs' "$tmp/run.log"; then
    tail -20 "$tmp/run.log"
    echo "clusterfuzzlite-test: \$OUT/fuzz_$target does not run"
    exit 1
  fi
  echo "clusterfuzzlite-test: \$OUT/fuzz_$target: $(grep -o '^Done [0-9]* runs' "$tmp/run.log") over its seed corpus"
done
echo "clusterfuzzlite-test: build.sh OK"

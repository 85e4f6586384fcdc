#!/usr/bin/env bash
# Line and branch coverage of model/ and impl/ by corpora/: builds the
# `coverage` preset (clang -fprofile-instr-generate -fcoverage-mapping, Debug,
# so the impl's invariant walks run too), replays every bundled trace
# (netverify check corpora) and every fuzz seed (the replay drivers over
# corpora/fuzz/), then prints llvm-cov's per-file report for each folder and
# one line per folder. Target: at least 90% of lines of both.
# Usage: ci/coverage.sh [--html DIR] [--campaign OUT] [EXTRA_FUZZ_INPUT_DIR]...
#   --html DIR      also write llvm-cov's source-level report of model/ and
#                   impl/ (line by line, HTML) to DIR/index.html
#   --campaign OUT  also run a fuzz campaign's merged corpora, OUT/TARGET/corpus,
#                   each through its target (ci/fuzz-campaign.sh --coverage
#                   passes both, and its report links OUT/coverage/index.html)
#   EXTRA_FUZZ_INPUT_DIR  more inputs for fuzz_all
set -euo pipefail
html=""
campaign=""
while (($#)); do
  case "$1" in
    --html) html=$(realpath -m "${2:?--html needs a folder}"); shift 2 ;;
    --campaign) campaign=$(realpath -m "${2:?--campaign needs a folder}"); shift 2 ;;
    *) break ;;
  esac
done
extra=()
for d in "$@"; do extra+=("$(realpath -m "$d")"); done
cd "$(dirname "$0")/.."
root=$PWD
b=build/coverage

cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$(nproc)" >/dev/null
rm -rf "$b/profiles"
mkdir -p "$b/profiles"
export LLVM_PROFILE_FILE="$root/$b/profiles/%p-%m.profraw"

"$b/netverify" check corpora >/dev/null || echo "coverage.sh: netverify check corpora failed (coverage still counted)"
objects=()
for t in $(cat "$b/fuzz_targets.txt"); do
  more=()
  if [ -n "$campaign" ] && [ -d "$campaign/$t/corpus" ]; then more+=("$campaign/$t/corpus"); fi
  if [ "$t" = all ]; then more+=("${extra[@]}"); fi
  "$b/fuzz_$t" corpora/fuzz/"$t" "${more[@]}"
  objects+=(-object "$b/fuzz_$t")
done

llvm-profdata merge -sparse "$b"/profiles/*.profraw -o "$b/coverage.profdata"
for dir in model impl; do
  echo
  echo "== $dir/"
  llvm-cov report "$b/netverify" "${objects[@]}" -instr-profile="$b/coverage.profdata" \
    -ignore-filename-regex='_test\.cc$' "$root/$dir" | tee "$b/coverage-$dir.txt"
done
if [ -n "$html" ]; then
  llvm-cov show "$b/netverify" "${objects[@]}" -instr-profile="$b/coverage.profdata" \
    -ignore-filename-regex='_test\.cc$' -format=html -output-dir="$html" "$root/model" "$root/impl"
  echo "coverage.sh: source-level report in $html/index.html"
fi
echo
for dir in model impl; do
  # TOTAL regions missed cover functions missed executed lines missed cover branches missed cover
  awk -v dir="$dir" '$1 == "TOTAL" {
        printf "coverage.sh: %-6s lines %s (%d of %d), branches %s (%d of %d)\n",
               dir "/", $10, $8 - $9, $8, $13, $11 - $12, $11 }' "$b/coverage-$dir.txt"
done

#!/usr/bin/env bash
# Regenerates the fuzz seed corpora, corpora/fuzz/<target>/, from every text
# trace under corpora/ (netverify encode). Usage: ci/make-seeds.sh NETVERIFY [OUTDIR]
# ctest runs it into a scratch folder and compares (fuzz.seeds.current).
set -euo pipefail
cd "$(dirname "$0")/.."
nv="$1"
out="${2:-corpora/fuzz}"
for target in frag all; do
  rm -rf "$out/$target"
  mkdir -p "$out/$target"
  subsystem=()
  [ "$target" = all ] || subsystem=(--subsystem "$target")
  find corpora -name '*.trace' -not -path 'corpora/fuzz/*' | sort | while read -r t; do
    name=$(echo "${t#corpora/}" | tr '/' '-')
    "$nv" encode "$t" "${subsystem[@]}" -o "$out/$target/${name%.trace}.bin"
  done
done

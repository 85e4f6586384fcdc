#!/usr/bin/env bash
# Regenerates the fuzz seed corpora, corpora/fuzz/<target>/, from every text
# trace under corpora/ that the target's op table can express (netverify
# encode), for every target `netverify list --fuzz-targets` names. Usage: ci/make-seeds.sh NETVERIFY [OUTDIR]
# ctest runs it into a scratch folder and compares (fuzz.seeds.current).
set -euo pipefail
cd "$(dirname "$0")/.."
nv="$1"
out="${2:-corpora/fuzz}"
for target in $("$nv" list --fuzz-targets); do
  rm -rf "$out/$target"
  mkdir -p "$out/$target"
  find corpora -name '*.trace' -not -path 'corpora/fuzz/*' | sort | while read -r t; do
    name=$(echo "${t#corpora/}" | tr '/' '-')
    "$nv" encode "$t" --target "$target" -o "$out/$target/${name%.trace}.bin" 2>/dev/null || true
  done
done

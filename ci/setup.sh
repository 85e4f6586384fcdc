#!/usr/bin/env bash
# Installs the Debian packages netverify builds with, if any is missing.
# Idempotent; run as root on a fresh Debian machine.
set -euo pipefail

packages=(cmake make g++ git pkg-config
          # lld: links the sanitizer builds' 150 MB binaries in a quarter of GNU ld's time
          lld
          googletest libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev libboost-dev
          # sched/: fibers (Boost.Context) and production RCU (liburcu, memb flavour)
          libboost-context-dev liburcu-dev
          libpcap-dev libz3-dev
          # fuzzing: clang's libFuzzer and sanitizers, llvm-profdata/llvm-cov, AFL++,
          # the campaign report (python3) and its test in a browser (chromium),
          # seed corpus zips (zip, unzip)
          clang libclang-rt-14-dev llvm afl++ python3 chromium zip unzip)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ci/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

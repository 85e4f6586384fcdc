#!/bin/bash -eu
# Builds netverify's fuzz targets under the OSS-Fuzz / ClusterFuzzLite
# conventions: compiler and flags from $CC $CXX $CFLAGS $CXXFLAGS (they carry
# the sanitizer and -fsanitize=fuzzer-no-link), the engine from
# $LIB_FUZZING_ENGINE, everything left in $OUT: every fuzz target (the list
# configuring writes to fuzz_targets.txt: one per subsystem and fuzz_all), their
# seed corpora (NAME_seed_corpus.zip from corpora/fuzz/), dictionaries and
# options files.
# Runs in the checkout (the Dockerfile's WORKDIR, $SRC/netverify); builds
# in $WORK. ci/clusterfuzzlite-test.sh runs it the way a libFuzzer build does.
src=$PWD
build=${WORK:-/tmp}/netverify-build

# The project is C++ only ($CC and $CFLAGS matter to no source today).
# Build type None: the optimization comes from $CXXFLAGS; NDEBUG as in the
# `fuzz` preset (no invariant walk after every operation).
cmake -S "$src" -B "$build" --no-warn-unused-cli \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$CXXFLAGS -DNDEBUG" \
  -DNV_FUZZ_ENGINE=oss-fuzz -DNV_FUZZ_LINK="$LIB_FUZZING_ENGINE" \
  -DNV_BUILD_TESTS=OFF -DNV_BUILD_BENCH=OFF
targets=$(cat "$build/fuzz_targets.txt")
cmake --build "$build" -j "$(nproc)" --target $(printf 'fuzz_%s ' $targets)

for target in $targets; do
  cp "$build/fuzz_$target" "$OUT/"
  rm -f "$OUT/fuzz_${target}_seed_corpus.zip"
  zip -q -j "$OUT/fuzz_${target}_seed_corpus.zip" "$src"/corpora/fuzz/"$target"/*.bin
  # Inputs up to 4 KiB: the decoder stops at 1024 operations anyway.
  printf '[libfuzzer]\nmax_len = 4096\n' >"$OUT/fuzz_$target.options"
  cp "$src/fuzz/byte_trace.dict" "$OUT/fuzz_$target.dict"
done

#!/usr/bin/env bash
# A fuzz campaign over netverify's fuzz targets, overnight or as CI's smoke:
# libFuzzer in fork mode and AFL++ (one main, secondaries) share the cores on
# each target in turn; then their corpora are merged (libFuzzer -merge=1,
# afl-cmin), every failing input is decoded and minimized (netverify decode,
# netverify minimize) and kept once per failure signature, and a report is
# written: OUT/report/index.html (plots), OUT/report/summary.txt (printed) and
# OUT/report/summary.json (this run's figures, the next run's comparison).
# Every process started here runs under `timeout` in its own process group and
# is killed on exit or interrupt. `--help` lists the flags; docs/fuzzing.md
# describes the output folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  cat <<'EOF'
usage: ci/fuzz-campaign.sh [--hours H | --seconds S | --per-target S | --smoke] [options]

Fuzzes each target in turn with libFuzzer (fork mode) and AFL++ (main and
secondaries) on --jobs cores, merges the corpora, minimizes every failure to
one trace per signature, and writes OUT/report/index.html and summary.txt.

  --hours H        fuzzing time in total, split evenly across the targets
  --seconds S      the same in seconds
  --per-target S   S seconds for each target (at least 10)
  --smoke          60 seconds per target (the main job's; CI's tests run 30)
  --jobs N         cores to use (default: nproc); libFuzzer gets ceil(N/2)
                   fork jobs, AFL++ floor(N/2) instances (at least one each)
  --targets LIST   comma-separated fuzz targets (default: every one,
                   as `netverify list --fuzz-targets` names them)
  --out DIR        output folder, new or empty (default: build/campaign/DATE)
  --libfuzzer-targets DIR
                   take the libFuzzer targets from DIR (DIR/fuzz_NAME, built
                   elsewhere: ci/test.sh passes ClusterFuzzLite's, ASan
                   without UBSan) instead of building the fuzz preset
  --inject MUTANT  plant a mutant in the impl (NV_INJECT) to show the campaign
                   finds it; seeds that already fail with it are left out
  --previous DIR   the previous campaign's output folder: the report sets its
                   figures and failures (new, fixed) beside this run's. Its
                   report/summary.json is copied to OUT/report/previous-summary.json.
                   Default: among the other folders beside OUT (for the default
                   OUT, the earlier build/campaign/DATE runs), the one whose
                   report/summary.json is newest. `--previous none`: no comparison
  --coverage       after merging, run ci/coverage.sh on the merged corpora and
                   link llvm-cov's source-level report (OUT/coverage/index.html)
                   from the report; builds the coverage preset (minutes)
  --help           this text

Exit status: 0 no failure found (with --inject: the planted bug was found),
1 failures found (with --inject: none found), 2 bad usage or a broken run.
Fuzzing, merging and triage all stop by themselves; triage and the report add
a minute or two to the fuzzing time.
EOF
}

die() {
  echo "ci/fuzz-campaign.sh: $*" >&2
  exit 2
}

total_seconds=""
per_target_seconds=""
jobs=$(nproc)
targets=""
out=""
inject=""
lf_dir=""
previous=""
coverage=0
# value FLAG VALUE WHAT: VALUE, or bad usage (exit 2) when it is missing.
value() {
  [ -n "$2" ] || die "$1 needs $3"
  printf '%s' "$2"
}
while (($#)); do
  case "$1" in
    --hours)
      [[ ${2:-} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--hours needs a number"
      total_seconds=$(awk -v h="$2" 'BEGIN { printf "%d", h * 3600 }')
      shift 2 ;;
    --seconds)
      [[ ${2:-} =~ ^[0-9]+$ ]] || die "--seconds needs a whole number"
      total_seconds=$2
      shift 2 ;;
    --per-target)
      [[ ${2:-} =~ ^[0-9]+$ ]] && (($2 >= 10)) || die "--per-target needs a whole number, at least 10"
      per_target_seconds=$2
      shift 2 ;;
    --smoke) per_target_seconds=60; shift ;;
    --jobs)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number"
      jobs=$2
      shift 2 ;;
    --targets) targets=$(value "--targets" "${2:-}" "a list"); shift 2 ;;
    --out) out=$(value "--out" "${2:-}" "a folder"); shift 2 ;;
    --inject) inject=$(value "--inject" "${2:-}" "a mutant name"); shift 2 ;;
    --libfuzzer-targets) lf_dir=$(value "--libfuzzer-targets" "${2:-}" "a folder"); shift 2 ;;
    --previous) previous=$(value "--previous" "${2:-}" "a folder or none"); shift 2 ;;
    --coverage) coverage=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (--help lists the flags)" ;;
  esac
done

# The fuzz targets are the registry's: configuring writes their list.
cmake --preset default >/dev/null || die "cmake --preset default failed"
known=$(cat build/default/fuzz_targets.txt)
[ -n "$targets" ] || targets=$(echo "$known" | paste -sd, -)
IFS=, read -r -a target_list <<<"$targets"
((${#target_list[@]})) || die "--targets is empty"
for t in "${target_list[@]}"; do
  grep -qx "$t" <<<"$known" || die "no fuzz target '$t' (one of: $(echo $known))"
done
if [ -z "$per_target_seconds" ]; then
  [ -n "$total_seconds" ] || die "give --hours, --seconds, --per-target or --smoke (--help lists the flags)"
  per_target_seconds=$((total_seconds / ${#target_list[@]}))
  ((per_target_seconds >= 10)) || die "at least 10 seconds per target"
fi
if [ -n "$lf_dir" ]; then
  [ -d "$lf_dir" ] || die "--libfuzzer-targets: no folder $lf_dir"
  lf_dir=$(cd "$lf_dir" && pwd)
  for t in "${target_list[@]}"; do
    [ -x "$lf_dir/fuzz_$t" ] || die "--libfuzzer-targets: $lf_dir has no fuzz_$t"
  done
fi
lf_jobs=$((jobs - jobs / 2))
afl_jobs=$((jobs / 2 > 0 ? jobs / 2 : 1))

for tool in clang++ afl-fuzz afl-cmin python3 cmake timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing: run ci/setup.sh"
done

out=${out:-build/campaign/$(date +%Y%m%d-%H%M%S)}
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  die "$out is not empty: give a new --out"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The previous run, for the report's comparison (--previous; see --help).
prev_summary=""
if [ "$previous" = none ]; then
  :
elif [ -n "$previous" ]; then
  prev_summary=$previous/report/summary.json
  [ -f "$prev_summary" ] || die "--previous $previous: it has no report/summary.json"
else
  prev_summary=$(ls -t "$(dirname "$out")"/*/report/summary.json 2>/dev/null |
    grep -vxF "$out/report/summary.json" | head -1) || true
fi
mkdir -p "$out/report"
if [ -n "$prev_summary" ]; then
  cp "$prev_summary" "$out/report/previous-summary.json"
  echo "ci/fuzz-campaign.sh: comparing with the previous run, $(dirname "$(dirname "$prev_summary")")"
fi

# Every background process: `timeout` makes itself a process-group leader, so
# its pid names the whole group (libFuzzer's fork jobs, afl-fuzz's children).
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$p" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT
trap 'echo "ci/fuzz-campaign.sh: interrupted" >&2; exit 130' INT TERM

# bounded SECONDS LOG COMMAND...: runs COMMAND in the background under a hard
# time bound (then SIGKILL 10 s later), its output to LOG; prints nothing.
bounded() {
  local secs=$1 log=$2
  shift 2
  timeout -k 10 "$secs" "$@" </dev/null >"$log" 2>&1 &
  pids+=($!)
}
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# wait_all: waits for every bounded command; their exit codes are not used
# (libFuzzer's fork mode exits non-zero after ignored crashes).
wait_all() {
  local p
  for p in "${pids[@]}"; do wait "$p" || true; done
  pids=()
}

echo "ci/fuzz-campaign.sh: building (logs in $out/build.log)"
fuzz_targets=("${target_list[@]/#/fuzz_}")
{
  cmake --preset default &&
    cmake --build --preset default -j "$jobs" --target netverify "${fuzz_targets[@]}" &&
    if [ -z "$lf_dir" ]; then
      cmake --preset fuzz && cmake --build --preset fuzz -j "$jobs" --target "${fuzz_targets[@]}"
    fi &&
    cmake --preset afl && cmake --build --preset afl -j "$jobs" --target "${fuzz_targets[@]}"
} >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; die "build failed"; }
lf_dir=${lf_dir:-$root/build/fuzz}
nv=$root/build/default/netverify

inject_flag=()
if [ -n "$inject" ]; then
  if [[ $("$nv" replay /dev/null --inject "$inject" 2>&1) == *"unknown mutant"* ]]; then
    die "unknown mutant '$inject' (build/default/netverify replay x --inject nosuch lists them)"
  fi
  inject_flag=(--inject "$inject")
fi

cat >"$out/campaign.tsv" <<EOF
started	$(date '+%Y-%m-%d %H:%M:%S')
commit	$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +changes)
host	$(hostname)
jobs	$jobs
libfuzzer_jobs	$lf_jobs
afl_jobs	$afl_jobs
seconds_per_target	$per_target_seconds
targets	${target_list[*]}
inject	$inject
EOF

broken=0
for t in "${target_list[@]}"; do
  d=$out/$t
  mkdir -p "$d/seeds" "$d/libfuzzer/corpus" "$d/libfuzzer/artifacts" "$d/libfuzzer/tmp" "$d/afl"

  # Seeds: corpora/fuzz/<target>; with --inject, without those that already
  # fail (the plain replay driver aborts on them), so the fuzzers must find it.
  dropped=0
  for s in corpora/fuzz/"$t"/*.bin; do
    if [ -n "$inject" ] && ! { NV_INJECT=$inject "build/default/fuzz_$t" "$s"; } >/dev/null 2>&1; then
      dropped=$((dropped + 1))
    else
      cp "$s" "$d/seeds/"
    fi
  done
  [ -n "$(ls -A "$d/seeds")" ] || printf '\0' >"$d/seeds/empty.bin"

  echo "ci/fuzz-campaign.sh: fuzzing $t for ${per_target_seconds}s:" \
    "libFuzzer -fork=$lf_jobs, AFL++ $afl_jobs instance(s)"
  bound=$((per_target_seconds + 120))
  # One dictionary for the byte format, whatever the target.
  dict=(-dict="$root/fuzz/byte_trace.dict")
  bounded "$bound" "$d/libfuzzer/fuzz.log" \
    env NV_INJECT="$inject" TMPDIR="$d/libfuzzer/tmp" "$lf_dir/fuzz_$t" \
    -fork="$lf_jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$d/libfuzzer/artifacts/" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -max_total_time="$per_target_seconds" "${dict[@]}" "$d/libfuzzer/corpus" "$d/seeds"
  afl_env=(env NV_INJECT="$inject" AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
    AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1)
  for ((i = 0; i < afl_jobs; i++)); do
    if ((i == 0)); then role=(-M main); name=main; else role=(-S "s$i"); name=s$i; fi
    bounded "$bound" "$d/afl/$name.log" "${afl_env[@]}" afl-fuzz -i "$d/seeds" -o "$d/afl" \
      "${role[@]}" -V "$per_target_seconds" -G 4096 -t 1000 -x "$root/fuzz/byte_trace.dict" \
      -- "$root/build/afl/fuzz_$t"
  done
  wait_all
  if ! grep -q '^#[0-9]*: cov:' "$d/libfuzzer/fuzz.log"; then
    echo "ci/fuzz-campaign.sh: libFuzzer made no progress on $t:" >&2
    tail -20 "$d/libfuzzer/fuzz.log" >&2
    broken=1
  fi
  if [ ! -f "$d/afl/main/fuzzer_stats" ]; then
    echo "ci/fuzz-campaign.sh: AFL++ did not run on $t:" >&2
    tail -20 "$d/afl/main.log" >&2
    broken=1
  fi
  rm -rf "$d/libfuzzer/tmp"
  merge_bound=$((per_target_seconds / 4 + 300))

  # libFuzzer's coverage, measured in one process over its corpus and the
  # seeds (-runs=0; new inputs, if any, go to a scratch folder): fork mode
  # before LLVM 19 counts the seeds' features as edges (llvm-project issue
  # 82307), and the report takes this figure instead (ci/fuzz_report.py).
  mkdir -p "$d/libfuzzer/scratch"
  bounded "$merge_bound" "$d/libfuzzer/coverage.log" env NV_INJECT="$inject" "$lf_dir/fuzz_$t" \
    -runs=0 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    "$d/libfuzzer/scratch" "$d/libfuzzer/corpus" "$d/seeds"
  wait_all
  rm -rf "$d/libfuzzer/scratch"

  # Merge: libFuzzer -merge=1 over both engines' findings and the seeds into
  # corpus/, then afl-cmin of that into corpus-afl/ (next campaigns' seeds).
  echo "ci/fuzz-campaign.sh: merging $t corpora"
  mkdir -p "$d/afl-queue" "$d/corpus"
  find "$d"/afl/*/queue -maxdepth 1 -type f -name 'id:*' -exec cp -t "$d/afl-queue" {} + 2>/dev/null || true
  bounded "$merge_bound" "$d/merge.log" "$lf_dir/fuzz_$t" -merge=1 -max_len=4096 -timeout=10 \
    -artifact_prefix="$d/merge-" "$d/corpus" "$d/libfuzzer/corpus" "$d/afl-queue" "$d/seeds"
  wait_all
  bounded "$merge_bound" "$d/cmin.log" env AFL_ALLOW_TMP=1 AFL_NO_AFFINITY=1 \
    afl-cmin -i "$d/corpus" -o "$d/corpus-afl" -t 1000 -- "$root/build/afl/fuzz_$t"
  wait_all

  # Failures: every crash/timeout/oom input of both engines, smallest first.
  # A crash that netverify reproduces is minimized and keyed by its failure
  # signature; one it does not (a sanitizer report, say) is keyed by the
  # sanitizer's SUMMARY line and replayed with the libFuzzer binary.
  echo "ci/fuzz-campaign.sh: triaging $t failures"
  f=$out/failures/$t
  mkdir -p "$f/work"
  : >"$f/inputs.tsv"
  for a in "$d"/libfuzzer/artifacts/{crash,leak,timeout,oom}-*; do
    [ -f "$a" ] || continue
    kind=${a##*/}
    kind=${kind%%-*}
    [ "$kind" = leak ] && kind=crash
    printf '%s\t%s\t%s\t%s\n' "$(stat -c %s "$a")" libFuzzer "$kind" "$a" >>"$f/inputs.tsv"
  done
  for a in "$d"/afl/*/crashes/id:* "$d"/afl/*/hangs/id:*; do
    [ -f "$a" ] || continue
    kind=crash
    [[ $a == */hangs/* ]] && kind=timeout
    printf '%s\t%s\t%s\t%s\n' "$(stat -c %s "$a")" AFL++ "$kind" "$a" >>"$f/inputs.tsv"
  done
  # index.tsv: signature, engines, inputs, kept file, replay command.
  declare -A sig_file=() sig_engines=() sig_count=() sig_replay=()
  sig_order=()
  n=0
  triaged=0
  unconfirmed=0
  while IFS=$'\t' read -r _ engine kind input; do
    n=$((n + 1))
    sig=""
    if ((triaged < 200)); then
      triaged=$((triaged + 1))
      kept=""
      replay=""
      if [ "$kind" = crash ]; then
        "$nv" decode "$input" --target "$t" --schedules "${inject_flag[@]}" >"$f/work/decoded.trace"
        if timeout 120 "$nv" minimize "$f/work/decoded.trace" "${inject_flag[@]}" \
          -o "$f/work/min.trace" 2>/dev/null; then
          sig=$(head -1 "$f/work/min.trace")
          sig=${sig#\# minimized by netverify: }
          kept=$f/work/min.trace
          ext=trace
        else
          sig=$(NV_INJECT=$inject timeout 60 "$lf_dir/fuzz_$t" "$input" 2>&1 |
            grep -m1 '^SUMMARY:' | sed -e 's/^SUMMARY: //' -e 's/ (.*+0x[0-9a-f]*)//') || true
          sig=${sig:-not reproducible}
        fi
      elif { NV_INJECT=$inject timeout 60 "$lf_dir/fuzz_$t" -timeout=10 -rss_limit_mb=2048 \
        "$input"; } >/dev/null 2>&1; then
        unconfirmed=$((unconfirmed + 1))  # a hang or oom that runs fine alone: load
        continue
      else
        sig=$kind
      fi
      if [ -z "${sig_file[$sig]:-}" ]; then
        slug=$(printf '%s' "$sig" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-60)
        if [ -n "$kept" ]; then
          file=$f/$((${#sig_order[@]} + 1))-$slug.$ext
          mv "$kept" "$file"
          replay="$nv replay $file${inject:+ --inject $inject}"
        else
          file=$f/$((${#sig_order[@]} + 1))-$slug.bin
          cp "$input" "$file"
          replay="${inject:+NV_INJECT=$inject }$lf_dir/fuzz_$t $file"
        fi
        sig_order+=("$sig")
        sig_file[$sig]=$file
        sig_replay[$sig]=$replay
        sig_engines[$sig]=$engine
        sig_count[$sig]=0
      fi
      [[ ",${sig_engines[$sig]}," == *",$engine,"* ]] || sig_engines[$sig]+=",$engine"
      c=${sig_count[$sig]}
      sig_count[$sig]=$((c + 1))
    fi
  done < <(sort -n "$f/inputs.tsv")
  : >"$f/index.tsv"
  for sig in "${sig_order[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\n' "$sig" "${sig_engines[$sig]}" "${sig_count[$sig]}" \
      "${sig_file[$sig]}" "${sig_replay[$sig]}" >>"$f/index.tsv"
  done
  unset sig_file sig_engines sig_count sig_replay
  rm -rf "$f/work"

  cat >"$d/stats.tsv" <<EOF
seeds	$(count "$d/seeds")
seeds_dropped	$dropped
libfuzzer_corpus	$(count "$d/libfuzzer/corpus")
afl_queue	$(count "$d/afl-queue")
merged_corpus	$(count "$d/corpus")
afl_cmin_corpus	$(count "$d/corpus-afl")
failure_inputs	$n
failure_inputs_triaged	$triaged
unconfirmed_hangs	$unconfirmed
EOF
  rm -rf "$d/afl-queue"
done
echo "finished	$(date '+%Y-%m-%d %H:%M:%S')" >>"$out/campaign.tsv"

if ((coverage)); then
  echo "ci/fuzz-campaign.sh: source-level coverage of the merged corpora (log in $out/coverage.log)"
  bash ci/coverage.sh --html "$out/coverage" --campaign "$out" >"$out/coverage.log" 2>&1 ||
    echo "ci/fuzz-campaign.sh: ci/coverage.sh failed (see coverage.log): no coverage report" >&2
fi

python3 ci/fuzz_report.py "$out" || die "the report generator failed"
cat "$out/report/summary.txt"

((broken == 0)) || die "a fuzzer did not run (see above)"
unique=$(cat "$out"/failures/*/index.tsv | wc -l)
if [ -n "$inject" ]; then
  ((unique > 0)) || { echo "ci/fuzz-campaign.sh: the planted mutant $inject was not found" >&2; exit 1; }
elif ((unique > 0)); then
  for file in "$out"/failures/*/*.trace; do
    [ -f "$file" ] && { echo "== $file"; cat "$file"; }
  done
  exit 1
fi

#!/usr/bin/env bash
# tests/cuda/device_check.sh: every CUDA test and every CUDA benchmark (short repetitions) on a GPU machine, in one
# command, with one summary file. Meant for the device tool's machine (one H100/H200, 10-minute calls): it
# finishes in about 5 minutes there and leaves room to rerun.
#
#   bash tests/cuda/device_check.sh [BUILD_DIR]        (default build/device)
#   bash tests/cuda/device_check.sh --stage DIR [BUILD_DIR]   build, then copy just the programs (about 16 MB) to
#                                                   DIR for the device tool's `carry`, and stop
#
# 1. Build. Without BUILD_DIR/.device-check-built, configures BUILD_DIR if it is new (Release, CUDA on, sm_90) and
#    builds the CUDA tests, the CUDA benchmarks and so8t_train_cuda, then marks it built (delete the marker to
#    rebuild: on the GPU machine the script never builds, since the copied tree looks new to ninja). The GPU machine has nvcc but not
#    the Debian libraries (Eigen, GoogleTest, ...), so build here and carry the folder: the device tool's `carry`
#    takes BUILD_DIR (the binaries link the CUDA toolkit's cudart / cuBLAS and the C and C++ runtimes, nothing else).
# 2. Needs a GPU: without one it says so and exits 3 (after building).
# 3. Runs each test binary directly (gtest XML; ctest's files hold this machine's absolute paths), the leak and
#    bounds checker on the GEMV test when compute-sanitizer is there, each benchmark with SO8T_BENCH_QUICK=1
#    SO8T_BENCH_REQUIRE_GPU=1, and so8t_train_cuda --bench --config small.
# 4. Writes SUMMARY (default $OUT/device_check.md when $OUT is set, else BUILD_DIR/device_check.md): tests passed /
#    failed / skipped per binary, every benchmark RESULT line (ratio and baseline), the trainer's tokens/s, the
#    device. Logs beside it. Exit 0 only if every test passed (none skipped for want of a GPU) and every
#    benchmark ran.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
stage=""
if [[ ${1:-} == --stage ]]; then
  stage=${2:?--stage needs a folder}
  shift 2
fi
build=${1:-build/device}
out=${OUT:-$build}
mkdir -p "$out"
summary=${SUMMARY:-$out/device_check.md}
logs=$out/device_check_logs
mkdir -p "$logs"
start=$SECONDS

cuda_tests=(test_block_exp_cuda test_fold_cuda test_pet_cuda test_quant_cuda test_fast_math_guard_cuda test_calib_cuda
            test_gemm_cuda test_infer_cuda test_train_cuda)
cuda_benches=(bench_so8_exp_cuda bench_fold_cuda bench_kernels_cuda bench_calib_cuda bench_gemm_cuda)

# ---- 1. build (here, where the Debian libraries are) ----
if [[ ! -f $build/.device-check-built ]]; then
  echo "== building the CUDA tests and benchmarks in $build"
  if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
    echo "device_check: no nvcc and no prebuilt $build: build it on a machine with the CUDA toolkit and carry it" >&2
    exit 4
  fi
  if [[ ! -f $build/CMakeCache.txt ]]; then  # an existing build folder (e.g. build/ci) keeps its settings
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSO8T_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
          >"$logs/configure.log" 2>&1 || { echo "device_check: configure failed (see $logs/configure.log)" >&2; exit 4; }
  fi
  cmake --build "$build" -j"$(nproc)" --target "${cuda_tests[@]}" "${cuda_benches[@]}" so8t_train_cuda \
        >"$logs/build.log" 2>&1 || { tail -30 "$logs/build.log" >&2; echo "device_check: build failed" >&2; exit 4; }
  touch "$build/.device-check-built"
  echo "== built in $((SECONDS - start)) s"
fi

bin() {  # the path of a built program
  find "$build" -type f -name "$1" -perm -u+x 2>/dev/null | head -1
}

# The absolute tests/data path the tests were compiled with (a staged folder records it in a file).
if [[ -f $build/test_data_dir ]]; then
  data_dir=$(cat "$build/test_data_dir")
else
  data_dir=$(grep -o 'SO8T_TEST_DATA_DIR=[^ ]*' "$build/build.ninja" 2>/dev/null | head -1 | sed 's/^SO8T_TEST_DATA_DIR=//; s/[\\"]//g')
fi

if [[ -n $stage ]]; then
  mkdir -p "$stage/bin"
  for p in "${cuda_tests[@]}" "${cuda_benches[@]}" so8t_train_cuda; do
    exe=$(bin "$p")
    [[ -n $exe ]] || { echo "device_check: $p was not built" >&2; exit 4; }
    cp "$exe" "$stage/bin/"
  done
  echo "$data_dir" >"$stage/test_data_dir"
  touch "$stage/.device-check-built"
  echo "== staged $(du -sh "$stage" | cut -f1) in $stage: carry it and run bash tests/cuda/device_check.sh $stage"
  exit 0
fi

# ---- 2. a GPU, or stop here ----
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
if [[ -z $gpu ]]; then
  echo "device_check: NO GPU on this machine (nvidia-smi lists none). Everything is built in $build;" \
       "run this script on the GPU machine (device tool, carry $build) to run the CUDA tests and benchmarks." >&2
  exit 3
fi
echo "== device: $gpu"

# The tests read tests/data through the absolute path they were compiled with; point it here if it moved.
if [[ -n $data_dir && ! -d $data_dir && $data_dir == */tests/data ]]; then
  src_root=${data_dir%/tests/data}
  if [[ ! -e $src_root ]]; then
    mkdir -p "$(dirname "$src_root")" && ln -s "$root" "$src_root" && echo "== linked $src_root -> $root (test data path)"
  fi
fi

{
  echo "# so8t device check"
  echo
  echo "- device: $gpu"
  echo "- date: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "## CUDA tests"
  echo
  echo "| binary | tests | passed | failed | skipped | seconds |"
  echo "|---|---|---|---|---|---|"
} >"$summary"
status=0
total_fail=0
total_skip=0
for t in "${cuda_tests[@]}"; do
  exe=$(bin "$t")
  if [[ -z $exe ]]; then
    echo "| $t | not built | | | | |" >>"$summary"
    status=1
    continue
  fi
  t0=$SECONDS
  timeout 240 "$exe" --gtest_output="xml:$logs/$t.xml" >"$logs/$t.log" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  if [[ -f $logs/$t.xml ]]; then
    read -r n f s < <(python3 - "$logs/$t.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
n = f = s = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    n += 1
    if case.find("failure") is not None or case.find("error") is not None:
        f += 1
    elif case.find("skipped") is not None or case.get("result") == "skipped":
        s += 1
print(n, f, s)
PY
)
  else
    n=0 f=1 s=0
  fi
  [[ $rc -ne 0 && $f -eq 0 ]] && f=1  # crashed or timed out
  echo "| $t | $n | $((n - f - s)) | $f | $s | $secs |" >>"$summary"
  total_fail=$((total_fail + f))
  total_skip=$((total_skip + s))
  if [[ $f -ne 0 ]]; then
    status=1
    grep -E "^\[  FAILED  \]|Failure|error" "$logs/$t.log" | head -20 | sed 's/^/    /' >>"$summary"
  fi
  echo "== $t: $n tests, $f failed, $s skipped ($secs s)"
done
[[ $total_skip -ne 0 ]] && status=1  # on a GPU machine nothing may skip

# Out-of-bounds reads and writes of the quantized GEMV at every m (the kernel once ran past x and y).
if command -v compute-sanitizer >/dev/null 2>&1 && [[ -n $(bin test_gemm_cuda) ]]; then
  timeout 180 compute-sanitizer --tool memcheck --error-exitcode 9 "$(bin test_gemm_cuda)" --gtest_filter='Qgemv*' \
      >"$logs/memcheck_qgemv.log" 2>&1
  rc=$?
  echo >>"$summary"
  echo "- compute-sanitizer memcheck, Qgemv*: exit $rc ($(grep -c 'Invalid' "$logs/memcheck_qgemv.log") invalid accesses)" >>"$summary"
  [[ $rc -ne 0 ]] && status=1
fi

{
  echo
  echo "## CUDA benchmarks (ratio > 1: faster than the baseline; bandwidth ratios: fraction of copy speed)"
  echo
  echo "| benchmark | case | ratio | baseline | so8t ms | baseline ms |"
  echo "|---|---|---|---|---|---|"
} >>"$summary"
for b in "${cuda_benches[@]}"; do
  exe=$(bin "$b")
  if [[ -z $exe ]]; then
    echo "| $b | not built | | | | |" >>"$summary"
    status=1
    continue
  fi
  t0=$SECONDS
  [[ $exe == /* ]] || exe=$root/$exe
  (cd "$logs" && SO8T_BENCH_QUICK=1 SO8T_BENCH_REQUIRE_GPU=1 timeout 180 "$exe") >"$logs/$b.log" 2>&1
  rc=$?
  grep '^RESULT ' "$logs/$b.log" | awk '{
      r=$4; sub("ratio=","",r); bl=$5; sub("baseline=","",bl); m=$6; sub("ms=","",m); bm=$7; sub("baseline_ms=","",bm);
      printf("| %s | %s | %s | %s | %s | %s |\n", $2, $3, r, bl, m, bm) }' >>"$summary"
  echo "== $b: exit $rc, $(grep -c '^RESULT ' "$logs/$b.log") results ($((SECONDS - t0)) s)"
  if [[ $rc -ne 0 ]]; then
    echo "| $b | FAILED (exit $rc) | | | | |" >>"$summary"
    status=1
  fi
done

# The GPU trainer's speed on the `small` config (tokens/s and model FLOPs utilisation).
exe=$(bin so8t_train_cuda)
if [[ -n $exe ]]; then
  timeout 180 "$exe" --bench --config small --bench-steps 30 >"$logs/so8t_train_cuda.log" 2>&1
  rc=$?
  {
    echo
    echo "## so8t_train_cuda --bench --config small (exit $rc)"
    echo
    grep '^bench:' "$logs/so8t_train_cuda.log" | sed 's/^/    /'
  } >>"$summary"
  [[ $rc -ne 0 ]] && status=1
fi

{
  echo
  echo "Total: $total_fail failed, $total_skip skipped; $((SECONDS - start)) s; exit $status."
} >>"$summary"
cat "$summary"
exit $status

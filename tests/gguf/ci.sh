#!/usr/bin/env bash
# CI job for the GGUF reader, then the model loader and tokenizer: build each libFuzzer harness with clang
# (ASan + UBSan) and fuzz it for a bounded time, starting from the reference files and the handcrafted bad files
# (the model fuzzer: from tiny generated models). Exits non-zero when a fuzzer finds a crash, leak, sanitizer
# report or timeout. Run from the repository root; no network, no cmake.
#   FUZZ_SECONDS (default 60)   how long to fuzz the reader
#   MODEL_FUZZ_SECONDS (default FUZZ_SECONDS)   how long to fuzz the model loader and tokenizer
#   FUZZ_DIR     (default: a new temp dir, removed at exit unless KEEP_FUZZ_DIR=1)
set -euo pipefail

root=$(pwd)
[[ -f "$root/include/so8t/gguf/reader.hpp" ]] || { echo "ci.sh: run from the repository root" >&2; exit 2; }
seconds=${FUZZ_SECONDS:-60}
cxx=${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
[[ -n "$cxx" ]] || { echo "ci.sh: clang++ not found" >&2; exit 2; }

if [[ -n "${FUZZ_DIR:-}" ]]; then
  dir=$FUZZ_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d -t so8t-gguf-fuzz.XXXXXX)
  [[ "${KEEP_FUZZ_DIR:-0}" == 1 ]] || trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir/start" "$dir/corpus" "$dir/artifacts"

flags=(-std=c++17 -g -I"$root/include" -I"$root/tests/gguf")
echo "== building the corpus generator and the fuzzer with $cxx"
"$cxx" "${flags[@]}" -O1 "$root/tests/gguf/make_corpus.cpp" -o "$dir/make_corpus"
"$dir/make_corpus" "$dir/start"
if compgen -G "$root/tests/data/gguf/*.gguf" >/dev/null; then
  cp "$root"/tests/data/gguf/*.gguf "$dir/start/"
fi
"$cxx" "${flags[@]}" -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "$root/tests/gguf/fuzz_reader.cpp" -o "$dir/fuzz_reader"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fuzz() {  # fuzz WHAT BINARY SECONDS MAX_LEN PREFIX: corpus PREFIX_corpus, seeds PREFIX_start, crashes PREFIX_artifacts
  local what=$1 binary=$2 secs=$3 max_len=$4 prefix=$5 status
  echo "== fuzzing $what for ${secs}s"
  mkdir -p "${prefix}corpus" "${prefix}artifacts"
  set +e
  "$binary" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$root/tests/gguf/gguf.dict" -artifact_prefix="${prefix}artifacts/" "${prefix}corpus" "${prefix}start" 2>&1 |
    tail -n 40
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 ]] || compgen -G "${prefix}artifacts/*" >/dev/null; then
    echo "ci.sh: the $what fuzzer failed (status $status); artifacts:" >&2
    ls -l "${prefix}artifacts" >&2 || true
    for f in "${prefix}"artifacts/*; do [[ -f "$f" ]] && { echo "--- $f (base64)"; base64 "$f" | head -c 4000; echo; }; done >&2
    exit 1
  fi
  echo "== $what fuzzing passed"
}
fuzz "GGUF reader" "$dir/fuzz_reader" "$seconds" 8192 "$dir/"


# The model loader and the tokenizer over the same container (tests/llm/infer/fuzz_model.cpp), seeded with tiny
# llama models that so8t's writer produces.
model_seconds=${MODEL_FUZZ_SECONDS:-$seconds}
mkdir -p "$dir/model_start"
llm_flags=("${flags[@]}" -I"$root/tests" -I"$root/examples/llm/include" -I/usr/include/eigen3
           -DSO8T_TEST_DATA_DIR="\"$root/tests/data\"")
echo "== building the model fuzzer"
"$cxx" "${llm_flags[@]}" -O1 "$root/tests/llm/infer/make_model_corpus.cpp" -o "$dir/make_model_corpus"
"$dir/make_model_corpus" "$dir/model_start"
"$cxx" "${llm_flags[@]}" -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "$root/tests/llm/infer/fuzz_model.cpp" -o "$dir/fuzz_model" -licui18n -licuuc
fuzz "model loader and tokenizer" "$dir/fuzz_model" "$model_seconds" 32768 "$dir/model_"

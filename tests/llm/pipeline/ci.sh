#!/usr/bin/env bash
# CI job for the example pipeline: the whole flow train -> bake -> quantize -> infer -> qc on the
# micro setting (examples/pipeline/run.sh micro; every step enforces its QC targets and fails the job when
# one is missed), then bad inputs: each must give one line on stderr, a non-zero exit status and no output
# file. Uses the binaries of the ci preset (build/ci, built by `cmake --workflow --preset ci`).
set -euo pipefail

root=$(pwd)
build=${PIPELINE_BUILD:-build/ci}
[[ -f "$root/examples/pipeline/run.sh" ]] || { echo "ci.sh: run from the repository root" >&2; exit 2; }
out=$(mktemp -d -t so8t-pipeline.XXXXXX)
[[ "${KEEP_PIPELINE_DIR:-0}" == 1 ]] || trap 'rm -rf "$out"' EXIT

bash "$root/examples/pipeline/run.sh" micro "$out/flow" "$build"
for f in bake-f32.json bake-f16.json qc-f32-vs-q8_0.json qc-f32-vs-q4_k_m.json qc-f32-vs-int8.json \
         qc-f32-vs-q4_k_m.md qc-f32-vs-q4_k_m.entropy.svg qc-f32-vs-q4_k_m.reliability_b.svg; do
  [[ -s "$out/flow/$f" ]] || { echo "ci.sh: report $f is missing"; exit 1; }
done
grep -Eq '"pass": *true' "$out/flow/bake-f32.json" || { echo "ci.sh: bake-f32 QC did not pass"; exit 1; }
grep -qa 'so8t.calibration.temperature' "$out/flow/model-q4_k_m.gguf" ||
  { echo "ci.sh: model-q4_k_m.gguf has no so8t.calibration.temperature"; exit 1; }

echo "== bad inputs: one line on stderr, non-zero exit, no output file"
bin=$build/examples
bad=$out/bad
mkdir -p "$bad"
cp "$out/flow/checkpoint.gguf" "$bad/wrong-shape.gguf"
# the checkpoint claims feed_forward_length 64 while its ffn tensors hold 128 columns
key=llama-so8t-unbaked.feed_forward_length
key_end=$(( $(grep -obUa "$key" "$bad/wrong-shape.gguf" | head -1 | cut -d: -f1) + ${#key} ))
printf '\x40\x00\x00\x00' | dd of="$bad/wrong-shape.gguf" bs=1 seek=$((key_end + 4)) conv=notrunc status=none
head -c 100000 "$out/flow/model-q8_0.gguf" > "$bad/truncated.gguf"

fails=0
expect_error() {  # expect_error OUTPUT_FILE_OR_- command...
  local produced=$1
  shift
  local rc=0
  "$@" > "$bad/stdout" 2> "$bad/stderr" || rc=$?
  local lines
  lines=$(grep -c . "$bad/stderr" || true)
  if [[ $rc -eq 0 || $rc -ge 128 || $lines -ne 1 ]]; then
    echo "FAIL ($*): exit $rc, $lines stderr lines:"; cat "$bad/stderr"; fails=$((fails + 1)); return
  fi
  if [[ "$produced" != - ]] && compgen -G "$produced*" > /dev/null; then
    echo "FAIL ($*): left $(ls "$produced"*)"; fails=$((fails + 1)); return
  fi
  echo "ok (exit $rc): $(cat "$bad/stderr")"
}
expect_error "$bad/o1.gguf" "$bin/bake/so8t_bake" --in "$bad/missing.gguf" --out "$bad/o1.gguf"
expect_error "$bad/o2.gguf" "$bin/bake/so8t_bake" --in "$bad/wrong-shape.gguf" --out "$bad/o2.gguf"
expect_error "$bad/o3.gguf" "$bin/bake/so8t_bake" --in "$bad/truncated.gguf" --out "$bad/o3.gguf"
expect_error "$bad/o4.gguf" "$bin/bake/so8t_bake" --in "$out/flow/checkpoint.gguf" --out "$bad/o4.gguf" --max-dz 1e-12
expect_error "$bad/o5.gguf" "$bin/quantize/so8t_quantize" --in "$bad/truncated.gguf" --out "$bad/o5.gguf" --type q8_0
expect_error "$bad/o6.gguf" "$bin/quantize/so8t_quantize" --in "$bad/missing.gguf" --out "$bad/o6.gguf" --type q4_k_m
expect_error "$bad/o7.json" "$bin/infer/so8t_infer" perplexity --model "$bad/missing.gguf" --text kjv --json "$bad/o7.json"
expect_error "$bad/o8.json" "$bin/infer/so8t_infer" perplexity --model "$bad/truncated.gguf" --text kjv --json "$bad/o8.json"
expect_error "$bad/o9.json" "$bin/infer/so8t_infer" perplexity --model "$bad/wrong-shape.gguf" --text kjv --json "$bad/o9.json"
expect_error "$bad/o10.json" "$bin/infer/so8t_infer" perplexity --model "$out/flow/model-f32.gguf" --int8 --gpu-mem 1k \
  --text kjv --json "$bad/o10.json"
expect_error "$bad/o11" "$bin/infer/so8t_infer" qc --model "$out/flow/model-f32.gguf" --model-b "$bad/truncated.gguf" \
  --text kjv --report "$bad/o11"
expect_error "$bad/o12.json" "$bin/infer/so8t_infer" perplexity --model "$out/flow/model-f32.gguf" --text "$bad/no-such.txt" \
  --json "$bad/o12.json"
[[ $fails -eq 0 ]] || { echo "ci.sh: $fails bad-input checks failed"; exit 1; }
echo "== pipeline CI passed"

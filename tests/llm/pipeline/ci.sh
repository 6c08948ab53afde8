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

echo "== output safety: an output never replaces an input; refused before any work, inputs untouched, no files left"
safe=$out/safe
mkdir -p "$safe"
cp "$out/flow/checkpoint.gguf" "$safe/ck.gguf"
cp "$out/flow/model-f32.gguf" "$safe/m.gguf"
cp "$out/flow/checkpoint.gguf" "$safe/ck.gguf.unverified"
cp "$out/flow/model-f32.gguf" "$safe/m.gguf.uncalibrated"
for i in $(seq 400); do echo "Verse $i: in the beginning was the word, and the word was $((i * 7 % 13))."; done \
  > "$safe/text.txt"
snapshot() { (cd "$safe" && ls -A | LC_ALL=C sort && md5sum -- *) ; }
expect_refused() {  # expect_refused command...: exit 1 or 2, one stderr line, the folder exactly as before
  local before rc=0 lines
  before=$(snapshot)
  "$@" > "$bad/stdout" 2> "$bad/stderr" || rc=$?
  lines=$(grep -c . "$bad/stderr" || true)
  if [[ $rc -ne 1 && $rc -ne 2 ]] || [[ $lines -ne 1 ]]; then
    echo "FAIL ($*): exit $rc, $lines stderr lines:"; cat "$bad/stderr"; fails=$((fails + 1)); return
  fi
  if [[ "$(snapshot)" != "$before" ]]; then
    echo "FAIL ($*): the folder changed:"; diff <(echo "$before") <(snapshot) || true; fails=$((fails + 1)); return
  fi
  echo "ok (exit $rc): $(cat "$bad/stderr")"
}
bin=$(cd "$bin" && pwd)  # the checks below run inside $safe
cd "$safe"
expect_refused "$bin/bake/so8t_bake" --in ck.gguf --out ./ck.gguf
expect_refused "$bin/bake/so8t_bake" --in ck.gguf --out "$safe/../safe/ck.gguf"
ln -f ck.gguf ck-link.gguf
expect_refused "$bin/bake/so8t_bake" --in ck.gguf --out ck-link.gguf
expect_refused "$bin/bake/so8t_bake" --in ck.gguf --out b.gguf --report /nonexistent/r
expect_refused "$bin/bake/so8t_bake" --in ck.gguf --out "$safe"
expect_refused "$bin/quantize/so8t_quantize" --in m.gguf --out ./m.gguf --type q8_0
expect_refused "$bin/quantize/so8t_quantize" --in m.gguf --out text.txt --type q8_0 --calibrate text.txt
expect_refused "$bin/infer/so8t_infer" generate --model m.gguf --json m.gguf --n 2
expect_refused "$bin/infer/so8t_infer" perplexity --model m.gguf --text text.txt --json ./text.txt
expect_refused "$bin/infer/so8t_infer" qc --model m.gguf --model-b m.gguf --text text.txt --report /nonexistent/r
expect_refused "$bin/train/so8t_train" --config micro --data text.txt --log text.txt --steps 1
expect_refused "$bin/train/so8t_train" --config micro --data text.txt --out ./text.txt --steps 1
expect_refused "$bin/train/so8t_train" --config micro --data text.txt --log /nonexistent/l.jsonl --steps 1
for bad_opt in "--steps -1" "--lr -1" "--lr 0" "--clip -1" "--weight-decay -1" "--eval-windows 0" "--steps abc" \
               "--min-lr 1 --lr 0.1"; do
  # shellcheck disable=SC2086
  expect_refused "$bin/train/so8t_train" --config micro --data text.txt --out t.gguf --log t.jsonl $bad_opt
done
# the working files of a bake and a quantization have unique names: OUT.unverified / OUT.uncalibrated are inputs
"$bin/bake/so8t_bake" --in ck.gguf.unverified --out ck2.gguf --data kjv > /dev/null 2>&1 ||
  { echo "FAIL: bake from ck.gguf.unverified"; fails=$((fails + 1)); }
cmp -s ck.gguf.unverified ck.gguf || { echo "FAIL: ck.gguf.unverified changed"; fails=$((fails + 1)); }
"$bin/quantize/so8t_quantize" --in m.gguf.uncalibrated --out m2.gguf --type q8_0 --calibrate text.txt > /dev/null 2>&1 ||
  { echo "FAIL: quantize from m.gguf.uncalibrated"; fails=$((fails + 1)); }
cmp -s m.gguf.uncalibrated m.gguf || { echo "FAIL: m.gguf.uncalibrated changed"; fails=$((fails + 1)); }
if compgen -G "*.tmp.*" > /dev/null; then echo "FAIL: working files left: $(ls ./*.tmp.*)"; fails=$((fails + 1)); fi
# SIGTERM during a quantization: no working file stays behind
"$bin/quantize/so8t_quantize" --in m.gguf --out m3.gguf --type q4_k_m --calibrate text.txt > /dev/null 2>&1 &
qpid=$!
sleep 0.2
kill -TERM "$qpid" 2> /dev/null || true
wait "$qpid" 2> /dev/null || true
if compgen -G "m3.gguf.tmp.*" > /dev/null; then echo "FAIL: SIGTERM left $(ls m3.gguf.tmp.*)"; fails=$((fails + 1)); fi
# a killed so8t_train leaves an unfinished JSON line; --resume cuts it before appending
"$bin/train/so8t_train" --config micro --data kjv --steps 4 --eval-every 2 --eval-windows 4 --out r.gguf \
  --log r.jsonl > /dev/null 2>&1 || { echo "FAIL: the run before the resume"; fails=$((fails + 1)); }
printf '{"event":"step","st' >> r.jsonl
"$bin/train/so8t_train" --config micro --data kjv --steps 6 --eval-every 2 --eval-windows 4 --out r.gguf \
  --log r.jsonl --resume r.gguf > /dev/null 2>&1 || { echo "FAIL: the resumed run"; fails=$((fails + 1)); }
if grep -q '"st$' r.jsonl || grep -qv '}$' r.jsonl; then echo "FAIL: r.jsonl has an unfinished line"; fails=$((fails + 1)); fi
grep -q '"event":"end","step":6' r.jsonl || { echo "FAIL: the resumed run did not log its end"; fails=$((fails + 1)); }

echo "== numbers and model checks: non-finite results end the run with exit 1 and where they appeared"
gguf_tool=$bin/gguf/so8t-gguf
poison() {  # poison SRC DST TENSOR LE_BYTES: DST = SRC with the first 4 bytes of TENSOR's data replaced
  local data tensor_off
  data=$("$gguf_tool" info "$1" | sed -n 's/^data offset: //p')
  tensor_off=$("$gguf_tool" info "$1" | awk -v t="$3" '$1 == t { for (i = 1; i <= NF; ++i) if ($i == "offset") print $(i + 1) }' | tr -d ,)
  cp "$1" "$2"
  printf "$4" | dd of="$2" bs=1 seek=$((data + tensor_off)) conv=notrunc status=none
}
nan='\x00\x00\xc0\x7f'
poison m.gguf nan-matrix.gguf blk.0.attn_q.weight "$nan"
poison m.gguf nan-norm.gguf blk.1.ffn_norm.weight "$nan"
poison m.gguf big-1e38.gguf blk.0.ffn_gate.weight '\x99\x76\x96\x7e'
poison m.gguf big-7e4.gguf blk.0.ffn_gate.weight '\x00\xb8\x88\x47'
expect_refused "$bin/infer/so8t_infer" perplexity --model nan-matrix.gguf --text kjv --json p.json
expect_refused "$bin/infer/so8t_infer" generate --model nan-matrix.gguf --n 4 --json g.json
expect_refused "$bin/infer/so8t_infer" perplexity --model nan-norm.gguf --text kjv --json p.json
expect_refused "$bin/quantize/so8t_quantize" --in nan-norm.gguf --out q.gguf --type q8_0
expect_refused "$bin/quantize/so8t_quantize" --in big-1e38.gguf --out q.gguf --type q8_0
expect_refused "$bin/quantize/so8t_quantize" --in big-1e38.gguf --out q.gguf --type q4_k_m
expect_refused "$bin/quantize/so8t_quantize" --in big-7e4.gguf --out q.gguf --type f16
expect_refused "$bin/infer/so8t_infer" perplexity --model m.gguf --text kjv --ctx 1000
"$bin/infer/so8t_infer" perplexity --model m.gguf --text kjv --ctx 100 --ctx-beyond-model --tokens 400 > /dev/null 2>&1 ||
  { echo "FAIL: --ctx-beyond-model"; fails=$((fails + 1)); }
for bad_opt in "--n 1e10" "--top-k 1e10" "--ctx 2147483647" "--tokens 1e30" "--n -1"; do
  # shellcheck disable=SC2086
  expect_refused "$bin/infer/so8t_infer" perplexity --model m.gguf --text kjv $bad_opt
done
expect_refused "$bin/infer/so8t_infer" perplexity --model m.gguf --text kjv --int8 --gpu-mem 1e30
# user text in the Markdown report stays text
"$bin/infer/so8t_infer" qc --model m.gguf --model-b m.gguf --text kjv --report qc --tokens 512 --rows 64 --long 64 \
  --name-a '<script>x</script>' --name-b 'a|b' > /dev/null 2>&1 || { echo "FAIL: qc with odd names"; fails=$((fails + 1)); }
if grep -q '<script>' qc.md || ! grep -q '| a\\|b | ' qc.md; then echo "FAIL: qc.md has raw names"; fails=$((fails + 1)); fi
# header values that would size 4 GB of buffers: refused before allocating (the peak RSS says so)
set_u32() {  # set_u32 FILE KEY LE_BYTES: the uint32 value of KEY
  local end
  end=$(( $(grep -obUa "$2" "$1" | head -1 | cut -d: -f1) + ${#2} ))
  printf "$3" | dd of="$1" bs=1 seek=$((end + 4)) conv=notrunc status=none
}
cp ck.gguf lie-vocab.gguf && set_u32 lie-vocab.gguf llama-so8t-unbaked.vocab_size '\x00\x00\x20\x00'
cp ck.gguf lie-layers.gguf && set_u32 lie-layers.gguf llama-so8t-unbaked.block_count '\x00\x00\x00\x01'
for lie in lie-vocab.gguf lie-layers.gguf; do
  expect_refused "$bin/bake/so8t_bake" --in $lie --out lie-out.gguf
  /usr/bin/time -f '%M' -o rss.txt "$bin/bake/so8t_bake" --in $lie --out lie-out.gguf > /dev/null 2>&1 || true
  rss=$(tail -1 rss.txt) && rm rss.txt
  echo "so8t_bake on $lie: peak RSS $((rss >> 10)) MiB"
  [[ $rss -lt 262144 ]] || { echo "FAIL: so8t_bake on $lie peaked at $rss kB"; fails=$((fails + 1)); }
  expect_refused "$bin/train/so8t_train" --config micro --data kjv --resume $lie --out lie-out.gguf --steps 1
done
# 200 MB of text: perplexity, bake's QC and quantize --calibrate read only what they use
awk 'BEGIN { srand(1); for (i = 0; i < 6000000; ++i) printf "line %d of the long text, %d\n", i, int(rand() * 1e6) }' > big.txt
peak_rss() {  # peak_rss WHAT command...: runs it, prints its peak RSS and fails above 1 GiB
  local what=$1
  shift
  /usr/bin/time -f '%M' -o rss.txt "$@" > /dev/null 2>&1 || { echo "FAIL: $what"; fails=$((fails + 1)); }
  rss=$(tail -1 rss.txt) && rm rss.txt
  echo "$what on $(( $(stat -c %s big.txt) >> 20 )) MiB of text: peak RSS $((rss >> 10)) MiB"
  [[ $rss -lt 1048576 ]] || { echo "FAIL: $what on big.txt peaked at $rss kB"; fails=$((fails + 1)); }
}
peak_rss perplexity "$bin/infer/so8t_infer" perplexity --model m.gguf --text big.txt
peak_rss "so8t_bake --data" "$bin/bake/so8t_bake" --in ck.gguf --out big-baked.gguf --data big.txt
peak_rss "so8t_quantize --calibrate" "$bin/quantize/so8t_quantize" --in m.gguf --out big-q.gguf --type q8_0 --calibrate big.txt
rm -f big.txt big-baked.gguf big-q.gguf
# a CPU run never loads cuBLAS: so8t_infer's GPU side is a module loaded on first use (examples/infer)
if ldd "$bin/infer/so8t_infer" | grep -q cublas; then echo "FAIL: so8t_infer links cuBLAS"; fails=$((fails + 1)); fi
/usr/bin/time -f '%M' -o rss.txt "$bin/infer/so8t_infer" perplexity --model m.gguf --text kjv --tokens 512 > /dev/null ||
  { echo "FAIL: perplexity on kjv"; fails=$((fails + 1)); }
rss=$(tail -1 rss.txt) && rm rss.txt
echo "so8t_infer perplexity, tiny model, CPU: peak RSS $((rss >> 10)) MiB"
[[ $rss -lt 131072 ]] || { echo "FAIL: so8t_infer on a tiny model peaked at $rss kB"; fails=$((fails + 1)); }
cd "$root"
[[ $fails -eq 0 ]] || { echo "ci.sh: $fails output-safety checks failed"; exit 1; }
echo "== pipeline CI passed"

#!/usr/bin/env python3
"""Generate the tiny Hugging Face checkpoint fixtures in tests/data/hf/.

NOT run by CI (CI has no torch); the generated files are committed and this
script only documents and reproduces how they were made.

What it makes (deterministic, seeded):
  * text.txt                      the input text (mixed English/Japanese/digits/code, one <|im_start|>)
  * <model>/                      a tiny random-weight HF checkpoint made with transformers
                                  (config.json, *.safetensors, tokenizer.json, tokenizer_config.json, ...)
                                  for model in llama (f32), mistral (bf16), qwen2 (f16, tied), qwen3 (f32, 2 shards)
  * <model>.tokens.i32            int32 LE token ids of text.txt from AutoTokenizer (add_special_tokens=True)
  * <model>.logits.f32            float32 LE logits [min(n_tokens, 96)][vocab] from transformers (eager, f32)
  * <model>.llama_cpp.json        structural summary of the GGUF that llama.cpp's convert_hf_to_gguf.py
                                  writes for the folder (--outtype f32): metadata keys/types/values and
                                  tensors (name, type, ggml shape, sha256)
  * MANIFEST.md                   versions, hyperparameters, file list with sha256, measured
                                  llama.cpp-vs-transformers logit differences.

How to run (needs torch, transformers, tokenizers, safetensors, numpy; plus llama.cpp's converter
and, optionally, llama-cpp-python in a second interpreter for the logit cross-check):

    python3 -m venv /tmp/hfenv
    /tmp/hfenv/bin/pip install torch transformers safetensors tokenizers sentencepiece numpy gguf
    /tmp/hfenv/bin/python tests/llm/convert/make_hf_fixtures.py \
        --llama-cpp-dir /path/to/llama.cpp \
        --llama-cpp-python /path/to/venv-with-llama_cpp/bin/python

The BPE tokenizers are trained on the King James Bible (Genesis), obtained from the Debian
package bible-kjv (`bible -f Ge1:1-50:26`; public domain text); pass --train-text to use another
file. llama.cpp's converter identifies BPE pre-tokenizers by hashing their output and refuses
unknown ones, so it is run through a small generated wrapper (in a temporary directory) that
monkeypatches TextModel.get_vocab_base_pre to return the pre-tokenizer name assigned here
("llama-bpe" or "qwen2"). No llama.cpp code is copied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO / "tests" / "data" / "hf"
MAX_LOGIT_ROWS = 96

TEXT = (
    "The quick brown fox jumps over the lazy dog. It's 2026-12-06 and we're testing 4 models.\n"
    "<|im_start|>user\n"
    "東京は日本の首都です。今日はいい天気ですね！\n"
    "def add(a, b):  return {\"sum\": a + b, \"ids\": [1, 22, 333, 4444, 55555]}  # x != y && z >= 0;\n"
    "Numbers: 3.14159, 1,000,000 and 0x1F... I'll say \"don't\"; they've said 'YES' (ok?)\n"
    "In the beginning God created the heaven and the earth.\t\tTabs,   spaces   and CamelCaseWords_42!  \n"
    "カタカナとひらがな、そして漢字。for (int i = 0; i < n; ++i) { s += x[i] * 2; }  // C++ 1234567\n"
    "Mixed: naïve café – “quotes” and e-mail: test@example.com, path C:\\tmp\\a_b.txt <END>"
)

# Llama-3's pre-tokenizer regex, exactly as in Meta-Llama-3's tokenizer.json.
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen2's pre-tokenizer regex, exactly as in Qwen2's tokenizer.json.
QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n\\n' + message['content'] | trim + '<|im_end|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n\\n' }}{%- endif %}"
)
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

COMMON = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              intermediate_size=96, max_position_embeddings=128, rms_norm_eps=1e-6)

# name -> (tokenizer style, HF class, extra config, save dtype, max_shard_size or None, seed)
MODELS = {
    "llama":   ("llama3", "LlamaForCausalLM",   dict(rope_theta=10000.0, tie_word_embeddings=False), "float32", None, 1001),
    "mistral": ("llama3", "MistralForCausalLM", dict(rope_theta=1e6, sliding_window=None, tie_word_embeddings=False), "bfloat16", None, 1002),
    "qwen2":   ("qwen2",  "Qwen2ForCausalLM",   dict(rope_theta=1e6, tie_word_embeddings=True, use_sliding_window=False), "float16", None, 1003),
    "qwen3":   ("qwen2",  "Qwen3ForCausalLM",   dict(rope_theta=1e6, head_dim=32, tie_word_embeddings=False, use_sliding_window=False), "float32", "400KB", 1004),
}

PRE_NAME = {"llama3": "llama-bpe", "qwen2": "qwen2"}


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------
# tokenizers

def training_text(path: str | None) -> tuple[str, str]:
    if path:
        return Path(path).read_text(encoding="utf-8"), f"file {path}"
    out = subprocess.run(["bible", "-f", "Ge1:1-50:26"], check=True, capture_output=True).stdout
    return out.decode("utf-8"), "King James Bible, Genesis 1:1-50:26, via `bible -f Ge1:1-50:26` (Debian package bible-kjv 4.38; public domain)"


def build_tokenizer(style: str, corpus: str):
    from tokenizers import Tokenizer, Regex, AddedToken, models, pre_tokenizers, decoders, processors, trainers, normalizers

    regex = LLAMA3_REGEX if style == "llama3" else QWEN2_REGEX
    # Llama-3's tokenizer.json sets ignore_merges=true, Qwen2's sets it false.
    tok = Tokenizer(models.BPE(ignore_merges=(style == "llama3"), byte_fallback=False, fuse_unk=False))
    if style == "qwen2":
        tok.normalizer = normalizers.NFC()  # as in Qwen2's tokenizer.json
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=512, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    lines = corpus.splitlines(keepends=True)
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    specials = LLAMA3_SPECIALS if style == "llama3" else QWEN2_SPECIALS
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if style == "llama3":
        bos = "<|begin_of_text|>"
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
            special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    return tok


def save_tokenizer(style: str, tok, folder: Path) -> dict:
    from transformers import PreTrainedTokenizerFast

    if style == "llama3":
        kw = dict(bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>", chat_template=LLAMA3_CHAT_TEMPLATE,
                  model_max_length=128, clean_up_tokenization_spaces=False)
    else:
        kw = dict(eos_token="<|endoftext|>", pad_token="<|endoftext|>", chat_template=CHATML_TEMPLATE,
                  model_max_length=128, clean_up_tokenization_spaces=False)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kw)
    fast.save_pretrained(str(folder))
    # the regex must survive byte-exactly
    tj = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    pat = tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    want = LLAMA3_REGEX if style == "llama3" else QWEN2_REGEX
    assert pat == want, (pat, want)
    return kw


# --------------------------------------------------------------------------------------------------
# models

def init_weights(model, seed: int):
    import torch
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))


def make_model(name: str, out: Path, tokenizers_by_style: dict, text: str) -> dict:
    import torch
    import transformers
    from transformers import AutoTokenizer, AutoModelForCausalLM

    style, cls_name, extra, save_dtype, shard, seed = MODELS[name]
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    tok = tokenizers_by_style[style]
    tok_kw = save_tokenizer(style, tok, folder)
    vocab = tok.get_vocab_size(with_added_tokens=True)

    cls = getattr(transformers, cls_name)
    cfg_cls = getattr(transformers, cls_name.replace("ForCausalLM", "Config"))
    cfg_kw = dict(COMMON, **extra, vocab_size=vocab,
                  bos_token_id=tok.token_to_id(tok_kw["bos_token"]) if "bos_token" in tok_kw else None,
                  eos_token_id=tok.token_to_id(tok_kw["eos_token"]))
    if style == "qwen2":
        cfg_kw["pad_token_id"] = tok.token_to_id(tok_kw["pad_token"])
    cfg = cfg_cls(**cfg_kw)
    cfg.attn_implementation = "eager"
    model = cls(cfg).to(torch.float32)
    init_weights(model, seed)
    model = model.to(getattr(torch, save_dtype))
    save_kw = dict(safe_serialization=True)
    if shard:
        save_kw["max_shard_size"] = shard
    model.save_pretrained(str(folder), **save_kw)
    for p in folder.iterdir():
        os.chmod(p, 0o644)
    shards = sorted(p.name for p in folder.glob("*.safetensors"))
    if shard:
        assert len(shards) == 2, shards
    del model

    # reference: reload what was stored, compute in float32
    hf_tok = AutoTokenizer.from_pretrained(str(folder))
    ids = hf_tok(text)["input_ids"]
    raw_ids = tok.encode(text).ids
    assert list(ids) == list(raw_ids), "AutoTokenizer and tokenizers disagree"
    np.asarray(ids, dtype="<i4").tofile(out / f"{name}.tokens.i32")

    ref = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager")
    ref.eval()
    n = min(len(ids), MAX_LOGIT_ROWS)
    with torch.no_grad():
        logits = ref(torch.tensor([ids[:n]], dtype=torch.long)).logits[0].float().numpy()
    assert logits.shape == (n, vocab)
    np.ascontiguousarray(logits, dtype="<f4").tofile(out / f"{name}.logits.f32")

    return dict(name=name, cls=cls_name, style=style, save_dtype=save_dtype, shards=shards, vocab=vocab,
                n_tokens=len(ids), n_logit_rows=n, ids=list(ids), seed=seed,
                logit_absmax=float(np.abs(logits).max()), logit_std=float(logits.std()),
                tok_kw={k: v for k, v in tok_kw.items() if k != "chat_template"},
                config=json.loads((folder / "config.json").read_text()),
                special_ids={s: tok.token_to_id(s) for s in (LLAMA3_SPECIALS if style == "llama3" else QWEN2_SPECIALS)})


# --------------------------------------------------------------------------------------------------
# llama.cpp converter + summary

WRAPPER = r'''
import sys, runpy
conv_dir, pre = sys.argv[1], sys.argv[2]
sys.path.insert(0, conv_dir + "/gguf-py")
sys.path.insert(0, conv_dir)
import conversion.base as cb
def _pre(self, tokenizer, _pre=pre):
    return _pre
cb.TextModel.get_vocab_base_pre = _pre
sys.argv = [conv_dir + "/convert_hf_to_gguf.py"] + sys.argv[3:]
runpy.run_path(conv_dir + "/convert_hf_to_gguf.py", run_name="__main__")
'''


def run_converter(conv_dir: Path, folder: Path, pre: str, outfile: Path, tmp: Path) -> tuple[bool, str]:
    wrapper = tmp / "convert_wrapper.py"
    wrapper.write_text(WRAPPER)
    env = dict(os.environ, PYTHONPATH=str(conv_dir / "gguf-py"))
    r = subprocess.run([sys.executable, str(wrapper), str(conv_dir), pre, str(folder),
                        "--outtype", "f32", "--outfile", str(outfile)],
                       capture_output=True, text=True, env=env)
    log = r.stdout + r.stderr
    return r.returncode == 0 and outfile.is_file(), log


def _jsonable(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return v


def summarize_gguf(path: Path, conv_dir: Path) -> dict:
    sys.path.insert(0, str(conv_dir / "gguf-py"))
    import gguf
    from gguf import GGUFReader, GGUFValueType

    rd = GGUFReader(str(path))
    kv = []
    for f in rd.fields.values():
        if f.name.startswith("GGUF."):
            continue
        t = f.types[0]
        ent = {"key": f.name, "type": t.name}
        if t == GGUFValueType.ARRAY:
            et = f.types[1] if len(f.types) > 1 else None
            ent["element_type"] = et.name if et is not None else None
            if et == GGUFValueType.STRING:
                vals = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
                raw = "\n".join(vals).encode("utf-8")
            else:
                arrs = [f.parts[i] for i in f.data]
                vals = [_jsonable(a[0]) for a in arrs]
                raw = b"".join(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes() for a in arrs)
            ent["length"] = len(vals)
            if len(vals) > 16:
                ent["sha256"] = hashlib.sha256(raw).hexdigest()
                ent["first5"] = vals[:5]
            else:
                ent["value"] = vals
        elif t == GGUFValueType.STRING:
            ent["value"] = bytes(f.parts[f.data[0]]).decode("utf-8")
        else:
            ent["value"] = _jsonable(f.parts[f.data[0]][0])
        kv.append(ent)
    tensors = []
    for t in rd.tensors:
        tensors.append({"name": t.name, "type": t.tensor_type.name,
                        "shape": [int(x) for x in t.shape],
                        "n_bytes": int(t.n_bytes),
                        "sha256": hashlib.sha256(np.ascontiguousarray(t.data).tobytes()).hexdigest()})
    return {"gguf_version": int(rd.fields["GGUF.version"].parts[-1][0]), "alignment": int(rd.alignment),
            "n_kv": len(kv), "n_tensors": len(tensors), "metadata": kv, "tensors": tensors}


def gguf_tensor(path: Path, conv_dir: Path, name: str) -> np.ndarray:
    sys.path.insert(0, str(conv_dir / "gguf-py"))
    from gguf import GGUFReader
    for t in GGUFReader(str(path)).tensors:
        if t.name == name:
            return np.array(t.data)
    raise KeyError(name)


def hf_tensor(folder: Path, name: str) -> np.ndarray:
    from safetensors.torch import load_file
    for p in sorted(folder.glob("*.safetensors")):
        d = load_file(str(p))
        if name in d:
            return d[name].float().numpy()
    raise KeyError(name)


def llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def check_qk(name: str, folder: Path, gguf_path: Path, conv_dir: Path, cfg: dict) -> dict:
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    res = {}
    for proj, gname, nh in (("q_proj", "attn_q", n_head), ("k_proj", "attn_k", n_kv)):
        hf = hf_tensor(folder, f"model.layers.0.self_attn.{proj}.weight")
        gg = gguf_tensor(gguf_path, conv_dir, f"blk.0.{gname}.weight")
        res[gname] = {"hf_shape": list(hf.shape), "gguf_numpy_shape": list(gg.shape),
                      "equal_unpermuted": bool(gg.shape == hf.shape and np.array_equal(gg, hf)),
                      "equal_llama_permute": bool(gg.shape == hf.shape and np.array_equal(gg, llama_permute(hf, nh)))}
    return res


LLAMA_CPP_EVAL = r'''
import sys, json, numpy as np, llama_cpp
p, ids_path, text_path, out = sys.argv[1:5]
ids = np.fromfile(ids_path, dtype="<i4").tolist()
n = int(sys.argv[5])
llm = llama_cpp.Llama(model_path=p, n_ctx=128, n_batch=128, n_ubatch=128, logits_all=True, n_threads=1,
                      verbose=False, type_k=0, type_v=0, flash_attn=False)
text = open(text_path, "rb").read()
toks = llm.tokenize(text, add_bos=True, special=True)
llm.eval(ids[:n])
sc = np.array(llm.scores[:n], dtype=np.float32)
np.save(out, sc)
json.dump({"tokens": [int(t) for t in toks], "n_vocab": llm.n_vocab()}, open(out + ".json", "w"))
'''


def llama_cpp_logits(py: str, gguf_path: Path, ids_path: Path, text_path: Path, n: int, tmp: Path):
    script = tmp / "llama_cpp_eval.py"
    script.write_text(LLAMA_CPP_EVAL)
    out = tmp / (gguf_path.stem + ".scores.npy")
    r = subprocess.run([py, str(script), str(gguf_path), str(ids_path), str(text_path), str(out), str(n)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, None, r.stdout + r.stderr
    return np.load(out), json.loads(Path(str(out) + ".json").read_text()), ""


# --------------------------------------------------------------------------------------------------

def versions() -> dict:
    import torch, transformers, tokenizers, safetensors
    v = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
         "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__, "numpy": np.__version__}
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--train-text", default=None)
    ap.add_argument("--llama-cpp-dir", default="/tmp/sdist/llama_cpp_python-0.3.36/vendor/llama.cpp")
    ap.add_argument("--llama-cpp-python", default="/tmp/llamacpp/bin/python")
    ap.add_argument("--llama-cpp-label", default="llama.cpp vendored in llama-cpp-python 0.3.36 (submodule commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f)")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()

    import torch
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text_path = out / "text.txt"
    text_path.write_bytes(TEXT.encode("utf-8"))

    corpus, corpus_desc = training_text(args.train_text)
    toks = {s: build_tokenizer(s, corpus) for s in ("llama3", "qwen2")}

    conv_dir = Path(args.llama_cpp_dir)
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="hf_fixtures_"))
    for name in MODELS:
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        r = make_model(name, out, toks, TEXT)
        folder = out / name
        gguf_path = tmp / f"{name}-f32.gguf"
        ok, log = run_converter(conv_dir, folder, PRE_NAME[r["style"]], gguf_path, tmp)
        r["converter_ok"] = ok
        if not ok:
            r["converter_error"] = log[-3000:]
            print(log[-3000:])
        else:
            summ = summarize_gguf(gguf_path, conv_dir)
            summ["converter"] = args.llama_cpp_label
            summ["converter_args"] = "--outtype f32 (get_vocab_base_pre patched to return %r)" % PRE_NAME[r["style"]]
            (out / f"{name}.llama_cpp.json").write_text(json.dumps(summ, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            r["gguf_keys"] = [k["key"] for k in summ["metadata"]]
            r["gguf_tensors"] = [(t["name"], t["type"], t["shape"]) for t in summ["tensors"]]
            r["qk"] = check_qk(name, folder, gguf_path, conv_dir, r["config"])
            sc, info, err = llama_cpp_logits(args.llama_cpp_python, gguf_path, out / f"{name}.tokens.i32", text_path,
                                             r["n_logit_rows"], tmp)
            if sc is None:
                r["llama_cpp_error"] = err[-3000:]
                print(err[-3000:])
            else:
                ref = np.fromfile(out / f"{name}.logits.f32", dtype="<f4").reshape(r["n_logit_rows"], r["vocab"])
                r["llama_cpp_max_dz"] = float(np.abs(sc[:, :r["vocab"]] - ref).max())
                r["llama_cpp_n_vocab"] = info["n_vocab"]
                r["llama_cpp_tokens_equal"] = info["tokens"] == r["ids"]
                r["llama_cpp_tokens_first_diff"] = next((i for i, (a, b) in enumerate(zip(info["tokens"], r["ids"])) if a != b),
                                                         None if len(info["tokens"]) == len(r["ids"]) else min(len(info["tokens"]), len(r["ids"])))
                r["llama_cpp_n_tokens"] = len(info["tokens"])
        print(json.dumps({k: v for k, v in r.items() if k not in ("ids", "config", "gguf_tensors")}, indent=1, default=str), flush=True)
        results.append(r)
    (tmp / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_manifest(out, results, corpus_desc, args.llama_cpp_label)
    print("scratch:", tmp)


def write_manifest(out: Path, results: list, corpus_desc: str, conv_label: str):
    v = versions()
    L = []
    L.append("# Tiny Hugging Face checkpoints (random weights) with transformers reference outputs\n")
    L.append("Generated by `tests/llm/convert/make_hf_fixtures.py` (not run by CI). Four tiny random-weight causal LMs made "
             "with transformers itself, their tokenizers (trained here), the token ids of `text.txt` from the HF tokenizer, "
             "the logits transformers computes, and a structural summary of what llama.cpp's `convert_hf_to_gguf.py` "
             "writes for each folder. Intended for testing an HF-to-GGUF converter without torch.\n")
    L.append("## How made\n")
    for k, val in v.items():
        L.append(f"- {k} {val}")
    L.append(f"- llama.cpp converter: {conv_label}, run with `--outtype f32`; its own `gguf-py` first on the path; "
             "`TextModel.get_vocab_base_pre` monkeypatched (from a throw-away wrapper) to return the pre-tokenizer name assigned below, "
             "since the converter only knows pre-tokenizers by hash of real models' output.")
    L.append("- llama.cpp logits: llama-cpp-python 0.3.36 (`Llama(n_ctx=128, n_batch=128, n_ubatch=128, logits_all=True, n_threads=1, "
             "type_k=0, type_v=0, flash_attn=False)`, i.e. f32 KV cache, no flash attention), `eval()` of the same ids.")
    L.append("- Reference logits: the saved folder reloaded with `AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, "
             "attn_implementation=\"eager\")` (so reduced-precision checkpoints are used exactly as stored, upcast to f32), "
             "eval mode, `torch.no_grad()`, CPU, one batch of the first min(n_tokens, 96) ids.\n")
    L.append("## Files\n")
    L.append("All binary arrays are little-endian, no header. sha256 over file bytes.\n")
    L.append("| file | bytes | sha256 |\n| --- | --- | --- |")
    total = 0
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "MANIFEST.md":
            total += p.stat().st_size
            L.append(f"| `{p.relative_to(out).as_posix()}` | {p.stat().st_size} | `{sha256_file(p)}` |")
    L.append(f"\nTotal {total} bytes plus this file.\n")
    L.append("- `<model>.tokens.i32`: int32 ids of the whole `text.txt` from `AutoTokenizer.from_pretrained(<model>/)`, "
             "default `add_special_tokens=True` (so the llama-style ones start with `<|begin_of_text|>`; qwen adds nothing). "
             "The literal `<|im_start|>` in the text is matched as the added special token (HF splits added tokens by default).")
    L.append(f"- `<model>.logits.f32`: float32 [n_rows][vocab], n_rows = min(n_tokens, {MAX_LOGIT_ROWS}): logits for the "
             f"FIRST n_rows ids of `<model>.tokens.i32` only (the text is longer than {MAX_LOGIT_ROWS} tokens).")
    L.append("- `<model>.llama_cpp.json`: what llama.cpp's converter wrote (GGUF metadata in file order with gguf type and value; "
             "arrays of > 16 elements as length, element type, sha256 and first 5 elements; the sha256 is of the strings "
             "joined by `\\n` in UTF-8 for string arrays, of the raw little-endian element bytes for numeric arrays; "
             "tensors in file order with ggml type, shape in ggml order (ne0 first) and sha256 of the data bytes).\n")
    L.append("## text.txt\n")
    tb = (out / "text.txt").read_bytes()
    n_lf = tb.count(b"\n")
    L.append(f"{len(tb)} bytes UTF-8, {n_lf} LF, no trailing newline; English, Japanese, digits, code-like punctuation, "
             "tabs and runs of spaces, and the literal `<|im_start|>` once (line 2).\n")
    L.append("## Tokenizers\n")
    L.append(f"Byte-level BPE trained with `tokenizers` (BpeTrainer vocab_size 512 incl. the 256-byte initial alphabet, "
             f"min_frequency 2, no special tokens during training, then added special tokens appended at the end) on: {corpus_desc}.\n")
    L.append("- **llama3 style** (used by `llama`, `mistral`): pre_tokenizer Sequence[Split(Llama-3 regex, Isolated), "
             "ByteLevel(add_prefix_space=false, trim_offsets=true, use_regex=false)], no normalizer, BPE `ignore_merges: true` "
             "(as Llama-3's tokenizer.json), decoder ByteLevel, post_processor TemplateProcessing prepending `<|begin_of_text|>`. "
             "Pre-tokenizer name assigned for llama.cpp: `llama-bpe`. Regex (byte-exact in tokenizer.json):\n"
             f"  `{LLAMA3_REGEX}`")
    L.append("- **qwen2 style** (used by `qwen2`, `qwen3`): normalizer NFC (as Qwen2's tokenizer.json), pre_tokenizer "
             "Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex=false)], BPE `ignore_merges: false`, decoder ByteLevel, "
             "post_processor ByteLevel (adds no tokens: no BOS). Pre-tokenizer name assigned for llama.cpp: `qwen2`. Regex:\n"
             f"  `{QWEN2_REGEX}`\n")
    seen = set()
    for r in results:
        if r["style"] in seen:
            continue
        seen.add(r["style"])
        L.append(f"- {r['style']}: full vocab {r['vocab']}; special ids " + ", ".join(f"`{k}`={v}" for k, v in r["special_ids"].items())
                 + "; tokenizer_config: " + ", ".join(f"{k}={v!r}" for k, v in r["tok_kw"].items())
                 + ("; BOS added by the post-processor (add_bos applies)" if r["style"] == "llama3" else "; no BOS token, nothing added"))
    L.append("\n## Models\n")
    L.append("Common: hidden_size 64, num_hidden_layers 2, num_attention_heads 4, num_key_value_heads 2, intermediate_size 96, "
             "max_position_embeddings 128, rms_norm_eps 1e-6, vocab_size = full tokenizer size. Weights initialised (seeded "
             "`torch.manual_seed(seed)`, parameters in `named_parameters()` order) as normal std 0.2 for matrices and embeddings, "
             "1 + 0.1*normal for RMSNorm weights (incl. Qwen3 q_norm/k_norm), normal std 0.3 for biases (Qwen2 q/k/v), "
             "then cast to the save dtype.\n")
    L.append("| model | class | seed | stored dtype | files | rope_theta | tied | head_dim | n_tokens | logit rows | vocab | max abs logit | llama.cpp max abs dz | llama.cpp tokenization == HF |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        c = r["config"]
        rt = c.get("rope_theta", (c.get("rope_parameters") or {}).get("rope_theta"))
        hd = c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
        dz = r.get("llama_cpp_max_dz")
        dzs = f"{dz:.3g}" if dz is not None else ("converter failed" if not r.get("converter_ok") else "llama.cpp failed")
        te = r.get("llama_cpp_tokens_equal")
        tes = "n/a" if te is None else ("yes" if te else f"NO (first diff at {r.get('llama_cpp_tokens_first_diff')}, llama.cpp n={r.get('llama_cpp_n_tokens')})")
        L.append(f"| {r['name']} | {r['cls']} | {r['seed']} | {r['save_dtype']} | {', '.join(r['shards'])} | {rt} | "
                 f"{c.get('tie_word_embeddings')} | {hd} | {r['n_tokens']} | {r['n_logit_rows']} | {r['vocab']} | "
                 f"{r['logit_absmax']:.3g} | {dzs} | {tes} |")
    L.append("\nllama.cpp max abs dz = max over the logit rows and the vocab of |llama.cpp logit - transformers logit|, "
             "llama.cpp evaluating the f32 GGUF its converter wrote from the folder.\n")
    L.append("### Q/K permutation in llama.cpp's conversion\n")
    L.append("Compared `blk.0.attn_q.weight` / `blk.0.attn_k.weight` of the f32 GGUF (as a numpy [rows][n_embd] array) "
             "with HF `model.layers.0.self_attn.q_proj.weight` / `k_proj.weight`; 'llama permute' is "
             "`w.reshape(n_head, 2, rows//n_head//2, n_embd).swapaxes(1, 2).reshape(rows, n_embd)` with n_head = num_attention_heads "
             "for Q and num_key_value_heads for K.\n")
    L.append("| model | tensor | equal to HF unpermuted | equal to llama permute of HF |\n| --- | --- | --- | --- |")
    for r in results:
        for g, q in (r.get("qk") or {}).items():
            L.append(f"| {r['name']} | {g} | {q['equal_unpermuted']} | {q['equal_llama_permute']} |")
    for r in results:
        if not r.get("converter_ok"):
            L.append(f"\n**{r['name']}: llama.cpp converter failed:**\n\n```\n{r.get('converter_error', '')[-1500:]}\n```")
        elif r.get("llama_cpp_error"):
            L.append(f"\n**{r['name']}: llama-cpp-python failed:**\n\n```\n{r['llama_cpp_error'][-1500:]}\n```")
    L.append("\n## Notes (observed with the versions above)\n")
    L.append("- transformers 5 writes `rope_parameters: {rope_theta, rope_type}` in config.json instead of a top-level "
             "`rope_theta`; the chat template goes to `chat_template.jinja`, not into tokenizer_config.json; "
             "tokenizer_config.json has `tokenizer_class: \"TokenizersBackend\"` and no `add_bos_token`; no "
             "special_tokens_map.json is written. llama.cpp's converter reads the template from `chat_template.jinja` and "
             "derives `tokenizer.ggml.add_bos_token` (true for llama/mistral, false for qwen) from tokenizer.json's post-processor.")
    L.append("- `mistral` (MistralForCausalLM) is converted by llama.cpp as architecture `llama` (keys `llama.*`), with the "
             "same Q/K permutation as `llama`. `qwen2` is tied: no `lm_head.weight` in the safetensors and no `output.weight` "
             "in llama.cpp's GGUF. `qwen3` gets `attn_q_norm`/`attn_k_norm` [head_dim] and `key_length`/`value_length` 32.")
    L.append("- `general.name` / `general.size_label` in the summaries are llama.cpp's heuristics (from the directory "
             "name and parameter count), not something the checkpoint states.")
    L.append("- In the f32 GGUFs, bf16/f16 source tensors are exact upcasts, so the tensor sha256 in the summaries are "
             "reproducible from the stored safetensors (after the Q/K permutation for llama/mistral).")
    L.append("- The logit rows contain the `<|im_start|>` special token (id position given by `<model>.tokens.i32`; it lies within the first 96).")
    L.append("\n## Licence\n")
    L.append("Everything here is generated data: random weights, a tokenizer trained here, and outputs computed from them; "
             "no third-party model weights, vocabularies or code. The tokenizer training text is the King James Bible "
             "(Authorized Version, 1611), public domain, taken from the Debian package bible-kjv-text; the text itself is "
             "not stored here (only a 512-entry BPE vocabulary/merge list learned from it). Regexes are the published "
             "pre-tokenizer patterns of Llama-3 and Qwen2 (short functional strings).")
    (out / "MANIFEST.md").write_text("\n".join(L) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

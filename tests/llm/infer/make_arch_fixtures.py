#!/usr/bin/env python3
"""Makes tests/data/arch: tiny random-weight GGUFs of the llama / qwen2 / qwen3 architectures with the features
each adds (biases, NEOX RoPE, per-head q/k norms, a head width apart from n_embd, tied embeddings, RoPE
frequency factors and linear scaling), a token sequence, and llama.cpp's logits for it (MANIFEST.md there).

Not run by CI (it needs llama-cpp-python, which builds llama.cpp from source). Run once by hand:
  python3 -m venv /tmp/llamacpp && CMAKE_ARGS="-DGGML_NATIVE=OFF" /tmp/llamacpp/bin/pip install llama-cpp-python==0.3.36 gguf
  /tmp/llamacpp/bin/python tests/llm/infer/make_arch_fixtures.py tests/data/llama/tiny-llama-spm-f32.gguf tests/data/arch
The vocabulary (276 SPM tokens) is copied from the first argument; the models never tokenize here.
"""
import ctypes
import os
import sys

import numpy as np
import gguf
import llama_cpp

N_TOKENS = 48
N_CTX = 64

# name: architecture, head width (None: n_embd / n_head), tied output, q/k/v biases, q/k norms, rope extras
MODELS = {
    "llama-rope-scaled": dict(arch="llama", head_dim=None, tied=False, bias=True, qk_norm=False, rope_extra=True,
                              theta=10000.0),
    "qwen2": dict(arch="qwen2", head_dim=None, tied=True, bias=True, qk_norm=False, rope_extra=False, theta=1e6),
    "qwen3": dict(arch="qwen3", head_dim=32, tied=False, bias=False, qk_norm=True, rope_extra=False, theta=1e6),
}
N_EMBD, N_HEAD, N_HEAD_KV, N_FF, N_LAYER = 64, 4, 2, 96, 2


def copy_tokenizer(src, w):
    r = gguf.GGUFReader(src)
    for k, f in r.fields.items():
        if not k.startswith("tokenizer."):
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, f.contents(), vtype, sub_type=f.types[-1])
        else:
            w.add_key_value(k, f.contents(), vtype)
    return len(r.fields["tokenizer.ggml.tokens"].contents())


def write_model(path, name, spec, vocab_src, seed, scaling_type="linear"):
    rng = np.random.default_rng(seed)
    arch = spec["arch"]
    hd = spec["head_dim"] or N_EMBD // N_HEAD
    w = gguf.GGUFWriter(path, arch)
    w.add_name("tiny-" + name)
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(spec["theta"])
    if spec["head_dim"]:
        w.add_key_length(hd)
        w.add_value_length(hd)
    if spec["rope_extra"]:
        if scaling_type == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        elif scaling_type == "none":
            w.add_rope_scaling_type(gguf.RopeScalingType.NONE)
        w.add_rope_scaling_factor(2.0)  # scaling_type "absent": the factor without a type key
    n_vocab = copy_tokenizer(vocab_src, w)

    def mat(rows, cols, scale):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    def vec(n, mean, scale):
        return (mean + rng.standard_normal(n) * scale).astype(np.float32)

    w.add_tensor("token_embd.weight", mat(n_vocab, N_EMBD, 0.5))
    if spec["rope_extra"]:
        w.add_tensor("rope_freqs.weight", rng.uniform(1.0, 8.0, hd // 2).astype(np.float32))
    for il in range(N_LAYER):
        b = "blk.%d." % il
        w.add_tensor(b + "attn_norm.weight", vec(N_EMBD, 1.0, 0.1))
        w.add_tensor(b + "attn_q.weight", mat(N_HEAD * hd, N_EMBD, 0.2))
        w.add_tensor(b + "attn_k.weight", mat(N_HEAD_KV * hd, N_EMBD, 0.2))
        w.add_tensor(b + "attn_v.weight", mat(N_HEAD_KV * hd, N_EMBD, 0.2))
        if spec["bias"]:
            w.add_tensor(b + "attn_q.bias", vec(N_HEAD * hd, 0.0, 0.5))
            w.add_tensor(b + "attn_k.bias", vec(N_HEAD_KV * hd, 0.0, 0.5))
            w.add_tensor(b + "attn_v.bias", vec(N_HEAD_KV * hd, 0.0, 0.5))
        if spec["qk_norm"]:
            w.add_tensor(b + "attn_q_norm.weight", vec(hd, 1.0, 0.2))
            w.add_tensor(b + "attn_k_norm.weight", vec(hd, 1.0, 0.2))
        w.add_tensor(b + "attn_output.weight", mat(N_EMBD, N_HEAD * hd, 0.2))
        w.add_tensor(b + "ffn_norm.weight", vec(N_EMBD, 1.0, 0.1))
        w.add_tensor(b + "ffn_gate.weight", mat(N_FF, N_EMBD, 0.2))
        w.add_tensor(b + "ffn_up.weight", mat(N_FF, N_EMBD, 0.2))
        w.add_tensor(b + "ffn_down.weight", mat(N_EMBD, N_FF, 0.2))
    w.add_tensor("output_norm.weight", vec(N_EMBD, 1.0, 0.1))
    if not spec["tied"]:
        w.add_tensor("output.weight", mat(n_vocab, N_EMBD, 0.2))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return n_vocab


def llama_cpp_logits(path, tokens):
    # f32 K/V cache and no flash attention: the comparison is then limited by float summation order only
    llm = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX, logits_all=True,
                          n_threads=1, verbose=False, type_k=0, type_v=0, flash_attn=False)
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def llama_quantize(src, dst, ftype):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.nthread = 1
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p))
    assert rc == 0, rc


# llama.cpp's quantizations kept as references: (model, file type name, llama_ftype)
QUANTIZED = [("qwen2", "q8_0", 7), ("qwen2", "q4_k_m", 15), ("qwen2", "q5_0", 8), ("qwen2", "q4_0", 2),
             ("qwen2", "q5_1", 9), ("qwen3", "q8_0", 7), ("qwen3", "q4_k_m", 15), ("llama-rope-scaled", "q8_0", 7)]


def main():
    vocab_src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    for i, (name, spec) in enumerate(MODELS.items()):
        path = os.path.join(out, "tiny-%s.gguf" % name)
        n_vocab = write_model(path, name, spec, vocab_src, seed=100 + i)
        tokens = [1] + [int(t) for t in rng.integers(3, n_vocab, N_TOKENS - 1)]
        np.array(tokens, dtype=np.int32).tofile(os.path.join(out, "tiny-%s.tokens.i32" % name))
        logits = llama_cpp_logits(path, tokens)
        assert logits.shape == (N_TOKENS, n_vocab), logits.shape
        assert np.isfinite(logits).all()
        logits.tofile(os.path.join(out, "tiny-%s.logits.f32" % name))
        print(name, path, os.path.getsize(path), "bytes; logits", logits.shape, "max |z|", float(np.abs(logits).max()))
        if spec["rope_extra"]:
            # The same weights with scaling type "none" (logits stored: the factor must be ignored) and with no
            # type key (llama.cpp's default is linear: the logits must equal the linear ones).
            for variant in ("none", "absent"):
                vpath = os.path.join(out, "variant.gguf")
                write_model(vpath, name, spec, vocab_src, seed=100 + i, scaling_type=variant)
                vlogits = llama_cpp_logits(vpath, tokens)
                os.remove(vpath)
                dz = float(np.abs(vlogits - logits).max())
                print("  scaling type", variant, ": max |dz| against linear", dz)
                if variant == "none":
                    assert dz > 0.1
                    vlogits.tofile(os.path.join(out, "tiny-%s.type-none.logits.f32" % name))
                else:
                    assert dz == 0.0


    for name, tname, ftype in QUANTIZED:
        src = os.path.join(out, "tiny-%s.gguf" % name)
        dst = os.path.join(out, "tiny-%s.%s.gguf" % (name, tname))
        llama_quantize(src, dst, ftype)
        tokens = list(np.fromfile(os.path.join(out, "tiny-%s.tokens.i32" % name), dtype=np.int32))
        logits = llama_cpp_logits(dst, [int(t) for t in tokens])
        logits.tofile(os.path.join(out, "tiny-%s.%s.logits.f32" % (name, tname)))
        types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(dst).tensors}
        print(name, tname, os.path.getsize(dst), "bytes;", "token_embd", types["token_embd.weight"])


if __name__ == "__main__":
    main()

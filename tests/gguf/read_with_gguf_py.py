#!/usr/bin/env python3
"""Print what llama.cpp's gguf-py reader sees in a GGUF file, one line per KV pair and per tensor.

Used by test_gguf_python.cpp to cross-check so8t's writer against an independent reader.
  kv <key> <type ids joined by ','> <element count> <hex of the value bytes, elements concatenated>
  tensor <name> <ggml type id> <ne0,ne1,...> <n_bytes> <hex of the data>
"""
import sys

from gguf import GGUFReader


def main(path: str) -> None:
    reader = GGUFReader(path, "r")
    for field in reader.fields.values():
        types = ",".join(str(int(t)) for t in field.types)
        data = b"".join(field.parts[i].tobytes() for i in field.data)
        print("kv", field.name, types, len(field.data), data.hex() or "-")
    for t in reader.tensors:
        shape = ",".join(str(int(d)) for d in t.shape)
        raw = t.data.tobytes()
        print("tensor", t.name, int(t.tensor_type), shape, len(raw), raw.hex() or "-")


if __name__ == "__main__":
    main(sys.argv[1])

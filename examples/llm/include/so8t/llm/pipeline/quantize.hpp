// so8t/llm/pipeline/quantize.hpp: llama-quantize for f32 / f16 llama GGUF files (the core of so8t_quantize).
//
// quantize_gguf(in, out, "q4_k_m" | "q8_0" | "q6_k" | ..., temperature):
//  - copies every metadata pair of `in` in its order (tokenizer included), with general.file_type set to
//    llama.cpp's llama_ftype of the target and general.quantization_version = 2 (added when absent), and, when
//    a temperature is given, so8t.calibration.temperature (f32; replaced when present);
//  - picks each tensor's type like llama-quantize: 2-D "*weight" tensors by the mixing preset
//    (so8t/quant/presets.hpp: Q8_0, Q4_K_M, Q5_K_M) or, for a single-type target, that type except
//    output.weight, which llama.cpp gives Q6_K (Q8_0 when ne0 % 256 != 0; Q8_0 stays Q8_0); K-quant
//    fallbacks when ne0 % 256 != 0 (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), F16 when ne0 is not a
//    multiple of the block size either. Everything else (1-D norms) is copied byte for byte.
//    token_embd.weight follows the generic rule (the model has an untied output.weight).
//  - streams: one tensor is decoded to f32, quantized and written at a time.
// Input tensors must be f32, f16 or bf16 (no requantization). The output is written atomically
// (gguf::Writer: temp file + rename on success), so an error leaves no output file.
//
// llama_ftype values (llama.h): ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q4_1 3, Q8_0 7, Q5_0 8, Q5_1 9, Q4_K_S 14,
// Q4_K_M 15, Q5_K_S 16, Q5_K_M 17, Q6_K 18, BF16 32 (also docs/ggml-quant-and-gguf.md).
#pragma once

#include <array>
#include <cctype>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/finite.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/quant/presets.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::llm {

/// What a target name resolves to.
struct QuantTarget {
  std::string name;                    ///< canonical, upper case: "Q4_K_M", "Q8_0", "Q6_K", "F16", ...
  std::optional<quant::Preset> preset; ///< mixing preset (Q8_0, Q4_K_M, Q5_K_M)
  quant::Type type = quant::Type::f32; ///< single type (when !preset)
  std::uint32_t ftype = 0;             ///< llama_ftype
};

/// "q8_0", "Q4_K_M", "q5_k_m", "q6_k", "q4_0", "q4_1", "q5_0", "q5_1", "f16", "bf16", "f32" (any case).
/// Throws InvalidArgument listing the accepted names.
inline QuantTarget parse_quant_target(const std::string& s) {
  std::string u;
  for (char c : s) u += char(std::tolower(static_cast<unsigned char>(c)));
  QuantTarget t;
  using quant::Preset;
  using quant::Type;
  if (u == "q8_0") t = {"Q8_0", Preset::q8_0, Type::q8_0, 7};
  else if (u == "q4_k_m") t = {"Q4_K_M", Preset::q4_k_m, Type::q4_k, 15};
  else if (u == "q5_k_m") t = {"Q5_K_M", Preset::q5_k_m, Type::q5_k, 17};
  else if (u == "q6_k") t = {"Q6_K", std::nullopt, Type::q6_k, 18};
  else if (u == "q4_0") t = {"Q4_0", std::nullopt, Type::q4_0, 2};
  else if (u == "q4_1") t = {"Q4_1", std::nullopt, Type::q4_1, 3};
  else if (u == "q5_0") t = {"Q5_0", std::nullopt, Type::q5_0, 8};
  else if (u == "q5_1") t = {"Q5_1", std::nullopt, Type::q5_1, 9};
  else if (u == "f16") t = {"F16", std::nullopt, Type::f16, 1};
  else if (u == "bf16") t = {"BF16", std::nullopt, Type::bf16, 32};
  else if (u == "f32") t = {"F32", std::nullopt, Type::f32, 0};
  else
    throw InvalidArgument("so8t::llm::quantize_gguf: unknown type '" + s +
                          "' (expected q8_0, q4_k_m, q5_k_m, q6_k, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32)");
  return t;
}

/// The type llama-quantize gives tensor `name` (n_dims, row length ne0) under `target`.
inline quant::Type target_tensor_type(const QuantTarget& target, const std::string& name, int n_dims,
                                      std::int64_t ne0, int n_layers, bool has_output = true) {
  using quant::Type;
  if (target.preset) return quant::preset_tensor_type(*target.preset, name, {n_dims, ne0}, n_layers, has_output);
  if (n_dims < 2 || !quant::detail::ends_with(name, "weight")) return Type::f32;
  Type t = target.type;
  const bool is_float = t == Type::f32 || t == Type::f16 || t == Type::bf16;
  // llama-quantize: the output projection's rule goes to token_embd when the embeddings are tied
  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  if (!is_float && is_output) {
    if (ne0 % 256 != 0) t = Type::q8_0;
    else if (t != Type::q8_0) t = Type::q6_k;
  }
  if (quant::block_size(t) == 256 && ne0 % 256 != 0)
    t = t == Type::q4_k ? Type::q5_0 : t == Type::q5_k ? Type::q5_1 : Type::q8_0;
  if (ne0 % std::int64_t(quant::block_size(t)) != 0) t = Type::f16;
  return t;
}

struct QuantizedTensor {
  std::string name;
  std::array<std::int64_t, 4> ne{1, 1, 1, 1};
  std::uint32_t n_dims = 1;
  quant::Type type_in = quant::Type::f32, type_out = quant::Type::f32;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  bool quantized = false;  ///< false: copied byte for byte
};

struct QuantizeReport {
  QuantTarget target;
  std::vector<QuantizedTensor> tensors;
  std::uint64_t tensor_bytes_in = 0, tensor_bytes_out = 0;
  std::uint64_t file_bytes_in = 0, file_bytes_out = 0;
  std::size_t metadata_pairs = 0;
};

namespace detail {

/// Finite weights can still quantize to Inf (1e38 in q8_0: the f16 block scale overflows; 7e4 in f16): decode
/// what was produced and refuse the first non-finite value, naming the tensor, block and input value.
inline void check_quantized_finite(const QuantizedTensor& q, const std::vector<float>& input,
                                   const std::vector<std::uint8_t>& blob, std::int64_t rows, std::int64_t cols,
                                   std::vector<float>& decoded) {
  decoded.resize(input.size());
  quant::dequantize(q.type_out, blob.data(), decoded.data(), rows, cols);
  const std::size_t bad = first_non_finite(decoded.data(), decoded.size());
  if (bad == decoded.size()) return;
  const std::int64_t row = std::int64_t(bad) / cols, col = std::int64_t(bad) % cols, bs = quant::block_size(q.type_out);
  const std::int64_t b0 = col / bs * bs;
  float amax = 0.0f;
  for (std::int64_t c = b0; c < b0 + bs; ++c) amax = std::max(amax, std::fabs(input[std::size_t(row * cols + c)]));
  char what[160];
  std::snprintf(what, sizeof what, "%g at row %lld, column %lld (%s block %lld of the row, largest |input| %g)",
                double(input[bad]), static_cast<long long>(row), static_cast<long long>(col), quant::type_name(q.type_out),
                static_cast<long long>(col / bs), double(amax));
  throw NumericError("so8t::llm::quantize_gguf: tensor '" + q.name + "': the finite input " + what + " becomes " +
                     std::to_string(decoded[bad]) + " in " + quant::type_name(q.type_out) +
                     " (beyond the range of its f16 scale or value)");
}

}  // namespace detail

/// See the file comment. Throws gguf::IoError / gguf::FormatError (missing, unreadable or malformed input),
/// ModelError (the loader's model-level checks: hparams, shapes, vocab, missing or unexpected tensors, non-finite
/// norms), InvalidArgument (unknown type, not a llama file, already-quantized input, bad temperature) and
/// NumericError (finite input that the target type cannot hold).
inline QuantizeReport quantize_gguf(const std::string& in, const std::string& out, const std::string& preset_or_type,
                                    std::optional<float> temperature = std::nullopt) {
  QuantizeReport rep;
  rep.target = parse_quant_target(preset_or_type);
  // a fitted temperature lies well inside [1e-3, 1e3]; a denormal or huge one is a broken fit
  if (temperature && !(*temperature >= 1e-3f && *temperature <= 1e3f)) {
    char t[32];
    std::snprintf(t, sizeof t, "%g", double(*temperature));
    throw InvalidArgument(std::string("so8t::llm::quantize_gguf: temperature ") + t + " is outside [0.001, 1000]");
  }
  // The checks so8t_infer's loader runs (and llama.cpp's): a file it would refuse is never "quantized".
  // (llama, qwen2, qwen3; a training checkpoint is refused there: bake it with so8t_bake first)
  const LlamaModel model = LlamaModel::open(in);
  const int n_layers = model.hparams().n_layers;
  const bool has_output = !model.output_tied();
  const gguf::Reader r = gguf::Reader::open(in);
  rep.file_bytes_in = r.file_size();
  const gguf::Metadata& md = r.metadata();
  // plan every tensor first: all checks happen before a byte is written
  for (const gguf::TensorInfo& ti : r.tensors()) {
    QuantizedTensor q;
    q.name = ti.name;
    q.ne = ti.ne;
    q.n_dims = ti.n_dims;
    q.type_in = ti.type;
    q.bytes_in = ti.nbytes;
    const bool is_weight_matrix = ti.n_dims >= 2 && quant::detail::ends_with(ti.name, "weight");
    if (is_weight_matrix) {
      if (ti.type != quant::Type::f32 && ti.type != quant::Type::f16 && ti.type != quant::Type::bf16)
        throw InvalidArgument("so8t::llm::quantize_gguf: tensor '" + ti.name + "' of '" + in + "' is already " +
                              quant::type_name(ti.type) + " (input must be f32, f16 or bf16)");
      q.type_out = target_tensor_type(rep.target, ti.name, int(ti.n_dims), ti.ne[0], n_layers, has_output);
      q.quantized = true;
      q.bytes_out = std::uint64_t(ti.row_count()) * quant::row_bytes(q.type_out, ti.ne[0]);
    } else {
      q.type_out = ti.type;
      q.bytes_out = ti.nbytes;
    }
    rep.tensor_bytes_in += q.bytes_in;
    rep.tensor_bytes_out += q.bytes_out;
    rep.tensors.push_back(q);
  }
  gguf::Writer w(out);
  bool have_qv = false, have_ft = false, have_temp = false;
  for (const gguf::MetadataEntry& e : md) {
    if (e.key == "general.file_type") {
      w.add("general.file_type", rep.target.ftype);
      have_ft = true;
    } else if (e.key == "general.quantization_version") {
      w.add("general.quantization_version", std::uint32_t(2));
      have_qv = true;
    } else if (e.key == "so8t.calibration.temperature" && temperature) {
      w.add("so8t.calibration.temperature", *temperature);
      have_temp = true;
    } else {
      w.add_metadata(e.key, e.value);
    }
  }
  if (!have_ft) w.add("general.file_type", rep.target.ftype);
  if (!have_qv) w.add("general.quantization_version", std::uint32_t(2));
  if (temperature && !have_temp) w.add("so8t.calibration.temperature", *temperature);
  rep.metadata_pairs = w.metadata().size();
  for (const QuantizedTensor& q : rep.tensors) {
    std::vector<std::int64_t> ne(q.ne.begin(), q.ne.begin() + q.n_dims);
    w.add_tensor(q.name, q.type_out, ne);
  }
  std::vector<float> f32, check;
  std::vector<std::uint8_t> blob;
  for (const QuantizedTensor& q : rep.tensors) {
    const gguf::TensorView v = r.tensor(q.name);
    if (!q.quantized) {
      w.write_tensor(q.name, v.data, v.size);
      continue;
    }
    const std::int64_t rows = q.ne[1] * q.ne[2] * q.ne[3], cols = q.ne[0];
    f32.resize(std::size_t(rows * cols));
    quant::dequantize(q.type_in, v.data, f32.data(), rows, cols);
    for (std::size_t i = 0; i < f32.size(); ++i)
      if (!std::isfinite(f32[i]))
        throw InvalidArgument("so8t::llm::quantize_gguf: tensor '" + q.name + "' has a non-finite value at element " +
                              std::to_string(i));
    blob.resize(std::size_t(q.bytes_out));
    quant::quantize(q.type_out, f32.data(), blob.data(), rows, cols);
    detail::check_quantized_finite(q, f32, blob, rows, cols, check);
    w.write_tensor(q.name, blob.data(), blob.size());
  }
  w.finish();
  rep.file_bytes_out = std::uint64_t(std::filesystem::file_size(out));
  return rep;
}

}  // namespace so8t::llm

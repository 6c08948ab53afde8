// so8t/llm/model/checkpoint.hpp: training checkpoints as GGUF (f32), readable by so8t::gguf::Reader and by the
// later bake step.
//
// general.architecture = "llama-so8t-unbaked": llama.cpp's llama layout and key names ({arch}.block_count,
// ...), plus the SO(8) gates as extra tensors blk.N.so8_gate_safe / blk.N.so8_gate_cmd ([dim/8, 28], so(8)
// coordinates, R = exp(hat a)) that are *not* folded into attn_output.weight yet. Baking (fold R into
// attn_output.weight) turns it into a plain "llama" file. Training state (optional): AdamW moments as tensors
// so8t.adam_m.<name> / so8t.adam_v.<name>, and the keys so8t.train.* (step, RNG state, seed, AdamW t).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/finite.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/llm/train/adamw.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/param_layout.hpp"

namespace so8t::llm {

inline constexpr const char* kUnbakedArch = "llama-so8t-unbaked";

struct TrainState {
  std::uint64_t step = 0;       ///< optimizer steps done
  std::uint64_t rng_state = 0;  ///< Rng::state after the last batch
  std::uint64_t seed = 0;
  std::uint64_t adam_t = 0;
  std::string run;              ///< the run's options, JSON (informational)
};

struct Checkpoint {
  LlamaConfig cfg;
  std::vector<float> params;  ///< flat, llama_layout(cfg) order
  bool has_train_state = false;
  TrainState state;
  std::vector<float> adam_m, adam_v;
};

inline std::vector<std::int64_t> gguf_shape(const ParamTensor& t) {
  if (t.rows == 1) return {std::int64_t(t.cols)};
  return {std::int64_t(t.cols), std::int64_t(t.rows)};
}

/// llama.cpp's hyperparameter keys {arch}.* for a config (the unbaked checkpoint and the baked "llama" file
/// write the same set), plus f64 copies so8t.rope_theta / so8t.norm_eps of the two f32 keys so that a
/// reader recovers the exact values.
inline void add_llama_hparams(gguf::Writer& w, const std::string& arch, const LlamaConfig& c) {
  const std::string a = arch + ".";
  w.add(a + "vocab_size", std::uint32_t(c.vocab));
  w.add(a + "context_length", std::uint32_t(c.ctx));
  w.add(a + "embedding_length", std::uint32_t(c.dim));
  w.add(a + "block_count", std::uint32_t(c.n_layers));
  w.add(a + "feed_forward_length", std::uint32_t(c.ffn));
  w.add(a + "attention.head_count", std::uint32_t(c.n_heads));
  w.add(a + "attention.head_count_kv", std::uint32_t(c.n_kv_heads));
  w.add(a + "rope.dimension_count", std::uint32_t(c.rope_dims()));
  w.add(a + "rope.freq_base", float(c.rope_theta));
  w.add(a + "attention.layer_norm_rms_epsilon", float(c.norm_eps));
  w.add("so8t.rope_theta", c.rope_theta);
  w.add("so8t.norm_eps", c.norm_eps);
}

/// Writes the checkpoint atomically (temp file + rename). `state` and `opt` may be null (model only).
inline void save_checkpoint(const std::string& path, const LlamaConfig& c, const float* params,
                            const TrainState* state = nullptr, const AdamW<float>* opt = nullptr) {
  const ParamLayout layout = llama_layout(c);
  gguf::Writer w(path);
  const std::string a = kUnbakedArch;
  w.add("general.architecture", a);
  w.add("general.name", std::string("so8t tiny llama with unbaked SO(8) gates"));
  w.add("general.file_type", std::uint32_t(0));  // all f32
  add_llama_hparams(w, a, c);
  w.add("so8t.gate_stack", std::uint32_t(c.gate_stack));
  w.add("so8t.gates_baked", false);
  w.add("so8t.vocab", std::string("bytes 0..255, 256 = <s>, 257 = </s>"));
  const bool train = state != nullptr && opt != nullptr;
  if (train) {
    w.add("so8t.train.step", state->step);
    w.add("so8t.train.rng_state", state->rng_state);
    w.add("so8t.train.seed", state->seed);
    w.add("so8t.train.adam_t", std::uint64_t(opt->t));
    w.add("so8t.train.run", state->run);
  }
  for (const auto& t : layout.tensors) w.add_tensor(t.name, quant::Type::f32, gguf_shape(t));
  if (train)
    for (const char* which : {"so8t.adam_m.", "so8t.adam_v."})
      for (const auto& t : layout.tensors) w.add_tensor(which + t.name, quant::Type::f32, gguf_shape(t));
  for (const auto& t : layout.tensors) w.write_tensor(t.name, params + t.offset, t.size() * sizeof(float));
  if (train) {
    for (const auto& t : layout.tensors)
      w.write_tensor("so8t.adam_m." + t.name, opt->m.data() + t.offset, t.size() * sizeof(float));
    for (const auto& t : layout.tensors)
      w.write_tensor("so8t.adam_v." + t.name, opt->v.data() + t.offset, t.size() * sizeof(float));
  }
  w.finish();
}

/// Reads a checkpoint written by save_checkpoint; throws gguf::FormatError / IoError / InvalidArgument.
inline Checkpoint load_checkpoint(const std::string& path) {
  const gguf::Reader r = gguf::Reader::open(path);
  const gguf::Metadata& md = r.metadata();
  const std::string arch = md.get<std::string>("general.architecture");
  if (arch != kUnbakedArch)
    throw InvalidArgument("so8t::llm::load_checkpoint: '" + path + "' has architecture '" + arch + "', expected '" +
                          kUnbakedArch + "'");
  Checkpoint ck;
  LlamaConfig& c = ck.cfg;
  const std::string a = arch + ".";
  c.vocab = int(md.get<std::uint32_t>(a + "vocab_size"));
  c.ctx = int(md.get<std::uint32_t>(a + "context_length"));
  c.dim = int(md.get<std::uint32_t>(a + "embedding_length"));
  c.n_layers = int(md.get<std::uint32_t>(a + "block_count"));
  c.ffn = int(md.get<std::uint32_t>(a + "feed_forward_length"));
  c.n_heads = int(md.get<std::uint32_t>(a + "attention.head_count"));
  c.n_kv_heads = int(md.get<std::uint32_t>(a + "attention.head_count_kv"));
  c.gate_stack = int(md.get<std::uint32_t>("so8t.gate_stack"));
  c.rope_theta = md.get<double>("so8t.rope_theta");
  c.norm_eps = md.get<double>("so8t.norm_eps");
  // Header values size the buffers below: check them against what the file holds before any allocation (a
  // block_count of 2^24 or a vocab_size of 2^21 in a 15 MB file once cost 4 GB before an error). Every layer
  // has at least 9 tensors, so the tensor count bounds the layers before llama_layout lists them.
  if (c.n_layers > 0 && std::size_t(c.n_layers) > r.tensors().size() / 9)
    throw InvalidArgument("so8t::llm::load_checkpoint: " + a + "block_count = " + std::to_string(c.n_layers) + " but '" +
                          path + "' has only " + std::to_string(r.tensors().size()) + " tensors");
  const ParamLayout layout = llama_layout(c);
  auto check = [&](const std::string& name, const ParamTensor& t) {
    const gguf::TensorInfo* info = r.find_tensor(name);
    if (!info) throw InvalidArgument("so8t::llm::load_checkpoint: '" + path + "' has no tensor '" + name + "'");
    if (info->type != quant::Type::f32 || info->nbytes != t.size() * sizeof(float))
      throw InvalidArgument("so8t::llm::load_checkpoint: tensor '" + name + "' is not f32 of " +
                            std::to_string(t.size()) + " elements (" + std::to_string(info->nbytes) + " bytes)");
  };
  const bool has_state = md.find("so8t.train.step") != nullptr;
  for (const auto& t : layout.tensors) {
    check(t.name, t);
    if (has_state) {
      check("so8t.adam_m." + t.name, t);
      check("so8t.adam_v." + t.name, t);
    }
  }
  // Nothing else either: a tensor the layout does not name would be dropped silently by bake / resume (and
  // llama.cpp refuses files with unexpected tensors), so it is refused by name.
  const std::size_t expected = layout.tensors.size() * (has_state ? 3 : 1);
  if (r.tensors().size() != expected) {
    std::unordered_set<std::string> known;
    for (const auto& t : layout.tensors) {
      known.insert(t.name);
      if (has_state) known.insert("so8t.adam_m." + t.name), known.insert("so8t.adam_v." + t.name);
    }
    for (const gguf::TensorInfo& t : r.tensors())
      if (!known.count(t.name))
        throw InvalidArgument("so8t::llm::load_checkpoint: '" + path + "' has an unexpected tensor '" +
                              t.name + "' (" + std::to_string(r.tensors().size()) +
                              " tensors, the model has " + std::to_string(expected) + ")");
  }
  auto read = [&](const std::string& name, float* dst) {  // sizes checked above; values must be finite
    const gguf::TensorView v = r.tensor(name);
    std::memcpy(dst, v.data, v.size);
    const std::size_t n = v.size / sizeof(float), bad = first_non_finite(dst, n);
    if (bad < n)
      throw NumericError("so8t::llm::load_checkpoint: tensor '" + name + "' of '" + path + "' has " +
                         std::to_string(dst[bad]) + " at element " + std::to_string(bad));
  };
  ck.params.assign(layout.total, 0.f);
  for (const auto& t : layout.tensors) read(t.name, ck.params.data() + t.offset);
  if (has_state) {
    ck.has_train_state = true;
    ck.state.step = md.get<std::uint64_t>("so8t.train.step");
    ck.state.rng_state = md.get<std::uint64_t>("so8t.train.rng_state");
    ck.state.seed = md.get<std::uint64_t>("so8t.train.seed");
    ck.state.adam_t = md.get<std::uint64_t>("so8t.train.adam_t");
    ck.state.run = md.get<std::string>("so8t.train.run");
    ck.adam_m.assign(layout.total, 0.f);
    ck.adam_v.assign(layout.total, 0.f);
    for (const auto& t : layout.tensors) {
      read("so8t.adam_m." + t.name, ck.adam_m.data() + t.offset);
      read("so8t.adam_v." + t.name, ck.adam_v.data() + t.offset);
    }
  }
  return ck;
}

}  // namespace so8t::llm

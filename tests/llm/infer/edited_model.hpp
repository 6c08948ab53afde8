// tests/llm/infer/edited_model.hpp: a copy of a reference GGUF with one edit (a key dropped or replaced, a
// tensor dropped, reshaped, poisoned, converted or added), for the loader's error tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <unistd.h>

#include "llama_test_data.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t_test_infer {

namespace gguf = so8t::gguf;

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "so8t_infer_" + std::to_string(::getpid()) + "_" + name;
}

struct Edit {
  std::string drop_key;                        ///< metadata key left out
  std::string set_key;                         ///< metadata key replaced by set_value
  gguf::Value set_value;
  std::string reshape;                         ///< tensor written with ne0/ne1 swapped (same bytes)
  std::string drop_tensor;                     ///< tensor left out
  so8t::quant::Type matrix_type = so8t::quant::Type::f32;  ///< 2-D weights converted to this type
  std::string poison;                          ///< f32 tensor whose entry poison_index becomes poison_value
  std::size_t poison_index = 0;
  float poison_value = 0.0f;
  std::string extra_tensor;                    ///< an f32 [4] tensor the architecture does not have
};

/// A copy of `src` (default: the f32 reference model) with one edit, written by so8t's GGUF writer.
inline std::string edited_copy(const std::string& name, const Edit& e, const std::string& src = model_path("f32")) {
  const gguf::Reader r = gguf::Reader::open(src);
  const std::string path = temp_path(name);
  gguf::Writer w(path);
  for (const gguf::MetadataEntry& kv : r.metadata()) {
    if (kv.key == e.drop_key) continue;
    w.add_metadata(kv.key, kv.key == e.set_key ? e.set_value : kv.value);
  }
  for (const gguf::TensorInfo& t : r.tensors()) {
    if (t.name == e.drop_tensor) continue;
    std::vector<std::int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (t.name == e.reshape) std::swap(ne[0], ne[1]);
    w.add_tensor(t.name, t.n_dims == 2 ? e.matrix_type : t.type, ne);
  }
  if (!e.extra_tensor.empty()) w.add_tensor(e.extra_tensor, so8t::quant::Type::f32, {4});
  for (std::size_t i = 0; i < r.tensors().size(); ++i) {
    const gguf::TensorInfo& t = r.tensors()[i];
    if (t.name == e.drop_tensor) continue;
    const gguf::TensorView v = r.tensor(i);
    if (t.n_dims == 2 && e.matrix_type != so8t::quant::Type::f32) {
      std::vector<std::uint8_t> q(so8t::quant::row_bytes(e.matrix_type, t.ne[0]) * static_cast<std::size_t>(t.ne[1]));
      so8t::quant::quantize(e.matrix_type, reinterpret_cast<const float*>(v.data), q.data(), t.ne[1], t.ne[0]);
      w.write_tensor(t.name, q.data(), q.size());
    } else if (t.name == e.poison) {
      std::vector<float> f(reinterpret_cast<const float*>(v.data), reinterpret_cast<const float*>(v.data) + v.size / 4);
      f.at(e.poison_index) = e.poison_value;
      w.write_tensor(t.name, f.data(), v.size);
    } else {
      w.write_tensor(t.name, v.data, v.size);
    }
  }
  if (!e.extra_tensor.empty()) {
    const float four[4] = {1, 2, 3, 4};
    w.write_tensor(e.extra_tensor, four, sizeof four);
  }
  w.finish();
  return path;
}

}  // namespace so8t_test_infer

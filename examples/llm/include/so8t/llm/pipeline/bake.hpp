// so8t/llm/pipeline/bake.hpp: fold the SO(8) gates of a training checkpoint into attn_output.weight.
//
// LlamaCpu::layer_forward applies the gate to the attention output ao (row vectors, [N, dim]) block by block
// as go = ao R^T, i.e. in column-vector form go = blockdiag(R) ao, and then x += go Wo^T = (Wo R ao)^T. So the
// gate folds on the *input* side of o_proj: Wo' = Wo blockdiag(R) (so8t::fold_right, column convention),
// with R = R_safe (gate_stack 1) or R_cmd R_safe ("R_cmd after R_safe", gate_stack 2). The rotations are
// recomputed in double from the float so(8) coordinates (block_exp<double>) and the stack is composed in
// double by fold_right's GateStack overload, which also accumulates the product in double before the one
// rounding to float per weight.
//
// The returned vector keeps the checkpoint's layout (llama_layout(cfg), gate tensors included) with the gate
// coordinates set to zero, so running it with the *same* config (gates = identity) or writing it with
// write_llama_gguf (which drops the gate tensors) both give the baked model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "so8t/so8/block_rotation.hpp"
#include "so8t/calib/drift_report.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/bake/fold.hpp"
#include "so8t/llm/model/checkpoint.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/param_layout.hpp"

namespace so8t::llm {

/// Params of `cfg` (llama_layout order) with every gate / gate stack folded into attn_output.weight and
/// the gate coordinates zeroed. Throws InvalidArgument on a size mismatch or a non-finite gate coordinate.
inline std::vector<float> bake(const LlamaConfig& cfg, const float* params, std::size_t n_params) {
  const ParamLayout layout = llama_layout(cfg);
  if (n_params != layout.total)
    throw InvalidArgument("so8t::llm::bake: " + std::to_string(n_params) + " parameters, the config's layout has " +
                          std::to_string(layout.total));
  std::vector<float> out(params, params + n_params);
  if (cfg.gate_stack == 0) return out;
  const std::size_t nb = std::size_t(cfg.gate_blocks()), d = std::size_t(cfg.dim);
  std::vector<double> coords(nb * 28), r_safe(nb * 64), r_cmd(nb * 64);
  for (int l = 0; l < cfg.n_layers; ++l) {
    const LayerOffsets& o = layout.layers[std::size_t(l)];
    for (std::size_t i = 0; i < nb * 28; ++i) coords[i] = double(params[o.gate_safe + i]);
    block_exp(coords.data(), nb, r_safe.data());
    GateStack<double> stack{block_rotations(r_safe.data(), nb)};
    if (cfg.gate_stack == 2) {
      for (std::size_t i = 0; i < nb * 28; ++i) coords[i] = double(params[o.gate_cmd + i]);
      block_exp(coords.data(), nb, r_cmd.data());
      stack.push_back(block_rotations(r_cmd.data(), nb));  // applied after R_safe: x -> R_cmd (R_safe x)
    }
    fold_right(matrix_view(out.data() + o.wo, d, d), stack);
    std::fill_n(out.data() + o.gate_safe, nb * 28, 0.f);
    if (cfg.gate_stack == 2) std::fill_n(out.data() + o.gate_cmd, nb * 28, 0.f);
  }
  return out;
}

inline std::vector<float> bake(const Checkpoint& ck) { return bake(ck.cfg, ck.params.data(), ck.params.size()); }

/// load_checkpoint checks each tensor's byte size; this also checks its GGUF shape (a transposed tensor has the
/// right size), and that no unexpected gate tensor is present. Throws InvalidArgument naming the tensor.
inline void check_checkpoint_shapes(const std::string& path, const LlamaConfig& cfg) {
  const gguf::Reader r = gguf::Reader::open(path);
  const ParamLayout layout = llama_layout(cfg);
  for (const auto& t : layout.tensors) {
    const gguf::TensorInfo* info = r.find_tensor(t.name);
    if (!info) throw InvalidArgument("checkpoint '" + path + "' has no tensor '" + t.name + "'");
    const std::vector<std::int64_t> want = gguf_shape(t);
    bool ok = info->n_dims == want.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) ok = info->ne[i] == want[i];
    if (!ok)
      throw InvalidArgument("checkpoint '" + path + "': tensor '" + t.name + "' has shape " + info->shape_string() +
                            ", the config needs [" + std::to_string(want[0]) +
                            (want.size() > 1 ? ", " + std::to_string(want[1]) : std::string()) + "]");
  }
  for (const auto& info : r.tensors())
    if (info.name.compare(0, 4, "blk.") == 0 && info.name.find(".so8_gate") != std::string::npos &&
        !layout.find(info.name))
      throw InvalidArgument("checkpoint '" + path + "' has gate tensor '" + info.name + "' but so8t.gate_stack = " +
                            std::to_string(cfg.gate_stack));
}

/// Orthogonality drift ||R^T R - I||_F (in double) of the rotations the float training forward uses: per
/// layer the float block_exp of each gate and, with a stack, their float composition (as LlamaCpu does).
/// Layer names "blk.N". An empty report (no layers) when gate_stack = 0.
inline calib::DriftReport gate_drift(const LlamaConfig& cfg, const float* params) {
  calib::DriftReport empty;
  if (cfg.gate_stack == 0) return empty;
  const ParamLayout layout = llama_layout(cfg);
  const std::size_t nb = std::size_t(cfg.gate_blocks());
  std::vector<std::vector<float>> rot(std::size_t(cfg.n_layers), std::vector<float>(nb * 64));
  std::vector<float> rs(nb * 64), rc(nb * 64);
  std::vector<calib::LayerRotations<float>> layers;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const LayerOffsets& o = layout.layers[std::size_t(l)];
    block_exp(params + o.gate_safe, nb, rs.data());
    if (cfg.gate_stack == 2) {
      block_exp(params + o.gate_cmd, nb, rc.data());
      block_compose(rc.data(), rs.data(), nb, rot[std::size_t(l)].data());
    } else {
      rot[std::size_t(l)] = rs;
    }
    layers.push_back({"blk." + std::to_string(l), rot[std::size_t(l)].data(), nb});
  }
  return calib::drift_report(layers);
}

}  // namespace so8t::llm

// so8t/calib/drift_report.hpp: orthogonality drift of every SO(8) block of every gated layer.
//
// For each layer's rotations [n_blocks, 8, 8] (row-major, as so8t/so8/block_rotation.hpp lays them out),
// so8t::block_drift gives the worst and RMS ||R_b^T R_b - I||_F (in double), the worst block and the
// smallest determinant; the report adds, optionally, every block's error, and the worst over all layers.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "so8t/so8/block_rotation.hpp"
#include "so8t/so8/drift.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/so8/mat8.hpp"

namespace so8t::calib {

/// One gated layer: a name and its n_blocks rotations.
template <class S>
struct LayerRotations {
  std::string name;
  const S* rotations = nullptr;
  std::size_t n_blocks = 0;
};

struct LayerDrift {
  std::string name;
  BlockDrift drift;                 ///< max_error, rms_error, worst_block, min_determinant
  std::vector<double> block_errors; ///< ||R_b^T R_b - I||_F per block (when requested)
};

struct DriftReport {
  std::vector<LayerDrift> layers;
  double max_error = 0.0;        ///< worst block over all layers
  std::size_t worst_layer = 0;
  std::size_t worst_block = 0;   ///< within worst_layer
  double rms_error = 0.0;        ///< over all blocks of all layers
  double min_determinant = 1.0;
  std::size_t total_blocks = 0;
  /// True when every block's error is <= tol and every determinant > 0.
  bool within(double tol) const { return max_error <= tol && min_determinant > 0.0; }
};

template <class S>
DriftReport drift_report(const std::vector<LayerRotations<S>>& layers, bool per_block = false) {
  if (layers.empty()) throw InvalidArgument("so8t::calib::drift_report: no layers");
  DriftReport r;
  double sum_sq = 0.0;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerRotations<S>& in = layers[l];
    if (in.n_blocks == 0 || in.rotations == nullptr)
      throw InvalidArgument("so8t::calib::drift_report: layer " + std::to_string(l) + " ('" + in.name + "') has " +
                            std::to_string(in.n_blocks) + " blocks" + (in.rotations ? "" : " and a null pointer"));
    LayerDrift ld;
    ld.name = in.name;
    ld.drift = block_drift(in.rotations, in.n_blocks);
    if (!std::isfinite(ld.drift.max_error) || !std::isfinite(ld.drift.rms_error))
      throw InvalidArgument("so8t::calib::drift_report: layer " + std::to_string(l) + " ('" + in.name +
                            "') has non-finite rotation entries");
    if (per_block) {
      ld.block_errors.resize(in.n_blocks);
      for (std::size_t b = 0; b < in.n_blocks; ++b)
        ld.block_errors[b] = double(orthogonality_error(Mat8<S>::load(in.rotations + 64 * b)));
    }
    sum_sq += ld.drift.rms_error * ld.drift.rms_error * double(in.n_blocks);
    r.total_blocks += in.n_blocks;
    if (l == 0 || ld.drift.max_error > r.max_error) {
      r.max_error = ld.drift.max_error;
      r.worst_layer = l;
      r.worst_block = ld.drift.worst_block;
    }
    if (ld.drift.min_determinant < r.min_determinant) r.min_determinant = ld.drift.min_determinant;
    r.layers.push_back(std::move(ld));
  }
  r.rms_error = std::sqrt(sum_sq / double(r.total_blocks));
  return r;
}

}  // namespace so8t::calib

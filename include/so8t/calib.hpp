// so8t/calib.hpp: quality control after a bake or a quantization (namespace so8t::calib).
//
//   compare_logits, kl_divergence           pre vs post logits            so8t/calib/compare.hpp
//   ece, ece_equal_mass                     top-label calibration errors  so8t/calib/ece.hpp, binning.hpp
//   brier, nll, perplexity                  proper scores                 so8t/calib/brier.hpp, nll.hpp
//   fit_temperature                         temperature scaling (NLL)     so8t/calib/temperature.hpp
//   calibration_summary                     all of the above in one pass  so8t/calib/summary.hpp
//   reliability_svg, write_reliability_svg  reliability diagram           so8t/calib/reliability_svg.hpp
//   long_text_stability                     entropy / max-logit series    so8t/calib/stability.hpp
//   drift_report                            per-layer SO(8) drift         so8t/calib/drift_report.hpp
// CUDA reductions of the same quantities: kernels/so8t/calib/calib.cuh.
#pragma once

#include "so8t/calib/views.hpp"
#include "so8t/calib/softmax_stats.hpp"
#include "so8t/calib/scores.hpp"
#include "so8t/calib/compare.hpp"
#include "so8t/calib/binning.hpp"
#include "so8t/calib/ece.hpp"
#include "so8t/calib/brier.hpp"
#include "so8t/calib/nll.hpp"
#include "so8t/calib/temperature.hpp"
#include "so8t/calib/summary.hpp"
#include "so8t/calib/reliability_svg.hpp"
#include "so8t/calib/stability.hpp"
#include "so8t/calib/series_svg.hpp"
#include "so8t/calib/drift_report.hpp"

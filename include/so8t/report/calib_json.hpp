// so8t/report/calib_json.hpp: the calibration / QC result structs of so8t/calib as report::Json objects, shared
// by so8t_bake's and so8t_infer's reports so that the same quantity has the same field name everywhere.
#pragma once

#include "so8t/calib.hpp"
#include "so8t/report/json.hpp"

namespace so8t::report {

inline Json to_json(const calib::LogitComparison& c) {
  Json j = Json::object();
  j["rows"] = c.tokens;
  j["max_abs_diff"] = c.max_abs_diff;
  j["mean_abs_diff"] = c.mean_abs_diff;
  j["rms_diff"] = c.rms_diff;
  j["kl_mean"] = c.kl_mean;
  j["kl_max"] = c.kl_max;
  j["top1_agreement"] = c.top1_agreement;
  return j;
}

inline Json to_json(const calib::CalibrationSummary& s) {
  Json j = Json::object();
  j["count"] = s.count;
  j["accuracy"] = s.accuracy;
  j["nll"] = s.nll;
  j["brier"] = s.brier;
  j["ece"] = s.uniform.ece;
  j["rmsce"] = s.uniform.rmsce;
  j["mce"] = s.uniform.mce;
  j["ece_equal_mass"] = s.equal_mass.ece;
  j["mean_entropy"] = s.mean_entropy;
  return j;
}

inline Json to_json(const calib::SeriesStats& s) {
  Json j = Json::object();
  j["mean"] = s.mean;
  j["std"] = s.std;
  j["slope"] = s.slope;
  j["lag1_autocorrelation"] = s.lag1_autocorrelation;
  j["mean_abs_d1"] = s.mean_abs_d1;
  j["rms_d1"] = s.rms_d1;
  j["mean_abs_d2"] = s.mean_abs_d2;
  j["rms_d2"] = s.rms_d2;
  j["oscillation_index"] = s.oscillation_index;
  return j;
}

}  // namespace so8t::report

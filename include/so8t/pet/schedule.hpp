// so8t/pet/schedule.hpp: the three-phase PET weight lambda(s) (calibration-pet-pipeline.md §2.3).
//
//   phase        progress p = s / S          lambda
//   explore      p <  transition_start       lambda_explore     (default 0.01)
//   transition   transition_start <= p < stabilize_start          lambda_transition  (default 0.05)
//   stabilize    p >= stabilize_start        lambda_stabilize   (default 0.1)
//
// Defaults switch at 20% and 60% of training (the zapabob/SO8T "production" variant; its "core" variant
// used 0.05 / 0.2 / 0.5 at 30% / 70%). With ramp > 0 the weight moves linearly from the old to the new
// lambda over [switch, switch + ramp) (in progress units, e.g. 0.02 = 2% of the steps) instead of jumping.
// Everything is deterministic; invalid settings throw so8t::InvalidArgument naming the value.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "so8t/base/errors.hpp"

namespace so8t {

enum class PetPhase : int { explore = 0, transition = 1, stabilize = 2 };

struct PetScheduleConfig {
  double lambda_explore = 0.01;
  double lambda_transition = 0.05;
  double lambda_stabilize = 0.1;
  double transition_start = 0.2;  ///< fraction of training where "transition" begins
  double stabilize_start = 0.6;   ///< fraction of training where "stabilize" begins
  double ramp = 0.0;              ///< width of the linear ramp after each switch (fraction), 0 = step
};

namespace pet_detail {
inline void check_schedule(const PetScheduleConfig& c) {
  const double lambdas[3] = {c.lambda_explore, c.lambda_transition, c.lambda_stabilize};
  const char* names[3] = {"lambda_explore", "lambda_transition", "lambda_stabilize"};
  for (int i = 0; i < 3; ++i)
    if (!std::isfinite(lambdas[i]) || lambdas[i] < 0.0)
      throw InvalidArgument(std::string("so8t::pet_schedule: ") + names[i] + " = " + std::to_string(lambdas[i]) +
                            " must be finite and >= 0");
  if (!(c.transition_start >= 0.0 && c.transition_start <= c.stabilize_start && c.stabilize_start <= 1.0))
    throw InvalidArgument("so8t::pet_schedule: switch points transition_start = " +
                          std::to_string(c.transition_start) + ", stabilize_start = " +
                          std::to_string(c.stabilize_start) + " must satisfy 0 <= first <= second <= 1");
  if (!(c.ramp >= 0.0 && std::isfinite(c.ramp)))
    throw InvalidArgument("so8t::pet_schedule: ramp = " + std::to_string(c.ramp) + " must be finite and >= 0");
  if (c.ramp > 0.0 && c.transition_start + c.ramp > c.stabilize_start)
    throw InvalidArgument("so8t::pet_schedule: ramp = " + std::to_string(c.ramp) +
                          " is longer than the transition phase [" + std::to_string(c.transition_start) + ", " +
                          std::to_string(c.stabilize_start) + ")");
}
inline void check_progress(double p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw InvalidArgument("so8t::pet_schedule: progress = " + std::to_string(p) + " is outside [0, 1]");
}
}  // namespace pet_detail

/// The phase at training progress p in [0, 1].
inline PetPhase pet_phase(double progress, const PetScheduleConfig& c = {}) {
  pet_detail::check_schedule(c);
  pet_detail::check_progress(progress);
  if (progress < c.transition_start) return PetPhase::explore;
  if (progress < c.stabilize_start) return PetPhase::transition;
  return PetPhase::stabilize;
}

/// lambda at training progress p in [0, 1] (see the file comment).
inline double pet_schedule(double progress, const PetScheduleConfig& c = {}) {
  const PetPhase ph = pet_phase(progress, c);
  auto ramp = [&](double from, double to, double start) {
    if (c.ramp <= 0.0) return to;
    const double u = (progress - start) / c.ramp;
    return u >= 1.0 ? to : from + (to - from) * u;
  };
  switch (ph) {
    case PetPhase::explore: return c.lambda_explore;
    case PetPhase::transition: return ramp(c.lambda_explore, c.lambda_transition, c.transition_start);
    case PetPhase::stabilize: return ramp(c.lambda_transition, c.lambda_stabilize, c.stabilize_start);
  }
  return c.lambda_stabilize;
}

/// lambda at step `step` of `total_steps` (progress = step / total_steps; step == total_steps is allowed).
inline double pet_schedule(std::size_t step, std::size_t total_steps, const PetScheduleConfig& c = {}) {
  if (total_steps == 0) throw InvalidArgument("so8t::pet_schedule: total_steps = 0");
  if (step > total_steps)
    throw InvalidArgument("so8t::pet_schedule: step = " + std::to_string(step) + " > total_steps = " +
                          std::to_string(total_steps));
  return pet_schedule(double(step) / double(total_steps), c);
}

}  // namespace so8t

// so8t/base/traits.hpp: per-scalar constants (epsilon, Padé degree table).
//
// The Padé thresholds are Higham's (2005) theta_m for the 1-norm, as used by Eigen's
// unsupported/MatrixFunctions (so8-math-and-style.md §1a.1): for ||A||_1 below theta_m the degree-m
// diagonal Padé approximant of exp is accurate to unit roundoff of the scalar type.
#pragma once

#include "so8t/base/config.hpp"

namespace so8t {

template <class S>
struct ScalarTraits;

template <>
struct ScalarTraits<float> {
  static constexpr float epsilon = 1.1920928955078125e-07f;  // 2^-23
  static constexpr float pi = 3.14159265358979323846f;
};

template <>
struct ScalarTraits<double> {
  static constexpr double epsilon = 2.220446049250313e-16;  // 2^-52
  static constexpr double pi = 3.14159265358979323846;
};

/// How exp evaluates one matrix: Padé degree m after scaling by 2^-s, then s squarings.
struct ExpPlan {
  int degree;
  int squarings;
};

/// Coefficient b_k of the degree-m diagonal Padé approximant r_m(x) = p_m(x) / p_m(-x) of exp(x),
/// p_m(x) = sum_k b_k x^k with b_k = (2m-k)! / (k! (m-k)!) (so b_m = 1; Higham 2005). Exact integers.
/// A switch of literals rather than a table, so device code needs no static data.
SO8T_HOST_DEVICE constexpr double pade_coefficient(int m, int k) {
  switch (m) {
    case 3: {
      constexpr double b[] = {120.0, 60.0, 12.0, 1.0};
      return b[k];
    }
    case 5: {
      constexpr double b[] = {30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0};
      return b[k];
    }
    case 7: {
      constexpr double b[] = {17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0};
      return b[k];
    }
    case 9: {
      constexpr double b[] = {17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0,
                              2162160.0,     110880.0,     3960.0,       90.0,        1.0};
      return b[k];
    }
    default: {
      constexpr double b[] = {64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
                              1187353796428800.0,  129060195264000.0,   10559470521600.0,
                              670442572800.0,      33522128640.0,       1323241920.0,
                              40840800.0,          960960.0,            16380.0,
                              182.0,               1.0};
      return b[k];
    }
  }
}

}  // namespace so8t

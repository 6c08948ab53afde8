// so8t/base/scalar_math.hpp: the few libm functions so8t needs, one spelling for host and device.
//
// Overloads on float and double dispatch to the C functions (sqrtf/sqrt, ...), which CUDA provides in
// device code with the same IEEE results for sqrt, ldexp and frexp (both correctly rounded or exact).
#pragma once

#include <math.h>

#include "so8t/base/config.hpp"

namespace so8t::smath {

SO8T_HOST_DEVICE float sqrt(float x) { return ::sqrtf(x); }
SO8T_HOST_DEVICE double sqrt(double x) { return ::sqrt(x); }
SO8T_HOST_DEVICE float sin(float x) { return ::sinf(x); }
SO8T_HOST_DEVICE double sin(double x) { return ::sin(x); }
SO8T_HOST_DEVICE float cos(float x) { return ::cosf(x); }
SO8T_HOST_DEVICE double cos(double x) { return ::cos(x); }
SO8T_HOST_DEVICE float atan2(float y, float x) { return ::atan2f(y, x); }
SO8T_HOST_DEVICE double atan2(double y, double x) { return ::atan2(y, x); }
/// x * 2^e, exact unless it under- or overflows.
SO8T_HOST_DEVICE float ldexp(float x, int e) { return ::ldexpf(x, e); }
SO8T_HOST_DEVICE double ldexp(double x, int e) { return ::ldexp(x, e); }
/// Binary exponent e with x = f 2^e, f in [0.5, 1); 0 for x = 0.
SO8T_HOST_DEVICE int frexp_exponent(double x) {
  int e = 0;
  (void)::frexp(x, &e);
  return e;
}

/// True for a finite value (written with arithmetic only, so it survives any flags but -ffast-math).
template <class S>
SO8T_HOST_DEVICE bool is_finite(S x) {
  return x - x == S(0);
}

}  // namespace so8t::smath

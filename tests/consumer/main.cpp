// The consumer program: uses the public API and checks one result against a closed form.
#include <so8t/so8t.hpp>

#include <cmath>
#include <cstdio>

int main() {
  so8t::so8<double> a;
  a[so8t::so8_index(0, 1)] = 0.5;  // rotation by 0.5 rad in the (e0, e1) plane
  const auto R = so8t::SO8<double>::exp(a);
  const bool ok = std::abs(R.matrix()(0, 0) - std::cos(0.5)) < 1e-15 && R.orthogonality_error() < 1e-14;
  std::printf(ok ? "consumer ok\n" : "consumer FAILED\n");
  return ok ? 0 : 1;
}

// The SO(8) core with nothing but so8t's own include directory: no Eigen, no xsimd, no application layer on
// the path. Building this target is the check that so8t/so8.hpp (what the CUDA kernels compile) pulls in
// none of them; running it checks one result.
#if defined(__has_include)
#  if __has_include(<Eigen/Core>) || __has_include(<so8t/llm/model/hparams.hpp>)
#    error "core_only must be compiled without Eigen or the application layer on the include path"
#  endif
#endif
#include <so8t/so8.hpp>

#include <cmath>
#include <cstdio>

int main() {
  so8t::so8<double> a;
  a[so8t::so8_index(2, 5)] = 0.25;
  const auto R = so8t::SO8<double>::exp(a);
  const bool ok = std::abs(R.matrix()(2, 2) - std::cos(0.25)) < 1e-15 && R.orthogonality_error() < 1e-14;
  std::printf(ok ? "core only ok\n" : "core only FAILED\n");
  return ok ? 0 : 1;
}

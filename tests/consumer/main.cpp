// The consumer program: includes the true top umbrella, uses the SO(8) core and the quantizers, and checks
// each against a closed form.
#include <so8t/all.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  so8t::so8<double> a;
  a[so8t::so8_index(0, 1)] = 0.5;  // rotation by 0.5 rad in the (e0, e1) plane
  const auto R = so8t::SO8<double>::exp(a);
  const bool so8_ok = std::abs(R.matrix()(0, 0) - std::cos(0.5)) < 1e-15 && R.orthogonality_error() < 1e-14;

  // Q8_0 of a block whose absmax is 127 stores scale 1 and the integers themselves: dequantizing is exact.
  std::vector<float> x(32), y(32);
  for (int i = 0; i < 32; ++i) x[i] = float(i * 8 - 127 + (i == 0 ? 0 : 1));
  x[0] = -127.0f;
  std::vector<unsigned char> q(so8t::quant::row_bytes(so8t::quant::Type::q8_0, 32));
  so8t::quant::quantize(so8t::quant::Type::q8_0, x.data(), q.data(), 1, 32);
  so8t::quant::dequantize(so8t::quant::Type::q8_0, q.data(), y.data(), 1, 32);
  bool quant_ok = q.size() == 34;
  for (int i = 0; i < 32; ++i) quant_ok = quant_ok && y[i] == x[i];

  const bool ok = so8_ok && quant_ok;
  std::printf(ok ? "consumer ok\n" : "consumer FAILED (so8 %d, quant %d)\n", int(so8_ok), int(quant_ok));
  return ok ? 0 : 1;
}

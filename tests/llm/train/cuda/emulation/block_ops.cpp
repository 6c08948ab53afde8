// Host helpers for emulate_llama_cuda.py: the SO(8) block functions and PET (the code the CUDA kernels share), extern "C".
#include "so8t/so8/block_rotation.hpp"
extern "C" {
void c_block_exp(const double* p, long n, double* R) { for (long b = 0; b < n; ++b) so8t::block_exp_one(p + 28 * b, R + 64 * b); }
void c_block_exp_vjp(const double* p, const double* dR, long n, double* g) { for (long b = 0; b < n; ++b) so8t::block_exp_vjp_one(p + 28 * b, dR + 64 * b, g + 28 * b); }
void c_block_compose(const double* o, const double* i, long n, double* out) { for (long b = 0; b < n; ++b) so8t::block_compose_one(o + 64 * b, i + 64 * b, out + 64 * b); }
void c_compose_vjp(const double* o, const double* i, const double* G, long n, double* dO, double* dI) { for (long b = 0; b < n; ++b) so8t::block_compose_vjp_one(o + 64 * b, i + 64 * b, G + 64 * b, dO + 64 * b, dI + 64 * b); }
}
#include "so8t/pet/pet.hpp"
extern "C" double c_pet(const double* x, long B, long T, long D, const int* seg, double* grad, double scale, int acc) {
  so8t::PetMask m; m.segment_ids = seg;
  if (!grad) return so8t::pet_loss(x, B, T, D, m).value;
  return so8t::pet_loss_and_grad(x, B, T, D, m, grad, scale, acc ? so8t::PetGradMode::accumulate : so8t::PetGradMode::overwrite).value;
}

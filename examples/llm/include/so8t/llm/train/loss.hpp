// so8t/llm/train/loss.hpp: LossParts and the one place where a forward pass's loss is put together,
// loss = mean cross-entropy + lambda * PET, so that LlamaCpu and LlamaCuda cannot drift apart: both sum the
// per-row cross-entropies in row order (on the host, in double) and hand the sum here with their PET result.
#pragma once

#include <cstddef>

#include "so8t/pet/pet.hpp"

namespace so8t::llm {

/// What one forward pass measured.
struct LossParts {
  double loss = 0.0;             ///< ce + lambda * pet
  double ce = 0.0;               ///< mean cross-entropy, nats per token (= per byte for the byte vocabulary)
  double pet = 0.0;              ///< PET on the final normed (gainless) hidden states
  double lambda = 0.0;
  std::size_t pet_triples = 0;
};

/// ce_sum: sum over the n_rows rows of -log p(target); pet: PET on the final normed hidden states.
inline LossParts assemble_loss(double ce_sum, std::size_t n_rows, const PetResult& pet, double lambda) {
  LossParts r;
  r.ce = ce_sum / double(n_rows);
  r.pet = pet.value;
  r.pet_triples = pet.valid_triples;
  r.lambda = lambda;
  r.loss = r.ce + lambda * r.pet;
  return r;
}

}  // namespace so8t::llm

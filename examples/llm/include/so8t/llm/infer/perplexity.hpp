// so8t/llm/infer/perplexity.hpp: llama-perplexity's default procedure (ppl_stride 0), as
// tests/data/llama/MANIFEST.md "Perplexity" describes it: n_chunk = tokens / n_ctx; chunk k is
// tokens [k n_ctx, (k+1) n_ctx), its first token replaced by BOS when the vocabulary adds one, evaluated
// alone from an empty cache; the logits at in-chunk positions n_ctx/2 .. n_ctx-2 score the next token;
// NLL = logsumexp(logits) - logit[target] in double; PPL = exp(mean NLL), +/- = PPL * sqrt((mean(nll^2) -
// mean(nll)^2) / (count - 1)). Like llama-perplexity, it needs at least 2 * n_ctx tokens.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/llm/infer/llama_infer.hpp"

namespace so8t::llm {

struct PerplexityResult {
  int n_ctx = 0, chunks = 0;
  std::int64_t count = 0;              ///< scored tokens
  std::vector<double> chunk_mean_nll;  ///< mean NLL of each chunk's scored tokens
  std::vector<double> running_ppl;     ///< llama-perplexity's printed [k] values
  double mean_nll = 0, ppl = 0, ppl_err = 0;
};

/// Throws InvalidArgument when n_ctx < 4 (no token would be scored), n_ctx > infer.n_ctx(), or there are
/// fewer than 2 * n_ctx tokens (llama-perplexity's own requirement), or a token id is out of range;
/// NumericError at the first NaN or infinite logit (token position, vocab entry, value), so a broken model never
/// ends in "PPL = nan".
inline PerplexityResult perplexity(LlamaInfer& infer, const std::vector<std::int32_t>& tokens, int n_ctx,
                                   bool replace_first_with_bos) {
  if (n_ctx < 4 || n_ctx > infer.n_ctx())
    throw InvalidArgument("so8t::llm::perplexity: n_ctx = " + std::to_string(n_ctx) + ", expected 4 .. " +
                          std::to_string(infer.n_ctx()));
  if (tokens.size() < 2 * static_cast<std::size_t>(n_ctx))
    throw InvalidArgument("so8t::llm::perplexity: " + std::to_string(tokens.size()) +
                          " tokens; at least 2 * n_ctx = " + std::to_string(2 * n_ctx) + " are needed");
  const int n_vocab = infer.model().hparams().vocab;
  const std::int32_t bos = infer.model().vocab().bos;
  if (replace_first_with_bos && bos < 0) throw InvalidArgument("so8t::llm::perplexity: the vocabulary has no BOS token");

  PerplexityResult r;
  r.n_ctx = n_ctx;
  r.chunks = static_cast<int>(tokens.size() / static_cast<std::size_t>(n_ctx));
  std::vector<float> logits(static_cast<std::size_t>(n_ctx) * n_vocab);
  std::vector<std::int32_t> chunk(static_cast<std::size_t>(n_ctx));
  double nll = 0.0, nll2 = 0.0;
  const int first = n_ctx / 2;
  for (int k = 0; k < r.chunks; ++k) {
    std::copy(tokens.begin() + static_cast<std::ptrdiff_t>(k) * n_ctx,
              tokens.begin() + static_cast<std::ptrdiff_t>(k + 1) * n_ctx, chunk.begin());
    if (replace_first_with_bos) chunk[0] = bos;
    infer.reset();
    try {
      infer.eval(chunk.data(), n_ctx, logits.data());
    } catch (const NumericError& e) {  // name the place in the text too
      throw NumericError("so8t::llm::perplexity: chunk " + std::to_string(k) + " (text tokens from " +
                         std::to_string(std::int64_t(k) * n_ctx) + "): " + e.what());
    }
    double chunk_nll = 0.0;
    for (int i = first; i <= n_ctx - 2; ++i) {
      const float* l = logits.data() + static_cast<std::size_t>(i) * n_vocab;
      const float mx = *std::max_element(l, l + n_vocab);
      double sum = 0.0;
      for (int t = 0; t < n_vocab; ++t) sum += std::exp(static_cast<double>(l[t]) - mx);
      const double v = std::log(sum) + mx - l[chunk[static_cast<std::size_t>(i) + 1]];
      // The target is the original next token (never the BOS substitute: position 0 is never a target).
      chunk_nll += v;
      nll += v;
      nll2 += v * v;
      ++r.count;
    }
    r.chunk_mean_nll.push_back(chunk_nll / (n_ctx - 1 - first));
    r.running_ppl.push_back(std::exp(nll / static_cast<double>(r.count)));
  }
  infer.reset();
  r.mean_nll = nll / static_cast<double>(r.count);
  r.ppl = std::exp(r.mean_nll);
  const double var = nll2 / static_cast<double>(r.count) - r.mean_nll * r.mean_nll;
  r.ppl_err = r.count > 1 && var > 0 ? r.ppl * std::sqrt(var / static_cast<double>(r.count - 1)) : 0.0;
  return r;
}

}  // namespace so8t::llm

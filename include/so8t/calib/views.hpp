// so8t/calib/views.hpp: the shapes every quality-control function takes, and the checks on them.
//
// Logits are row-major [tokens, vocab] (row t starts at data + t * ld, ld >= vocab, ld = vocab by default),
// in float or double. Labels are one integer per token. A view does not own its memory.
//
// Bad input throws so8t::InvalidArgument with the offending values in the message: an empty view
// (tokens == 0 or vocab == 0), a std::vector whose size is not tokens * vocab, two views of different shapes,
// a label count that differs from the token count, a label outside [0, vocab) (unless it equals the
// ignore index), a non-finite logit (NaN or +-inf; reported with its token and vocabulary index), and a
// temperature that is not a finite positive number.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "so8t/base/errors.hpp"

namespace so8t::calib {

/// Read-only view of row-major logits [tokens, vocab] with row stride ld (elements).
template <class T>
struct LogitsView {
  static_assert(std::is_floating_point<T>::value, "so8t::calib: logits must be float or double");
  const T* data = nullptr;
  std::size_t tokens = 0;
  std::size_t vocab = 0;
  std::size_t ld = 0;

  LogitsView() = default;
  LogitsView(const T* d, std::size_t n_tokens, std::size_t n_vocab, std::size_t row_stride = 0)
      : data(d), tokens(n_tokens), vocab(n_vocab), ld(row_stride ? row_stride : n_vocab) {}
  /// Checks v.size() == tokens * vocab.
  LogitsView(const std::vector<T>& v, std::size_t n_tokens, std::size_t n_vocab)
      : LogitsView(v.data(), n_tokens, n_vocab) {
    if (v.size() != n_tokens * n_vocab)
      throw InvalidArgument("so8t::calib: logits vector has " + std::to_string(v.size()) +
                            " elements, expected tokens * vocab = " + std::to_string(n_tokens) + " * " +
                            std::to_string(n_vocab) + " = " + std::to_string(n_tokens * n_vocab));
  }
  const T* row(std::size_t t) const { return data + t * ld; }
};

/// Read-only view of integer labels, one per token.
template <class L>
struct LabelsView {
  static_assert(std::is_integral<L>::value, "so8t::calib: labels must be integers");
  const L* data = nullptr;
  std::size_t count = 0;

  LabelsView() = default;
  LabelsView(const L* d, std::size_t n) : data(d), count(n) {}
  LabelsView(const std::vector<L>& v) : data(v.data()), count(v.size()) {}  // NOLINT: implicit on purpose
};

namespace detail {

inline std::string fmt_double(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

template <class T>
void check_view(const LogitsView<T>& z, const char* fn, const char* what = "logits") {
  if (z.tokens == 0 || z.vocab == 0)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": empty " + what + " (tokens = " +
                          std::to_string(z.tokens) + ", vocab = " + std::to_string(z.vocab) + ")");
  if (z.data == nullptr)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": null " + what + " pointer for " +
                          std::to_string(z.tokens) + " x " + std::to_string(z.vocab));
  if (z.ld < z.vocab)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": " + what + " row stride " + std::to_string(z.ld) +
                          " is smaller than vocab " + std::to_string(z.vocab));
}

template <class T>
void check_same_shape(const LogitsView<T>& a, const LogitsView<T>& b, const char* fn) {
  check_view(a, fn, "first logits");
  check_view(b, fn, "second logits");
  if (a.tokens != b.tokens || a.vocab != b.vocab)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": shape mismatch: [" + std::to_string(a.tokens) +
                          ", " + std::to_string(a.vocab) + "] vs [" + std::to_string(b.tokens) + ", " +
                          std::to_string(b.vocab) + "]");
}

/// Throws naming the first non-finite logit of row t (called only after a row's statistics came out
/// non-finite, so the hot loop has no per-element branch).
template <class T>
[[noreturn]] void throw_non_finite_row(const T* row, std::size_t vocab, std::size_t t, const char* fn,
                                       const char* what = "logits") {
  for (std::size_t k = 0; k < vocab; ++k)
    if (!std::isfinite(static_cast<double>(row[k])))
      throw InvalidArgument(std::string("so8t::calib::") + fn + ": non-finite " + what + " value " +
                            fmt_double(double(row[k])) + " at token " + std::to_string(t) + ", index " +
                            std::to_string(k));
  throw InvalidArgument(std::string("so8t::calib::") + fn + ": " + what + " row " + std::to_string(t) +
                        " overflowed (values too large to exponentiate)");
}

/// Checks labels.count == tokens and every label in [0, vocab) or == ignore_index (when has_ignore).
/// Returns the number of scored (not ignored) tokens; throws when that is 0.
template <class L>
std::size_t check_labels(const LabelsView<L>& y, std::size_t tokens, std::size_t vocab, bool has_ignore,
                         long long ignore_index, const char* fn) {
  if (y.count != tokens)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": " + std::to_string(y.count) + " labels for " +
                          std::to_string(tokens) + " tokens");
  if (tokens > 0 && y.data == nullptr)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": null labels pointer for " +
                          std::to_string(tokens) + " tokens");
  std::size_t scored = 0;
  for (std::size_t t = 0; t < tokens; ++t) {
    const long long v = static_cast<long long>(y.data[t]);
    if (has_ignore && v == ignore_index) continue;
    if (v < 0 || static_cast<unsigned long long>(v) >= vocab)
      throw InvalidArgument(std::string("so8t::calib::") + fn + ": label " + std::to_string(v) + " at token " +
                            std::to_string(t) + " is outside [0, " + std::to_string(vocab) + ")");
    ++scored;
  }
  if (scored == 0)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": no scored tokens (all " + std::to_string(tokens) +
                          " labels equal ignore_index " + std::to_string(ignore_index) + ")");
  return scored;
}

inline double check_temperature(double temperature, const char* fn) {
  if (!(temperature > 0.0) || !std::isfinite(temperature))
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": temperature " + fmt_double(temperature) +
                          " is not a finite positive number");
  return 1.0 / temperature;
}

}  // namespace detail
}  // namespace so8t::calib

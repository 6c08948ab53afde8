// so8t/base/errors.hpp: one exception type per kind of failure (host), one status code (device).
//
// Host functions throw; device code never throws or aborts (Sophus/manif lesson, so8-math-and-style.md
// §3.9) and reports a so8t::Status instead. Messages name the offending value. Every type derives from the
// matching standard exception, so `catch (const std::invalid_argument&)` also works.
#pragma once

#include <stdexcept>
#include <string>

namespace so8t {

/// Status codes for device code and for the unchecked host variants.
enum class Status : int {
  ok = 0,
  singular = 1,      ///< a matrix that must be inverted is (numerically) singular
  not_finite = 2,    ///< NaN or infinity in an input
  not_rotation = 3,  ///< input is not in SO(8) within tolerance
  bad_argument = 4,  ///< size, count or pointer out of range
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::singular: return "singular matrix";
    case Status::not_finite: return "non-finite value";
    case Status::not_rotation: return "not a rotation";
    case Status::bad_argument: return "bad argument";
  }
  return "unknown status";
}

/// An argument outside the function's domain: wrong shape or count, NaN, null pointer, bad block size.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// vee() was given a matrix that is not skew-symmetric.
class NotSkewSymmetric : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A matrix expected in SO(8) is not orthogonal, or has determinant -1.
class NotARotation : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A linear solve met a singular matrix (e.g. the Cayley inverse of a rotation by pi).
class SingularMatrix : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};

/// A computation gave NaN or infinity where its result must be finite (a diverged training run, a
/// non-finite perplexity); the message names where it first appeared.
class NumericError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A CUDA runtime or library call failed (kernels/so8t/base/cuda_check.cuh); code() is the cudaError_t
/// or cublasStatus_t value.
class CudaError : public std::runtime_error {
 public:
  CudaError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace so8t

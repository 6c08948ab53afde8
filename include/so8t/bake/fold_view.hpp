// so8t/bake/fold_view.hpp: the non-owning views the fold functions take, and their argument checks.
//
// MatrixView<T>: a row-major matrix [rows, cols] with leading dimension ld >= cols (element (i, j) at
// data[i * ld + j]), T one of float, double, half_t, bfloat16_t. BlockRotations<R>: n_blocks rotations
// stored [n_blocks, 8, 8] row-major (so8t/so8/block_rotation.hpp layout), R float or double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "so8t/base/errors.hpp"
#include "so8t/base/half.hpp"

namespace so8t {

template <class T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;  ///< leading dimension (elements between the starts of two rows), >= cols

  MatrixView() = default;
  MatrixView(T* data_, std::size_t rows_, std::size_t cols_, std::size_t ld_)
      : data(data_), rows(rows_), cols(cols_), ld(ld_) {}
  /// A read-only view from a mutable one.
  template <class U, class = typename std::enable_if<std::is_same<const U, T>::value && !std::is_same<U, T>::value>::type>
  MatrixView(const MatrixView<U>& o) : data(o.data), rows(o.rows), cols(o.cols), ld(o.ld) {}
};

/// View of `rows` x `cols` row-major elements with leading dimension `ld` (0 means ld = cols).
template <class T>
MatrixView<T> matrix_view(T* data, std::size_t rows, std::size_t cols, std::size_t ld = 0) {
  return MatrixView<T>{data, rows, cols, ld == 0 ? cols : ld};
}

template <class R>
struct BlockRotations {
  const R* data = nullptr;  ///< [n_blocks, 8, 8] row-major
  std::size_t n_blocks = 0;
};

template <class R>
BlockRotations<R> block_rotations(const R* data, std::size_t n_blocks) {
  return BlockRotations<R>{data, n_blocks};
}

namespace fold_detail {

template <class T>
struct is_weight_type
    : std::integral_constant<bool, std::is_same<T, float>::value || std::is_same<T, double>::value ||
                                       std::is_same<T, half_t>::value || std::is_same<T, bfloat16_t>::value> {};

template <class T>
struct identity {
  using type = T;
};

inline std::string dims(std::size_t rows, std::size_t cols, std::size_t ld) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "] (ld " + std::to_string(ld) + ")";
}

/// Common checks on one view: data present when non-empty, ld >= cols.
template <class T>
void check_view(const MatrixView<T>& W, const char* fn, const char* what) {
  if (W.ld < W.cols)
    throw InvalidArgument(std::string("so8t::") + fn + ": " + what + " has ld = " + std::to_string(W.ld) +
                          " < cols = " + std::to_string(W.cols));
  if (W.rows > 0 && W.cols > 0 && W.data == nullptr)
    throw InvalidArgument(std::string("so8t::") + fn + ": " + what + " is a null pointer for a " +
                          dims(W.rows, W.cols, W.ld) + " matrix");
}

/// Checks the rotations' shape without reading them (so it also serves device pointers): exactly
/// `n_expected` blocks, non-null when needed.
template <class R>
void check_rotation_shape(const BlockRotations<R>& rot, std::size_t n_expected, const char* fn, const char* axis,
                          std::size_t width) {
  if (rot.n_blocks != n_expected)
    throw InvalidArgument(std::string("so8t::") + fn + ": " + std::to_string(rot.n_blocks) +
                          " rotation blocks given but " + axis + " = " + std::to_string(width) + " needs " +
                          std::to_string(n_expected));
  if (rot.n_blocks > 0 && rot.data == nullptr)
    throw InvalidArgument(std::string("so8t::") + fn + ": rotations is a null pointer for " +
                          std::to_string(rot.n_blocks) + " blocks");
}

/// Checks that every rotation entry is finite (reads them: host data only).
template <class R>
void check_rotation_values(const BlockRotations<R>& rot, const char* fn) {
  for (std::size_t k = 0; k < 64 * rot.n_blocks; ++k) {
    const R v = rot.data[k];
    if (!(v - v == R(0)))
      throw InvalidArgument(std::string("so8t::") + fn + ": rotation block " + std::to_string(k / 64) +
                            " entry (" + std::to_string((k % 64) / 8) + ", " + std::to_string(k % 8) + ") is " +
                            std::to_string(double(v)));
  }
}

inline void check_multiple_of_8(std::size_t width, const char* fn, const char* axis) {
  if (width % 8 != 0)
    throw InvalidArgument(std::string("so8t::") + fn + ": " + axis + " = " + std::to_string(width) +
                          " is not a multiple of 8");
}

/// Checks the rotations: non-null when needed, exactly `n_expected` blocks, finite entries.
template <class R>
void check_rotations(const BlockRotations<R>& rot, std::size_t n_expected, const char* fn, const char* axis,
                     std::size_t width) {
  check_rotation_shape(rot, n_expected, fn, axis, width);
  check_rotation_values(rot, fn);
}


/// Byte range [begin, end) a view touches.
template <class T>
void byte_range(const MatrixView<T>& W, std::uintptr_t& begin, std::uintptr_t& end) {
  begin = reinterpret_cast<std::uintptr_t>(W.data);
  end = (W.rows == 0 || W.cols == 0) ? begin : begin + ((W.rows - 1) * W.ld + W.cols) * sizeof(T);
}

/// out must be the same shape as in, and either the very same memory (same pointer and ld: in place) or
/// disjoint from it.
template <class T>
void check_out_of_place(const MatrixView<const T>& in, const MatrixView<T>& out, const char* fn) {
  if (out.rows != in.rows || out.cols != in.cols)
    throw InvalidArgument(std::string("so8t::") + fn + ": output " + dims(out.rows, out.cols, out.ld) +
                          " does not match input " + dims(in.rows, in.cols, in.ld));
  check_view(out, fn, "output");
  if (static_cast<const void*>(out.data) == static_cast<const void*>(in.data) && out.ld == in.ld) return;
  std::uintptr_t a0, a1, b0, b1;
  byte_range(in, a0, a1);
  byte_range(out, b0, b1);
  if (a0 < b1 && b0 < a1)
    throw InvalidArgument(std::string("so8t::") + fn +
                          ": output overlaps the input without being the same matrix (input ld " +
                          std::to_string(in.ld) + ", output ld " + std::to_string(out.ld) + ")");
}

/// The checks every fold makes before touching data (so they serve device pointers too): W's view, out
/// the same shape and not partially overlapping W, D a multiple of 8, D / 8 rotation blocks. `axis` names
/// D ("cols of W" for the right fold, "rows of W" for the left fold).
template <class T, class R>
void check_fold_shapes(const MatrixView<const T>& W, const MatrixView<T>& out, const BlockRotations<R>& rot,
                       const char* fn, const char* axis, std::size_t D) {
  check_view(W, fn, "W");
  check_out_of_place(W, out, fn);
  check_multiple_of_8(D, fn, (std::string("D = ") + axis).c_str());
  check_rotation_shape(rot, D / 8, fn, axis, D);
}

}  // namespace fold_detail
}  // namespace so8t

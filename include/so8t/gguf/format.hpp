// so8t/gguf/format.hpp: the fixed facts of the GGUF v3 container and the limits so8t enforces.
//
// Layout (docs/ggml-quant-and-gguf.md §6): "GGUF" | u32 version | i64 n_tensors | i64 n_kv |
// n_kv KV pairs | n_tensors tensor infos | zero padding to the alignment | tensor data. Little-endian.
// The limits are the attack list's recommendations (calibration-pet-pipeline.md §5.4): ggml's 1 GiB caps
// let a 160-byte file force gigabyte allocations (ggml PR #1516), so so8t uses 64 MiB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace so8t::gguf {

// so8t reads and writes little-endian bytes with memcpy, and exposes tensor bytes as they lie in the file.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "so8t::gguf supports little-endian hosts only");

/// "GGUF" as it appears in the first four bytes.
inline constexpr char magic[4] = {'G', 'G', 'U', 'F'};

/// The version so8t writes. Version 2 has the same little-endian layout and is read too; 1 (32-bit counts)
/// is not.
inline constexpr std::uint32_t version = 3;

/// Alignment used when general.alignment is absent.
inline constexpr std::uint64_t default_alignment = 32;

/// Byte size of the fixed header: magic, version, n_tensors, n_kv.
inline constexpr std::uint64_t header_bytes = 24;

/// Key of the alignment entry.
inline constexpr const char* alignment_key = "general.alignment";

namespace limits {
/// Longest string value (bytes). Metadata is small; 64 MiB caps what one field can make us allocate.
inline constexpr std::uint64_t max_string_bytes = std::uint64_t{64} << 20;
/// Most elements in one array value (a 256k-token vocabulary needs 2^18).
inline constexpr std::uint64_t max_array_elements = std::uint64_t{64} << 20;
/// Longest key (GGUF spec: keys are at most 65535 bytes).
inline constexpr std::uint64_t max_key_bytes = 65535;
/// Tensor names are shorter than ggml's GGML_MAX_NAME = 64 bytes (the NUL fits in ggml's buffer).
inline constexpr std::uint64_t max_tensor_name_bytes = 63;
/// ggml tensors have at most 4 dimensions.
inline constexpr std::uint32_t max_dims = 4;
/// Largest general.alignment accepted (the proposal of ggml PR #1516).
inline constexpr std::uint64_t max_alignment = std::uint64_t{1} << 20;
/// Smallest KV pair: key length (8) + 1 key byte + value type (4) + a 1-byte value.
inline constexpr std::uint64_t min_kv_bytes = 8 + 1 + 4 + 1;
/// Smallest tensor info: name length (8) + 1 name byte + n_dims (4) + one ne (8) + type (4) + offset (8).
inline constexpr std::uint64_t min_tensor_info_bytes = 8 + 1 + 4 + 8 + 4 + 8;
}  // namespace limits

/// True when `a` may be used as general.alignment: a power of two, a multiple of 8 (GGUF spec), at most
/// limits::max_alignment.
constexpr bool is_valid_alignment(std::uint64_t a) {
  return a >= 8 && a <= limits::max_alignment && (a & (a - 1)) == 0;
}

}  // namespace so8t::gguf

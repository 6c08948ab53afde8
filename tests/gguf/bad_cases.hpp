// tests/gguf/bad_cases.hpp: one handcrafted bad GGUF file per item of the attack list.
//
// Attack list: docs/calibration-pet-pipeline.md §5.4 (and the handcrafted cases of llama.cpp's
// test-gguf.cpp listed in §5.3). Each case records the Reason and the byte offset the reader must report;
// the offset is the builder's position when it wrote the offending field. Used by the unit tests and by
// tests/gguf/make_corpus.cpp (fuzzing corpus).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf_bytes.hpp"
#include "so8t/gguf/error.hpp"

namespace so8t_test {

struct BadCase {
  std::string name;  // also a gtest parameter name: [A-Za-z0-9_]
  std::vector<std::uint8_t> bytes;
  so8t::gguf::Reason reason;
  std::uint64_t offset;
  bool check_scales = false;
};

inline std::vector<BadCase> bad_cases() {
  using so8t::gguf::Reason;
  std::vector<BadCase> out;
  auto add = [&](std::string name, const GgufBytes& g, Reason r, std::uint64_t at, bool scales = false) {
    out.push_back(BadCase{std::move(name), g.b, r, at, scales});
  };
  constexpr std::uint32_t F32 = 0, Q8_0 = 8, Q4_K = 12;
  constexpr std::uint64_t kv0 = 24;  // first KV pair / tensor info starts right after the 24-byte header

  // ---------------- header
  add("header_empty_file", GgufBytes{}, Reason::truncated, 0);
  { GgufBytes g; g.raw("GGU"); add("header_3_bytes", g, Reason::truncated, 0); }
  { GgufBytes g; g.header(0, 0); g.b.pop_back(); add("header_23_bytes", g, Reason::truncated, 16); }
  { GgufBytes g; g.raw("FUGG").u32(3).i64(0).i64(0); add("header_bad_magic", g, Reason::bad_magic, 0); }
  { GgufBytes g; g.header(0, 0, 0); add("header_version_0", g, Reason::bad_version, 4); }
  { GgufBytes g; g.header(0, 0, 1); add("header_version_1", g, Reason::bad_version, 4); }
  { GgufBytes g; g.header(0, 0, 4); add("header_version_future", g, Reason::bad_version, 4); }
  { GgufBytes g; g.header(0, 0, 0x03000000u); add("header_version_byteswapped", g, Reason::bad_version, 4); }
  { GgufBytes g; g.header(-1, 0); add("header_n_tensors_negative", g, Reason::bad_count, 8); }
  { GgufBytes g; g.header(0, -1); add("header_n_kv_negative", g, Reason::bad_count, 16); }
  { GgufBytes g; g.header(INT64_MIN, 0); add("header_n_tensors_top_bit", g, Reason::bad_count, 8); }
  // 1000 tensor infos need >= 33000 bytes; 100 remain.
  { GgufBytes g; g.header(1000, 0).zeros(100); add("header_n_tensors_exceeds_file", g, Reason::bad_count, 8); }
  // 8 KV pairs need >= 112 bytes; 100 remain.
  { GgufBytes g; g.header(0, 8).zeros(100); add("header_n_kv_exceeds_file", g, Reason::bad_count, 16); }
  // 3 tensor infos (99) + 1 KV (14) > 100 bytes: each fits alone, not both.
  { GgufBytes g; g.header(3, 1).zeros(100); add("header_counts_exceed_file_together", g, Reason::bad_count, 16); }

  // ---------------- KV section
  { GgufBytes g; g.header(0, 1).u64(0).u32(4).u32(1); add("kv_key_length_0", g, Reason::bad_key, kv0); }
  { GgufBytes g; g.header(0, 1).u64(65536).zeros(65536 + 8); add("kv_key_length_65536", g, Reason::bad_key, kv0); }
  { GgufBytes g; g.header(0, 1).u64(UINT64_MAX).zeros(16); add("kv_key_length_max_u64", g, Reason::bad_key, kv0); }
  { GgufBytes g; g.header(0, 1).u64(1000).zeros(20); add("kv_key_longer_than_file", g, Reason::truncated, kv0 + 8); }
  { GgufBytes g; g.header(0, 1).kv_u32("test key", 1); add("kv_key_space", g, Reason::bad_key, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("t\x01x", 1); add("kv_key_control_char", g, Reason::bad_key, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("t\xC3\xA9st", 1); add("kv_key_non_ascii", g, Reason::bad_key, kv0); }
  {
    GgufBytes g;
    g.header(0, 2).kv_u32("a.b", 1);
    const auto at = g.pos();
    g.kv_u32("a.b", 2);
    add("kv_duplicate_key", g, Reason::duplicate_key, at);
  }
  { GgufBytes g; g.header(0, 1).str("k").u32(13).u32(0); add("kv_value_type_13", g, Reason::bad_value_type, kv0 + 9); }
  { GgufBytes g; g.header(0, 1).str("k").u32(0xFFFFFFFFu).u32(0); add("kv_value_type_negative", g, Reason::bad_value_type, kv0 + 9); }
  {
    GgufBytes g;  // array (9) of array (9)
    g.header(0, 1).str("k").u32(9).u32(9).u64(1).u32(4).u64(1).u32(7);
    add("kv_array_of_array", g, Reason::nested_array, kv0 + 13);
  }
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(13).u64(0); add("kv_array_element_type_13", g, Reason::bad_value_type, kv0 + 13); }
  // count * 8 wraps to 0 in 64 bits: must not be mistaken for an empty array.
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(10).u64(std::uint64_t{1} << 61); add("kv_array_count_times_size_overflow", g, Reason::array_too_long, kv0 + 17); }
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(0).u64((std::uint64_t{64} << 20) + 1); add("kv_array_count_over_cap", g, Reason::array_too_long, kv0 + 17); }
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(4).u64(1000).zeros(16); add("kv_array_longer_than_file", g, Reason::truncated, kv0 + 25); }
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(8).u64(1000).zeros(16); add("kv_string_array_count_exceeds_file", g, Reason::truncated, kv0 + 25); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).u64((std::uint64_t{64} << 20) + 1).zeros(8); add("kv_string_over_cap", g, Reason::string_too_long, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).u64(UINT64_MAX).zeros(8); add("kv_string_length_max_u64", g, Reason::string_too_long, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).u64(100).raw("abc"); add("kv_string_longer_than_file", g, Reason::truncated, kv0 + 21); }
  { GgufBytes g; g.header(0, 1).str("k").u32(7).u8(2); add("kv_bool_2", g, Reason::bad_bool, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("k").u32(9).u32(7).u64(3).u8(1).u8(0).u8(255); add("kv_bool_array_255", g, Reason::bad_bool, kv0 + 25 + 2); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).str("\xC3\x28"); add("kv_string_bad_utf8", g, Reason::bad_utf8, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).str("\xED\xA0\x80"); add("kv_string_utf8_surrogate", g, Reason::bad_utf8, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("k").u32(8).str("\xC0\xAF"); add("kv_string_utf8_overlong", g, Reason::bad_utf8, kv0 + 13); }
  {
    GgufBytes g;
    g.header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok");
    const auto at = g.pos();
    g.str("\xFF");
    add("kv_string_array_bad_utf8", g, Reason::bad_utf8, at);
  }
  { GgufBytes g; g.header(0, 1).str("k").u32(2).u8(1); add("kv_value_truncated", g, Reason::truncated, kv0 + 13); }
  { GgufBytes g; g.header(0, 1).str("general.alignment").u32(10).u64(32); add("kv_alignment_u64", g, Reason::bad_alignment, kv0); }
  { GgufBytes g; g.header(0, 1).str("general.alignment").u32(5).u32(32); add("kv_alignment_i32", g, Reason::bad_alignment, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("general.alignment", 0); add("kv_alignment_0", g, Reason::bad_alignment, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("general.alignment", 13); add("kv_alignment_13", g, Reason::bad_alignment, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("general.alignment", 4); add("kv_alignment_4_not_multiple_of_8", g, Reason::bad_alignment, kv0); }
  { GgufBytes g; g.header(0, 1).kv_u32("general.alignment", 1u << 21); add("kv_alignment_over_1MiB", g, Reason::bad_alignment, kv0); }

  // ---------------- tensor infos (data section 32-aligned; one F32 [8] tensor = 32 bytes unless stated)
  auto one_tensor = [&](const std::string& name, const std::vector<std::int64_t>& ne, std::uint32_t type,
                        std::uint64_t offset, std::size_t data_bytes) {
    GgufBytes g;
    g.header(1, 0).tensor_info(name, ne, type, offset).pad_to(32).zeros(data_bytes);
    return g;
  };
  add("tensor_name_length_0", one_tensor("", {8}, F32, 0, 32), Reason::bad_tensor_name, kv0);
  add("tensor_name_length_64", one_tensor(std::string(64, 'n'), {8}, F32, 0, 32), Reason::bad_tensor_name, kv0);
  { GgufBytes g; g.header(1, 0).u64(UINT64_MAX).zeros(40); add("tensor_name_length_max_u64", g, Reason::bad_tensor_name, kv0); }
  { GgufBytes g; g.header(1, 0).u64(40).zeros(30); add("tensor_name_longer_than_file", g, Reason::truncated, kv0 + 8); }
  add("tensor_name_control_char", one_tensor("a\nb", {8}, F32, 0, 32), Reason::bad_tensor_name, kv0);
  add("tensor_name_bad_utf8", one_tensor("w\xFE", {8}, F32, 0, 32), Reason::bad_tensor_name, kv0);
  {
    GgufBytes g;
    g.header(2, 0).tensor_info("w", {8}, F32, 0);
    const auto at = g.pos();
    g.tensor_info("w", {8}, F32, 32).pad_to(32).zeros(64);
    add("tensor_duplicate_name", g, Reason::duplicate_tensor_name, at);
  }
  // name "w": n_dims at 24+8+1 = 33, ne[0] at 37.
  add("tensor_n_dims_0", one_tensor("w", {}, F32, 0, 32), Reason::bad_n_dims, 33);
  add("tensor_n_dims_5", one_tensor("w", {2, 2, 2, 2, 2}, F32, 0, 256), Reason::bad_n_dims, 33);
  { GgufBytes g; g.header(1, 0).str("w").u32(0xFFFFFFFFu).zeros(64); add("tensor_n_dims_max_u32", g, Reason::bad_n_dims, 33); }
  add("tensor_ne_negative", one_tensor("w", {8, -1}, F32, 0, 32), Reason::bad_dimension, 37 + 8);
  add("tensor_ne_min_int64", one_tensor("w", {INT64_MIN}, F32, 0, 32), Reason::bad_dimension, 37);
  const std::int64_t big = std::int64_t{4} * INT32_MAX;  // llama.cpp's TENSORS_NE_TOO_BIG
  add("tensor_element_count_overflow", one_tensor("w", {big, big, big, big}, F32, 0, 32), Reason::size_overflow, 37);
  // 2^62 F32 elements fit int64, their 2^64 bytes do not.
  add("tensor_byte_size_overflow", one_tensor("w", {std::int64_t{1} << 62}, F32, 0, 32), Reason::size_overflow, 37);
  // ne[0] = 2^63 - 32 Q8_0 values (a valid element count) are (2^58 - 1) * 34 bytes > INT64_MAX.
  add("tensor_row_size_over_int64", one_tensor("w", {INT64_MAX - 31, 1}, Q8_0, 0, 32), Reason::size_overflow, 37);
  {
    // Each F32 [2^60] tensor is 2^62 bytes: offsets 0, 2^62, 2^63, 3*2^62 are each correct, and the running
    // offset after the fourth, 2^64, overflows (the PAD / running-sum overflow of CVE-2026-33298).
    GgufBytes g;
    g.header(4, 0);
    const std::uint64_t q = std::uint64_t{1} << 62;
    g.tensor_info("a", {std::int64_t{1} << 60}, F32, 0).tensor_info("b", {std::int64_t{1} << 60}, F32, q);
    g.tensor_info("c", {std::int64_t{1} << 60}, F32, 2 * q).str("d").u32(1).i64(std::int64_t{1} << 60).u32(F32);
    const auto at = g.pos();
    g.u64(3 * q).pad_to(32).zeros(32);
    add("tensor_running_offset_overflow", g, Reason::size_overflow, at);
  }
  // type at 24 + 9 + 4 + 8 = 45 for a 1-D tensor named "w".
  add("tensor_type_retired_4", one_tensor("w", {32}, 4, 0, 128), Reason::bad_tensor_type, 45);
  add("tensor_type_unsupported_q2_k", one_tensor("w", {256}, 10, 0, 128), Reason::bad_tensor_type, 45);
  add("tensor_type_unsupported_mxfp4", one_tensor("w", {32}, 39, 0, 128), Reason::bad_tensor_type, 45);
  add("tensor_type_past_count", one_tensor("w", {32}, 1000, 0, 128), Reason::bad_tensor_type, 45);
  add("tensor_type_negative", one_tensor("w", {32}, 0xFFFFFFFFu, 0, 128), Reason::bad_tensor_type, 45);
  add("tensor_q8_0_ne0_33", one_tensor("w", {33}, Q8_0, 0, 64), Reason::bad_block_multiple, 37);
  add("tensor_q4_k_ne0_32", one_tensor("w", {32}, Q4_K, 0, 160), Reason::bad_block_multiple, 37);
  // offset at 45 + 4 = 49.
  add("tensor_offset_misaligned", one_tensor("w", {8}, F32, 1, 64), Reason::misaligned_offset, 49);
  add("tensor_offset_max_u64", one_tensor("w", {8}, F32, UINT64_MAX, 64), Reason::misaligned_offset, 49);
  add("tensor_first_offset_not_0", one_tensor("w", {8}, F32, 32, 64), Reason::bad_offset, 49);
  {
    GgufBytes g;  // second tensor leaves a gap (expected 32)
    g.header(2, 0).tensor_info("a", {8}, F32, 0).str("b").u32(1).i64(8).u32(F32);
    const auto at = g.pos();
    g.u64(64).pad_to(32).zeros(96);
    add("tensor_offset_gap", g, Reason::bad_offset, at);
  }
  {
    GgufBytes g;  // tensors listed out of order
    g.header(2, 0).tensor_info("a", {8}, F32, 32).tensor_info("b", {8}, F32, 0).pad_to(32).zeros(64);
    add("tensor_offsets_unsorted", g, Reason::bad_offset, 49);
  }
  {
    GgufBytes g;  // TENSORS_INCONSISTENT_ALIGN: offsets packed with alignment 8 while the file says 32
    g.header(2, 0).tensor_info("a", {2}, F32, 0).str("b").u32(1).i64(2).u32(F32);
    const auto at = g.pos();
    g.u64(8).pad_to(32).zeros(64);
    add("tensor_offsets_inconsistent_alignment", g, Reason::misaligned_offset, at);
  }
  {
    GgufBytes g;  // alignment 64 declared, offsets computed with 32
    g.header(2, 1).kv_u32("general.alignment", 64).tensor_info("a", {8}, F32, 0).str("b").u32(1).i64(8).u32(F32);
    const auto at = g.pos();
    g.u64(32).pad_to(64).zeros(128);
    add("tensor_offsets_ignore_custom_alignment", g, Reason::misaligned_offset, at);
  }

  // ---------------- data section against the file size (Bleeding Llama, CVE-2026-7482)
  {
    GgufBytes g;  // tensor infos end at 57; the data section would start at 64 but the file ends there
    g.header(1, 0).tensor_info("w", {8}, F32, 0);
    const auto at = g.pos();
    add("data_section_past_end", g, Reason::data_out_of_bounds, at);
  }
  { GgufBytes g = one_tensor("w", {8}, F32, 0, 31); add("data_one_byte_short", g, Reason::data_out_of_bounds, 64); }
  { GgufBytes g = one_tensor("w", {1 << 20}, F32, 0, 16); add("data_dims_exceed_file", g, Reason::data_out_of_bounds, 64); }
  {
    GgufBytes g;  // the second tensor is missing entirely
    g.header(2, 0).tensor_info("a", {8}, F32, 0).tensor_info("b", {8}, F32, 32).pad_to(32);
    const auto data = g.pos();
    g.zeros(32);
    add("data_second_tensor_missing", g, Reason::data_out_of_bounds, data + 32);
  }

  // ---------------- block contents (with ReadOptions::check_scales)
  {
    GgufBytes g;  // Q8_0 [64]: two 34-byte blocks; block 1 has d = 0x7E00 (NaN)
    g.header(1, 0).tensor_info("w", {64}, Q8_0, 0).pad_to(32);
    const auto data = g.pos();
    g.zeros(34).u8(0x00).u8(0x7E).zeros(32).pad_to(32);
    add("block_q8_0_nan_scale", g, Reason::nonfinite_scale, data + 34, true);
  }
  {
    GgufBytes g;  // Q4_K [256]: dmin = 0x7C00 (+Inf)
    g.header(1, 0).tensor_info("w", {256}, Q4_K, 0).pad_to(32);
    const auto data = g.pos();
    g.u8(0).u8(0x3C).u8(0x00).u8(0x7C).zeros(140).pad_to(32);
    add("block_q4_k_inf_dmin", g, Reason::nonfinite_scale, data, true);
  }
  return out;
}

}  // namespace so8t_test

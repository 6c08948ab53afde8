// Writes the handcrafted bad files of bad_cases.hpp, plus a few valid files, into a directory: the starting
// corpus of fuzz_reader.cpp (ci.sh adds tests/data/gguf/*.gguf).
#include <cstdio>
#include <fstream>
#include <string>

#include "bad_cases.hpp"
#include "gguf_bytes.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto save = [&](const std::string& name, const std::vector<std::uint8_t>& b) {
    std::ofstream(dir + "/" + name + ".gguf", std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  int n = 0;
  for (const auto& c : so8t_test::bad_cases()) {
    save(c.name, c.bytes);
    ++n;
  }
  // Valid: every value type once, and tensors of several types with a custom alignment.
  so8t_test::GgufBytes g;
  g.header(3, 14).kv_u32("general.alignment", 64);
  g.str("a.u8").u32(0).u8(1).str("a.i8").u32(1).u8(0xFF).str("a.u16").u32(2).put<std::uint16_t>(2);
  g.str("a.i16").u32(3).put<std::int16_t>(-2).str("a.u32").u32(4).u32(3).str("a.i32").u32(5).u32(0xFFFFFFFDu);
  g.str("a.f32").u32(6).put(1.5f).str("a.bool").u32(7).u8(1).str("a.str").u32(8).str("s\xC3\xA9");
  g.str("a.arr").u32(9).u32(8).u64(2).str("x").str("");
  g.str("a.u64").u32(10).u64(4).str("a.i64").u32(11).i64(-4).str("a.f64").u32(12).put(2.5);
  g.str("a.arr_i16").u32(9).u32(3).u64(2).put<std::int16_t>(1).put<std::int16_t>(-1);
  g.tensor_info("w.f32", {4, 2}, 0, 0).tensor_info("w.q8_0", {32}, 8, 64).tensor_info("w.q4_k", {256}, 12, 128);
  g.pad_to(64).zeros(32).pad_to(64).u8(0).u8(0x3C).zeros(32).pad_to(64).u8(0).u8(0x3C).zeros(142).pad_to(64);
  save("valid_all_types", g.b);
  ++n;
  // Regression (found by this fuzzer): an empty tensor whose last dimension is 0 must keep n_dims = 4
  // when re-written.
  so8t_test::GgufBytes z;
  z.header(1, 0).tensor_info("z", {4, 1, 1, 0}, 0, 0).pad_to(32);
  save("valid_trailing_zero_dim", z.b);
  ++n;
  std::printf("wrote %d corpus files to %s\n", n, dir.c_str());
  return 0;
}

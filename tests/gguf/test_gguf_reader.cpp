// Reader tests: every reference file parses to exactly what MANIFEST.md lists, and every case of the
// attack list (bad_cases.hpp) gets its typed error at the right byte. Files are written to a temp dir.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "bad_cases.hpp"
#include "gguf_bytes.hpp"
#include "support/temp_dir.hpp"
#include "so8t/gguf/reader.hpp"
#include "so8t/base/half.hpp"

namespace fs = std::filesystem;
using so8t::gguf::FormatError;
using so8t::gguf::Reader;
using so8t::gguf::ReadOptions;
using so8t::gguf::Reason;
using so8t::gguf::ValueType;
using so8t::quant::Type;

namespace {

const std::string kRefDir = std::string(SO8T_TEST_DATA_DIR) + "/gguf/";

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

SO8T_TEST_TEMP_DIR(temp_dir, "so8t_gguf_reader");

void write_file(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// ---------------------------------------------------------------- reference files (MANIFEST.md)

TEST(GgufReaderReference, EmptyFile) {
  const Reader r = Reader::open(kRefDir + "gguf-empty.gguf");
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.file_size(), 32u);
  EXPECT_EQ(r.alignment(), 32u);
  EXPECT_TRUE(r.metadata().empty());
  EXPECT_TRUE(r.tensors().empty());
}

void check_structure_file(const std::string& file, std::uint64_t alignment, std::uint64_t size,
                          std::uint64_t first_kv, std::uint64_t data_offset,
                          const std::vector<std::uint64_t>& kv_offsets, const std::vector<std::uint64_t>& tensor_offsets,
                          const std::vector<std::uint64_t>& info_offsets) {
  SCOPED_TRACE(file);
  const Reader r = Reader::open(kRefDir + file);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.file_size(), size);
  EXPECT_EQ(r.alignment(), alignment);
  EXPECT_EQ(r.data_offset(), data_offset);
  const auto& md = r.metadata();
  ASSERT_EQ(md.size(), kv_offsets.size());
  for (std::size_t i = 0; i < kv_offsets.size(); ++i) EXPECT_EQ(md.entries()[i].file_offset, kv_offsets[i]) << i;
  EXPECT_EQ(md.entries()[0].file_offset, first_kv);
  if (alignment == 64) {
    EXPECT_EQ(md.get<std::uint32_t>("general.alignment"), 64u);
  }
  EXPECT_EQ(md.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(md.get<std::uint8_t>("test.u8"), 200);
  EXPECT_EQ(md.get<std::int8_t>("test.i8"), -100);
  EXPECT_EQ(md.get<std::uint16_t>("test.u16"), 60000);
  EXPECT_EQ(md.get<std::int16_t>("test.i16"), -30000);
  EXPECT_EQ(md.get<std::uint32_t>("test.u32"), 4000000000u);
  EXPECT_EQ(md.get<std::int32_t>("test.i32"), -2000000000);
  EXPECT_EQ(md.find("test.f32")->bits(), 0x40490FDBu);
  EXPECT_EQ(md.get<bool>("test.bool"), true);
  EXPECT_EQ(md.get<std::string>("test.string"),
            "\x68\xC3\xA9\x6C\x6C\x6F\x20\xE2\x96\x81\x77\xC3\xB6\x72\x6C\x64");
  EXPECT_EQ(md.get<std::uint64_t>("test.u64"), 9223372036854775813ull);
  EXPECT_EQ(md.get<std::int64_t>("test.i64"), -4611686018427387904ll);
  EXPECT_EQ(md.get<double>("test.f64"), 2.718281828459045);
  EXPECT_EQ(md.find("test.arr_u32")->as_array<std::uint32_t>(), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(md.find("test.arr_str")->as_array<std::string>(), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(md.find("test.arr_f32")->as_array<float>(), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(md.find("test.arr_bool")->as_array<bool>(), (std::vector<bool>{true, false, true}));
  const auto* empty = md.find("test.empty_arr_i32");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->type(), ValueType::array);
  EXPECT_EQ(empty->element_type(), ValueType::i32);
  EXPECT_EQ(empty->size(), 0u);

  const auto& ts = r.tensors();
  ASSERT_EQ(ts.size(), 5u);
  const char* names[] = {"t.f32", "t.q8_0", "t.q4_k", "t.f16_3d", "t.f32_trailing1"};
  const Type types[] = {Type::f32, Type::q8_0, Type::q4_k, Type::f16, Type::f32};
  const std::uint32_t n_dims[] = {1, 2, 2, 3, 1};
  const std::array<std::int64_t, 4> ne[] = {{7, 1, 1, 1}, {64, 2, 1, 1}, {256, 2, 1, 1}, {4, 3, 2, 1}, {3, 1, 1, 1}};
  const std::uint64_t nbytes[] = {28, 136, 288, 48, 12};  // Q8_0: 2 rows x 2 blocks x 34
  for (std::size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_EQ(ts[i].name, names[i]);
    EXPECT_EQ(ts[i].type, types[i]);
    EXPECT_EQ(ts[i].n_dims, n_dims[i]);
    EXPECT_EQ(ts[i].ne, ne[i]);
    EXPECT_EQ(ts[i].offset, tensor_offsets[i]);
    EXPECT_EQ(ts[i].nbytes, nbytes[i]);
    EXPECT_EQ(ts[i].info_offset, info_offsets[i]);
    // Zero copy: the view points into the mapped file at data_offset + offset.
    const auto v = r.tensor(i);
    EXPECT_EQ(v.data, r.file_data() + data_offset + tensor_offsets[i]);
    EXPECT_EQ(v.size, nbytes[i]);
  }
  // Values of the float tensors: v(i) exactly (F32) and fp16(v(i)) (F16).
  const auto f32 = r.tensor("t.f32");
  for (int i = 0; i < 7; ++i) {
    float x;
    std::memcpy(&x, f32.data + 4 * i, 4);
    EXPECT_EQ(x, so8t_test::reference_value(i));
  }
  const auto f16 = r.tensor("t.f16_3d");
  for (int i = 0; i < 24; ++i) {
    std::uint16_t h;
    std::memcpy(&h, f16.data + 2 * i, 2);
    EXPECT_EQ(h, so8t::fp32_to_fp16_bits(so8t_test::reference_value(i)));
  }
  const auto tr = r.tensor("t.f32_trailing1");
  for (int i = 0; i < 3; ++i) {
    float x;
    std::memcpy(&x, tr.data + 4 * i, 4);
    EXPECT_EQ(x, so8t_test::reference_value(100 + i));
  }
  EXPECT_EQ(r.find_tensor("nope"), nullptr);
  EXPECT_THROW(r.tensor("nope"), std::out_of_range);
}

TEST(GgufReaderReference, StructureAlign32) {
  check_structure_file("gguf-structure-align32.gguf", 32, 1440, 24, 864,
                       {24, 69, 89, 109, 131, 153, 177, 201, 225, 247, 294, 322, 350, 378, 426, 490, 534, 574},
                       {0, 32, 192, 480, 544}, {616, 653, 699, 745, 801});
}

TEST(GgufReaderReference, StructureAlign64) {
  check_structure_file("gguf-structure-align64.gguf", 64, 1600, 24, 896,
                       {24, 57, 102, 122, 142, 164, 186, 210, 234, 258, 280, 327, 355, 383, 411, 459, 523, 567, 607},
                       {0, 64, 256, 576, 640}, {649, 686, 732, 778, 834});
}

TEST(GgufReaderReference, FromMemoryMatchesOpen) {
  const auto bytes = slurp(kRefDir + "gguf-structure-align32.gguf");
  const Reader a = Reader::from_memory(bytes.data(), bytes.size());
  const Reader b = Reader::open(kRefDir + "gguf-structure-align32.gguf");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (std::size_t i = 0; i < a.tensors().size(); ++i) {
    EXPECT_EQ(a.tensor(i).data, bytes.data() + a.data_offset() + a.tensors()[i].offset);
    EXPECT_EQ(std::memcmp(a.tensor(i).data, b.tensor(i).data, a.tensor(i).size), 0);
  }
  for (std::size_t i = 0; i < a.metadata().size(); ++i)
    EXPECT_EQ(a.metadata().entries()[i].value, b.metadata().entries()[i].value);
}

TEST(GgufReaderReference, ScalesOfReferenceQuantsAreFinite) {
  ReadOptions o;
  o.check_scales = true;
  EXPECT_NO_THROW(Reader::open(kRefDir + "gguf-structure-align32.gguf", o));
  EXPECT_NO_THROW(Reader::open(kRefDir + "gguf-structure-align64.gguf", o));
}

// ---------------------------------------------------------------- accepted variants (§5.3 success cases)

TEST(GgufReaderAccepts, HeaderOnly24Bytes) {
  so8t_test::GgufBytes g;
  g.header(0, 0);
  EXPECT_NO_THROW(Reader::from_memory(g.b.data(), g.b.size()));  // no padding needed without tensors
}

TEST(GgufReaderAccepts, TrailingBytesAfterLastTensor) {
  auto bytes = slurp(kRefDir + "gguf-structure-align32.gguf");
  bytes.insert(bytes.end(), 100, 0xAB);
  EXPECT_EQ(Reader::from_memory(bytes.data(), bytes.size()).tensors().size(), 5u);
}

TEST(GgufReaderAccepts, NoPaddingAfterLastTensor) {
  auto bytes = slurp(kRefDir + "gguf-structure-align32.gguf");
  bytes.resize(864 + 544 + 12);  // last tensor ends at data + 544 + 12
  EXPECT_EQ(Reader::from_memory(bytes.data(), bytes.size()).tensors().size(), 5u);
  bytes.pop_back();
  try {
    Reader::from_memory(bytes.data(), bytes.size());
    FAIL() << "one byte short must be rejected";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), Reason::data_out_of_bounds);
    EXPECT_EQ(e.offset(), 864u + 544u);
  }
}

TEST(GgufReaderAccepts, Version2) {
  auto bytes = slurp(kRefDir + "gguf-structure-align32.gguf");
  bytes[4] = 2;
  EXPECT_EQ(Reader::from_memory(bytes.data(), bytes.size()).version(), 2u);
}

TEST(GgufReaderAccepts, EmptyTensorAndDashedKey) {
  so8t_test::GgufBytes g;
  g.header(2, 1).kv_u32("command-r.block_count", 2).tensor_info("e", {0, 4}, 0, 0).tensor_info("w", {8}, 0, 0);
  g.pad_to(32).zeros(32);
  const Reader r = Reader::from_memory(g.b.data(), g.b.size());
  EXPECT_EQ(r.tensors()[0].nbytes, 0u);
  EXPECT_EQ(r.tensors()[1].offset, 0u);
}

TEST(GgufReaderAccepts, NonUtf8StringWhenAllowed) {
  so8t_test::GgufBytes g;
  g.header(0, 1).str("k").u32(8).str("\xFF");
  ReadOptions o;
  o.require_utf8 = false;
  EXPECT_EQ(Reader::from_memory(g.b.data(), g.b.size(), o).metadata().get<std::string>("k"), "\xFF");
}

// ---------------------------------------------------------------- typed metadata access (required keys)

TEST(GgufMetadataGet, MissingKeyAndWrongType) {
  const Reader r = Reader::open(kRefDir + "gguf-structure-align32.gguf");
  try {
    r.metadata().get<std::uint32_t>("llama.block_count");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), Reason::missing_key);
  }
  try {
    r.metadata().get<std::int32_t>("test.u32");  // llama.cpp: a u32 key must be UINT32
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), Reason::wrong_type);
    EXPECT_EQ(e.offset(), 153u);  // kv @153 in MANIFEST.md
  }
  EXPECT_THROW(r.metadata().get<std::string>("test.arr_str"), FormatError);
}

// ---------------------------------------------------------------- the attack list, one file per case

class GgufBadFile : public ::testing::TestWithParam<so8t_test::BadCase> {};

TEST_P(GgufBadFile, RejectedWithTypedErrorAtOffset) {
  const auto& c = GetParam();
  const fs::path p = temp_dir() / (c.name + ".gguf");
  write_file(p, c.bytes);
  ReadOptions o;
  o.check_scales = c.check_scales;
  try {
    Reader::open(p.string(), o);
    FAIL() << c.name << " was accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), c.reason) << e.what();
    EXPECT_EQ(e.offset(), c.offset) << e.what();
    EXPECT_NE(std::string(e.what()).find("at byte " + std::to_string(c.offset)), std::string::npos);
  }
  // The same bytes from memory give the same error.
  try {
    Reader::from_memory(c.bytes.data(), c.bytes.size(), o);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), c.reason);
  }
  fs::remove(p);
}

INSTANTIATE_TEST_SUITE_P(AttackList, GgufBadFile, ::testing::ValuesIn(so8t_test::bad_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(GgufBadFileScales, AcceptedWithoutCheckScales) {
  for (const auto& c : so8t_test::bad_cases())
    if (c.check_scales) {
      EXPECT_NO_THROW(Reader::from_memory(c.bytes.data(), c.bytes.size())) << c.name;
    }
}

TEST(GgufReaderIo, MissingFileAndDirectory) {
  EXPECT_THROW(Reader::open((temp_dir() / "does-not-exist.gguf").string()), so8t::gguf::IoError);
  EXPECT_THROW(Reader::open(temp_dir().string()), so8t::gguf::IoError);
  const fs::path p = temp_dir() / "zero.gguf";
  write_file(p, {});
  try {
    Reader::open(p.string());
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.reason(), Reason::truncated);
  }
}

// ---------------------------------------------------------------- robustness sweeps (every prefix, bit flips)

TEST(GgufReaderRobustness, EveryPrefixOfReferenceFile) {
  const auto bytes = slurp(kRefDir + "gguf-structure-align32.gguf");
  // The last tensor ends at 864 + 544 + 12 = 1420: every shorter prefix must be rejected, cleanly.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < 1420) {
      EXPECT_THROW(Reader::from_memory(prefix.data(), prefix.size()), FormatError) << n;
    } else {
      EXPECT_NO_THROW(Reader::from_memory(prefix.data(), prefix.size())) << n;
    }
  }
}

TEST(GgufReaderRobustness, RandomByteFlipsNeverCrash) {
  const auto bytes = slurp(kRefDir + "gguf-structure-align64.gguf");
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    auto b = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % 900] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    try {
      const Reader r = Reader::from_memory(b.data(), b.size());
      for (std::size_t i = 0; i < r.tensors().size(); ++i) {
        const auto v = r.tensor(i);
        ASSERT_LE(v.data + v.size, b.data() + b.size());
      }
    } catch (const FormatError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace

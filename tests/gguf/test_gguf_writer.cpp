// Writer tests: bytes equal ggml's reference files for the same content, every value type round-trips,
// streaming in chunks changes nothing, bad input is refused, and a failed write never touches the destination.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "reference_content.hpp"
#include "support/temp_dir.hpp"
#include "so8t/gguf/gguf.hpp"  // the umbrella header compiles on its own

namespace fs = std::filesystem;
using so8t::InvalidArgument;
using so8t::gguf::Reader;
using so8t::gguf::Value;
using so8t::gguf::ValueType;
using so8t::gguf::Writer;
using so8t::quant::Type;
using so8t_test::read_all;
using so8t_test::reference_dir;

namespace {

SO8T_TEST_TEMP_DIR(root_dir, "so8t_gguf_writer");

fs::path fresh_dir(const std::string& name) {
  fs::path d = root_dir() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> dir_entries(const fs::path& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Writes the structure file content; chunk = 0 writes each tensor whole, else in pieces of `chunk` bytes.
void write_structure(Writer& w, bool align64, const std::vector<std::uint8_t>& ref, std::size_t chunk) {
  if (align64) w.add("general.alignment", std::uint32_t{64});
  so8t_test::add_reference_metadata(w);
  const auto tensors = align64 ? so8t_test::reference_tensors(ref, 896, 64, 256)
                               : so8t_test::reference_tensors(ref, 864, 32, 192);
  for (const auto& t : tensors) w.add_tensor(t.name, t.type, t.ne);
  for (const auto& t : tensors) {
    if (chunk == 0) {
      w.write_tensor(t.name, t.bytes.data(), t.bytes.size());
    } else {
      for (std::size_t i = 0; i < t.bytes.size(); i += chunk)
        w.write_tensor_data(t.bytes.data() + i, std::min(chunk, t.bytes.size() - i));
    }
  }
  w.finish();
}

// ---------------------------------------------------------------- bytes == ggml's reference files

TEST(GgufWriterBytes, EmptyFile) {
  const fs::path d = fresh_dir("empty");
  Writer w((d / "e.gguf").string());
  w.finish();
  EXPECT_EQ(read_all((d / "e.gguf").string()), read_all(reference_dir() + "gguf-empty.gguf"));
  EXPECT_EQ(dir_entries(d), std::vector<std::string>{"e.gguf"});
}

TEST(GgufWriterBytes, StructureAlign32) {
  const auto ref = read_all(reference_dir() + "gguf-structure-align32.gguf");
  ASSERT_EQ(ref.size(), 1440u);
  const fs::path d = fresh_dir("a32");
  Writer w((d / "s.gguf").string());
  write_structure(w, false, ref, 0);
  EXPECT_EQ(read_all((d / "s.gguf").string()), ref);
}

TEST(GgufWriterBytes, StructureAlign64) {
  const auto ref = read_all(reference_dir() + "gguf-structure-align64.gguf");
  ASSERT_EQ(ref.size(), 1600u);
  const fs::path d = fresh_dir("a64");
  Writer w((d / "s.gguf").string());
  write_structure(w, true, ref, 0);
  EXPECT_EQ(read_all((d / "s.gguf").string()), ref);
}

TEST(GgufWriterBytes, StreamingInChunksGivesTheSameBytes) {
  for (bool align64 : {false, true}) {
    const auto ref = read_all(reference_dir() + (align64 ? "gguf-structure-align64.gguf" : "gguf-structure-align32.gguf"));
    for (std::size_t chunk : {1u, 3u, 7u, 100u, 5000u}) {
      std::vector<std::uint8_t> out;
      Writer w(&out);
      write_structure(w, align64, ref, chunk);
      EXPECT_EQ(out, ref) << "chunk " << chunk << " align64 " << align64;
    }
  }
}

// ---------------------------------------------------------------- round trips

TEST(GgufWriterRoundTrip, EveryValueTypeAndArray) {
  const float nan_payload = [] {
    const std::uint32_t bits = 0x7FC01234u;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }();
  std::vector<std::pair<std::string, Value>> kvs = {
      {"u8.min", Value::of(std::uint8_t{0})},
      {"u8.max", Value::of(std::uint8_t{255})},
      {"i8.min", Value::of(std::int8_t{-128})},
      {"u16.max", Value::of(std::uint16_t{65535})},
      {"i16.min", Value::of(std::int16_t{-32768})},
      {"u32.max", Value::of(std::uint32_t{0xFFFFFFFFu})},
      {"i32.min", Value::of(std::numeric_limits<std::int32_t>::min())},
      {"f32.nan", Value::of(nan_payload)},
      {"f32.negzero", Value::of(-0.0f)},
      {"f32.inf", Value::of(std::numeric_limits<float>::infinity())},
      {"f32.denorm", Value::of(std::numeric_limits<float>::denorm_min())},
      {"bool.false", Value::of(false)},
      {"bool.true", Value::of(true)},
      {"str.empty", Value::string("")},
      {"str.utf8", Value::string("\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80")},
      {"str.long", Value::string(std::string(100000, 'x'))},
      {"str.nul", Value::string(std::string("a\0b", 3))},
      {"u64.max", Value::of(std::numeric_limits<std::uint64_t>::max())},
      {"i64.min", Value::of(std::numeric_limits<std::int64_t>::min())},
      {"f64.pi", Value::of(3.141592653589793)},
      {"f64.max", Value::of(std::numeric_limits<double>::max())},
      {"arr.u8", Value::array(std::vector<std::uint8_t>{0, 1, 255})},
      {"arr.i8", Value::array(std::vector<std::int8_t>{-128, 0, 127})},
      {"arr.u16", Value::array(std::vector<std::uint16_t>{1, 65535})},
      {"arr.i16", Value::array(std::vector<std::int16_t>{-32768, 32767})},
      {"arr.u32", Value::array(std::vector<std::uint32_t>{7})},
      {"arr.i32", Value::array(std::vector<std::int32_t>{-1, 2, -3, 4})},
      {"arr.f32", Value::array(std::vector<float>{1.5f, -0.0f, nan_payload})},
      {"arr.bool", Value::array(std::vector<bool>{false, true, true, false})},
      {"arr.str", Value::array(std::vector<std::string>{"", "\xE2\x96\x81t", std::string(300, 'y')})},
      {"arr.u64", Value::array(std::vector<std::uint64_t>{0, std::numeric_limits<std::uint64_t>::max()})},
      {"arr.i64", Value::array(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 5})},
      {"arr.f64", Value::array(std::vector<double>{0.1, -1e300})},
      {"arr.empty_str", Value::array(std::vector<std::string>{})},
      {"arr.empty_bool", Value::array(std::vector<bool>{})},
      {"arr.big_i32", Value::array(std::vector<std::int32_t>(100000, 6))},
  };
  std::vector<std::uint8_t> out;
  Writer w(&out);
  for (const auto& kv : kvs) w.add_metadata(kv.first, kv.second);
  w.finish();
  EXPECT_EQ(out.size() % 32, 0u);
  const Reader r = Reader::from_memory(out.data(), out.size());
  ASSERT_EQ(r.metadata().size(), kvs.size());
  for (std::size_t i = 0; i < kvs.size(); ++i) {
    const auto& e = r.metadata().entries()[i];
    EXPECT_EQ(e.key, kvs[i].first);
    EXPECT_TRUE(e.value == kvs[i].second) << e.key << " read back as " << e.value.to_display();
  }
  const auto& md = r.metadata();
  EXPECT_EQ(md.get<std::int32_t>("i32.min"), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(md.find("f32.nan")->bits(), 0x7FC01234u);
  EXPECT_TRUE(std::signbit(md.get<float>("f32.negzero")));
  EXPECT_EQ(md.get<std::string>("str.nul"), std::string("a\0b", 3));
  EXPECT_EQ(md.find("arr.i64")->as_array<std::int64_t>()[0], std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(md.find("arr.f64")->as_array<double>(), (std::vector<double>{0.1, -1e300}));
  EXPECT_EQ(md.find("arr.empty_str")->element_type(), ValueType::string);
  EXPECT_EQ(md.find("arr.big_i32")->size(), 100000u);
}

TEST(GgufWriterRoundTrip, TensorsOfEveryTypeAndRank) {
  struct Spec {
    const char* name;
    Type type;
    std::vector<std::int64_t> ne;
  };
  const std::vector<Spec> specs = {
      {"f32.1d", Type::f32, {5}},           {"f16.2d", Type::f16, {3, 7}},
      {"bf16.3d", Type::bf16, {2, 3, 4}},   {"q4_0.4d", Type::q4_0, {32, 2, 2, 2}},
      {"q4_1", Type::q4_1, {64, 3}},        {"q5_0", Type::q5_0, {32}},
      {"q5_1", Type::q5_1, {96, 1}},        {"q8_0", Type::q8_0, {32, 5}},
      {"q4_k", Type::q4_k, {512, 3}},       {"q5_k", Type::q5_k, {256}},
      {"q6_k", Type::q6_k, {256, 2}},       {"q8_k", Type::q8_k, {256, 1, 1, 2}},
      {"empty", Type::f32, {0, 4}},         {"trailing", Type::f16, {4, 1, 1, 1}},
      {"empty_trailing0", Type::f32, {4, 1, 1, 0}},  // fuzzer find: the trailing 0 must not be dropped
  };
  std::mt19937 rng(7);
  for (std::uint32_t alignment : {8u, 32u, 4096u}) {
    std::vector<std::vector<std::uint8_t>> data;
    std::vector<std::uint8_t> out;
    Writer w(&out);
    w.add("general.alignment", alignment);
    for (const auto& s : specs) {
      w.add_tensor(s.name, s.type, s.ne);
      std::int64_t rows = 1;
      for (std::size_t i = 1; i < s.ne.size(); ++i) rows *= s.ne[i];
      std::vector<std::uint8_t> bytes(so8t::quant::row_bytes(s.type, s.ne[0]) * static_cast<std::size_t>(rows));
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      data.push_back(bytes);
    }
    for (std::size_t i = 0; i < specs.size(); ++i) w.write_tensor(specs[i].name, data[i].data(), data[i].size());
    w.finish();
    EXPECT_EQ(out.size() % alignment, 0u);
    const Reader r = Reader::from_memory(out.data(), out.size());
    EXPECT_EQ(r.alignment(), alignment);
    ASSERT_EQ(r.tensors().size(), specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto& t = r.tensors()[i];
      EXPECT_EQ(t.name, specs[i].name);
      EXPECT_EQ(t.type, specs[i].type);
      for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(t.ne[k], k < specs[i].ne.size() ? specs[i].ne[k] : 1) << t.name;
      EXPECT_EQ(t.offset % alignment, 0u);
      const auto v = r.tensor(i);
      ASSERT_EQ(v.size, data[i].size());
      EXPECT_TRUE(v.size == 0 || std::memcmp(v.data, data[i].data(), v.size) == 0) << t.name;
    }
    EXPECT_EQ(r.find_tensor("trailing")->n_dims, 1u);  // [4,1,1,1] is stored as 1-D, like ggml
    EXPECT_EQ(r.find_tensor("empty")->n_dims, 2u);
    EXPECT_EQ(r.find_tensor("empty_trailing0")->n_dims, 4u);
    EXPECT_EQ(r.find_tensor("empty_trailing0")->nbytes, 0u);
  }
}

// Fuzzer find (CI, 2026-12-05): two 0-byte tensors at the start of the data. Writing the first one
// with write_tensor(name, p, 0) used to leave it "current", so the second was refused as out of order.
TEST(GgufWriterRoundTrip, LeadingEmptyTensorsWrittenInOrder) {
  std::vector<std::uint8_t> out;
  Writer w(&out);
  w.add_tensor("a", Type::f32, {0, 3});
  w.add_tensor("b", Type::f32, {0});
  w.add_tensor("c", Type::f32, {2});
  const float c[2] = {1.5f, -2.0f};
  w.write_tensor("a", nullptr, 0);
  w.write_tensor("b", nullptr, 0);
  w.write_tensor("c", c, sizeof c);
  w.finish();
  const Reader r = Reader::from_memory(out.data(), out.size());
  ASSERT_EQ(r.tensors().size(), 3u);
  EXPECT_EQ(r.tensor(0).size, 0u);
  EXPECT_EQ(r.tensor(1).size, 0u);
  ASSERT_EQ(r.tensor(2).size, sizeof c);
  EXPECT_EQ(std::memcmp(r.tensor(2).data, c, sizeof c), 0);
}

// ---------------------------------------------------------------- refused input

TEST(GgufWriterRefuses, BadMetadata) {
  std::vector<std::uint8_t> out;
  Writer w(&out);
  w.add("a.b", std::uint32_t{1});
  EXPECT_THROW(w.add("a.b", std::uint32_t{2}), InvalidArgument);
  EXPECT_THROW(w.add("", std::uint32_t{2}), InvalidArgument);
  EXPECT_THROW(w.add("has space", std::uint32_t{2}), InvalidArgument);
  EXPECT_THROW(w.add(std::string(65536, 'k'), std::uint32_t{2}), InvalidArgument);
  EXPECT_THROW(w.add("s", std::string("\xFF")), InvalidArgument);
  EXPECT_THROW(w.add_metadata("s2", Value::array(std::vector<std::string>{"ok", "\xC0\x80"})), InvalidArgument);
  EXPECT_THROW(w.add("general.alignment", std::uint64_t{32}), InvalidArgument);
  EXPECT_THROW(w.add("general.alignment", std::uint32_t{13}), InvalidArgument);
  EXPECT_THROW(w.add("general.alignment", std::uint32_t{4}), InvalidArgument);
  EXPECT_THROW(w.add("general.alignment", std::uint32_t{1u << 21}), InvalidArgument);
  w.add_tensor("t", Type::f32, {4});
  EXPECT_THROW(w.add("general.alignment", std::uint32_t{64}), InvalidArgument);  // offsets already fixed
}

TEST(GgufWriterRefuses, BadTensors) {
  std::vector<std::uint8_t> out;
  Writer w(&out);
  EXPECT_THROW(w.add_tensor("", Type::f32, {4}), InvalidArgument);
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), Type::f32, {4}), InvalidArgument);
  EXPECT_NO_THROW(w.add_tensor(std::string(63, 'n'), Type::f32, {4}));
  EXPECT_THROW(w.add_tensor("c\x01", Type::f32, {4}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("q", Type::q8_0, {33}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("k", Type::q4_k, {128}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("neg", Type::f32, {4, -1}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("five", Type::f32, {1, 1, 1, 1, 1}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("none", Type::f32, {}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("huge", Type::f32, {INT64_MAX}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("bad_type", static_cast<Type>(10), {256}), InvalidArgument);
  w.add_tensor("a", Type::f32, {2});
  EXPECT_THROW(w.add_tensor("a", Type::f32, {2}), InvalidArgument);
  const float x[3] = {1, 2, 3};
  EXPECT_THROW(w.write_tensor("a", x, 8), InvalidArgument);  // not the next tensor
  w.write_tensor_data(std::string(16, 'z').data(), 16);      // the 63-byte-named tensor
  EXPECT_THROW(w.write_tensor("a", x, 12), InvalidArgument);  // wrong size
  EXPECT_THROW(w.add("late", std::uint8_t{1}), InvalidArgument);
  EXPECT_THROW(w.add_tensor("late", Type::f32, {1}), InvalidArgument);
  w.write_tensor("a", x, 8);
  EXPECT_THROW(w.write_tensor_data(x, 1), InvalidArgument);  // more bytes than declared
  w.finish();
  EXPECT_THROW(w.finish(), InvalidArgument);
}

// ---------------------------------------------------------------- atomic write

TEST(GgufWriterAtomic, ProducerFailureMidWriteLeavesDestinationUntouched) {
  const fs::path d = fresh_dir("atomic_throw");
  const fs::path dest = d / "model.gguf";
  write_text(dest, "previous content");
  const std::vector<std::uint8_t> big(3 << 20, 0x11);  // larger than the writer's buffer: really on disk
  try {
    Writer w(dest.string());
    w.add("general.architecture", std::string("llama"));
    w.add_tensor("a", Type::f32, {static_cast<std::int64_t>(big.size() / 4)});
    w.add_tensor("b", Type::f32, {16});
    w.write_tensor("a", big.data(), big.size());
    ASSERT_EQ(dir_entries(d).size(), 2u);  // destination + the temporary file, which now holds > 3 MiB
    throw std::runtime_error("producer failed before tensor b");
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "producer failed before tensor b");
  }
  EXPECT_EQ(dir_entries(d), std::vector<std::string>{"model.gguf"});
  std::ifstream in(dest);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "previous content");
}

TEST(GgufWriterAtomic, IncompleteFinishLeavesNoFile) {
  const fs::path d = fresh_dir("atomic_incomplete");
  {
    Writer w((d / "x.gguf").string());
    w.add_tensor("a", Type::f32, {4});
    const float half[2] = {1, 2};
    w.write_tensor_data(half, sizeof half);
    EXPECT_THROW(w.finish(), InvalidArgument);
  }
  EXPECT_TRUE(dir_entries(d).empty());
}

TEST(GgufWriterAtomic, SuccessReplacesDestinationAndLeavesNoTemporary) {
  const fs::path d = fresh_dir("atomic_ok");
  write_text(d / "m.gguf", "old");
  {
    Writer w((d / "m.gguf").string());
    w.finish();
  }
  EXPECT_EQ(dir_entries(d), std::vector<std::string>{"m.gguf"});
  EXPECT_EQ(read_all((d / "m.gguf").string()), read_all(reference_dir() + "gguf-empty.gguf"));
}

TEST(GgufWriterAtomic, DiskFullDuringWriteIsAnIoErrorAndLeavesNothing) {
  // A real write(2) failure: a child process limits its file size to 1 MiB (EFBIG instead of SIGXFSZ) and
  // writes a 4 MiB tensor.
  const fs::path d = fresh_dir("atomic_efbig");
  const fs::path dest = d / "m.gguf";
  write_text(dest, "keep me");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim {1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    int code = 1;
    try {
      const std::vector<std::uint8_t> big(4 << 20, 0x22);
      Writer w(dest.string());
      w.add_tensor("a", Type::f32, {static_cast<std::int64_t>(big.size() / 4)});
      w.write_tensor("a", big.data(), big.size());
      w.finish();
      code = 2;  // must not succeed
    } catch (const so8t::gguf::IoError& e) {
      code = e.errno_value() == EFBIG ? 0 : 3;
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(dir_entries(d), std::vector<std::string>{"m.gguf"});
  std::ifstream in(dest);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
}

TEST(GgufWriterAtomic, UnwritableDirectoryIsAnIoError) {
  EXPECT_THROW(Writer("/nonexistent-dir-so8t/x.gguf"), so8t::gguf::IoError);
}

}  // namespace

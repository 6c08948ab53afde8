// Interop: files written by so8t are read by llama.cpp's Python reader (gguf-py's GGUFReader), and every
// KV pair and every tensor (type, shape, bytes) must be what so8t was given. Skips when `import gguf` fails.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "reference_content.hpp"
#include "so8t/gguf/writer.hpp"

namespace fs = std::filesystem;
using so8t::gguf::Value;
using so8t::gguf::ValueType;
using so8t::gguf::Writer;
using so8t::quant::Type;

namespace {

bool have_gguf_py() { return std::system("python3 -c 'import gguf' >/dev/null 2>&1") == 0; }

std::string hex(const void* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  const auto* b = static_cast<const std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[b[i] >> 4];
    s += digits[b[i] & 15];
  }
  return s.empty() ? "-" : s;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

TEST(GgufPythonInterop, GgufPyReadsEveryTensorAndKey) {
  if (!have_gguf_py()) GTEST_SKIP() << "python3 package 'gguf' is not installed";
  const fs::path dir = fs::temp_directory_path() / ("so8t_gguf_py_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "interop.gguf";

  // The reference metadata plus one tensor of every type gguf-py knows the size of.
  const auto ref = so8t_test::read_all(so8t_test::reference_dir() + "gguf-structure-align32.gguf");
  auto tensors = so8t_test::reference_tensors(ref, 864, 32, 192);
  std::mt19937 rng(42);
  const std::pair<Type, std::vector<std::int64_t>> extra[] = {
      {Type::bf16, {8, 2}}, {Type::q4_0, {64}},     {Type::q4_1, {32, 3}},  {Type::q5_0, {32}},
      {Type::q5_1, {64}},   {Type::q5_k, {256, 2}}, {Type::q6_k, {512}},    {Type::q8_k, {256}},
      {Type::f16, {2, 2, 2, 2}},
  };
  for (const auto& [type, ne] : extra) {
    std::int64_t rows = 1;
    for (std::size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
    std::vector<std::uint8_t> bytes(so8t::quant::row_bytes(type, ne[0]) * static_cast<std::size_t>(rows));
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    tensors.push_back({std::string("x.") + so8t::quant::type_name(type), type, ne, bytes});
  }
  {
    Writer w(file.string());
    so8t_test::add_reference_metadata(w);
    for (const auto& t : tensors) w.add_tensor(t.name, t.type, t.ne);
    for (const auto& t : tensors) w.write_tensor(t.name, t.bytes.data(), t.bytes.size());
    // Expected KV lines from what the writer was given.
    std::map<std::string, std::string> expected_kv;
    for (const auto& e : w.metadata()) {
      const Value& v = e.value;
      std::ostringstream line;
      if (!v.is_array()) {
        const std::string data = v.type() == ValueType::string ? hex(v.as_string().data(), v.as_string().size())
                                                               : [&] {
                                                                   const std::uint64_t b = v.bits();
                                                                   return hex(&b, so8t::gguf::scalar_size(v.type()));
                                                                 }();
        line << static_cast<int>(v.type()) << " 1 " << data;
      } else {
        std::string bytes;
        if (v.element_type() == ValueType::string) {
          for (const auto& s : v.string_elements()) bytes += s;
        } else {
          bytes.assign(v.packed_elements().begin(), v.packed_elements().end());
        }
        line << "9";
        if (v.size() != 0) line << "," << static_cast<int>(v.element_type());  // gguf-py omits it when empty
        line << " " << v.size() << " " << hex(bytes.data(), bytes.size());
      }
      expected_kv[e.key] = line.str();
    }
    w.finish();

    const std::string out = run("python3 " SO8T_GGUF_PY_SCRIPT " " + file.string() + " 2>&1");
    std::istringstream in(out);
    std::string kind, name;
    std::size_t n_kv = 0, n_tensors = 0;
    while (in >> kind >> name) {
      std::string rest;
      std::getline(in, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (kind == "kv") {
        if (name.rfind("GGUF.", 0) == 0) continue;  // gguf-py's pseudo-fields for the header
        ASSERT_TRUE(expected_kv.count(name)) << name;
        EXPECT_EQ(rest, expected_kv[name]) << name;
        ++n_kv;
      } else if (kind == "tensor") {
        ASSERT_LT(n_tensors, tensors.size());
        const auto& t = tensors[n_tensors++];
        EXPECT_EQ(name, t.name);
        std::array<std::int64_t, 4> ne{1, 1, 1, 1};
        for (std::size_t i = 0; i < t.ne.size(); ++i) ne[i] = t.ne[i];
        std::string shape;
        for (std::uint32_t i = 0; i < so8t::gguf::stored_n_dims(ne); ++i) shape += (i ? "," : "") + std::to_string(ne[i]);
        std::ostringstream expect;
        expect << static_cast<int>(t.type) << " " << shape << " " << t.bytes.size() << " "
               << hex(t.bytes.data(), t.bytes.size());
        EXPECT_EQ(rest, expect.str()) << name;
      } else {
        ADD_FAILURE() << "unexpected output from gguf-py: " << kind << " " << name << rest;
      }
    }
    EXPECT_EQ(n_kv, expected_kv.size()) << out.substr(0, 2000);
    EXPECT_EQ(n_tensors, tensors.size()) << out.substr(0, 2000);
  }
  fs::remove_all(dir);
}

}  // namespace

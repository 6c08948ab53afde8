// so8t-gguf exit codes and output: 0 for valid files, 1 with the reason for invalid ones, 2 for usage,
// 3 for I/O errors, 4 for an unknown tensor. The CLI path comes from $<TARGET_FILE:so8t-gguf>.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bad_cases.hpp"
#include "so8t/gguf/gguf.hpp"
#include "gguf_bytes.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kRef = std::string(SO8T_TEST_DATA_DIR) + "/gguf/";

SO8T_TEST_TEMP_DIR(out_dir, "so8t_gguf_cli");

struct Result {
  int status;
  std::string output;
};

Result cli(const std::string& args) {
  const fs::path log = out_dir() / "out.txt";
  const std::string cmd = std::string("\"") + SO8T_GGUF_CLI + "\" " + args + " >\"" + log.string() + "\" 2>&1";
  const int raw = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, ss.str()};
}

TEST(GgufCli, ValidateReferenceFiles) {
  for (const char* f : {"gguf-empty.gguf", "gguf-structure-align32.gguf", "gguf-structure-align64.gguf"}) {
    const auto r = cli("validate " + kRef + f);
    EXPECT_EQ(r.status, 0) << f << ": " << r.output;
  }
}

TEST(GgufCli, ValidateRejectsEveryBadFileWithItsReason) {
  for (const auto& c : so8t_test::bad_cases()) {
    const fs::path p = out_dir() / (c.name + ".gguf");
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(c.bytes.data()),
                                             static_cast<std::streamsize>(c.bytes.size()));
    const auto r = cli("validate " + p.string());
    EXPECT_EQ(r.status, 1) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(std::string(so8t::gguf::to_string(c.reason)) + " at byte " + std::to_string(c.offset)),
              std::string::npos)
        << c.name << ": " << r.output;
  }
}

TEST(GgufCli, InfoListsKeysAndTensors) {
  const auto r = cli("info " + kRef + "gguf-structure-align64.gguf");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("alignment: 64"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test.u32: UINT32 = 4000000000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("t.f16_3d"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[4, 3, 2]"), std::string::npos) << r.output;
}

TEST(GgufCli, InfoCutsLongStringsAndKeys) {
  // a 10 MB string (each "\xE6\x97\xA5" is one 3-byte character, so 256 bytes fall inside one) and a long key
  const fs::path p = out_dir() / "long.gguf";
  std::string big;
  while (big.size() < 10u << 20) big += "ab\xE6\x97\xA5";
  {
    so8t::gguf::Writer w(p.string());
    w.add("test.big", big);
    w.add(std::string(1000, 'k'), std::uint32_t{7});
    w.finish();
  }
  const auto r = cli("info " + p.string());
  EXPECT_EQ(r.status, 0) << r.output.substr(0, 400);
  EXPECT_LT(r.output.size(), 4000u);
  // 256 bytes = 51 whole "ab日" groups (255 bytes) + 'a'
  std::string shown;
  for (int i = 0; i < 51; ++i) shown += "ab\xE6\x97\xA5";
  shown += "a";
  EXPECT_NE(r.output.find("test.big: STRING = \"" + shown + "\"... (" + std::to_string(big.size()) + " bytes)\n"),
            std::string::npos)
      << r.output.substr(0, 400);
  EXPECT_NE(r.output.find("  " + std::string(256, 'k') + "... (1000 bytes): UINT32 = 7"), std::string::npos);
  // a cut never splits a character: 258 bytes end inside the 52nd "日", which is left out whole
  const auto c = cli("info --max-string 258 " + p.string());
  EXPECT_NE(c.output.find(shown + "b\"... ("), std::string::npos);
  const auto whole = cli("info --max-string 0 " + p.string());
  EXPECT_GT(whole.output.size(), big.size());
}

TEST(GgufCli, DumpFloatTensorPrintsTheManifestValues) {
  const auto r = cli("dump " + kRef + "gguf-structure-align32.gguf t.f32");
  EXPECT_EQ(r.status, 0);
  std::istringstream in(r.output);
  for (int i = 0; i < 7; ++i) {
    double x = 0;
    ASSERT_TRUE(in >> x) << r.output;
    EXPECT_EQ(x, static_cast<double>(so8t_test::reference_value(i)));
  }
}

TEST(GgufCli, DumpQuantizedTensorPrintsOneLinePerValueOrBlock) {
  const auto r = cli("dump " + kRef + "gguf-structure-align32.gguf t.q8_0");
  EXPECT_EQ(r.status, 0);
  const auto lines = std::count(r.output.begin(), r.output.end(), '\n');
  EXPECT_TRUE(lines == 128 || lines == 4) << lines;  // 128 values when dequantized, else 4 blocks of hex
}

TEST(GgufCli, ErrorsAndUsage) {
  EXPECT_EQ(cli("").status, 2);
  EXPECT_EQ(cli("frobnicate " + kRef + "gguf-empty.gguf").status, 2);
  EXPECT_EQ(cli("dump " + kRef + "gguf-empty.gguf").status, 2);
  EXPECT_EQ(cli("validate " + (out_dir() / "missing.gguf").string()).status, 3);
  EXPECT_EQ(cli("dump " + kRef + "gguf-structure-align32.gguf no.such.tensor").status, 4);
}

}  // namespace

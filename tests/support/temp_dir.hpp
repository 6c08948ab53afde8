// tests/support/temp_dir.hpp: one scratch directory per test program, under the system temp directory and
// named after the program and its pid (parallel ctest runs do not collide), removed when the program ends.
//
//   SO8T_TEST_TEMP_DIR(fn, "so8t_gguf_cli")   defines  std::filesystem::path fn()  (created on first use)
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace so8t_test {

/// temp_directory_path() / "<prefix>_<pid>", created.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(p);
  return p;
}

/// Removes a directory tree when the test program ends (a gtest global environment).
class RemoveDirAtExit : public ::testing::Environment {
 public:
  explicit RemoveDirAtExit(std::filesystem::path (*dir)()) : dir_(dir) {}
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_(), ec);
  }

 private:
  std::filesystem::path (*dir_)();
};

}  // namespace so8t_test

#define SO8T_TEST_TEMP_DIR(fn, prefix)                                                       \
  std::filesystem::path fn() {                                                               \
    static const std::filesystem::path dir = ::so8t_test::make_temp_dir(prefix);             \
    return dir;                                                                              \
  }                                                                                          \
  [[maybe_unused]] const auto* const fn##_cleanup =                                          \
      ::testing::AddGlobalTestEnvironment(new ::so8t_test::RemoveDirAtExit(&fn))

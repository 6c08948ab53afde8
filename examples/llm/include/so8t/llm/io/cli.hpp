// so8t/llm/io/cli.hpp: the command-line conventions every so8t example program shares (namespace
// so8t::llm::cli), on top of CLI11 (Debian's libcli11-dev).
//
//   exit codes    0 success, 1 the work failed (bad file, missed QC bound, I/O), 2 usage (unknown option, bad
//                 value, missing argument); a program may add its own codes above 2 (so8t_gguf: 3, 4)
//   messages      one line on stderr, "PROGRAM: what went wrong", naming the option and the value;
//                 --help prints the options to stdout and exits 0
//   parse(app, argc, argv)      CLI11 parsing with those rules; returns -1 to go on, else the exit code
//   run(prog, body)             runs body(), turning UsageError into 2 and any other exception into 1
//   byte_size(s, option)        "4096", "1.5G", "512M", "64k" -> bytes (a UsageError names the option)
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace so8t::llm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// A command line that parsed but does not make sense (a mode without its required option, a bad
/// combination, a value out of range found after parsing). run() turns it into exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses argv with CLI11. Returns -1 when the program should go on; otherwise the exit code, after
/// printing --help to stdout (0) or one error line plus a hint to stderr (2).
inline int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\nrun '%s --help' for the options\n", app.get_name().c_str(), e.what(),
                 app.get_name().c_str());
    return kExitUsage;
  }
  return -1;
}

/// Runs the program's body; exceptions become one stderr line and an exit code (UsageError: 2, else 1).
template <class Body>
int run(const char* prog, Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\nrun '%s --help' for the options\n", prog, e.what(), prog);
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", prog, e.what());
    return kExitFailure;
  }
}

/// "4096", "1.5G", "512M", "64k" (binary multiples; k/K, M/m, G/g) -> bytes.
inline std::uint64_t byte_size(const std::string& s, const std::string& option) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || !(v >= 0) || v > 1.8e19) throw UsageError(option + ": '" + s + "' is not a size in bytes");
  const std::string suffix = s.substr(used);
  double mul = 1;
  if (suffix == "k" || suffix == "K") mul = 1024.0;
  else if (suffix == "M" || suffix == "m") mul = 1024.0 * 1024.0;
  else if (suffix == "G" || suffix == "g") mul = 1024.0 * 1024.0 * 1024.0;
  else if (!suffix.empty()) throw UsageError(option + ": '" + s + "' has an unknown suffix (k, M, G)");
  if (v * mul > 1.8e19) throw UsageError(option + ": '" + s + "' is too large");
  return static_cast<std::uint64_t>(v * mul);
}

}  // namespace so8t::llm::cli

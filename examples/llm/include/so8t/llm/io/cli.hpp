// so8t/llm/io/cli.hpp: the command-line conventions every so8t example program shares (namespace
// so8t::llm::cli), on top of CLI11 (Debian's libcli11-dev).
//
//   exit codes    0 success, 1 the work failed (bad file, missed QC bound, I/O), 2 usage (unknown option, bad
//                 value, missing argument); a program may add its own codes above 2 (so8t_gguf: 3, 4)
//   messages      one line on stderr, "PROGRAM: what went wrong", naming the option and the value;
//                 --help prints the options to stdout and exits 0
//   setup(app)                  the option defaults every program uses (a repeated option: the last one wins)
//   parse(app, argc, argv)      CLI11 parsing with those rules; returns -1 to go on, else the exit code
//   run(prog, body)             runs body(), turning UsageError into 2 and any other exception into 1; working
//                               files registered in so8t/gguf/temp_registry.hpp are removed on SIGINT/SIGTERM
//   byte_size(s, option)        "4096", "1.5G", "512M", "64k" -> bytes (a UsageError names the option)
//   number<T>(), at_least(lo), above(lo, hi), in_range(lo, hi)
//                               number validators for add_option(...)->transform(...): decimal only, the
//                               bounds printed readably ("'-3' is out of range (>= 0)")
#pragma once

#include <CLI/CLI.hpp>

#include "so8t/gguf/temp_registry.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
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

namespace detail {

// Messages must stay on one stderr line (scripts count the lines).
inline std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

inline void print_error(const std::string& prog, const std::string& what, bool hint) {
  std::fprintf(stderr, "%s: %s%s%s%s\n", prog.c_str(), one_line(what).c_str(), hint ? " (see " : "",
               hint ? prog.c_str() : "", hint ? " --help)" : "");
}

template <class T>
std::string show(T v) {
  std::ostringstream o;
  o << +v;  // + prints 8-bit integers as numbers
  return o.str();
}

/// Parses s as a decimal T (no octal or hex: CLI11's own integer conversion takes "010" as 8, and wraps
/// "-3" around for unsigned types). Returns "" or what is wrong with s.
template <class T>
std::string parse_number(const std::string& s, T& v) {
  const char* b = s.c_str();
  const char* e = b + s.size();
  if (e - b > 1 && *b == '+' && b[1] != '-' && b[1] != '+') ++b;
  if constexpr (std::is_integral_v<T>) {
    if (std::is_unsigned_v<T> && b != e && *b == '-') {
      long long neg = 0;
      const auto r = std::from_chars(b, e, neg);
      if (r.ec == std::errc() && r.ptr == e) return "'" + s + "' is negative";
    }
    const auto r = std::from_chars(b, e, v);
    if (r.ec == std::errc::result_out_of_range) return "'" + s + "' is too large";
    if (r.ec != std::errc() || r.ptr != e || b == e) return "'" + s + "' is not an integer";
  } else {
    char* end = nullptr;
    const long double d = std::strtold(b, &end);
    if (b == e || end != e || std::isnan(d)) return "'" + s + "' is not a number";
    v = static_cast<T>(d);
  }
  return "";
}

/// A CLI11 validator for numbers of type T in [lo, hi] (or (lo, hi] when lo_open). It rewrites an integer
/// into its plain decimal form so that CLI11 stores the value that was checked.
template <class T>
CLI::Validator number(T lo, bool lo_open, T hi, bool describe = true) {
  static_assert(std::is_arithmetic_v<T>, "cli::number needs an arithmetic type");
  const bool no_hi = hi == std::numeric_limits<T>::max() ||
                     (std::numeric_limits<T>::has_infinity && hi == std::numeric_limits<T>::infinity());
  std::string need = std::string(lo_open ? "> " : ">= ") + show(lo);
  if (!no_hi) need += " and <= " + show(hi);
  auto check = [lo, lo_open, hi, need](std::string& s) -> std::string {
    T v{};
    std::string bad = parse_number(s, v);
    if (!bad.empty()) return bad;
    if ((lo_open ? !(v > lo) : !(v >= lo)) || !(v <= hi)) return "'" + s + "' is out of range (" + need + ")";
    if constexpr (std::is_integral_v<T>) s = std::to_string(v);
    return "";
  };
  const bool obvious = std::is_unsigned_v<T> && !lo_open && lo == 0 && no_hi;  // UINT says it already
  return CLI::Validator(check, describe && !obvious ? need : std::string());
}

}  // namespace detail

/// Any number of type T (decimal; NaN refused).
template <class T>
CLI::Validator number() {
  using L = std::numeric_limits<T>;
  if constexpr (L::has_infinity) return detail::number<T>(-L::infinity(), false, L::infinity(), false);
  else return detail::number<T>(L::lowest(), false, L::max(), false);
}

/// A number >= lo (its type is the option's: int, std::size_t, double, ...).
template <class T>
CLI::Validator at_least(T lo) {
  return detail::number<T>(lo, false, std::numeric_limits<T>::max());
}
/// A number > lo and <= hi.
template <class T>
CLI::Validator above(T lo, T hi = std::numeric_limits<T>::max()) {
  return detail::number<T>(lo, true, hi);
}
/// A number in [lo, hi].
template <class T>
CLI::Validator in_range(T lo, T hi) {
  return detail::number<T>(lo, false, hi);
}

namespace detail {

/// --help lines as "--batch INT >= 1 (default 16)": CLI11's own "INT:>= 1=16" runs the check and the default
/// together.
class Formatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
    std::string out;
    if (opt->get_type_size() != 0) {
      std::string type = opt->get_type_name();
      for (char& c : type)
        if (c == ':') c = ' ';
      if (!type.empty()) out += " " + type;
      if (!opt->get_default_str().empty()) out += " (default " + opt->get_default_str() + ")";
      if (opt->get_required()) out += " REQUIRED";
    }
    return out;
  }
};

}  // namespace detail

/// The defaults every program's App gets before its options are added: a repeated option takes its last
/// value (as the hand-written parsers did) instead of CLI11's error; the --help layout above.
inline void setup(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto f = std::make_shared<detail::Formatter>();
  f->column_width(40);
  app.formatter(f);
}

/// Parses argv with CLI11. Returns -1 when the program should go on; otherwise the exit code, after
/// printing --help to stdout (0) or one error line to stderr (2).
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
    detail::print_error(app.get_name(), e.what(), true);
    return kExitUsage;
  }
  return -1;
}

/// Runs the program's body; exceptions become one stderr line and an exit code (UsageError: 2, else 1).
template <class Body>
int run(const char* prog, Body&& body) {
  gguf::remove_temps_on_signal();  // an interrupted run leaves no working files
  gguf::report_bus_error_on_mapped_files();  // a model truncated while mapped: one line, exit 1
  try {
    return std::forward<Body>(body)();
  } catch (const UsageError& e) {
    detail::print_error(prog, e.what(), true);
    return kExitUsage;
  } catch (const std::exception& e) {
    detail::print_error(prog, e.what(), false);
    return kExitFailure;
  }
}

/// "4096", "1.5G", "512M", "64k" (binary multiples; k/K, M/m, G/g) -> bytes.
inline std::uint64_t byte_size(const std::string& s, const std::string& option) {
  std::string digits = s;
  double mul = 1;
  switch (s.empty() ? '\0' : s.back()) {
    case 'k': case 'K': mul = 1024.0; break;
    case 'M': case 'm': mul = 1024.0 * 1024.0; break;
    case 'G': case 'g': mul = 1024.0 * 1024.0 * 1024.0; break;
    default: break;
  }
  if (mul != 1) digits.pop_back();
  double v = 0;
  if (!detail::parse_number(digits, v).empty() || !(v >= 0)) {
    // "12x": a number with a suffix we do not know, rather than no number at all
    std::string head = digits;
    while (!head.empty() && std::isalpha(static_cast<unsigned char>(head.back()))) head.pop_back();
    double h = 0;
    const bool suffix = mul == 1 && head.size() < digits.size() && detail::parse_number(head, h).empty() && h >= 0;
    throw UsageError(option + ": '" + s + (suffix ? "' has an unknown suffix (k, M, G)" : "' is not a size in bytes"));
  }
  if (v * mul > 1.8e19) throw UsageError(option + ": '" + s + "' is too large");
  return static_cast<std::uint64_t>(v * mul);
}

}  // namespace so8t::llm::cli

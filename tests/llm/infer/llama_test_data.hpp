// tests/llm/infer/llama_test_data.hpp: the llama.cpp reference files of tests/data/llama (MANIFEST.md).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "so8t/llm/model/gguf_model.hpp"

namespace so8t_test_infer {

inline std::string llama_dir() { return std::string(SO8T_TEST_DATA_DIR) + "/llama/"; }
inline bool have_llama_data() {
  struct stat st;
  return ::stat((llama_dir() + "tiny-llama-spm-f32.gguf").c_str(), &st) == 0;
}
#define SO8T_REQUIRE_LLAMA_DATA() \
  if (!so8t_test_infer::have_llama_data()) GTEST_SKIP() << "no " << so8t_test_infer::llama_dir()

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
template <class T>
std::vector<T> read_array(const std::string& path) {
  const std::string s = read_text(path);
  std::vector<T> v(s.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), s.data(), v.size() * sizeof(T));
  return v;
}
inline std::string model_path(const std::string& kind) { return llama_dir() + "tiny-llama-spm-" + kind + ".gguf"; }
inline std::vector<std::int32_t> ref_tokens() { return read_array<std::int32_t>(llama_dir() + "tiny-llama-spm-f32.tokens.i32"); }
inline std::vector<float> ref_logits(const std::string& kind) {
  return read_array<float>(llama_dir() + "tiny-llama-spm-" + kind + ".logits.f32");
}

/// The MANIFEST's comparison metrics: |dz| max/mean, mean KL(P_ref || P), top-1 agreement.
struct Diff {
  double max_abs = 0, mean_abs = 0, mean_kl = 0, max_kl = 0;
  int top1 = 0, rows = 0;
};
inline Diff diff_logits(const std::vector<float>& ref, const std::vector<float>& got, int rows, int vocab) {
  Diff d;
  d.rows = rows;
  double sum_abs = 0;
  for (int r = 0; r < rows; ++r) {
    const float* a = ref.data() + static_cast<std::size_t>(r) * vocab;
    const float* b = got.data() + static_cast<std::size_t>(r) * vocab;
    double ma = a[0], mb = b[0];
    int ia = 0, ib = 0;
    for (int t = 0; t < vocab; ++t) {
      const double e = std::fabs(double(a[t]) - b[t]);
      d.max_abs = std::max(d.max_abs, e);
      sum_abs += e;
      if (a[t] > ma) ma = a[t], ia = t;
      if (b[t] > mb) mb = b[t], ib = t;
    }
    double sa = 0, sb = 0;
    for (int t = 0; t < vocab; ++t) sa += std::exp(a[t] - ma), sb += std::exp(b[t] - mb);
    const double la = std::log(sa) + ma, lb = std::log(sb) + mb;
    double kl = 0;
    for (int t = 0; t < vocab; ++t) {
      const double lpa = a[t] - la, lpb = b[t] - lb;
      kl += std::exp(lpa) * (lpa - lpb);
    }
    d.mean_kl += kl / rows;
    d.max_kl = std::max(d.max_kl, kl);
    d.top1 += ia == ib;
  }
  d.mean_abs = sum_abs / (double(rows) * vocab);
  return d;
}

/// "max|d| ... mean|d| ... mean KL ... top-1 a/b" for a failure message.
inline std::string describe(const Diff& d) {
  char b[160];
  std::snprintf(b, sizeof b, "max|d| %.3g mean|d| %.3g mean KL %.3g max KL %.3g top-1 %d/%d", d.max_abs, d.mean_abs,
                d.mean_kl, d.max_kl, d.top1, d.rows);
  return b;
}

}  // namespace so8t_test_infer

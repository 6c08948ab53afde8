// The reliability-diagram SVG: structure checks, and a file left in the build tree for a person to open
// (reliability_example.svg).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "calib_reference.hpp"
#include "so8t/calib.hpp"

using namespace so8t::calib;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST(ReliabilitySvg, WellFormedAndOneBarPerNonEmptyBin) {
  const std::size_t N = 4000, V = 30;
  auto z = qc_ref::random_logits<double>(N, V, 1.0, 5);
  std::vector<int> y(N);
  std::mt19937_64 rng(6);
  for (std::size_t t = 0; t < N; ++t) {
    const auto p = qc_ref::softmax(&z[t * V], V);
    std::vector<double> w(p.begin(), p.end());
    y[t] = std::discrete_distribution<int>(w.begin(), w.end())(rng);
    for (std::size_t k = 0; k < V; ++k) z[t * V + k] *= 2.5;  // over-confident
  }
  const auto ce = ece(LogitsView<double>(z, N, V), LabelsView<int>(y));
  SvgOptions o;
  o.title = "so8t <test> & over-confident x2.5";
  const std::string svg = reliability_svg(ce, o);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("so8t &lt;test&gt; &amp; over-confident"), std::string::npos);
  std::size_t nonempty = 0;
  for (const auto& b : ce.bins) nonempty += b.count > 0;
  EXPECT_EQ(count(svg, "fill=\"#4477aa\" fill-opacity=\"0.85\""), nonempty);  // accuracy bars
  EXPECT_EQ(count(svg, "<circle"), nonempty);
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  char ece_text[64];
  std::snprintf(ece_text, sizeof ece_text, "ECE %.4f  RMSCE %.4f  MCE %.4f", ce.ece, ce.rmsce, ce.mce);
  EXPECT_NE(svg.find(ece_text), std::string::npos) << ece_text;
  write_reliability_svg("reliability_example.svg", ce, o);
  std::ifstream f("reliability_example.svg");
  std::stringstream back;
  back << f.rdbuf();
  EXPECT_EQ(back.str(), svg);
  // equal-mass bins render too
  const auto em = ece_equal_mass(LogitsView<double>(z, N, V), LabelsView<int>(y));
  const std::string svg2 = reliability_svg(em);
  EXPECT_NE(svg2.find("equal-mass ECE"), std::string::npos);
  write_reliability_svg("reliability_example_equal_mass.svg", em);
  EXPECT_THROW(write_reliability_svg("/nonexistent-dir/x.svg", ce), std::runtime_error);
}

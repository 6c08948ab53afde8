// so8t/calib/reliability_svg.hpp: a reliability diagram as a standalone SVG file.
//
// Top panel: for every non-empty bin a bar from 0 to the bin's accuracy (blue) over the bin's confidence
// range, the gap between accuracy and mean confidence shaded (red), a dot at (mean confidence, accuracy)
// and the diagonal of perfect calibration (dashed). torchmetrics' extra slot for c == 1.0 is drawn as a
// narrow column just right of 1.0, labelled "=1". Bottom panel: samples per bin (grey, linear scale).
// The title line carries ECE, RMSCE, MCE and N. Plain SVG 1.1; any browser or rsvg-convert renders it.
#pragma once

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "so8t/calib/binning.hpp"
#include "so8t/base/errors.hpp"

namespace so8t::calib {

struct SvgOptions {
  std::string title = "Reliability diagram";
  int plot_size = 360;  ///< pixels of the square accuracy-vs-confidence panel
};

namespace detail {
inline std::string xml_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '&': r += "&amp;"; break;
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  }
  return r;
}
inline std::string num(double v, int prec = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}
}  // namespace detail

/// The SVG document for a CalibrationError (uniform or equal-mass bins).
inline std::string reliability_svg(const CalibrationError& ce, const SvgOptions& o = {}) {
  using detail::num;
  const double P = o.plot_size < 120 ? 120 : o.plot_size;
  const double left = 64, top = 56, extra = P / 24.0 + 6.0, hist_h = P * 0.22, gap_h = 34;
  const double W = left + P + extra + 24, H = top + P + gap_h + hist_h + 52;
  const double x0 = left, y0 = top + P;  // origin of the top panel (confidence 0, accuracy 0)
  const double hy0 = y0 + gap_h + hist_h;  // baseline of the histogram
  auto X = [&](double c) { return x0 + c * P; };
  auto Y = [&](double a) { return y0 - a * P; };
  std::ostringstream s;
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(W, 0) << "\" height=\"" << num(H, 0)
    << "\" viewBox=\"0 0 " << num(W, 0) << ' ' << num(H, 0) << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << num(W, 0) << "\" height=\"" << num(H, 0) << "\" fill=\"white\"/>\n";
  s << "<text x=\"" << num(W / 2) << "\" y=\"22\" font-size=\"16\" text-anchor=\"middle\">" << detail::xml_escape(o.title)
    << "</text>\n";
  s << "<text x=\"" << num(W / 2) << "\" y=\"42\" font-size=\"12\" text-anchor=\"middle\">"
    << (ce.equal_mass ? "equal-mass " : "") << "ECE " << num(ce.ece, 4) << "  RMSCE " << num(ce.rmsce, 4) << "  MCE "
    << num(ce.mce, 4) << "  N " << ce.count << "  bins " << ce.n_bins << "</text>\n";
  // grid and axes
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    s << "<line x1=\"" << num(X(0)) << "\" y1=\"" << num(Y(v)) << "\" x2=\"" << num(X(1)) << "\" y2=\"" << num(Y(v))
      << "\" stroke=\"#dddddd\"/>\n"
      << "<line x1=\"" << num(X(v)) << "\" y1=\"" << num(Y(0)) << "\" x2=\"" << num(X(v)) << "\" y2=\"" << num(Y(1))
      << "\" stroke=\"#dddddd\"/>\n"
      << "<text x=\"" << num(X(0) - 6) << "\" y=\"" << num(Y(v) + 4) << "\" font-size=\"11\" text-anchor=\"end\">"
      << num(v, 1) << "</text>\n"
      << "<text x=\"" << num(X(v)) << "\" y=\"" << num(hy0 + 16) << "\" font-size=\"11\" text-anchor=\"middle\">"
      << num(v, 1) << "</text>\n";
  }
  // bars
  std::size_t max_count = 1;
  for (const auto& b : ce.bins) max_count = std::max(max_count, b.count);
  for (const auto& b : ce.bins) {
    if (b.count == 0) continue;
    double xa = X(b.lo), xb = X(b.hi);
    if (b.lo >= 1.0 && b.hi >= 1.0 && !ce.equal_mass) {  // torchmetrics' slot for c == 1.0
      xa = X(1) + 3;
      xb = X(1) + extra - 1;
    }
    if (xb - xa < 2) xb = xa + 2;
    const double w = xb - xa;
    const double ya = Y(b.accuracy), yc = Y(b.mean_confidence);
    s << "<rect x=\"" << num(xa) << "\" y=\"" << num(ya) << "\" width=\"" << num(w) << "\" height=\"" << num(y0 - ya)
      << "\" fill=\"#4477aa\" fill-opacity=\"0.85\" stroke=\"#223355\" stroke-width=\"0.6\"/>\n";
    s << "<rect x=\"" << num(xa) << "\" y=\"" << num(std::min(ya, yc)) << "\" width=\"" << num(w) << "\" height=\""
      << num(std::fabs(ya - yc)) << "\" fill=\"#ee6677\" fill-opacity=\"0.55\"/>\n";
    s << "<circle cx=\"" << num(X(std::min(1.0, b.mean_confidence)) + (b.lo >= 1.0 && !ce.equal_mass ? extra / 2 + 1 : 0))
      << "\" cy=\"" << num(ya) << "\" r=\"2.5\" fill=\"#111111\"/>\n";
    const double hh = hist_h * double(b.count) / double(max_count);
    s << "<rect x=\"" << num(xa) << "\" y=\"" << num(hy0 - hh) << "\" width=\"" << num(w) << "\" height=\"" << num(hh)
      << "\" fill=\"#999999\" stroke=\"#555555\" stroke-width=\"0.6\"/>\n";
  }
  // diagonal, frames, labels
  s << "<line x1=\"" << num(X(0)) << "\" y1=\"" << num(Y(0)) << "\" x2=\"" << num(X(1)) << "\" y2=\"" << num(Y(1))
    << "\" stroke=\"#333333\" stroke-dasharray=\"5,4\"/>\n";
  s << "<rect x=\"" << num(X(0)) << "\" y=\"" << num(Y(1)) << "\" width=\"" << num(P) << "\" height=\"" << num(P)
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  s << "<rect x=\"" << num(X(0)) << "\" y=\"" << num(hy0 - hist_h) << "\" width=\"" << num(P) << "\" height=\""
    << num(hist_h) << "\" fill=\"none\" stroke=\"black\"/>\n";
  if (!ce.equal_mass)
    s << "<text x=\"" << num(X(1) + extra / 2 + 1) << "\" y=\"" << num(y0 + 14) << "\" font-size=\"10\" text-anchor=\"middle\">=1</text>\n";
  s << "<text x=\"" << num(X(0.5)) << "\" y=\"" << num(hy0 + 34) << "\" font-size=\"13\" text-anchor=\"middle\">confidence</text>\n";
  s << "<text x=\"18\" y=\"" << num(Y(0.5)) << "\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
    << num(Y(0.5)) << ")\">accuracy</text>\n";
  s << "<text x=\"18\" y=\"" << num(hy0 - hist_h / 2) << "\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
    << num(hy0 - hist_h / 2) << ")\">samples</text>\n";
  s << "<text x=\"" << num(X(0) - 6) << "\" y=\"" << num(hy0 - hist_h + 10) << "\" font-size=\"10\" text-anchor=\"end\">"
    << max_count << "</text>\n";
  // legend
  const double lx = X(0) + 8, ly = Y(1) + 8;
  s << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\"12\" height=\"10\" fill=\"#4477aa\"/>"
    << "<text x=\"" << num(lx + 16) << "\" y=\"" << num(ly + 9) << "\" font-size=\"11\">accuracy</text>\n"
    << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly + 15) << "\" width=\"12\" height=\"10\" fill=\"#ee6677\" fill-opacity=\"0.55\"/>"
    << "<text x=\"" << num(lx + 16) << "\" y=\"" << num(ly + 24) << "\" font-size=\"11\">gap to mean confidence</text>\n";
  s << "</svg>\n";
  return s.str();
}

/// Writes reliability_svg(ce, o) to path; throws std::runtime_error when the file cannot be written.
inline void write_reliability_svg(const std::string& path, const CalibrationError& ce, const SvgOptions& o = {}) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("so8t::calib::write_reliability_svg: cannot open '" + path + "' for writing");
  f << reliability_svg(ce, o);
  if (!f) throw std::runtime_error("so8t::calib::write_reliability_svg: write to '" + path + "' failed");
}

}  // namespace so8t::calib

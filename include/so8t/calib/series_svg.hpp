// so8t/calib/series_svg.hpp: a line plot of one or more series over positions (entropy and max-logit along a
// long text, stability.hpp), as a self-contained SVG a browser opens.
//
// Every series shares the x axis (position 0 .. L-1) and one y axis spanning all finite values (padded by 5%);
// non-finite values break the line. Optional vertical markers (e.g. entropy-drop positions) are drawn dashed.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "so8t/calib/reliability_svg.hpp"

namespace so8t::calib {

struct Series {
  std::string label;
  std::vector<double> values;
  std::string color = "#1f77b4";
};

struct SeriesPlotOptions {
  std::string title = "series";
  std::string subtitle;
  std::string x_label = "position";
  std::string y_label;
  int width = 900, height = 320;
  std::vector<std::size_t> markers;  ///< x positions drawn as dashed vertical lines
};

inline std::string series_svg(const std::vector<Series>& series, const SeriesPlotOptions& o = {}) {
  using detail::num;
  const double W = std::max(o.width, 200), H = std::max(o.height, 160);
  const double left = 70, right = 20, top = o.subtitle.empty() ? 40 : 56, bottom = 48;
  const double pw = W - left - right, ph = H - top - bottom;
  std::size_t L = 0;
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (const auto& s : series) {
    L = std::max(L, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
  }
  if (!(lo <= hi)) { lo = 0.0; hi = 1.0; }
  if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const double xmax = L > 1 ? double(L - 1) : 1.0;
  auto X = [&](double t) { return left + t / xmax * pw; };
  auto Y = [&](double v) { return top + (hi - v) / (hi - lo) * ph; };
  std::ostringstream s;
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(W, 0) << "\" height=\"" << num(H, 0)
    << "\" viewBox=\"0 0 " << num(W, 0) << ' ' << num(H, 0) << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << num(W, 0) << "\" height=\"" << num(H, 0) << "\" fill=\"white\"/>\n"
    << "<text x=\"" << num(W / 2) << "\" y=\"22\" font-size=\"16\" text-anchor=\"middle\">" << detail::xml_escape(o.title)
    << "</text>\n";
  if (!o.subtitle.empty())
    s << "<text x=\"" << num(W / 2) << "\" y=\"42\" font-size=\"12\" text-anchor=\"middle\">"
      << detail::xml_escape(o.subtitle) << "</text>\n";
  for (int i = 0; i <= 4; ++i) {  // y grid and ticks
    const double v = lo + (hi - lo) * i / 4.0;
    s << "<line x1=\"" << num(left) << "\" y1=\"" << num(Y(v)) << "\" x2=\"" << num(left + pw) << "\" y2=\"" << num(Y(v))
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << num(left - 6) << "\" y=\"" << num(Y(v) + 4)
      << "\" font-size=\"11\" text-anchor=\"end\">" << num(v, 3) << "</text>\n";
  }
  for (int i = 0; i <= 8; ++i) {  // x ticks
    const double t = xmax * i / 8.0;
    s << "<text x=\"" << num(X(t)) << "\" y=\"" << num(top + ph + 16) << "\" font-size=\"11\" text-anchor=\"middle\">"
      << num(t, 0) << "</text>\n";
  }
  s << "<rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(pw) << "\" height=\"" << num(ph)
    << "\" fill=\"none\" stroke=\"black\"/>\n"
    << "<text x=\"" << num(left + pw / 2) << "\" y=\"" << num(H - 10) << "\" font-size=\"12\" text-anchor=\"middle\">"
    << detail::xml_escape(o.x_label) << "</text>\n"
    << "<text x=\"16\" y=\"" << num(top + ph / 2) << "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
    << num(top + ph / 2) << ")\">" << detail::xml_escape(o.y_label) << "</text>\n";
  for (std::size_t m : o.markers)
    if (m < L)
      s << "<line x1=\"" << num(X(double(m))) << "\" y1=\"" << num(top) << "\" x2=\"" << num(X(double(m))) << "\" y2=\""
        << num(top + ph) << "\" stroke=\"#d62728\" stroke-dasharray=\"3,3\" stroke-width=\"0.8\"/>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& sr = series[k];
    std::ostringstream path;
    bool pen = false;
    for (std::size_t t = 0; t < sr.values.size(); ++t) {
      if (!std::isfinite(sr.values[t])) { pen = false; continue; }
      path << (pen ? " L" : " M") << num(X(double(t))) << ' ' << num(Y(sr.values[t]));
      pen = true;
    }
    s << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"" << sr.color << "\" stroke-width=\"1\" opacity=\"0.85\"/>\n";
    const double ly = top + 14 + 16 * double(k);
    s << "<line x1=\"" << num(left + pw - 170) << "\" y1=\"" << num(ly - 4) << "\" x2=\"" << num(left + pw - 150)
      << "\" y2=\"" << num(ly - 4) << "\" stroke=\"" << sr.color << "\" stroke-width=\"2\"/>\n<text x=\""
      << num(left + pw - 144) << "\" y=\"" << num(ly) << "\" font-size=\"11\">" << detail::xml_escape(sr.label) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

inline void write_series_svg(const std::string& path, const std::vector<Series>& series, const SeriesPlotOptions& o = {}) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("so8t::calib::write_series_svg: cannot open '" + path + "' for writing");
  f << series_svg(series, o);
  if (!f) throw std::runtime_error("so8t::calib::write_series_svg: write to '" + path + "' failed");
}

}  // namespace so8t::calib

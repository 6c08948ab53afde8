// so8t/llm/pipeline/qc.hpp: quality control of one model against another on held-out text (so8t_infer qc):
// perplexity of each, logit comparison, calibration before and after temperature scaling, long-text
// stability; JSON, Markdown and SVG reports.
//
// Definitions (docs/calibration-pet-pipeline.md; metric code in so8t/calib/):
// - Perplexity: llama-perplexity's procedure (perplexity.hpp) with n_ctx = the model's context, so the number
//   is comparable with llama.cpp's on the same file and text.
// - Logit comparison and calibration use "windows": consecutive n_ctx-token windows of the text, each
//   evaluated from an empty cache; row t of a window predicts token t+1 (its last row is dropped). The same
//   rows of both models are compared (max |dz|, KL(p_a || p_b), top-1 agreement).
// - Temperature scaling is fitted on the first half of the window rows and every calibration metric (ECE,
//   RMSCE, MCE with 15 uniform bins, Brier, NLL, accuracy) is reported on the second half, at T = 1 and at the
//   fitted T, so the "after" numbers are not measured on the data T was fitted on.
// - Long text: `long_positions` consecutive positions (2048 by default), each predicted with at least
//   n_ctx - stride tokens of context: windows of n_ctx advance by `stride` (n_ctx / 2 by default) and keep their
//   last `stride` rows (the first window keeps all). Entropy and max-logit series, their difference statistics,
//   oscillation index and periodic entropy drops: calib/stability.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "so8t/calib.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/infer/perplexity.hpp"
#include "so8t/report/calib_json.hpp"
#include "so8t/report/json.hpp"
#include "so8t/report/markdown.hpp"

namespace so8t::llm {

/// Logit rows and the token each row predicts. S = float for LlamaInfer; so8t_bake's QC runs the training
/// forward in double (pipeline/bake_qc.hpp) and compares those rows with the same code.
template <class S>
struct BasicRowLogits {
  std::size_t vocab = 0;
  std::vector<S> logits;              ///< [rows, vocab]
  std::vector<std::int32_t> labels;   ///< [rows]: the token each row predicts
  std::size_t rows() const { return labels.size(); }
  calib::LogitsView<S> view() const { return calib::LogitsView<S>(logits.data(), rows(), vocab); }
};
using RowLogits = BasicRowLogits<float>;

/// max |dz|, KL(p_a || p_b), top-1 agreement of the same rows of two models (a = reference).
template <class S>
calib::LogitComparison compare_rows(const BasicRowLogits<S>& a, const BasicRowLogits<S>& b) {
  if (a.labels != b.labels)
    throw InvalidArgument("so8t::llm::compare_rows: the two row sets predict different tokens (" +
                          std::to_string(a.rows()) + " vs " + std::to_string(b.rows()) + " rows)");
  return calib::compare_logits(a.view(), b.view());
}

/// Rows of consecutive n_ctx windows (see the file comment), at most max_rows of them.
inline RowLogits window_logits(LlamaInfer& m, const std::vector<std::int32_t>& tokens, int n_ctx, std::size_t max_rows) {
  if (n_ctx < 2) throw InvalidArgument("so8t::llm::window_logits: n_ctx = " + std::to_string(n_ctx) + " (need >= 2)");
  RowLogits r;
  r.vocab = std::size_t(m.model().hparams().vocab);
  std::vector<float> buf(std::size_t(n_ctx) * r.vocab);
  for (std::size_t s = 0; s + std::size_t(n_ctx) <= tokens.size() && r.rows() < max_rows; s += std::size_t(n_ctx)) {
    m.reset();
    m.eval(tokens.data() + s, n_ctx, buf.data());
    for (int t = 0; t + 1 < n_ctx && r.rows() < max_rows; ++t) {
      r.logits.insert(r.logits.end(), buf.begin() + std::ptrdiff_t(std::size_t(t) * r.vocab),
                      buf.begin() + std::ptrdiff_t(std::size_t(t + 1) * r.vocab));
      r.labels.push_back(tokens[s + std::size_t(t) + 1]);
    }
  }
  return r;
}

/// Long-text rows (see the file comment): positions 0 .. positions-1 of `tokens`.
inline RowLogits long_text_logits(LlamaInfer& m, const std::vector<std::int32_t>& tokens, int n_ctx, int stride,
                                  std::size_t positions) {
  if (stride < 1 || stride > n_ctx)
    throw InvalidArgument("so8t::llm::long_text_logits: stride = " + std::to_string(stride) + " (need 1..n_ctx = " +
                          std::to_string(n_ctx) + ")");
  if (tokens.size() < positions + 1 || tokens.size() < std::size_t(n_ctx) + 1)
    throw InvalidArgument("so8t::llm::long_text_logits: " + std::to_string(tokens.size()) + " tokens for " +
                          std::to_string(positions) + " positions (need positions + 1 and n_ctx + 1 = " +
                          std::to_string(n_ctx + 1) + ")");
  RowLogits r;
  r.vocab = std::size_t(m.model().hparams().vocab);
  std::vector<float> buf(std::size_t(n_ctx) * r.vocab);
  std::size_t next = 0;  // next position to emit
  for (std::size_t s = 0; next < positions; s += std::size_t(stride)) {
    const std::size_t len = std::min<std::size_t>(std::size_t(n_ctx), tokens.size() - 1 - s);
    m.reset();
    m.eval(tokens.data() + s, int(len), buf.data());
    for (std::size_t t = next - s; t < len && next < positions; ++t, ++next) {
      r.logits.insert(r.logits.end(), buf.begin() + std::ptrdiff_t(t * r.vocab), buf.begin() + std::ptrdiff_t((t + 1) * r.vocab));
      r.labels.push_back(tokens[s + t + 1]);
    }
    if (len < std::size_t(n_ctx)) break;
  }
  return r;
}

struct CalibrationBeforeAfter {
  calib::TemperatureFit fit;          ///< on the first half of the rows
  calib::CalibrationSummary before;   ///< second half, T = 1
  calib::CalibrationSummary after;    ///< second half, fitted T
};

inline CalibrationBeforeAfter calibrate_rows(const RowLogits& r) {
  if (r.rows() < 4) throw InvalidArgument("so8t::llm::calibrate_rows: " + std::to_string(r.rows()) + " rows (need >= 4)");
  const std::size_t half = r.rows() / 2;
  CalibrationBeforeAfter c;
  const calib::LogitsView<float> fit_view(r.logits.data(), half, r.vocab);
  const calib::LabelsView<std::int32_t> fit_labels(r.labels.data(), half);
  c.fit = calib::fit_temperature(fit_view, fit_labels);
  const calib::LogitsView<float> ev(r.logits.data() + half * r.vocab, r.rows() - half, r.vocab);
  const calib::LabelsView<std::int32_t> el(r.labels.data() + half, r.rows() - half);
  calib::CalibOptions o;
  c.before = calib::calibration_summary(ev, el, o);
  o.temperature = c.fit.temperature;
  c.after = calib::calibration_summary(ev, el, o);
  return c;
}

/// Temperature scaling for a model (Guo et al. 2017): T minimising the NLL of softmax(z / T) over the window
/// rows of `tokens` (so8t_quantize --calibrate stores it as so8t.calibration.temperature).
inline calib::TemperatureFit fit_model_temperature(LlamaInfer& m, const std::vector<std::int32_t>& tokens, int n_ctx,
                                                   std::size_t max_rows) {
  const RowLogits r = window_logits(m, tokens, n_ctx, max_rows);
  if (r.rows() == 0)
    throw InvalidArgument("so8t::llm::fit_model_temperature: " + std::to_string(tokens.size()) +
                          " tokens do not fill one window of n_ctx = " + std::to_string(n_ctx));
  return calib::fit_temperature(calib::LogitsView<float>(r.logits.data(), r.rows(), r.vocab),
                                calib::LabelsView<std::int32_t>(r.labels.data(), r.rows()));
}

struct ModelQc {
  std::string name, path;
  PerplexityResult ppl;
  CalibrationBeforeAfter calib;
  calib::StabilityReport stability;
};

struct QcReport {
  ModelQc a, b;
  calib::LogitComparison compare;  ///< a = pre, b = post
  std::size_t tokens = 0, window_rows = 0, long_positions = 0;
  int n_ctx = 0, stride = 0;
  double ppl_rel_change() const { return b.ppl.ppl / a.ppl.ppl - 1.0; }
};

struct QcOptions {
  int n_ctx = 0;                   ///< 0: the smaller of both models' contexts
  std::size_t max_rows = 8192;     ///< window rows for comparison / calibration
  std::size_t ppl_tokens = 16384;  ///< tokens for perplexity
  std::size_t long_positions = 2048;
  int stride = 0;                  ///< 0: n_ctx / 2
};

/// Runs everything on `eval_tokens` (perplexity, windows) and `long_tokens` (the long-text run).
inline QcReport run_qc(LlamaInfer& a, LlamaInfer& b, const std::vector<std::int32_t>& eval_tokens,
                       const std::vector<std::int32_t>& long_tokens, const QcOptions& o) {
  const auto& ha = a.model().hparams();
  const auto& hb = b.model().hparams();
  if (ha.vocab != hb.vocab)
    throw InvalidArgument("so8t::llm::run_qc: vocabularies differ (" + std::to_string(ha.vocab) + " vs " +
                          std::to_string(hb.vocab) + " tokens)");
  QcReport r;
  r.n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min(a.n_ctx(), b.n_ctx());
  r.stride = o.stride > 0 ? o.stride : std::max(1, r.n_ctx / 2);
  std::vector<std::int32_t> ppl_tokens(eval_tokens.begin(),
                                       eval_tokens.begin() + std::ptrdiff_t(std::min(eval_tokens.size(), o.ppl_tokens)));
  r.a.ppl = perplexity(a, ppl_tokens, r.n_ctx, a.model().vocab().add_bos);
  r.b.ppl = perplexity(b, ppl_tokens, r.n_ctx, b.model().vocab().add_bos);
  const RowLogits ra = window_logits(a, eval_tokens, r.n_ctx, o.max_rows);
  const RowLogits rb = window_logits(b, eval_tokens, r.n_ctx, o.max_rows);
  r.tokens = eval_tokens.size();
  r.window_rows = ra.rows();
  r.compare = compare_rows(ra, rb);
  r.a.calib = calibrate_rows(ra);
  r.b.calib = calibrate_rows(rb);
  if (o.long_positions > 0) {
    const RowLogits la = long_text_logits(a, long_tokens, r.n_ctx, r.stride, o.long_positions);
    const RowLogits lb = long_text_logits(b, long_tokens, r.n_ctx, r.stride, o.long_positions);
    r.long_positions = la.rows();
    r.a.stability = calib::long_text_stability(calib::LogitsView<float>(la.logits.data(), la.rows(), la.vocab));
    r.b.stability = calib::long_text_stability(calib::LogitsView<float>(lb.logits.data(), lb.rows(), lb.vocab));
  }
  return r;
}

// ---- targets: bounds a QC run enforces ----

/// One bound on a measured quantity; `upper`: measured <= bound passes, else measured >= bound.
struct QcTarget {
  std::string what;
  double measured = 0, bound = 0;
  bool upper = true;
  bool ok() const { return upper ? measured <= bound : measured >= bound; }
  const char* relation() const { return upper ? "<=" : ">="; }
};

inline bool all_ok(const std::vector<QcTarget>& ts) {
  return std::all_of(ts.begin(), ts.end(), [](const QcTarget& t) { return t.ok(); });
}

/// "max KL <= 1.0e-06 (measured 3.000e-06); ..." for the missed targets (empty when all pass).
inline std::string missed_targets(const std::vector<QcTarget>& ts) {
  std::string msg;
  for (const QcTarget& t : ts)
    if (!t.ok()) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s%s %s %.1e (measured %.3e)", msg.empty() ? "" : "; ", t.what.c_str(),
                    t.relation(), t.bound, t.measured);
      msg += buf;
    }
  return msg;
}

// ---- reports ----

inline report::Json to_json(const QcTarget& t) {
  report::Json j = report::Json::object();
  j["what"] = t.what;
  j["bound"] = t.bound;
  j["measured"] = t.measured;
  j["ok"] = t.ok();
  return j;
}

inline report::Json to_json(const std::vector<QcTarget>& ts) {
  report::Json j = report::Json::array();
  for (const QcTarget& t : ts) j.push_back(to_json(t));
  return j;
}

/// Orthogonality drift of the gates: worst block, rms over all blocks, smallest determinant.
inline report::Json to_json(const calib::DriftReport& d) {
  report::Json j = report::Json::object();
  j["max"] = d.max_error;
  j["rms"] = d.rms_error;
  j["min_det"] = d.min_determinant;
  return j;
}

inline report::Json to_json(const PerplexityResult& p) {
  report::Json j = report::Json::object();
  j["ppl"] = p.ppl;
  j["ppl_err"] = p.ppl_err;
  j["mean_nll"] = p.mean_nll;
  j["n_ctx"] = p.n_ctx;
  j["chunks"] = p.chunks;
  j["scored_tokens"] = p.count;
  j["chunk_mean_nll"] = p.chunk_mean_nll;
  return j;
}

inline report::Json to_json(const ModelQc& m, bool with_series) {
  report::Json j = report::Json::object();
  j["name"] = m.name;
  j["path"] = m.path;
  j["perplexity"] = to_json(m.ppl);
  report::Json c = report::Json::object();
  c["temperature"] = m.calib.fit.temperature;
  c["temperature_converged"] = m.calib.fit.converged;
  c["fit_rows"] = m.calib.fit.count;
  c["before"] = report::to_json(m.calib.before);
  c["after"] = report::to_json(m.calib.after);
  j["calibration"] = c;
  report::Json s = report::Json::object();
  s["positions"] = m.stability.positions;
  s["entropy"] = report::to_json(m.stability.entropy_stats);
  s["max_logit"] = report::to_json(m.stability.max_logit_stats);
  report::Json d = report::Json::object();
  d["count"] = m.stability.drops.positions.size();
  d["positions"] = m.stability.drops.positions;
  d["period"] = m.stability.drops.period;
  d["matching_fraction"] = m.stability.drops.matching_fraction;
  d["periodic"] = m.stability.drops.periodic;
  s["entropy_drops"] = d;
  if (with_series) {
    s["entropy_series"] = m.stability.entropy;
    s["max_logit_series"] = m.stability.max_logit;
  }
  j["long_text"] = s;
  return j;
}

inline report::Json to_json(const QcReport& r, bool with_series = true) {
  report::Json j = report::Json::object();
  j["n_ctx"] = r.n_ctx;
  j["eval_tokens"] = r.tokens;
  j["window_rows"] = r.window_rows;
  j["long_positions"] = r.long_positions;
  j["long_stride"] = r.stride;
  j["logits_a_vs_b"] = report::to_json(r.compare);
  j["ppl_rel_change"] = r.ppl_rel_change();
  j["a"] = to_json(r.a, with_series);
  j["b"] = to_json(r.b, with_series);
  return j;
}

inline std::string fmt(double v, int prec = 4) {
  std::ostringstream os;
  os.precision(prec);
  os << v;
  return os.str();
}

/// Scientific (1.2346e-06) and fixed (0.9990) notation with `prec` digits after the point, for tables whose
/// columns span many decades.
inline std::string fmt_sci(double v, int prec = 4) {
  std::ostringstream os;
  os.precision(prec);
  os << std::scientific << v;
  return os.str();
}

inline std::string fmt_fixed(double v, int prec = 4) {
  std::ostringstream os;
  os.precision(prec);
  os << std::fixed << v;
  return os.str();
}

inline std::string to_markdown(const QcReport& r, const std::string& svg_prefix) {
  std::ostringstream md;
  const auto& A = r.a;
  const auto& B = r.b;
  // names and paths are user text: report::markdown_text keeps them from becoming markup or splitting a cell
  const std::string name_a = report::markdown_text(A.name), name_b = report::markdown_text(B.name);
  md << "# so8t_infer qc: " << name_a << " vs " << name_b << "\n\n"
     << "- a: " << report::markdown_text(A.path) << "\n- b: " << report::markdown_text(B.path) << "\n"
     << "- context " << r.n_ctx << ", " << r.tokens << " held-out tokens, " << r.window_rows << " compared rows, long text "
     << r.long_positions << " positions (stride " << r.stride << ")\n\n"
     << "## Perplexity (llama-perplexity procedure, n_ctx " << r.n_ctx << ")\n\n"
     << "| model | PPL | +/- | mean NLL | scored tokens |\n|---|---|---|---|---|\n"
     << "| " << name_a << " | " << fmt(A.ppl.ppl, 6) << " | " << fmt(A.ppl.ppl_err, 3) << " | " << fmt(A.ppl.mean_nll, 6)
     << " | " << A.ppl.count << " |\n"
     << "| " << name_b << " | " << fmt(B.ppl.ppl, 6) << " | " << fmt(B.ppl.ppl_err, 3) << " | " << fmt(B.ppl.mean_nll, 6)
     << " | " << B.ppl.count << " |\n\n"
     << "Relative change b vs a: " << fmt(100.0 * r.ppl_rel_change(), 4) << " %\n\n"
     << "## Logits, b against a\n\n| max abs diff | mean abs diff | rms diff | mean KL(a\\|\\|b) | max KL | top-1 agreement |\n"
     << "|---|---|---|---|---|---|\n| " << fmt(r.compare.max_abs_diff) << " | " << fmt(r.compare.mean_abs_diff) << " | "
     << fmt(r.compare.rms_diff) << " | " << fmt(r.compare.kl_mean) << " | " << fmt(r.compare.kl_max) << " | "
     << fmt(r.compare.top1_agreement) << " |\n\n"
     << "## Calibration (second half of the rows; T fitted on the first half)\n\n"
     << "| model | T | ECE | RMSCE | MCE | Brier | NLL | accuracy |\n|---|---|---|---|---|---|---|---|\n";
  for (const ModelQc* m : {&A, &B}) {
    const auto row = [&](const char* when, double t, const calib::CalibrationSummary& s) {
      md << "| " << report::markdown_text(m->name) << " " << when << " | " << fmt(t) << " | " << fmt(s.uniform.ece) << " | " << fmt(s.uniform.rmsce)
         << " | " << fmt(s.uniform.mce) << " | " << fmt(s.brier) << " | " << fmt(s.nll) << " | " << fmt(s.accuracy) << " |\n";
    };
    row("T=1", 1.0, m->calib.before);
    row("scaled", m->calib.fit.temperature, m->calib.after);
  }
  md << "\n## Long text (" << r.long_positions << " positions)\n\n"
     << "| model | entropy mean | entropy osc. index | entropy rms d2 | max-logit mean | max-logit osc. index | max-logit rms d2 | "
        "entropy drops | periodic |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const ModelQc* m : {&A, &B}) {
    const auto& s = m->stability;
    md << "| " << report::markdown_text(m->name) << " | " << fmt(s.entropy_stats.mean) << " | " << fmt(s.entropy_stats.oscillation_index) << " | "
       << fmt(s.entropy_stats.rms_d2) << " | " << fmt(s.max_logit_stats.mean) << " | "
       << fmt(s.max_logit_stats.oscillation_index) << " | " << fmt(s.max_logit_stats.rms_d2) << " | "
       << s.drops.positions.size() << " | " << (s.drops.periodic ? "yes (period " + fmt(s.drops.period) + ")" : "no")
       << " |\n";
  }
  const std::string base = svg_prefix.substr(svg_prefix.find_last_of('/') + 1);
  const auto file = [&](const char* ext) { return report::markdown_text(base + ext); };
  md << "\n## Plots\n\n- reliability diagrams: " << file(".reliability_a.svg") << ", " << file(".reliability_b.svg") << "\n"
     << "- entropy series: " << file(".entropy.svg") << "\n- max-logit series: " << file(".max_logit.svg") << "\n";
  return md.str();
}

/// Writes PREFIX.json, PREFIX.md and the SVG plots; returns the list of files written.
inline std::vector<std::string> write_qc_reports(const QcReport& r, const std::string& prefix) {
  std::vector<std::string> files;
  report::write_text_file(prefix + ".json", to_json(r).dump());
  files.push_back(prefix + ".json");
  report::write_text_file(prefix + ".md", to_markdown(r, prefix));
  files.push_back(prefix + ".md");
  for (const auto* m : {&r.a, &r.b}) {
    calib::SvgOptions o;
    o.title = "Reliability: " + m->name + " (T = 1, held-out half)";
    const std::string f = prefix + (m == &r.a ? ".reliability_a.svg" : ".reliability_b.svg");
    report::write_text_file(f, calib::reliability_svg(m->calib.before.uniform, o));
    files.push_back(f);
  }
  if (r.long_positions > 0) {
    calib::SeriesPlotOptions o;
    o.title = "Entropy along the text (nats)";
    o.subtitle = r.a.name + ": osc. index " + fmt(r.a.stability.entropy_stats.oscillation_index, 3) + ", " + r.b.name +
                 ": osc. index " + fmt(r.b.stability.entropy_stats.oscillation_index, 3) + "; dashed: entropy drops of " + r.b.name;
    o.y_label = "entropy";
    o.markers = r.b.stability.drops.positions;
    report::write_text_file(prefix + ".entropy.svg",
                            calib::series_svg({{r.a.name, r.a.stability.entropy, "#1f77b4"},
                                               {r.b.name, r.b.stability.entropy, "#ff7f0e"}}, o));
    files.push_back(prefix + ".entropy.svg");
    o.title = "Max logit along the text";
    o.subtitle = r.a.name + ": osc. index " + fmt(r.a.stability.max_logit_stats.oscillation_index, 3) + ", " + r.b.name +
                 ": osc. index " + fmt(r.b.stability.max_logit_stats.oscillation_index, 3);
    o.y_label = "max logit";
    o.markers.clear();
    report::write_text_file(prefix + ".max_logit.svg",
                            calib::series_svg({{r.a.name, r.a.stability.max_logit, "#1f77b4"},
                                               {r.b.name, r.b.stability.max_logit, "#ff7f0e"}}, o));
    files.push_back(prefix + ".max_logit.svg");
  }
  return files;
}

}  // namespace so8t::llm

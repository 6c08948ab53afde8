// so8t/llm/pipeline/bake_qc.hpp: so8t_bake's quality control: the gated checkpoint's forward against the baked
// weights, in memory and read back from the written file, on held-out windows; the bounds it enforces; its
// summary table and JSON / Markdown reports. Row comparison, targets and report pieces are qc.hpp's (the
// ones so8t_infer qc uses).
//
// Rows: every position of every window of eval_batches (row t predicts targets[t]; unlike qc.hpp's
// window_logits the last row of a window is kept, since both sides see the same full window). The forward is
// LlamaCpu<S>, the training code path: in double, so that forward rounding neither masks nor mimics a bake
// error; the same comparison with a float forward is reported for information (~1e-6 of forward noise).
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "so8t/calib.hpp"
#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/checkpoint.hpp"
#include "so8t/llm/model/gguf_writer.hpp"
#include "so8t/llm/pipeline/bake.hpp"
#include "so8t/llm/pipeline/qc.hpp"
#include "so8t/llm/train/llama_cpu.hpp"
#include "so8t/quant/type.hpp"
#include "so8t/report/calib_json.hpp"
#include "so8t/report/json.hpp"
#include "so8t/report/markdown.hpp"

namespace so8t::llm {

/// Rows of every window of `batches` for a training-code model (see the file comment).
template <class S>
BasicRowLogits<S> batch_logits(LlamaCpu<S>& m, const std::vector<Batch>& batches) {
  BasicRowLogits<S> r;
  r.vocab = std::size_t(m.config().vocab);
  for (const Batch& b : batches) {
    const std::vector<S> l = m.forward_logits(b.tokens.data(), b.B, b.T);
    r.logits.insert(r.logits.end(), l.begin(), l.end());
    r.labels.insert(r.labels.end(), b.targets.begin(), b.targets.end());
  }
  return r;
}

/// The baked params (bake(), checkpoint layout) in the gate_stack 0 layout: the gate tensors dropped, as
/// write_llama_gguf writes them.
inline std::vector<float> without_gate_tensors(const LlamaConfig& cfg, const std::vector<float>& baked) {
  LlamaConfig cfg0 = cfg;
  cfg0.gate_stack = 0;
  const ParamLayout src = llama_layout(cfg), dst = llama_layout(cfg0);
  if (baked.size() != src.total)
    throw InvalidArgument("so8t::llm::without_gate_tensors: " + std::to_string(baked.size()) +
                          " parameters, the config's layout has " + std::to_string(src.total));
  std::vector<float> out(dst.total);
  for (const ParamTensor& t : dst.tensors)
    std::copy_n(baked.data() + src.find(t.name)->offset, t.size(), out.data() + t.offset);
  return out;
}

struct BakeQcReport {
  std::string in, out, type, data;  ///< checkpoint, output file, "f32" / "f16", QC text source
  LlamaConfig cfg;                  ///< the checkpoint's (gate_stack > 0 when it has gates)
  calib::LogitComparison in_memory;   ///< reference vs the baked weights in memory (the fold alone)
  calib::LogitComparison file;        ///< reference vs the file read back (the targets apply here)
  calib::LogitComparison file_float;  ///< the same with a float forward, for information
  calib::DriftReport drift;           ///< of the gates the training forward uses
  std::vector<QcTarget> targets;
  std::size_t tokens() const { return file.tokens; }
  bool pass() const { return all_ok(targets); }
};

/// Runs the three comparisons and the gate drift; the caller names the report and sets its targets.
inline BakeQcReport run_bake_qc(const Checkpoint& ck, const std::vector<float>& baked, const LlamaGguf& back,
                                const std::vector<Batch>& batches) {
  BakeQcReport r;
  r.cfg = ck.cfg;
  LlamaConfig cfg0 = ck.cfg;
  cfg0.gate_stack = 0;
  const std::vector<float> mem_params = without_gate_tensors(ck.cfg, baked);
  auto compare = [&](auto zero) {
    using S = decltype(zero);
    LlamaCpu<S> pre(ck.cfg), mem(cfg0), file(back.cfg);
    pre.params.assign(ck.params.begin(), ck.params.end());
    mem.params.assign(mem_params.begin(), mem_params.end());
    file.params.assign(back.params.begin(), back.params.end());
    const BasicRowLogits<S> z_pre = batch_logits(pre, batches);
    return std::make_pair(compare_rows(z_pre, batch_logits(mem, batches)), compare_rows(z_pre, batch_logits(file, batches)));
  };
  std::tie(r.in_memory, r.file) = compare(0.0);
  r.file_float = compare(0.0f).second;
  r.drift = gate_drift(ck.cfg, ck.params.data());
  return r;
}

/// The bounds enforced on the file (so8t_bake.cpp's header says where they come from). f32: max |dz| <= 1e-5,
/// max KL <= 1e-6; f16: 1e-2, 1e-5 and top-1 agreement >= 0.99. max_dz / max_kl >= 0 replace the two bounds.
inline std::vector<QcTarget> bake_targets(quant::Type type, const calib::LogitComparison& file, double max_dz = -1,
                                          double max_kl = -1) {
  const bool f16 = type == quant::Type::f16;
  std::vector<QcTarget> t = {{"max |dz|", file.max_abs_diff, max_dz >= 0 ? max_dz : (f16 ? 1e-2 : 1e-5), true},
                             {"max KL", file.kl_max, max_kl >= 0 ? max_kl : (f16 ? 1e-5 : 1e-6), true}};
  if (f16) t.push_back({"top-1 agreement", file.top1_agreement, 0.99, false});
  return t;
}

// ---- reports ----

inline report::Json to_json(const BakeQcReport& r) {
  report::Json j = report::Json::object();
  j["in"] = r.in;
  j["out"] = r.out;
  j["type"] = r.type;
  j["gate_stack"] = r.cfg.gate_stack;
  j["qc_data"] = r.data;
  j["qc_tokens"] = r.tokens();
  j["qc_forward"] = "double";
  j["baked_in_memory"] = report::to_json(r.in_memory);
  j["baked_file"] = report::to_json(r.file);
  j["baked_file_float_forward"] = report::to_json(r.file_float);
  if (r.cfg.gate_stack > 0) j["gate_drift"] = to_json(r.drift);
  j["targets"] = to_json(r.targets);
  j["pass"] = r.pass();
  return j;
}

inline std::string to_markdown(const BakeQcReport& r) {
  using report::markdown_text;  // paths are user text
  std::string md = "# so8t_bake QC: " + markdown_text(r.in) + " -> " + markdown_text(r.out) + " (" + r.type + ")\n\n" +
                   "Reference: the gated checkpoint's forward; " + std::to_string(r.tokens()) + " held-out tokens of " +
                   markdown_text(r.data) + ".\n\n" +
                   "| model | max abs dz | mean abs dz | KL mean | KL max | top-1 |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& [name, c] : {std::make_pair(std::string("baked, in memory f32"), r.in_memory),
                                std::make_pair("baked file (" + r.type + ")", r.file)})
    md += "| " + name + " | " + fmt_sci(c.max_abs_diff) + " | " + fmt_sci(c.mean_abs_diff) + " | " + fmt_sci(c.kl_mean) +
          " | " + fmt_sci(c.kl_max) + " | " + fmt_fixed(c.top1_agreement) + " |\n";
  if (r.cfg.gate_stack > 0)
    md += "\nGate drift max " + fmt_sci(r.drift.max_error) + ", rms " + fmt_sci(r.drift.rms_error) + "\n";
  md += "\n| target | bound | measured | ok |\n| --- | --- | --- | --- |\n";
  for (const QcTarget& t : r.targets)
    md += "| " + markdown_text(t.what) + " | " + t.relation() + " " +
          fmt_sci(t.bound) + " | " + fmt_sci(t.measured) + " | " + (t.ok() ? "yes" : "**no**") + " |\n";
  md += std::string("\nResult: ") + (r.pass() ? "pass" : "FAIL (no output file written)") + "\n";
  return md;
}

namespace detail {
/// printf into a std::string (the summary's columns are printf widths).
__attribute__((format(printf, 2, 3))) inline void appendf(std::string& s, const char* format, ...) {
  va_list ap, ap2;
  va_start(ap, format);
  va_copy(ap2, ap);
  const int n = std::vsnprintf(nullptr, 0, format, ap);
  va_end(ap);
  if (n > 0) {
    const std::size_t at = s.size();
    s.resize(at + std::size_t(n) + 1);
    std::vsnprintf(&s[at], std::size_t(n) + 1, format, ap2);
    s.resize(at + std::size_t(n));
  }
  va_end(ap2);
}
}  // namespace detail

/// The summary so8t_bake prints: the comparison table, the gate drift, each target.
inline std::string summary_text(const BakeQcReport& r) {
  using detail::appendf;
  std::string s;
  appendf(s, "so8t_bake: %s -> %s (%s, gate_stack %d, %d layers x %d gate blocks)\n", r.in.c_str(), r.out.c_str(),
          r.type.c_str(), r.cfg.gate_stack, r.cfg.n_layers, r.cfg.gate_blocks());
  appendf(s, "QC on %zu held-out tokens of '%s' (%zu windows of %d), reference: gated checkpoint forward\n", r.tokens(),
          r.data.c_str(), r.tokens() / std::size_t(r.cfg.ctx), r.cfg.ctx);
  appendf(s, "  %-22s %12s %12s %12s %12s %8s\n", "model", "max|dz|", "mean|dz|", "KL mean", "KL max", "top-1");
  const auto row = [&](const std::string& what, const calib::LogitComparison& c) {
    appendf(s, "  %-22s %12.3e %12.3e %12.3e %12.3e %8.4f\n", what.c_str(), c.max_abs_diff, c.mean_abs_diff, c.kl_mean,
            c.kl_max, c.top1_agreement);
  };
  row("baked, in memory f32", r.in_memory);
  row("baked file (" + r.type + ")", r.file);
  row("  same, float forward", r.file_float);
  if (r.cfg.gate_stack > 0)
    appendf(s, "  gate drift ||R^T R - I||_F: max %.3e (layer %zu block %zu), rms %.3e, min det %.6f\n",
            r.drift.max_error, r.drift.worst_layer, r.drift.worst_block, r.drift.rms_error, r.drift.min_determinant);
  for (const QcTarget& t : r.targets)
    appendf(s, "  target %-16s %s %.1e: measured %.3e  %s\n", t.what.c_str(), t.relation(), t.bound, t.measured,
            t.ok() ? "ok" : "MISS");
  return s;
}

/// Writes PREFIX.json and PREFIX.md; returns the list of files written.
inline std::vector<std::string> write_bake_reports(const BakeQcReport& r, const std::string& prefix) {
  report::write_text_file(prefix + ".json", to_json(r).dump());
  report::write_text_file(prefix + ".md", to_markdown(r));
  return {prefix + ".json", prefix + ".md"};
}

}  // namespace so8t::llm

// so8t/llm/io/text_data.hpp: byte-level text corpus, documents, a held-out validation split and batches.
//
// A text is split into documents (DocSplit::line: every line is one document, e.g. one verse of the King
// James Bible; DocSplit::blank: paragraphs separated by blank lines; DocSplit::none: one document). Each
// document keeps its trailing newline(s). Documents are grouped into consecutive chunks of `chunk_docs`;
// every `val_every`-th chunk (the last of each group of val_every) goes to the validation split, the rest to
// training, so both splits cover the whole text. Within a split the documents are concatenated and each byte
// carries its document's id, which becomes the PET segment id, so PET never couples positions from two
// documents.
//
// The default corpus "kjv" is the King James Bible of Debian's bible-kjv package (apt-get install
// bible-kjv): its text is stored compressed in /usr/lib/bible.data and is read with the package's own
// program, `bible -f Gen1:1-Rev22:21` (one verse per line, "Ge1:1 In the beginning ..."); the verse
// reference before the first space is dropped. Any other argument is read as a plain text file.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/llm/train/rng.hpp"
#include <stdexcept>

namespace so8t::llm {

/// The text could not be read (missing file, bible-kjv not installed).
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DocSplit : int { line, blank, none };

inline DocSplit parse_doc_split(const std::string& s) {
  if (s == "line") return DocSplit::line;
  if (s == "blank") return DocSplit::blank;
  if (s == "none") return DocSplit::none;
  throw InvalidArgument("so8t::llm::parse_doc_split: '" + s + "' (line, blank, none)");
}

inline constexpr const char* kKjvCommand = "bible -f Gen1:1-Rev22:21";

/// The King James Bible through the bible-kjv package's `bible` program, verse references removed.
inline std::string load_kjv() {
  std::FILE* p = ::popen((std::string(kKjvCommand) + " 2>/dev/null").c_str(), "r");
  if (!p) throw DataError("so8t::llm::load_kjv: cannot run '" + std::string(kKjvCommand) + "'");
  std::string raw;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) raw.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0 || raw.size() < 1000)
    throw DataError("so8t::llm::load_kjv: '" + std::string(kKjvCommand) + "' failed (exit status " + std::to_string(rc) +
                  ", " + std::to_string(raw.size()) + " bytes); install Debian's bible-kjv package "
                  "(apt-get install bible-kjv) or pass a text file");
  std::string out;
  out.reserve(raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t end = raw.find('\n', pos);
    if (end == std::string::npos) end = raw.size();
    std::size_t sp = raw.find(' ', pos);
    const std::size_t start = (sp != std::string::npos && sp < end) ? sp + 1 : pos;
    out.append(raw, start, end - start);
    out.push_back('\n');
    pos = end + 1;
  }
  return out;
}

/// "kjv" (see the file comment) or a text file's bytes.
inline std::string load_text(const std::string& source) {
  if (source == "kjv") return load_kjv();
  std::ifstream f(source, std::ios::binary);
  if (!f) throw DataError("so8t::llm::load_text: cannot open '" + source + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// [begin, end) byte ranges of the documents of `text` (empty documents are dropped).
inline std::vector<std::pair<std::size_t, std::size_t>> split_documents(const std::string& text, DocSplit mode) {
  std::vector<std::pair<std::size_t, std::size_t>> docs;
  if (mode == DocSplit::none) {
    if (!text.empty()) docs.emplace_back(0, text.size());
    return docs;
  }
  std::size_t begin = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size() - 1;
    std::size_t end = nl + 1;
    if (mode == DocSplit::blank) {
      // a document ends at a newline followed by one or more empty lines (which it keeps)
      if (end < text.size() && text[end] != '\n') { pos = end; continue; }
      while (end < text.size() && text[end] == '\n') ++end;
    }
    docs.emplace_back(begin, end);
    begin = pos = end;
  }
  return docs;
}

/// One split: bytes and, per byte, its document id (increasing along the stream).
struct Corpus {
  std::vector<std::uint8_t> bytes;
  std::vector<std::int32_t> doc;
  std::size_t documents = 0;
  std::size_t size() const { return bytes.size(); }
};

struct SplitCorpus {
  Corpus train, val;
};

namespace detail {
inline void check_split(int val_every, int chunk_docs) {
  if (val_every < 2 || chunk_docs < 1)
    throw InvalidArgument("so8t::llm::split_train_val: val_every = " + std::to_string(val_every) +
                          " (>= 2), chunk_docs = " + std::to_string(chunk_docs) + " (>= 1)");
}
/// Whether document i goes to the validation split: the last of every val_every chunks of chunk_docs.
inline bool is_validation_document(std::size_t i, int val_every, int chunk_docs) {
  return (i / std::size_t(chunk_docs)) % std::size_t(val_every) == std::size_t(val_every - 1);
}
inline void append_document(Corpus& c, const std::string& text, std::size_t begin, std::size_t end) {
  const std::int32_t id = std::int32_t(c.documents++);
  for (std::size_t k = begin; k < end; ++k) {
    c.bytes.push_back(std::uint8_t(text[k]));
    c.doc.push_back(id);
  }
}
}  // namespace detail

inline SplitCorpus split_train_val(const std::string& text, DocSplit mode, int val_every = 10, int chunk_docs = 64) {
  detail::check_split(val_every, chunk_docs);
  const auto docs = split_documents(text, mode);
  SplitCorpus s;
  for (std::size_t i = 0; i < docs.size(); ++i)
    detail::append_document(detail::is_validation_document(i, val_every, chunk_docs) ? s.val : s.train, text,
                            docs[i].first, docs[i].second);
  return s;
}

/// A batch of B windows of T tokens: tokens[b, t] = byte s_b + t, targets = the next byte, segments = doc ids.
struct Batch {
  int B = 0, T = 0;
  std::vector<std::int32_t> tokens, targets, segments;
};

inline void check_corpus(const Corpus& c, int T, const char* what) {
  if (c.size() < std::size_t(T) + 1)
    throw InvalidArgument(std::string("so8t::llm: the ") + what + " split has " + std::to_string(c.size()) +
                          " bytes, fewer than context + 1 = " + std::to_string(T + 1));
}

inline void fill_window(const Corpus& c, std::size_t start, int T, Batch& b) {
  for (int t = 0; t < T; ++t) {
    b.tokens.push_back(c.bytes[start + t]);
    b.targets.push_back(c.bytes[start + t + 1]);
    b.segments.push_back(c.doc[start + t]);
  }
}

/// B windows at uniformly random starts (drawn from rng).
inline Batch random_batch(const Corpus& c, int B, int T, Rng& rng) {
  check_corpus(c, T, "training");
  Batch b;
  b.B = B;
  b.T = T;
  for (int i = 0; i < B; ++i) fill_window(c, std::size_t(rng.below(c.size() - std::size_t(T))), T, b);
  return b;
}

/// Deterministic evaluation batches: consecutive non-overlapping windows from the start, at most
/// max_windows in all, B per batch (the last batch may be smaller).
inline std::vector<Batch> eval_batches(const Corpus& c, int B, int T, std::size_t max_windows) {
  check_corpus(c, T, "validation");
  std::vector<Batch> out;
  const std::size_t windows = std::min(max_windows, (c.size() - 1) / std::size_t(T));
  for (std::size_t w = 0; w < windows; ++w) {
    if (out.empty() || out.back().B == B) {
      out.emplace_back();
      out.back().T = T;
    }
    fill_window(c, w * std::size_t(T), T, out.back());
    ++out.back().B;
  }
  return out;
}

/// The validation split of split_train_val(load_text(source), mode, ...) up to the first document that brings
/// it to `min_bytes` (all of it when it is shorter), read `part_bytes` at a time: a tool that evaluates a few
/// thousand held-out bytes of a 200 MB file never holds the file. Documents are split as split_documents
/// does on the whole text: each part's last document is carried into the next part until the text ends, and
/// splitting restarts only at document boundaries, so the result is a prefix of the whole-text split.
inline Corpus validation_prefix(const std::string& source, DocSplit mode, std::size_t min_bytes,
                                std::size_t part_bytes = std::size_t(1) << 20, int val_every = 10, int chunk_docs = 64) {
  detail::check_split(val_every, chunk_docs);
  if (part_bytes == 0) throw InvalidArgument("so8t::llm::validation_prefix: part_bytes = 0");
  if (source == "kjv") return split_train_val(load_text(source), mode, val_every, chunk_docs).val;
  std::ifstream f(source, std::ios::binary);
  if (!f) throw DataError("so8t::llm::load_text: cannot open '" + source + "': " + std::strerror(errno));
  Corpus val;
  if (mode == DocSplit::none) return val;  // one document, number 0, which is never a validation document
  std::string buf;
  std::size_t doc_index = 0;
  for (;;) {
    const std::size_t kept = buf.size();
    buf.resize(kept + part_bytes);
    f.read(buf.data() + kept, std::streamsize(part_bytes));
    buf.resize(kept + std::size_t(f.gcount()));
    if (f.bad()) throw DataError("so8t::llm::load_text: cannot read '" + source + "': " + std::strerror(errno));
    const bool end = f.peek() == std::char_traits<char>::eof();
    const auto docs = split_documents(buf, mode);
    const std::size_t complete = end || docs.empty() ? docs.size() : docs.size() - 1;
    for (std::size_t i = 0; i < complete; ++i, ++doc_index)
      if (detail::is_validation_document(doc_index, val_every, chunk_docs))
        detail::append_document(val, buf, docs[i].first, docs[i].second);
    if (end || val.size() >= min_bytes) return val;
    buf.erase(0, complete < docs.size() ? docs[complete].first : buf.size());
  }
}

/// Held-out text for evaluation tools (so8t_bake, so8t_quantize --calibrate, so8t_infer): "kjv" = the validation
/// split that so8t_train holds out (split_train_val with its defaults, one verse per document), concatenated;
/// anything else is a file's bytes with one trailing newline removed (as llama-perplexity -f does).
inline std::string load_held_out_text(const std::string& source) {
  if (source == "kjv") {
    const SplitCorpus s = split_train_val(load_kjv(), DocSplit::line);
    return std::string(s.val.bytes.begin(), s.val.bytes.end());
  }
  std::string t = load_text(source);
  if (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

/// load_held_out_text read in parts that end after a newline (the last part at the end of the text, without
/// the trailing newline load_held_out_text removes), so that a tool that needs the first N tokens of a 200 MB
/// file never holds the whole file: each part is about `part_bytes` long, extended to the next newline.
/// part_bytes = 0 reads the text as one part.
class HeldOutParts {
 public:
  explicit HeldOutParts(const std::string& source, std::size_t part_bytes) : part_bytes_(part_bytes) {
    if (source == "kjv" || part_bytes == 0) {
      whole_ = load_held_out_text(source);
      in_memory_ = true;
      return;
    }
    file_.open(source, std::ios::binary);
    if (!file_) throw DataError("so8t::llm::load_text: cannot open '" + source + "': " + std::strerror(errno));
    path_ = source;
  }

  /// The next part into `part`; false when the text is used up.
  bool next(std::string& part) {
    part.clear();
    if (in_memory_) {
      if (pos_ >= whole_.size()) return false;
      std::size_t end = whole_.size();
      if (part_bytes_ > 0 && pos_ + part_bytes_ < whole_.size()) {
        const std::size_t nl = whole_.find('\n', pos_ + part_bytes_ - 1);
        end = nl == std::string::npos ? whole_.size() : nl + 1;
      }
      part.assign(whole_, pos_, end - pos_);
      pos_ = end;
      return !part.empty();
    }
    if (done_) return false;
    part.resize(part_bytes_);
    file_.read(part.data(), std::streamsize(part_bytes_));
    part.resize(std::size_t(file_.gcount()));
    if (file_.bad()) throw DataError("so8t::llm::load_text: cannot read '" + path_ + "': " + std::strerror(errno));
    if (!part.empty() && part.back() != '\n') {
      std::string rest;
      if (std::getline(file_, rest)) {
        part += rest;
        if (!file_.eof()) part += '\n';
      }
    }
    if (file_.peek() == std::char_traits<char>::eof()) {
      done_ = true;
      if (!part.empty() && part.back() == '\n') part.pop_back();  // as load_held_out_text
    }
    return !part.empty();
  }

 private:
  std::size_t part_bytes_;
  bool in_memory_ = false, done_ = false;
  std::string whole_, path_;
  std::size_t pos_ = 0;
  std::ifstream file_;
};

}  // namespace so8t::llm

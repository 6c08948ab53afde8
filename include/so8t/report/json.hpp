// so8t/report/json.hpp: a small ordered JSON value for the pipeline's reports (so8t_bake, so8t_infer qc).
//
// Objects keep insertion order so reports read top-down. Non-finite numbers are written as null (JSON has
// no NaN/Inf); doubles with 17 significant digits so values read back exactly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gguf/atomic_file.hpp"

namespace so8t::report {

class Json {
 public:
  enum class Kind { null, boolean, number, integer, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}                                        // NOLINT
  Json(bool b) : kind_(Kind::boolean), b_(b) {}                  // NOLINT
  Json(double d) : kind_(Kind::number), d_(d) {}                 // NOLINT
  Json(float d) : kind_(Kind::number), d_(double(d)) {}          // NOLINT
  Json(int i) : kind_(Kind::integer), i_(i) {}                   // NOLINT
  Json(long i) : kind_(Kind::integer), i_(i) {}                  // NOLINT
  Json(long long i) : kind_(Kind::integer), i_(i) {}             // NOLINT
  Json(unsigned i) : kind_(Kind::integer), i_(static_cast<long long>(i)) {}            // NOLINT
  Json(unsigned long i) : kind_(Kind::integer), i_(static_cast<long long>(i)) {}       // NOLINT
  Json(unsigned long long i) : kind_(Kind::integer), i_(static_cast<long long>(i)) {}  // NOLINT
  Json(const char* s) : kind_(Kind::string), s_(s) {}            // NOLINT
  Json(std::string s) : kind_(Kind::string), s_(std::move(s)) {} // NOLINT
  template <class T>
  Json(const std::vector<T>& v) : kind_(Kind::array) {           // NOLINT
    for (const auto& x : v) items_.emplace_back(Json(x));
  }

  static Json object() { Json j; j.kind_ = Kind::object; return j; }
  static Json array() { Json j; j.kind_ = Kind::array; return j; }

  /// Object member (inserted at the end, or replaced in place).
  Json& operator[](const std::string& key) {
    if (kind_ == Kind::null) kind_ = Kind::object;
    if (kind_ != Kind::object) throw InvalidArgument("so8t::report::Json: '" + key + "' on a value that is not an object");
    for (auto& kv : members_)
      if (kv.first == key) return kv.second;
    members_.emplace_back(key, Json());
    return members_.back().second;
  }
  void push_back(Json v) {
    if (kind_ == Kind::null) kind_ = Kind::array;
    if (kind_ != Kind::array) throw InvalidArgument("so8t::report::Json: push_back on a value that is not an array");
    items_.push_back(std::move(v));
  }

  std::string dump(int indent = 2) const {
    std::string out;
    write(out, indent, 0);
    out.push_back('\n');
    return out;
  }

 private:
  static void escape(std::string& out, const std::string& s) {
    out.push_back('"');
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out.push_back(char(c));
          }
      }
    }
    out.push_back('"');
  }
  void write(std::string& out, int indent, int depth) const {
    const std::string pad = indent > 0 ? "\n" + std::string(std::size_t(indent * (depth + 1)), ' ') : "";
    const std::string end = indent > 0 ? "\n" + std::string(std::size_t(indent * depth), ' ') : "";
    switch (kind_) {
      case Kind::null: out += "null"; break;
      case Kind::boolean: out += b_ ? "true" : "false"; break;
      case Kind::integer: out += std::to_string(i_); break;
      case Kind::number: {
        if (!std::isfinite(d_)) { out += "null"; break; }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d_);
        out += buf;
        break;
      }
      case Kind::string: escape(out, s_); break;
      case Kind::array: {
        // short arrays of scalars on one line
        bool flat = items_.size() > 16;
        for (const auto& x : items_) flat = flat || (x.kind_ != Kind::array && x.kind_ != Kind::object);
        out.push_back('[');
        for (std::size_t i = 0; i < items_.size(); ++i) {
          if (i) out += flat ? ", " : ",";
          if (!flat) out += pad;
          items_[i].write(out, indent, depth + 1);
        }
        if (!flat && !items_.empty()) out += end;
        out.push_back(']');
        break;
      }
      case Kind::object: {
        out.push_back('{');
        for (std::size_t i = 0; i < members_.size(); ++i) {
          if (i) out.push_back(',');
          out += pad;
          escape(out, members_[i].first);
          out += ": ";
          members_[i].second.write(out, indent, depth + 1);
        }
        if (!members_.empty()) out += end;
        out.push_back('}');
        break;
      }
    }
  }

  Kind kind_ = Kind::null;
  bool b_ = false;
  double d_ = 0.0;
  long long i_ = 0;
  std::string s_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

/// Writes `text` to `path` through a uniquely named, signal-registered temporary file and a rename
/// (gguf::AtomicFile), so a reader never sees half a report and an interrupted run leaves no working file.
/// Throws gguf::IoError (a std::runtime_error) naming the path.
inline void write_text_file(const std::string& path, const std::string& text) {
  gguf::AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace so8t::report

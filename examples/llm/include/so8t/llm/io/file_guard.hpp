// so8t/llm/io/file_guard.hpp: what every example program checks before it does any work with files
// (namespace so8t::llm::io).
//
//   same_file(a, b)                 the same file by device and inode (or, for a file not yet there, the same
//                                   canonical path): "./x.gguf" and "x.gguf", a hard link, a symlink
//   check_distinct(inputs, outputs) every output against every input and every other output; a clash is a
//                                   cli::UsageError naming both options and the path
//   check_writable(option, path)    the output's folder exists and is writable, the output is not a folder;
//                                   a failure names the option, the path and errno's text (IoError)
//   report_stale_temps(prog, path)  names the "<path>.tmp.XXXXXX" files a killed run left (SIGKILL cannot be
//                                   caught), on stderr; they are not removed: another run may own them
//   TempPath(dest)                  a new empty file with a unique name (O_EXCL) in dest's folder, registered
//                                   for removal on SIGINT / SIGTERM / SIGHUP, removed on destruction unless
//                                   commit() renamed it onto dest
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "so8t/gguf/error.hpp"
#include "so8t/gguf/temp_registry.hpp"
#include "so8t/llm/io/cli.hpp"

namespace so8t::llm::io {

/// A path given to an option: {"--out", "model.gguf"}. An empty path (option not given) is skipped.
struct NamedPath {
  std::string option;
  std::string path;
};

inline bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  const bool ea = ::stat(a.c_str(), &sa) == 0, eb = ::stat(b.c_str(), &sb) == 0;
  if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ea != eb) return false;
  std::error_code e1, e2;
  const auto ca = std::filesystem::weakly_canonical(a, e1), cb = std::filesystem::weakly_canonical(b, e2);
  return !e1 && !e2 && ca == cb;
}

/// Throws cli::UsageError when an output is an input or another output.
inline void check_distinct(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& o = outputs[i];
    if (o.path.empty()) continue;
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && same_file(o.path, in.path))
        throw cli::UsageError(o.option + " '" + o.path + "' is the same file as " + in.option + " '" + in.path +
                              "'; it would be overwritten");
    for (std::size_t j = 0; j < i; ++j)
      if (!outputs[j].path.empty() && same_file(o.path, outputs[j].path))
        throw cli::UsageError(o.option + " '" + o.path + "' and " + outputs[j].option + " '" + outputs[j].path +
                              "' are the same file");
  }
}

/// Throws gguf::IoError unless path can be created or replaced: its folder exists and is writable, and path
/// is not a folder.
inline void check_writable(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw gguf::IoError(option + " '" + path + "' is a folder, not a file", EISDIR);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir, ec))
    throw gguf::IoError(option + " '" + path + "': folder '" + dir.string() + "' does not exist", ENOENT);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    const int e = errno;
    throw gguf::IoError(option + " '" + path + "': cannot write in folder '" + dir.string() + "': " +
                            std::strerror(e), e);
  }
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0) {
    const int e = errno;
    throw gguf::IoError(option + " '" + path + "' cannot be replaced: " + std::strerror(e), e);
  }
}

/// Prints one line per "<path>.tmp.XXXXXX" left in path's folder by an earlier run that was killed.
inline void report_stale_temps(const char* prog, const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0)
      std::fprintf(stderr, "%s: note: '%s' was left by an earlier run that was killed; remove it\n", prog,
                   it->path().string().c_str());
  }
}

/// A working file "<dest>.tmp.XXXXXX" (unique, created empty) in dest's folder; see the header comment.
class TempPath {
 public:
  explicit TempPath(const std::string& dest) : dest_(dest) {
    gguf::RegisteredTemp t = gguf::create_registered_temp(dest, 0600);
    if (t.fd < 0) {
      const int e = errno;
      throw gguf::IoError("cannot create a working file next to '" + dest + "': " + std::strerror(e), e);
    }
    ::close(t.fd);
    path_ = std::move(t.path);
    slot_ = t.slot;
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  ~TempPath() {
    if (!path_.empty()) ::unlink(path_.c_str());
    gguf::unregister_temp(slot_);
  }
  const std::string& path() const { return path_; }
  /// Renames the working file onto the destination.
  void commit() {
    if (std::rename(path_.c_str(), dest_.c_str()) != 0) {
      const int e = errno;
      throw gguf::IoError("cannot rename '" + path_ + "' to '" + dest_ + "': " + std::strerror(e), e);
    }
    path_.clear();
    gguf::unregister_temp(slot_);
    slot_ = -1;
  }

 private:
  std::string dest_, path_;
  int slot_ = -1;
};

}  // namespace so8t::llm::io

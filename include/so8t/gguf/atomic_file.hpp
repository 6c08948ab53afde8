// so8t/gguf/atomic_file.hpp: write a file under a temporary name and rename it into place on commit.
//
// The temporary file lives in the destination's directory (rename is only atomic within one file system),
// is fsync'ed before the rename, and is unlinked if the writer is destroyed without commit() (an exception,
// a full disk, a killed producer). So the destination holds either its old content or the complete new file,
// never half of one. The temporary name is registered (so8t/gguf/temp_registry.hpp) so that a program that
// calls remove_temps_on_signal() also leaves none behind when it is interrupted.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "so8t/gguf/error.hpp"
#include "so8t/gguf/temp_registry.hpp"

#if !(defined(__unix__) || defined(__APPLE__))
#  error "so8t/gguf/atomic_file.hpp needs POSIX (open O_EXCL, fsync, rename)"
#endif
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace so8t::gguf {

class AtomicFile {
 public:
  /// Creates "<destination>.tmp.XXXXXX" next to the destination. Throws IoError.
  explicit AtomicFile(std::string destination) : destination_(std::move(destination)) {
    RegisteredTemp t = create_registered_temp(destination_, 0644);  // a model file is normally world-readable
    if (t.fd < 0) {
      const int e = errno;
      throw IoError("gguf: cannot create a temporary file next to '" + destination_ + "': " + std::strerror(e), e);
    }
    fd_ = t.fd;
    temp_path_ = std::move(t.path);
    slot_ = t.slot;  // removed by remove_temps_on_signal()'s handler if the process is killed
    buffer_.reserve(buffer_bytes);
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() { abandon(); }

  const std::string& temp_path() const noexcept { return temp_path_; }
  const std::string& destination() const noexcept { return destination_; }
  /// Bytes accepted so far.
  std::uint64_t size() const noexcept { return written_ + buffer_.size(); }

  void write(const void* data, std::size_t n) {
    if (fd_ < 0) throw IoError("gguf: write after commit or failure", EBADF);
    const auto* p = static_cast<const std::uint8_t*>(data);
    if (buffer_.size() + n <= buffer_bytes) {  // small pieces (header fields, padding) are batched
      buffer_.insert(buffer_.end(), p, p + n);
      return;
    }
    flush();
    if (n >= buffer_bytes) {
      write_all(p, n);  // large tensors go straight through
    } else {
      buffer_.insert(buffer_.end(), p, p + n);
    }
  }

  /// Flushes, fsyncs and renames the temporary file onto the destination. Throws IoError (the temporary
  /// file is then removed).
  void commit() {
    flush();
    if (::fsync(fd_) != 0) fail("fsync");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close");
    if (::rename(temp_path_.c_str(), destination_.c_str()) != 0) fail("rename");
    temp_path_.clear();
    unregister_temp(slot_);
    slot_ = -1;
  }

  /// Closes and removes the temporary file (no-op after commit).
  void abandon() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    temp_path_.clear();
    unregister_temp(slot_);
    slot_ = -1;
  }

 private:
  static constexpr std::size_t buffer_bytes = std::size_t{1} << 20;

  [[noreturn]] void fail(const char* what) {
    const int e = errno;
    abandon();
    throw IoError(std::string("gguf: ") + what + " failed while writing '" + destination_ + "': " + std::strerror(e), e);
  }
  void flush() {
    if (!buffer_.empty()) write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  void write_all(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ::ssize_t k = ::write(fd_, p, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        fail("write");
      }
      if (k == 0) {
        errno = EIO;
        fail("write");
      }
      p += k;
      n -= static_cast<std::size_t>(k);
      written_ += static_cast<std::uint64_t>(k);
    }
  }

  std::string destination_;
  std::string temp_path_;
  int fd_ = -1;
  int slot_ = -1;
  std::uint64_t written_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace so8t::gguf

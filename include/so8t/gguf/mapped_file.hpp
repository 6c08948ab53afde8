// so8t/gguf/mapped_file.hpp: a read-only memory map of a whole file (POSIX mmap), or a heap copy elsewhere.
//
// The reader hands out pointers into this mapping instead of copying tensors. Note: like every mmap-based
// loader, a file truncated by another process while mapped makes later accesses fault (SIGBUS); so8t does
// not guard against concurrent modification.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "so8t/gguf/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#  define SO8T_GGUF_HAVE_MMAP 1
#else
#  include <fstream>
#  define SO8T_GGUF_HAVE_MMAP 0
#endif

namespace so8t::gguf {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path) { open(path); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept { swap(o); }
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  ~MappedFile() { release(); }

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void swap(MappedFile& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
    std::swap(copy_, o.copy_);
  }

#if SO8T_GGUF_HAVE_MMAP
  void open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("gguf: cannot open '" + path + "': " + std::strerror(errno), errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      throw IoError("gguf: cannot stat '" + path + "': " + std::strerror(e), e);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw IoError("gguf: '" + path + "' is not a regular file", EINVAL);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {  // mmap of 0 bytes fails; an empty file is simply "truncated" for the parser
      ::close(fd);
      data_ = reinterpret_cast<const std::uint8_t*>("");
      return;
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);  // the mapping keeps the file alive
    if (p == MAP_FAILED) throw IoError("gguf: cannot mmap '" + path + "': " + std::strerror(e), e);
    data_ = static_cast<const std::uint8_t*>(p);
    mapped_ = true;
  }
  void release() noexcept {
    if (mapped_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
    mapped_ = false;
    copy_.clear();
  }
#else
  void open(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("gguf: cannot open '" + path + "'", 0);
    copy_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    data_ = copy_.data();
    size_ = copy_.size();
  }
  void release() noexcept {
    data_ = nullptr;
    size_ = 0;
    copy_.clear();
  }
#endif

  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::uint8_t> copy_;
};

}  // namespace so8t::gguf

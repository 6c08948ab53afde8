// so8t/gguf/temp_registry.hpp: the temporary files this process has open, so that a signal handler can
// remove them (namespace so8t::gguf).
//
//   create_registered_temp(dest, mode)            creates "<dest>.tmp.XXXXXX" with its name registered *before*
//                                                 the file exists (AtomicFile and the application's TempPath)
//   register_temp(path) / unregister_temp(slot)   the table itself
//   unlink_registered_temps()                     async-signal-safe: unlink(2) on every registered name
//   remove_temps_on_signal()                      installs handlers for SIGINT, SIGTERM, SIGHUP that unlink the
//                                                 registered files, then die of the same signal (exit status
//                                                 128 + N as without the handler)
//   report_bus_error_on_mapped_files()            installs a SIGBUS handler: a file the reader maps (gguf::Reader)
//                                                 that is truncated while in use makes the next read of a lost
//                                                 page raise SIGBUS; the handler unlinks the temporaries, writes
//                                                 one line saying so and exits with status 1 (instead of "Bus
//                                                 error" and a core dump)
//
// Registration comes first because a signal that falls between creating a file and registering its name
// leaves the file behind (mkstemp picks the name and creates the file in one call, so it cannot be used):
// a registered name whose file does not exist yet costs the handler one failed unlink.
// A fixed table of plain char arrays (no allocation, no locks) because the handler may run at any point of
// the program; a slot is published with a release store after its name is written. SIGKILL cannot be caught:
// what it leaves is found by the next run (so8t/llm/io/file_guard.hpp reports stale temporaries).
#pragma once

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace so8t::gguf {

namespace detail {

inline constexpr int kTempSlots = 64;
inline constexpr std::size_t kTempPathBytes = 1024;

struct TempSlot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 live
  char path[kTempPathBytes];
};

inline TempSlot g_temp_slots[kTempSlots];

}  // namespace detail

/// Registers path for removal on a signal; returns the slot (-1 when the table is full or the name too long:
/// the file is then only removed by its owner's destructor).
inline int register_temp(const std::string& path) noexcept {
  if (path.size() + 1 > detail::kTempPathBytes) return -1;
  for (int i = 0; i < detail::kTempSlots; ++i) {
    int expected = 0;
    detail::TempSlot& s = detail::g_temp_slots[i];
    if (s.state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      std::memcpy(s.path, path.c_str(), path.size() + 1);
      s.state.store(2, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

inline void unregister_temp(int slot) noexcept {
  if (slot >= 0 && slot < detail::kTempSlots) detail::g_temp_slots[slot].state.store(0, std::memory_order_release);
}

/// A working file made by create_registered_temp: fd < 0 means it failed (errno says why); slot is -1 when the
/// table was full (the owner's destructor still removes the file).
struct RegisteredTemp {
  int fd = -1;
  std::string path;
  int slot = -1;
};

namespace detail {
/// Six letters or digits, different on every call of the process and across processes (pid, clock, counter
/// through a splitmix64 finaliser); collisions are handled by O_EXCL.
inline std::string temp_suffix() {
  static std::atomic<std::uint64_t> counter{0};
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::uint64_t x = (std::uint64_t(::getpid()) << 40) ^ (std::uint64_t(ts.tv_sec) << 20) ^ std::uint64_t(ts.tv_nsec) ^
                    (counter.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(6, 'X');
  for (char& c : s) {
    c = kAlphabet[x % 62];
    x /= 62;
  }
  return s;
}
}  // namespace detail

/// Creates "<destination>.tmp.XXXXXX" (O_CREAT | O_EXCL, permissions exactly `mode`), registering the name
/// before the file is created so that a signal at any point leaves nothing behind. Retries on a name clash.
inline RegisteredTemp create_registered_temp(const std::string& destination, ::mode_t mode) {
  RegisteredTemp t;
  for (int attempt = 0; attempt < 128; ++attempt) {
    t.path = destination + ".tmp." + detail::temp_suffix();
    t.slot = register_temp(t.path);
    t.fd = ::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (t.fd >= 0) {
      ::fchmod(t.fd, mode);  // exact permissions, whatever the umask (as mkstemp's 0600 was exact)
      return t;
    }
    const int e = errno;
    unregister_temp(t.slot);
    t.slot = -1;
    errno = e;
    if (e != EEXIST) break;
  }
  t.path.clear();
  return t;
}

/// unlink(2) on every registered temporary file (async-signal-safe).
inline void unlink_registered_temps() noexcept {
  for (int i = 0; i < detail::kTempSlots; ++i) {
    detail::TempSlot& s = detail::g_temp_slots[i];
    if (s.state.load(std::memory_order_acquire) == 2) ::unlink(s.path);
  }
}

namespace detail {
extern "C" inline void so8t_temp_signal_handler(int sig) {
  unlink_registered_temps();
  std::raise(sig);  // SA_RESETHAND restored the default action: die of sig
}

inline constexpr char kBusErrorMessage[] =
    "so8t: SIGBUS: a memory-mapped input file was truncated or became unreadable while in use (was it "
    "rewritten during the run?); no output was written\n";

extern "C" inline void so8t_bus_error_handler(int) {
  unlink_registered_temps();
  const ssize_t ignored = ::write(STDERR_FILENO, kBusErrorMessage, sizeof kBusErrorMessage - 1);
  (void)ignored;
  ::_exit(1);
}

}  // namespace detail

/// Installs the SIGBUS handler described in the file comment (call once, early in main).
inline void report_bus_error_on_mapped_files() noexcept {
  struct sigaction sa {};
  sa.sa_handler = detail::so8t_bus_error_handler;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

/// Installs the cleanup handler for SIGINT, SIGTERM and SIGHUP (call once, early in main).
inline void remove_temps_on_signal() noexcept {
  struct sigaction sa {};
  sa.sa_handler = detail::so8t_temp_signal_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace so8t::gguf

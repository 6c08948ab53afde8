// so8t/gguf/temp_registry.hpp: the temporary files this process has open, so that a signal handler can
// remove them (namespace so8t::gguf).
//
//   register_temp(path) / unregister_temp(slot)   called by AtomicFile and the application's TempPath
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
// A fixed table of plain char arrays (no allocation, no locks) because the handler may run at any point of
// the program; a slot is published with a release store after its name is written. SIGKILL cannot be caught:
// what it leaves is found by the next run (so8t/llm/io/file_guard.hpp reports stale temporaries).
#pragma once

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>

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

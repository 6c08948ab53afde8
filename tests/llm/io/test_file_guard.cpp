// so8t/llm/io/file_guard.hpp and so8t/gguf/temp_registry.hpp: an output is never an input under another
// spelling (./x, a hard link, a symlink), outputs are checked writable before work, working files have
// unique names and vanish on destruction and on SIGTERM / SIGINT (checked in a forked child), stale
// working files of a killed run are reported, a mapped file truncated under the program gives one line (SIGBUS).
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "so8t/gguf/atomic_file.hpp"
#include "so8t/llm/io/file_guard.hpp"

namespace {

namespace fs = std::filesystem;
using so8t::llm::io::check_distinct;
using so8t::llm::io::check_writable;
using so8t::llm::io::same_file;
using so8t::llm::io::TempPath;

struct Dir {
  fs::path p;
  Dir() {
    std::string t = (fs::temp_directory_path() / "so8t_file_guard_XXXXXX").string();
    p = ::mkdtemp(t.data());
  }
  ~Dir() {
    std::error_code ec;
    fs::permissions(p, fs::perms::owner_all, ec);
    fs::remove_all(p, ec);
  }
  std::string file(const std::string& name, const std::string& text = "x") const {
    const fs::path f = p / name;
    std::ofstream(f) << text;
    return f.string();
  }
  std::size_t entries() const { return std::size_t(std::distance(fs::directory_iterator(p), fs::directory_iterator())); }
};

TEST(SameFile, SeesThroughSpellingsLinksAndMissingFiles) {
  Dir d;
  const std::string a = d.file("a.gguf"), b = d.file("b.gguf");
  EXPECT_TRUE(same_file(a, a));
  EXPECT_TRUE(same_file(a, (d.p / "." / "a.gguf").string()));
  EXPECT_TRUE(same_file(a, (d.p / "sub" / ".." / "a.gguf").string()) == false);  // sub/ does not exist
  fs::create_directory(d.p / "sub");
  EXPECT_TRUE(same_file(a, (d.p / "sub" / ".." / "a.gguf").string()));
  fs::create_hard_link(a, d.p / "hard.gguf");
  fs::create_symlink(a, d.p / "soft.gguf");
  EXPECT_TRUE(same_file(a, (d.p / "hard.gguf").string()));
  EXPECT_TRUE(same_file((d.p / "soft.gguf").string(), a));
  EXPECT_FALSE(same_file(a, b));
  EXPECT_FALSE(same_file(a, (d.p / "new.gguf").string()));
  EXPECT_TRUE(same_file((d.p / "new.gguf").string(), (d.p / "." / "new.gguf").string()));
}

TEST(CheckDistinct, NamesBothOptionsAndThePath) {
  Dir d;
  const std::string m = d.file("v.gguf");
  try {
    check_distinct({{"--model", m}, {"--text", ""}}, {{"--json", (d.p / "./v.gguf").string()}});
    FAIL() << "no error";
  } catch (const so8t::llm::cli::UsageError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("--json"), std::string::npos) << w;
    EXPECT_NE(w.find("--model"), std::string::npos) << w;
    EXPECT_NE(w.find("v.gguf"), std::string::npos) << w;
  }
  EXPECT_THROW(check_distinct({}, {{"--out", (d.p / "o").string()}, {"--report", (d.p / "./o").string()}}),
               so8t::llm::cli::UsageError);
  EXPECT_NO_THROW(check_distinct({{"--in", m}}, {{"--out", (d.p / "w.gguf").string()}, {"--json", ""}}));
}

TEST(CheckWritable, RefusesFoldersMissingFoldersAndReadOnlyFolders) {
  Dir d;
  EXPECT_NO_THROW(check_writable("--out", (d.p / "new.gguf").string()));
  EXPECT_THROW(check_writable("--out", d.p.string()), so8t::gguf::IoError);
  EXPECT_THROW(check_writable("--out", (d.p / "missing" / "x.gguf").string()), so8t::gguf::IoError);
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(d.p / "ro");
    fs::permissions(d.p / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    try {
      check_writable("--report", (d.p / "ro" / "r.json").string());
      FAIL() << "no error";
    } catch (const so8t::gguf::IoError& e) {
      EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos) << e.what();
    }
  }
}

TEST(TempPath, UniqueNamesRemovedUnlessCommitted) {
  Dir d;
  const std::string out = (d.p / "m.gguf").string();
  {
    TempPath t1(out), t2(out);
    EXPECT_NE(t1.path(), t2.path());
    EXPECT_TRUE(fs::exists(t1.path()));
    EXPECT_EQ(t1.path().rfind(out + ".tmp.", 0), 0u) << t1.path();
  }
  EXPECT_EQ(d.entries(), 0u);
  {
    TempPath t(out);
    std::ofstream(t.path()) << "model";
    t.commit();
  }
  std::ifstream f(out);
  std::string s;
  f >> s;
  EXPECT_EQ(s, "model");
  EXPECT_EQ(d.entries(), 1u);
}

// A child that holds a TempPath and an AtomicFile, installs the handler and is killed by `sig`: it must die of
// that signal and leave nothing behind.
void killed_child_leaves_nothing(int sig) {
  Dir d;
  const std::string out = (d.p / "q.gguf").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    so8t::gguf::remove_temps_on_signal();
    TempPath t(out);
    so8t::gguf::AtomicFile f((d.p / "other.gguf").string());
    f.write("abc", 3);
    ::raise(sig);
    ::_exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) {
    EXPECT_EQ(WTERMSIG(status), sig);
  }
  EXPECT_EQ(d.entries(), 0u) << "temporary files left after signal " << sig;
}

TEST(TempCleanup, SigtermAndSigintRemoveWorkingFiles) {
  killed_child_leaves_nothing(SIGTERM);
  killed_child_leaves_nothing(SIGINT);
}

TEST(TempCleanup, WithoutTheHandlerAKilledChildLeavesItsFile) {  // the control: the test above can fail
  Dir d;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGTERM, SIG_DFL);
    TempPath t((d.p / "q.gguf").string());
    ::raise(SIGTERM);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(d.entries(), 1u);
}

// A child that creates and drops working files in a loop is killed at a random moment, 100 times: every kill
// must leave the folder empty. A file created before its name is registered (mkstemp, then register_temp) is
// left behind by a kill that falls between the two; that is what the CI pipeline check once caught.
template <class Loop>
std::size_t kills_that_left_files(int kills, Loop loop) {
  std::size_t left = 0;
  unsigned seed = 12345;
  for (int k = 0; k < kills; ++k) {
    Dir d;
    int ready[2];
    if (::pipe(ready) != 0) return std::size_t(-1);
    const pid_t pid = ::fork();
    if (pid < 0) return std::size_t(-1);
    if (pid == 0) {
      ::close(ready[0]);
      so8t::gguf::remove_temps_on_signal();
      const char c = 'r';
      if (::write(ready[1], &c, 1) != 1) ::_exit(3);
      for (;;) loop(d);
    }
    ::close(ready[1]);
    char c = 0;
    const bool started = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    seed = seed * 1103515245u + 12345u;
    ::usleep(200 + (seed >> 8) % 1800);  // 0.2 to 2 ms into the loop
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!started || !WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) return std::size_t(-1);
    if (d.entries() != 0) ++left;
  }
  return left;
}

TEST(TempCleanup, AKillAtAnyMomentLeavesNothing) {
  const std::size_t left = kills_that_left_files(100, [](const Dir& d) {
    TempPath t((d.p / "q.gguf").string());
    so8t::gguf::AtomicFile f((d.p / "r.gguf").string());
    f.write("abc", 3);
  });
  EXPECT_EQ(left, 0u) << "of 100 kills";
}

TEST(TempCleanup, CreatingBeforeRegisteringLeavesFilesWhenKilledBetween) {  // the control of the test above
  const std::size_t left = kills_that_left_files(20, [](const Dir& d) {
    std::string name = (d.p / "q.gguf.tmp.XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    ::usleep(500);  // a wide window between creating the file and registering its name
    const int slot = so8t::gguf::register_temp(name);
    ::close(fd);
    ::unlink(name.c_str());
    so8t::gguf::unregister_temp(slot);
  });
  ASSERT_NE(left, std::size_t(-1));
  EXPECT_GE(left, 5u) << "of 20 kills";
}

// A file truncated while mapped: the next touch of a lost page raises SIGBUS; with the handler the child writes
// one line and exits 1, its working file removed (without it, it dies of SIGBUS: the control).
int truncated_mapping_child(bool handler, const Dir& d, std::string& stderr_text) {
  const std::string model = d.file("model.gguf", std::string(1 << 16, 'm'));
  int pipe_fd[2];
  if (::pipe(pipe_fd) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fd[1], STDERR_FILENO);
    ::close(pipe_fd[0]);
    if (handler) so8t::gguf::report_bus_error_on_mapped_files();
    else ::signal(SIGBUS, SIG_DFL);
    TempPath t((d.p / "out.gguf").string());
    const int fd = ::open(model.c_str(), O_RDONLY);
    void* map = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_PRIVATE, fd, 0);
    if (::truncate(model.c_str(), 0) != 0) ::_exit(3);
    volatile char c = static_cast<const char*>(map)[1 << 15];
    (void)c;
    ::_exit(0);  // not reached: the page is gone
  }
  ::close(pipe_fd[1]);
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipe_fd[0], buf, sizeof buf)) > 0) stderr_text.append(buf, std::size_t(n));
  ::close(pipe_fd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(BusError, TruncatedMappedFileGivesOneLineAndExit1) {
  {
    Dir d;
    std::string err;
    const int status = truncated_mapping_child(true, d, err);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_EQ(err, so8t::gguf::detail::kBusErrorMessage);
    EXPECT_EQ(d.entries(), 1u) << "the working file was left";  // model.gguf only
  }
  {
    Dir d;
    std::string err;
    const int status = truncated_mapping_child(false, d, err);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) << "status " << status;
  }
}

TEST(StaleTemps, ReportedOnStderrNotRemoved) {
  Dir d;
  const std::string out = (d.p / "m.gguf").string();
  d.file("m.gguf.tmp.Ab12Cd");
  d.file("m.gguf.tmp.toolong1");  // not a mkstemp name
  testing::internal::CaptureStderr();
  so8t::llm::io::report_stale_temps("prog", out);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("m.gguf.tmp.Ab12Cd"), std::string::npos) << err;
  EXPECT_EQ(err.find("toolong1"), std::string::npos) << err;
  EXPECT_EQ(d.entries(), 2u);
}

}  // namespace

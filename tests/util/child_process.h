// ChildProcess: one of our real binaries run as a child of the test, with
// stdout and stderr going to files the test can read while it runs.
//
// Started with fork/execv (no shell: arguments arrive exactly as given), stdin
// from /dev/null. The destructor kills (SIGKILL) and reaps a child that is
// still running, so an ASSERT that ends a test early leaves no process behind.
// Output files live in a TempDir owned by the ChildProcess.
//
// Not thread-safe: one test thread drives one ChildProcess.
#ifndef HEALTHWIRE_TESTS_UTIL_CHILD_PROCESS_H_
#define HEALTHWIRE_TESTS_UTIL_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace testing {

class ChildProcess {
 public:
  struct Options {
    // Extra "NAME=value" environment entries for the child.
    std::vector<std::string> env;
    // Write stdout into the stderr file too (servers: one log to read).
    bool stdout_to_stderr = false;
  };

  // `binary` is a runfiles-relative path such as "tools/hwctl/hwctl".
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& binary,
                                                             std::vector<std::string> args,
                                                             const Options& options);
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& binary,
                                                             std::vector<std::string> args);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // The folder the output files are in; free for the caller's files too.
  const TempDir& dir() const { return *dir_; }

  // Whether the child exited (reaps it); `*exit_code` as Wait returns it.
  bool Exited(int* exit_code);
  // Waits for the exit: the exit code, or 128 + signal number when killed by
  // a signal; DeadlineExceeded (child left running) after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::Seconds(60));
  // Sends `signal` (nothing when the child is gone).
  void Signal(int signal_number);
  // Sends `signal` and waits for the exit, as Wait; after `timeout` the child
  // is killed with SIGKILL and DeadlineExceeded returned.
  absl::StatusOr<int> Stop(int signal_number, absl::Duration timeout = absl::Seconds(30));

  // Polls every 20 ms until `done(stdout, stderr)` holds or `timeout`
  // passes; returns whether it held.
  bool WaitForOutput(const std::function<bool(const std::string&, const std::string&)>& done,
                     absl::Duration timeout = absl::Seconds(30)) const;

  // What the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  ChildProcess() = default;

  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_CHILD_PROCESS_H_

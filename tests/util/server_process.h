// ServerProcess: one of healthwire's real binaries (healthwire,
// healthwire_store, healthwire_gateway) started for an end-to-end test, with
// the ports it bound.
//
// The binary is started with --ready_file (and whatever ports the test asks
// for, usually 0 so parallel tests never collide); Start returns once that
// file appears, or an error carrying the binary's log when it exits first or
// does not get ready in time. stdout and stderr go to one log (Stderr()). The
// destructor kills a process that is still running.
//
// Not thread-safe: one test thread drives one ServerProcess. Most tests want
// the whole Deployment (tests/util/deployment.h) rather than this.
#ifndef HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_
#define HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/util/child_process.h"

namespace healthwire {
namespace testing {

class ServerProcess {
 public:
  // `binary` is a runfiles-relative path such as "server/healthwire".
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, std::vector<std::string> args,
      absl::Duration timeout = absl::Seconds(30));

  // A value the binary wrote to its ready file ("grpc_port", "http_port", ...).
  std::string ReadyValue(const std::string& key) const;
  int grpc_port() const;
  int http_port() const;
  std::string grpc_target() const;  // "127.0.0.1:<grpc_port>"
  pid_t pid() const { return process_->pid(); }
  // Whether the process exited (e.g. crashed) by itself; `*exit_code` as
  // Stop returns it.
  bool Exited(int* exit_code) { return process_->Exited(exit_code); }

  // Sends `signal` and waits for the exit; returns the exit code (or 128 +
  // signal number when killed by a signal).
  absl::StatusOr<int> Stop(int signal, absl::Duration timeout = absl::Seconds(30));

  // What the process wrote to stderr (and stdout) so far.
  std::string Stderr() const { return process_->Stderr(); }

 private:
  ServerProcess() = default;

  std::unique_ptr<TempDir> ready_dir_;  // outlives process_ (declared first)
  std::unique_ptr<ChildProcess> process_;
  std::map<std::string, std::string> ready_values_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_

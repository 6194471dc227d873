// ServerProcess: starts one of healthwire's real binaries for an end-to-end
// test and learns the ports it bound.
//
// The binary is started with --ready_file (and whatever ports the test asks
// for, usually 0 so parallel tests never collide); Start returns once that
// file appears. The destructor kills a process that is still running.
//
// Not thread-safe: one test thread drives one ServerProcess.
#ifndef HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_
#define HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace healthwire {
namespace testing {

// A fresh empty folder under TEST_TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& prefix);

class ServerProcess {
 public:
  // `binary` is a runfiles-relative path such as "server/healthwire".
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, std::vector<std::string> args,
      absl::Duration timeout = absl::Seconds(30));

  ~ServerProcess();

  // A value the binary wrote to its ready file ("grpc_port", "http_port", ...).
  std::string ReadyValue(const std::string& key) const;
  int grpc_port() const;
  int http_port() const;
  std::string grpc_target() const;  // "127.0.0.1:<grpc_port>"
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits for the exit; returns the exit code (or 128 +
  // signal number when killed by a signal).
  absl::StatusOr<int> Stop(int signal, absl::Duration timeout = absl::Seconds(30));

  // What the process wrote to stderr so far (it is redirected to a file).
  std::string Stderr() const;

 private:
  ServerProcess() = default;

  pid_t pid_ = -1;
  std::string stderr_path_;
  std::map<std::string, std::string> ready_values_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_SERVER_PROCESS_H_

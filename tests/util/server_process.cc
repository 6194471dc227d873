#include "tests/util/server_process.h"

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/util/test_files.h"

namespace healthwire {
namespace testing {

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& binary,
                                                                    std::vector<std::string> args,
                                                                    absl::Duration timeout) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->ready_dir_ = std::make_unique<TempDir>("ready");
  const std::string ready_file = server->ready_dir_->File("ready");
  args.push_back("--ready_file=" + ready_file);
  ChildProcess::Options options;
  options.stdout_to_stderr = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(binary, std::move(args), options);
  if (!child.ok()) return child.status();
  server->process_ = *std::move(child);

  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int exit_code = 0;
    if (server->process_->Exited(&exit_code)) {
      return absl::FailedPreconditionError(absl::StrCat(
          binary, " exited before it was ready; stderr:\n", server->process_->Stderr()));
    }
    if (access(ready_file.c_str(), R_OK) == 0) {
      for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(ready_file), '\n')) {
        std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
        if (!kv.first.empty()) server->ready_values_[kv.first] = kv.second;
      }
      return server;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(binary, " not ready after ",
                                                  absl::FormatDuration(timeout), "; stderr:\n",
                                                  server->process_->Stderr()));
}

std::string ServerProcess::ReadyValue(const std::string& key) const {
  auto it = ready_values_.find(key);
  return it == ready_values_.end() ? "" : it->second;
}

int ServerProcess::grpc_port() const {
  int port = 0;
  return absl::SimpleAtoi(ReadyValue("grpc_port"), &port) ? port : 0;
}

int ServerProcess::http_port() const {
  int port = 0;
  return absl::SimpleAtoi(ReadyValue("http_port"), &port) ? port : 0;
}

std::string ServerProcess::grpc_target() const { return absl::StrCat("127.0.0.1:", grpc_port()); }

absl::StatusOr<int> ServerProcess::Stop(int signal, absl::Duration timeout) {
  return process_->Stop(signal, timeout);
}

}  // namespace testing
}  // namespace healthwire

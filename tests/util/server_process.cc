#include "tests/util/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace healthwire {
namespace testing {
namespace {

std::string TempRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = absl::StrCat(TempRoot(), "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, std::vector<std::string> args, absl::Duration timeout) {
  std::unique_ptr<ServerProcess> process(new ServerProcess());
  const std::string dir = MakeTempDir("process");
  const std::string ready_file = dir + "/ready";
  process->stderr_path_ = dir + "/stderr";
  args.insert(args.begin(), binary);
  args.push_back("--ready_file=" + ready_file);

  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int err = open(process->stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) {
      dup2(err, STDERR_FILENO);
      dup2(err, STDOUT_FILENO);
    }
    execv(argv[0], argv.data());
    std::perror("execv");
    _exit(127);
  }
  process->pid_ = pid;

  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          binary, " exited before it was ready; stderr:\n", process->Stderr()));
    }
    if (access(ready_file.c_str(), R_OK) == 0) {
      for (absl::string_view line : absl::StrSplit(ReadWholeFile(ready_file), '\n')) {
        std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
        if (!kv.first.empty()) process->ready_values_[kv.first] = kv.second;
      }
      return process;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(binary, " not ready after ", absl::FormatDuration(timeout), "; stderr:\n",
                   process->Stderr()));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) (void)Stop(SIGKILL);
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
  if (pid_ <= 0) return absl::FailedPreconditionError("process is not running");
  kill(pid_, signal);
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError("process did not exit in time; killed");
}

std::string ServerProcess::Stderr() const { return ReadWholeFile(stderr_path_); }

}  // namespace testing
}  // namespace healthwire

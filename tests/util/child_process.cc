#include "tests/util/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/util/test_files.h"

namespace healthwire {
namespace testing {
namespace {

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::string& binary,
                                                                  std::vector<std::string> args) {
  return Start(binary, std::move(args), Options());
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::string& binary,
                                                                  std::vector<std::string> args,
                                                                  const Options& options) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->dir_ = std::make_unique<TempDir>("process");
  const std::string stdout_path = child->dir_->File("stdout");
  const std::string stderr_path = child->dir_->File("stderr");
  args.insert(args.begin(), binary);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int out = options.stdout_to_stderr
                        ? err
                        : open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    if (out >= 0) dup2(out, STDOUT_FILENO);
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    for (const std::string& assignment : options.env) putenv(strdup(assignment.c_str()));
    execv(argv[0], argv.data());
    std::perror("execv");
    _exit(127);
  }
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::Exited(int* exit_code) {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  *exit_code = ExitCodeOf(status);
  return true;
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("process is not running");
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int exit_code = 0;
    if (Exited(&exit_code)) return exit_code;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("process did not exit within ", absl::FormatDuration(timeout)));
}

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

absl::StatusOr<int> ChildProcess::Stop(int signal_number, absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("process is not running");
  Signal(signal_number);
  absl::StatusOr<int> exit_code = Wait(timeout);
  if (exit_code.ok()) return exit_code;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError("process did not exit in time; killed");
}

bool ChildProcess::WaitForOutput(
    const std::function<bool(const std::string&, const std::string&)>& done,
    absl::Duration timeout) const {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (done(Stdout(), Stderr())) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done(Stdout(), Stderr());
}

std::string ChildProcess::Stdout() const { return ReadFileOrEmpty(dir_->File("stdout")); }
std::string ChildProcess::Stderr() const { return ReadFileOrEmpty(dir_->File("stderr")); }

}  // namespace testing
}  // namespace healthwire

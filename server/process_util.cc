#include "server/process_util.h"

#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace healthwire {

std::string ResolveUserPath(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  std::filesystem::path base;
  if (const char* user_dir = std::getenv("BUILD_WORKING_DIRECTORY");
      user_dir != nullptr && *user_dir != '\0') {
    base = user_dir;
  } else {
    std::error_code ignored;
    base = std::filesystem::current_path(ignored);
  }
  return (base / p).lexically_normal().string();
}

namespace {
sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

uint64_t FileDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_cur == RLIM_INFINITY ? (1u << 20) : limit.rlim_cur;
}

uint64_t RaiseFileDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the limit in force is returned
  }
  return FileDescriptorLimit();
}

}  // namespace healthwire

#include "tools/hwctl/interrupt_watcher.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <utility>

namespace healthwire {
namespace hwctl {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

InterruptWatcher::InterruptWatcher(std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)) {
  thread_ = std::thread([this] { Run(); });
}

InterruptWatcher::~InterruptWatcher() { Stop(); }

void InterruptWatcher::BlockTerminationSignals() {
  sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void InterruptWatcher::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void InterruptWatcher::Run() {
  const sigset_t signals = TerminationSignals();
  // Polls so that Stop() is noticed without sending ourselves a signal.
  const timespec poll = {0, 200 * 1000 * 1000};
  while (!stop_.load()) {
    if (sigtimedwait(&signals, nullptr, &poll) > 0) {
      interrupted_.store(true);
      on_interrupt_();
      return;
    }
  }
}

}  // namespace hwctl
}  // namespace healthwire

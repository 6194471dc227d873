#include "tests/util/polling.h"

#include "absl/time/clock.h"

namespace healthwire {
namespace testing {

bool PollUntil(const std::function<bool()>& condition, absl::Duration timeout,
               absl::Duration interval) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() > give_up) return false;
    absl::SleepFor(interval);
  }
}

void ThreadJoiner::JoinAll() {
  if (stop_ != nullptr) *stop_ = true;
  for (std::thread& thread : *threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace testing
}  // namespace healthwire

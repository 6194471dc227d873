// Waiting in tests without sleeping a fixed time: poll a condition until it
// holds or a generous timeout passes, and join helper threads however a test
// ends. Thread-safe (PollUntil calls `condition` on the calling thread only).
#ifndef HEALTHWIRE_TESTS_UTIL_POLLING_H_
#define HEALTHWIRE_TESTS_UTIL_POLLING_H_

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace healthwire {
namespace testing {

// Calls `condition` every `interval` until it returns true (then true) or
// `timeout` passes (then false).
bool PollUntil(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(20),
               absl::Duration interval = absl::Milliseconds(20));

// Sets `*stop` (when given) and joins `*threads` when destroyed, so an ASSERT
// returning early never leaves a joinable std::thread behind (which would
// std::terminate). Not thread-safe: owned by the test thread.
class ThreadJoiner {
 public:
  ThreadJoiner(std::vector<std::thread>* threads, std::atomic<bool>* stop)
      : threads_(threads), stop_(stop) {}
  ~ThreadJoiner() { JoinAll(); }
  ThreadJoiner(const ThreadJoiner&) = delete;
  ThreadJoiner& operator=(const ThreadJoiner&) = delete;

  void JoinAll();

 private:
  std::vector<std::thread>* const threads_;
  std::atomic<bool>* const stop_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_POLLING_H_

// Executor: a small fixed pool of threads for work that must not run on gRPC
// or HTTP I/O threads (change-log reads for catching-up streams, periodic
// progress ticks).
//
// Thread-safe. The destructor runs no more delayed tasks, finishes the task
// each thread is running, and joins the threads.
#ifndef HEALTHWIRE_SERVER_SERVICE_EXECUTOR_H_
#define HEALTHWIRE_SERVER_SERVICE_EXECUTOR_H_

#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace healthwire {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Schedule(std::function<void()> task) { ScheduleAt(absl::InfinitePast(), std::move(task)); }
  void ScheduleAfter(absl::Duration delay, std::function<void()> task) {
    ScheduleAt(absl::Now() + delay, std::move(task));
  }

 private:
  struct Task {
    absl::Time when;
    uint64_t sequence;  // keeps FIFO order among tasks due at the same time
    std::function<void()> run;
    bool operator>(const Task& other) const {
      return when != other.when ? when > other.when : sequence > other.sequence;
    }
  };

  void ScheduleAt(absl::Time when, std::function<void()> task);
  void Loop();

  absl::Mutex mu_;
  std::priority_queue<Task, std::vector<Task>, std::greater<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_EXECUTOR_H_

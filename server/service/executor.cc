#include "server/service/executor.h"

namespace healthwire {

Executor::Executor(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Executor::~Executor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void Executor::ScheduleAt(absl::Time when, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  tasks_.push(Task{when, next_sequence_++, std::move(task)});
}

void Executor::Loop() {
  for (;;) {
    std::function<void()> run;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        if (!tasks_.empty() && tasks_.top().when <= absl::Now()) break;
        const absl::Time wake =
            tasks_.empty() ? absl::Now() + absl::Seconds(1) : tasks_.top().when;
        // Woken early by a new task or by stopping.
        mu_.AwaitWithDeadline(absl::Condition(
                                  +[](Executor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                    return self->stopping_ ||
                                           (!self->tasks_.empty() &&
                                            self->tasks_.top().when <= absl::Now());
                                  },
                                  this),
                              wake);
      }
      run = std::move(const_cast<Task&>(tasks_.top()).run);
      tasks_.pop();
    }
    run();
  }
}

}  // namespace healthwire

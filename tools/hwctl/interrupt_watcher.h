// Ctrl-C for commands that block in gRPC reads (watch, export): SIGINT and
// SIGTERM are taken on a thread of their own, which calls a callback (that
// cancels the call), so the main thread can stay blocked in Read and still
// end cleanly, print where to resume and exit 0.
//
// The signals must be blocked in every thread for sigtimedwait to be the one
// that receives them: call BlockTerminationSignals() before gRPC starts any
// thread (before the first channel is created).
//
// Thread-safe.
#ifndef HEALTHWIRE_TOOLS_HWCTL_INTERRUPT_WATCHER_H_
#define HEALTHWIRE_TOOLS_HWCTL_INTERRUPT_WATCHER_H_

#include <atomic>
#include <functional>
#include <thread>

namespace healthwire {
namespace hwctl {

class InterruptWatcher {
 public:
  explicit InterruptWatcher(std::function<void()> on_interrupt);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  static void BlockTerminationSignals();

  // Ends the watcher thread; idempotent.
  void Stop();

  bool interrupted() const { return interrupted_.load(); }

 private:
  void Run();

  const std::function<void()> on_interrupt_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_INTERRUPT_WATCHER_H_

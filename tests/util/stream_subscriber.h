// StreamSubscriber: one StreamUpdates call read on its own thread until it is
// cancelled or ends, keeping what arrived (revisions of updates, progress
// revisions, the final status) for the test to wait on and inspect.
//
// The call starts in the constructor; Stop() (and the destructor) cancel it
// and join the thread. Thread-safe: the reading thread and the test thread
// share the results under a mutex.
#ifndef HEALTHWIRE_TESTS_UTIL_STREAM_SUBSCRIBER_H_
#define HEALTHWIRE_TESTS_UTIL_STREAM_SUBSCRIBER_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"

namespace healthwire {
namespace testing {

class StreamSubscriber {
 public:
  StreamSubscriber(v1::EventStore::Stub* stub, const v1::StreamUpdatesRequest& request);
  ~StreamSubscriber();

  StreamSubscriber(const StreamSubscriber&) = delete;
  StreamSubscriber& operator=(const StreamSubscriber&) = delete;

  // Cancels the call and joins the reading thread (idempotent).
  void Stop();

  // Waits until at least `n` updates arrived (false when the stream ended or
  // the time passed first).
  bool WaitForUpdates(size_t n, absl::Duration timeout = absl::Seconds(30));
  // Waits for the first progress message.
  bool WaitForProgress(absl::Duration timeout);
  // Waits for the end of the call; its status (OK when still running).
  grpc::Status WaitForEnd(absl::Duration timeout = absl::Seconds(10));

  // Revisions of the updates received, in order.
  std::vector<uint64_t> revisions();
  // Revisions of the progress messages received, in order.
  std::vector<uint64_t> progress();

 private:
  void ReadAll();

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StreamUpdatesResponse>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<uint64_t> revisions_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> progress_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_STREAM_SUBSCRIBER_H_

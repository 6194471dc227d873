// Following the store's change stream (StreamUpdates) the way an operator
// expects of a console consumer (etcdctl watch, kafka-console-consumer):
//
//   - it resumes on its own after a disconnect or a store restart, from the
//     revision after the last one it accounted for, so nothing is missed or
//     repeated (once the store was reached at all: an unreachable store at
//     the start is an error, so a wrong --store fails fast);
//   - a change too large to receive (over --max-receive-mb, or over the
//     store's own send limit) is reported by revision and skipped, never
//     retried in a loop;
//   - it stops after a number of updates, or once it has delivered every
//     change up to the store's revision at the start ("caught up").
//
// Thread-safe: Run on one thread, Cancel from any other (a signal thread).
#ifndef HEALTHWIRE_TOOLS_HWCTL_CHANGE_FOLLOWER_H_
#define HEALTHWIRE_TOOLS_HWCTL_CHANGE_FOLLOWER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.pb.h"
#include "tools/hwctl/store_client.h"

namespace healthwire {
namespace hwctl {

struct FollowOptions {
  // Filters and include_raw_json; start_revision and progress_interval_ms
  // are the follower's.
  v1::StreamUpdatesRequest request;
  // The first revision to stream. nullopt: the changes after the store's
  // revision at the start ("from now").
  std::optional<uint64_t> from_revision;
  // Resume after disconnects and store restarts (otherwise they end Run).
  bool reconnect = true;
  // End once every change up to the store's revision at the start is
  // delivered.
  bool until_caught_up = false;
  // End after this many updates; 0: no limit.
  int64_t max_updates = 0;
  // How often the store reports its revision while nothing matching happens.
  uint32_t progress_interval_ms = 1000;
};

enum class FollowEnd {
  kInterrupted,     // Cancel()
  kMaxUpdates,      // max_updates delivered
  kCaughtUp,        // until_caught_up reached the start revision
  kHandlerStopped,  // the update handler returned false
  kError,           // see FollowResult::status / error
};

struct FollowResult {
  FollowEnd end = FollowEnd::kError;
  // kError: the failing call's status; OK when the store ended the stream
  // without an error and reconnecting was off.
  grpc::Status status;
  // The highest revision accounted for (an update, a progress report, or a
  // skipped change); nullopt when none.
  std::optional<uint64_t> last_revision;
  // Where to resume to miss nothing and repeat nothing: the revision after
  // the last one accounted for (0 when the store was never reached).
  uint64_t resume_revision = 0;
  // The store's revision when the follower started (0 if it never got it).
  uint64_t start_store_revision = 0;
  int64_t updates = 0;
  // Revisions skipped because they were too large to receive.
  std::vector<uint64_t> skipped;
};

class ChangeFollower {
 public:
  // An update, in revision order; return false to stop (kHandlerStopped).
  using UpdateHandler = std::function<bool(const v1::Event&)>;
  // One status line for the user (stderr): live, lost, reconnected, skipped.
  using Notice = std::function<void(const std::string&)>;

  ChangeFollower(StoreConnection* store, FollowOptions options, Notice notice);

  // The first progress report of the first stream: the follower is live
  // (everything up to `store_revision` is accounted for).
  using LiveHandler = std::function<void(uint64_t store_revision)>;

  FollowResult Run(const UpdateHandler& on_update, const LiveHandler& on_live = nullptr);

  // Ends Run as soon as possible with kInterrupted; idempotent.
  void Cancel();

 private:
  FollowResult Follow(const UpdateHandler& on_update, const LiveHandler& on_live);

  // One StreamUpdates call from `next_`, read until it ends. Returns the
  // call's status; sets *stop when the follower is done.
  grpc::Status StreamOnce(const UpdateHandler& on_update, const LiveHandler& on_live,
                          FollowResult* result, std::optional<FollowEnd>* stop);

  // The revision of the change that made a stream fail with a too-large
  // message at or after `from`: an unfiltered stream from `from` fails at
  // the first too-large change, right after the last one it delivered.
  // nullopt when that stream reaches the store's revision without failing.
  std::optional<uint64_t> FindTooLargeRevision(uint64_t from);

  // Registers `context` as the one Cancel() cancels; false when already
  // cancelled.
  bool SetActive(grpc::ClientContext* context);
  // Waits `delay` unless cancelled first; returns false when cancelled.
  bool WaitUnlessCancelled(absl::Duration delay);

  StoreConnection* const store_;
  const FollowOptions options_;
  const Notice notice_;
  uint64_t next_ = 0;       // the revision the next stream starts at
  bool announced_live_ = false;
  bool reconnecting_ = false;  // a stream was lost; say so when one works again

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_CHANGE_FOLLOWER_H_

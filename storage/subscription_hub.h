// SubscriptionHub: fans committed changes out to StreamUpdates subscribers.
//
// The model is etcd's synced/unsynced watchers. A synced subscription gets
// every matching change pushed into a bounded buffer as the store publishes
// it. A subscription that asked to start in the past, or whose buffer
// overflowed because its client is slow, is unsynced: it reads the missed
// range from the change log in RocksDB (ReadChangeLog) at its own pace, and
// rejoins the live feed once it has caught up to the published revision. A
// stalled client therefore never blocks the store's writer or other
// subscribers, and its memory is bounded by the buffer.
//
// The consumer side of a Subscription (Poll/CatchUpDone) is meant for one
// stream at a time; everything else is thread-safe. Wake callbacks run on the
// publishing thread with no lock held and must not block; one may still arrive
// just after Unsubscribe returns, so a wake must not touch freed state.
#ifndef HEALTHWIRE_STORAGE_SUBSCRIPTION_HUB_H_
#define HEALTHWIRE_STORAGE_SUBSCRIPTION_HUB_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "storage/committed_update.h"
#include "storage/stream_filter.h"

namespace healthwire {

class SubscriptionHub;

class Subscription {
 public:
  // What the stream should do next.
  struct Next {
    enum class Kind {
      kNothing,  // wait for a wake
      kUpdate,   // send `update`
      kCatchUp,  // read [catch_up_from, catch_up_through] from the change log
    };
    Kind kind = Kind::kNothing;
    std::shared_ptr<const CommittedUpdate> update;
    // kUpdate: more updates are buffered behind this one, so the stream's
    // next Poll returns another kUpdate (or kCatchUp from the first of them,
    // if the buffer overflowed meanwhile). The stream may hold this write
    // back for the next one (gRPC's buffer hint) instead of flushing each.
    bool more = false;
    uint64_t catch_up_from = 0;
    uint64_t catch_up_through = 0;
  };

  Next Poll();

  // The caller sent every matching change up to `through` (from the change
  // log); the subscription continues after it.
  void CatchUpDone(uint64_t through);

  // The store revision a progress message may report: set when the
  // subscription is live with nothing buffered (everything up to it was sent
  // or did not match); nullopt otherwise.
  std::optional<uint64_t> ProgressRevision();

  const StreamFilter& filter() const { return filter_; }

  // Counts of this subscription, for tests and metrics.
  uint64_t times_fell_behind();

 private:
  friend class SubscriptionHub;
  Subscription(SubscriptionHub* hub, StreamFilter filter, std::function<void()> wake)
      : hub_(hub), filter_(std::move(filter)), wake_(std::move(wake)) {}

  SubscriptionHub* const hub_;
  const StreamFilter filter_;
  const std::function<void()> wake_;

  // Guarded by hub_->mu_.
  bool synced_ = false;
  // The first revision not yet handed to the stream (nor skipped as
  // non-matching). Buffered updates all have revisions >= this.
  uint64_t next_revision_ = 1;
  // Synced: every published revision up to this is buffered or skipped.
  uint64_t covered_through_ = 0;
  std::deque<std::shared_ptr<const CommittedUpdate>> buffer_;
  uint64_t times_fell_behind_ = 0;
};

class SubscriptionHub {
 public:
  struct Options {
    // Buffered changes per subscriber before it falls back to the change log.
    size_t max_buffered_updates = 1024;
  };

  explicit SubscriptionHub(Options options, uint64_t published_revision = 0);

  // Called by the store's writer thread after each durable commit, in
  // revision order. `updates` are the changes of the commit (ascending
  // revisions); `store_revision` is the store revision after it. The store
  // skips building `updates` when nobody was subscribed as the commit began;
  // it then passes complete = false, and any subscription that joined
  // meanwhile reads the commit from the change log instead.
  void Publish(const std::vector<std::shared_ptr<const CommittedUpdate>>& updates,
               uint64_t store_revision, bool complete = true);

  // A new subscription. `start_revision` absent: only changes after the
  // current revision. Present: every matching change from it on (the caller
  // checked it is still retained).
  std::shared_ptr<Subscription> Subscribe(StreamFilter filter,
                                          std::optional<uint64_t> start_revision,
                                          std::function<void()> wake);

  // Releases everything the subscription holds; it gets no more wakes.
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);

  uint64_t published_revision() const;
  size_t subscriber_count() const;

 private:
  friend class Subscription;

  const Options options_;
  mutable absl::Mutex mu_;
  uint64_t published_revision_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_SUBSCRIPTION_HUB_H_

#include "storage/subscription_hub.h"

#include <algorithm>
#include <utility>

namespace healthwire {

Subscription::Next Subscription::Poll() {
  absl::MutexLock lock(&hub_->mu_);
  Next next;
  if (!buffer_.empty()) {
    next.kind = Next::Kind::kUpdate;
    next.update = std::move(buffer_.front());
    buffer_.pop_front();
    next.more = !buffer_.empty();
    next_revision_ = buffer_.empty() ? std::max(next.update->revision(), covered_through_) + 1
                                     : next.update->revision() + 1;
    return next;
  }
  if (synced_) return next;
  const uint64_t published = hub_->published_revision_;
  if (next_revision_ <= published) {
    next.kind = Next::Kind::kCatchUp;
    next.catch_up_from = next_revision_;
    next.catch_up_through = published;
    return next;
  }
  // Caught up with everything published: rejoin the live feed. Publish holds
  // the same lock, so no commit can slip between the check and the switch.
  synced_ = true;
  covered_through_ = published;
  return next;
}

void Subscription::CatchUpDone(uint64_t through) {
  absl::MutexLock lock(&hub_->mu_);
  next_revision_ = std::max(next_revision_, through + 1);
}

std::optional<uint64_t> Subscription::ProgressRevision() {
  absl::MutexLock lock(&hub_->mu_);
  if (!synced_ || !buffer_.empty()) return std::nullopt;
  return covered_through_;
}

uint64_t Subscription::times_fell_behind() {
  absl::MutexLock lock(&hub_->mu_);
  return times_fell_behind_;
}

SubscriptionHub::SubscriptionHub(Options options, uint64_t published_revision)
    : options_(options), published_revision_(published_revision) {}

void SubscriptionHub::Publish(const std::vector<std::shared_ptr<const CommittedUpdate>>& updates,
                              uint64_t store_revision, bool complete) {
  std::vector<std::shared_ptr<Subscription>> to_wake;
  {
    absl::MutexLock lock(&mu_);
    published_revision_ = std::max(published_revision_, store_revision);
    for (const std::shared_ptr<Subscription>& sub : subscriptions_) {
      if (!sub->synced_ || !complete) {
        // It reads the change log; let it know there is more to read.
        sub->synced_ = false;
        sub->buffer_.clear();
        to_wake.push_back(sub);
        continue;
      }
      bool pushed = false;
      for (const std::shared_ptr<const CommittedUpdate>& update : updates) {
        if (update->revision() < sub->next_revision_ || !sub->filter_.Matches(update->event())) {
          continue;
        }
        sub->buffer_.push_back(update);
        pushed = true;
      }
      if (sub->buffer_.size() > options_.max_buffered_updates) {
        // Too slow for the live feed: drop the buffer (the change log has it
        // all) and catch up from the first change the client has not seen.
        sub->buffer_.clear();
        sub->synced_ = false;
        ++sub->times_fell_behind_;
        pushed = true;
      } else {
        sub->covered_through_ = std::max(sub->covered_through_, store_revision);
        if (sub->buffer_.empty()) {
          sub->next_revision_ = std::max(sub->next_revision_, store_revision + 1);
        }
      }
      if (pushed) to_wake.push_back(sub);
    }
  }
  for (const std::shared_ptr<Subscription>& sub : to_wake) sub->wake_();
}

std::shared_ptr<Subscription> SubscriptionHub::Subscribe(StreamFilter filter,
                                                         std::optional<uint64_t> start_revision,
                                                         std::function<void()> wake) {
  std::shared_ptr<Subscription> sub(new Subscription(this, std::move(filter), std::move(wake)));
  absl::MutexLock lock(&mu_);
  if (start_revision.has_value()) {
    // Starts unsynced; the first Poll decides between the change log and
    // the live feed.
    sub->next_revision_ = std::max<uint64_t>(*start_revision, 1);
    sub->synced_ = false;
  } else {
    sub->next_revision_ = published_revision_ + 1;
    sub->covered_through_ = published_revision_;
    sub->synced_ = true;
  }
  subscriptions_.insert(sub);
  return sub;
}

void SubscriptionHub::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  absl::MutexLock lock(&mu_);
  subscription->buffer_.clear();
  subscriptions_.erase(subscription);
}

uint64_t SubscriptionHub::published_revision() const {
  absl::MutexLock lock(&mu_);
  return published_revision_;
}

size_t SubscriptionHub::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscriptions_.size();
}

}  // namespace healthwire

#include "tools/hwctl/change_follower.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace healthwire {
namespace hwctl {
namespace {

// Waits between reconnection attempts: doubling from the first, up to the
// last (the channel itself retries within 2 s, see ConnectToStore).
constexpr absl::Duration kFirstRetryDelay = absl::Milliseconds(250);
constexpr absl::Duration kMaxRetryDelay = absl::Seconds(2);

// Whether a stream that ended with `status` may work again later: the store
// went away, restarted or shut down. Refusals (a bad request, a revision the
// change log no longer holds) stay refusals.
bool MayReconnect(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:  // the store ended the stream (shutting down)
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // by the store, not by us (checked first)
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return true;
    default:
      return false;
  }
}

std::string Why(const grpc::Status& status) {
  if (status.ok()) return "the store ended the stream";
  return ConnectionFailureReason(status);
}

}  // namespace

ChangeFollower::ChangeFollower(StoreConnection* store, FollowOptions options, Notice notice)
    : store_(store), options_(std::move(options)), notice_(std::move(notice)) {}

void ChangeFollower::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (active_ != nullptr) active_->TryCancel();
}

bool ChangeFollower::SetActive(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  active_ = context;
  return !cancelled_;
}

bool ChangeFollower::WaitUnlessCancelled(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  auto cancelled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return cancelled_; };
  mu_.AwaitWithTimeout(absl::Condition(&cancelled), delay);
  return !cancelled_;
}

FollowResult ChangeFollower::Run(const UpdateHandler& on_update, const LiveHandler& on_live) {
  FollowResult result = Follow(on_update, on_live);
  result.resume_revision = next_;
  return result;
}

FollowResult ChangeFollower::Follow(const UpdateHandler& on_update, const LiveHandler& on_live) {
  FollowResult result;
  // The store's revision now: where "from now" starts and what "caught up"
  // means. An unreachable store here is an error (a wrong --store fails fast).
  absl::StatusOr<uint64_t> start_revision = CurrentStoreRevision(*store_);
  if (!start_revision.ok()) {
    result.status = grpc::Status(static_cast<grpc::StatusCode>(start_revision.status().code()),
                                 std::string(start_revision.status().message()));
    return result;
  }
  result.start_store_revision = *start_revision;
  next_ = options_.from_revision.value_or(*start_revision + 1);
  if (options_.until_caught_up && next_ > *start_revision) {
    result.end = FollowEnd::kCaughtUp;
    return result;
  }

  absl::Duration retry_delay = kFirstRetryDelay;
  while (true) {
    std::optional<FollowEnd> stop;
    const uint64_t started_at = next_;
    const grpc::Status status = StreamOnce(on_update, on_live, &result, &stop);
    if (stop.has_value()) {
      result.end = *stop;
      return result;
    }
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) {
        result.end = FollowEnd::kInterrupted;
        return result;
      }
    }
    if (IsMessageTooLarge(status)) {
      const std::optional<uint64_t> too_large = FindTooLargeRevision(next_);
      if (!too_large.has_value()) {
        result.status = status;
        return result;
      }
      notice_(absl::StrCat("revision ", *too_large, " is larger than the receive limit (",
                           ReceiveLimitBytes() >> 20, " MiB) and cannot be shown; skipped it (",
                           status.error_message(), ")"));
      result.skipped.push_back(*too_large);
      result.last_revision = std::max(result.last_revision.value_or(0), *too_large);
      next_ = *too_large + 1;
      continue;
    }
    if (!options_.reconnect || !MayReconnect(status)) {
      result.status = status;
      return result;
    }
    if (next_ != started_at) retry_delay = kFirstRetryDelay;  // it worked for a while
    if (!reconnecting_) {
      notice_(absl::StrCat("lost the store at ", store_->address, " (", Why(status),
                           "); reconnecting, resuming at revision ", next_));
      reconnecting_ = true;
    }
    if (!WaitUnlessCancelled(retry_delay)) {
      result.end = FollowEnd::kInterrupted;
      return result;
    }
    retry_delay = std::min(retry_delay * 2, kMaxRetryDelay);
  }
}

grpc::Status ChangeFollower::StreamOnce(const UpdateHandler& on_update,
                                        const LiveHandler& on_live, FollowResult* result,
                                        std::optional<FollowEnd>* stop) {
  v1::StreamUpdatesRequest request = options_.request;
  request.set_start_revision(next_);
  request.set_progress_interval_ms(options_.progress_interval_ms);
  grpc::ClientContext context;
  if (!SetActive(&context)) return grpc::Status::CANCELLED;
  std::unique_ptr<grpc::ClientReader<v1::StreamUpdatesResponse>> reader =
      store_->stub->StreamUpdates(&context, request);
  v1::StreamUpdatesResponse response;
  auto end = [&](FollowEnd why) {
    *stop = why;
    context.TryCancel();
  };
  while (!stop->has_value() && reader->Read(&response)) {
    if (reconnecting_) {
      notice_(absl::StrCat("reconnected to the store at ", store_->address,
                           "; resuming at revision ", next_));
      reconnecting_ = false;
    }
    uint64_t accounted = 0;
    if (response.has_update()) {
      const v1::Event& event = response.update();
      accounted = event.revision();
      result->last_revision = std::max(result->last_revision.value_or(0), accounted);
      next_ = std::max(next_, accounted + 1);
      ++result->updates;
      if (!on_update(event)) {
        end(FollowEnd::kHandlerStopped);
      } else if (options_.max_updates > 0 && result->updates >= options_.max_updates) {
        end(FollowEnd::kMaxUpdates);
      }
    } else if (response.kind_case() == v1::StreamUpdatesResponse::kProgressRevision) {
      accounted = response.progress_revision();
      result->last_revision = std::max(result->last_revision.value_or(0), accounted);
      next_ = std::max(next_, accounted + 1);
      if (!announced_live_) {
        announced_live_ = true;
        if (on_live) on_live(accounted);
      }
    }
    if (!stop->has_value() && options_.until_caught_up &&
        result->last_revision.value_or(0) >= result->start_store_revision) {
      end(FollowEnd::kCaughtUp);
    }
  }
  const grpc::Status status = reader->Finish();
  SetActive(nullptr);
  return status;
}

std::optional<uint64_t> ChangeFollower::FindTooLargeRevision(uint64_t from) {
  absl::StatusOr<uint64_t> store_revision = CurrentStoreRevision(*store_);
  if (!store_revision.ok() || *store_revision < from) return std::nullopt;
  v1::StreamUpdatesRequest request;
  request.set_include_raw_json(options_.request.include_raw_json());
  request.set_start_revision(from);
  request.set_progress_interval_ms(200);
  grpc::ClientContext context;
  if (!SetActive(&context)) return std::nullopt;
  std::unique_ptr<grpc::ClientReader<v1::StreamUpdatesResponse>> reader =
      store_->stub->StreamUpdates(&context, request);
  v1::StreamUpdatesResponse response;
  uint64_t delivered = from - 1;
  bool reached_end = false;
  while (reader->Read(&response)) {
    if (response.has_update()) delivered = response.update().revision();
    if (response.kind_case() == v1::StreamUpdatesResponse::kProgressRevision) {
      delivered = std::max(delivered, response.progress_revision());
    }
    if (delivered >= *store_revision) {
      reached_end = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  SetActive(nullptr);
  if (reached_end || !IsMessageTooLarge(status)) return std::nullopt;
  return delivered + 1;
}

}  // namespace hwctl
}  // namespace healthwire

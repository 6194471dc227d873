#include "tests/util/stream_subscriber.h"

namespace healthwire {
namespace testing {

StreamSubscriber::StreamSubscriber(v1::EventStore::Stub* stub,
                                   const v1::StreamUpdatesRequest& request) {
  reader_ = stub->StreamUpdates(&context_, request);
  thread_ = std::thread([this] { ReadAll(); });
}

StreamSubscriber::~StreamSubscriber() { Stop(); }

void StreamSubscriber::ReadAll() {
  v1::StreamUpdatesResponse response;
  while (reader_->Read(&response)) {
    absl::MutexLock lock(&mu_);
    if (response.has_update()) {
      revisions_.push_back(response.update().revision());
      types_.push_back(response.update().type());
    } else {
      progress_.push_back(response.progress_revision());
    }
  }
  grpc::Status status = reader_->Finish();
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
  ended_ = true;
}

void StreamSubscriber::Stop() {
  if (!thread_.joinable()) return;
  context_.TryCancel();
  thread_.join();
}

bool StreamSubscriber::WaitForUpdates(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return revisions_.size() >= n || ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  return revisions_.size() >= n;
}

bool StreamSubscriber::WaitForProgress(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !progress_.empty() || ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&any), timeout);
  return !progress_.empty();
}

grpc::Status StreamSubscriber::WaitForEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
  return status_;
}

std::vector<uint64_t> StreamSubscriber::revisions() {
  absl::MutexLock lock(&mu_);
  return revisions_;
}

std::vector<v1::EventType> StreamSubscriber::types() {
  absl::MutexLock lock(&mu_);
  return types_;
}

std::vector<uint64_t> StreamSubscriber::progress() {
  absl::MutexLock lock(&mu_);
  return progress_;
}

}  // namespace testing
}  // namespace healthwire

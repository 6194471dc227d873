// The public EventStore: forwards to EventStore::Impl (event_store_impl.h,
// which lists the file of each part).
#include "storage/event_store.h"

#include <future>
#include <utility>

#include "storage/event_store_impl.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const Options& options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Open(options);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<EventStore>(new EventStore(*std::move(impl)));
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() = default;

void EventStore::IngestAsync(std::vector<v1::Event> events, IngestCallback done,
                             CommitGate may_start) {
  impl_->IngestAsync(std::move(events), std::move(done), std::move(may_start));
}

absl::StatusOr<v1::IngestResponse> EventStore::Ingest(std::vector<v1::Event> events) {
  std::promise<absl::StatusOr<v1::IngestResponse>> committed;
  std::future<absl::StatusOr<v1::IngestResponse>> result = committed.get_future();
  impl_->IngestAsync(std::move(events),
                     [&committed](absl::StatusOr<v1::IngestResponse> response) {
                       committed.set_value(std::move(response));
                     },
                     nullptr);
  return result.get();
}

void EventStore::IngestFetchedAsync(std::vector<v1::Event> events, v1::S3Fetch outcome,
                                    IngestCallback done, CommitGate may_start) {
  impl_->IngestFetchedAsync(std::move(events), std::move(outcome), std::move(done),
                            std::move(may_start));
}

absl::StatusOr<v1::IngestResponse> EventStore::IngestFetched(std::vector<v1::Event> events,
                                                             v1::S3Fetch outcome) {
  std::promise<absl::StatusOr<v1::IngestResponse>> committed;
  std::future<absl::StatusOr<v1::IngestResponse>> result = committed.get_future();
  impl_->IngestFetchedAsync(std::move(events), std::move(outcome),
                            [&committed](absl::StatusOr<v1::IngestResponse> response) {
                              committed.set_value(std::move(response));
                            },
                            nullptr);
  return result.get();
}

absl::StatusOr<std::vector<v1::S3Fetch>> EventStore::PendingFetches(size_t limit) const {
  return impl_->PendingFetches(limit);
}

absl::StatusOr<FetchListResult> EventStore::ListS3Fetches(const FetchListQuery& query) const {
  return impl_->ListS3Fetches(query);
}

absl::StatusOr<BackfillResult> EventStore::GetBackfill(const std::string& reference) const {
  return impl_->GetBackfill(reference);
}

absl::StatusOr<BackfillResult> EventStore::ListBackfills(const StoreSubject& subject) const {
  return impl_->ListBackfills(subject);
}

absl::StatusOr<OpenBackfillCounts> EventStore::CountOpenBackfills(size_t limit) const {
  return impl_->CountOpenBackfills(limit);
}

absl::StatusOr<LatestResult> EventStore::GetLatest(const LatestQuery& query) const {
  return impl_->GetLatest(query);
}

absl::StatusOr<SerializedLatestResult> EventStore::GetLatestSerialized(
    const LatestQuery& query) const {
  return impl_->GetLatestSerialized(query);
}

absl::StatusOr<ListResult> EventStore::ListRecords(const ListQuery& query) const {
  return impl_->ListRecords(query);
}

absl::StatusOr<UserResult> EventStore::GetUser(const StoreSubject& subject) const {
  return impl_->GetUser(subject);
}

absl::Status EventStore::ReadChangeLog(uint64_t from_revision, size_t max_events,
                                       std::vector<v1::Event>* out) const {
  return impl_->ReadChangeLog(from_revision, max_events, out);
}

absl::Status EventStore::ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                            std::vector<std::string>* out) const {
  return impl_->ReadChangeLogBytes(from_revision, max_events, out);
}

absl::StatusOr<CheckpointResult> EventStore::CreateCheckpoint(const std::string& name) {
  return impl_->CreateCheckpoint(name);
}

absl::StatusOr<EventStore::EraseResult> EventStore::EraseUser(const StoreSubject& subject) {
  return impl_->EraseUser(subject);
}

uint64_t EventStore::CurrentRevision() const { return impl_->CurrentRevision(); }

const std::string& EventStore::TimelineId() const { return impl_->TimelineId(); }

uint64_t EventStore::OldestRetainedRevision() const { return impl_->OldestRetainedRevision(); }

SubscriptionHub* EventStore::subscription_hub() { return impl_->subscription_hub(); }

EventStore::Stats EventStore::GetStats() const { return impl_->GetStats(); }

absl::Status EventStore::Health() const { return impl_->Health(); }

absl::StatusOr<EventStore::LogApplyResult> EventStore::ApplyLogCalls(std::vector<LogCall> calls) {
  return impl_->ApplyLogCalls(std::move(calls));
}

absl::StatusOr<EventStore::LogPosition> EventStore::ReadLogPosition() const {
  return impl_->ReadLogPosition();
}

absl::StatusOr<EventStore::LogPosition> EventStore::ReadDurableLogPosition() {
  return impl_->ReadDurableLogPosition();
}

absl::StatusOr<std::vector<EventStore::StreamDeletionJob>> EventStore::ListStreamDeletionJobs(
    size_t max_jobs) const {
  return impl_->ListStreamDeletionJobs(max_jobs);
}

absl::Status EventStore::FinishStreamDeletionJob(uint64_t erasure_sequence) {
  return impl_->FinishStreamDeletionJob(erasure_sequence);
}

const std::string& EventStore::path() const { return impl_->path(); }

}  // namespace healthwire

#include "server/event_store_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/commit_deadline.h"
#include "server/status_util.h"
#include "server/update_stream.h"
#include "tools/build_defs/version.h"

namespace healthwire {
namespace {

// ---- wire requests -> the store's queries (store_queries.h) ----

StoreSubject SubjectOf(const v1::Subject& subject) {
  switch (subject.id_case()) {
    case v1::Subject::kUserId:
      return StoreSubject::UserId(subject.user_id());
    case v1::Subject::kReferenceId:
      return StoreSubject::ReferenceId(subject.reference_id());
    case v1::Subject::ID_NOT_SET:
      break;
  }
  return StoreSubject();
}

// A google.protobuf.Timestamp as absl::Time; it must be within the range the
// Timestamp type allows (years 1 to 9999).
absl::StatusOr<absl::Time> TimeOf(const google::protobuf::Timestamp& timestamp,
                                  absl::string_view field) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  if (timestamp.seconds() < kMinSeconds || timestamp.seconds() > kMaxSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a valid timestamp (seconds ", timestamp.seconds(),
                     ", nanos ", timestamp.nanos(), ")"));
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

absl::StatusOr<ListQuery> ListQueryOf(const v1::ListRecordsRequest& request) {
  ListQuery query;
  query.subject = SubjectOf(request.subject());
  query.type = request.type();
  if (request.has_start_time_from()) {
    absl::StatusOr<absl::Time> from = TimeOf(request.start_time_from(), "start_time_from");
    if (!from.ok()) return from.status();
    query.start_time_from = *from;
  }
  if (request.has_start_time_to()) {
    absl::StatusOr<absl::Time> to = TimeOf(request.start_time_to(), "start_time_to");
    if (!to.ok()) return to.status();
    query.start_time_to = *to;
  }
  query.page_size = request.page_size();
  query.page_token = request.page_token();
  query.omit_raw_json = request.omit_raw_json();
  return query;
}

// ---- the store's results -> wire responses ----

v1::GetLatestResponse ResponseOf(LatestResult result) {
  v1::GetLatestResponse response;
  *response.mutable_event() = std::move(result.event);
  response.set_store_revision(result.store_revision);
  response.set_store_timeline(std::move(result.store_timeline));
  return response;
}

v1::ListRecordsResponse ResponseOf(ListResult result) {
  v1::ListRecordsResponse response;
  response.mutable_events()->Reserve(static_cast<int>(result.events.size()));
  for (v1::Event& event : result.events) *response.add_events() = std::move(event);
  response.set_next_page_token(std::move(result.next_page_token));
  response.set_store_revision(result.store_revision);
  response.set_store_timeline(std::move(result.store_timeline));
  return response;
}

v1::GetUserResponse ResponseOf(UserResult result) {
  v1::GetUserResponse response;
  for (v1::Connection& connection : result.connections) {
    *response.add_connections() = std::move(connection);
  }
  response.set_store_revision(result.store_revision);
  response.set_store_timeline(std::move(result.store_timeline));
  return response;
}

v1::CreateCheckpointResponse ResponseOf(CheckpointResult result) {
  v1::CreateCheckpointResponse response;
  response.set_path(std::move(result.path));
  response.set_store_revision(result.store_revision);
  response.set_store_timeline(std::move(result.store_timeline));
  return response;
}

// Finishes a unary reactor with the outcome of a store read.
template <typename Result, typename Response>
void FinishRead(grpc::ServerUnaryReactor* reactor, absl::StatusOr<Result> result,
                Response* response) {
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return;
  }
  *response = ResponseOf(*std::move(result));
  reactor->Finish(grpc::Status::OK);
}

// Finishes a unary reactor with the outcome of a store call.
template <typename Response>
void FinishWith(grpc::ServerUnaryReactor* reactor, absl::StatusOr<Response> result,
                Response* response) {
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return;
  }
  *response = *std::move(result);
  reactor->Finish(grpc::Status::OK);
}

}  // namespace

EventStoreService::EventStoreService(EventStore* store, int stream_threads,
                                     const StoreReplica* replica,
                                     const ReadGate::Options& read_wait, Eraser eraser,
                                     int max_queued_erasures)
    : store_(store),
      replica_(replica),
      eraser_(eraser != nullptr ? std::move(eraser)
                                : Eraser([store](const StoreSubject& subject)
                                             -> absl::StatusOr<v1::EraseUserResponse> {
                                    absl::StatusOr<EventStore::EraseResult> erased =
                                        store->EraseUser(subject);
                                    if (!erased.ok()) return erased.status();
                                    return std::move(erased->response);
                                  })),
      stream_executor_(stream_threads),
      read_gate_(std::make_unique<ReadGate>(store, replica, read_wait)),
      max_queued_erasures_(max_queued_erasures),
      erase_executor_(1) {}

grpc::ServerUnaryReactor* EventStoreService::Ingest(grpc::CallbackServerContext* context,
                                                    const v1::IngestRequest* request,
                                                    v1::IngestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<v1::Event> events(request->events().begin(), request->events().end());
  // The commit must start before the caller gives up: the gateway's
  // absolute commit-start deadline (commit_deadline.h) and the RPC's own.
  absl::Time start_deadline = absl::InfiniteFuture();
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    start_deadline = absl::FromChrono(context->deadline());
  }
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find(kCommitStartDeadlineMetadataKey); it != metadata.end()) {
    start_deadline = std::min(
        start_deadline,
        DecodeCommitStartDeadline(absl::string_view(it->second.data(), it->second.size())));
  }
  store_->IngestAsync(
      std::move(events),
      [reactor, response](absl::StatusOr<v1::IngestResponse> result) {
        FinishWith(reactor, std::move(result), response);
      },
      [context, start_deadline]() -> absl::Status {
        if (context->IsCancelled()) {
          return absl::CancelledError("the caller gave up before the commit started; nothing stored");
        }
        const absl::Time now = absl::Now();
        if (now < start_deadline) return absl::OkStatus();
        return absl::DeadlineExceededError(absl::StrCat(
            "the commit would have started ",
            absl::FormatDuration(absl::Trunc(now - start_deadline, absl::Milliseconds(1))),
            " after the caller's deadline; nothing stored"));
      });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetLatest(grpc::CallbackServerContext* context,
                                                       const v1::GetLatestRequest* request,
                                                       v1::GetLatestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  read_gate_->Run(
      request->min_log_sequence(), request->min_revision(),
      [this, reactor, request, response] {
        LatestQuery query;
        query.subject = SubjectOf(request->subject());
        query.type = request->type();
        query.omit_raw_json = request->omit_raw_json();
        FinishRead(reactor, store_->GetLatest(query), response);
      },
      [reactor](grpc::Status refusal) { reactor->Finish(refusal); });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListRecords(grpc::CallbackServerContext* context,
                                                         const v1::ListRecordsRequest* request,
                                                         v1::ListRecordsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<ListQuery> query = ListQueryOf(*request);
  if (!query.ok()) {
    reactor->Finish(ToGrpcStatus(query.status()));
    return reactor;
  }
  read_gate_->Run(
      request->min_log_sequence(), request->min_revision(),
      [this, reactor, query = *std::move(query), response] {
        FinishRead(reactor, store_->ListRecords(query), response);
      },
      [reactor](grpc::Status refusal) { reactor->Finish(refusal); });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetUser(grpc::CallbackServerContext* context,
                                                     const v1::GetUserRequest* request,
                                                     v1::GetUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  read_gate_->Run(
      request->min_log_sequence(), request->min_revision(),
      [this, reactor, request, response] {
        FinishRead(reactor, store_->GetUser(SubjectOf(request->subject())), response);
      },
      [reactor](grpc::Status refusal) { reactor->Finish(refusal); });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::CreateCheckpoint(
    grpc::CallbackServerContext* context, const v1::CreateCheckpointRequest* request,
    v1::CreateCheckpointResponse* response) {
  // Hard links and a flush: rare and short, so it runs inline.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishRead(reactor, store_->CreateCheckpoint(request->name()), response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::EraseUser(grpc::CallbackServerContext* context,
                                                       const v1::EraseUserRequest* request,
                                                       v1::EraseUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (queued_erasures_.fetch_add(1) >= max_queued_erasures_) {
    queued_erasures_.fetch_sub(1);
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 absl::StrCat(max_queued_erasures_,
                                              " erasures are already waiting (--erase_max_queued); "
                                              "retry later")));
    return reactor;
  }
  // Commit + compaction can take seconds: not on a gRPC thread.
  const StoreSubject subject = SubjectOf(request->subject());
  erase_executor_.Schedule([this, reactor, response, subject] {
    absl::StatusOr<v1::EraseUserResponse> erased = eraser_(subject);
    queued_erasures_.fetch_sub(1);
    FinishWith(reactor, std::move(erased), response);
  });
  return reactor;
}

v1::GetStatusResponse EventStoreService::Status() const {
  v1::GetStatusResponse response;
  response.set_role(replica_ != nullptr ? v1::GetStatusResponse::ROLE_REPLICA
                                        : v1::GetStatusResponse::ROLE_STORE);
  std::string version = VersionLine("healthwire");
  while (!version.empty() && version.back() == '\n') version.pop_back();
  response.set_version(version);
  response.set_store_revision(store_->CurrentRevision());
  response.set_store_timeline(store_->TimelineId());
  response.set_oldest_retained_revision(store_->OldestRetainedRevision());
  response.set_subscribers(
      static_cast<uint32_t>(store_->subscription_hub()->subscriber_count()));
  if (absl::Status health = store_->Health(); !health.ok()) {
    response.set_health_problem(std::string(health.message()));
  }
  if (replica_ != nullptr) {
    const StoreReplica::Status status = replica_->GetStatus();
    v1::ReplicaStatus* out = response.mutable_replica();
    out->set_applied_sequence(status.applied_sequence);
    out->set_log_last_sequence(status.log_last_sequence);
    if (status.log_checked_at != absl::Time()) {
      const int64_t nanos = absl::ToUnixNanos(status.log_checked_at);
      out->mutable_log_checked_at()->set_seconds(nanos / 1000000000);
      out->mutable_log_checked_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    }
    out->set_behind(status.behind);
    out->set_digest(status.digest_hex);
    out->set_log_connected(status.log_connected);
    out->set_log_stream(replica_->stream());
    out->set_last_apply_lag_ms(static_cast<uint64_t>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(status.last_apply_lag))));
    out->set_deliveries_applied(status.deliveries_applied);
    out->set_malformed_skipped(status.malformed_skipped);
    out->set_apply_errors(status.apply_errors);
    out->set_last_error(status.last_error);
  }
  return response;
}

grpc::ServerUnaryReactor* EventStoreService::GetStatus(grpc::CallbackServerContext* context,
                                                       const v1::GetStatusRequest* request,
                                                       v1::GetStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  *response = Status();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetBackfill(grpc::CallbackServerContext* context,
                                                         const v1::GetBackfillRequest* request,
                                                         v1::GetBackfillResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<BackfillResult> result = store_->GetBackfill(request->reference());
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  if (!result->backfills.empty()) *response->mutable_backfill() = result->backfills.front();
  response->set_store_revision(result->store_revision);
  response->set_store_timeline(result->store_timeline);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListBackfills(
    grpc::CallbackServerContext* context, const v1::ListBackfillsRequest* request,
    v1::ListBackfillsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<BackfillResult> result = store_->ListBackfills(SubjectOf(request->subject()));
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  for (v1::Backfill& backfill : result->backfills) *response->add_backfills() = std::move(backfill);
  response->set_store_revision(result->store_revision);
  response->set_store_timeline(result->store_timeline);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListS3Fetches(
    grpc::CallbackServerContext* context, const v1::ListS3FetchesRequest* request,
    v1::ListS3FetchesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FetchListQuery query;
  query.state = request->state();
  query.after_ping_revision = request->after_ping_revision();
  query.page_size = request->page_size();
  absl::StatusOr<FetchListResult> result = store_->ListS3Fetches(query);
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  for (v1::S3Fetch& fetch : result->fetches) *response->add_fetches() = std::move(fetch);
  response->set_store_revision(result->store_revision);
  response->set_store_timeline(result->store_timeline);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventStoreService::StreamUpdates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  v1::StreamUpdatesRequest parsed;
  grpc::ByteBuffer copy(*request);  // Deserialize consumes its input
  grpc::Status status =
      grpc::SerializationTraits<v1::StreamUpdatesRequest>::Deserialize(&copy, &parsed);
  if (!status.ok()) {
    return UpdateStream::Refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "StreamUpdatesRequest could not be parsed"));
  }
  return UpdateStream::Start(store_, &stream_executor_, parsed, context,
                             kStoreTimelineMetadataKey);
}

}  // namespace healthwire

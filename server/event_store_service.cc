#include "server/event_store_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/status_util.h"
#include "server/update_stream.h"

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

grpc::ServerUnaryReactor* EventStoreService::Ingest(grpc::CallbackServerContext* context,
                                                    const v1::IngestRequest* request,
                                                    v1::IngestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<v1::Event> events(request->events().begin(), request->events().end());
  store_->IngestAsync(std::move(events),
                      [reactor, response](absl::StatusOr<v1::IngestResponse> result) {
                        FinishWith(reactor, std::move(result), response);
                      });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetLatest(grpc::CallbackServerContext* context,
                                                       const v1::GetLatestRequest* request,
                                                       v1::GetLatestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  LatestQuery query;
  query.subject = SubjectOf(request->subject());
  query.type = request->type();
  query.omit_raw_json = request->omit_raw_json();
  FinishRead(reactor, store_->GetLatest(query), response);
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
  FinishRead(reactor, store_->ListRecords(*query), response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetUser(grpc::CallbackServerContext* context,
                                                     const v1::GetUserRequest* request,
                                                     v1::GetUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishRead(reactor, store_->GetUser(SubjectOf(request->subject())), response);
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

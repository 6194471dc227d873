#include "server/service/event_store_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/ingest/commit_deadline.h"
#include "server/security/delegated_call.h"
#include "server/service/status_util.h"
#include "server/service/update_stream.h"
#include "server/service/wire_bytes.h"
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

// Parses a raw method's request. The ByteBuffer is read, not consumed.
template <typename Request>
bool ParseRawRequest(const grpc::ByteBuffer& raw, Request* request) {
  grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&raw));
  return request->ParseFromZeroCopyStream(&reader);
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

size_t RecordCount(const ListResult& result) { return result.events.size(); }
size_t RecordCount(const UserResult& result) { return result.connections.size(); }
size_t RecordCount(const CheckpointResult&) { return 0; }

std::string CodeName(const grpc::Status& status) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
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

EventStoreService::EventStoreService(EventStore* store)
    : EventStoreService(store, Options()) {}

EventStoreService::EventStoreService(EventStore* store, Options options)
    : store_(store),
      replica_(options.replica),
      eraser_(options.eraser != nullptr
                  ? std::move(options.eraser)
                  : Eraser([store](const StoreSubject& subject)
                               -> absl::StatusOr<v1::EraseUserResponse> {
                      absl::StatusOr<EventStore::EraseResult> erased = store->EraseUser(subject);
                      if (!erased.ok()) return erased.status();
                      return std::move(erased->response);
                    })),
      authorizer_(options.authorizer),
      audit_(options.audit),
      stream_executor_(options.stream_threads),
      read_gate_(std::make_unique<ReadGate>(store, options.replica, options.read_wait)),
      max_queued_erasures_(options.max_queued_erasures),
      erase_executor_(1) {}

EventStoreService::Admission EventStoreService::Admit(const grpc::CallbackServerContext& context,
                                                      Role role, const std::string& rpc,
                                                      std::optional<v1::Subject> subject,
                                                      std::vector<v1::EventType> types) {
  Admission admission;
  AuditEntry& entry = admission.entry;
  entry.rpc = rpc;
  entry.peer = context.peer();
  const auto& metadata = context.client_metadata();
  if (auto behalf = metadata.find(kOnBehalfOfMetadataKey); behalf != metadata.end()) {
    entry.on_behalf_of = std::string(behalf->second.data(),
                                     std::min(behalf->second.size(), kMaxOnBehalfOfBytes));
  }
  entry.subject = std::move(subject);
  entry.types = std::move(types);
  absl::StatusOr<Principal> principal = authorizer_ != nullptr
                                            ? authorizer_->Authenticate(context)
                                            : Principal::Everything("anonymous", "none");
  if (!principal.ok()) {
    entry.identity = "-";
    entry.authenticated_by = "-";
    admission.status = ToGrpcStatus(principal.status());
  } else {
    entry.identity = principal->name;
    entry.authenticated_by = principal->authenticated_by;
    admission.status = ToGrpcStatus(Authorizer::Permit(*principal, role, rpc, entry.types));
  }
  if (!admission.status.ok() && audit_ != nullptr) {
    AuditEntry refused = entry;
    refused.result = CodeName(admission.status);
    audit_->RecordOrCountDrop(refused);
  }
  return admission;
}

std::optional<AuditEntry> EventStoreService::AdmitOrFinish(
    const grpc::CallbackServerContext& context, grpc::ServerUnaryReactor* reactor, Role role,
    const std::string& rpc, std::optional<v1::Subject> subject,
    std::vector<v1::EventType> types) {
  Admission admission = Admit(context, role, rpc, std::move(subject), std::move(types));
  if (!admission.status.ok()) {
    reactor->Finish(admission.status);
    return std::nullopt;
  }
  return std::move(admission.entry);
}

grpc::Status EventStoreService::Audit(AuditEntry entry, std::optional<uint64_t> records,
                                      const grpc::Status& result) {
  if (audit_ == nullptr) return grpc::Status::OK;
  entry.records = records;
  entry.result = result.ok() ? "OK" : CodeName(result);
  return ToGrpcStatus(audit_->Record(entry));
}

// Finishes a unary read with its outcome, once its audit line (holding
// `records`, the answer's count) is queued; `fill` writes the answer.
template <typename Result, typename Fill>
void EventStoreService::FinishAuditedRead(grpc::ServerUnaryReactor* reactor, AuditEntry entry,
                                          const absl::StatusOr<Result>& result, uint64_t records,
                                          Fill fill) {
  if (!result.ok()) {
    const grpc::Status status = ToGrpcStatus(result.status());
    Audit(std::move(entry), std::nullopt, status);
    reactor->Finish(status);
    return;
  }
  const grpc::Status audited = Audit(std::move(entry), records, grpc::Status::OK);
  if (!audited.ok()) {
    reactor->Finish(audited);
    return;
  }
  fill();
  reactor->Finish(grpc::Status::OK);
}

template <typename Result, typename Response>
void EventStoreService::FinishRead(grpc::ServerUnaryReactor* reactor, AuditEntry entry,
                                   absl::StatusOr<Result> result, Response* response) {
  const uint64_t records = result.ok() ? RecordCount(*result) : 0;
  FinishAuditedRead(reactor, std::move(entry), result, records,
                    [&] { *response = ResponseOf(*std::move(result)); });
}

void EventStoreService::ReadWhenReached(grpc::ServerUnaryReactor* reactor, const AuditEntry& entry,
                                        uint64_t min_log_sequence, uint64_t min_revision,
                                        std::function<void()> read) {
  read_gate_->Run(min_log_sequence, min_revision, std::move(read),
                  [this, reactor, entry](grpc::Status refusal) {
                    Audit(entry, std::nullopt, refusal);
                    reactor->Finish(refusal);
                  });
}

grpc::ServerUnaryReactor* EventStoreService::Ingest(grpc::CallbackServerContext* context,
                                                    const v1::IngestRequest* request,
                                                    v1::IngestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The audit line names the subject when the batch is one person's (a
  // webhook is), and the types it carries; never the events.
  std::optional<v1::Subject> subject;
  std::vector<v1::EventType> types;
  for (const v1::Event& event : request->events()) {
    if (std::find(types.begin(), types.end(), event.type()) == types.end()) {
      types.push_back(event.type());
    }
    if (!subject.has_value()) {
      subject.emplace().set_user_id(event.user().user_id());
    } else if (subject->user_id() != event.user().user_id()) {
      subject->set_user_id("*");  // several people
    }
  }
  // Ingest is not limited by type: the types are for the line only.
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kIngest, "Ingest", subject, {});
  if (!admitted.has_value()) return reactor;
  admitted->types = std::move(types);
  std::vector<v1::Event> events(request->events().begin(), request->events().end());
  const uint64_t count = events.size();
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
      [this, reactor, response, count, entry = *std::move(admitted)](
          absl::StatusOr<v1::IngestResponse> result) mutable {
        // Committed already (or refused): the line cannot refuse anything,
        // so a full audit buffer is counted as a drop.
        if (audit_ != nullptr) {
          entry.records = count;
          entry.result = result.ok() ? "OK" : CodeName(ToGrpcStatus(result.status()));
          audit_->RecordOrCountDrop(entry);
        }
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
                                                       const grpc::ByteBuffer* raw_request,
                                                       grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::GetLatestRequest request;
  if (!ParseRawRequest(*raw_request, &request)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "GetLatestRequest could not be parsed"));
    return reactor;
  }
  Admission admission =
      Admit(*context, Role::kRead, "GetLatest", request.subject(), {request.type()});
  if (!admission.status.ok()) {
    reactor->Finish(admission.status);
    return reactor;
  }
  LatestQuery query;
  query.subject = SubjectOf(request.subject());
  query.type = request.type();
  query.omit_raw_json = request.omit_raw_json();
  ReadWhenReached(
      reactor, admission.entry, request.min_log_sequence(), request.min_revision(),
      [this, reactor, query = std::move(query), response, entry = admission.entry] {
        absl::StatusOr<SerializedLatestResult> result = store_->GetLatestSerialized(query);
        FinishAuditedRead(reactor, entry, result, 1, [&] {
          SerializedLatestResponse(std::move(result->serialized_event), result->store_revision,
                                   result->store_timeline, response);
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListRecords(grpc::CallbackServerContext* context,
                                                         const v1::ListRecordsRequest* request,
                                                         v1::ListRecordsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "ListRecords", request->subject(),
                    {request->type()});
  if (!admitted.has_value()) return reactor;
  absl::StatusOr<ListQuery> query = ListQueryOf(*request);
  if (!query.ok()) {
    reactor->Finish(ToGrpcStatus(query.status()));
    return reactor;
  }
  ReadWhenReached(
      reactor, *admitted, request->min_log_sequence(), request->min_revision(),
      [this, reactor, query = *std::move(query), response, entry = *admitted] {
        FinishRead(reactor, entry, store_->ListRecords(query), response);
      });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetUser(grpc::CallbackServerContext* context,
                                                     const v1::GetUserRequest* request,
                                                     v1::GetUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "GetUser", request->subject(), {});
  if (!admitted.has_value()) return reactor;
  ReadWhenReached(
      reactor, *admitted, request->min_log_sequence(), request->min_revision(),
      [this, reactor, request, response, entry = *admitted] {
        FinishRead(reactor, entry, store_->GetUser(SubjectOf(request->subject())), response);
      });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::CreateCheckpoint(
    grpc::CallbackServerContext* context, const v1::CreateCheckpointRequest* request,
    v1::CreateCheckpointResponse* response) {
  // Hard links and a flush: rare and short, so it runs inline.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kAdmin, "CreateCheckpoint", std::nullopt, {});
  if (!admitted.has_value()) return reactor;
  FinishRead(reactor, *std::move(admitted), store_->CreateCheckpoint(request->name()),
             response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::EraseUser(grpc::CallbackServerContext* context,
                                                       const v1::EraseUserRequest* request,
                                                       v1::EraseUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kAdmin, "EraseUser", request->subject(), {});
  if (!admitted.has_value()) return reactor;
  // An erasure cannot be taken back once committed, so its line is written
  // after it (as a drop when the log fills meanwhile); an audit log that is
  // already failing refuses the erasure before anything is erased.
  if (audit_ != nullptr) {
    if (absl::Status writable = audit_->CheckWritable(); !writable.ok()) {
      const grpc::Status refusal = ToGrpcStatus(writable);
      AuditEntry refused = *admitted;
      refused.result = CodeName(refusal);
      audit_->RecordOrCountDrop(refused);
      reactor->Finish(refusal);
      return reactor;
    }
  }
  if (queued_erasures_.fetch_add(1) >= max_queued_erasures_) {
    queued_erasures_.fetch_sub(1);
    const grpc::Status busy(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat(max_queued_erasures_,
                                         " erasures are already waiting (--erase_max_queued); "
                                         "retry later"));
    Audit(*std::move(admitted), std::nullopt, busy);
    reactor->Finish(busy);
    return reactor;
  }
  // Commit + compaction can take seconds: not on a gRPC thread.
  const StoreSubject subject = SubjectOf(request->subject());
  erase_executor_.Schedule([this, reactor, response, subject,
                            entry = *std::move(admitted)]() mutable {
    absl::StatusOr<v1::EraseUserResponse> erased = eraser_(subject);
    queued_erasures_.fetch_sub(1);
    if (audit_ != nullptr) {
      if (erased.ok()) {
        entry.records = erased->records_erased();
        AuditEntry::Erased& counts = entry.erased.emplace();
        counts.changes = erased->changes_erased();
        counts.connections = erased->connections_erased();
        counts.backfills = erased->backfills_erased();
        counts.fetches = erased->fetches_erased();
        counts.tombstone_revision = erased->tombstone_revision();
        entry.result = "OK";
      } else {
        entry.result = CodeName(ToGrpcStatus(erased.status()));
      }
      audit_->RecordOrCountDrop(entry);
    }
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
    out->set_replica_id(status.replica_id);
    out->set_erasure_stream_jobs_pending(status.eraser.jobs_pending);
    out->set_erasure_stream_blocked_by(status.eraser.blocked_by);
    out->set_erasure_stream_messages_deleted(status.eraser.messages_deleted);
  }
  return response;
}

grpc::ServerUnaryReactor* EventStoreService::GetStatus(grpc::CallbackServerContext* context,
                                                       const v1::GetStatusRequest* request,
                                                       v1::GetStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // `read`: positions and health only, no person's data; readers need the
  // revision, timeline and replica lag to resume and to pick a replica.
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "GetStatus", std::nullopt, {});
  if (!admitted.has_value()) return reactor;
  *response = Status();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// Backfills and s3_payload fetches hold no health record (counts, chunk
// numbers, revisions, user ids, URLs without their query), so they need
// `read` of any type scope, like GetUser (server/security/authorizer.cc).
// Each answer has its audit line; one that cannot be queued is refused.
grpc::ServerUnaryReactor* EventStoreService::GetBackfill(grpc::CallbackServerContext* context,
                                                         const v1::GetBackfillRequest* request,
                                                         v1::GetBackfillResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "GetBackfill", std::nullopt, {});
  if (!admitted.has_value()) return reactor;
  absl::StatusOr<BackfillResult> result = store_->GetBackfill(request->reference());
  if (result.ok() && !result->backfills.empty() && !result->backfills.front().user_id().empty()) {
    admitted->subject.emplace().set_user_id(result->backfills.front().user_id());
  }
  FinishAuditedRead(reactor, *std::move(admitted), result,
                    result.ok() ? result->backfills.size() : 0, [&] {
                      if (!result->backfills.empty()) {
                        *response->mutable_backfill() = result->backfills.front();
                      }
                      response->set_store_revision(result->store_revision);
                      response->set_store_timeline(result->store_timeline);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListBackfills(
    grpc::CallbackServerContext* context, const v1::ListBackfillsRequest* request,
    v1::ListBackfillsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "ListBackfills", request->subject(), {});
  if (!admitted.has_value()) return reactor;
  absl::StatusOr<BackfillResult> result = store_->ListBackfills(SubjectOf(request->subject()));
  FinishAuditedRead(reactor, *std::move(admitted), result,
                    result.ok() ? result->backfills.size() : 0, [&] {
                      for (v1::Backfill& backfill : result->backfills) {
                        *response->add_backfills() = std::move(backfill);
                      }
                      response->set_store_revision(result->store_revision);
                      response->set_store_timeline(result->store_timeline);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListS3Fetches(
    grpc::CallbackServerContext* context, const v1::ListS3FetchesRequest* request,
    v1::ListS3FetchesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<AuditEntry> admitted =
      AdmitOrFinish(*context, reactor, Role::kRead, "ListS3Fetches", std::nullopt, {});
  if (!admitted.has_value()) return reactor;
  FetchListQuery query;
  query.state = request->state();
  query.after_ping_revision = request->after_ping_revision();
  query.page_size = request->page_size();
  absl::StatusOr<FetchListResult> result = store_->ListS3Fetches(query);
  FinishAuditedRead(reactor, *std::move(admitted), result,
                    result.ok() ? result->fetches.size() : 0, [&] {
                      for (v1::S3Fetch& fetch : result->fetches) {
                        *response->add_fetches() = std::move(fetch);
                      }
                      response->set_store_revision(result->store_revision);
                      response->set_store_timeline(result->store_timeline);
                    });
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventStoreService::StreamUpdates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  v1::StreamUpdatesRequest parsed;
  if (!ParseRawRequest(*request, &parsed)) {
    return UpdateStream::Refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "StreamUpdatesRequest could not be parsed"));
  }
  std::optional<v1::Subject> subject;
  if (parsed.user_ids_size() == 1 && parsed.reference_ids_size() == 0) {
    subject.emplace().set_user_id(parsed.user_ids(0));
  } else if (parsed.user_ids_size() == 0 && parsed.reference_ids_size() == 1) {
    subject.emplace().set_reference_id(parsed.reference_ids(0));
  } else if (parsed.user_ids_size() + parsed.reference_ids_size() > 1) {
    subject.emplace().set_user_id("*");  // several people
  }
  std::vector<v1::EventType> types;
  for (int type : parsed.types()) types.push_back(static_cast<v1::EventType>(type));
  Admission admission = Admit(*context, Role::kRead, "StreamUpdates", subject, types);
  if (!admission.status.ok()) return UpdateStream::Refuse(admission.status);
  UpdateStream::DoneCallback on_done;
  if (audit_ != nullptr) {
    // One line when the stream opens (refused when it cannot be written: no
    // stream without its line), one with the count when it ends.
    AuditEntry opened = admission.entry;
    opened.result = "OPEN";
    if (absl::Status recorded = audit_->Record(opened); !recorded.ok()) {
      return UpdateStream::Refuse(ToGrpcStatus(recorded));
    }
    on_done = [audit = audit_, entry = std::move(admission.entry)](
                  uint64_t updates_sent, const grpc::Status& status) mutable {
      entry.records = updates_sent;
      entry.result = status.ok() ? "OK" : CodeName(status);
      audit->RecordOrCountDrop(entry);
    };
  }
  return UpdateStream::Start(store_, &stream_executor_, parsed, context,
                             kStoreTimelineMetadataKey, std::move(on_done));
}

}  // namespace healthwire

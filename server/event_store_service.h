// EventStoreService: the healthwire.v1.EventStore gRPC service, a thin
// adapter from RPCs to an in-process EventStore: wire requests become the
// store's queries (storage/store_queries.h), its results become responses.
//
// Implements gRPC's callback API. Ingest never blocks a gRPC thread: it
// queues the batch with EventStore::IngestAsync and finishes the reactor from
// the store's writer thread once the commit is durable. GetLatest and
// ListRecords are short RocksDB reads at a snapshot and run inline.
// StreamUpdates is registered as a raw (ByteBuffer) method so every
// subscriber is sent the same serialized bytes (see UpdateStream).
//
// Every handler starts with Admit: the Authorizer decides (one place, see
// server/security/authorizer.h) and the AuditLog gets one line per call:
// denied calls, reads with their record counts, and StreamUpdates when it
// opens and when it ends. A read whose audit line cannot be queued is
// answered UNAVAILABLE instead of its data.
//
// Thread-safe; the EventStore, Authorizer and AuditLog must outlive the
// service.
#ifndef HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_
#define HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/executor.h"
#include "server/security/access_policy.h"
#include "server/security/audit_log.h"
#include "server/security/authorizer.h"
#include "storage/event_store.h"

namespace healthwire {

// The initial-metadata key under which every StreamUpdates call gets the
// store's timeline (see StreamUpdatesRequest.store_timeline).
inline constexpr char kStoreTimelineMetadataKey[] = "healthwire-store-timeline";

// The generated CallbackService, with StreamUpdates taking and sending raw
// bytes instead of parsed messages.
using EventStoreCallbackBase = v1::EventStore::WithCallbackMethod_Ingest<
    v1::EventStore::WithCallbackMethod_GetLatest<v1::EventStore::WithCallbackMethod_ListRecords<
        v1::EventStore::WithRawCallbackMethod_StreamUpdates<
            v1::EventStore::WithCallbackMethod_GetUser<
                v1::EventStore::WithCallbackMethod_CreateCheckpoint<v1::EventStore::Service>>>>>>;

class EventStoreService final : public EventStoreCallbackBase {
 public:
  // `stream_threads`: threads that read the change log for catching-up
  // streams and send progress ticks. `authorizer` null: every call is
  // allowed (as "anonymous"); `audit` null: no audit log.
  EventStoreService(EventStore* store, const Authorizer* authorizer = nullptr,
                    AuditLog* audit = nullptr, int stream_threads = 2)
      : store_(store), authorizer_(authorizer), audit_(audit), stream_executor_(stream_threads) {}

  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* context,
                                   const v1::IngestRequest* request,
                                   v1::IngestResponse* response) override;

  grpc::ServerUnaryReactor* GetLatest(grpc::CallbackServerContext* context,
                                      const v1::GetLatestRequest* request,
                                      v1::GetLatestResponse* response) override;

  grpc::ServerUnaryReactor* ListRecords(grpc::CallbackServerContext* context,
                                        const v1::ListRecordsRequest* request,
                                        v1::ListRecordsResponse* response) override;

  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::GetUserResponse* response) override;

  grpc::ServerUnaryReactor* CreateCheckpoint(grpc::CallbackServerContext* context,
                                             const v1::CreateCheckpointRequest* request,
                                             v1::CreateCheckpointResponse* response) override;

  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamUpdates(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;

 private:
  // A call that passed Admit: who it is, and its audit line so far.
  struct Admission {
    grpc::Status status;  // not OK: refuse the call with it
    AuditEntry entry;
  };
  Admission Admit(const grpc::CallbackServerContext& context, Role role, const std::string& rpc,
                  std::optional<v1::Subject> subject, std::vector<v1::EventType> types);
  // Queues the finished call's line; not OK (UNAVAILABLE) when the audit log
  // cannot take it, in which case a read must not be answered.
  grpc::Status Audit(AuditEntry entry, std::optional<uint64_t> records,
                     const grpc::Status& result);
  template <typename Result, typename Response>
  void FinishRead(grpc::ServerUnaryReactor* reactor, AuditEntry entry,
                  absl::StatusOr<Result> result, Response* response);

  EventStore* const store_;
  const Authorizer* const authorizer_;
  AuditLog* const audit_;
  Executor stream_executor_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_

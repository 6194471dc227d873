// EventStoreService: the healthwire.v1.EventStore gRPC service, a thin
// adapter from RPCs to an in-process EventStore: wire requests become the
// store's queries (storage/store_queries.h), its results become responses.
//
// Implements gRPC's callback API. Ingest never blocks a gRPC thread: it
// queues the batch with EventStore::IngestAsync and finishes the reactor from
// the store's writer thread once the commit is durable. A call whose caller
// gave up (cancelled, or past the RPC deadline or the commit-start deadline
// in its metadata, commit_deadline.h) by the time its commit would start is
// answered CANCELLED / DEADLINE_EXCEEDED and nothing of it is stored. GetLatest and
// ListRecords are short RocksDB reads at a snapshot and run inline. EraseUser
// waits for its commit and its compaction, so it runs on its own thread
// (erasures one at a time, at most max_queued_erasures waiting).
// StreamUpdates is registered as a raw (ByteBuffer) method so every
// subscriber is sent the same serialized bytes (see UpdateStream); GetLatest
// is raw so the stored record is forwarded as stored (wire_bytes.h).
//
// Every handler starts with Admit: the Authorizer decides (one place, see
// server/security/authorizer.h) and the AuditLog gets one line per call:
// denied calls, reads with their record counts, StreamUpdates when it opens
// and when it ends, and every erasure with what it removed. A read whose
// audit line cannot be queued is answered UNAVAILABLE instead of its data;
// so is an erasure (before anything is erased). Roles: Ingest `ingest`;
// GetLatest, ListRecords, GetUser, StreamUpdates, GetStatus, GetBackfill,
// ListBackfills and ListS3Fetches `read`;
// CreateCheckpoint and EraseUser `admin`.
//
// Thread-safe; the EventStore, Authorizer and AuditLog must outlive the
// service.
#ifndef HEALTHWIRE_SERVER_SERVICE_EVENT_STORE_SERVICE_H_
#define HEALTHWIRE_SERVER_SERVICE_EVENT_STORE_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/security/access_policy.h"
#include "server/security/audit_log.h"
#include "server/security/authorizer.h"
#include "server/service/executor.h"
#include "server/service/read_gate.h"
#include "storage/event_store.h"
#include "storage/replica/store_replica.h"

namespace healthwire {

// The initial-metadata key under which every StreamUpdates call gets the
// store's timeline (see StreamUpdatesRequest.store_timeline).
inline constexpr char kStoreTimelineMetadataKey[] = "healthwire-store-timeline";

// The generated CallbackService, with StreamUpdates and GetLatest taking and
// sending raw bytes instead of parsed messages.
using EventStoreCallbackBase = v1::EventStore::WithCallbackMethod_Ingest<
    v1::EventStore::WithRawCallbackMethod_GetLatest<v1::EventStore::WithCallbackMethod_ListRecords<
        v1::EventStore::WithRawCallbackMethod_StreamUpdates<
            v1::EventStore::WithCallbackMethod_GetUser<
                v1::EventStore::WithCallbackMethod_CreateCheckpoint<
                    v1::EventStore::WithCallbackMethod_EraseUser<
                        v1::EventStore::WithCallbackMethod_GetStatus<
                            v1::EventStore::WithCallbackMethod_GetBackfill<
                                v1::EventStore::WithCallbackMethod_ListBackfills<
                                    v1::EventStore::WithCallbackMethod_ListS3Fetches<
                                        v1::EventStore::Service>>>>>>>>>>>;

class EventStoreService final : public EventStoreCallbackBase {
 public:
  // How EraseUser erases: by default EventStore::EraseUser; cluster mode
  // routes it through the commit log (StoreReplica::EraseThroughLog) so every
  // replica applies it. Called on the service's erasure thread; may block.
  using Eraser = std::function<absl::StatusOr<v1::EraseUserResponse>(const StoreSubject&)>;

  // `stream_threads`: threads that read the change log for catching-up
  // streams and send progress ticks. `replica`: the StoreReplica keeping
  // `store` equal to the commit log (cluster mode), else null; it must
  // outlive the service. `read_wait`: how reads with min_log_sequence /
  // min_revision wait (see ReadGate). `eraser`: see Eraser (null = the
  // store's own EraseUser). `max_queued_erasures`: EraseUser calls waiting
  // or running at once; more are RESOURCE_EXHAUSTED. `authorizer` null:
  // every call is allowed (as "anonymous"); `audit` null: no audit log.
  struct Options {
    int stream_threads = 2;
    const StoreReplica* replica = nullptr;
    ReadGate::Options read_wait;
    Eraser eraser;
    int max_queued_erasures = 16;
    const Authorizer* authorizer = nullptr;
    AuditLog* audit = nullptr;
  };
  explicit EventStoreService(EventStore* store);
  EventStoreService(EventStore* store, Options options);

  // EraseUser calls waiting or running now (a metric).
  int queued_erasures() const { return queued_erasures_.load(std::memory_order_relaxed); }

  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* context,
                                   const v1::IngestRequest* request,
                                   v1::IngestResponse* response) override;

  // Raw: the answer is the stored record's bytes behind the field's tag and
  // length (wire_bytes.h), not the record decoded and encoded again.
  grpc::ServerUnaryReactor* GetLatest(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* ListRecords(grpc::CallbackServerContext* context,
                                        const v1::ListRecordsRequest* request,
                                        v1::ListRecordsResponse* response) override;

  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::GetUserResponse* response) override;

  grpc::ServerUnaryReactor* CreateCheckpoint(grpc::CallbackServerContext* context,
                                             const v1::CreateCheckpointRequest* request,
                                             v1::CreateCheckpointResponse* response) override;

  grpc::ServerUnaryReactor* EraseUser(grpc::CallbackServerContext* context,
                                      const v1::EraseUserRequest* request,
                                      v1::EraseUserResponse* response) override;

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;

  // What GetStatus answers (also for the embedded /metrics).
  v1::GetStatusResponse Status() const;
  ReadGate::Stats read_gate_stats() const { return read_gate_->GetStats(); }
  // Issue 13: backfills and s3_payload fetches (short snapshot reads, inline).
  grpc::ServerUnaryReactor* GetBackfill(grpc::CallbackServerContext* context,
                                        const v1::GetBackfillRequest* request,
                                        v1::GetBackfillResponse* response) override;
  grpc::ServerUnaryReactor* ListBackfills(grpc::CallbackServerContext* context,
                                          const v1::ListBackfillsRequest* request,
                                          v1::ListBackfillsResponse* response) override;
  grpc::ServerUnaryReactor* ListS3Fetches(grpc::CallbackServerContext* context,
                                          const v1::ListS3FetchesRequest* request,
                                          v1::ListS3FetchesResponse* response) override;

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
  // Admit for a unary call: a refused call is finished with its refusal
  // (nullopt); an admitted one returns its audit line so far.
  std::optional<AuditEntry> AdmitOrFinish(const grpc::CallbackServerContext& context,
                                          grpc::ServerUnaryReactor* reactor, Role role,
                                          const std::string& rpc,
                                          std::optional<v1::Subject> subject,
                                          std::vector<v1::EventType> types);
  // Queues the finished call's line; not OK (UNAVAILABLE) when the audit log
  // cannot take it, in which case a read must not be answered.
  grpc::Status Audit(AuditEntry entry, std::optional<uint64_t> records,
                     const grpc::Status& result);
  template <typename Result, typename Fill>
  void FinishAuditedRead(grpc::ServerUnaryReactor* reactor, AuditEntry entry,
                         const absl::StatusOr<Result>& result, uint64_t records, Fill fill);
  template <typename Result, typename Response>
  void FinishRead(grpc::ServerUnaryReactor* reactor, AuditEntry entry,
                  absl::StatusOr<Result> result, Response* response);
  // Runs `read` once this store has reached the call's min_log_sequence and
  // min_revision (ReadGate); a call refused by the gate's bound is audited and
  // finished with that refusal.
  void ReadWhenReached(grpc::ServerUnaryReactor* reactor, const AuditEntry& entry,
                       uint64_t min_log_sequence, uint64_t min_revision,
                       std::function<void()> read);

  EventStore* const store_;
  const StoreReplica* const replica_;
  const Eraser eraser_;
  const Authorizer* const authorizer_;
  AuditLog* const audit_;
  Executor stream_executor_;
  std::unique_ptr<ReadGate> read_gate_;
  const int max_queued_erasures_;
  Executor erase_executor_;
  std::atomic<int> queued_erasures_{0};
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_EVENT_STORE_SERVICE_H_

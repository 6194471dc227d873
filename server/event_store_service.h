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
// Thread-safe; the EventStore must outlive the service.
#ifndef HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_
#define HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_

#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/executor.h"
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
                v1::EventStore::WithCallbackMethod_CreateCheckpoint<
                    v1::EventStore::WithCallbackMethod_GetBackfill<
                        v1::EventStore::WithCallbackMethod_ListBackfills<
                            v1::EventStore::WithCallbackMethod_ListS3Fetches<
                                v1::EventStore::Service>>>>>>>>>;

class EventStoreService final : public EventStoreCallbackBase {
 public:
  // `stream_threads`: threads that read the change log for catching-up
  // streams and send progress ticks.
  EventStoreService(EventStore* store, int stream_threads = 2)
      : store_(store), stream_executor_(stream_threads) {}

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
  EventStore* const store_;
  Executor stream_executor_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_EVENT_STORE_SERVICE_H_

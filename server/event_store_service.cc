#include "server/event_store_service.h"

#include <utility>
#include <vector>

#include "server/status_util.h"
#include "server/update_stream.h"

namespace healthwire {
namespace {

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
  FinishWith(reactor, store_->GetLatest(*request), response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ListRecords(grpc::CallbackServerContext* context,
                                                         const v1::ListRecordsRequest* request,
                                                         v1::ListRecordsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishWith(reactor, store_->ListRecords(*request), response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::GetUser(grpc::CallbackServerContext* context,
                                                     const v1::GetUserRequest* request,
                                                     v1::GetUserResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishWith(reactor, store_->GetUser(*request), response);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::CreateCheckpoint(
    grpc::CallbackServerContext* context, const v1::CreateCheckpointRequest* request,
    v1::CreateCheckpointResponse* response) {
  // Hard links and a flush: rare and short, so it runs inline.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishWith(reactor, store_->CreateCheckpoint(*request), response);
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
  return UpdateStream::Start(store_, &stream_executor_, parsed);
}

}  // namespace healthwire

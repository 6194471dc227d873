#include "server/remote_ingestor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/message_limits.h"
#include "server/status_util.h"

namespace healthwire {

RemoteIngestor::RemoteIngestor(const std::string& store_address) : store_address_(store_address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  // Reconnect quickly after a store restart instead of backing off for
  // minutes: Terra's retries, not ours, cover long outages. (Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout.)
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  channel_ = grpc::CreateCustomChannel(store_address, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::EventStore::NewStub(channel_);
  watcher_ = std::thread([this] { WatchConnectivity(); });
}

RemoteIngestor::~RemoteIngestor() {
  stopping_.store(true);
  watcher_.join();
}

void RemoteIngestor::WatchConnectivity() {
  // Keeps the channel connecting (and so polled) while no webhook is in
  // flight, and caches its state for CheckReady, which must not block.
  while (!stopping_.load()) {
    const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    connected_.store(state == GRPC_CHANNEL_READY);
    channel_->WaitForStateChange(state, absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
  }
}

void RemoteIngestor::Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) {
  struct Call {
    grpc::ClientContext context;
    v1::IngestRequest request;
    v1::IngestResponse response;
    Callback done;
  };
  auto call = std::make_shared<Call>();
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  for (v1::Event& event : events) *call->request.add_events() = std::move(event);
  stub_->async()->Ingest(&call->context, &call->request, &call->response,
                         [this, call](grpc::Status status) {
                           if (!status.ok()) {
                             absl::Status error = FromGrpcStatus(status);
                             if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
                               error = absl::UnavailableError(
                                   absl::StrCat("store at ", store_address_,
                                                " unavailable: ", status.error_message()));
                             }
                             call->done(error);
                             return;
                           }
                           uint64_t seen = last_revision_.load();
                           const uint64_t now = call->response.store_revision();
                           while (now > seen && !last_revision_.compare_exchange_weak(seen, now)) {
                           }
                           call->done(std::move(call->response));
                         });
}

absl::Status RemoteIngestor::CheckReady() {
  if (connected_.load()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("store at ", store_address_, " is not reachable"));
}

}  // namespace healthwire

#include "server/ingest/remote_ingestor.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"

#include "absl/strings/str_cat.h"
#include "proto/message_limits.h"
#include "server/ingest/commit_deadline.h"
#include "server/service/status_util.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<RemoteIngestor>> RemoteIngestor::Create(
    const std::string& store_address, const GrpcClientSecurity& security) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  // Reconnect quickly after a store restart instead of backing off for
  // minutes: Terra's retries, not ours, cover long outages. (Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout.)
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateStoreChannel(store_address, security, args);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<RemoteIngestor>(new RemoteIngestor(store_address, *std::move(channel)));
}

RemoteIngestor::RemoteIngestor(const std::string& store_address,
                               std::shared_ptr<grpc::Channel> channel)
    : store_address_(store_address), channel_(std::move(channel)) {
  stub_ = v1::EventStore::NewStub(channel_);
  watcher_ = std::thread([this] { WatchConnectivity(); });
}

RemoteIngestor::~RemoteIngestor() {
  stopping_.store(true);
  watcher_.join();
}

absl::Status RemoteIngestor::ProbeHealth() {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest (the whole
  // server); the answer HealthCheckResponse{status: SERVING} is the two
  // bytes 08 01. A generic call, so no health proto is compiled in.
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kHealthProbeDeadline));
  // An empty message, but a valid buffer (a default ByteBuffer is invalid).
  grpc::Slice empty_message;
  const grpc::ByteBuffer request(&empty_message, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("store at ", store_address_,
                                               " did not answer a health check within ",
                                               absl::FormatDuration(kHealthProbeDeadline), ": ",
                                               status.error_message()));
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (bytes != std::string("\x08\x01", 2)) {
    return absl::UnavailableError(absl::StrCat("store at ", store_address_, " is not serving"));
  }
  return absl::OkStatus();
}

void RemoteIngestor::WatchConnectivity() {
  // Keeps the channel connecting (and so polled) while no webhook is in
  // flight, and asks the store itself how it is every kHealthProbeInterval:
  // a connected channel to a hung (SIGSTOPped) store is not ready. CheckReady
  // reads the cached result and never blocks.
  absl::Time next_probe = absl::InfinitePast();
  while (!stopping_.load()) {
    const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    if (state != GRPC_CHANNEL_READY) {
      SetHealth(absl::UnavailableError(
          absl::StrCat("store at ", store_address_, " is not reachable")));
      next_probe = absl::InfinitePast();
    } else if (absl::Now() >= next_probe) {
      SetHealth(ProbeHealth());
      next_probe = absl::Now() + kHealthProbeInterval;
    }
    channel_->WaitForStateChange(state, absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
  }
}

void RemoteIngestor::SetHealth(absl::Status health) {
  absl::MutexLock lock(&health_mu_);
  health_ = std::move(health);
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
  // `deadline` decides whether the commit starts. A call already past it
  // fails at once without reaching the store; the store refuses to start a
  // commit after it (the metadata carries it as an absolute time, which a
  // stopped or slow store cannot mistake for time left). A commit that
  // started in time may finish a little after the deadline; waiting
  // kCommitGrace longer for its answer keeps the gateway from answering 503
  // for a stored record then. The residual: a commit that takes longer than
  // kCommitGrace once started.
  call->context.set_deadline(
      absl::ToChronoTime(deadline > absl::Now() ? deadline + kCommitGrace : deadline));
  call->context.AddMetadata(kCommitStartDeadlineMetadataKey, EncodeCommitStartDeadline(deadline));
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
  absl::MutexLock lock(&health_mu_);
  return health_;
}

}  // namespace healthwire

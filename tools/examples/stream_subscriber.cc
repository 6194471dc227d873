// A minimal healthwire subscriber: the pattern a service uses to keep its own
// view of a person's records current without missing or repeating a change.
//
//   1. Read the current state (GetLatest), which says the store revision it
//      read at.
//   2. StreamUpdates from that revision + 1: every later change, in order.
//   3. Remember the last revision handled; after a disconnect or a restart,
//      stream again from last + 1 (--from_revision). If the store no longer
//      retains that far back (OUT_OF_RANGE), start over at step 1.
//
//   bazel run //tools/examples:stream_subscriber -- --user=<user_id> --type=sleep
//
// Ctrl-C stops it and prints the revision to resume from.
//
// Records can be tens of MB: the channel's receive limit is the largest
// message the store sends (proto/message_limits.h), not gRPC's 4 MiB default.
// Whatever still does not fit (a smaller --max_receive_mb) stops the
// subscriber with exit code 1 and a message: retrying would only fail again.
// So does any refusal that a retry cannot fix; only a store that is away
// (UNAVAILABLE, a dropped stream) is retried.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "server/security/grpc_client_channel.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50051", "healthwire's gRPC address");
ABSL_FLAG(std::string, user, "", "Terra user_id to follow");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA of the store's certificate: TLS to the store");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (store with --grpc_client_ca)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, token_file, "", "file whose first line is a bearer token with read");
ABSL_FLAG(std::string, type, "sleep", "record type to follow (sleep, activity, daily, ...)");
ABSL_FLAG(int64_t, from_revision, -1,
          "resume: stream from this revision without reading the current state first");
ABSL_FLAG(int, max_receive_mb, healthwire::kMaxGrpcMessageBytes >> 20,
          "largest message to accept, MiB (default: the largest the store sends)");

namespace {

using healthwire::v1::EventStore;
using healthwire::v1::EventType;

// Set by the signal thread; the stream in progress, so it can be cancelled.
std::atomic<bool> stopping{false};
absl::Mutex active_mu;
grpc::ClientContext* active_context ABSL_GUARDED_BY(active_mu) = nullptr;

// Whether a failed call may work when tried again: the store is away or
// restarting. Everything else (a message too large to receive, a bad
// request) fails the same way every time.
bool Retryable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

// One line for a failure a retry cannot fix.
void ReportFatal(absl::string_view call, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    std::fprintf(stderr,
                 "%s: a message is larger than the receive limit (--max_receive_mb=%d): %s; "
                 "stopping\n",
                 std::string(call).c_str(), absl::GetFlag(FLAGS_max_receive_mb),
                 status.error_message().c_str());
    return;
  }
  std::fprintf(stderr, "%s: %s; stopping\n", std::string(call).c_str(),
               status.error_message().c_str());
}

void CancelActiveStream() {
  absl::MutexLock lock(&active_mu);
  if (active_context != nullptr) active_context->TryCancel();
}

void PrintEvent(absl::string_view what, const healthwire::v1::Event& event) {
  std::printf("%s rev %llu  %s  key %s  start %s\n", std::string(what).c_str(),
              static_cast<unsigned long long>(event.revision()),
              healthwire::v1::EventType_Name(event.type()).c_str(), event.record_key().c_str(),
              event.start_time().c_str());
  std::fflush(stdout);
}

// Step 1: the newest record and the revision the store read it at. Returns
// the revision, or nullopt (with a message) when the store is unreachable;
// *fatal when the call failed for good.
std::optional<uint64_t> ReadCurrentState(EventStore::Stub& stub, EventType type, bool* fatal) {
  *fatal = false;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  healthwire::v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(absl::GetFlag(FLAGS_user));
  request.set_type(type);
  request.set_omit_raw_json(true);
  healthwire::v1::GetLatestResponse response;
  const grpc::Status status = stub.GetLatest(&context, request, &response);
  if (status.ok()) {
    PrintEvent("latest", response.event());
    return response.store_revision();
  }
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    if (!Retryable(status)) {
      ReportFatal("GetLatest", status);
      *fatal = true;
    } else {
      std::fprintf(stderr, "GetLatest: %s\n", status.error_message().c_str());
    }
    return std::nullopt;
  }
  // Nothing yet: ListRecords still says which revision it read at.
  grpc::ClientContext list_context;
  list_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  healthwire::v1::ListRecordsRequest list;
  *list.mutable_subject() = request.subject();
  list.set_type(type);
  list.set_page_size(1);
  healthwire::v1::ListRecordsResponse listed;
  const grpc::Status list_status = stub.ListRecords(&list_context, list, &listed);
  if (!list_status.ok()) {
    if (!Retryable(list_status)) {
      ReportFatal("ListRecords", list_status);
      *fatal = true;
    } else {
      std::fprintf(stderr, "ListRecords: %s\n", list_status.error_message().c_str());
    }
    return std::nullopt;
  }
  std::printf("no record yet (store revision %llu)\n",
              static_cast<unsigned long long>(listed.store_revision()));
  return listed.store_revision();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Follows one user's records of one type: GetLatest, then StreamUpdates from its "
      "revision + 1, resuming after disconnects.\n"
      "Usage: stream_subscriber --user=ID [--type=sleep] [--store=host:port] [--from_revision=N]");
  healthwire::ParseFlagsWithVersion(argc, argv, "stream_subscriber");
  EventType type;
  if (absl::GetFlag(FLAGS_user).empty() ||
      !healthwire::v1::EventType_Parse(
          absl::StrCat("EVENT_TYPE_", absl::AsciiStrToUpper(absl::GetFlag(FLAGS_type))), &type)) {
    std::fprintf(stderr, "stream_subscriber: --user and a valid --type are required\n");
    return 2;
  }

  // Ctrl-C: block SIGINT/SIGTERM everywhere (before gRPC starts threads) and
  // take them on one thread, which cancels the stream.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    stopping.store(true);
    CancelActiveStream();
  }).detach();

  const int max_receive_mb = absl::GetFlag(FLAGS_max_receive_mb);
  if (max_receive_mb < 1 || max_receive_mb > (healthwire::kMaxGrpcMessageBytes >> 20)) {
    std::fprintf(stderr, "stream_subscriber: --max_receive_mb must be within 1..%d\n",
                 healthwire::kMaxGrpcMessageBytes >> 20);
    return 2;
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(max_receive_mb << 20);
  // TLS, client certificate and bearer token the way every healthwire client
  // does it (server/security/grpc_client_channel.h).
  healthwire::GrpcClientSecurity security;
  security.ca_file = absl::GetFlag(FLAGS_tls_ca);
  security.cert_file = absl::GetFlag(FLAGS_tls_cert);
  security.key_file = absl::GetFlag(FLAGS_tls_key);
  security.token_file = absl::GetFlag(FLAGS_token_file);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      healthwire::CreateStoreChannel(absl::GetFlag(FLAGS_store), security, channel_args);
  if (!channel.ok()) {
    std::fprintf(stderr, "stream_subscriber: %s\n",
                 std::string(channel.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<EventStore::Stub> stub = EventStore::NewStub(*channel);

  // The next revision to ask for; 0 (revisions start at 1) until the
  // current state is read.
  uint64_t next_revision = 0;
  if (absl::GetFlag(FLAGS_from_revision) > 0) next_revision = absl::GetFlag(FLAGS_from_revision);

  while (!stopping.load()) {
    if (next_revision == 0) {
      bool fatal = false;
      std::optional<uint64_t> revision = ReadCurrentState(*stub, type, &fatal);
      if (fatal) return 1;
      if (!revision.has_value()) {
        absl::SleepFor(absl::Seconds(1));  // store not reachable yet: retry
        continue;
      }
      next_revision = *revision + 1;
    }

    healthwire::v1::StreamUpdatesRequest request;
    request.add_user_ids(absl::GetFlag(FLAGS_user));
    request.add_types(type);
    request.set_start_revision(next_revision);
    request.set_progress_interval_ms(5000);  // lets us advance past unrelated revisions
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&active_mu);
      active_context = &context;
    }
    if (stopping.load()) context.TryCancel();
    auto reader = stub->StreamUpdates(&context, request);
    healthwire::v1::StreamUpdatesResponse response;
    while (reader->Read(&response)) {
      if (response.has_update() &&
          response.update().type() == healthwire::v1::EVENT_TYPE_ERASURE) {
        // The person was erased from the store (README "Erasure"): a real
        // consumer deletes its own copy now. The ids come as SHA-256.
        std::printf("erasure at revision %llu: %llu records erased; delete your copy\n",
                    static_cast<unsigned long long>(response.update().revision()),
                    static_cast<unsigned long long>(response.update().erasure().records_erased()));
        next_revision = response.update().revision() + 1;
      } else if (response.has_update()) {
        PrintEvent("update", response.update());
        next_revision = response.update().revision() + 1;
      } else if (response.kind_case() == healthwire::v1::StreamUpdatesResponse::kProgressRevision) {
        next_revision = std::max(next_revision, response.progress_revision() + 1);
      }
    }
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&active_mu);
      active_context = nullptr;
    }
    if (stopping.load()) break;
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      // Too far behind the retained change log: re-read the current state.
      std::fprintf(stderr, "change log no longer reaches revision %llu; re-syncing\n",
                   static_cast<unsigned long long>(next_revision));
      next_revision = 0;
      continue;
    }
    if (!Retryable(status)) {
      ReportFatal("StreamUpdates", status);
      std::fprintf(stderr, "stopped at revision %llu\n",
                   static_cast<unsigned long long>(next_revision));
      return 1;
    }
    std::fprintf(stderr, "stream ended (%s); resuming from revision %llu\n",
                 status.error_message().c_str(), static_cast<unsigned long long>(next_revision));
    absl::SleepFor(absl::Seconds(1));
  }
  if (next_revision != 0) {
    std::fprintf(stderr, "stopped; resume with --from_revision=%llu\n",
                 static_cast<unsigned long long>(next_revision));
  }
  return 0;
}

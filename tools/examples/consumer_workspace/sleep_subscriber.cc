// A C++ subscriber in another Bazel workspace, built against @healthwire:
// reads a person's latest sleep (GetLatest), then streams every later change
// (StreamUpdates from store_revision + 1), one line each.
//
//   bazel run //:sleep_subscriber -- --store=127.0.0.1:50051 --user=ID [--max_updates=N]
//
// It uses only what healthwire publishes to other workspaces: the generated
// headers (healthwire/v1/...) and the shared message limit. The complete
// pattern (resume after disconnects, OUT_OF_RANGE re-sync) is
// tools/examples/stream_subscriber.cc in healthwire.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"

namespace {

constexpr char kUsage[] =
    "usage: sleep_subscriber --user=ID [--store=host:port] [--max_updates=N]\n";

void Print(const char* what, const healthwire::v1::Event& event) {
  std::printf("%s rev %llu sleep key %s start %s\n", what,
              static_cast<unsigned long long>(event.revision()), event.record_key().c_str(),
              event.start_time().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string store = "127.0.0.1:50051";
  std::string user;
  long max_updates = 0;  // 0: until the stream ends
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--store=", 0) == 0) {
      store = arg.substr(8);
    } else if (arg.rfind("--user=", 0) == 0) {
      user = arg.substr(7);
    } else if (arg.rfind("--max_updates=", 0) == 0) {
      char* end = nullptr;
      max_updates = std::strtol(arg.c_str() + 14, &end, 10);
      if (*end != '\0' || max_updates < 0) {
        std::fprintf(stderr, "sleep_subscriber: --max_updates must be a whole number\n%s", kUsage);
        return 2;
      }
    } else {
      std::fprintf(stderr, "sleep_subscriber: unknown argument %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (user.empty()) {
    std::fprintf(stderr, "sleep_subscriber: --user is required\n%s", kUsage);
    return 2;
  }

  // Records can be tens of MB: accept the largest message the store sends.
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(healthwire::kMaxGrpcMessageBytes);
  std::unique_ptr<healthwire::v1::EventStore::Stub> stub = healthwire::v1::EventStore::NewStub(
      grpc::CreateCustomChannel(store, grpc::InsecureChannelCredentials(), channel_args));

  uint64_t revision = 0;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    healthwire::v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(healthwire::v1::EVENT_TYPE_SLEEP);
    request.set_omit_raw_json(true);
    healthwire::v1::GetLatestResponse response;
    const grpc::Status status = stub->GetLatest(&context, request, &response);
    if (status.ok()) {
      Print("latest", response.event());
      revision = response.store_revision();
    } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      std::printf("no sleep yet\n");
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "GetLatest: %s\n", status.error_message().c_str());
      return 1;
    }
  }

  grpc::ClientContext context;
  healthwire::v1::StreamUpdatesRequest request;
  request.add_user_ids(user);
  request.add_types(healthwire::v1::EVENT_TYPE_SLEEP);
  // Without a latest record, from revision 1: everything of this user.
  request.set_start_revision(revision + 1);
  std::unique_ptr<grpc::ClientReader<healthwire::v1::StreamUpdatesResponse>> reader =
      stub->StreamUpdates(&context, request);
  healthwire::v1::StreamUpdatesResponse response;
  long updates = 0;
  while (reader->Read(&response)) {
    if (!response.has_update()) continue;
    Print("update", response.update());
    if (max_updates > 0 && ++updates >= max_updates) {
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (max_updates > 0 && updates >= max_updates) return 0;
  if (!status.ok()) {
    std::fprintf(stderr, "StreamUpdates: %s\n", status.error_message().c_str());
    return 1;
  }
  return 0;
}

// getlatest_frame: writes one GetLatest request as a gRPC length-prefixed
// message (1 flag byte, 4-byte big-endian length, the serialized
// GetLatestRequest), the body h2load sends for every call of the GetLatest
// line (`h2load -d FILE -H 'content-type: application/grpc' -H 'te: trailers'
// http://127.0.0.1:PORT/healthwire.v1.EventStore/GetLatest`), so the
// generator is a C HTTP/2 client that neither serializes nor parses protobuf.
//
// Before the run it makes the same call once through gRPC C++ (the bytes it
// wrote, as a generic call) and fails unless the status is OK and the answer
// is the asked-for user's sleep. h2load cannot read grpc-status (a trailer),
// so it prints the answer's framed size: every OK answer to this request on
// a store nobody writes to has exactly these bytes, and run_all.sh checks
// h2load's DATA bytes == succeeded calls x this size (a non-OK call answers
// with trailers only, no DATA).
//
//   getlatest_frame --grpc_port=P --user=bench-user-0 --out=/tmp/gl.frame
//
// Prints "RESULT request_bytes=N response_frame_bytes=M" on success.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(int, grpc_port, 0, "healthwire's gRPC port (127.0.0.1) for the check call.");
ABSL_FLAG(std::string, user, "bench-user-0", "The user_id asked for (its latest sleep).");
ABSL_FLAG(bool, omit_raw_json, false, "Ask without raw_json.");
ABSL_FLAG(std::string, out, "", "Output file (the framed request).");

namespace healthwire {
namespace bench {
namespace {

std::string GrpcFrame(const std::string& message) {
  const uint32_t n = static_cast<uint32_t>(message.size());
  std::string frame(5, '\0');
  frame[1] = static_cast<char>(n >> 24);
  frame[2] = static_cast<char>(n >> 16);
  frame[3] = static_cast<char>(n >> 8);
  frame[4] = static_cast<char>(n);
  return frame + message;
}

int Run() {
  const std::string out_path = absl::GetFlag(FLAGS_out);
  const int port = absl::GetFlag(FLAGS_grpc_port);
  if (out_path.empty() || port <= 0) {
    std::fprintf(stderr, "getlatest_frame: --out and --grpc_port are required\n");
    return 2;
  }
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(absl::GetFlag(FLAGS_user));
  request.set_type(v1::EVENT_TYPE_SLEEP);
  request.set_omit_raw_json(absl::GetFlag(FLAGS_omit_raw_json));
  const std::string message = request.SerializeAsString();

  // The check call sends these same bytes.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           grpc::InsecureChannelCredentials(), args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Slice slice(message);
  grpc::ByteBuffer request_bytes(&slice, 1);
  grpc::ByteBuffer response_bytes;
  grpc::CompletionQueue cq;
  auto reader = stub.PrepareUnaryCall(&context, "/healthwire.v1.EventStore/GetLatest",
                                      request_bytes, &cq);
  reader->StartCall();
  grpc::Status status;
  reader->Finish(&response_bytes, &status, nullptr);
  void* tag;
  bool ok = false;
  if (!cq.Next(&tag, &ok) || !ok || !status.ok()) {
    std::fprintf(stderr, "getlatest_frame: check call failed: %d %s\n",
                 static_cast<int>(status.error_code()), status.error_message().c_str());
    return 1;
  }
  v1::GetLatestResponse response;
  grpc::ProtoBufferReader parse(&response_bytes);
  if (!response.ParseFromZeroCopyStream(&parse) ||
      response.event().user().user_id() != absl::GetFlag(FLAGS_user)) {
    std::fprintf(stderr, "getlatest_frame: check call answered another user's record\n");
    return 1;
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }

  const std::string frame = GrpcFrame(message);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "getlatest_frame: cannot write %s\n", out_path.c_str());
    return 1;
  }
  std::printf("RESULT request_bytes=%zu response_frame_bytes=%zu\n", frame.size(),
              5 + response_bytes.Length());
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  healthwire::ParseFlagsWithVersion(argc, argv, "getlatest_frame");
  return healthwire::bench::Run();
}

// ReadApiHandler without a socket (TensorFlow Serving's HttpRestApiHandler
// tests): every endpoint and error of README's "HTTP/JSON read API" decided
// by the handler over real parts: a real EventStore in a temp folder behind
// the real EventStoreService, reached through gRPC's in-process channel (no
// port). The HTTP listener is proven by //tests/readapi:read_api_e2e_test.
#include "server/readapi/read_api_handler.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "server/convert/terra_converter.h"
#include "server/service/event_store_service.h"
#include "storage/event_store.h"
#include "tests/util/status_table_bodies.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

class ReadApiHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("read-api-handler");
    EventStore::Options options;
    options.path = dir_->path();
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service_ = std::make_unique<EventStoreService>(store_.get());
    grpc::ServerBuilder builder;  // no listening port: in-process only
    builder.RegisterService(service_.get());
    builder.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
    channel_ = server_->InProcessChannel(args);
    stub_ = v1::EventStore::NewStub(channel_);
    ReadApiHandler::Options handler_options;
    handler_options.heartbeat = absl::Milliseconds(200);
    handler_ = std::make_unique<ReadApiHandler>(channel_, handler_options);
  }

  void TearDown() override {
    handler_.reset();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  // Converts and ingests a webhook body exactly as the gateway would.
  void Ingest(const std::string& body) {
    DeliveryContext context;
    context.received_at = absl::Now();
    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
    ASSERT_TRUE(converted.ok()) << converted.status();
    v1::IngestRequest request;
    for (v1::Event& event : converted->events) *request.add_events() = std::move(event);
    v1::IngestResponse response;
    grpc::ClientContext rpc;
    ASSERT_TRUE(stub_->Ingest(&rpc, request, &response).ok());
  }

  void IngestSleep(const std::string& user, const std::string& summary, const std::string& start) {
    Ingest(SleepWebhookBuilder(user, summary)
               .ReferenceId("patient-1")
               .StartTime(start)
               .EndTime(start)
               .Json());
  }

  ReadApiReply Get(const std::string& target) {
    ReadApiRequest request;
    request.method = "GET";
    request.target = target;
    return handler_->Handle(request);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<EventStoreService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
  std::unique_ptr<ReadApiHandler> handler_;
};

TEST_F(ReadApiHandlerTest, LatestIsGetLatestInProtobufsJsonMapping) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+01:00");
  IngestSleep("user-1", "s-2", "2026-07-02T23:10:00.000000+01:00");
  const ReadApiReply reply = Get("/v1/users/user-1/latest/sleep");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/json");
  // The body is GetLatestResponse's JSON mapping: it parses back into the
  // very message the gRPC call returns.
  v1::GetLatestResponse from_http;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(reply.body, &from_http).ok())
      << reply.body;
  v1::GetLatestRequest call;
  call.mutable_subject()->set_user_id("user-1");
  call.set_type(v1::EVENT_TYPE_SLEEP);
  call.set_omit_raw_json(true);
  v1::GetLatestResponse from_grpc;
  grpc::ClientContext rpc;
  ASSERT_TRUE(stub_->GetLatest(&rpc, call, &from_grpc).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(from_http, from_grpc))
      << from_http.DebugString() << "\nvs\n" << from_grpc.DebugString();
  EXPECT_EQ(from_http.event().record_key(), "s-2");
  EXPECT_THAT(reply.body, HasSubstr("\"terra_type\":\"sleep\""));  // proto field names
}

TEST_F(ReadApiHandlerTest, RawTrueAddsTheRecordVerbatimAsJson) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+01:00");
  const ReadApiReply reply = Get("/v1/users/user-1/latest/sleep?raw=true");
  ASSERT_EQ(reply.status, 200) << reply.body;
  v1::GetLatestRequest call;
  call.mutable_subject()->set_user_id("user-1");
  call.set_type(v1::EVENT_TYPE_SLEEP);
  v1::GetLatestResponse stored;
  grpc::ClientContext rpc;
  ASSERT_TRUE(stub_->GetLatest(&rpc, call, &stored).ok());
  ASSERT_FALSE(stored.event().raw_json().empty());
  EXPECT_THAT(reply.body, HasSubstr(absl::StrCat("\"raw\":", stored.event().raw_json())));
  EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("raw_json")));
  const google::protobuf::Struct parsed = ParseJson(reply.body);
  EXPECT_EQ(parsed.fields().at("event").struct_value().fields().at("raw").struct_value()
                .fields().at("metadata").struct_value().fields().at("summary_id").string_value(),
            "s-1");
  // Without raw=true the raw bytes are left out.
  EXPECT_THAT(Get("/v1/users/user-1/latest/sleep").body, ::testing::Not(HasSubstr("\"raw\"")));
}

TEST_F(ReadApiHandlerTest, RecordsPageWithTokensAndFilterByDate) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+00:00");
  IngestSleep("user-1", "s-2", "2026-07-02T23:10:00.000000+00:00");
  IngestSleep("user-1", "s-3", "2026-07-03T23:10:00.000000+00:00");
  ReadApiReply first = Get("/v1/users/user-1/records/sleep?page_size=2");
  ASSERT_EQ(first.status, 200) << first.body;
  v1::ListRecordsResponse page;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(first.body, &page).ok()) << first.body;
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).record_key(), "s-3");  // newest start time first
  ASSERT_FALSE(page.next_page_token().empty());
  ReadApiReply second = Get(absl::StrCat("/v1/users/user-1/records/sleep?page_size=2&page_token=",
                                         page.next_page_token()));
  ASSERT_EQ(second.status, 200) << second.body;
  v1::ListRecordsResponse rest;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(second.body, &rest).ok());
  ASSERT_EQ(rest.events_size(), 1);
  EXPECT_EQ(rest.events(0).record_key(), "s-1");
  EXPECT_TRUE(rest.next_page_token().empty());

  ReadApiReply window = Get("/v1/users/user-1/records/sleep?from=2026-07-02&to=2026-07-03");
  ASSERT_EQ(window.status, 200) << window.body;
  v1::ListRecordsResponse windowed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(window.body, &windowed).ok());
  ASSERT_EQ(windowed.events_size(), 1) << window.body;
  EXPECT_EQ(windowed.events(0).record_key(), "s-2");
  EXPECT_EQ(Get("/v1/users/user-1/records/sleep?from=2026-07-02T00:00:00Z").status, 200);
}

TEST_F(ReadApiHandlerTest, UserAndReferenceIdVariants) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+00:00");
  const ReadApiReply user = Get("/v1/users/user-1");
  ASSERT_EQ(user.status, 200) << user.body;
  v1::GetUserResponse connections;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(user.body, &connections).ok());
  ASSERT_EQ(connections.connections_size(), 1);
  EXPECT_EQ(connections.connections(0).reference_id(), "patient-1");

  EXPECT_EQ(Get("/v1/users/-?reference_id=patient-1").status, 200);
  const ReadApiReply by_reference = Get("/v1/users/-/latest/sleep?reference_id=patient-1");
  ASSERT_EQ(by_reference.status, 200) << by_reference.body;
  EXPECT_THAT(by_reference.body, HasSubstr("\"record_key\":\"s-1\""));
  EXPECT_EQ(Get("/v1/users/-/records/sleep?reference_id=patient-1").status, 200);
  // Ids are path segments: escaped bytes are decoded.
  EXPECT_EQ(Get("/v1/users/user%2D1/latest/sleep").status, 200);
}

TEST_F(ReadApiHandlerTest, ErrorsAreClearJsonWithTheirHttpStatus) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+00:00");
  struct Case {
    std::string target;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/v1/users/nobody/latest/sleep", 404, "NOT_FOUND"},
      {"/v1/users/nobody", 404, "NOT_FOUND"},
      {"/v1/users/user-1/latest/banana", 400, "unknown type \\\"banana\\\""},
      {"/v1/users/user-1/records/sleep?from=yesterday", 400, "from: \\\"yesterday\\\""},
      {"/v1/users/user-1/records/sleep?page_size=many", 400, "page_size"},
      {"/v1/users/user-1/records/sleep?page_size=-1", 400, "page_size"},
      {"/v1/users/user-1/records/sleep?page_token=garbage", 400, "page_token"},
      {"/v1/users/-/latest/sleep", 400, "reference_id"},
      {"/v1/users/user-1/latest/sleep?reference_id=p", 400, "both"},
      {"/v1/users/user-1/latest/sleep?raw=maybe", 400, "raw"},
      {"/v1/users/user-1/latest/sleep%ZZ", 400, "escape"},
      {"/v1/records", 404, "no such endpoint"},
      {"/v1/users/user-1/everything/sleep", 404, "no such endpoint"},
  };
  for (const Case& c : cases) {
    const ReadApiReply reply = Get(c.target);
    EXPECT_EQ(reply.status, c.status) << c.target << ": " << reply.body;
    EXPECT_THAT(reply.body, HasSubstr(c.says)) << c.target;
    const google::protobuf::Struct parsed = ParseJson(reply.body);
    EXPECT_TRUE(parsed.fields().contains("message")) << c.target;
  }
  ReadApiRequest post;
  post.method = "POST";
  post.target = "/v1/users/user-1";
  EXPECT_EQ(handler_->Handle(post).status, 405);
}

TEST_F(ReadApiHandlerTest, StreamIsServerSentEventsWithRevisionIdsAndResumesFromLastEventId) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+00:00");
  IngestSleep("user-1", "s-2", "2026-07-02T23:10:00.000000+00:00");
  ReadApiRequest request;
  request.method = "GET";
  request.target = "/v1/updates?from_revision=1&types=sleep";
  ASSERT_TRUE(ReadApiHandler::IsStream(request));
  ReadApiReply error;
  absl::StatusOr<std::unique_ptr<ReadApiStream>> stream = handler_->OpenStream(request, &error);
  ASSERT_TRUE(stream.ok()) << error.body;
  EXPECT_EQ((*stream)->content_type(), "text/event-stream");
  EXPECT_EQ((*stream)->timeline(), store_->TimelineId());
  std::string chunk;
  ASSERT_TRUE((*stream)->Next(&chunk));
  EXPECT_THAT(chunk, StartsWith("event: update\nid: 1\ndata: {"));
  EXPECT_THAT(chunk, HasSubstr("\"record_key\":\"s-1\""));
  ASSERT_TRUE((*stream)->Next(&chunk));
  EXPECT_THAT(chunk, StartsWith("event: update\nid: 2\n"));
  // Caught up: a progress event within the heartbeat, and live changes.
  ASSERT_TRUE((*stream)->Next(&chunk));
  EXPECT_THAT(chunk, StartsWith("event: progress\nid: 2\n"));
  IngestSleep("user-1", "s-3", "2026-07-03T23:10:00.000000+00:00");
  do {
    ASSERT_TRUE((*stream)->Next(&chunk));
  } while (absl::StartsWith(chunk, "event: progress"));
  EXPECT_THAT(chunk, StartsWith("event: update\nid: 3\n"));
  stream->reset();

  // An EventSource reconnecting sends the last id it saw: it gets what
  // follows, once, whatever ?from_revision= the URL still has.
  request.last_event_id = "1";
  stream = handler_->OpenStream(request, &error);
  ASSERT_TRUE(stream.ok()) << error.body;
  ASSERT_TRUE((*stream)->Next(&chunk));
  EXPECT_THAT(chunk, StartsWith("event: update\nid: 2\n"));
}

TEST_F(ReadApiHandlerTest, NdjsonStreamLinesAreJson) {
  IngestSleep("user-1", "s-1", "2026-07-01T23:10:00.000000+00:00");
  ReadApiRequest request;
  request.method = "GET";
  request.target = "/v1/updates?from_revision=1&format=ndjson&raw=true";
  ReadApiReply error;
  absl::StatusOr<std::unique_ptr<ReadApiStream>> stream = handler_->OpenStream(request, &error);
  ASSERT_TRUE(stream.ok()) << error.body;
  EXPECT_EQ((*stream)->content_type(), "application/x-ndjson");
  std::string line;
  ASSERT_TRUE((*stream)->Next(&line));
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const google::protobuf::Struct parsed = ParseJson(line);
  const auto& update = parsed.fields().at("update").struct_value().fields();
  EXPECT_EQ(update.at("revision").string_value(), "1");
  EXPECT_TRUE(update.contains("raw"));
  ASSERT_TRUE((*stream)->Next(&line));
  EXPECT_THAT(line, StartsWith("{\"progress_revision\":\"1\"}"));
}

TEST_F(ReadApiHandlerTest, StreamRefusalsAreErrorsBeforeAnyByteIsStreamed) {
  struct Case {
    std::string target;
    std::string last_event_id;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/v1/updates?from_revision=1&timeline=0123456789abcdef0123456789abcdef", "", 409,
       "FAILED_PRECONDITION"},
      {"/v1/updates?from_revision=0", "", 400, "revisions start at 1"},
      {"/v1/updates?from_revision=soon", "", 400, "from_revision"},
      {"/v1/updates", "not-a-revision", 400, "Last-Event-ID"},
      {"/v1/updates?types=banana", "", 400, "unknown type"},
      {"/v1/updates?format=xml", "", 400, "format"},
  };
  for (const Case& c : cases) {
    ReadApiRequest request;
    request.method = "GET";
    request.target = c.target;
    request.last_event_id = c.last_event_id;
    ReadApiReply error;
    absl::StatusOr<std::unique_ptr<ReadApiStream>> stream = handler_->OpenStream(request, &error);
    EXPECT_FALSE(stream.ok()) << c.target;
    EXPECT_EQ(error.status, c.status) << c.target << ": " << error.body;
    EXPECT_THAT(error.body, HasSubstr(c.says)) << c.target;
  }
  // The timeline the store reports is accepted.
  ReadApiRequest same;
  same.method = "GET";
  same.target = absl::StrCat("/v1/updates?timeline=", store_->TimelineId());
  ReadApiReply error;
  EXPECT_TRUE(handler_->OpenStream(same, &error).ok()) << error.body;
}

}  // namespace
}  // namespace healthwire

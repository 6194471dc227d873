// Records stored by reference answer exactly what inline records answer.
//
// Raw JSON over --large_value_bytes (1 MiB by default) is kept once, in its
// own column family, and the record and its change-log entry hold only a
// reference (storage/large_values.h). Every reader must resolve it: two real
// //server:healthwire processes on loopback get the same signed webhooks, one
// with the default threshold and one storing every record inline
// (--large_value_bytes=0), and then GetLatest, ListRecords, a StreamUpdates
// replay from revision 1 and the HTTP/JSON read API answer the same from both,
// with the raw JSON byte-identical to what was posted; so does the store after
// a restart and a store opened from a checkpoint.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/http_test_client.h"
#include "tests/util/large_bodies.h"
#include "tests/util/server_process.h"
#include "tests/util/store_reads.h"
#include "tests/util/temp_dir.h"
#include "tests/util/text_scrapers.h"

namespace healthwire {
namespace {

using ::healthwire::testing::ActivityWebhook;
using ::healthwire::testing::FindStored;
using ::healthwire::testing::HttpResponse;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::JsonInteger;
using ::healthwire::testing::LargeActivityRecord;
using ::healthwire::testing::ListAll;
using ::healthwire::testing::MetricValue;
using ::healthwire::testing::ReplayChangeLog;
using ::healthwire::testing::RpcContext;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::StoreRevision;
using ::healthwire::testing::TempDir;

constexpr char kBinary[] = "server/healthwire";
constexpr char kSecret[] = "large-value-e2e-secret";
constexpr char kUser[] = "large-user";

// One //server:healthwire on its own data folder, with a gRPC stub and the
// read API on free ports.
class Store {
 public:
  // `data_dir` outlives the Store.
  Store(std::string data_dir, std::vector<std::string> flags)
      : data_dir_(std::move(data_dir)), flags_(std::move(flags)) {}

  void Start() {
    std::vector<std::string> args = {"--data_dir=" + data_dir_, "--http_port=0",
                                      "--grpc_port=0", "--read_api_port=0",
                                      absl::StrCat("--signing_secret=", kSecret),
                                      // 3 MB records on a shared 2-core machine.
                                      "--ingest_deadline=60s"};
    args.insert(args.end(), flags_.begin(), flags_.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process = ServerProcess::Start(kBinary, args);
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = *std::move(process);
    grpc::ChannelArguments channel_args;
    channel_args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::EventStore::NewStub(grpc::CreateCustomChannel(
        process_->grpc_target(), grpc::InsecureChannelCredentials(), channel_args));
  }

  void Restart() {
    ASSERT_TRUE(process_->Stop(SIGTERM).ok());
    process_.reset();
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  // The webhook's answer body; fails the test unless it is 200.
  std::string Post(const std::string& body) {
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    options.timeout = absl::Seconds(90);
    HttpTestClient client(process_->http_port(), options);
    const HttpResponse response = client.PostSigned(body);
    EXPECT_EQ(response.status, 200) << response << "\n" << process_->Stderr();
    return response.body;
  }

  HttpResponse ReadApi(const std::string& target) {
    HttpTestClient::Options options;
    options.timeout = absl::Seconds(30);
    HttpTestClient client(std::stoi(process_->ReadyValue("read_api_port")), options);
    return client.Get(target);
  }

  int64_t Metric(absl::string_view name) {
    HttpTestClient client(process_->http_port(), {});
    const HttpResponse metrics = client.Get("/metrics");
    EXPECT_EQ(metrics.status, 200) << metrics;
    return MetricValue(metrics.body, name);
  }

  v1::EventStore::Stub* stub() { return stub_.get(); }

 private:
  const std::string data_dir_;
  const std::vector<std::string> flags_;
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
};

// Equal but for when each process received the webhook.
::testing::AssertionResult SameEvent(v1::Event by_reference, v1::Event inline_event) {
  by_reference.clear_received_at();
  inline_event.clear_received_at();
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  if (differencer.Compare(by_reference, inline_event)) return ::testing::AssertionSuccess();
  // Not the whole difference: a raw_json mismatch would print megabytes.
  return ::testing::AssertionFailure()
         << "revision " << inline_event.revision() << " key " << inline_event.record_key()
         << " differs: " << difference.substr(0, 600);
}

::testing::AssertionResult SameEvents(const std::vector<v1::Event>& by_reference,
                                      const std::vector<v1::Event>& inline_events) {
  if (by_reference.size() != inline_events.size()) {
    return ::testing::AssertionFailure() << by_reference.size() << " events by reference, "
                                         << inline_events.size() << " inline";
  }
  for (size_t i = 0; i < by_reference.size(); ++i) {
    ::testing::AssertionResult same = SameEvent(by_reference[i], inline_events[i]);
    if (!same) return same;
  }
  return ::testing::AssertionSuccess();
}

class LargeValueE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(by_reference_.Start());
    ASSERT_NO_FATAL_FAILURE(inline_.Start());
  }

  // Both stores get `body`; their answers must agree.
  void PostToBoth(const std::string& body) {
    const std::string answer = by_reference_.Post(body);
    const std::string inline_answer = inline_.Post(body);
    EXPECT_EQ(JsonInteger(answer, "stored"), JsonInteger(inline_answer, "stored")) << answer;
    EXPECT_EQ(JsonInteger(answer, "identical"), JsonInteger(inline_answer, "identical"));
  }

  const TempDir by_reference_dir_;
  const TempDir inline_dir_;
  const TempDir checkpoint_dir_;
  // The default threshold (1 MiB): the 2 and 3 MB records go by reference.
  Store by_reference_{by_reference_dir_.path(),
                      {"--checkpoint_dir=" + checkpoint_dir_.path()}};
  Store inline_{inline_dir_.path(), {"--large_value_bytes=0"}};
};

TEST_F(LargeValueE2eTest, EveryReaderAnswersTheSameBytesAsTheInlinePath) {
  const std::string big = LargeActivityRecord(3 << 20, "big-1", 90).json;
  const std::string big_v2 = LargeActivityRecord(3 << 20, "big-1", 95).json;
  const std::string second = LargeActivityRecord(2 << 20, "big-2", 90).json;
  const std::string small = LargeActivityRecord(8 << 10, "small-1", 90).json;
  const std::string first_webhook = ActivityWebhook(kUser, "large-ref", {big, second, small});
  PostToBoth(first_webhook);
  PostToBoth(first_webhook);                          // Terra's re-delivery: identical
  PostToBoth(ActivityWebhook(kUser, "", {big_v2}));  // a new version of big-1
  ASSERT_FALSE(HasFailure());

  // Point reads: the latest version of each record, raw JSON as posted.
  for (const auto& [key, raw] : std::vector<std::pair<std::string, std::string>>{
           {"big-1", big_v2}, {"big-2", second}, {"small-1", small}}) {
    std::optional<v1::Event> stored =
        FindStored(by_reference_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY, key);
    std::optional<v1::Event> stored_inline =
        FindStored(inline_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY, key);
    ASSERT_TRUE(stored.has_value() && stored_inline.has_value()) << key;
    EXPECT_EQ(stored->raw_json().size(), raw.size()) << key;
    EXPECT_TRUE(stored->raw_json() == raw) << key << ": raw_json is not the posted bytes";
    EXPECT_TRUE(SameEvent(*stored, *stored_inline));
  }

  // Without raw JSON: the reference is not resolved, the typed record is.
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(kUser);
  request.set_type(v1::EVENT_TYPE_ACTIVITY);
  request.set_omit_raw_json(true);
  v1::GetLatestResponse without_raw, without_raw_inline;
  ASSERT_TRUE(by_reference_.stub()->GetLatest(RpcContext().get(), request, &without_raw).ok());
  ASSERT_TRUE(inline_.stub()->GetLatest(RpcContext().get(), request, &without_raw_inline).ok());
  EXPECT_TRUE(without_raw.event().raw_json().empty());
  EXPECT_TRUE(without_raw.event().has_activity());
  EXPECT_TRUE(SameEvent(without_raw.event(), without_raw_inline.event()));

  EXPECT_TRUE(SameEvents(ListAll(by_reference_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY),
                         ListAll(inline_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY)));

  // The change log keeps every version: the first big-1 is still replayed.
  const uint64_t revision = StoreRevision(by_reference_.stub());
  ASSERT_EQ(revision, StoreRevision(inline_.stub()));
  const std::vector<v1::Event> replay = ReplayChangeLog(by_reference_.stub(), revision, true);
  EXPECT_TRUE(SameEvents(replay, ReplayChangeLog(inline_.stub(), revision, true)));
  int first_versions = 0;
  for (const v1::Event& change : replay) first_versions += change.raw_json() == big;
  EXPECT_EQ(first_versions, 1) << "the replay must hold big-1's first version once";

  // The read API splices the raw JSON into its answer unchanged.
  const HttpResponse listed =
      by_reference_.ReadApi(absl::StrCat("/v1/users/", kUser, "/records/activity?raw=true"));
  ASSERT_EQ(listed.status, 200) << listed.body.substr(0, 300);
  EXPECT_TRUE(absl::StrContains(listed.body, big_v2)) << "big-1's bytes are not in the answer";
  EXPECT_TRUE(absl::StrContains(listed.body, second)) << "big-2's bytes are not in the answer";

  // Three large versions are kept once each (big-1 twice, big-2), none
  // inline; the re-delivery keeps no second copy.
  EXPECT_EQ(by_reference_.Metric("healthwire_store_large_values_written_total") -
                by_reference_.Metric("healthwire_store_large_values_collected_total"),
            3);
  EXPECT_EQ(inline_.Metric("healthwire_store_large_values_written_total"), 0);
}

TEST_F(LargeValueE2eTest, ReferencesResolveAfterARestartAndInACheckpoint) {
  const std::string big = LargeActivityRecord(3 << 20, "big-1", 90).json;
  PostToBoth(ActivityWebhook(kUser, "large-ref", {big}));
  ASSERT_FALSE(HasFailure());

  v1::CreateCheckpointRequest checkpoint_request;
  checkpoint_request.set_name("with-large-value");
  v1::CreateCheckpointResponse checkpoint;
  grpc::Status made =
      by_reference_.stub()->CreateCheckpoint(RpcContext().get(), checkpoint_request, &checkpoint);
  ASSERT_TRUE(made.ok()) << made.error_message();

  ASSERT_NO_FATAL_FAILURE(by_reference_.Restart());
  std::optional<v1::Event> after_restart =
      FindStored(by_reference_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY, "big-1");
  ASSERT_TRUE(after_restart.has_value());
  EXPECT_TRUE(after_restart->raw_json() == big) << "raw_json differs after a restart";

  // A store opened from the checkpoint folder (how README says to restore).
  Store restored(checkpoint.path(), {});
  ASSERT_NO_FATAL_FAILURE(restored.Start());
  std::optional<v1::Event> from_checkpoint =
      FindStored(restored.stub(), kUser, v1::EVENT_TYPE_ACTIVITY, "big-1");
  ASSERT_TRUE(from_checkpoint.has_value());
  EXPECT_TRUE(from_checkpoint->raw_json() == big) << "raw_json differs in the checkpoint";
  std::optional<v1::Event> stored_inline =
      FindStored(inline_.stub(), kUser, v1::EVENT_TYPE_ACTIVITY, "big-1");
  ASSERT_TRUE(stored_inline.has_value());
  EXPECT_TRUE(SameEvent(*from_checkpoint, *stored_inline));
}

}  // namespace
}  // namespace healthwire

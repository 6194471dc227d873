// End-to-end: StreamUpdates on the real healthwire binary over loopback.
// Every test compares what subscribers received with the change log itself
// (a replay from revision 1), so "ordered, no gaps, no duplicates" is checked
// against the store's own record, not against expectations of the test.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/deployment.h"
#include "tests/util/http_test_client.h"
#include "tests/util/store_reads.h"
#include "tests/util/stream_subscriber.h"
#include "tests/util/text_scrapers.h"

namespace healthwire {
namespace {

using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::StreamSubscriber;

v1::Event SleepEvent(const std::string& user, int n) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.mutable_user()->set_user_id(user);
  event.mutable_user()->set_reference_id("ref-" + user);
  event.set_record_key(absl::StrCat("sleep-", n));
  event.set_start_time(absl::StrFormat("2026-07-01T%02d:%02d:00.000000+00:00", (n / 60) % 24,
                                       n % 60));
  event.set_raw_json(absl::StrCat(R"({"metadata":{"summary_id":"sleep-)", n, R"("}})"));
  return event;
}

class StreamUpdatesTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  // (Re)starts healthwire on the same data folder with `flags`.
  void StartServer(std::vector<std::string> flags) {
    deployment_.ForgetStore();
    absl::Status started = deployment_.Start(std::move(flags));
    ASSERT_TRUE(started.ok()) << started;
    server_ = deployment_.store();
    stub_ = deployment_.stub();
  }

  // A metric series without labels, from GET /metrics over real HTTP.
  int64_t Metric(const std::string& name) {
    return testing::MetricValue(HttpTestClient(server_->http_port()).Get("/metrics").body, name);
  }

  uint64_t Ingest(std::vector<v1::Event> events) {
    v1::IngestRequest request;
    for (v1::Event& event : events) *request.add_events() = std::move(event);
    v1::IngestResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->Ingest(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.store_revision();
  }

  static v1::StreamUpdatesRequest FromRevision(uint64_t revision) {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(revision);
    return request;
  }

  // The change log as the store replays it.
  std::vector<v1::Event> ReplayAll(uint64_t through) {
    return testing::ReplayChangeLog(stub_, through, /*include_raw_json=*/false);
  }

  Deployment deployment_{DeploymentMode::kEmbedded};
  ServerProcess* server_ = nullptr;  // the deployment's one process
  v1::EventStore::Stub* stub_ = nullptr;
};

std::vector<uint64_t> Range(uint64_t from, uint64_t through) {
  std::vector<uint64_t> out;
  for (uint64_t r = from; r <= through; ++r) out.push_back(r);
  return out;
}

TEST_F(StreamUpdatesTest, ReplayFromRevisionOneThenLiveIsDenseAndOrdered) {
  for (int i = 0; i < 5; ++i) Ingest({SleepEvent("u1", i)});
  StreamSubscriber subscriber(stub_, FromRevision(1));
  ASSERT_TRUE(subscriber.WaitForUpdates(5));
  for (int i = 5; i < 10; ++i) Ingest({SleepEvent("u1", i)});
  ASSERT_TRUE(subscriber.WaitForUpdates(10));
  EXPECT_EQ(subscriber.revisions(), Range(1, 10));
}

TEST_F(StreamUpdatesTest, ReplayedUpdatesCarryTheStoredEventWithOrWithoutRawJson) {
  for (int i = 0; i < 3; ++i) Ingest({SleepEvent("u1", i)});
  for (bool include_raw_json : {true, false}) {
    v1::StreamUpdatesRequest request = FromRevision(1);
    request.set_include_raw_json(include_raw_json);
    grpc::ClientContext context;
    auto reader = stub_->StreamUpdates(&context, request);
    for (int i = 0; i < 3; ++i) {
      v1::StreamUpdatesResponse response;
      ASSERT_TRUE(reader->Read(&response));
      const v1::Event expected = SleepEvent("u1", i);
      EXPECT_EQ(response.update().revision(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(response.update().record_key(), expected.record_key());
      EXPECT_EQ(response.update().user().reference_id(), "ref-u1");
      EXPECT_EQ(response.update().start_time(), expected.start_time());
      EXPECT_EQ(response.update().raw_json(), include_raw_json ? expected.raw_json() : "");
    }
    context.TryCancel();
    reader->Finish();
  }
}

// A commit of many changes reaches a live subscriber as a backlog, which the
// stream writes with gRPC's buffer hint (held back, not flushed, while more
// follow). Every change of it must still arrive with nothing committed after
// it to push the held-back bytes out.
TEST_F(StreamUpdatesTest, ALiveBacklogArrivesInFullWithNothingCommittedAfterIt) {
  const uint64_t first = Ingest({SleepEvent("u1", 0)});
  StreamSubscriber subscriber(stub_, FromRevision(first));
  ASSERT_TRUE(subscriber.WaitForUpdates(1));  // live from here on
  std::vector<v1::Event> burst;
  for (int i = 1; i <= 300; ++i) burst.push_back(SleepEvent("u1", i));
  const uint64_t last = Ingest(std::move(burst));
  ASSERT_EQ(last, first + 300);
  ASSERT_TRUE(subscriber.WaitForUpdates(301, absl::Seconds(10)))
      << "received " << subscriber.revisions().size() << " of 301";
  EXPECT_EQ(subscriber.revisions(), Range(first, last));
}

TEST_F(StreamUpdatesTest, WithoutStartRevisionOnlyNewChangesArrive) {
  Ingest({SleepEvent("u1", 0)});
  StreamSubscriber subscriber(stub_, v1::StreamUpdatesRequest());
  // The subscription is registered when the first new change is published;
  // keep ingesting until it sees one, then check it never saw revision 1.
  uint64_t last = 1;
  for (int i = 1; i < 50 && subscriber.revisions().empty(); ++i) {
    last = Ingest({SleepEvent("u1", i)});
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(subscriber.WaitForUpdates(1));
  std::vector<uint64_t> got = subscriber.revisions();
  EXPECT_GT(got.front(), 1u);
  EXPECT_EQ(got, Range(got.front(), last));
}

TEST_F(StreamUpdatesTest, FiftyFilteredSubscribersEachSeeExactlyTheirSliceOfTheChangeLog) {
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4"};
  std::vector<std::unique_ptr<StreamSubscriber>> subscribers;
  std::vector<v1::StreamUpdatesRequest> requests;
  for (int s = 0; s < 50; ++s) {
    v1::StreamUpdatesRequest request = FromRevision(1);
    if (s % 5 != 0) request.add_user_ids(users[s % users.size()]);
    if (s % 3 == 1) request.add_types(v1::EVENT_TYPE_SLEEP);
    if (s % 7 == 2) request.add_types(v1::EVENT_TYPE_ACTIVITY);
    requests.push_back(request);
    subscribers.push_back(std::make_unique<StreamSubscriber>(stub_, request));
  }
  // Four concurrent writers.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        v1::Event event = SleepEvent(users[(w + i) % users.size()], w * 1000 + i);
        if (i % 4 == 0) event.set_type(v1::EVENT_TYPE_ACTIVITY);
        Ingest({event});
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  std::vector<v1::Event> log = ReplayAll(200);
  ASSERT_EQ(log.size(), 200u);

  for (int s = 0; s < 50; ++s) {
    std::vector<uint64_t> expected;
    for (const v1::Event& event : log) {
      const v1::StreamUpdatesRequest& r = requests[s];
      bool user_ok = r.user_ids().empty() ||
                     std::find(r.user_ids().begin(), r.user_ids().end(),
                               event.user().user_id()) != r.user_ids().end();
      bool type_ok = r.types().empty() ||
                     std::find(r.types().begin(), r.types().end(), event.type()) != r.types().end();
      if (user_ok && type_ok) expected.push_back(event.revision());
    }
    ASSERT_TRUE(subscribers[s]->WaitForUpdates(expected.size())) << "subscriber " << s;
    absl::SleepFor(absl::Milliseconds(expected.empty() ? 50 : 0));
    EXPECT_EQ(subscribers[s]->revisions(), expected) << "subscriber " << s;
  }
}

TEST_F(StreamUpdatesTest, ResumingAfterDisconnectYieldsExactlyTheMissedUpdates) {
  uint64_t last_seen;
  {
    StreamSubscriber first(stub_, FromRevision(1));
    for (int i = 0; i < 5; ++i) Ingest({SleepEvent("u1", i)});
    ASSERT_TRUE(first.WaitForUpdates(5));
    last_seen = first.revisions().back();
  }
  for (int i = 5; i < 12; ++i) Ingest({SleepEvent("u1", i)});
  StreamSubscriber resumed(stub_, FromRevision(last_seen + 1));
  ASSERT_TRUE(resumed.WaitForUpdates(7));
  EXPECT_EQ(resumed.revisions(), Range(6, 12));
}

TEST_F(StreamUpdatesTest, ResumingAfterServerRestartYieldsExactlyTheMissedUpdates) {
  for (int i = 0; i < 5; ++i) Ingest({SleepEvent("u1", i)});
  ASSERT_TRUE(server_->Stop(SIGTERM).ok());
  StartServer({});
  for (int i = 5; i < 8; ++i) Ingest({SleepEvent("u1", i)});
  StreamSubscriber resumed(stub_, FromRevision(4));
  ASSERT_TRUE(resumed.WaitForUpdates(5));
  EXPECT_EQ(resumed.revisions(), Range(4, 8));
}

TEST_F(StreamUpdatesTest, ReadThenStreamMissesNothing) {
  for (int i = 0; i < 3; ++i) Ingest({SleepEvent("u1", i)});
  v1::GetLatestRequest get;
  get.mutable_subject()->set_user_id("u1");
  get.set_type(v1::EVENT_TYPE_SLEEP);
  v1::GetLatestResponse latest;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetLatest(&context, get, &latest).ok());
  const uint64_t read_at = latest.store_revision();
  ASSERT_EQ(read_at, 3u);
  for (int i = 3; i < 6; ++i) Ingest({SleepEvent("u1", i)});
  StreamSubscriber subscriber(stub_, FromRevision(read_at + 1));
  ASSERT_TRUE(subscriber.WaitForUpdates(3));
  EXPECT_EQ(subscriber.revisions(), Range(4, 6));
}

TEST_F(StreamUpdatesTest, StalledSubscriberBlocksNeitherIngestNorOthersAndCatchesUpLater) {
  // A subscriber that never reads: gRPC flow control stops the server's
  // writes to it within a few hundred KB, so its server-side buffer overflows
  // and it must fall back to the change log.
  grpc::ClientContext stalled_context;
  v1::StreamUpdatesRequest stalled_request = FromRevision(1);
  stalled_request.set_include_raw_json(true);
  auto stalled = stub_->StreamUpdates(&stalled_context, stalled_request);
  StreamSubscriber healthy(stub_, v1::StreamUpdatesRequest());

  const std::string padding(900, 'x');
  const int kEvents = 10000;
  for (int batch = 0; batch < kEvents / 100; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 100; ++i) {
      v1::Event event = SleepEvent("u1", batch * 100 + i);
      event.set_raw_json(absl::StrCat(R"({"pad":")", padding, R"("})"));
      events.push_back(std::move(event));
    }
    Ingest(std::move(events));
  }
  ASSERT_TRUE(healthy.WaitForUpdates(kEvents));
  EXPECT_EQ(healthy.revisions().back(), static_cast<uint64_t>(kEvents));

  // The server's memory stays bounded while one subscriber holds back.
  std::ifstream status(absl::StrCat("/proc/", server_->pid(), "/status"));
  std::string line;
  long rss_kb = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) (void)absl::SimpleAtoi(line.substr(6, line.size() - 9), &rss_kb);
  }
  EXPECT_GT(rss_kb, 0);
  EXPECT_LT(rss_kb, 300 * 1024) << "server RSS " << rss_kb << " kB";

  // Now the stalled one reads: it gets all 10,000, in order, no gaps.
  uint64_t expected = 1;
  v1::StreamUpdatesResponse response;
  while (expected <= kEvents && stalled->Read(&response)) {
    if (!response.has_update()) continue;
    ASSERT_EQ(response.update().revision(), expected) << server_->Stderr();
    ++expected;
  }
  EXPECT_EQ(expected, static_cast<uint64_t>(kEvents) + 1);
  stalled_context.TryCancel();
  stalled->Finish();
}

TEST_F(StreamUpdatesTest, IdleFilteredStreamGetsProgressWithTheStoreRevision) {
  v1::StreamUpdatesRequest request;
  request.add_user_ids("nobody-writes-for-me");
  request.set_progress_interval_ms(100);
  StreamSubscriber subscriber(stub_, request);
  for (int i = 0; i < 3; ++i) Ingest({SleepEvent("u1", i)});
  absl::SleepFor(absl::Milliseconds(400));
  ASSERT_TRUE(subscriber.WaitForProgress(absl::Seconds(5)));
  EXPECT_TRUE(subscriber.revisions().empty());
  EXPECT_EQ(subscriber.progress().back(), 3u);
}

TEST_F(StreamUpdatesTest, StartRevisionOlderThanTheRetainedLogIsOutOfRangeWithTheOldestRevision) {
  ASSERT_TRUE(server_->Stop(SIGTERM).ok());
  StartServer({"--changelog_max_entries=10"});
  for (int i = 0; i < 30; ++i) Ingest({SleepEvent("u1", i)});
  // Retention runs in the background; wait until it has trimmed the log.
  grpc::Status status;
  v1::RpcStatus details;
  for (int attempt = 0; attempt < 100; ++attempt) {
    StreamSubscriber subscriber(stub_, FromRevision(1));
    status = subscriber.WaitForEnd(absl::Milliseconds(200));
    subscriber.Stop();
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) break;
  }
  ASSERT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_NE(status.error_message().find("oldest retained revision"), std::string::npos);
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  v1::ChangeLogRange range;
  ASSERT_TRUE(details.details(0).UnpackTo(&range));
  EXPECT_EQ(range.current_revision(), 30u);
  EXPECT_GE(range.oldest_retained_revision(), 20u);
  EXPECT_LE(range.oldest_retained_revision(), 21u);

  StreamSubscriber from_oldest(stub_, FromRevision(range.oldest_retained_revision()));
  ASSERT_TRUE(from_oldest.WaitForUpdates(30 - range.oldest_retained_revision() + 1));
  EXPECT_EQ(from_oldest.revisions(), Range(range.oldest_retained_revision(), 30));
}

TEST_F(StreamUpdatesTest, CancelledStreamsReleaseTheirSubscriptions) {
  {
    std::vector<std::unique_ptr<StreamSubscriber>> subscribers;
    for (int i = 0; i < 5; ++i) {
      subscribers.push_back(std::make_unique<StreamSubscriber>(stub_, FromRevision(1)));
    }
    Ingest({SleepEvent("u1", 0)});
    for (auto& subscriber : subscribers) ASSERT_TRUE(subscriber->WaitForUpdates(1));
    EXPECT_EQ(Metric("healthwire_stream_subscribers"), 5);
  }  // cancelled here
  int64_t open = -1;
  for (int i = 0; i < 200; ++i) {
    open = Metric("healthwire_stream_subscribers");
    if (open == 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(open, 0);
}

TEST_F(StreamUpdatesTest, UnknownTypeFilterIsInvalidArgumentNamingTheField) {
  v1::StreamUpdatesRequest request;
  request.add_types(static_cast<v1::EventType>(77));
  StreamSubscriber subscriber(stub_, request);
  grpc::Status status = subscriber.WaitForEnd();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("types[0]"), std::string::npos) << status.error_message();
}

TEST_F(StreamUpdatesTest, StartRevisionZeroIsInvalidArgument) {
  StreamSubscriber subscriber(stub_, FromRevision(0));
  grpc::Status status = subscriber.WaitForEnd();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("start_revision"), std::string::npos);
}

}  // namespace
}  // namespace healthwire

// Cluster mode end to end: the real binaries (3 nats-servers, healthwire_store
// replicas, healthwire_gateway publishers) on loopback, webhooks over HTTP,
// reads and streams over gRPC, processes killed with SIGKILL under load.
//
// What every test here holds to: a webhook answered 2xx is on every replica
// (exact bytes, same revision), replicas agree on revisions and digest, and
// failures show as 503 (Terra retries), never as a 2xx that is later lost.
#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_deployment.h"
#include "tests/util/child_process.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tests/util/stream_subscriber.h"
#include "tests/util/temp_dir.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using testing::ClusterDeployment;
using testing::HttpResponse;
using testing::JsonInteger;
using testing::HttpTestClient;
using testing::PollUntil;
using testing::RpcContext;
using testing::StreamSubscriber;
using testing::ThreadJoiner;

// One webhook: one sleep record of its own user and summary id.
struct Posted {
  std::string user;
  std::string summary_id;
  std::string body;
  int status = 0;
  uint64_t log_sequence = 0;
};

Posted MakeWebhook(const std::string& tag, int n) {
  Posted posted;
  posted.user = absl::StrCat("user-", tag, "-", n % 7);
  posted.summary_id = absl::StrCat("sleep-", tag, "-", n);
  posted.body = simulator::SleepWebhookBuilder(posted.user, posted.summary_id).Json();
  return posted;
}

// Posts `posted` (signed) and records the answer.
void Post(HttpTestClient& client, Posted* posted) {
  HttpResponse response = client.PostSigned(posted->body);
  posted->status = response.status;
  if (response.status == 200) {
    posted->log_sequence = static_cast<uint64_t>(JsonInteger(response.body, "log_sequence"));
  }
}

// Posting threads, each with its own gateway connection (alternating
// gateways), until Stop: every webhook they sent with its answer.
class Load {
 public:
  Load(ClusterDeployment* cluster, int threads, const std::string& tag) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, cluster, t, tag] {
        int n = 0;
        std::unique_ptr<HttpTestClient> client;
        while (!stop_.load()) {
          if (client == nullptr) {
            client = std::make_unique<HttpTestClient>(
                cluster->GatewayClient(t % cluster->gateway_count(), absl::Seconds(30)));
          }
          Posted posted = MakeWebhook(absl::StrCat(tag, "t", t), n++);
          Post(*client, &posted);
          if (posted.status == 0 || posted.status != 200) client.reset();  // fresh connection
          if (posted.status == 503) absl::SleepFor(absl::Milliseconds(50));  // as Terra backs off
          absl::MutexLock lock(&mu_);
          posted_.push_back(std::move(posted));
        }
      });
    }
  }
  ~Load() { Stop(); }

  void Stop() { joiner_.JoinAll(); }
  size_t ok_count() {
    absl::MutexLock lock(&mu_);
    size_t ok = 0;
    for (const Posted& posted : posted_) ok += posted.status == 200;
    return ok;
  }
  // After Stop.
  const std::vector<Posted>& posted() { return posted_; }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  ThreadJoiner joiner_{&threads_, &stop_};
  absl::Mutex mu_;
  std::vector<Posted> posted_;
};

uint64_t MaxSequence(const std::vector<Posted>& posted) {
  uint64_t max = 0;
  for (const Posted& p : posted) max = std::max(max, p.log_sequence);
  return max;
}

// Every 2xx webhook of `posted` is on replica `i`: its record, its exact raw
// bytes; every answer is 200 or 503 (nothing else is a correct answer to a
// valid webhook here). Returns how many were 2xx.
size_t ExpectEveryAcknowledgedStored(ClusterDeployment& cluster, int i,
                                     const std::vector<Posted>& posted) {
  size_t ok = 0;
  std::map<std::pair<std::string, std::string>, std::string> stored;  // (user, key) -> raw
  std::set<std::string> users;
  for (const Posted& p : posted) users.insert(p.user);
  for (const std::string& user : users) {
    for (const v1::Event& event : testing::ListAll(cluster.stub(i), user, v1::EVENT_TYPE_SLEEP)) {
      stored[{user, event.record_key()}] = event.raw_json();
    }
  }
  for (const Posted& p : posted) {
    EXPECT_TRUE(p.status == 200 || p.status == 503)
        << "webhook " << p.summary_id << " answered " << p.status;
    if (p.status != 200) continue;
    ++ok;
    auto it = stored.find({p.user, p.summary_id});
    EXPECT_TRUE(it != stored.end()) << "acknowledged " << p.summary_id << " (log sequence "
                                    << p.log_sequence << ") is missing on replica " << i;
    if (it != stored.end()) {
      EXPECT_NE(it->second.find(p.summary_id), std::string::npos) << p.summary_id;
    }
  }
  return ok;
}

// (revision, user, key, raw) of replica i's whole change log.
std::vector<std::string> ChangeLogOf(ClusterDeployment& cluster, int i, uint64_t through) {
  std::vector<std::string> out;
  for (const v1::Event& event : testing::ReplayChangeLog(cluster.stub(i), through, true)) {
    out.push_back(absl::StrCat(event.revision(), " ", event.user().user_id(), " ",
                               event.record_key(), " ", event.raw_json()));
  }
  return out;
}

// How long a read-your-write may take in all (several --read_wait_max
// waits of 2 s each) before the test says the replica never got there.
constexpr absl::Duration kReadYourWriteDeadline = absl::Seconds(30);

class ClusterE2eTest : public ::testing::Test {
 protected:
  void StartCluster(int replicas, int gateways, std::vector<std::string> gateway_flags = {},
                    std::vector<std::string> store_flags = {}) {
    absl::Status started = cluster_.Start(replicas, gateways, std::move(gateway_flags),
                                          std::move(store_flags));
    ASSERT_TRUE(started.ok()) << started << "\n" << cluster_.Logs();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", cluster_.Logs().c_str());
  }
  ClusterDeployment cluster_;
};

TEST_F(ClusterE2eTest, TwoGatewaysTwoReplicasHoldIdenticalRecordsRevisionsAndDigests) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 2));
  std::vector<Posted> posted;
  std::vector<HttpTestClient> clients;
  clients.push_back(cluster_.GatewayClient(0));
  clients.push_back(cluster_.GatewayClient(1));
  for (int n = 0; n < 120; ++n) {
    Posted p = MakeWebhook("same", n);
    HttpResponse response = clients[n % 2].PostSigned(p.body);
    ASSERT_EQ(response.status, 200) << "webhook " << n << ": " << response;
    // The gateway's 2xx says only what it knows: where the delivery is in
    // the log. What the replicas make of it (stored/identical/stale, the
    // revision) is not reported as zeros.
    p.status = 200;
    p.log_sequence = static_cast<uint64_t>(JsonInteger(response.body, "log_sequence"));
    ASSERT_GT(p.log_sequence, 0u) << response.body;
    EXPECT_EQ(response.body, absl::StrCat("{\"status\":\"ok\",\"events\":1,\"log_sequence\":",
                                          p.log_sequence, ",\"schema_problems\":0}"));
    // Read your own write on a replica (alternating, so also the one behind
    // the other gateway) with the 2xx's log_sequence: it waits for the
    // sequence instead of answering without the record.
    //
    // The replica gets there after the PubAck by its own path (the stream
    // leader pushes the entry to its consumer, it applies and syncs it), so
    // how long that takes depends on the machine's load: under load 13-17
    // on 2 cores one read in 120 timed out after the replica's 2 s
    // --read_wait_max with "applied log sequence 42 of the wanted 43 (0 log
    // entries behind)" (the entry had simply not arrived yet: 0 behind when
    // 42 came, nothing skipped, no error logged). What this test holds to is
    // that the read never answers without the record: a read that says
    // "behind" (UNAVAILABLE, the documented answer to retry) is asked again
    // until ReadYourWriteDeadline; any other answer is checked at once.
    v1::ListRecordsRequest request;
    request.mutable_subject()->set_user_id(p.user);
    request.set_type(v1::EVENT_TYPE_SLEEP);
    request.set_page_size(100);
    request.set_omit_raw_json(true);
    request.set_min_log_sequence(p.log_sequence);
    v1::ListRecordsResponse listed;
    grpc::Status status;
    const absl::Time read_deadline = absl::Now() + kReadYourWriteDeadline;
    int waits = 0;
    do {
      listed.Clear();
      auto context = RpcContext();
      status = cluster_.stub((n / 2) % 2)->ListRecords(context.get(), request, &listed);
      ++waits;
    } while (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
             absl::StrContains(status.error_message(), "this store is behind") &&
             absl::Now() < read_deadline);
    ASSERT_TRUE(status.ok()) << status.error_message() << " (after " << waits << " reads)";
    if (waits > 1) {
      std::fprintf(stderr, "webhook %d: replica %d answered only on read %d (load)\n", n,
                   (n / 2) % 2, waits);
    }
    bool found = false;
    for (const v1::Event& event : listed.events()) found |= event.record_key() == p.summary_id;
    EXPECT_TRUE(found) << "webhook " << n << " (log sequence " << p.log_sequence
                       << ") not read back on replica " << (n / 2) % 2;
    EXPECT_GE(listed.store_revision(), static_cast<uint64_t>(n + 1));
    posted.push_back(std::move(p));
  }
  // A healthcheck publishes nothing: no log_sequence, and no store fields.
  HttpResponse healthcheck = clients[0].PostSigned("{\"type\":\"healthcheck\"}");
  ASSERT_EQ(healthcheck.status, 200) << healthcheck;
  EXPECT_EQ(healthcheck.body, "{\"status\":\"ok\",\"events\":0,\"schema_problems\":0}");
  // A retry of the same body within the duplicate window: the first's sequence.
  Posted again = posted[5];
  Post(clients[1], &again);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.log_sequence, posted[5].log_sequence);

  const uint64_t last = MaxSequence(posted);
  ASSERT_TRUE(cluster_.WaitForSameDigest(last)) << cluster_.Status(0).DebugString()
                                                << cluster_.Status(1).DebugString();
  const v1::GetStatusResponse a = cluster_.Status(0), b = cluster_.Status(1);
  EXPECT_EQ(a.role(), v1::GetStatusResponse::ROLE_REPLICA);
  EXPECT_EQ(a.store_revision(), 120u);
  EXPECT_EQ(b.store_revision(), 120u);
  EXPECT_EQ(a.store_timeline(), b.store_timeline()) << "replicas of one log share a timeline";
  EXPECT_EQ(a.replica().digest().size(), 64u);
  EXPECT_TRUE(PollUntil([&] { return cluster_.Status(0).replica().log_last_sequence() >= last; }))
      << "the replica's view of the log's last sequence";
  EXPECT_TRUE(a.replica().log_connected());
  EXPECT_EQ(ChangeLogOf(cluster_, 0, 120), ChangeLogOf(cluster_, 1, 120));
  // The same position on the replica's own /metrics, and it is ready.
  HttpTestClient metrics(cluster_.metrics_port(1));
  HttpResponse scraped = metrics.Get("/metrics");
  ASSERT_EQ(scraped.status, 200) << scraped;
  EXPECT_EQ(testing::MetricValue(scraped.body, "healthwire_replica_applied_sequence"),
            static_cast<int64_t>(b.replica().applied_sequence()));
  EXPECT_EQ(testing::MetricValue(scraped.body, "healthwire_store_revision"), 120);
  EXPECT_EQ(testing::MetricValue(scraped.body, "healthwire_replica_applying"), 1);
  EXPECT_TRUE(absl::StrContains(scraped.body, absl::StrCat("digest=\"", b.replica().digest())))
      << scraped.body;
  EXPECT_EQ(HttpTestClient(cluster_.metrics_port(1)).Get("/readyz").status, 200);
  // The gateway does not know the replicas' revision: no gauge saying 0.
  HttpResponse gateway_metrics = clients[0].Get("/metrics");
  ASSERT_EQ(gateway_metrics.status, 200) << gateway_metrics;
  EXPECT_FALSE(absl::StrContains(gateway_metrics.body, "healthwire_store_revision"))
      << gateway_metrics.body;
  // hwctl status shows the replica's position (GetStatus).
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> hwctl = testing::ChildProcess::Start(
      "tools/hwctl/hwctl",
      {"status", "--store", cluster_.grpc_target(1), "--url",
       absl::StrCat("http://127.0.0.1:", cluster_.metrics_port(1), "/"), "--json"});
  ASSERT_TRUE(hwctl.ok()) << hwctl.status();
  ASSERT_EQ((*hwctl)->Wait().value_or(-1), 0) << (*hwctl)->Stderr();
  const std::string json = (*hwctl)->Stdout();
  EXPECT_TRUE(absl::StrContains(json, "\"role\":\"replica\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, absl::StrCat("\"digest\":\"", b.replica().digest(), "\"")))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"revision\":120")) << json;
  EXPECT_EQ(ExpectEveryAcknowledgedStored(cluster_, 0, posted), 120u);
  EXPECT_EQ(ExpectEveryAcknowledgedStored(cluster_, 1, posted), 120u);

  // A sequence no replica has: UNAVAILABLE after the bounded wait, saying
  // how far behind.
  v1::GetUserRequest ahead;
  ahead.mutable_subject()->set_user_id(posted[0].user);
  ahead.set_min_log_sequence(last + 1000);
  v1::GetUserResponse unused;
  auto context = RpcContext();
  const absl::Time asked = absl::Now();
  grpc::Status behind = cluster_.stub(0)->GetUser(context.get(), ahead, &unused);
  EXPECT_EQ(behind.error_code(), grpc::StatusCode::UNAVAILABLE) << behind.error_message();
  EXPECT_TRUE(absl::StrContains(behind.error_message(), absl::StrCat("of the wanted ", last + 1000)))
      << behind.error_message();
  EXPECT_GE(absl::Now() - asked, absl::Seconds(1.5));  // --read_wait_max=2s
  // Ingest straight into a replica would bypass the log: refused.
  v1::IngestRequest ingest;
  v1::IngestResponse ingested;
  auto ingest_context = RpcContext();
  EXPECT_EQ(cluster_.stub(0)->Ingest(ingest_context.get(), ingest, &ingested).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ClusterE2eTest, KillingOneNatsServerUnderLoadLosesNoAcknowledgedWebhookAndItRejoins) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 2));
  Load load(&cluster_, 4, "nats");
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= 100; }, absl::Seconds(60)));
  ASSERT_TRUE(cluster_.nats()->Kill(0).ok());
  const size_t at_kill = load.ok_count();
  // Ingest continues on the two others.
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= at_kill + 100; }, absl::Seconds(60)))
      << "no ingest after one nats-server was killed";
  ASSERT_TRUE(cluster_.nats()->Restart(0).ok());
  // It rejoined: with server 1 gone too, quorum needs the restarted server 0.
  ASSERT_TRUE(cluster_.nats()->Kill(1).ok());
  const size_t at_second_kill = load.ok_count();
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= at_second_kill + 100; },
                        absl::Seconds(60)))
      << "no ingest on the restarted server and the third: it did not rejoin";
  load.Stop();
  ASSERT_TRUE(cluster_.nats()->Restart(1).ok());

  size_t refused = 0;
  for (const Posted& p : load.posted()) refused += p.status == 503;
  RecordProperty("posted", static_cast<int>(load.posted().size()));
  RecordProperty("answered_503", static_cast<int>(refused));
  ASSERT_TRUE(cluster_.WaitForSameDigest(MaxSequence(load.posted())));
  for (int i = 0; i < 2; ++i) ExpectEveryAcknowledgedStored(cluster_, i, load.posted());
}

TEST_F(ClusterE2eTest, KilledReplicaCatchesUpAndAnEmptyReplicaReachesTheSameDigest) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 2));
  Load load(&cluster_, 4, "replica");
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= 100; }, absl::Seconds(60)));
  ASSERT_TRUE(cluster_.KillReplica(1).ok());
  const size_t at_kill = load.ok_count();
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= at_kill + 200; }, absl::Seconds(60)));
  ASSERT_TRUE(cluster_.RestartReplica(1).ok()) << cluster_.Logs();
  const size_t at_restart = load.ok_count();
  ASSERT_TRUE(PollUntil([&] { return load.ok_count() >= at_restart + 100; }, absl::Seconds(60)));
  load.Stop();
  absl::StatusOr<int> empty = cluster_.AddReplica();
  ASSERT_TRUE(empty.ok()) << empty.status();

  const uint64_t last = MaxSequence(load.posted());
  ASSERT_TRUE(cluster_.WaitForSameDigest(last))
      << cluster_.Status(0).DebugString() << cluster_.Status(1).DebugString()
      << cluster_.Status(2).DebugString();
  const uint64_t revision = cluster_.Status(0).store_revision();
  EXPECT_EQ(cluster_.Status(1).store_revision(), revision);
  EXPECT_EQ(cluster_.Status(2).store_revision(), revision);
  for (int i = 0; i < 3; ++i) ExpectEveryAcknowledgedStored(cluster_, i, load.posted());
  EXPECT_EQ(ChangeLogOf(cluster_, 0, revision), ChangeLogOf(cluster_, 2, revision));
}

TEST_F(ClusterE2eTest, LosingQuorumGives503NeverOkAndRestoringItResumesWithNothingLost) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 2, {"--ingest_deadline=2s"}));
  std::vector<Posted> posted;
  HttpTestClient client = cluster_.GatewayClient(0);
  for (int n = 0; n < 30; ++n) {
    Posted p = MakeWebhook("before", n);
    Post(client, &p);
    ASSERT_EQ(p.status, 200);
    posted.push_back(std::move(p));
  }
  ASSERT_TRUE(cluster_.nats()->Kill(1).ok());
  ASSERT_TRUE(cluster_.nats()->Kill(2).ok());
  int refused = 0;
  for (int n = 0; n < 8; ++n) {
    HttpTestClient fresh = cluster_.GatewayClient(n % 2);
    Posted p = MakeWebhook("noquorum", n);
    HttpResponse response = fresh.PostSigned(p.body);
    ASSERT_NE(response.status, 200) << "a 2xx without a quorum: " << response;
    EXPECT_EQ(response.status, 503) << response;
    EXPECT_FALSE(response.header("retry-after").empty()) << response;
    refused += response.status == 503;
  }
  EXPECT_EQ(refused, 8);
  ASSERT_TRUE(cluster_.nats()->Restart(1).ok());
  // Ingest resumes by itself (Terra's retries).
  int n = 0;
  ASSERT_TRUE(PollUntil(
      [&] {
        HttpTestClient fresh = cluster_.GatewayClient(n % 2);
        Posted p = MakeWebhook("after", n++);
        Post(fresh, &p);
        EXPECT_TRUE(p.status == 200 || p.status == 503) << p.status;
        const bool ok = p.status == 200;
        posted.push_back(std::move(p));
        return ok;
      },
      absl::Seconds(60), absl::Milliseconds(200)));
  for (int m = 0; m < 20; ++m) {
    Posted p = MakeWebhook("resumed", m);
    Post(client, &p);
    if (p.status == 0) {  // the keep-alive connection may have been closed meanwhile
      client = cluster_.GatewayClient(0);
      Post(client, &p);
    }
    EXPECT_EQ(p.status, 200);
    posted.push_back(std::move(p));
  }
  ASSERT_TRUE(cluster_.nats()->Restart(2).ok());
  ASSERT_TRUE(cluster_.WaitForSameDigest(MaxSequence(posted)));
  for (int i = 0; i < 2; ++i) EXPECT_GE(ExpectEveryAcknowledgedStored(cluster_, i, posted), 51u);
}

TEST_F(ClusterE2eTest, SubscriberCutOffOnReplicaAResumesOnReplicaBMissingNothingAndNothingTwice) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 1));
  HttpTestClient client = cluster_.GatewayClient(0);
  auto post_some = [&](const std::string& tag, int count) {
    for (int n = 0; n < count; ++n) {
      Posted p = MakeWebhook(tag, n);
      Post(client, &p);
      ASSERT_EQ(p.status, 200);
    }
  };
  ASSERT_NO_FATAL_FAILURE(post_some("first", 40));
  const std::string timeline = cluster_.Status(0).store_timeline();
  std::vector<uint64_t> seen;
  {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    request.set_store_timeline(timeline);
    StreamSubscriber on_a(cluster_.stub(0), request);
    ASSERT_TRUE(on_a.WaitForUpdates(40));
    ASSERT_NO_FATAL_FAILURE(post_some("second", 30));
    // Replica A dies while changes keep coming.
    ASSERT_TRUE(on_a.WaitForUpdates(50));
    ASSERT_EQ(::kill(cluster_.ReplicaPid(0), SIGKILL), 0);
    EXPECT_FALSE(on_a.WaitForEnd(absl::Seconds(20)).ok());
    seen = on_a.revisions();
  }
  ASSERT_TRUE(cluster_.KillReplica(0).ok());  // reaps it
  ASSERT_FALSE(seen.empty());
  ASSERT_NO_FATAL_FAILURE(post_some("third", 30));
  // Resume on B from the last revision seen + 1, with A's timeline (B has
  // the same one: the log's).
  v1::StreamUpdatesRequest resume;
  resume.set_start_revision(seen.back() + 1);
  resume.set_store_timeline(timeline);
  StreamSubscriber on_b(cluster_.stub(1), resume);
  const size_t wanted = 100 - seen.size();
  ASSERT_TRUE(on_b.WaitForUpdates(wanted, absl::Seconds(60)))
      << on_b.revisions().size() << " of " << wanted << "; " << on_b.WaitForEnd(absl::Seconds(0)).error_message();
  std::vector<uint64_t> all = seen;
  for (uint64_t revision : on_b.revisions()) all.push_back(revision);
  ASSERT_EQ(all.size(), 100u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1) << "at " << i;
}

TEST_F(ClusterE2eTest, SixtyMegabyteWebhookIsStoredWholeAndIdenticalOnEveryReplica) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 1, {"--ingest_deadline=60s", "--max_body_mb=64"},
                                       {"--read_wait_max=60s"}));
  // One activity of 60 MB: a day of 1 Hz samples, many times over.
  std::string record =
      R"({"metadata":{"summary_id":"huge-1","type":8,"upload_type":1,)"
      R"("start_time":"2026-07-01T05:00:00.000000+01:00","end_time":"2026-07-02T05:00:00.000000+01:00"},)"
      R"("heart_rate_data":{"detailed":{"hr_samples":[)";
  record.reserve(61 << 20);
  for (int n = 0; record.size() < (60u << 20); ++n) {
    absl::StrAppend(&record, n == 0 ? "" : ",", R"({"timestamp":"2026-07-01T05:00:00.000000+01:00","bpm":)",
                    90 + n % 90, R"(,"timer_duration_seconds":)", n, "}");
  }
  record += "]}}}";
  const std::string body = absl::StrCat(
      R"({"type":"activity","version":"2022-03-16",)",
      R"("user":{"user_id":"huge-user","provider":"GARMIN"},"data":[)", record, "]}");
  ASSERT_GE(body.size(), 60u << 20);
  HttpTestClient client = cluster_.GatewayClient(0, absl::Seconds(120));
  HttpResponse response = client.PostSigned(body);
  ASSERT_EQ(response.status, 200) << response;
  const int64_t sequence = JsonInteger(response.body, "log_sequence");
  ASSERT_GT(sequence, 1) << "written in chunks, then committed";
  for (int i = 0; i < 2; ++i) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id("huge-user");
    request.set_type(v1::EVENT_TYPE_ACTIVITY);
    request.set_min_log_sequence(static_cast<uint64_t>(sequence));
    v1::GetLatestResponse latest;
    auto context = RpcContext(absl::Seconds(120));
    grpc::Status status = cluster_.stub(i)->GetLatest(context.get(), request, &latest);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(latest.event().raw_json().size(), record.size()) << "replica " << i;
    EXPECT_TRUE(latest.event().raw_json() == record) << "replica " << i << " differs";
  }
  EXPECT_TRUE(cluster_.WaitForSameDigest(static_cast<uint64_t>(sequence)));
}

// A sleep webhook of its own summary id whose record carries `pad_bytes` of
// incompressible padding (RocksDB compresses; the disk must really fill).
Posted MakePaddedWebhook(int n, size_t pad_bytes) {
  Posted posted;
  posted.user = "disk-user";
  posted.summary_id = absl::StrCat("disk-", n);
  std::string pad;
  pad.reserve(pad_bytes);
  uint64_t state = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(n + 1);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (pad.size() < pad_bytes) {
    state ^= state << 13;  // xorshift64: cheap, deterministic, not compressible
    state ^= state >> 7;
    state ^= state << 17;
    pad.push_back(kAlphabet[state % 64]);
  }
  posted.body = absl::StrCat(
      R"({"type":"sleep","version":"2022-03-16","user":{"user_id":"disk-user","provider":"OURA"},)",
      R"("data":[{"metadata":{"summary_id":")", posted.summary_id,
      R"(","start_time":"2026-07-01T23:12:30.000000+02:00","end_time":"2026-07-02T07:00:00.000000+02:00"},)",
      R"("pad":")", pad, R"("}]})");
  return posted;
}

// A store replica (the healthwire_store binary) on a real small tmpfs: when
// its disk reaches the reserve it stops applying the log and /readyz on its
// --metrics_port answers 503 naming the disk, while the gateway keeps
// acknowledging (the log holds the entries) and the process stays up; once
// space is freed it is ready again by itself and catches up to the other
// replica's digest with every acknowledged webhook (nothing skipped).
TEST_F(ClusterE2eTest, ReplicaOnAFullDiskIsNotReadyStaysUpAndCatchesUpWhenSpaceIsFreed) {
  testing::TempDir disk("replica-tmpfs");
  if (mount("tmpfs", disk.path().c_str(), "tmpfs", 0, "size=40m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); //tests/cluster:replica_test covers the replica's full-disk behaviour "
                    "as a library";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{disk.path()};
  const std::string ballast = disk.File("ballast");  // freed later
  { std::ofstream(ballast) << std::string(12 << 20, 'x'); }

  ASSERT_NO_FATAL_FAILURE(StartCluster(1, 1, {}, {"--min_free_disk_mb=4"}));
  const std::string data_dir = disk.File("data");
  absl::StatusOr<int> added = cluster_.AddReplica(data_dir);
  ASSERT_TRUE(added.ok()) << added.status() << "\n" << cluster_.Logs();
  const int full = *added;
  // The metrics port answers one request per connection: a new client each.
  const int metrics_port = cluster_.metrics_port(full);
  auto probe = [metrics_port](const std::string& path) {
    return HttpTestClient(metrics_port).Get(path);
  };
  ASSERT_EQ(probe("/readyz").status, 200);

  // 150 KB webhooks until the tmpfs replica reaches its reserve (40 MiB -
  // 12 MiB ballast - 4 MiB reserve: about 160 of them); the gateway answers
  // 200 throughout, whatever the replicas' disks do.
  HttpTestClient client = cluster_.GatewayClient(0);
  std::vector<Posted> posted;
  HttpResponse not_ready;
  for (int n = 0; n < 400 && not_ready.status != 503; ++n) {
    Posted p = MakePaddedWebhook(n, 150 * 1024);
    Post(client, &p);
    ASSERT_EQ(p.status, 200) << "webhook " << n << " while a replica's disk fills";
    posted.push_back(std::move(p));
    not_ready = probe("/readyz");
  }
  ASSERT_EQ(not_ready.status, 503) << "the 40 MiB tmpfs never filled (" << posted.size()
                                   << " webhooks of 150 KB)";
  EXPECT_TRUE(absl::StrContains(not_ready.body, data_dir)) << "names the disk: " << not_ready.body;
  EXPECT_TRUE(absl::StrContains(not_ready.body, "is full")) << not_ready.body;

  // While full: more webhooks are acknowledged and applied by the other
  // replica; the full one stays up, says why, and does not move past what
  // it could not write.
  for (int n = 0; n < 10; ++n) {
    Posted p = MakePaddedWebhook(1000 + n, 150 * 1024);
    Post(client, &p);
    ASSERT_EQ(p.status, 200) << "webhook posted while a replica's disk is full";
    posted.push_back(std::move(p));
  }
  const uint64_t last = MaxSequence(posted);
  EXPECT_TRUE(PollUntil([&] { return cluster_.Status(0).replica().applied_sequence() >= last; }))
      << "the replica with room applies everything";
  grpc::Status status_error;
  const v1::GetStatusResponse stuck = cluster_.Status(full, &status_error);
  ASSERT_TRUE(status_error.ok()) << "the full replica still answers: " << status_error.error_message();
  EXPECT_LT(stuck.replica().applied_sequence(), last);
  EXPECT_TRUE(absl::StrContains(stuck.replica().last_error(), data_dir)) << stuck.DebugString();
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(cluster_.Status(full).replica().applied_sequence(), stuck.replica().applied_sequence())
      << "a replica at its disk reserve applies nothing more";
  int exit_code = 0;
  EXPECT_FALSE(cluster_.ReplicaExited(full, &exit_code)) << "exited with " << exit_code;
  EXPECT_EQ(probe("/healthz").status, 200) << "up, only not ready";

  // Space freed: ready by itself, caught up to the same digest, every
  // acknowledged webhook there.
  std::filesystem::remove(ballast);
  EXPECT_TRUE(PollUntil([&] { return probe("/readyz").status == 200; }, absl::Seconds(30)))
      << probe("/readyz");
  ASSERT_TRUE(cluster_.WaitForSameDigest(last)) << cluster_.Status(0).DebugString()
                                                << cluster_.Status(full).DebugString();
  EXPECT_EQ(cluster_.Status(full).replica().last_error(), "");
  EXPECT_EQ(cluster_.Status(full).store_revision(), posted.size());
  EXPECT_EQ(ExpectEveryAcknowledgedStored(cluster_, full, posted), posted.size());
  EXPECT_FALSE(cluster_.ReplicaExited(full, &exit_code)) << "exited with " << exit_code;
}

}  // namespace
}  // namespace healthwire

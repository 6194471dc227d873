// The commit log (storage/commit_log) against three real nats-servers on
// loopback: order, de-duplication, chunked deliveries, and what happens when
// servers die.
#include <nats/nats.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/delivery_id.h"
#include "storage/commit_log/log_consumer.h"
#include "storage/commit_log/log_publisher.h"
#include "tests/cluster/nats_cluster.h"

namespace healthwire {
namespace {

using testing::NatsCluster;

log::v1::Delivery MakeDelivery(const std::string& user, const std::string& key,
                               size_t raw_bytes = 200, int64_t received_seconds = 1700000000) {
  log::v1::Delivery delivery;
  v1::Event* event = delivery.add_events();
  event->set_type(v1::EVENT_TYPE_SLEEP);
  event->set_terra_type("sleep");
  event->set_record_key(key);
  event->mutable_user()->set_user_id(user);
  event->mutable_received_at()->set_seconds(received_seconds);
  std::string raw = absl::StrCat("{\"summary_id\":\"", key, "\",\"pad\":\"");
  // Not all one byte: a chunk boundary in the wrong place would show.
  for (size_t i = 0; raw.size() < raw_bytes - 2; ++i) raw.push_back('a' + (i * 7919 % 26));
  raw += "\"}";
  event->set_raw_json(raw);
  return delivery;
}

class CommitLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<NatsCluster>> cluster = NatsCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    options_.servers = cluster_->Urls();
    options_.stream = "TEST";
    options_.subject_prefix = "test.log";
    options_.replicas = 3;
    log_ = Connect();
    ASSERT_NE(log_, nullptr);
    // The metadata leader is elected while this retries.
    absl::Status ensured = log_->EnsureStream(absl::Now() + absl::Seconds(60));
    ASSERT_TRUE(ensured.ok()) << ensured;
    publisher_ = std::make_unique<LogPublisher>(log_.get());
  }

  void TearDown() override {
    publisher_.reset();
    log_.reset();
  }

  std::unique_ptr<CommitLog> Connect() {
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Every delivery from sequence `from` until one at `until` or beyond,
  // in the order the consumer returns them, plus whatever else arrives
  // within `linger` after that (to catch extras).
  std::vector<ConsumedDelivery> ReadUntil(CommitLog* log, uint64_t until, uint64_t from = 1,
                                          absl::Duration linger = absl::Seconds(1)) {
    std::vector<ConsumedDelivery> out;
    LogConsumer::Options consumer_options;
    consumer_options.start_sequence = from;
    const absl::Time give_up = absl::Now() + absl::Seconds(90);
    std::unique_ptr<LogConsumer> consumer;
    while (consumer == nullptr && absl::Now() < give_up) {
      // Right after a server restart the JetStream API may not answer yet.
      absl::StatusOr<std::unique_ptr<LogConsumer>> started =
          LogConsumer::Start(log, consumer_options);
      if (started.ok()) {
        consumer = std::move(*started);
      } else {
        absl::SleepFor(absl::Milliseconds(200));
      }
    }
    EXPECT_NE(consumer, nullptr) << "no consumer within 90 s";
    if (consumer == nullptr) return out;
    absl::Time stop = give_up;
    while (absl::Now() < stop) {
      absl::StatusOr<std::optional<ConsumedDelivery>> next = consumer->Next(absl::Milliseconds(200));
      if (!next.ok() || !next->has_value()) continue;
      out.push_back(std::move(**next));
      if (out.back().sequence >= until && stop == give_up) stop = absl::Now() + linger;
    }
    EXPECT_TRUE(!out.empty() && out.back().sequence >= until)
        << "did not read up to sequence " << until;
    return out;
  }

  CommitLogOptions options_;
  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
};

TEST_F(CommitLogTest, ConcurrentPublishesAreConsumedInStreamSequenceOrder) {
  constexpr int kThreads = 4, kPerThread = 50;
  absl::Mutex mu;
  std::map<uint64_t, std::string> acked;  // sequence -> delivery id
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        log::v1::Delivery delivery = MakeDelivery(absl::StrCat("user-", t), absl::StrCat("k", i));
        const std::string id = DeliveryId(delivery.events());
        absl::StatusOr<PublishResult> result =
            publisher_->PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(10));
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_FALSE(result->duplicate);
        absl::MutexLock lock(&mu);
        EXPECT_TRUE(acked.emplace(result->sequence, id).second) << "sequence given twice";
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(acked.size(), static_cast<size_t>(kThreads * kPerThread));

  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), acked.rbegin()->first);
  ASSERT_EQ(read.size(), acked.size());
  auto expected = acked.begin();
  for (const ConsumedDelivery& consumed : read) {
    EXPECT_TRUE(consumed.malformed.empty()) << consumed.malformed;
    EXPECT_EQ(consumed.sequence, expected->first);
    EXPECT_EQ(consumed.delivery.delivery_id(), expected->second);
    ++expected;
  }
  EXPECT_EQ(read.back().pending, 0u);

  // Reading from the middle starts exactly there.
  const uint64_t middle = std::next(acked.begin(), 100)->first;
  std::vector<ConsumedDelivery> tail = ReadUntil(log_.get(), acked.rbegin()->first, middle);
  ASSERT_EQ(tail.size(), acked.size() - 100);
  EXPECT_EQ(tail.front().sequence, middle);
}

TEST_F(CommitLogTest, RetryOfTheSameDeliveryIsDroppedAndAckedWithTheFirstSequence) {
  log::v1::Delivery first = MakeDelivery("u", "night-1", 300, 1700000000);
  // Terra's retry: the same body, received later.
  log::v1::Delivery retry = MakeDelivery("u", "night-1", 300, 1700000042);
  ASSERT_EQ(DeliveryId(first.events()), DeliveryId(retry.events()));
  ASSERT_NE(DeliveryId(first.events()),
            DeliveryId(MakeDelivery("u", "night-2", 300).events()));
  // The publisher's in-place form: the same id, and the events as they were.
  log::v1::Delivery in_place = first;
  in_place.mutable_events(0)->set_revision(7);
  const std::string before = in_place.SerializeAsString();
  EXPECT_EQ(DeliveryIdInPlace(in_place.mutable_events()), DeliveryId(first.events()));
  EXPECT_EQ(in_place.SerializeAsString(), before) << "received_at and revision put back";

  absl::StatusOr<PublishResult> a =
      publisher_->PublishAndWait(first, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<PublishResult> b =
      publisher_->PublishAndWait(retry, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(b->sequence, a->sequence);

  absl::StatusOr<StreamState> state = log_->GetStreamState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->messages, 1u);
  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), a->sequence);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].delivery.events(0).received_at().seconds(), 1700000000);
}

TEST_F(CommitLogTest, SixtyMegabyteDeliveryIsWrittenInChunksAndReadWhole) {
  ASSERT_LE(log_->MessageLimit(), size_t{8} << 20);
  log::v1::Delivery big = MakeDelivery("u", "huge", 60'000'000);
  const std::string expected_raw = big.events(0).raw_json();
  absl::StatusOr<PublishResult> result =
      publisher_->PublishAndWait(big, absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(result->messages, 8);  // 60 MB in chunks below 8 MiB, plus the commit

  absl::StatusOr<StreamState> state = log_->GetStreamState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->messages, static_cast<uint64_t>(result->messages));
  EXPECT_EQ(state->last_sequence, result->sequence);  // the commit comes last
  // Every stored message is within the limit.
  for (uint64_t seq = state->first_sequence; seq <= state->last_sequence; ++seq) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(js_GetMsg(&msg, log_->jetstream(), "TEST", seq, nullptr, nullptr), NATS_OK);
    EXPECT_LE(static_cast<size_t>(natsMsg_GetDataLength(msg)), size_t{8} << 20);
    natsMsg_Destroy(msg);
  }

  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), result->sequence);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_TRUE(read[0].malformed.empty()) << read[0].malformed;
  EXPECT_EQ(read[0].sequence, result->sequence);
  ASSERT_EQ(read[0].delivery.events_size(), 1);
  EXPECT_TRUE(read[0].delivery.events(0).raw_json() == expected_raw);
}

TEST_F(CommitLogTest, ChunksWithoutTheirCommitAreNeverDelivered) {
  log::v1::Delivery big = MakeDelivery("u", "half-written", 20'000'000);
  big.set_delivery_id(DeliveryId(big.events()));
  // A gateway that died after writing the chunks, before the commit.
  absl::StatusOr<log::v1::ChunkedDelivery> chunks = publisher_->WriteChunks(
      big.delivery_id(), big.SerializeAsString(), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GE(chunks->chunks_size(), 3);
  absl::StatusOr<PublishResult> small =
      publisher_->PublishAndWait(MakeDelivery("u", "after"), absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(small.ok()) << small.status();

  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), small->sequence);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].sequence, small->sequence);
  EXPECT_EQ(read[0].delivery.events(0).record_key(), "after");

  // Its retry (other chunks, same delivery id) commits the whole delivery.
  absl::StatusOr<PublishResult> retried =
      publisher_->PublishAndWait(big, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->duplicate);
  read = ReadUntil(log_.get(), retried->sequence);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1].delivery.events(0).record_key(), "half-written");
  EXPECT_EQ(read[1].delivery.events(0).raw_json(), big.events(0).raw_json());
}

TEST_F(CommitLogTest, ExistingStreamWithOtherSettingsIsRefusedByName) {
  CommitLogOptions other = options_;
  other.replicas = 1;
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(other);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::Status ensured = (*log)->EnsureStream(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(ensured.code(), absl::StatusCode::kFailedPrecondition) << ensured;
  EXPECT_NE(ensured.message().find("replicas are 3, need 1"), std::string::npos) << ensured;
  // The same settings are accepted.
  EXPECT_TRUE(log_->EnsureStream(absl::Now() + absl::Seconds(10)).ok());
}

TEST_F(CommitLogTest, PublishingContinuesOnTheQuorumAfterKill9OfTheStreamLeader) {
  std::set<std::string> acked;
  uint64_t last_acked = 0;
  int errors = 0;
  std::map<std::string, int> error_kinds;
  auto publish_until = [&](size_t count) {
    const absl::Time give_up = absl::Now() + absl::Seconds(90);
    while (acked.size() < count && absl::Now() < give_up) {
      log::v1::Delivery delivery = MakeDelivery("u", absl::StrCat("k", acked.size(), "-", errors));
      const std::string id = DeliveryId(delivery.events());
      absl::StatusOr<PublishResult> result =
          publisher_->PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(5));
      if (result.ok()) {
        acked.insert(id);
        last_acked = std::max(last_acked, result->sequence);
      } else {
        ++errors;
        ++error_kinds[std::string(result.status().message().substr(0, 60))];
        absl::SleepFor(absl::Milliseconds(20));  // as a client backing off would
        EXPECT_TRUE(absl::IsUnavailable(result.status()) ||
                    absl::IsDeadlineExceeded(result.status()))
            << result.status();
      }
    }
  };
  publish_until(50);
  absl::StatusOr<StreamState> state = log_->GetStreamState();
  ASSERT_TRUE(state.ok()) << state.status();
  const int leader = cluster_->IndexOf(state->leader);
  ASSERT_GE(leader, 0) << "leader " << state->leader;
  ASSERT_TRUE(cluster_->Kill(leader, SIGKILL).ok());
  publish_until(250);
  EXPECT_EQ(acked.size(), 250u) << errors << " errors";
  std::cout << "after kill -9 of the stream leader: " << acked.size() << " acked, " << errors
            << " errors:\n";
  for (const auto& [kind, count] : error_kinds) std::cout << "  " << count << " x " << kind << "\n";
  ASSERT_TRUE(cluster_->Restart(leader).ok());
  publish_until(300);
  EXPECT_EQ(acked.size(), 300u);

  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), last_acked);
  std::set<std::string> seen;
  uint64_t previous = 0;
  for (const ConsumedDelivery& consumed : read) {
    EXPECT_GT(consumed.sequence, previous);
    previous = consumed.sequence;
    seen.insert(consumed.delivery.delivery_id());
  }
  for (const std::string& id : acked) EXPECT_TRUE(seen.count(id)) << "acked but lost: " << id;
}

TEST_F(CommitLogTest, WithoutQuorumPublishesFailAndNeverSucceed) {
  ASSERT_TRUE(publisher_->PublishAndWait(MakeDelivery("u", "before"), absl::Now() + absl::Seconds(10))
                  .ok());
  ASSERT_TRUE(cluster_->Kill(0, SIGKILL).ok());
  ASSERT_TRUE(cluster_->Kill(1, SIGKILL).ok());
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<PublishResult> result = publisher_->PublishAndWait(
        MakeDelivery("u", absl::StrCat("no-quorum-", i)), absl::Now() + absl::Seconds(2));
    ASSERT_FALSE(result.ok()) << "acknowledged without a quorum, sequence " << result->sequence;
    EXPECT_TRUE(absl::IsUnavailable(result.status()) || absl::IsDeadlineExceeded(result.status()))
        << result.status();
  }
  // A large delivery (the chunked path) fails the same way.
  absl::StatusOr<PublishResult> big = publisher_->PublishAndWait(
      MakeDelivery("u", "no-quorum-big", 10'000'000), absl::Now() + absl::Seconds(3));
  EXPECT_FALSE(big.ok());

  // Quorum back: publishing resumes, and what was acknowledged is there.
  ASSERT_TRUE(cluster_->Restart(0).ok());
  std::string after_id;
  uint64_t after_sequence = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (absl::Now() < give_up) {
    log::v1::Delivery delivery = MakeDelivery("u", "after");
    after_id = DeliveryId(delivery.events());
    absl::StatusOr<PublishResult> result =
        publisher_->PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(3));
    if (result.ok()) {
      after_sequence = result->sequence;
      break;
    }
    after_id.clear();
  }
  ASSERT_FALSE(after_id.empty()) << "no publish succeeded after the quorum came back";
  std::vector<ConsumedDelivery> read = ReadUntil(log_.get(), after_sequence);
  ASSERT_GE(read.size(), 2u);
  EXPECT_EQ(read.front().delivery.events(0).record_key(), "before");
  bool found_after = false;
  for (const ConsumedDelivery& consumed : read) {
    found_after |= consumed.delivery.delivery_id() == after_id;
  }
  EXPECT_TRUE(found_after);
}

}  // namespace
}  // namespace healthwire

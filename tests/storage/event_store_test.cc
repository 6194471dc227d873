// EventStore on a real RocksDB, one fresh folder per test: each test states one
// behaviour the store guarantees.
#include "storage/event_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/util/database_scan.h"
#include "tests/util/faulty_wal_file_system.h"
#include "tests/util/polling.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using ::healthwire::testing::FaultyWalFileSystem;
using ::healthwire::testing::PollUntil;
using ::healthwire::testing::TempDir;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Outcome = v1::IngestResult;

// ---- Building events --------------------------------------------------------

v1::Event Base(v1::EventType type, const std::string& terra_type, const std::string& user_id,
               const std::string& record_key, const std::string& start_time,
               const std::string& raw_json) {
  v1::Event event;
  event.set_type(type);
  event.set_terra_type(terra_type);
  event.set_record_key(record_key);
  event.mutable_user()->set_user_id(user_id);
  event.mutable_user()->set_provider("GARMIN");
  event.set_start_time(start_time);
  event.set_raw_json(raw_json);
  event.mutable_received_at()->set_seconds(1780000000);
  return event;
}

v1::Event Sleep(const std::string& user_id, const std::string& summary_id,
                const std::string& start_time, const std::string& raw_json = "") {
  v1::Event event =
      Base(v1::EVENT_TYPE_SLEEP, "sleep", user_id, summary_id, start_time,
           raw_json.empty() ? absl::StrCat("{\"summary_id\":\"", summary_id,
                                           "\",\"start_time\":\"", start_time, "\"}")
                            : raw_json);
  event.mutable_sleep()->mutable_metadata()->set_summary_id(summary_id);
  event.mutable_sleep()->mutable_metadata()->set_start_time(start_time);
  return event;
}

v1::Event Activity(const std::string& user_id, const std::string& summary_id,
                   const std::string& start_time, const std::string& raw_json) {
  v1::Event event = Base(v1::EVENT_TYPE_ACTIVITY, "activity", user_id, summary_id,
                         start_time, raw_json);
  event.mutable_activity()->mutable_metadata()->set_summary_id(summary_id);
  event.mutable_activity()->mutable_metadata()->set_start_time(start_time);
  return event;
}

v1::Event WithReference(v1::Event event, const std::string& reference_id) {
  event.mutable_user()->set_reference_id(reference_id);
  return event;
}

v1::Event WithOrdering(v1::Event event, int64_t ordering_timestamp_ms) {
  event.set_ordering_timestamp_ms(ordering_timestamp_ms);
  return event;
}

// "2026-07-0<day>T22:00:00+00:00"
std::string Night(int day) { return absl::StrCat("2026-07-0", day, "T22:00:00+00:00"); }

// ---- Requests ---------------------------------------------------------------

LatestQuery LatestFor(const std::string& user_id, v1::EventType type = v1::EVENT_TYPE_SLEEP) {
  LatestQuery query;
  query.subject = StoreSubject::UserId(user_id);
  query.type = type;
  return query;
}

LatestQuery LatestForReference(const std::string& reference_id,
                               v1::EventType type = v1::EVENT_TYPE_SLEEP) {
  LatestQuery query;
  query.subject = StoreSubject::ReferenceId(reference_id);
  query.type = type;
  return query;
}

ListQuery ListFor(const std::string& user_id, v1::EventType type = v1::EVENT_TYPE_SLEEP) {
  ListQuery query;
  query.subject = StoreSubject::UserId(user_id);
  query.type = type;
  return query;
}

absl::Time Seconds(int64_t seconds) { return absl::FromUnixSeconds(seconds); }

std::vector<std::string> KeysOf(const ListResult& response) {
  std::vector<std::string> keys;
  for (const v1::Event& event : response.events) keys.push_back(event.record_key());
  return keys;
}

std::vector<Outcome::Outcome> OutcomesOf(const v1::IngestResponse& response) {
  std::vector<Outcome::Outcome> outcomes;
  for (const v1::IngestResult& result : response.results()) {
    outcomes.push_back(result.outcome());
  }
  return outcomes;
}

std::vector<uint64_t> RevisionsOf(const v1::IngestResponse& response) {
  std::vector<uint64_t> revisions;
  for (const v1::IngestResult& result : response.results()) {
    revisions.push_back(result.revision());
  }
  return revisions;
}

// Collects IngestAsync results by call index. (std::mutex, not absl::Mutex,
// so ThreadSanitizer sees the hand-off with Debian's unannotated Abseil.)
class AsyncResults {
 public:
  explicit AsyncResults(size_t calls) : results_(calls) {}

  EventStore::IngestCallback For(size_t call) {
    return [this, call](absl::StatusOr<v1::IngestResponse> response) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[call] = std::move(response);
      ++arrived_;
      arrived_changed_.notify_all();
    };
  }

  // Blocks until every call's callback ran.
  const std::vector<absl::StatusOr<v1::IngestResponse>>& Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    arrived_changed_.wait(lock, [this] { return arrived_ == results_.size(); });
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable arrived_changed_;
  std::vector<absl::StatusOr<v1::IngestResponse>> results_;
  size_t arrived_ = 0;
};

// ---- Fixture ----------------------------------------------------------------

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void TearDown() override { store_.reset(); }

  void Reopen(bool sync_writes = true, rocksdb::Env* env = nullptr,
              uint64_t large_value_bytes = EventStore::Options().large_value_bytes) {
    ReopenWith([&](EventStore::Options& options) {
      options.sync_writes = sync_writes;
      options.env = env;
      options.large_value_bytes = large_value_bytes;
    });
  }

  // Reopens with the test's options, `adjust`ed.
  void ReopenWith(const std::function<void(EventStore::Options&)>& adjust) {
    store_.reset();
    EventStore::Options options;
    options.path = path_;
    options.block_cache_bytes = 8 << 20;
    adjust(options);
    absl::StatusOr<std::unique_ptr<EventStore>> opened = EventStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  v1::IngestResponse MustIngest(std::vector<v1::Event> events) {
    absl::StatusOr<v1::IngestResponse> response = store_->Ingest(std::move(events));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::IngestResponse();
  }

  v1::Event MustGetLatest(const LatestQuery& request) {
    absl::StatusOr<LatestResult> response = store_->GetLatest(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->event : v1::Event();
  }

  ListResult MustList(const ListQuery& request) {
    absl::StatusOr<ListResult> response = store_->ListRecords(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : ListResult();
  }

  std::vector<v1::Event> MustReadChangeLog(uint64_t from, size_t max = 1000) {
    std::vector<v1::Event> events;
    absl::Status status = store_->ReadChangeLog(from, max, &events);
    EXPECT_TRUE(status.ok()) << status;
    return events;
  }

  const TempDir dir_{"event_store"};
  // The store's folder, created by the store itself.
  const std::string path_ = dir_.File("store");
  std::unique_ptr<EventStore> store_;
};

// ---- Revisions and latest versions ---------------------------------------------

TEST_F(EventStoreTest, RevisionsAreDenseStartingAtOne) {
  EXPECT_EQ(store_->CurrentRevision(), 0u);
  v1::IngestResponse first = MustIngest(
      {Sleep("u1", "s1", Night(1)), Sleep("u1", "s2", Night(2)), Sleep("u2", "s1", Night(1))});
  EXPECT_THAT(RevisionsOf(first), ElementsAre(1, 2, 3));
  EXPECT_THAT(OutcomesOf(first), ElementsAre(Outcome::OUTCOME_STORED, Outcome::OUTCOME_STORED,
                                             Outcome::OUTCOME_STORED));
  EXPECT_EQ(first.store_revision(), 3u);

  v1::IngestResponse second = MustIngest({Sleep("u1", "s3", Night(3))});
  EXPECT_THAT(RevisionsOf(second), ElementsAre(4));
  EXPECT_EQ(second.store_revision(), 4u);
  EXPECT_EQ(store_->CurrentRevision(), 4u);
}

TEST_F(EventStoreTest, NewVersionOfARecordKeyOverwritesTheStoredOne) {
  MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":1}")});
  MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":2}")});

  const v1::Event latest = MustGetLatest(LatestFor("u1"));
  EXPECT_EQ(latest.raw_json(), "{\"v\":2}");
  EXPECT_EQ(latest.revision(), 2u);
  EXPECT_THAT(KeysOf(MustList(ListFor("u1"))), ElementsAre("s1"));
}

TEST_F(EventStoreTest, SameRecordKeyOfDifferentUsersOrTypesAreDifferentRecords) {
  MustIngest({Sleep("u1", "k", Night(1)), Sleep("u2", "k", Night(1)),
              Activity("u1", "k", Night(1), "{}")});
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).revision(), 1u);
  EXPECT_EQ(MustGetLatest(LatestFor("u2")).revision(), 2u);
  EXPECT_EQ(MustGetLatest(LatestFor("u1", v1::EVENT_TYPE_ACTIVITY)).revision(), 3u);
}

// ---- GetLatest -----------------------------------------------------------------

TEST_F(EventStoreTest, GetLatestReturnsGreatestStartTimeNotLastReceived) {
  MustIngest({Sleep("u1", "newer", Night(5))});
  MustIngest({Sleep("u1", "older", Night(2))});  // received last

  absl::StatusOr<LatestResult> latest = store_->GetLatest(LatestFor("u1"));
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->event.record_key(), "newer");
  EXPECT_EQ(latest->store_revision, 2u);
}

TEST_F(EventStoreTest, GetLatestComparesInstantsNotTimestampText) {
  // 23:00+02:00 is 21:00Z, earlier than 22:00Z although its text sorts later.
  MustIngest({Sleep("u1", "utc", "2026-07-01T22:00:00Z"),
              Sleep("u1", "plus2", "2026-07-01T23:00:00+02:00")});
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).record_key(), "utc");
}

TEST_F(EventStoreTest, UnparseableStartTimeIsListedLastAndNeverLatest) {
  MustIngest({Sleep("u1", "unknown", "not a time"), Sleep("u1", "known", Night(1))});
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).record_key(), "known");
  EXPECT_THAT(KeysOf(MustList(ListFor("u1"))), ElementsAre("known", "unknown"));
}

TEST_F(EventStoreTest, GetLatestByReferenceIdSpansTheConnectionsOfOnePerson) {
  MustIngest({WithReference(Sleep("garmin-user", "g1", Night(3)), "person-1"),
              WithReference(Sleep("oura-user", "o1", Night(4)), "person-1"),
              WithReference(Sleep("other-user", "x1", Night(6)), "person-2")});

  const v1::Event latest = MustGetLatest(LatestForReference("person-1"));
  EXPECT_EQ(latest.user().user_id(), "oura-user");
  EXPECT_EQ(latest.record_key(), "o1");
  EXPECT_EQ(MustGetLatest(LatestFor("garmin-user")).record_key(), "g1");
}

TEST_F(EventStoreTest, ChangedStartTimeOrReferenceMovesTheIndexEntry) {
  MustIngest({WithReference(Sleep("u1", "s1", Night(1)), "old-ref")});
  MustIngest({WithReference(Sleep("u1", "s1", Night(3)), "new-ref")});

  EXPECT_THAT(KeysOf(MustList(ListFor("u1"))), ElementsAre("s1"));
  ListQuery before_day3 = ListFor("u1");
  before_day3.start_time_to = Seconds(1782900000);  // 2026-07-01T10:00Z
  EXPECT_THAT(KeysOf(MustList(before_day3)), ElementsAre());
  EXPECT_EQ(store_->GetLatest(LatestForReference("old-ref")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MustGetLatest(LatestForReference("new-ref")).start_time(), Night(3));
}

TEST_F(EventStoreTest, GetLatestOmitRawJsonLeavesItOut) {
  MustIngest({Sleep("u1", "s1", Night(1), "{\"big\":true}")});
  LatestQuery request = LatestFor("u1");
  request.omit_raw_json = true;
  const v1::Event latest = MustGetLatest(request);
  EXPECT_EQ(latest.raw_json(), "");
  EXPECT_EQ(latest.sleep().metadata().summary_id(), "s1");
}

TEST_F(EventStoreTest, GetLatestNotFoundSaysWhatWasLookedFor) {
  MustIngest({Sleep("u1", "s1", Night(1))});
  absl::StatusOr<LatestResult> by_user = store_->GetLatest(LatestFor("nobody"));
  EXPECT_EQ(by_user.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(by_user.status().message(), "no sleep record for user_id \"nobody\"");

  absl::StatusOr<LatestResult> by_type =
      store_->GetLatest(LatestFor("u1", v1::EVENT_TYPE_PLANNED_WORKOUT));
  EXPECT_EQ(by_type.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(by_type.status().message(), "no planned_workout record for user_id \"u1\"");

  absl::StatusOr<LatestResult> by_reference =
      store_->GetLatest(LatestForReference("ref-9"));
  EXPECT_EQ(by_reference.status().message(), "no sleep record for reference_id \"ref-9\"");
}

TEST_F(EventStoreTest, GetLatestRejectsMissingSubject) {
  LatestQuery no_subject;
  no_subject.type = v1::EVENT_TYPE_SLEEP;
  absl::StatusOr<LatestResult> response = store_->GetLatest(no_subject);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(response.status().message(), "subject: set user_id or reference_id");

  EXPECT_EQ(store_->GetLatest(LatestFor("")).status().message(),
            "subject: set user_id or reference_id");
}

TEST_F(EventStoreTest, GetLatestRejectsNonDataTypes) {
  for (v1::EventType type :
       {v1::EVENT_TYPE_UNSPECIFIED, v1::EVENT_TYPE_AUTH, v1::EVENT_TYPE_UNKNOWN}) {
    absl::StatusOr<LatestResult> response = store_->GetLatest(LatestFor("u1", type));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(response.status().message(), "type: ")) << response.status();
  }
}

// ---- ListRecords ---------------------------------------------------------------

TEST_F(EventStoreTest, ListRecordsReturnsNewestStartTimeFirst) {
  MustIngest({Sleep("u1", "d2", Night(2)), Sleep("u1", "d4", Night(4)),
              Sleep("u1", "d1", Night(1)), Sleep("u1", "d3", Night(3)),
              Sleep("u2", "other", Night(9))});
  const ListResult response = MustList(ListFor("u1"));
  EXPECT_THAT(KeysOf(response), ElementsAre("d4", "d3", "d2", "d1"));
  EXPECT_EQ(response.next_page_token, "");
  EXPECT_EQ(response.store_revision, 5u);
}

TEST_F(EventStoreTest, ListRecordsPagesWithTokensAcrossPages) {
  for (int day = 1; day <= 5; ++day) {
    MustIngest({Sleep("u1", absl::StrCat("d", day), Night(day))});
  }
  ListQuery request = ListFor("u1");
  request.page_size = 2;

  const ListResult page1 = MustList(request);
  EXPECT_THAT(KeysOf(page1), ElementsAre("d5", "d4"));
  ASSERT_NE(page1.next_page_token, "");

  request.page_token = page1.next_page_token;
  const ListResult page2 = MustList(request);
  EXPECT_THAT(KeysOf(page2), ElementsAre("d3", "d2"));
  ASSERT_NE(page2.next_page_token, "");

  request.page_token = page2.next_page_token;
  const ListResult page3 = MustList(request);
  EXPECT_THAT(KeysOf(page3), ElementsAre("d1"));
  EXPECT_EQ(page3.next_page_token, "");
}

TEST_F(EventStoreTest, ListRecordsFiltersOnStartTimeFromInclusiveToExclusive) {
  for (int day = 1; day <= 5; ++day) {
    MustIngest({Sleep("u1", absl::StrCat("d", day), Night(day))});
  }
  MustIngest({Sleep("u1", "undated", "")});
  ListQuery request = ListFor("u1");
  // 2026-07-02T22:00:00Z and 2026-07-04T22:00:00Z.
  request.start_time_from = Seconds(1783029600);
  request.start_time_to = Seconds(1783029600 + 2 * 86400);
  EXPECT_THAT(KeysOf(MustList(request)), ElementsAre("d3", "d2"));

  request.start_time_from.reset();
  EXPECT_THAT(KeysOf(MustList(request)), ElementsAre("d3", "d2", "d1"));
}

TEST_F(EventStoreTest, ListRecordsRejectsAPageTokenItDidNotIssue) {
  for (int day = 1; day <= 3; ++day) {
    MustIngest({Sleep("u1", absl::StrCat("d", day), Night(day))});
  }
  ListQuery request = ListFor("u1");
  for (const std::string& bad :
       {std::string("not base64 !!"), absl::WebSafeBase64Escape("garbage")}) {
    request.page_token = bad;
    absl::StatusOr<ListResult> response = store_->ListRecords(request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(response.status().message(), "page_token is not valid");
  }

  // A real token, for another user's listing.
  request.page_size = 1;
  request.page_token.clear();
  const std::string token_of_u1 = MustList(request).next_page_token;
  ASSERT_NE(token_of_u1, "");
  ListQuery other = ListFor("u2");
  other.page_token = token_of_u1;
  EXPECT_EQ(store_->ListRecords(other).status().message(), "page_token is not valid");
}

TEST_F(EventStoreTest, ListRecordsWithNothingStoredIsAnEmptyPage) {
  const ListResult response = MustList(ListFor("nobody"));
  EXPECT_EQ(response.events.size(), 0u);
  EXPECT_EQ(response.next_page_token, "");
  EXPECT_EQ(response.store_revision, 0u);
}

TEST_F(EventStoreTest, ListRecordsPageSizeDefaultsClampsAndRejectsNegative) {
  MustIngest({Sleep("u1", "d1", Night(1)), Sleep("u1", "d2", Night(2))});
  ListQuery request = ListFor("u1");
  request.page_size = 5000;  // clamped to 1000, not an error
  EXPECT_EQ(MustList(request).events.size(), 2u);

  request.page_size = -1;
  absl::StatusOr<ListResult> response = store_->ListRecords(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("page_size"));
}

TEST_F(EventStoreTest, ListRecordsValidatesSubjectAndType) {
  ListQuery no_subject;
  no_subject.type = v1::EVENT_TYPE_SLEEP;
  EXPECT_EQ(store_->ListRecords(no_subject).status().message(),
            "subject: set user_id or reference_id");
  absl::StatusOr<ListResult> bad_type =
      store_->ListRecords(ListFor("u1", v1::EVENT_TYPE_DEAUTH));
  EXPECT_EQ(bad_type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_type.status().message()), HasSubstr("EVENT_TYPE_DEAUTH"));
}

// ---- Ordering guard and re-deliveries -----------------------------------------

TEST_F(EventStoreTest, StaleDeliveryChangesNothing) {
  MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":\"new\"}"), 2000)});
  const v1::IngestResponse stale =
      MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":\"old\"}"), 1000)});

  EXPECT_THAT(OutcomesOf(stale), ElementsAre(Outcome::OUTCOME_STALE));
  EXPECT_THAT(RevisionsOf(stale), ElementsAre(1));  // the stored version's
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).raw_json(), "{\"v\":\"new\"}");
  EXPECT_EQ(store_->GetStats().stale, 1u);
  EXPECT_EQ(store_->GetStats().stored, 1u);
}

TEST_F(EventStoreTest, EqualOrNewerOrderingTimestampOverwrites) {
  MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":1}"), 1000)});
  const v1::IngestResponse equal =
      MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":2}"), 1000)});
  const v1::IngestResponse newer =
      MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":3}"), 1001)});
  EXPECT_THAT(OutcomesOf(equal), ElementsAre(Outcome::OUTCOME_STORED));
  EXPECT_THAT(OutcomesOf(newer), ElementsAre(Outcome::OUTCOME_STORED));
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).raw_json(), "{\"v\":3}");
}

TEST_F(EventStoreTest, WithoutOrderingTimestampsTheLastDeliveryWins) {
  MustIngest({WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":1}"), 5000)});
  const v1::IngestResponse unordered = MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":2}")});
  EXPECT_THAT(OutcomesOf(unordered), ElementsAre(Outcome::OUTCOME_STORED));
}

TEST_F(EventStoreTest, IdenticalRedeliveryCreatesNoRevision) {
  v1::Event event = WithOrdering(Sleep("u1", "s1", Night(1)), 1000);
  MustIngest({event});
  event.set_trace_id("retry-trace");  // delivery details differ, the record not
  event.set_ordering_timestamp_ms(1000);
  const v1::IngestResponse again = MustIngest({event});

  EXPECT_THAT(OutcomesOf(again), ElementsAre(Outcome::OUTCOME_IDENTICAL));
  EXPECT_THAT(RevisionsOf(again), ElementsAre(1));
  EXPECT_EQ(again.store_revision(), 1u);
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(store_->GetStats().identical, 1u);
  EXPECT_EQ(MustReadChangeLog(1).size(), 1u);
}

TEST_F(EventStoreTest, VersionsOfOneKeyInOneCallSeeEachOther) {
  const v1::IngestResponse response = MustIngest(
      {WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":2}"), 2000),
       WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":1}"), 1000),
       WithOrdering(Sleep("u1", "s1", Night(1), "{\"v\":2}"), 2000)});
  EXPECT_THAT(OutcomesOf(response),
              ElementsAre(Outcome::OUTCOME_STORED, Outcome::OUTCOME_STALE,
                          Outcome::OUTCOME_IDENTICAL));
  EXPECT_THAT(RevisionsOf(response), ElementsAre(1, 1, 1));
}

// ---- data_enrichment COALESCE ---------------------------------------------------

TEST_F(EventStoreTest, CoalesceKeepsStoredSleepScoresAndContributorsWhenNewOnesAreAbsent) {
  v1::Event first = Sleep("u1", "s1", Night(1), "{\"scores\":1}");
  auto* enrichment = first.mutable_sleep()->mutable_data_enrichment();
  enrichment->set_sleep_score(81);
  enrichment->set_readiness_score(0);  // zero is a value, not "absent"
  (*enrichment->mutable_sleep_contributors())["deep"] = 0.7;
  MustIngest({first});

  // Terra re-delivers the record with data_enrichment null.
  v1::Event redelivery = Sleep("u1", "s1", Night(1), "{\"scores\":null}");
  redelivery.mutable_sleep()->mutable_sleep_durations_data();
  MustIngest({redelivery});

  const v1::Event latest = MustGetLatest(LatestFor("u1"));
  EXPECT_EQ(latest.revision(), 2u);
  EXPECT_EQ(latest.raw_json(), "{\"scores\":null}");  // as received
  ASSERT_TRUE(latest.sleep().data_enrichment().has_sleep_score());
  EXPECT_EQ(latest.sleep().data_enrichment().sleep_score(), 81);
  ASSERT_TRUE(latest.sleep().data_enrichment().has_readiness_score());
  EXPECT_EQ(latest.sleep().data_enrichment().readiness_score(), 0);
  EXPECT_EQ(latest.sleep().data_enrichment().sleep_contributors().at("deep"), 0.7);
}

TEST_F(EventStoreTest, CoalesceTakesNewScoresWhenPresent) {
  v1::Event first = Activity("u1", "a1", Night(1), "{\"v\":1}");
  auto* old_enrichment = first.mutable_activity()->mutable_data_enrichment();
  old_enrichment->set_strain_score(10);
  old_enrichment->set_efficiency_score(50);
  (*old_enrichment->mutable_strain_contributors())["hr"] = 1.0;
  (*old_enrichment->mutable_strain_contributors())["old-only"] = 2.0;
  MustIngest({first});

  v1::Event second = Activity("u1", "a1", Night(1), "{\"v\":2}");
  auto* new_enrichment = second.mutable_activity()->mutable_data_enrichment();
  new_enrichment->set_strain_score(12);
  (*new_enrichment->mutable_strain_contributors())["hr"] = 3.0;
  MustIngest({second});

  const terra::DataEnrichment latest =
      MustGetLatest(LatestFor("u1", v1::EVENT_TYPE_ACTIVITY)).activity().data_enrichment();
  EXPECT_EQ(latest.strain_score(), 12);      // new value wins
  EXPECT_EQ(latest.efficiency_score(), 50);  // absent in new: kept
  // A non-empty map in the new version replaces the stored one as a whole.
  EXPECT_EQ(latest.strain_contributors().size(), 1u);
  EXPECT_EQ(latest.strain_contributors().at("hr"), 3.0);
}

TEST_F(EventStoreTest, CoalescedVersionIsWhatTheChangeLogRecords) {
  v1::Event first = Sleep("u1", "s1", Night(1), "{\"v\":1}");
  first.mutable_sleep()->mutable_data_enrichment()->set_sleep_score(70);
  MustIngest({first, Sleep("u1", "s1", Night(1), "{\"v\":2}")});

  const std::vector<v1::Event> log = MustReadChangeLog(1);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].sleep().data_enrichment().sleep_score(), 70);
}

// ---- Atomic calls and validation ------------------------------------------------

TEST_F(EventStoreTest, AnInvalidEventAnywhereInACallWritesNothingOfThatCall) {
  v1::Event no_key = Sleep("u1", "s3", Night(3));
  no_key.clear_record_key();
  absl::StatusOr<v1::IngestResponse> response =
      store_->Ingest({Sleep("u1", "s1", Night(1)), Sleep("u1", "s2", Night(2)), no_key});

  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("events[2].record_key"));
  EXPECT_EQ(store_->CurrentRevision(), 0u);
  EXPECT_EQ(store_->GetLatest(LatestFor("u1")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(MustReadChangeLog(0).empty());
}

TEST_F(EventStoreTest, IngestValidationNamesTheFieldAndTheEventIndex) {
  v1::Event no_user = Sleep("", "s1", Night(1));
  EXPECT_THAT(std::string(store_->Ingest({no_user}).status().message()),
              HasSubstr("events[0].user.user_id"));

  v1::Event no_type = Sleep("u1", "s1", Night(1));
  no_type.set_type(v1::EVENT_TYPE_UNSPECIFIED);
  absl::StatusOr<v1::IngestResponse> response =
      store_->Ingest({Sleep("u1", "s0", Night(1)), no_type});
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("events[1].type"));
}

TEST_F(EventStoreTest, AFailedCallDoesNotAffectOtherCallsCommittedWithIt) {
  v1::Event invalid = Sleep("u1", "bad", Night(1));
  invalid.clear_record_key();
  AsyncResults async(3);
  store_->IngestAsync({Sleep("u1", "s1", Night(1))}, async.For(0));
  store_->IngestAsync({invalid}, async.For(1));
  store_->IngestAsync({Sleep("u1", "s2", Night(2))}, async.For(2));
  const std::vector<absl::StatusOr<v1::IngestResponse>>& results = async.Wait();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  EXPECT_THAT(RevisionsOf(*results[0]), ElementsAre(1));
  EXPECT_THAT(RevisionsOf(*results[2]), ElementsAre(2));
  EXPECT_EQ(store_->CurrentRevision(), 2u);
}

TEST_F(EventStoreTest, AnEmptyCallWritesNothingAndReturnsTheCurrentRevision) {
  MustIngest({Sleep("u1", "s1", Night(1))});
  const uint64_t commits = store_->GetStats().commits;
  const v1::IngestResponse empty = MustIngest({});
  EXPECT_EQ(empty.results_size(), 0);
  EXPECT_EQ(empty.store_revision(), 1u);
  EXPECT_EQ(store_->GetStats().commits, commits);
}

// ---- Concurrency ------------------------------------------------------------------

TEST_F(EventStoreTest, ConcurrentIngestAsyncGetsUniqueDenseRevisions) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 40;
  constexpr int kEventsPerCall = 2;
  AsyncResults async(kThreads * kCallsPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string user = absl::StrCat("user-", t);
      for (int c = 0; c < kCallsPerThread; ++c) {
        std::vector<v1::Event> events;
        for (int e = 0; e < kEventsPerCall; ++e) {
          events.push_back(Sleep(user, absl::StrCat("s", c, "-", e),
                                 absl::StrCat("2026-07-01T00:", c % 60, ":0", e, "Z")));
        }
        store_->IngestAsync(std::move(events), async.For(t * kCallsPerThread + c));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<uint64_t> revisions;
  for (const absl::StatusOr<v1::IngestResponse>& response : async.Wait()) {
    ASSERT_TRUE(response.ok()) << response.status();
    for (uint64_t revision : RevisionsOf(*response)) revisions.push_back(revision);
  }
  constexpr int kTotal = kThreads * kCallsPerThread * kEventsPerCall;
  std::sort(revisions.begin(), revisions.end());
  ASSERT_EQ(revisions.size(), static_cast<size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i) EXPECT_EQ(revisions[i], static_cast<uint64_t>(i + 1));
  EXPECT_EQ(store_->CurrentRevision(), static_cast<uint64_t>(kTotal));
  EXPECT_LE(store_->GetStats().commits, static_cast<uint64_t>(kThreads * kCallsPerThread));

  for (int t = 0; t < kThreads; ++t) {
    ListQuery request = ListFor(absl::StrCat("user-", t));
    request.page_size = 1000;
    EXPECT_EQ(MustList(request).events.size(),
              static_cast<size_t>(kCallsPerThread * kEventsPerCall));
  }
}

TEST_F(EventStoreTest, ReadsRunWhileWritesCommit) {
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      MustIngest({Sleep("u1", absl::StrCat("s", i), Night(1 + i % 9))});
    }
    writing = false;
  });
  uint64_t last_seen = 0;
  while (writing) {
    absl::StatusOr<ListResult> page = store_->ListRecords(ListFor("u1"));
    ASSERT_TRUE(page.ok()) << page.status();
    // A snapshot read: the page matches the revision it reports.
    EXPECT_EQ(static_cast<uint64_t>(std::min(static_cast<int>(page->events.size()), 100)),
              std::min<uint64_t>(page->store_revision, 100));
    EXPECT_GE(page->store_revision, last_seen);
    last_seen = page->store_revision;
  }
  writer.join();
  EXPECT_EQ(store_->CurrentRevision(), 200u);
}

// ---- Durability ---------------------------------------------------------------------

TEST_F(EventStoreTest, ReopeningKeepsDataAndRevisionsContinue) {
  MustIngest({WithReference(Sleep("u1", "s1", Night(1)), "ref"), Sleep("u1", "s2", Night(2))});
  Reopen();

  EXPECT_EQ(store_->CurrentRevision(), 2u);
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).record_key(), "s2");
  EXPECT_EQ(MustGetLatest(LatestForReference("ref")).record_key(), "s1");
  const v1::IngestResponse next = MustIngest({Sleep("u1", "s3", Night(3))});
  EXPECT_THAT(RevisionsOf(next), ElementsAre(3));
}

TEST_F(EventStoreTest, UnsyncedWritesStillWork) {
  Reopen(/*sync_writes=*/false);
  const v1::IngestResponse response = MustIngest({Sleep("u1", "s1", Night(1))});
  EXPECT_THAT(RevisionsOf(response), ElementsAre(1));
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).record_key(), "s1");
  Reopen(/*sync_writes=*/false);  // a clean close flushes
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(EventStoreTest, OpeningALockedFolderFailsNamingThePath) {
  EventStore::Options options;
  options.path = path_;
  absl::StatusOr<std::unique_ptr<EventStore>> second = EventStore::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(path_));
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("lock"));
}

TEST_F(EventStoreTest, OpeningAFolderThatCannotBeCreatedFailsNamingThePath) {
  const std::string file = path_ + "-a-file";
  { std::ofstream(file) << "not a folder"; }
  EventStore::Options options;
  options.path = file + "/db";
  absl::StatusOr<std::unique_ptr<EventStore>> opened = EventStore::Open(options);
  std::filesystem::remove(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr(options.path));
}

TEST_F(EventStoreTest, OpeningWithoutAPathIsInvalidArgument) {
  EXPECT_EQ(EventStore::Open(EventStore::Options()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EventStoreTest, AFailedCommitFailsEveryCallOfItsGroupAndKeepsRevisionsDense) {
  auto file_system = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  Reopen(/*sync_writes=*/true, env.get());
  MustIngest({Sleep("u1", "s1", Night(1))});

  file_system->fail_wal_writes = true;
  AsyncResults async(3);
  for (int i = 0; i < 3; ++i) {
    store_->IngestAsync({Sleep("u1", absl::StrCat("lost", i), Night(2))}, async.For(i));
  }
  for (const absl::StatusOr<v1::IngestResponse>& response : async.Wait()) {
    EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
    EXPECT_THAT(std::string(response.status().message()), HasSubstr(path_));
  }
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(MustGetLatest(LatestFor("u1")).record_key(), "s1");

  // After the failure, the next commit takes the next revision: no gap.
  file_system->fail_wal_writes = false;
  Reopen(/*sync_writes=*/true, env.get());
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_THAT(RevisionsOf(MustIngest({Sleep("u1", "s2", Night(2))})), ElementsAre(2));
  EXPECT_EQ(MustReadChangeLog(0).size(), 2u);
  store_.reset();  // before `env`
}

TEST_F(EventStoreTest, ALargeRecordIsStoredByReferenceAndReadBackByteIdentical) {
  const std::string large_json = absl::StrCat("{\"padding\":\"", std::string(2 << 20, 'y'), "\"}");
  MustIngest({Sleep("big", "large-1", Night(1), large_json)});
  EXPECT_EQ(store_->GetStats().large_values_written, 1u);
  const v1::Event latest = MustGetLatest(LatestFor("big"));
  EXPECT_EQ(latest.raw_json(), large_json);
  std::vector<std::string> entries;
  ASSERT_TRUE(store_->ReadChangeLogBytes(1, 10, &entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  // The entry a reader gets is the inline serialization of the record.
  EXPECT_EQ(entries[0], latest.SerializeAsString());
  // After a restart (nothing uncommitted to remove) the same bytes.
  Reopen();
  EXPECT_EQ(store_->GetStats().large_values_collected, 0u);
  EXPECT_EQ(MustGetLatest(LatestFor("big")).SerializeAsString(), latest.SerializeAsString());
  // An identical re-delivery stores nothing and keeps no second copy.
  MustIngest({Sleep("big", "large-1", Night(1), large_json)});
  EXPECT_EQ(store_->GetStats().large_values_written, 1u);
  EXPECT_EQ(store_->GetStats().large_values_collected, 1u);
}

// Retention: once neither the record (overwritten) nor its change-log entry
// (trimmed by count retention) references a large value, the value and its
// commit key go, and its bytes leave the disk.
TEST_F(EventStoreTest, ALargeValueIsRemovedOnceRetentionTrimmedItsLastReference) {
  ReopenWith([](EventStore::Options& options) { options.changelog_max_entries = 1; });
  const std::string marker = "RETAINED-LARGE-VALUE-MARKER";
  const std::string large_json =
      absl::StrCat("{\"note\":\"", marker, "\",\"padding\":\"", std::string(2 << 20, 'r'), "\"}");
  MustIngest({Sleep("big", "large-1", Night(1), large_json)});
  EXPECT_EQ(store_->GetStats().large_values_written, 1u);
  EXPECT_EQ(store_->GetStats().large_values_collected, 0u);
  // A new version of the record (inline): the old entry is trimmed (at most
  // one entry kept), so nothing references the value any more.
  MustIngest({Sleep("big", "large-1", Night(1), "{\"v\":2}")});
  EXPECT_TRUE(PollUntil([&] { return store_->GetStats().large_values_collected == 1; },
                        absl::Seconds(10)))
      << "collected " << store_->GetStats().large_values_collected;
  EXPECT_EQ(MustGetLatest(LatestFor("big")).raw_json(), "{\"v\":2}");
  store_.reset();
  absl::StatusOr<testing::DatabaseBytes> bytes = testing::ScanDatabase(path_);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_FALSE(bytes->Contains(marker)) << bytes->WhereIs(marker);
}

// Large-value path (the default): the caller of IngestAsync never waits for
// a large value's write (it runs on the store's large-value writer threads),
// a small call of another user commits while large values are still being
// written, and a small call of a user whose large call is being written
// keeps its place behind it.
TEST_F(EventStoreTest, SmallCallsCommitWhileLargeValuesOfOtherUsersAreWrittenButNotBeforeTheirOwn) {
  auto file_system = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  Reopen(/*sync_writes=*/true, env.get());
  const std::string large_json = absl::StrCat("{\"padding\":\"", std::string(2 << 20, 'x'), "\"}");
  file_system->stall_large_value_syncs = true;
  AsyncResults async(4);
  std::atomic<bool> returned{false};
  std::thread caller([&] {
    store_->IngestAsync({Sleep("a", "large-a", Night(1), large_json)}, async.For(0));
    store_->IngestAsync({Sleep("b", "large-b", Night(1), large_json)}, async.For(1));
    store_->IngestAsync({Sleep("c", "small-c", Night(1))}, async.For(2));
    store_->IngestAsync({Sleep("b", "small-b", Night(2))}, async.For(3));
    returned = true;
  });
  // Were a large value written on the caller's thread, the caller would sit
  // in the stalled sync (up to 10 s) and these would fail.
  const bool callers_returned = PollUntil([&] { return returned.load(); }, absl::Seconds(3));
  const bool small_committed_meanwhile =
      PollUntil([&] { return store_->CurrentRevision() >= 1; }, absl::Seconds(3));
  const bool large_writes_stalled = file_system->large_value_syncs.load() >= 1 &&
                                    store_->GetStats().large_writes_waiting == 2;
  const uint64_t revision_while_stalled = store_->CurrentRevision();
  file_system->stall_large_value_syncs = false;
  caller.join();
  EXPECT_TRUE(callers_returned) << "IngestAsync blocked on a large value's write";
  EXPECT_TRUE(small_committed_meanwhile) << "a small call waited for other users' large values";
  EXPECT_TRUE(large_writes_stalled);
  // Only small-c: small-b stays behind large-b.
  EXPECT_EQ(revision_while_stalled, 1u);

  const std::vector<absl::StatusOr<v1::IngestResponse>>& results = async.Wait();
  std::vector<uint64_t> revisions;
  for (const absl::StatusOr<v1::IngestResponse>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    revisions.push_back(RevisionsOf(*result)[0]);
  }
  EXPECT_EQ(revisions[2], 1u);              // small-c first
  EXPECT_GT(revisions[3], revisions[1]);    // small-b after large-b
  EXPECT_EQ(store_->CurrentRevision(), 4u);
  EXPECT_EQ(store_->GetStats().large_values_written, 2u);
  EXPECT_EQ(store_->GetStats().large_writes_waiting, 0u);
  EXPECT_EQ(MustGetLatest(LatestFor("b")).record_key(), "small-b");
  store_.reset();  // before `env`
}

// Beyond large_write_max_queued calls waiting for the large-value writer a
// call is refused at once (a fast 503 upstream), counted, nothing written.
TEST_F(EventStoreTest, LargeCallsBeyondTheLargeWriteQueueAreRefusedAtOnceWithNothingStored) {
  auto file_system = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  ReopenWith([&](EventStore::Options& options) {
    options.env = env.get();
    options.large_write_threads = 1;
    options.large_write_max_queued = 2;
  });
  const std::string large_json = absl::StrCat("{\"padding\":\"", std::string(2 << 20, 'q'), "\"}");
  file_system->stall_large_value_syncs = true;
  AsyncResults async(2);
  store_->IngestAsync({Sleep("a", "large-a", Night(1), large_json)}, async.For(0));
  store_->IngestAsync({Sleep("b", "large-b", Night(1), large_json)}, async.For(1));
  absl::StatusOr<v1::IngestResponse> third = absl::UnknownError("not answered");
  store_->IngestAsync({Sleep("c", "large-c", Night(1), large_json)},
                      [&](absl::StatusOr<v1::IngestResponse> response) {
                        third = std::move(response);
                      });
  // Answered inside the call (before the stall ends).
  EXPECT_EQ(third.status().code(), absl::StatusCode::kUnavailable) << third.status();
  EXPECT_THAT(std::string(third.status().message()), HasSubstr("large_write_max_queued"));
  EXPECT_EQ(store_->GetStats().large_writes_refused, 1u);
  file_system->stall_large_value_syncs = false;
  const std::vector<absl::StatusOr<v1::IngestResponse>>& results = async.Wait();
  EXPECT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(store_->CurrentRevision(), 2u);
  EXPECT_EQ(store_->GetStats().large_values_written, 2u);
  EXPECT_FALSE(store_->GetLatest(LatestFor("c")).ok());
  store_.reset();  // before `env`
}

// A full disk while a large value is written: the call is Unavailable (503 +
// Retry-After upstream), nothing of it is in the store (no record, no change-
// log entry, no value or key in large_values/large_refs, its bytes nowhere
// on disk), and the store takes the same record once the disk has room.
TEST_F(EventStoreTest, AFullDiskDuringALargeValueWriteStoresNothingAndTheStoreRecovers) {
  auto file_system = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  Reopen(/*sync_writes=*/true, env.get());
  MustIngest({Sleep("u1", "s1", Night(1))});
  const std::string marker = "FULL-DISK-LARGE-VALUE-MARKER";
  const std::string large_json =
      absl::StrCat("{\"note\":\"", marker, "\",\"padding\":\"", std::string(2 << 20, 'f'), "\"}");
  file_system->fail_large_value_writes = true;
  absl::StatusOr<v1::IngestResponse> refused =
      store_->Ingest({Sleep("big", "large-1", Night(1), large_json)});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_FALSE(store_->GetLatest(LatestFor("big")).ok());
  EXPECT_EQ(MustReadChangeLog(0).size(), 1u);
  EXPECT_EQ(store_->GetStats().large_values_written, 0u);
  // Small webhooks are not affected by the failed large write.
  EXPECT_THAT(RevisionsOf(MustIngest({Sleep("u1", "s2", Night(2))})), ElementsAre(2));
  store_.reset();
  {
    absl::StatusOr<testing::DatabaseBytes> bytes = testing::ScanDatabase(path_);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_FALSE(bytes->Contains(marker)) << bytes->WhereIs(marker);
  }
  // Room again: the same delivery is stored, by reference.
  file_system->fail_large_value_writes = false;
  Reopen(/*sync_writes=*/true, env.get());
  const v1::IngestResponse stored = MustIngest({Sleep("big", "large-1", Night(1), large_json)});
  EXPECT_THAT(RevisionsOf(stored), ElementsAre(3));
  EXPECT_EQ(MustGetLatest(LatestFor("big")).raw_json(), large_json);
  EXPECT_EQ(store_->GetStats().large_values_written, 1u);
  store_.reset();  // before `env`
}

// Inline path: while the writer commits, large calls (over 1 MiB of raw
// JSON) queue up: each later group holds one of them, and small calls of
// other users overtake the waiting ones (so a small webhook waits for one
// large commit, not for all); a small call of a user with a waiting large
// call keeps its place behind it.
TEST_F(EventStoreTest, SmallCallsOvertakeWaitingLargeInlineCallsOfOtherUsersButNotTheirOwn) {
  auto file_system = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  // The inline path (large_value_bytes 0, as replicas store): a large call's
  // bytes go into its group's batch.
  Reopen(/*sync_writes=*/true, env.get(), /*large_value_bytes=*/0);
  const std::string large_json = absl::StrCat("{\"padding\":\"", std::string(2 << 20, 'x'), "\"}");
  file_system->stall_wal_syncs = true;
  AsyncResults async(5);
  store_->IngestAsync({Sleep("first", "s0", Night(1))}, async.For(0));  // stalls in the writer
  absl::SleepFor(absl::Milliseconds(300));
  store_->IngestAsync({Sleep("a", "large-a", Night(1), large_json)}, async.For(1));
  store_->IngestAsync({Sleep("b", "large-b", Night(1), large_json)}, async.For(2));
  store_->IngestAsync({Sleep("c", "small-c", Night(1))}, async.For(3));
  store_->IngestAsync({Sleep("b", "small-b", Night(2))}, async.For(4));
  absl::SleepFor(absl::Milliseconds(200));
  file_system->stall_wal_syncs = false;
  const std::vector<absl::StatusOr<v1::IngestResponse>>& results = async.Wait();
  std::vector<uint64_t> revisions;
  for (const absl::StatusOr<v1::IngestResponse>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    revisions.push_back(RevisionsOf(*result)[0]);
  }
  // first, then {large-a, small-c} in one group, then {large-b, small-b}.
  EXPECT_THAT(revisions, ElementsAre(1, 2, 4, 3, 5));
  EXPECT_EQ(results[1]->store_revision(), results[3]->store_revision());
  EXPECT_EQ(results[2]->store_revision(), results[4]->store_revision());
  EXPECT_NE(results[1]->store_revision(), results[2]->store_revision());
  store_.reset();  // before `env`
}

// ---- Change log ------------------------------------------------------------------------

TEST_F(EventStoreTest, ReadChangeLogReturnsExactlyTheCommittedSequence) {
  MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":1}"), Sleep("u2", "s1", Night(1))});
  MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":1}")});  // identical: not logged
  MustIngest({Sleep("u1", "s1", Night(1), "{\"v\":2}")});

  const std::vector<v1::Event> log = MustReadChangeLog(0);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].revision(), 1u);
  EXPECT_EQ(log[0].user().user_id(), "u1");
  EXPECT_EQ(log[1].revision(), 2u);
  EXPECT_EQ(log[1].user().user_id(), "u2");
  EXPECT_EQ(log[2].revision(), 3u);
  EXPECT_EQ(log[2].raw_json(), "{\"v\":2}");
  EXPECT_EQ(log[2].sleep().metadata().summary_id(), "s1");

  const std::vector<v1::Event> tail = MustReadChangeLog(2, /*max=*/1);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].revision(), 2u);
  EXPECT_TRUE(MustReadChangeLog(4).empty());
}

}  // namespace
}  // namespace healthwire

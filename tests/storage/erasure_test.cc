// EraseUser on a real store: what goes (records, index entries, connection
// records, change-log entries; from every column family after compaction,
// and from the WAL), what stays (other people's data, dense revisions), the
// tombstone subscribers get, idempotence, all-or-nothing under a failed
// write, erase_on_deauth, stores written before the user_changes index, and
// the person's backfills and s3_payload fetches (issue 13).
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "storage/event_store.h"
#include "tests/util/database_scan.h"
#include "tests/util/faulty_wal_file_system.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using ::healthwire::testing::DatabaseBytes;
using ::healthwire::testing::FaultyWalFileSystem;
using ::healthwire::testing::ScanDatabase;
using ::healthwire::testing::TempDir;

// Every byte of this person's data carries one of these markers, so a scan
// can look for them anywhere.
constexpr char kErasedUser[] = "erased-user-7f3a";
constexpr char kErasedReference[] = "erased-person-ref";
constexpr char kErasedPayload[] = "ERASED-PAYLOAD-MARKER";
constexpr char kSecondConnection[] = "second-connection-b81e";
constexpr char kSecondPayload[] = "SECOND-CONNECTION-MARKER";
constexpr char kKeptUser[] = "kept-user-19c2";
constexpr char kKeptPayload[] = "KEPT-PAYLOAD-MARKER";

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

google::protobuf::Timestamp Now() {
  google::protobuf::Timestamp t;
  t.set_seconds(absl::ToUnixSeconds(absl::Now()));
  return t;
}

v1::Event Sleep(const std::string& user, const std::string& reference, int n,
                const std::string& marker) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.mutable_user()->set_user_id(user);
  if (!reference.empty()) event.mutable_user()->set_reference_id(reference);
  event.set_record_key(absl::StrCat("sleep-", n));
  event.set_start_time(absl::StrCat("2026-07-0", 1 + n % 9, "T23:00:00.000000+01:00"));
  event.set_raw_json(absl::StrCat("{\"n\":", n, ",\"note\":\"", marker, "\"}"));
  *event.mutable_received_at() = Now();
  return event;
}

v1::Event Activity(const std::string& user, const std::string& reference, int n,
                   const std::string& marker) {
  v1::Event event = Sleep(user, reference, n, marker);
  event.set_type(v1::EVENT_TYPE_ACTIVITY);
  event.set_terra_type("activity");
  event.set_record_key(absl::StrCat("activity-", n));
  return event;
}

v1::Event Connection(v1::EventType type, const std::string& terra_type, const std::string& user,
                     const std::string& reference, const std::string& marker) {
  v1::Event event;
  event.set_type(type);
  event.set_terra_type(terra_type);
  event.mutable_user()->set_user_id(user);
  event.mutable_user()->set_provider("GARMIN");
  if (!reference.empty()) event.mutable_user()->set_reference_id(reference);
  event.set_record_key(absl::StrCat(terra_type, "-", user));
  event.set_raw_json(absl::StrCat("{\"type\":\"", terra_type, "\",\"m\":\"", marker, "\"}"));
  *event.mutable_received_at() = Now();
  return event;
}

std::unique_ptr<EventStore> Open(const EventStore::Options& options) {
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Two people: the one to erase (two connections under one reference_id:
// sleep, activity, auth) and one to keep. Returns the store revision.
uint64_t IngestTwoPeople(EventStore& store) {
  EXPECT_TRUE(store
                  .Ingest({Connection(v1::EVENT_TYPE_AUTH, "auth", kErasedUser, kErasedReference,
                                      kErasedPayload)})
                  .ok());
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(store.Ingest({Sleep(kErasedUser, kErasedReference, i, kErasedPayload)}).ok());
    EXPECT_TRUE(store.Ingest({Sleep(kKeptUser, "", i, kKeptPayload)}).ok());
  }
  EXPECT_TRUE(
      store.Ingest({Activity(kErasedUser, kErasedReference, 1, kErasedPayload),
                    Activity(kSecondConnection, kErasedReference, 2, kSecondPayload)})
          .ok());
  // A new version of an erased record: two change-log entries for one record.
  v1::Event newer = Sleep(kErasedUser, kErasedReference, 1, kErasedPayload);
  newer.set_raw_json(absl::StrCat("{\"n\":1,\"v\":2,\"note\":\"", kErasedPayload, "\"}"));
  EXPECT_TRUE(store.Ingest({newer}).ok());
  EXPECT_TRUE(store.Ingest({Activity(kKeptUser, "", 9, kKeptPayload)}).ok());
  return store.CurrentRevision();
}

std::vector<v1::Event> WholeChangeLog(const EventStore& store) {
  std::vector<v1::Event> events;
  EXPECT_TRUE(store.ReadChangeLog(1, 100000, &events).ok());
  return events;
}

DatabaseBytes Scan(const std::string& path) {
  absl::StatusOr<DatabaseBytes> bytes = ScanDatabase(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *std::move(bytes) : DatabaseBytes();
}

TEST(ErasureTest, ErasedUserIsNotFoundByAnyReadAndOtherPeopleAreUntouched) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  absl::StatusOr<LatestResult> kept_before =
      store->GetLatest({StoreSubject::UserId(kKeptUser), v1::EVENT_TYPE_SLEEP});
  ASSERT_TRUE(kept_before.ok());

  absl::StatusOr<EventStore::EraseResult> erased =
      store->EraseUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->response.records_erased(), 5u);  // 3 sleeps, 1 activity, the auth event
  EXPECT_EQ(erased->response.changes_erased(), 6u);  // auth, 3 sleeps, activity, newer sleep
  EXPECT_EQ(erased->response.connections_erased(), 1u);
  EXPECT_TRUE(erased->response.compacted()) << erased->response.compaction_error();

  for (v1::EventType type : {v1::EVENT_TYPE_SLEEP, v1::EVENT_TYPE_ACTIVITY}) {
    EXPECT_EQ(store->GetLatest({StoreSubject::UserId(kErasedUser), type}).status().code(),
              absl::StatusCode::kNotFound);
    ListQuery list;
    list.subject = StoreSubject::UserId(kErasedUser);
    list.type = type;
    absl::StatusOr<ListResult> listed = store->ListRecords(list);
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->events.empty());
  }
  EXPECT_EQ(store->GetUser(StoreSubject::UserId(kErasedUser)).status().code(),
            absl::StatusCode::kNotFound);
  // The other connection under the same reference_id was not asked for.
  EXPECT_TRUE(store
                  ->GetLatest({StoreSubject::UserId(kSecondConnection),
                               v1::EVENT_TYPE_ACTIVITY})
                  .ok());

  absl::StatusOr<LatestResult> kept_after =
      store->GetLatest({StoreSubject::UserId(kKeptUser), v1::EVENT_TYPE_SLEEP});
  ASSERT_TRUE(kept_after.ok());
  EXPECT_EQ(kept_after->event.SerializeAsString(), kept_before->event.SerializeAsString());
  EXPECT_TRUE(store->GetUser(StoreSubject::UserId(kKeptUser)).ok());
}

TEST(ErasureTest, ReplayFromRevisionOneIsDenseAndHoldsNoByteOfTheErasedData) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  const uint64_t before = IngestTwoPeople(*store);
  absl::StatusOr<EventStore::EraseResult> erased =
      store->EraseUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->response.tombstone_revision(), before + 1);
  EXPECT_EQ(store->CurrentRevision(), before + 1);

  const std::vector<v1::Event> log = WholeChangeLog(*store);
  ASSERT_EQ(log.size(), before + 1);
  int placeholders = 0, kept = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].revision(), i + 1) << "revisions must stay dense";
    const std::string bytes = log[i].SerializeAsString();
    EXPECT_FALSE(absl::StrContains(bytes, kErasedPayload)) << "revision " << log[i].revision();
    EXPECT_FALSE(absl::StrContains(bytes, kErasedUser)) << "revision " << log[i].revision();
    // (The reference_id stays: the person's second connection was not asked for.)
    if (log[i].type() == v1::EVENT_TYPE_ERASED) {
      ++placeholders;
      EXPECT_EQ(log[i].erasure().tombstone_revision(), before + 1);
      EXPECT_TRUE(log[i].raw_json().empty());
    }
    if (absl::StrContains(bytes, kKeptPayload)) ++kept;
  }
  EXPECT_EQ(placeholders, 6);
  EXPECT_EQ(kept, 4) << "the other person's changes are all still there";

  const v1::Event& tombstone = log.back();
  EXPECT_EQ(tombstone.type(), v1::EVENT_TYPE_ERASURE);
  EXPECT_EQ(tombstone.erasure().subject_kind(), v1::Erasure::SUBJECT_KIND_USER_ID);
  EXPECT_EQ(tombstone.erasure().subject_sha256(), Sha256Hex(kErasedUser));
  ASSERT_EQ(tombstone.erasure().user_id_sha256_size(), 1);
  EXPECT_EQ(tombstone.erasure().user_id_sha256(0), Sha256Hex(kErasedUser));
  EXPECT_EQ(tombstone.erasure().records_erased(), 5u);
  EXPECT_EQ(tombstone.erasure().trigger(), v1::Erasure::TRIGGER_ERASE_USER);
  EXPECT_FALSE(tombstone.has_user());
}

TEST(ErasureTest, AFullDatabaseScanAfterCompactionFindsNoIdOrPayloadOfThePerson) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  {
    auto store = Open(options);
    IngestTwoPeople(*store);
    // Some of the data in SST files (also bottommost ones) before the
    // erasure, some only in the memtable and the WAL.
    ASSERT_TRUE(store->CreateCheckpoint("before").ok());  // flushes the memtables
    ASSERT_TRUE(store->Ingest({Sleep(kErasedUser, kErasedReference, 7, kErasedPayload)}).ok());
    absl::StatusOr<EventStore::EraseResult> erased =
        store->EraseUser(StoreSubject::ReferenceId(kErasedReference));
    ASSERT_TRUE(erased.ok()) << erased.status();
    EXPECT_TRUE(erased->response.compacted()) << erased->response.compaction_error();
    EXPECT_EQ(erased->response.connections_erased(), 2u);
  }
  const DatabaseBytes bytes = Scan(dir.path());
  EXPECT_GE(bytes.family_names.size(), 10u);  // default + the store's nine
  // The scan does see data: the person kept is all there.
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values, kKeptPayload));
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values, kKeptUser));
  EXPECT_TRUE(absl::StrContains(bytes.sst_files, kKeptPayload));
  for (const char* needle :
       {kErasedUser, kErasedReference, kErasedPayload, kSecondConnection, kSecondPayload}) {
    EXPECT_FALSE(absl::StrContains(bytes.keys_and_values, needle)) << needle;
    EXPECT_FALSE(absl::StrContains(bytes.sst_files, needle)) << needle << " in an SST file";
    // The WAL files that held it were made obsolete by the flush and deleted.
    EXPECT_FALSE(absl::StrContains(bytes.wal_files, needle)) << needle << " in the WAL";
  }
  // A checkpoint taken before keeps the data (README says so).
  const DatabaseBytes checkpoint = Scan(dir.path() + ".checkpoints/before");
  EXPECT_TRUE(absl::StrContains(checkpoint.keys_and_values, kErasedPayload));
}

// The same with large records (over large_value_bytes: raw JSON stored once
// in `large_values`, referenced from the record and its change-log entry,
// storage/large_values.h): after the erasure no byte of the person's large
// values, nor their commit keys (which name the record), is in any family
// (large_values and large_refs included), any SST file or the WAL; the kept
// person's large record stays whole.
TEST(ErasureTest, AFullDatabaseScanAfterCompactionFindsNoByteOfThePersonsLargeRecords) {
  const TempDir dir("erasure-large");
  EventStore::Options options;
  options.path = dir.path();
  const std::string padding(2 << 20, 'L');
  auto large = [&](const std::string& user, const std::string& reference, int n,
                   const std::string& marker) {
    v1::Event event = Sleep(user, reference, n, marker);
    event.set_raw_json(absl::StrCat("{\"n\":", n, ",\"note\":\"", marker, "\",\"pad\":\"",
                                    padding, "\"}"));
    return event;
  };
  {
    auto store = Open(options);
    ASSERT_TRUE(store->Ingest({large(kErasedUser, kErasedReference, 1, kErasedPayload)}).ok());
    ASSERT_TRUE(store->Ingest({large(kKeptUser, "", 1, kKeptPayload)}).ok());
    // A second large version: the first is referenced by its entry only.
    v1::Event newer = large(kErasedUser, kErasedReference, 1, kErasedPayload);
    newer.set_raw_json(absl::StrCat("{\"v\":2,\"note\":\"", kErasedPayload, "\",\"pad\":\"",
                                    padding, "\"}"));
    ASSERT_TRUE(store->Ingest({newer}).ok());
    ASSERT_TRUE(store->CreateCheckpoint("before").ok());  // flushes the memtables
    ASSERT_TRUE(
        store->Ingest({large(kSecondConnection, kErasedReference, 2, kSecondPayload)}).ok());
    EXPECT_EQ(store->GetStats().large_values_written, 4u);
    absl::StatusOr<EventStore::EraseResult> erased =
        store->EraseUser(StoreSubject::ReferenceId(kErasedReference));
    ASSERT_TRUE(erased.ok()) << erased.status();
    EXPECT_TRUE(erased->response.compacted()) << erased->response.compaction_error();
    EXPECT_EQ(store->GetStats().large_values_collected, 3u);
  }
  const DatabaseBytes bytes = Scan(dir.path());
  EXPECT_TRUE(std::find(bytes.family_names.begin(), bytes.family_names.end(), "large_values") !=
              bytes.family_names.end());
  EXPECT_TRUE(std::find(bytes.family_names.begin(), bytes.family_names.end(), "large_refs") !=
              bytes.family_names.end());
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values, kKeptPayload));
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values,
                                absl::StrCat(kKeptPayload, "\",\"pad\":\"", padding, "\"}")));
  for (const char* needle :
       {kErasedUser, kErasedReference, kErasedPayload, kSecondConnection, kSecondPayload}) {
    EXPECT_FALSE(absl::StrContains(bytes.keys_and_values, needle)) << needle;
    EXPECT_FALSE(absl::StrContains(bytes.sst_files, needle)) << needle << " in an SST file";
    EXPECT_FALSE(absl::StrContains(bytes.wal_files, needle)) << needle << " in the WAL";
  }
}

// An s3_payload ping of `user` (empty: a ping that names nobody) whose URL
// carries `marker`.
v1::Event Ping(const std::string& user, int n, const std::string& marker) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_S3_PAYLOAD);
  event.set_terra_type("s3_payload");
  event.mutable_user()->set_user_id(user);
  event.set_record_key(absl::StrCat("s3_payload-", n));
  event.mutable_connection()->set_url(
      absl::StrCat("https://s3.example/", marker, "/", n, "?X-Amz-Signature=secret"));
  event.mutable_connection()->set_expires_in(300);
  event.set_raw_json(absl::StrCat("{\"type\":\"s3_payload\",\"n\":", n, "}"));
  event.set_trace_id(absl::StrCat("ping-trace-", n));
  *event.mutable_received_at() = Now();
  return event;
}

// large_request_sending of `user` for backfill `reference`, expecting 2.
v1::Event Sending(const std::string& user, const std::string& reference) {
  v1::Event event = Connection(v1::EVENT_TYPE_LARGE_REQUEST_SENDING, "large_request_sending",
                               user, user == kErasedUser ? kErasedReference : "", "sending");
  event.set_record_key(absl::StrCat("large_request_sending-", reference));
  event.mutable_connection()->set_reference(reference);
  event.mutable_connection()->set_expected_payloads(2);
  return event;
}

// The fetched body of ping `ping_revision`: a chunk of backfill `reference`
// (numbered by the ping, so two pings are two chunks).
v1::Event FetchedChunk(const v1::Event& sleep, uint64_t ping_revision,
                       const std::string& reference) {
  v1::Event event = sleep;
  event.set_s3_ping_revision(ping_revision);
  event.set_terra_reference(reference);
  event.set_trace_id(absl::StrCat("chunk-trace:chunk:", ping_revision));
  return event;
}

std::vector<v1::S3Fetch> AllFetches(const EventStore& store) {
  absl::StatusOr<FetchListResult> listed = store.ListS3Fetches(FetchListQuery());
  EXPECT_TRUE(listed.ok()) << listed.status();
  return listed.ok() ? listed->fetches : std::vector<v1::S3Fetch>();
}

TEST(ErasureTest, ThePersonsBackfillsAndFetchesGoFromEveryColumnFamilyAndOthersStay) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  constexpr char kErasedBackfill[] = "erased-backfill-0c1d";
  constexpr char kKeptBackfill[] = "kept-backfill-5e6f";
  constexpr char kErasedUrl[] = "ERASED-URL-MARKER";
  uint64_t kept_ping = 0;
  {
    auto store = Open(options);
    IngestTwoPeople(*store);
    // The person: a ping naming them, one naming nobody whose fetched body
    // is theirs, and a backfill whose first chunk came through the first ping.
    absl::StatusOr<v1::IngestResponse> pings =
        store->Ingest({Ping(kErasedUser, 1, kErasedUrl), Ping("", 2, "anonymous")});
    ASSERT_TRUE(pings.ok()) << pings.status();
    const uint64_t named_ping = pings->results(0).revision();
    const uint64_t anonymous_ping = pings->results(1).revision();
    ASSERT_TRUE(store->Ingest({Sending(kErasedUser, kErasedBackfill)}).ok());
    // Some of it in SST files before the erasure.
    ASSERT_TRUE(store->CreateCheckpoint("before").ok());
    v1::S3Fetch fetched;
    fetched.set_ping_revision(named_ping);
    fetched.set_state(v1::S3Fetch::STATE_FETCHED);
    ASSERT_TRUE(store
                    ->IngestFetched({FetchedChunk(Sleep(kErasedUser, kErasedReference, 8,
                                                        kErasedPayload),
                                                  named_ping, kErasedBackfill)},
                                    fetched)
                    .ok());
    fetched.set_ping_revision(anonymous_ping);
    ASSERT_TRUE(store
                    ->IngestFetched({FetchedChunk(Sleep(kErasedUser, kErasedReference, 9,
                                                        kErasedPayload),
                                                  anonymous_ping, kErasedBackfill)},
                                    fetched)
                    .ok());
    // The person kept: their own ping (left pending) and backfill.
    absl::StatusOr<v1::IngestResponse> kept =
        store->Ingest({Ping(kKeptUser, 3, "kept-url"), Sending(kKeptUser, kKeptBackfill)});
    ASSERT_TRUE(kept.ok()) << kept.status();
    kept_ping = kept->results(0).revision();
    ASSERT_EQ(AllFetches(*store).size(), 3u);
    absl::StatusOr<BackfillResult> before = store->GetBackfill(kErasedBackfill);
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_EQ(before->backfills.at(0).received_payloads(), 2);

    absl::StatusOr<EventStore::EraseResult> erased =
        store->EraseUser(StoreSubject::UserId(kErasedUser));
    ASSERT_TRUE(erased.ok()) << erased.status();
    EXPECT_EQ(erased->response.backfills_erased(), 1u);
    EXPECT_EQ(erased->response.fetches_erased(), 2u);
    EXPECT_TRUE(erased->response.compacted()) << erased->response.compaction_error();

    EXPECT_EQ(store->GetBackfill(kErasedBackfill).status().code(), absl::StatusCode::kNotFound);
    absl::StatusOr<BackfillResult> listed = store->ListBackfills(StoreSubject::UserId(kErasedUser));
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->backfills.empty());
    const std::vector<v1::S3Fetch> fetches = AllFetches(*store);
    ASSERT_EQ(fetches.size(), 1u);
    EXPECT_EQ(fetches[0].ping_revision(), kept_ping);
    EXPECT_EQ(fetches[0].state(), v1::S3Fetch::STATE_PENDING);
    EXPECT_TRUE(store->GetBackfill(kKeptBackfill).ok());

    // A fetcher still holding the erased ping cannot bring it back.
    fetched.set_ping_revision(named_ping);
    const uint64_t revision = store->CurrentRevision();
    absl::StatusOr<v1::IngestResponse> late = store->IngestFetched(
        {FetchedChunk(Sleep(kErasedUser, kErasedReference, 7, kErasedPayload), named_ping,
                      kErasedBackfill)},
        fetched);
    EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition) << late.status();
    EXPECT_EQ(store->CurrentRevision(), revision) << "nothing of the refused outcome was written";
    EXPECT_EQ(AllFetches(*store).size(), 1u);
  }
  const DatabaseBytes bytes = Scan(dir.path());
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values, kKeptBackfill));
  EXPECT_TRUE(absl::StrContains(bytes.keys_and_values, "kept-url"));
  for (const char* needle :
       {kErasedUser, kErasedPayload, kErasedUrl, kErasedBackfill}) {
    // (kErasedReference stays: the second connection under it was not erased.)
    EXPECT_FALSE(absl::StrContains(bytes.keys_and_values, needle)) << needle;
    EXPECT_FALSE(absl::StrContains(bytes.sst_files, needle)) << needle << " in an SST file";
    EXPECT_FALSE(absl::StrContains(bytes.wal_files, needle)) << needle << " in the WAL";
  }
}

TEST(ErasureTest, ASecondErasureRemovesNothingAndWritesNoRevision) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  ASSERT_TRUE(store->EraseUser(StoreSubject::UserId(kErasedUser)).ok());
  const uint64_t revision = store->CurrentRevision();
  absl::StatusOr<EventStore::EraseResult> again =
      store->EraseUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->response.records_erased(), 0u);
  EXPECT_EQ(again->response.changes_erased(), 0u);
  EXPECT_EQ(again->response.connections_erased(), 0u);
  EXPECT_EQ(again->response.tombstone_revision(), 0u);
  EXPECT_EQ(again->response.store_revision(), revision);
  EXPECT_EQ(store->CurrentRevision(), revision);
  // Someone the store never heard of: the same.
  absl::StatusOr<EventStore::EraseResult> stranger =
      store->EraseUser(StoreSubject::UserId("never-seen"));
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(stranger->response.tombstone_revision(), 0u);
  EXPECT_EQ(store->GetStats().erasures, 1u);
}

TEST(ErasureTest, ASubjectWithoutAnIdIsInvalidArgument) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  EXPECT_EQ(store->EraseUser(StoreSubject()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->EraseUser(StoreSubject::UserId("")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ErasureTest, EraseByReferenceErasesEveryConnectionOfThatPerson) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  absl::StatusOr<EventStore::EraseResult> erased =
      store->EraseUser(StoreSubject::ReferenceId(kErasedReference));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->response.records_erased(), 6u);
  EXPECT_EQ(erased->response.connections_erased(), 2u);
  EXPECT_EQ(store->GetUser(StoreSubject::ReferenceId(kErasedReference)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetLatest({StoreSubject::ReferenceId(kErasedReference), v1::EVENT_TYPE_SLEEP})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store
                ->GetLatest({StoreSubject::UserId(kSecondConnection),
                             v1::EVENT_TYPE_ACTIVITY})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  const v1::Event tombstone = WholeChangeLog(*store).back();
  EXPECT_EQ(tombstone.erasure().subject_kind(), v1::Erasure::SUBJECT_KIND_REFERENCE_ID);
  EXPECT_EQ(tombstone.erasure().subject_sha256(), Sha256Hex(kErasedReference));
  EXPECT_EQ(tombstone.erasure().user_id_sha256_size(), 2);
  EXPECT_TRUE(store->GetLatest({StoreSubject::UserId(kKeptUser), v1::EVENT_TYPE_ACTIVITY}).ok());
}

TEST(ErasureTest, TheTombstoneIsPublishedToSubscribersOfThatPersonAndOfEverything) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  SubscriptionHub* hub = store->subscription_hub();
  StreamFilter of_person;
  of_person.user_ids.insert(kErasedUser);
  StreamFilter of_other;
  of_other.user_ids.insert(kKeptUser);
  auto person = hub->Subscribe(of_person, std::nullopt, [] {});
  auto everything = hub->Subscribe(StreamFilter{}, std::nullopt, [] {});
  auto other = hub->Subscribe(of_other, std::nullopt, [] {});

  ASSERT_TRUE(store->EraseUser(StoreSubject::UserId(kErasedUser)).ok());
  for (const auto& subscription : {person, everything}) {
    Subscription::Next next = subscription->Poll();
    ASSERT_EQ(next.kind, Subscription::Next::Kind::kUpdate);
    EXPECT_EQ(next.update->event().type(), v1::EVENT_TYPE_ERASURE);
    EXPECT_EQ(next.update->event().erasure().user_id_sha256(0), Sha256Hex(kErasedUser));
    EXPECT_EQ(subscription->Poll().kind, Subscription::Next::Kind::kNothing);
  }
  EXPECT_EQ(other->Poll().kind, Subscription::Next::Kind::kNothing);
  for (const auto& subscription : {person, everything, other}) hub->Unsubscribe(subscription);
}

TEST(ErasureTest, AFailedWriteLeavesEverythingAsItWasAndARetrySucceeds) {
  auto faulty = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(faulty);
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  options.env = env.get();
  options.write_recovery_interval = absl::Milliseconds(50);
  std::vector<std::string> log_before;
  uint64_t revision = 0;
  {
    auto store = Open(options);
    revision = IngestTwoPeople(*store);
    for (const v1::Event& event : WholeChangeLog(*store)) {
      log_before.push_back(event.SerializeAsString());
    }
    faulty->fail_wal_writes = true;
    absl::StatusOr<EventStore::EraseResult> failed =
        store->EraseUser(StoreSubject::UserId(kErasedUser));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
    EXPECT_EQ(store->CurrentRevision(), revision);
    EXPECT_TRUE(store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP}).ok());
    EXPECT_TRUE(store->GetUser(StoreSubject::UserId(kErasedUser)).ok());
  }
  // Reopened (as after a crash at that moment): all of it is there, none of
  // the erasure.
  faulty->fail_wal_writes = false;
  {
    auto store = Open(options);
    EXPECT_EQ(store->CurrentRevision(), revision);
    std::vector<std::string> log_after;
    for (const v1::Event& event : WholeChangeLog(*store)) {
      log_after.push_back(event.SerializeAsString());
    }
    EXPECT_EQ(log_after, log_before);
    EXPECT_TRUE(store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP}).ok());
    absl::StatusOr<EventStore::EraseResult> retried =
        store->EraseUser(StoreSubject::UserId(kErasedUser));
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_EQ(retried->response.tombstone_revision(), revision + 1);
    EXPECT_EQ(retried->response.records_erased(), 5u);
    EXPECT_EQ(store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP})
                  .status()
                  .code(),
              absl::StatusCode::kNotFound);
  }
}

TEST(ErasureTest, EraseOnDeauthErasesTheConnectionsDataInTheSameCommit) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  options.erase_on_deauth = true;
  auto store = Open(options);
  IngestTwoPeople(*store);
  auto subscription = store->subscription_hub()->Subscribe(StreamFilter{}, std::nullopt, [] {});
  const uint64_t before = store->CurrentRevision();
  absl::StatusOr<v1::IngestResponse> deauth = store->Ingest(
      {Connection(v1::EVENT_TYPE_DEAUTH, "deauth", kErasedUser, kErasedReference, kErasedPayload)});
  ASSERT_TRUE(deauth.ok()) << deauth.status();
  EXPECT_EQ(deauth->store_revision(), before + 2);  // the deauth, then the tombstone

  EXPECT_EQ(store->GetUser(StoreSubject::UserId(kErasedUser)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  const std::vector<v1::Event> log = WholeChangeLog(*store);
  for (const v1::Event& event : log) {
    EXPECT_FALSE(absl::StrContains(event.SerializeAsString(), kErasedPayload))
        << "revision " << event.revision();
  }
  ASSERT_EQ(log.size(), before + 2);
  EXPECT_EQ(log[before].type(), v1::EVENT_TYPE_ERASED);  // the deauth itself held data
  EXPECT_EQ(log.back().type(), v1::EVENT_TYPE_ERASURE);
  EXPECT_EQ(log.back().erasure().trigger(), v1::Erasure::TRIGGER_DEAUTH);

  // Subscribers of that commit got the placeholder and the tombstone only.
  Subscription::Next first = subscription->Poll();
  Subscription::Next second = subscription->Poll();
  ASSERT_EQ(first.kind, Subscription::Next::Kind::kUpdate);
  ASSERT_EQ(second.kind, Subscription::Next::Kind::kUpdate);
  EXPECT_EQ(first.update->event().type(), v1::EVENT_TYPE_ERASED);
  EXPECT_EQ(second.update->event().type(), v1::EVENT_TYPE_ERASURE);
  store->subscription_hub()->Unsubscribe(subscription);
  EXPECT_TRUE(store->GetLatest({StoreSubject::UserId(kKeptUser), v1::EVENT_TYPE_SLEEP}).ok());
}

TEST(ErasureTest, WithoutEraseOnDeauthADeauthKeepsTheData) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  ASSERT_TRUE(store
                  ->Ingest({Connection(v1::EVENT_TYPE_DEAUTH, "deauth", kErasedUser,
                                       kErasedReference, kErasedPayload)})
                  .ok());
  EXPECT_TRUE(store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP}).ok());
  absl::StatusOr<UserResult> user = store->GetUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->connections[0].status(), v1::Connection::STATUS_DEAUTHORIZED);
}

TEST(ErasureTest, DataArrivingAfterAnErasureIsStoredAgain) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  auto store = Open(options);
  IngestTwoPeople(*store);
  ASSERT_TRUE(store->EraseUser(StoreSubject::UserId(kErasedUser)).ok());
  absl::StatusOr<v1::IngestResponse> again =
      store->Ingest({Sleep(kErasedUser, kErasedReference, 1, "new")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->results(0).outcome(), v1::IngestResult::OUTCOME_STORED);
  absl::StatusOr<LatestResult> latest =
      store->GetLatest({StoreSubject::UserId(kErasedUser), v1::EVENT_TYPE_SLEEP});
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(absl::StrContains(latest->event.raw_json(), "new"));
  // And that new data is erasable in turn (its change is indexed by user).
  absl::StatusOr<EventStore::EraseResult> erased =
      store->EraseUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased->response.records_erased(), 1u);
  EXPECT_EQ(erased->response.changes_erased(), 1u);
}

TEST(ErasureTest, AStoreWrittenBeforeTheUserIndexIsIndexedAtOpenAndErasable) {
  const TempDir dir("erasure");
  EventStore::Options options;
  options.path = dir.path();
  uint64_t revision = 0;
  {
    auto store = Open(options);
    revision = IngestTwoPeople(*store);
  }
  {
    // Make it look like a store of the version before: no user_changes
    // entries, no marker.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "user_changes") {
        ASSERT_TRUE(db->DeleteRange(rocksdb::WriteOptions(), handles[i], "", "\xff\xff\xff").ok());
      }
      if (names[i] == "meta") {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "user_changes_indexed").ok());
      }
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles) db->DestroyColumnFamilyHandle(handle);
  }
  auto store = Open(options);
  EXPECT_EQ(store->CurrentRevision(), revision);
  absl::StatusOr<EventStore::EraseResult> erased =
      store->EraseUser(StoreSubject::UserId(kErasedUser));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->response.changes_erased(), 6u);
  for (const v1::Event& event : WholeChangeLog(*store)) {
    EXPECT_FALSE(absl::StrContains(event.SerializeAsString(), kErasedPayload));
  }
}

}  // namespace
}  // namespace healthwire

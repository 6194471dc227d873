// Ids longer than kMaxIdBytes are InvalidArgument, and error messages quote
// only a short prefix of an id (an 8 KB user_id echoed into a NotFound
// message once turned it into RESOURCE_EXHAUSTED at the gRPC layer).
#include "storage/id_limits.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;

class IdLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/id_limits_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    EventStore::Options options;
    options.path = path_;
    options.block_cache_bytes = 8 << 20;
    absl::StatusOr<std::unique_ptr<EventStore>> opened = EventStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  std::string path_;
  std::unique_ptr<EventStore> store_;
};

TEST(QuoteIdTest, QuotesShortIdsWholeAndLongOnesByPrefixAndLength) {
  EXPECT_EQ(QuoteId("abc"), "\"abc\"");
  const std::string long_id(8192, 'x');
  const std::string quoted = QuoteId(long_id);
  EXPECT_EQ(quoted, absl::StrCat("\"", std::string(kQuotedIdPrefixBytes, 'x'), "...\" (8192 bytes)"));
  EXPECT_LT(quoted.size(), 100u);
}

TEST_F(IdLimitsTest, AQueryWithAnOverlongUserIdIsInvalidArgumentQuotingAPrefix) {
  LatestQuery query;
  query.subject = StoreSubject::UserId(std::string(kMaxIdBytes + 1, 'u'));
  query.type = v1::EVENT_TYPE_SLEEP;
  const absl::Status status = store_->GetLatest(query).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("subject.user_id: at most ", kMaxIdBytes, " bytes")));
  EXPECT_LT(status.message().size(), 200u);

  ListQuery list;
  list.subject = StoreSubject::ReferenceId(std::string(kMaxIdBytes + 1, 'r'));
  list.type = v1::EVENT_TYPE_SLEEP;
  EXPECT_EQ(store_->ListRecords(list).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetUser(StoreSubject::UserId(std::string(kMaxIdBytes + 1, 'u')))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(IdLimitsTest, AnIdOfExactlyTheMaximumIsAcceptedAndNotFoundQuotesAPrefix) {
  LatestQuery query;
  query.subject = StoreSubject::UserId(std::string(kMaxIdBytes, 'u'));
  query.type = v1::EVENT_TYPE_SLEEP;
  const absl::Status status = store_->GetLatest(query).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("(", kMaxIdBytes, " bytes)")));
  EXPECT_LT(status.message().size(), 200u);
}

// The hostile corpus documents a 1 MiB user_id webhook as stored (200):
// the limit is for queries, and its messages stay short.
TEST_F(IdLimitsTest, AnEventWithAnOverlongIdIsStillStored) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_record_key("s1");
  event.mutable_user()->set_user_id("u1");
  event.mutable_user()->set_reference_id(std::string(kMaxIdBytes + 1, 'r'));
  EXPECT_TRUE(store_->Ingest({event}).ok());
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

}  // namespace
}  // namespace healthwire

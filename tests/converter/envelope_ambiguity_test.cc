// Specification of how ConvertTerraWebhook reads member names (issue 10):
// one meaning for an escaped name everywhere, a clear 400 for a name given
// twice where it would decide which record, user or key is meant, and the same
// rule for every number beyond a double.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/convert/terra_converter.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kRecordA =
    R"({"metadata":{"summary_id":"A","name":"first","start_time":"2026-07-01T07:00:00Z"}})";
constexpr absl::string_view kRecordB =
    R"({"metadata":{"summary_id":"B","name":"second","start_time":"2026-07-01T08:00:00Z"}})";

absl::StatusOr<ConvertedWebhook> Convert(absl::string_view body) {
  return ConvertTerraWebhook(body, DeliveryContext());
}

void ExpectRefused(absl::string_view body, absl::string_view message) {
  absl::StatusOr<ConvertedWebhook> converted = Convert(body);
  ASSERT_FALSE(converted.ok()) << "converted to " << converted->events.size() << " events";
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(converted.status().message()), HasSubstr(std::string(message)));
}

TEST(EscapedNameTest, EscapedDataIsTheDataArray) {
  const std::string body =
      absl::StrCat(R"({"type":"activity","user":{"user_id":"u1"},"d\u0061ta":[)", kRecordA, "]}");
  absl::StatusOr<ConvertedWebhook> converted = Convert(body);
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_EQ(converted->events.size(), 1u);
  EXPECT_EQ(converted->events[0].record_key(), "A");
  EXPECT_EQ(converted->events[0].raw_json(), kRecordA);
  EXPECT_EQ(converted->events[0].activity().metadata().name(), "first");
}

TEST(EscapedNameTest, EscapedAthleteIsTheAthleteObject) {
  const std::string athlete = R"({"first_name":"Ann","gender":"f"})";
  const std::string body =
      absl::StrCat(R"({"type":"athlete","user":{"user_id":"u1"},"\u0061thlete":)", athlete, "}");
  absl::StatusOr<ConvertedWebhook> converted = Convert(body);
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_EQ(converted->events.size(), 1u);
  EXPECT_EQ(converted->events[0].raw_json(), athlete);
  EXPECT_EQ(converted->events[0].athlete().first_name(), "Ann");
}

TEST(EscapedNameTest, EscapedKeyPathMembersAreTheKey) {
  const std::string record = R"({"m\u0065tadata":{"summary\u005fid":"esc","n\u0061me":"Run"}})";
  const std::string body = absl::StrCat(R"({"\u0074ype":"activity","user":{"user\u005fid":"u1"},)",
                                        R"("data":[)", record, "]}");
  absl::StatusOr<ConvertedWebhook> converted = Convert(body);
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_EQ(converted->events.size(), 1u);
  const v1::Event& event = converted->events[0];
  EXPECT_EQ(event.record_key(), "esc");
  EXPECT_EQ(event.user().user_id(), "u1");
  EXPECT_EQ(event.activity().metadata().summary_id(), "esc");
  EXPECT_EQ(event.activity().metadata().name(), "Run");
  EXPECT_EQ(event.raw_json(), record);
  EXPECT_EQ(event.conversion_problems_size(), 0);
}

TEST(DuplicateNameTest, DataTwiceOnceEscapedIsRefused) {
  ExpectRefused(absl::StrCat(R"({"type":"activity","user":{"user_id":"u1"},"d\u0061ta":[)",
                             kRecordA, R"(],"data":[)", kRecordB, "]}"),
                "duplicate key `data` in the envelope");
}

TEST(DuplicateNameTest, AnyEnvelopeMemberTwiceIsRefusedWhateverTheType) {
  ExpectRefused(R"({"type":"activity","type":"sleep","user":{"user_id":"u1"},"data":[]})",
                "duplicate key `type` in the envelope");
  ExpectRefused(R"({"type":"athlete","user":{"user_id":"u1"},"athlete":{},"athlete":{}})",
                "duplicate key `athlete` in the envelope");
  ExpectRefused(R"({"type":"glucose_alert","level":1,"level":2})",
                "duplicate key `level` in the envelope");
}

TEST(DuplicateNameTest, SummaryIdTwiceIsRefusedNamingTheRecordAndThePath) {
  ExpectRefused(R"({"type":"activity","user":{"user_id":"u1"},"data":[)"
                R"({"metadata":{"summary_id":"A"}},)"
                R"({"metadata":{"summary_id":"FIRST","summary_id":"SECOND"}}]})",
                "data[1]: activity record has a duplicate key `metadata.summary_id`");
}

TEST(DuplicateNameTest, EveryMemberOnTheWayToAKeyCounts) {
  ExpectRefused(R"({"type":"activity","user":{"user_id":"u1"},"data":[)"
                R"({"metadata":{"summary_id":"A"},"metadata":{"summary_id":"B"}}]})",
                "activity record has a duplicate key `metadata`");
  // sleep's fallback key, even when summary_id is there.
  ExpectRefused(R"({"type":"sleep","user":{"user_id":"u1"},"data":[)"
                R"({"metadata":{"summary_id":"A","start_time":"x","start_time":"y"}}]})",
                "sleep record has a duplicate key `metadata.start_time`");
  ExpectRefused(R"({"type":"daily","user":{"user_id":"u1"},"data":[)"
                R"({"metadata":{"start_time":"2026-07-01","start_time":"2026-07-02"}}]})",
                "daily record has a duplicate key `metadata.start_time`");
  ExpectRefused(R"({"type":"hormone","user":{"user_id":"u1"},"data":[)"
                R"({"timestamp":"2026-07-01","timestamp":"2026-07-02"}]})",
                "hormone record has a duplicate key `timestamp`");
  ExpectRefused(R"({"type":"activity","user":{"user_id":"a","user_id":"b"},"data":[]})",
                "data event has a duplicate key `user.user_id`");
  ExpectRefused(R"({"type":"athlete","user":{"user_id":"a","user_id":"b"},"athlete":{}})",
                "athlete event has a duplicate key `user.user_id`");
}

TEST(DuplicateNameTest, StartTimeTwiceIsRefusedSoEventAndTypedRecordAgree) {
  ExpectRefused(R"({"type":"activity","user":{"user_id":"u1"},"data":[{"metadata":)"
                R"({"summary_id":"A","start_time":"2026-07-01","start_time":"2026-07-02"}}]})",
                "activity record has a duplicate key `metadata.start_time`");
}

TEST(DuplicateNameTest, DuplicateOffTheKeyPathIsKeptTypedAsTheLastOne) {
  const std::string record = R"({"metadata":{"summary_id":"A","name":"first","name":"last"}})";
  absl::StatusOr<ConvertedWebhook> converted =
      Convert(absl::StrCat(R"({"type":"activity","user":{"user_id":"u1"},"data":[)", record, "]}"));
  ASSERT_TRUE(converted.ok()) << converted.status();
  const v1::Event& event = converted->events[0];
  EXPECT_EQ(event.record_key(), "A");
  EXPECT_EQ(event.activity().metadata().summary_id(), "A");
  EXPECT_EQ(event.activity().metadata().name(), "last");
  EXPECT_EQ(event.raw_json(), record);
}

// 1e400 and a 400-digit integer are the same kind of thing: valid JSON that no
// double holds. Both are kept raw and flagged; neither refuses the webhook.
TEST(NumberRangeTest, FourHundredDigitIntegerAndOneE400AreBothKeptAndFlagged) {
  for (const std::string& number :
       {std::string("1e400"), std::string(400, '9'), absl::StrCat("-", std::string(400, '9')),
        std::string("-1e400")}) {
    SCOPED_TRACE(number.substr(0, 12));
    const std::string record =
        absl::StrCat(R"({"metadata":{"summary_id":"A"},"energy_data":{"energy_kilojoules":)",
                     number, R"(},"work_data":{"work_kilojoules":12.5}})");
    absl::StatusOr<ConvertedWebhook> converted = Convert(
        absl::StrCat(R"({"type":"activity","user":{"user_id":"u1"},"data":[)", record, "]}"));
    ASSERT_TRUE(converted.ok()) << converted.status();
    const v1::Event& event = converted->events[0];
    EXPECT_EQ(event.raw_json(), record);
    EXPECT_EQ(event.activity().work_data().work_kilojoules(), 12.5);
    ASSERT_EQ(event.conversion_problems_size(), 1);
    EXPECT_EQ(event.conversion_problems(0).field_path(), "energy_data.energy_kilojoules");
    EXPECT_EQ(converted->events_with_problems, 1);
  }
}

TEST(NumberRangeTest, NumbersBeyondADoubleInUnknownMembersAreNotProblems) {
  const std::string record = absl::StrCat(R"({"metadata":{"summary_id":"A"},"future":[)",
                                          std::string(400, '9'), R"(,1e400,5e-324]})");
  absl::StatusOr<ConvertedWebhook> converted =
      Convert(absl::StrCat(R"({"type":"activity","user":{"user_id":"u1"},"data":[)", record, "]}"));
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->events[0].raw_json(), record);
  EXPECT_EQ(converted->events[0].conversion_problems_size(), 0);
}

}  // namespace
}  // namespace healthwire

// The RocksDB key layout: round trips and byte order equal to logical order.
#include "storage/keys.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace healthwire {
namespace keys {
namespace {

std::string Ordered(const std::string& value) {
  std::string out;
  AppendOrderedString(value, &out);
  return out;
}

TEST(OrderedStringTest, RoundTripsAnyBytes) {
  const std::vector<std::string> values = {
      "", "a", "user-1", std::string("\0", 1), std::string("a\0b", 3),
      std::string("\0\x01\xFF\0", 4), "\xFF\xFF", std::string(300, 'x')};
  for (const std::string& value : values) {
    const std::string encoded = Ordered(value) + "rest";
    absl::string_view in = encoded;
    std::string decoded;
    ASSERT_TRUE(ConsumeOrderedString(&in, &decoded));
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(std::string(in), "rest");
  }
}

TEST(OrderedStringTest, ByteOrderIsStringOrder) {
  std::vector<std::string> values = {
      "", "a", std::string("a\0", 2), std::string("a\0\0", 3), std::string("a\x01", 2),
      "ab", "b", "\xFF", std::string("\0", 1), "user", "user-1", "user1"};
  std::sort(values.begin(), values.end());
  for (size_t i = 1; i < values.size(); ++i) {
    EXPECT_LT(Ordered(values[i - 1]), Ordered(values[i]))
        << "between value " << i - 1 << " and " << i;
  }
}

TEST(OrderedStringTest, NoEncodedStringIsAPrefixOfAnother) {
  // Otherwise a prefix scan for user "a" would also see user "ab".
  EXPECT_FALSE(absl::StartsWith(Ordered("ab"), Ordered("a")));
  EXPECT_FALSE(absl::StartsWith(Ordered(std::string("a\0", 2)), Ordered("a")));
}

TEST(OrderedStringTest, RejectsTruncatedOrBadEscapes) {
  std::string decoded;
  for (const std::string& bad :
       {std::string("abc"), std::string("a\0", 2), std::string("a\0\x02", 3)}) {
    absl::string_view in = bad;
    EXPECT_FALSE(ConsumeOrderedString(&in, &decoded));
  }
}

TEST(FixedWidthTest, Uint64RoundTripsAndSortsNumerically) {
  const std::vector<uint64_t> values = {0, 1, 255, 256, 1ull << 32,
                                        std::numeric_limits<uint64_t>::max()};
  std::string previous;
  for (uint64_t value : values) {
    const std::string key = RevisionKey(value);
    ASSERT_EQ(key.size(), 8u);
    uint64_t decoded = 0;
    ASSERT_TRUE(DecodeRevisionKey(key, &decoded));
    EXPECT_EQ(decoded, value);
    if (!previous.empty()) {
      EXPECT_LT(previous, key);
    }
    previous = key;
  }
}

TEST(FixedWidthTest, OrderedInt64SortsNegativesFirst) {
  const std::vector<int64_t> values = {std::numeric_limits<int64_t>::min(), -1000000, -1,
                                       0, 1, 1000000,
                                       std::numeric_limits<int64_t>::max()};
  std::string previous;
  for (int64_t value : values) {
    std::string key;
    AppendOrderedInt64(value, &key);
    absl::string_view in = key;
    int64_t decoded = 0;
    ASSERT_TRUE(ConsumeOrderedInt64(&in, &decoded));
    EXPECT_EQ(decoded, value);
    if (!previous.empty()) {
      EXPECT_LT(previous, key) << value;
    }
    previous = key;
  }
}

TEST(StartTimeTest, ParsesRfc3339WithOffsetToUnixMicros) {
  EXPECT_EQ(ParseStartTimeMicros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseStartTimeMicros("1970-01-01T01:00:00.000001+01:00"), 1);
  EXPECT_EQ(ParseStartTimeMicros("2026-07-01T07:04:11.000000+01:00"),
            ParseStartTimeMicros("2026-07-01T06:04:11Z"));
  EXPECT_EQ(ParseStartTimeMicros("1969-12-31T23:59:59-00:00"), -1000000);
}

TEST(StartTimeTest, UnparseableIsNulloptAndSortsLowest) {
  for (const char* bad : {"", "2026-07-01", "yesterday", "2026-07-01T07:04:11"}) {
    EXPECT_EQ(ParseStartTimeMicros(bad), std::nullopt) << bad;
    EXPECT_EQ(StartInstantMicros(bad), kUnknownStartMicros) << bad;
  }
  EXPECT_LT(StartIndexKey(SubjectKind::kUserId, "u", 2, StartInstantMicros("junk"), "u", "k"),
            StartIndexKey(SubjectKind::kUserId, "u", 2,
                          StartInstantMicros("0001-01-01T00:00:00Z"), "u", "k"));
}

TEST(StartIndexKeyTest, SortsByInstantNotByText) {
  // Same instant order as the wall clock, whatever the offsets say.
  const std::string earlier = StartIndexKey(
      SubjectKind::kUserId, "u", 2,
      StartInstantMicros("2026-07-01T09:00:00+03:00"), "u", "z");  // 06:00Z
  const std::string later = StartIndexKey(
      SubjectKind::kUserId, "u", 2,
      StartInstantMicros("2026-07-01T07:00:00+01:00"), "u", "a");  // 06:00Z + 0
  const std::string latest = StartIndexKey(
      SubjectKind::kUserId, "u", 2,
      StartInstantMicros("2026-07-01T06:30:00Z"), "u", "a");
  EXPECT_LT(later, earlier);  // same instant: record_key decides
  EXPECT_LT(earlier, latest);
}

TEST(StartIndexKeyTest, RoundTripsAndStaysInsideItsPrefix) {
  const std::string user(std::string("us\0er", 5));
  const std::string key = StartIndexKey(SubjectKind::kReferenceId, "ref", 4, -5, user,
                                        "2026-07-01");
  DecodedStartIndexKey decoded;
  ASSERT_TRUE(DecodeStartIndexKey(key, &decoded));
  EXPECT_EQ(decoded.kind, SubjectKind::kReferenceId);
  EXPECT_EQ(decoded.subject_id, "ref");
  EXPECT_EQ(decoded.type, 4u);
  EXPECT_EQ(decoded.start_micros, -5);
  EXPECT_EQ(decoded.user_id, user);
  EXPECT_EQ(decoded.record_key, "2026-07-01");

  const std::string prefix = StartIndexPrefix(SubjectKind::kReferenceId, "ref", 4);
  EXPECT_TRUE(absl::StartsWith(key, prefix));
  EXPECT_LT(key, PrefixSuccessor(prefix));
  // Other subjects and types fall outside the prefix.
  EXPECT_FALSE(absl::StartsWith(
      StartIndexKey(SubjectKind::kReferenceId, "ref2", 4, -5, user, "k"), prefix));
  EXPECT_FALSE(absl::StartsWith(
      StartIndexKey(SubjectKind::kReferenceId, "ref", 5, -5, user, "k"), prefix));
  EXPECT_FALSE(absl::StartsWith(
      StartIndexKey(SubjectKind::kUserId, "ref", 4, -5, user, "k"), prefix));
}

TEST(StartIndexKeyTest, DecodeRejectsGarbage) {
  DecodedStartIndexKey decoded;
  EXPECT_FALSE(DecodeStartIndexKey("", &decoded));
  EXPECT_FALSE(DecodeStartIndexKey("garbage", &decoded));
  const std::string key = StartIndexKey(SubjectKind::kUserId, "u", 1, 0, "u", "k");
  EXPECT_FALSE(DecodeStartIndexKey(key.substr(0, key.size() - 1), &decoded));
  EXPECT_FALSE(DecodeStartIndexKey(key + "x", &decoded));
}

TEST(RecordKeyTest, RoundTripsAndGroupsByUser) {
  const std::string key = RecordKey("user", 2, "summary-1");
  DecodedRecordKey decoded;
  ASSERT_TRUE(DecodeRecordKey(key, &decoded));
  EXPECT_EQ(decoded.user_id, "user");
  EXPECT_EQ(decoded.type, 2u);
  EXPECT_EQ(decoded.record_key, "summary-1");

  std::string user_prefix;
  AppendOrderedString("user", &user_prefix);
  EXPECT_TRUE(absl::StartsWith(key, user_prefix));
  EXPECT_FALSE(absl::StartsWith(RecordKey("user2", 2, "summary-1"), user_prefix));
}

TEST(PrefixSuccessorTest, IncrementsLastByteWithCarry) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xFF", 2)), "b");
  EXPECT_EQ(PrefixSuccessor("\xFF\xFF"), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

TEST(MetaTest, RevisionValueRoundTrips) {
  uint64_t revision = 0;
  ASSERT_TRUE(DecodeRevision(EncodeRevision(12345), &revision));
  EXPECT_EQ(revision, 12345u);
  EXPECT_FALSE(DecodeRevision("short", &revision));
}

}  // namespace
}  // namespace keys
}  // namespace healthwire

// common/logging's rendering: request-derived bytes (quotes, newlines,
// non-ASCII, invalid UTF-8) can never break a line or its JSON.
#include "common/logging.h"

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace healthwire {
namespace {

using logging::Format;

TEST(LoggingTest, JsonPayloadParsesWhateverBytesTheFieldsHold) {
  const std::string hostile = "a\"b\\c\nd\te\x01 \xff\xc3\x28 end";
  const std::string payload = logging::RenderForTest(
      Format::kJson, "webhook", {{"user", hostile}, {"status", 200}, {"ms", 1.5}, {"ok", true}});
  const std::string line = "{\"time\":\"2026-12-02T00:00:00.000000Z\",\"level\":\"info\"," + payload + "}";
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
  EXPECT_EQ(parsed.fields().at("msg").string_value(), "webhook");
  EXPECT_EQ(parsed.fields().at("status").number_value(), 200);
  EXPECT_EQ(parsed.fields().at("ms").number_value(), 1.5);
  EXPECT_TRUE(parsed.fields().at("ok").bool_value());
  EXPECT_EQ(parsed.fields().at("user").string_value().substr(0, 9), "a\"b\\c\nd\te");
}

TEST(LoggingTest, TextQuotesOnlyValuesThatNeedIt) {
  EXPECT_EQ(logging::RenderForTest(Format::kText, "webhook",
                                   {{"type", "sleep"}, {"user", "two words"}, {"empty", ""},
                                    {"n", 3}}),
            "webhook type=sleep user=\"two words\" empty=\"\" n=3");
  const std::string line =
      logging::RenderForTest(Format::kText, "x", {{"v", "line\nbreak \xff"}});
  EXPECT_EQ(line, "x v=\"line\\nbreak \\u00ff\"");
}

TEST(LoggingTest, FlagValuesAreCheckedWithTheirChoices) {
  EXPECT_TRUE(logging::ParseFormat("JSON").ok());
  EXPECT_EQ(logging::ParseFormat("xml").status().message(), "--log_format=xml: must be text or json");
  EXPECT_EQ(*logging::ParseLevel("warn"), logging::Level::kWarning);
  EXPECT_FALSE(logging::ParseLevel("loud").ok());
  EXPECT_FALSE(logging::Init({Format::kText, logging::Level::kInfo, 0}).ok());
}

TEST(LoggingTest, LinesBelowTheLevelAreNotWrittenAndShutdownFlushes) {
  ASSERT_TRUE(logging::Init({Format::kJson, logging::Level::kWarning, 16}).ok());
  EXPECT_FALSE(logging::Enabled(logging::Level::kInfo));
  EXPECT_TRUE(logging::Enabled(logging::Level::kError));
  ::testing::internal::CaptureStderr();
  logging::Info("not written");
  logging::Warning("written", {{"n", 1}});
  logging::Shutdown();  // waits for the writer thread
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("not written"), std::string::npos) << out;
  EXPECT_NE(out.find("\"level\":\"warning\",\"msg\":\"written\",\"n\":1}"), std::string::npos)
      << out;
  EXPECT_TRUE(logging::Enabled(logging::Level::kInfo));  // back to the default
}

}  // namespace
}  // namespace healthwire
